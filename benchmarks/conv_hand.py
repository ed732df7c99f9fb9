"""SimpleConvNet written by hand in NumPy the classic way ("Deep Learning from Scratch",
chapter 7): im2col filled one kernel offset at a time, col2im adding back the same way,
Convolution, Pooling, ReLU, Affine and SoftmaxWithLoss layers with manual backward. The floor
that tinygrad_ce's convolution is measured against (benchmarks/conv.py)."""

import numpy as np


def im2col(x, kh, kw, stride=1, pad=0):
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)]) if pad else x
    col = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, :, i, j] = img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(col, x_shape, kh, kw, stride=1, pad=0):
    n, c, h, w = x_shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    col = col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += col[:, :, i, j]
    return img[:, :, pad:pad + h, pad:pad + w]


class Convolution:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        f, _, kh, kw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = h - kh + 1, w - kw + 1
        self.x_shape, self.col = x.shape, im2col(x, kh, kw)
        self.col_W = self.W.reshape(f, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)

    def backward(self, dout, need_dx=True):
        f, _, kh, kw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, f)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).T.reshape(self.W.shape)
        if not need_dx:   # the first layer's input is data, as tinygrad_ce skips it too
            return None
        return col2im(dout @ self.col_W.T, self.x_shape, kh, kw)


class Pooling:
    def __init__(self, size=2):
        self.size = size

    def forward(self, x):
        n, c, h, w = x.shape
        s = self.size
        oh, ow = (h - s) // s + 1, (w - s) // s + 1
        col = im2col(x, s, s, s).reshape(-1, s * s)
        self.x_shape, self.arg_max = x.shape, np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        s = self.size
        dout = dout.transpose(0, 2, 3, 1)
        dmax = np.zeros((dout.size, s * s), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max] = dout.ravel()
        rows = dout.size // dout.shape[3]          # one row per (n, i, j), channels inside
        return col2im(dmax.reshape(rows, -1), self.x_shape, s, s, s)


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(len(x), -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.x_shape)


class SoftmaxWithLoss:
    def forward(self, x, t):
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        self.y, self.t = e / e.sum(axis=1, keepdims=True), t
        return -np.mean(np.log(self.y[np.arange(len(t)), t]))

    def backward(self):
        g = self.y.copy()
        g[np.arange(len(self.t)), self.t] -= 1
        return g / len(self.t)


class SimpleConvNet:
    """conv 30 5x5 - ReLU - pool 2 - affine 100 - ReLU - affine 10, plain SGD."""

    def __init__(self, params):
        W1, b1, W2, b2, W3, b3 = params
        self.layers = [Convolution(W1, b1), ReLU(), Pooling(2), Affine(W2, b2), ReLU(),
                       Affine(W3, b3)]
        self.loss = SoftmaxWithLoss()

    def step(self, x, t, lr=0.01):
        for layer in self.layers:
            x = layer.forward(x)
        loss = self.loss.forward(x, t)
        dout = self.loss.backward()
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        self.layers[0].backward(dout, need_dx=False)
        for layer in (self.layers[0], self.layers[3], self.layers[5]):
            layer.W -= lr * layer.dW
            layer.b -= lr * layer.db
        return loss
