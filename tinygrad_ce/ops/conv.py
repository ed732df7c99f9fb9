"""Convolution and pooling over 1 or 2 spatial axes (PyTorch layout: x (N, C, *S)).

How second order works here: every op is written with two linear ops and their adjoints.
``im2col`` (x -> the (N*O, C*K) matrix of windows) is linear, so its backward is its adjoint
``col2im`` (sum each window back where it came from), and the backward of ``col2im`` is
``im2col``. A convolution is ``im2col(x) @ W.T``, so its backward is
``gx = col2im(gy @ W)``, ``gW = gy.T @ im2col(x)``: with ``create_graph=True`` those same lines
run on Tensors through ``dual`` and record ``im2col``, ``col2im`` and ``matmul``, whose own
backwards are known. Max pooling does the same with a gather at the argmax and its adjoint, a
scatter. On ndarrays (first order) each op is one NumPy pass: sliding-window views
(``numpy.lib.stride_tricks``) forward, one slice-add per kernel offset backward, no ``np.add.at``.
"""

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Op, dual

# ---- arguments ----------------------------------------------------------------------------

def tuple_arg(value, n, what, op):
    """An int or an n-tuple of ints as an n-tuple (stride=2 -> (2, 2) in 2-D)."""
    v = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(v) != n or not all(isinstance(i, (int, np.integer)) for i in v):
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(i) for i in v)


def out_sizes(sizes, k, s, p, op):
    """O = (S + 2p - k) // s + 1 per axis; a clear error when the kernel does not fit."""
    if any(si < 1 for si in s) or any(pi < 0 for pi in p) or any(ki < 1 for ki in k):
        raise ValueError(f"{op}: kernel {k}, stride {s} and padding {p} must be >= 1, >= 1, >= 0")
    out = tuple((n + 2 * pi - ki) // si + 1 for n, ki, si, pi in zip(sizes, k, s, p))
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: a kernel of {k} does not fit an input of spatial size "
                         f"{tuple(sizes)} with padding {p}; use a smaller kernel or pad more")
    return out


def check_input(x, n, op, what="x"):
    if x.ndim != n + 2:
        layout = "(N, C, L)" if n == 1 else "(N, C, H, W)"
        raise ValueError(f"{op}: {what} must have shape {layout}, got {x.shape}; "
                         f"for one sample add a batch axis: x[None]")


# ---- array helpers (also the teaching functions tg.im2col / tg.col2im) --------------------

def pad_spatial(x, p, value=0.0):
    """x with p[i] values added on both sides of spatial axis i (a copy only when p > 0)."""
    if not any(p):
        return x
    out = np.full(x.shape[:2] + tuple(n + 2 * pi for n, pi in zip(x.shape[2:], p)), value,
                  dtype=x.dtype)   # (np.pad does the same, through much more machinery)
    out[(Ellipsis,) + tuple(slice(pi, pi + n) for pi, n in zip(p, x.shape[2:]))] = x
    return out


def windows(xp, k, s):
    """A read-only view (N, C, *O, *k) of every window of the padded xp: no copy."""
    n = len(k)
    v = sliding_window_view(xp, k, axis=tuple(range(2, 2 + n)))
    return v[(slice(None), slice(None)) + tuple(slice(None, None, si) for si in s)]


def fold(gw, x_shape, k, s, p):
    """The adjoint of ``windows``: gw (N, C, *O, *k) summed back into an array of x_shape.

    One slice-add per kernel offset (k[0]*k[1] of them), each a strided block of the output.
    """
    n = len(k)
    o = gw.shape[2:2 + n]
    xp = np.zeros(x_shape[:2] + tuple(si + 2 * pi for si, pi in zip(x_shape[2:], p)), gw.dtype)
    for offset in itertools.product(*(range(ki) for ki in k)):
        block = tuple(slice(d, d + si * (oi - 1) + 1, si) for d, si, oi in zip(offset, s, o))
        xp[(slice(None), slice(None)) + block] += gw[(Ellipsis,) + offset]
    return xp[(slice(None), slice(None)) + tuple(slice(pi, pi + si)
                                                 for pi, si in zip(p, x_shape[2:]))]


