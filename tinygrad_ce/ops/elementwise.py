"""Elementwise functions. At kinks the gradients follow PyTorch's conventions (see each op)."""

import numpy as np

from .base import Op, data_of


def _stable_sigmoid(x):
    # sigmoid(x) = exp(-log(1 + exp(-x))): logaddexp never overflows, so neither does this
    return np.exp(-np.logaddexp(0, -x))


class Exp(Op):
    """y = exp(x);  gx = gy * y"""
    saves_inputs, saves_output = False, True
    name = "exp"

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy, x, y):
        return (gy * y,)


class Log(Op):
    """y = log(x);  gx = gy / x"""
    saves_inputs, saves_output = True, False
    name, domain = "log", (0.1, 5.0)

    def forward(self, x):
        return np.log(x)

    def backward(self, gy, x, y):
        return (gy / x,)


class Sqrt(Op):
    """y = sqrt(x);  gx = gy / (2 y)"""
    saves_inputs, saves_output = False, True
    name, domain = "sqrt", (0.1, 5.0)

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy, x, y):
        return (gy / (2 * y),)


class Abs(Op):
    """y = |x|;  gx = gy * sign(x)  (0 at x = 0, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, kinks = "abs", (0.0,)

    def forward(self, x):
        return np.abs(x)

    def backward(self, gy, x, y):
        return (gy * np.sign(data_of(x)),)


class Tanh(Op):
    """y = tanh(x);  gx = gy * (1 - y^2)"""
    saves_inputs, saves_output = False, True
    name = "tanh"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy, x, y):
        return (gy * (1 - y * y),)


class Sigmoid(Op):
    """y = 1 / (1 + exp(-x)), computed without overflow;  gx = gy * y * (1 - y)"""
    saves_inputs, saves_output = False, True
    name, domain = "sigmoid", (-6.0, 6.0)

    def forward(self, x):
        return _stable_sigmoid(x)

    def backward(self, gy, x, y):
        return (gy * y * (1 - y),)


class ReLU(Op):
    """y = max(x, 0);  gx = gy * (x > 0)  (0 at x = 0, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, kinks = "relu", (0.0,)

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, gy, x, y):
        return (gy * (data_of(x) > 0),)


class _Extremum(Op):
    arity, kind, argnames = 2, "binary_tie", ("a", "b")
    saves_inputs, saves_output = True, False

    def forward(self, a, b):
        return self.pick(a, b)

    def backward(self, gy, a, b, y):
        a, b = data_of(a), data_of(b)
        wa = self.wins(a, b) + 0.5 * (a == b)  # a tie splits the gradient in half
        return gy * wa, gy * (1 - wa)


class Maximum(_Extremum):
    """y = maximum(a, b);  ga = gy * [a > b],  gb = gy * [a < b]  (a tie: half each, PyTorch)"""
    name, pick, wins = "maximum", staticmethod(np.maximum), staticmethod(np.greater)


class Minimum(_Extremum):
    """y = minimum(a, b);  ga = gy * [a < b],  gb = gy * [a > b]  (a tie: half each, PyTorch)"""
    name, pick, wins = "minimum", staticmethod(np.minimum), staticmethod(np.less)


class Where(Op):
    """y = where(cond, a, b);  ga = gy * cond,  gb = gy * (1 - cond);  cond gets no gradient"""
    saves_inputs, saves_output = True, False
    name, arity, kind, argnames, nondiff = "where", 3, "where", ("cond", "a", "b"), (0,)

    def forward(self, cond, a, b):
        if cond.dtype != bool:
            raise TypeError(f"where: cond must be boolean, got dtype {cond.dtype}; "
                            "build it with a comparison such as x > 0")
        return np.where(cond, a, b)

    def backward(self, gy, cond, a, b, y):
        cond = data_of(cond)
        return None, np.where(cond, gy, 0), np.where(cond, 0, gy)


class Clip(Op):
    """y = clip(x, lo, hi);  gx = gy * [lo <= x <= hi]  (boundaries pass gy, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, kind = "clip", "clip"

    def __init__(self, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
            raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)

    def backward(self, gy, x, y):
        x = data_of(x)
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return (gy * inside,)
