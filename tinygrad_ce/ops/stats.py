"""Variance and standard deviation over ``axis``, with NumPy's ``ddof`` (default 0).

NumPy divides by n - ddof with ddof = 0 by default; PyTorch's ``torch.var``/``torch.std``
default to ``correction=1``. ``tg.var(x, ddof=1)`` is ``torch.var(x)``.
"""

import numpy as np

from .base import data_of
from .reduce import _Reduce


class Var(_Reduce):
    """y = sum((x - mean(x))^2, axis) / (n - ddof);  gx = gy * 2 (x - mean(x)) / (n - ddof)"""
    saves_inputs, saves_output = True, False
    name, numpy = "var", (np.var,)

    @classmethod
    def cases(cls, draw, t):
        """Distinct values (no zero variance), an axis, keepdims and ddof 0 or 1; at most 2-D,
        since second order costs O(size^2)."""
        shape = draw(t.shapes(min_dims=1, max_dims=2, min_side=2))
        params = {"axis": draw(t.axes(shape)), "keepdims": draw(t.st.booleans()),
                  "ddof": draw(t.st.sampled_from([0, 1]))}
        return params, [draw(t.distinct(shape))]

    @classmethod
    def from_numpy(cls, func, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        """np.var(t, ...) / np.std(t, ...) on a Tensor, in NumPy's argument order."""
        if dtype is not None or out is not None:
            raise TypeError(f"np.{func.__name__} on a Tensor supports axis, ddof and keepdims")
        return cls.function(a, axis, keepdims, ddof)

    def __init__(self, axis=None, keepdims=False, ddof=0):
        super().__init__(axis, keepdims)
        self.ddof = ddof

    def forward(self, x):
        self._setup(x)
        n = int(np.prod([x.shape[a] for a in self.axes]))
        if n - self.ddof <= 0:
            raise ValueError(f"{self.name}: {n} element(s) per reduction leave no degrees of "
                             f"freedom with ddof={self.ddof} (input shape {x.shape}, axis "
                             f"{self.axis}); reduce over more elements or lower ddof")
        self.dof = n - self.ddof
        return np.var(x, axis=self.axes, keepdims=self.keepdims, ddof=self.ddof)

    def centred(self, x):
        """x - mean(x) over the reduced axes (ndarray or Tensor)."""
        return x - np.mean(x, axis=self.axes, keepdims=True)

    def backward(self, gy, x, y):
        return (gy.reshape(self.kshape) * (2 / self.dof) * self.centred(x),)


class Std(Var):
    """y = sqrt(var(x, axis, ddof));  gx = gy * (x - mean(x)) / ((n - ddof) y)
    (0 where y = 0, as PyTorch: a constant slice gets no gradient instead of 0/0)"""
    saves_inputs, saves_output = True, True
    name, numpy = "std", (np.std,)

    def forward(self, x):
        return np.sqrt(super().forward(x))

    def backward(self, gy, x, y):
        y = y.reshape(self.kshape)
        zero = data_of(y) == 0
        scale = (~zero) / (self.dof * (y + zero))   # y + 1 where y = 0: no division by zero
        return (gy.reshape(self.kshape) * scale * self.centred(x),)
