"""The same networks written by hand in NumPy: the classic layers with manual backward, as
efficiently as NumPy allows (in-place where it is safe). This is the floor tinygrad_ce is
measured against."""

import numpy as np


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout, need_dx=True):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T if need_dx else None


class Sigmoid:
    def forward(self, x):
        self.out = out = np.exp(-np.logaddexp(0, -x))
        return out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class SoftmaxWithLoss:
    def forward(self, x, t):
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        self.y, self.t = e / s, t
        n = len(x)
        return -np.mean(z[np.arange(n), t] - np.log(s[:, 0]))

    def backward(self, dout=1.0):
        n = len(self.t)
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx * (dout / n)


class Net:
    """Affine -> act -> ... -> Affine -> SoftmaxWithLoss, trained by plain SGD."""

    def __init__(self, params, act):
        self.layers = []
        for i, (W, b) in enumerate(params):
            self.layers.append(Affine(W, b))
            if i < len(params) - 1:
                self.layers.append(act())
        self.loss = SoftmaxWithLoss()

    def step(self, x, t, lr):
        for layer in self.layers:
            x = layer.forward(x)
        loss = self.loss.forward(x, t)
        dout = self.loss.backward()
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        self.layers[0].backward(dout, need_dx=False)   # the input is data: no dx
        for layer in self.layers:
            if isinstance(layer, Affine):
                layer.W -= lr * layer.dW
                layer.b -= lr * layer.db
        return loss
