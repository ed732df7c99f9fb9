"""The same networks written by hand in NumPy: the classic layers with manual backward, as fast
as NumPy allows. This is the floor tinygrad_ce is measured against, so it must not flatter us:

- every buffer that has a fixed shape is allocated once (dW, db, the label index) and written
  with ``out=``; gradients are formed in place (``+=``, ``*=``) in arrays this code owns;
- nothing is computed that the step does not use: the first layer skips dx (the input is data),
  the softmax loss keeps no log-probabilities, SGD updates in place (``dW *= lr; W -= dW``);
- the kernels are the ones a careful hand-written step uses: sigmoid as ``1 / (1 + exp(-x))``
  with the overflow of ``exp`` silenced (it is harmless: 1 / inf = 0), softmax shifted by the
  row maximum.

Arrays are reused across steps, so a layer's saved values are valid only until its backward.
"""

import numpy as np


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.dW, self.db = np.empty_like(W), np.empty_like(b)

    def forward(self, x):
        self.x = x
        out = x @ self.W
        out += self.b
        return out

    def backward(self, dout, need_dx=True):
        np.matmul(self.x.T, dout, out=self.dW)
        np.sum(dout, axis=0, out=self.db)
        return dout @ self.W.T if need_dx else None

    def sgd(self, lr):
        self.dW *= lr
        self.W -= self.dW
        self.db *= lr
        self.b -= self.db


class Sigmoid:
    def forward(self, x):
        out = np.negative(x)               # x is only read: the output is a new array
        with np.errstate(over="ignore"):   # exp(-x) = inf for x < -709 gives 1 / inf = 0
            np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
        self.out = out
        return out

    def backward(self, dout):
        # dout is the fresh array the next layer's backward made: scale it in place.
        # self.out is not needed after this, so (1 - out) is formed in it.
        out = self.out
        dout *= out
        np.subtract(1, out, out=out)
        dout *= out
        return dout


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return np.multiply(x, self.mask)

    def backward(self, dout):
        dout *= self.mask
        return dout


class SoftmaxWithLoss:
    def __init__(self):
        self.rows = None

    def forward(self, x, t):
        """x (fresh from the last Affine) becomes softmax(x) in place; returns the mean
        cross-entropy -(z[t] - log(sum(exp(z)))) with z = x - max(x)."""
        n = len(x)
        if self.rows is None or len(self.rows) != n:
            self.rows = np.arange(n)
        x -= x.max(axis=1, keepdims=True)
        z_t = x[self.rows, t]
        np.exp(x, out=x)
        s = x.sum(axis=1, keepdims=True)
        x /= s
        self.y, self.t = x, t
        return -np.mean(z_t - np.log(s[:, 0]))

    def backward(self, dout=1.0):
        dx, n = self.y, len(self.t)   # y is not needed after this: the gradient is formed in it
        dx[self.rows, self.t] -= 1
        dx *= dout / n
        return dx


class Net:
    """Affine -> act -> ... -> Affine -> SoftmaxWithLoss, trained by plain SGD."""

    def __init__(self, params, act):
        self.layers = []
        for i, (W, b) in enumerate(params):
            self.layers.append(Affine(W, b))
            if i < len(params) - 1:
                self.layers.append(act())
        self.affines = self.layers[::2]
        self.loss = SoftmaxWithLoss()

    def step(self, x, t, lr):
        for layer in self.layers:
            x = layer.forward(x)
        loss = self.loss.forward(x, t)
        dout = self.loss.backward()
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        self.layers[0].backward(dout, need_dx=False)   # the input is data: no dx
        for layer in self.affines:
            layer.sgd(lr)
        return loss
