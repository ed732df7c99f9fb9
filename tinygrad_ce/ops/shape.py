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
    name, numpy = "reshape", (np.reshape,)

    @classmethod
    def cases(cls, draw, t):
        """An array and a shape of the same size (with -1, reversed, an extra 1 ...)."""
        shape = draw(t.shapes())
        size = int(np.prod(shape))
        new = draw(t.st.sampled_from([(-1,), shape[::-1], (1,) + shape, (size, 1)]))
        return {"shape": new}, [t.op_elements(cls, draw, shape)]

    def __init__(self, *shape):
        self.shape = _shape_arg(shape)

    def forward(self, x):
        self.xshape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError as e:
            raise ValueError(f"reshape: {e} (the input has shape {x.shape}); the new shape "
                             "must hold the same number of elements") from e

    def backward(self, gy, x, y):
        return (gy.reshape(self.xshape),)


class Transpose(Op):
    """y = x.transpose(axes) (reversed axes by default);  gx = gy.transpose(inverse of axes)"""
    saves_inputs, saves_output = False, False
    name, numpy = "transpose", (np.transpose, np.swapaxes)

    @classmethod
    def cases(cls, draw, t):
        """An array and a permutation of its axes."""
        shape = draw(t.shapes())
        perm = draw(t.st.permutations(range(len(shape))))
        return {"axes": tuple(perm)}, [t.op_elements(cls, draw, shape)]

    @classmethod
    def from_numpy(cls, func, a, *args, **kwargs):
        if func is np.swapaxes:  # np.swapaxes(a, i, j): the permutation that swaps i and j
            axes = list(range(a.ndim))
            i, j = (*args, *kwargs.values())
            axes[i], axes[j] = axes[j], axes[i]
            return cls.function(a, *axes)
        axes = args[0] if args else kwargs.get("axes")
        return cls.function(a, *(axes or ()))

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
    name, public = "getitem", False

    @classmethod
    def cases(cls, draw, t):
        """An array and an index: basic, integer arrays with repeats, or a mask."""
        shape = draw(t.shapes())
        return {"index": draw(t.indices(shape))}, [t.op_elements(cls, draw, shape)]

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
    name, public, method = "index_add", False, False

    @classmethod
    def cases(cls, draw, t):
        """An output shape, an index into it, and values of the indexed shape."""
        shape = draw(t.shapes(min_dims=1))
        index = draw(t.indices(shape))
        x = t.op_elements(cls, draw, np.zeros(shape)[index].shape)
        return {"index": index, "shape": shape}, [x]

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
    name, arity, method, argnames = "concatenate", None, False, ("xs",)
    numpy = (np.concatenate,)

    @classmethod
    def cases(cls, draw, t):
        """1 to 3 arrays that differ only along the axis they are joined on."""
        shape = draw(t.shapes(min_dims=1))
        axis = draw(t.st.integers(-len(shape), len(shape) - 1))
        parts = []
        for _ in range(draw(t.st.integers(1, 3))):
            s = list(shape)
            s[axis] = draw(t.st.integers(1, 3))
            parts.append(t.op_elements(cls, draw, tuple(s)))
        return {"axis": axis}, parts

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
    name, arity, method, argnames = "stack", None, False, ("xs",)
    numpy = (np.stack,)

    @classmethod
    def cases(cls, draw, t):
        """1 to 3 arrays of one shape, and a new axis."""
        shape = draw(t.shapes(min_dims=1))
        axis = draw(t.st.integers(-len(shape) - 1, len(shape)))
        count = draw(t.st.integers(1, 3))
        return {"axis": axis}, [t.op_elements(cls, draw, shape) for _ in range(count)]

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
    name, numpy = "broadcast_to", (np.broadcast_to,)

    @classmethod
    def cases(cls, draw, t):
        """An array and a shape it broadcasts to."""
        shape = draw(t.shapes(max_dims=2, max_side=3))
        other = draw(t.hnp.broadcastable_shapes(shape, max_dims=3, max_side=3))
        return {"shape": np.broadcast_shapes(shape, other)}, [t.op_elements(cls, draw, shape)]

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
