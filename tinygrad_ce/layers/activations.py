"""Activation layers: Sigmoid, ReLU, Tanh, Softmax."""

import numpy as np

from .. import functional as F
from ..ops.elementwise import _stable_sigmoid
from ..ops.nn import softmax_array
from .base import Layer


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)) (no overflow);  dx = dout * y * (1 - y)"""
    saves_inputs, saves_output = False, True

    saved = ("out",)

    def __init__(self):
        super().__init__()
        self.out = None

    def forward(self, x):
        self.out = _stable_sigmoid(x)
        return self.out

    def backward(self, dout):
        self.check_forward_done()
        dx = 1 - self.out   # a new array: the in-place products write only to it, never to dout
        dx *= self.out
        dx *= dout
        return dx

    def reference(self, x):
        return 1 / (1 + F.FUNCTIONS["exp"](-x))


class ReLU(Layer):
    """y = max(x, 0);  dx = dout * (x > 0)  (a new array: dout is never written)"""
    saves_inputs, saves_output = False, False

    saved = ("mask",)

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        self.check_forward_done()
        return dout * self.mask

    def reference(self, x):
        return F.FUNCTIONS["relu"](x)   # relu'(0) = 0, as backward (maximum would split a tie)


class Tanh(Layer):
    """y = tanh(x);  dx = dout * (1 - y^2)"""
    saves_inputs, saves_output = False, True

    saved = ("out",)

    def __init__(self):
        super().__init__()
        self.out = None

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        self.check_forward_done()
        return dout * (1 - self.out ** 2)

    def reference(self, x):
        e = F.FUNCTIONS["exp"](-2 * x)
        return (1 - e) / (1 + e)


class Softmax(Layer):
    """y = exp(x - max) / sum(exp(x - max), axis);  dx = y * (dout - sum(dout * y, axis))"""
    saves_inputs, saves_output = False, True

    saved = ("out",)

    def __init__(self, axis=-1):
        super().__init__()
        self.axis, self.out = axis, None

    def forward(self, x):
        self.out = softmax_array(x, self.axis)
        return self.out

    def backward(self, dout):
        self.check_forward_done()
        return self.out * (dout - np.sum(dout * self.out, axis=self.axis, keepdims=True))

    def reference(self, x):
        e = F.FUNCTIONS["exp"](x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)
