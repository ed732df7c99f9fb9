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
    name, numpy = "squeeze", (np.squeeze,)

    @classmethod
    def cases(cls, draw, t):
        """A shape with some axes of length 1, and None or one of those axes."""
        shape = draw(t.shapes(max_side=2))
        ones = [i for i, n in enumerate(shape) if n == 1]
        axis = draw(t.st.one_of(t.st.none(), *([t.st.sampled_from(ones)] if ones else [])))
        return {"axis": axis}, [t.op_elements(cls, draw, shape)]

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
    name, numpy = "expand_dims", (np.expand_dims,)

    @classmethod
    def cases(cls, draw, t):
        """An array and a position for the new axis, negatives included."""
        shape = draw(t.shapes())
        axis = draw(t.st.integers(-len(shape) - 1, len(shape)))
        return {"axis": axis}, [t.op_elements(cls, draw, shape)]

    def __init__(self, axis):
        self.axis = axis

    def new_shape(self, x):
        return np.expand_dims(np.empty(x.shape, dtype=bool), self.axis).shape


class AsType(Op):
    """y = x.astype(dtype);  gx = gy.astype(x.dtype)  (the gradient comes back in x's dtype)

    Casting to an integer or boolean dtype gives a result without gradient (as ``detach``).
    """
    saves_inputs, saves_output = False, False
    name, public = "astype", False
    method = False   # Tensor.astype is defined in tensor.py: an integer cast has no gradient

    @classmethod
    def cases(cls, draw, t):
        """float64 to float64 (a float32 round trip would put float32 rounding in the check)."""
        return {"dtype": np.float64}, [t.op_elements(cls, draw, draw(t.shapes()))]

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.xdtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy, x, y):
        return (gy.astype(self.xdtype),)
