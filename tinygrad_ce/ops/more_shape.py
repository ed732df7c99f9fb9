"""More shape ops (flatten, squeeze, expand_dims) and the dtype cast ``astype``."""

import numpy as np

from .base import Op, normalize_axis


class _Reshaping(Op):
    """Ops whose output is the input's data in another shape: gx = gy.reshape(x.shape)."""
    saves_inputs, saves_output = False, False

    def forward(self, x):
        self.xshape = x.shape
        return x.reshape(self.new_shape(x))

    def backward(self, gy, x, y):
        return (gy.reshape(self.xshape),)


class Flatten(_Reshaping):
    """y = x.reshape(-1) (NumPy's ndarray.flatten, as a view);  gx = gy.reshape(x.shape)"""
    name = "flatten"
    public = False   # a method, x.flatten(); tg.flatten would be ambiguous beside tg.Flatten

    def new_shape(self, x):
        return (x.size,)


class Squeeze(_Reshaping):
    """y = x without the axes of length 1 (all of them, or ``axis``);  gx = gy.reshape(x.shape)"""
    name, kind = "squeeze", "squeeze"

    def __init__(self, axis=None):
        self.axis = axis

    def new_shape(self, x):
        axes = normalize_axis(self.axis, x.ndim, self.name)
        if self.axis is not None and any(x.shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze: cannot remove axis {self.axis} of length "
                             f"{[x.shape[a] for a in axes]} from shape {x.shape}; only axes "
                             "of length 1 can be squeezed")
        return tuple(n for i, n in enumerate(x.shape) if i not in axes or n != 1)


class ExpandDims(_Reshaping):
    """y = x with a new axis of length 1 at ``axis`` (np.expand_dims);  gx = gy.reshape(x.shape)"""
    name, kind = "expand_dims", "expand_dims"

    def __init__(self, axis):
        self.axis = axis

    def new_shape(self, x):
        return np.expand_dims(np.empty(x.shape, dtype=bool), self.axis).shape


class AsType(Op):
    """y = x.astype(dtype);  gx = gy.astype(x.dtype)  (the gradient comes back in x's dtype)

    Casting to an integer or boolean dtype gives a result without gradient (as ``detach``).
    """
    saves_inputs, saves_output = False, False
    name, kind, public = "astype", "astype", False

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.xdtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy, x, y):
        return (gy.astype(self.xdtype),)
