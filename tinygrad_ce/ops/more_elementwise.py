"""More elementwise functions: log1p, sin, cos, square, softplus, leaky_relu, gelu.

Each backward is written with operators, tinygrad_ce ops (through ``dual``) and NumPy functions
that also work on Tensors, so second derivatives come from the same line.
"""

import numpy as np

from .base import Op, data_of, dual
from .elementwise import Sigmoid, Tanh

_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))  # a Python float keeps float32 inputs float32
_GELU_C = 0.044715


class Log1p(Op):
    """y = log(1 + x), accurate for tiny x;  gx = gy / (1 + x)"""
    saves_inputs, saves_output = True, False
    name, domain = "log1p", (-0.5, 3.0)
    numpy = (np.log1p,)

    def forward(self, x):
        return np.log1p(x)

    def backward(self, gy, x, y):
        return (gy / (1 + x),)


class Sin(Op):
    """y = sin(x);  gx = gy * cos(x)"""
    saves_inputs, saves_output = True, False
    name = "sin"
    numpy = (np.sin,)

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy, x, y):
        return (gy * dual(Cos(), x),)


class Cos(Op):
    """y = cos(x);  gx = -gy * sin(x)"""
    saves_inputs, saves_output = True, False
    name = "cos"
    numpy = (np.cos,)

    def forward(self, x):
        return np.cos(x)

    def backward(self, gy, x, y):
        return (-gy * dual(Sin(), x),)


class Square(Op):
    """y = x^2;  gx = 2 gy x"""
    saves_inputs, saves_output = True, False
    name = "square"
    numpy = (np.square,)

    def forward(self, x):
        return np.square(x)

    def backward(self, gy, x, y):
        return (2 * gy * x,)


class Softplus(Op):
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) (never overflows);
    gx = gy * sigmoid(x)

    PyTorch's ``softplus`` returns x itself above ``threshold=20``; the two differ there by
    less than log1p(exp(-20)) = 2e-9, and this one stays smooth.
    """
    saves_inputs, saves_output = True, False
    name, domain = "softplus", (-6.0, 6.0)

    def forward(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, gy, x, y):
        return (gy * dual(Sigmoid(), x),)


class LeakyReLU(Op):
    """y = x if x > 0 else negative_slope * x;  gx = gy if x > 0 else negative_slope * gy
    (at x = 0 the slope is negative_slope, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, kinks = "leaky_relu", (0.0,)

    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return np.where(x > 0, x, x * np.asarray(self.negative_slope, dtype=x.dtype))

    def backward(self, gy, x, y):
        x = data_of(x)
        return (gy * np.where(x > 0, 1, self.negative_slope).astype(x.dtype),)


class GELU(Op):
    """y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)  (PyTorch's approximate="tanh");
    gx = gy (1/2 (1 + tanh(u)) + x/2 (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))"""
    saves_inputs, saves_output = True, False
    name = "gelu"

    def forward(self, x):
        return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x ** 3)))

    def backward(self, gy, x, y):
        th = dual(Tanh(), _SQRT_2_OVER_PI * (x + _GELU_C * x * x * x))
        du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * x * x)
        return (gy * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du),)
