"""Convolution, pooling and flattening layers, by hand in the classic im2col style.

Convolution by hand, as in "Deep Learning from Scratch" chapter 7::

    cols = im2col(x)                       # (N*O, C*K): one window per row
    y = cols @ W.reshape(F, -1).T + b      # (N*O, F), then (N, F, *O)
    dW = dout.T @ cols,  db = sum(dout),  dx = col2im(dout @ W.reshape(F, -1))

Each layer's ``reference`` is the matching op (``tg.conv2d``, ``tg.max_pool2d``, ...), so
``tg.check_layer`` compares this hand-written backward with autograd through the op.
"""

import numpy as np

from ..convolution import conv1d, conv2d
from ..dtypes import get_default_dtype
from ..functional import FUNCTIONS as F
from ..ops.conv import (
    check_input,
    check_pool_padding,
    col2im_array,
    fold,
    im2col_array,
    out_sizes,
    pad_spatial,
    tuple_arg,
    window_max,
    windows,
)
from ..tensor import Tensor
from .affine import _std
from .base import Layer


class _Conv(Layer):
    """y = conv(x, W, b);  dW = G.T @ im2col(x), db = sum(G, axis 0), dx = col2im(G @ W)
    with G = dout as (N*O, F). W has shape (out, in, *kernel), b (out,).
    ``init``: "he" (std sqrt(2 / fan_in), the default, for ReLU), "xavier" or a std, with
    fan_in = in_channels * kernel size; b starts at 0."""
    saves_inputs, saves_output = True, False
    saved = ("cols", "x_shape")
    n = 2

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0,
                 init="he", rng=None, dtype=None):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"{self.name}: channels must be >= 1, got ({in_channels}, "
                             f"{out_channels})")
        self.k = tuple_arg(kernel_size, self.n, "kernel_size", self.name)
        self.s = tuple_arg(stride, self.n, "stride", self.name)
        self.p = tuple_arg(padding, self.n, "padding", self.name)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        dtype = np.dtype(dtype or get_default_dtype())
        std = _std(init, in_channels * int(np.prod(self.k)))
        w = rng.standard_normal((out_channels, in_channels) + self.k) * std
        self.W = Tensor(w.astype(dtype), requires_grad=True, name="W")
        self.b = Tensor(np.zeros(out_channels, dtype=dtype), requires_grad=True, name="b")
        self.cols = self.x_shape = None

    def forward(self, x):
        check_input(x, self.n, self.name)
        if x.shape[1] != self.W.shape[1]:
            raise ValueError(f"{self.name}: expected {self.W.shape[1]} input channels, got x "
                             f"of shape {x.shape}")
        o = out_sizes(x.shape[2:], self.k, self.s, self.p, self.name)
        self.x_shape = x.shape
        self.cols = im2col_array(x, self.k, self.s, self.p)
        f = self.W.shape[0]
        y = self.cols @ self.W.data.reshape(f, -1).T + self.b.data
        # contiguous (N, F, *O): the elementwise layers after it run several times faster
        return np.ascontiguousarray(np.moveaxis(y.reshape((x.shape[0],) + o + (f,)), -1, 1))

    def backward(self, dout):
        self.check_forward_done()
        f = self.W.shape[0]
        g = np.moveaxis(dout, 1, -1).reshape(-1, f)
        self.add_grad(self.W, (g.T @ self.cols).reshape(self.W.shape))
        self.add_grad(self.b, g.sum(axis=0))
        if not self.input_needs_grad:  # on the tape, x is data: skip col2im
            return None
        return col2im_array(g @ self.W.data.reshape(f, -1), self.x_shape, self.k, self.s, self.p)

    def reference(self, x):
        conv = conv1d if self.n == 1 else conv2d
        return conv(x, self.W, self.b, self.s, self.p)

    def __repr__(self):
        out, inp = self.W.shape[:2]
        k = self.k[0] if self.n == 1 else self.k
        return f"{type(self).__name__}({inp}, {out}, {k}, stride={self.s}, padding={self.p})"


class Conv1d(_Conv):
    __doc__ = "Convolution over (N, C, L). " + _Conv.__doc__
    n = 1


class Conv2d(_Conv):
    __doc__ = "Convolution over (N, C, H, W). " + _Conv.__doc__
    n = 2


class _Pool(Layer):
    """Shared: kernel_size, stride (default: kernel_size), padding."""
    saves_inputs, saves_output = False, False
    n = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.k = tuple_arg(kernel_size, self.n, "kernel_size", self.name)
        self.s = self.k if stride is None else tuple_arg(stride, self.n, "stride", self.name)
        self.p = tuple_arg(padding, self.n, "padding", self.name)
        self.x_shape = None

    def _windows(self, x, value):
        check_input(x, self.n, self.name)
        out_sizes(x.shape[2:], self.k, self.s, self.p, self.name)
        self.x_shape = x.shape
        w = windows(pad_spatial(x, self.p, value), self.k, self.s)
        return w.reshape(w.shape[:2 + self.n] + (-1,))   # (N, C, *O, K)

    def _fold(self, gw):
        return fold(gw.reshape(gw.shape[:2 + self.n] + self.k), self.x_shape, self.k, self.s,
                    self.p)

    def reference(self, x):
        return F[self.name](x, self.k, self.s, self.p)

    def __repr__(self):
        k = self.k[0] if self.n == 1 else self.k
        return f"{type(self).__name__}({k}, stride={self.s}, padding={self.p})"


class _MaxPool(_Pool):
    """y = max of each window;  dx = dout put at each window's argmax (the first at a tie, as
    PyTorch), windows summed back (they may overlap). Padding never wins."""
    saved = ("idx", "x_shape")

    def forward(self, x):
        check_pool_padding(self.p, self.k, self.name)
        y, self.idx = window_max(self._windows(x, -np.inf))
        return y

    def backward(self, dout):
        self.check_forward_done()
        gw = np.zeros(dout.shape + (int(np.prod(self.k)),), dout.dtype)
        np.put_along_axis(gw, self.idx, dout[..., None], axis=-1)
        return self._fold(gw)


class _AvgPool(_Pool):
    """y = mean of each window (padded zeros count, PyTorch's default);
    dx = dout / K spread over each window, windows summed back."""
    saved = ("x_shape",)

    def forward(self, x):
        return self._windows(x, 0.0).mean(axis=-1)

    def backward(self, dout):
        self.check_forward_done()
        k = int(np.prod(self.k))
        return self._fold(np.broadcast_to((dout / k)[..., None], dout.shape + (k,)))


class MaxPool1d(_MaxPool):
    __doc__ = "Max pooling over (N, C, L). " + _MaxPool.__doc__
    n = 1


class MaxPool2d(_MaxPool):
    __doc__ = "Max pooling over (N, C, H, W). " + _MaxPool.__doc__
    n = 2


class AvgPool1d(_AvgPool):
    __doc__ = "Average pooling over (N, C, L). " + _AvgPool.__doc__
    n = 1


class AvgPool2d(_AvgPool):
    __doc__ = "Average pooling over (N, C, H, W). " + _AvgPool.__doc__
    n = 2


class Flatten(Layer):
    """y = x.reshape(N, -1);  dx = dout.reshape(x.shape)"""
    saves_inputs, saves_output = False, False
    saved = ("x_shape",)

    def __init__(self):
        super().__init__()
        self.x_shape = None

    def forward(self, x):
        if x.ndim < 1:
            raise ValueError("flatten: expected an input of shape (N, ...), got a scalar")
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        self.check_forward_done()
        return dout.reshape(self.x_shape)

    def reference(self, x):
        return x.reshape(x.shape[0], -1)
