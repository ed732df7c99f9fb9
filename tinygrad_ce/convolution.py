"""``tg.conv1d``, ``tg.conv2d`` (an optional bias), and the teaching functions ``tg.im2col``,
``tg.col2im`` on ndarrays. The pooling functions and ``tg.pad`` come from the op registry."""

import numpy as np

from .ops.conv import Conv1d, Conv2d, check_input, col2im_array, im2col_array, out_sizes, tuple_arg
from .tensor import Tensor, lift


def _conv(op, x, W, b):
    xs = (x, W) if b is None else (x, W, b)
    if not all(type(v) is Tensor for v in xs):
        xs = [lift(v, xs) for v in xs]
    return Tensor.apply(op, *xs)


def conv1d(x, W, b=None, stride=1, padding=0):
    """y[n, f, o] = sum_{c, j} W[f, c, j] x_pad[n, c, stride*o + j] + b[f]

    x (N, C, L), W (F, C, k), b (F,) or None; y (N, F, (L + 2 padding - k) // stride + 1).
    A cross-correlation, as PyTorch's conv1d. On the tape, first and second order.
    """
    return _conv(Conv1d(stride, padding), x, W, b)


def conv2d(x, W, b=None, stride=1, padding=0):
    """y[n, f, i, j] = sum_{c, u, v} W[f, c, u, v] x_pad[n, c, s_h i + u, s_w j + v] + b[f]

    x (N, C, H, W), W (F, C, kh, kw), b (F,) or None; stride and padding an int or a pair.
    As PyTorch's conv2d; computed as im2col(x) @ W.reshape(F, -1).T (see ``tg.im2col``).
    """
    return _conv(Conv2d(stride, padding), x, W, b)


def _geometry(x_shape, kh, kw, stride, padding):
    n = len(x_shape) - 2
    if n not in (1, 2):
        raise ValueError(f"im2col: x must have shape (N, C, L) or (N, C, H, W), got {x_shape}")
    k = (kh,) if n == 1 else (kh, kw)
    if n == 1 and kw not in (None, 1):
        raise ValueError(f"im2col: a 1-D input (N, C, L) takes kw=None, got kw={kw}")
    s, p = tuple_arg(stride, n, "stride", "im2col"), tuple_arg(padding, n, "padding", "im2col")
    out_sizes(x_shape[2:], k, s, p, "im2col")
    return k, s, p


def im2col(x, kh, kw=None, stride=1, padding=0):
    """The classic im2col: x (N, C, H, W) -> cols (N*OH*OW, C*kh*kw), one window per row.

    Row n*OH*OW + i*OW + j holds x_pad[n, :, s*i : s*i + kh, s*j : s*j + kw] flattened, so a
    convolution is ``cols @ W.reshape(F, -1).T``. OH = (H + 2p - kh) // s + 1. A 1-D input
    (N, C, L) takes ``kw=None``. On ndarrays (no tape); a sliding-window view, then one copy.
    """
    x = np.asarray(x)
    check_input(x, x.ndim - 2, "im2col")
    k, s, p = _geometry(x.shape, kh, kw, stride, padding)
    return im2col_array(x, k, s, p)


def col2im(cols, x_shape, kh, kw=None, stride=1, padding=0):
    """The adjoint of ``im2col``: each row's window added back where it came from, overlaps
    summed, padding cut off. ``sum(im2col(x) * c) == sum(x * col2im(c))`` for every x, c."""
    cols, x_shape = np.asarray(cols), tuple(x_shape)
    k, s, p = _geometry(x_shape, kh, kw, stride, padding)
    rows = x_shape[0] * int(np.prod(out_sizes(x_shape[2:], k, s, p, "col2im")))
    if cols.shape != (rows, x_shape[1] * int(np.prod(k))):
        raise ValueError(f"col2im: cols of shape {cols.shape} do not come from im2col of "
                         f"{x_shape} with kernel {k}: expected ({rows}, "
                         f"{x_shape[1] * int(np.prod(k))})")
    return col2im_array(cols, x_shape, k, s, p)
