"""Tensor factories with NumPy's names: zeros, ones, zeros_like, ones_like, randn, rand, arange,
eye. Floating results take the default dtype (``tg.get_default_dtype()``) unless ``dtype`` is
given; each returns a leaf, which requires grad only when asked."""

import numpy as np

from .dtypes import get_default_dtype
from .tensor import Tensor


def _shape(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape):
        raise ValueError(f"{op}: a shape is non-negative integers, got {shape}")
    return tuple(int(n) for n in shape)


def _leaf(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def _float(dtype):
    return np.dtype(dtype or get_default_dtype())


def zeros(shape, *, requires_grad=False, dtype=None):
    """A Tensor of ``shape`` (an int or a tuple) filled with 0."""
    shape = _shape(shape if isinstance(shape, (tuple, list)) else (shape,), "zeros")
    return _leaf(np.zeros(shape, dtype=_float(dtype)), requires_grad)


def ones(shape, *, requires_grad=False, dtype=None):
    """A Tensor of ``shape`` (an int or a tuple) filled with 1."""
    shape = _shape(shape if isinstance(shape, (tuple, list)) else (shape,), "ones")
    return _leaf(np.ones(shape, dtype=_float(dtype)), requires_grad)


def zeros_like(x, *, requires_grad=False, dtype=None):
    """Zeros with the shape of ``x`` (a Tensor or array) and its dtype unless ``dtype`` is given."""
    return _leaf(np.zeros(np.shape(x), dtype=dtype or np.asarray(x).dtype), requires_grad)


def ones_like(x, *, requires_grad=False, dtype=None):
    """Ones with the shape of ``x`` (a Tensor or array) and its dtype unless ``dtype`` is given."""
    return _leaf(np.ones(np.shape(x), dtype=dtype or np.asarray(x).dtype), requires_grad)


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def randn(*shape, rng=None, requires_grad=False, dtype=None):
    """Samples of the standard normal N(0, 1): ``randn(2, 3)`` or ``randn((2, 3))``.
    ``rng``: a np.random.Generator or a seed (None: fresh entropy)."""
    draws = _rng(rng).standard_normal(_shape(shape, "randn"))
    return _leaf(draws.astype(_float(dtype)), requires_grad)


def rand(*shape, rng=None, requires_grad=False, dtype=None):
    """Samples of the uniform distribution on [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``."""
    draws = _rng(rng).random(_shape(shape, "rand"))
    return _leaf(draws.astype(_float(dtype)), requires_grad)


def arange(start, stop=None, step=1, *, requires_grad=False, dtype=None):
    """Evenly spaced values in [start, stop), as np.arange: integers stay integers (int64), as in
    NumPy and PyTorch, unless a float is among the arguments or ``dtype`` is given."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        values = values.astype(dtype)
    elif values.dtype.kind == "f":
        values = values.astype(get_default_dtype())
    return _leaf(values, requires_grad)


def eye(n, m=None, *, requires_grad=False, dtype=None):
    """The identity matrix of shape (n, m) (m defaults to n), as np.eye."""
    return _leaf(np.eye(n, m, dtype=_float(dtype)), requires_grad)
