"""Reductions over ``axis`` (None, int or tuple; negatives allowed) with ``keepdims``."""

import numpy as np

from .base import Op, data_of, keepdims_shape, normalize_axis


class _Reduce(Op):
    distinct = False   # tests draw distinct values (a tie in max is a kink)

    @classmethod
    def cases(cls, draw, t):
        """An array, an axis (None, int or tuple) and keepdims."""
        shape = draw(t.shapes())
        x = draw(t.distinct(shape)) if cls.distinct else t.op_elements(cls, draw, shape)
        return {"axis": draw(t.axes(shape)), "keepdims": draw(t.st.booleans())}, [x]

    @classmethod
    def from_numpy(cls, func, a, axis=None, keepdims=False, **rest):
        if rest:
            raise TypeError(f"np.{func.__name__} on a Tensor supports only axis and keepdims, "
                            f"got {', '.join(rest)}")
        return cls.function(a, axis, keepdims)

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, bool(keepdims)

    def _setup(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, self.name)
        self.shape = x.shape
        self.kshape = keepdims_shape(x.shape, self.axes)

    def _spread(self, g):
        """A gradient of the reduced shape, broadcast back over the input's shape."""
        return np.broadcast_to(g.reshape(self.kshape), self.shape)


class Sum(_Reduce):
    """y = sum(x, axis);  gx = gy broadcast back over the summed axes"""
    saves_inputs, saves_output = False, False
    name, numpy = "sum", (np.sum,)

    def forward(self, x):
        self._setup(x)
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy, x, y):
        return (self._spread(gy),)


class Mean(_Reduce):
    """y = mean(x, axis);  gx = gy / n broadcast back (n: number of elements averaged)"""
    saves_inputs, saves_output = False, False
    name, numpy = "mean", (np.mean,)

    def forward(self, x):
        self._setup(x)
        self.n = int(np.prod([x.shape[a] for a in self.axes]))
        if self.n == 0:
            raise ValueError(f"mean: cannot average over an empty axis (input shape {x.shape})")
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy, x, y):
        return (self._spread(gy / self.n),)


class Max(_Reduce):
    """y = max(x, axis);  gx = gy at the maxima, shared evenly among ties (as torch.amax)"""
    saves_inputs, saves_output = False, False
    name, reducer, distinct = "max", staticmethod(np.max), True
    numpy = (np.max, np.amax)

    def forward(self, x):
        self._setup(x)
        if any(x.shape[a] == 0 for a in self.axes):
            raise ValueError(f"{self.name}: cannot reduce over an empty axis (input shape "
                             f"{x.shape}, axis {self.axis}); reduce over non-empty axes")
        y = self.reducer(x, axis=self.axes, keepdims=True)
        hit = x == y
        self.weight = hit / np.sum(hit, axis=self.axes, keepdims=True)
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape)
                                                  if i not in self.axes])

    def backward(self, gy, x, y):
        return (gy.reshape(self.kshape) * self.weight.astype(data_of(gy).dtype, copy=False),)


class Min(Max):
    """y = min(x, axis);  gx = gy at the minima, shared evenly among ties (as torch.amin)"""
    name, reducer = "min", staticmethod(np.min)
    numpy = (np.min, np.amin)


class LogSumExp(_Reduce):
    """y = log(sum(exp(x), axis)), shifted by the max;  gx = gy * exp(x - y) = gy * softmax(x)"""
    saves_inputs, saves_output = True, True
    name = "logsumexp"

    def forward(self, x):
        self._setup(x)
        m = np.max(x, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # shift by the max: exp never overflows
        y = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape)
                                                  if i not in self.axes])

    def backward(self, gy, x, y):
        return (gy.reshape(self.kshape) * np.exp(x - y.reshape(self.kshape)),)
