"""Shape ops: reshape, transpose, indexing, concatenate, stack, broadcast_to."""

import numpy as np

from .base import Op, data_of, dual


def _shape_arg(args):
    """Accept f(2, 3) and f((2, 3)) alike, as NumPy's methods do."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


class Reshape(Op):
    """y = x.reshape(shape);  gx = gy.reshape(x.shape)"""
    saves_inputs, saves_output = False, False
    name, kind = "reshape", "reshape"

    def __init__(self, *shape):
        self.shape = _shape_arg(shape)

    def forward(self, x):
        self.xshape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy, x, y):
        return (gy.reshape(self.xshape),)


class Transpose(Op):
    """y = x.transpose(axes) (reversed axes by default);  gx = gy.transpose(inverse of axes)"""
    saves_inputs, saves_output = False, False
    name, kind = "transpose", "transpose"

    def __init__(self, *axes):
        self.axes = _shape_arg(axes) or None

    def forward(self, x):
        axes = self.axes if self.axes is not None else tuple(range(x.ndim))[::-1]
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} axes of an input of shape {x.shape}")
        self.inverse = tuple(np.argsort([a % x.ndim for a in axes]))
        return np.transpose(x, axes)

    def backward(self, gy, x, y):
        return (np.transpose(gy, self.inverse),)


def _is_basic(index):
    """True when ``index`` selects without repeats (ints, slices, None, ..., boolean masks)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               or (isinstance(p, np.ndarray) and p.dtype == bool) for p in parts)


class GetItem(Op):
    """y = x[index];  gx = zeros like x with gy added at index (repeated indices accumulate)"""
    saves_inputs, saves_output = False, False
    name, kind, public = "getitem", "getitem", False

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.xshape = x.shape
        return x[self.index]

    def backward(self, gy, x, y):
        return (dual(IndexAdd(self.index, self.xshape), gy),)


class IndexAdd(Op):
    """y = zeros(shape) with x added at index;  gx = gy[index]  (the backward of getitem)"""
    saves_inputs, saves_output = False, False
    name, kind, public, method = "index_add", "index_add", False, False

    def __init__(self, index, shape):
        self.index, self.shape = index, tuple(shape)

    def forward(self, x):
        y = np.zeros(self.shape, dtype=x.dtype)
        if _is_basic(self.index):
            y[self.index] = x
        else:
            np.add.at(y, self.index, x)
        return y

    def backward(self, gy, x, y):
        return (gy[self.index],)


class Concatenate(Op):
    """y = concatenate(xs, axis);  g_i = the slice of gy that x_i filled"""
    saves_inputs, saves_output = False, False
    name, arity, kind, method, argnames = "concatenate", None, "join", False, ("xs",)

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.ndim = xs[0].ndim
        self.sizes = [x.shape[self.axis] if x.ndim else 0 for x in xs]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, gy, *xs_and_y):
        axis, start, grads = self.axis % self.ndim, 0, []
        for n in self.sizes:
            grads.append(gy[(slice(None),) * axis + (slice(start, start + n),)])
            start += n
        return tuple(grads)


class Stack(Op):
    """y = stack(xs, axis);  g_i = gy taken at position i along axis"""
    saves_inputs, saves_output = False, False
    name, arity, kind, method, argnames = "stack", None, "join", False, ("xs",)

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        y = np.stack(xs, axis=self.axis)
        self.out_axis = self.axis % y.ndim
        return y

    def backward(self, gy, *xs_and_y):
        lead = (slice(None),) * self.out_axis
        return tuple(gy[lead + (i,)] for i in range(len(xs_and_y) - 1))


class BroadcastTo(Op):
    """y = broadcast_to(x, shape);  gx = gy summed back to x's shape (the engine does the sum)"""
    saves_inputs, saves_output = False, False
    name, kind = "broadcast_to", "broadcast_to"

    def __init__(self, *shape):
        self.shape = _shape_arg(shape)

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, gy, x, y):
        return (gy,)


def index_data(index):
    """An index with any Tensors in it replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(data_of(i) if hasattr(i, "requires_grad") else i for i in index)
    return data_of(index) if hasattr(index, "requires_grad") else index