def check_pool_padding(p, k, op):
    """Max pooling pads with -inf; as in PyTorch, padding may be at most half the kernel."""
    if any(2 * pi > ki for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding {p} must be at most half the kernel {k}, as in PyTorch")


def window_max(w):
    """(max over the last axis of windows ``w``, its argmax kept as a trailing axis); at a tie
    the first in the window wins, as in PyTorch."""
    idx = w.argmax(axis=-1)[..., None]
    return np.take_along_axis(w, idx, axis=-1)[..., 0], idx


def im2col_array(x, k, s, p):
    """(N, C, *S) -> (N*prod(O), C*prod(k)): row (n, o) holds the window at output o."""
    n = len(k)
    v = windows(pad_spatial(x, p), k, s)                     # (N, C, *O, *k)
    order = (0,) + tuple(range(2, 2 + n)) + (1,) + tuple(range(2 + n, 2 + 2 * n))
    v = v.transpose(order)                                   # (N, *O, C, *k)
    return v.reshape(int(np.prod(v.shape[:1 + n])), -1)


def col2im_array(cols, x_shape, k, s, p):
    """The adjoint of ``im2col_array``: each row's window added back where it came from."""
    n = len(k)
    o = out_sizes(x_shape[2:], k, s, p, "col2im")
    c = cols.reshape((x_shape[0],) + o + (x_shape[1],) + k)  # (N, *O, C, *k)
    return fold(np.moveaxis(c, 1 + n, 1), x_shape, k, s, p)


# ---- the linear pair ---------------------------------------------------------------------

class _Geometry(Op):
    """Kernel, stride and padding over n spatial axes, as tuples."""
    saves_inputs, saves_output = False, False
    public = method = False
    n = None  # the number of spatial axes: the class's, or the kernel tuple's length

    def __init__(self, kernel_size, stride=1, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        if type(self).n is None:
            self.n = len(kernel_size) if isinstance(kernel_size, tuple) else 2
        self.k = tuple_arg(kernel_size, self.n, "kernel_size", self.name)
        self.s = tuple_arg(stride, self.n, "stride", self.name)
        self.p = tuple_arg(padding, self.n, "padding", self.name)


class Im2col(_Geometry):
    """y = the (N*O, C*K) matrix of x's windows;  gx = col2im(gy)  (its adjoint)"""
    name = "im2col"

    @classmethod
    def cases(cls, draw, t):
        shape, k, s, p = draw(t.conv_geometry())
        return {"kernel_size": k, "stride": s, "padding": p}, [t.op_elements(cls, draw, shape)]

    def forward(self, x):
        check_input(x, self.n, self.name)
        out_sizes(x.shape[2:], self.k, self.s, self.p, self.name)
        self.x_shape = x.shape
        return im2col_array(x, self.k, self.s, self.p)

    def backward(self, gy, x, y):
        return (dual(Col2im(self.x_shape, self.k, self.s, self.p), gy),)


class Col2im(_Geometry):
    """y = each row's window summed back into x_shape;  gx = im2col(gy)  (its adjoint)"""
    name = "col2im"

    @classmethod
    def cases(cls, draw, t):
        shape, k, s, p = draw(t.conv_geometry())
        cols_shape = im2col_array(np.zeros(shape), k, s, p).shape
        return ({"x_shape": shape, "kernel_size": k, "stride": s, "padding": p},
                [t.op_elements(cls, draw, cols_shape)])

    def __init__(self, x_shape, kernel_size, stride=1, padding=0):
        super().__init__(kernel_size, stride, padding)
        self.x_shape = tuple(x_shape)

    def forward(self, cols):
        return col2im_array(cols, self.x_shape, self.k, self.s, self.p)

    def backward(self, gy, cols, y):
        return (dual(Im2col(self.k, self.s, self.p), gy),)


# ---- convolution -------------------------------------------------------------------------

class _Conv(Op):
    """y[n, f, o] = sum_{c, j} W[f, c, j] x_pad[n, c, s*o + j] + b[f]  (cross-correlation, as
    PyTorch);  with X = im2col(x), G = gy as (N*O, F):  gx = col2im(G @ W),  gW = G.T @ X,
    gb = sum(G, axis 0)."""
    saves_inputs, saves_output = True, False
    arity, public, method = 3, False, False

    @classmethod
    def cases(cls, draw, t):
        """x, W and (maybe) b for a drawn geometry."""
        shape, k, s, p = draw(t.conv_geometry(cls.n))
        f = draw(t.st.integers(1, 3))
        inputs = [t.op_elements(cls, draw, shape), t.op_elements(cls, draw, (f, shape[1]) + k)]
        if draw(t.st.booleans()):
            inputs.append(t.op_elements(cls, draw, (f,)))
        return {"stride": s, "padding": p}, inputs
    argnames = ("x", "W", "b")
    n = 2

    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding
        self.s = tuple_arg(stride, self.n, "stride", self.name)
        self.p = tuple_arg(padding, self.n, "padding", self.name)

    def forward(self, x, W, b=None):
        self._check(x, W, b)
        self.k, self.x_shape = W.shape[2:], x.shape
        o = out_sizes(x.shape[2:], self.k, self.s, self.p, self.name)
        self.cols = im2col_array(x, self.k, self.s, self.p)       # (N*O, C*K)
        y = self.cols @ W.reshape(W.shape[0], -1).T                # (N*O, F)
        if b is not None:
            y += b
        # (N, *O, F) -> (N, F, *O), made contiguous: the next elementwise op runs 5x faster
        return np.ascontiguousarray(np.moveaxis(y.reshape((x.shape[0],) + o + (W.shape[0],)),
                                                -1, 1))

    def backward(self, gy, x, W, *b_and_y):
        f, n = W.shape[0], self.n
        g = gy.transpose((0,) + tuple(range(2, 2 + n)) + (1,)).reshape(-1, f)  # (N*O, F)
        first_order = isinstance(x, np.ndarray)
        cols = self.cols if first_order else dual(Im2col(self.k, self.s, self.p), x)
        gW = (g.T @ cols).reshape(W.shape)
        gx = None
        if self.inputs is None or self.inputs[0].requires_grad:
            gx = dual(Col2im(self.x_shape, self.k, self.s, self.p), g @ W.reshape(f, -1))
        gb = (g.sum(axis=0),) if len(b_and_y) == 2 else ()
        return (gx, gW) + gb

    def _check(self, x, W, b):
        check_input(x, self.n, self.name)
        check_input(W, self.n, self.name, "W")
        if W.shape[1] != x.shape[1]:
            raise ValueError(f"{self.name}: W of shape {W.shape} expects {W.shape[1]} input "
                             f"channels, x of shape {x.shape} has {x.shape[1]}")
        if b is not None and b.shape != (W.shape[0],):
            raise ValueError(f"{self.name}: b must have shape ({W.shape[0]},) (one per filter), "
                             f"got {b.shape}")


class Conv1d(_Conv):
    __doc__ = _Conv.__doc__
    name, n = "conv1d", 1


class Conv2d(_Conv):
    __doc__ = _Conv.__doc__
    name, n = "conv2d", 2


# ---- pooling -----------------------------------------------------------------------------

class _Pool(_Geometry):
    """Shared: kernel_size, stride (default: kernel_size) and padding; public functions."""
    public = True
    saves_inputs, saves_output = False, False
    distinct = False

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, kernel_size if stride is None else stride, padding)
        self.stride = stride

    @classmethod
    def cases(cls, draw, t):
        shape, k, s, p = draw(t.conv_geometry(cls.n))
        fits = all(o >= ki for o, ki in zip(shape[2:], k))
        stride = None if draw(t.st.booleans()) and fits else s
        x = draw(t.distinct(shape)) if cls.distinct else t.op_elements(cls, draw, shape)
        return {"kernel_size": k, "stride": stride, "padding": p}, [x]

    def _windows(self, x, value):
        check_input(x, self.n, self.name)
        self.x_shape = x.shape
        self.o = out_sizes(x.shape[2:], self.k, self.s, self.p, self.name)
        v = windows(pad_spatial(x, self.p, value), self.k, self.s)   # (N, C, *O, *k)
        return v.reshape(v.shape[:2 + self.n] + (-1,))               # (N, C, *O, K), a copy


class _MaxPool(_Pool):
    """y = max of each window (padding never wins);  gx = gy scattered to each window's argmax
    (at a tie, the first in the window, as PyTorch)"""
    distinct = True   # tests draw distinct values: a tie in a window is a kink

    def forward(self, x):
        check_pool_padding(self.p, self.k, self.name)
        y, self.idx = window_max(self._windows(x, -np.inf))
        return y

    def backward(self, gy, x, y):
        return (dual(WindowScatter(self.idx, self.x_shape, self.k, self.s, self.p), gy),)


def _window_cases(cls, draw, t):
    """A geometry, and for the window ops an in-window position per output element."""
    shape, k, s, p = draw(t.conv_geometry())
    y_shape = shape[:2] + out_sizes(shape[2:], k, s, p, cls.name)
    geometry = {"kernel_size": k, "stride": s, "padding": p}
    if cls.name == "avg_unpool":
        return {"x_shape": shape, **geometry}, [t.op_elements(cls, draw, y_shape)]
    idx = draw(t.hnp.arrays(np.int64, y_shape + (1,),
                            elements=t.st.integers(0, int(np.prod(k)) - 1)))
    if cls.name == "window_gather":
        return {"idx": idx, **geometry}, [t.op_elements(cls, draw, shape)]
    return {"idx": idx, "x_shape": shape, **geometry}, [t.op_elements(cls, draw, y_shape)]


class WindowGather(_Geometry):
    """y = x's window value at the fixed in-window position idx;  gx = window_scatter(gy)"""
    name, cases = "window_gather", classmethod(_window_cases)

    def __init__(self, idx, kernel_size, stride=1, padding=0):
        super().__init__(kernel_size, stride, padding)
        self.idx = idx

    def forward(self, x):
        self.x_shape = x.shape
        w = windows(pad_spatial(x, self.p), self.k, self.s)
        w = w.reshape(w.shape[:2 + self.n] + (-1,))
        return np.take_along_axis(w, self.idx, axis=-1)[..., 0]

    def backward(self, gy, x, y):
        return (dual(WindowScatter(self.idx, self.x_shape, self.k, self.s, self.p), gy),)


class WindowScatter(_Geometry):
    """y = zeros(x_shape) with gy added at each window's position idx;  gx = window_gather(gy)"""
    name, cases = "window_scatter", classmethod(_window_cases)

    def __init__(self, idx, x_shape, kernel_size, stride=1, padding=0):
        super().__init__(kernel_size, stride, padding)
        self.idx, self.x_shape = idx, tuple(x_shape)

    def forward(self, g):
        gw = np.zeros(g.shape + (int(np.prod(self.k)),), g.dtype)
        np.put_along_axis(gw, self.idx, g[..., None], axis=-1)
        return fold(gw.reshape(g.shape + self.k), self.x_shape, self.k, self.s, self.p)

    def backward(self, gy, g, y):
        return (dual(WindowGather(self.idx, self.k, self.s, self.p), gy),)


class _AvgPool(_Pool):
    """y = mean of each window, padded zeros included (PyTorch's default);
    gx = gy / K added back over each window (K = the kernel's size)"""

    def forward(self, x):
        return self._windows(x, 0.0).mean(axis=-1)

    def backward(self, gy, x, y):
        return (dual(AvgUnpool(self.x_shape, self.k, self.s, self.p), gy),)


class AvgUnpool(_Geometry):
    """y = gy / K spread over each window, summed into x_shape;  gx = avg_pool(gy) (adjoint)"""
    name, cases = "avg_unpool", classmethod(_window_cases)

    def __init__(self, x_shape, kernel_size, stride=1, padding=0):
        super().__init__(kernel_size, stride, padding)
        self.x_shape = tuple(x_shape)

    def forward(self, g):
        share = np.broadcast_to((g / np.prod(self.k))[(Ellipsis,) + (None,) * self.n],
                                g.shape + self.k)
        return fold(share, self.x_shape, self.k, self.s, self.p)

    def backward(self, gy, g, y):
        pool = AvgPool1d if self.n == 1 else AvgPool2d
        return (dual(pool(self.k, self.s, self.p), gy),)


class MaxPool1d(_MaxPool):
    __doc__ = _MaxPool.__doc__
    name, n = "max_pool1d", 1


class MaxPool2d(_MaxPool):
    __doc__ = _MaxPool.__doc__
    name, n = "max_pool2d", 2


class AvgPool1d(_AvgPool):
    __doc__ = _AvgPool.__doc__
    name, n = "avg_pool1d", 1


class AvgPool2d(_AvgPool):
    __doc__ = _AvgPool.__doc__
    name, n = "avg_pool2d", 2


# ---- padding -----------------------------------------------------------------------------

class Pad(Op):
    """y = np.pad(x, pad_width) with zeros;  gx = gy with the padding cut off"""
    saves_inputs, saves_output = False, False
    name = "pad"

    @classmethod
    def cases(cls, draw, t):
        shape = draw(t.shapes(min_dims=1))
        widths = [(draw(t.st.integers(0, 2)), draw(t.st.integers(0, 2))) for _ in shape]
        x = t.op_elements(cls, draw, shape)
        return {"pad_width": draw(t.st.sampled_from([widths, 1]))}, [x]

    def __init__(self, pad_width):
        self.pad_width = pad_width

    def forward(self, x):
        widths = np.asarray(self.pad_width, dtype=np.int64)
        if widths.ndim > 2 or widths.shape not in ((), (1,), (2,), (1, 2), (x.ndim, 1),
                                                    (x.ndim, 2)):
            raise ValueError(f"pad: pad_width {self.pad_width!r} does not fit an input of shape "
                             f"{x.shape}; give one (before, after) pair per axis, as np.pad")
        widths = np.broadcast_to(widths.reshape(-1, widths.shape[-1]) if widths.ndim else widths,
                                 (x.ndim, 2))
        if np.any(widths < 0):
            raise ValueError(f"pad: pad_width must be >= 0, got {self.pad_width!r}")
        self.cut = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths)

    def backward(self, gy, x, y):
        return (gy[self.cut],)
