"""NumPy's functions on Tensors: they stay on the tape or raise, never silently drop the graph.

The tables are built from the op registry: an op that declares ``numpy = (np.cos,)`` makes
``np.cos(t)`` record it, a user's op as much as a built-in one.
"""

import numpy as np

from .ops.base import on_register
from .tensor import Tensor

_UFUNCS = {}      # np.exp -> the Exp class
_FUNCTIONS = {}   # np.sum -> the Sum class
_COMPARISONS = (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                np.isfinite, np.isnan, np.sign, np.logical_and, np.logical_or, np.logical_not)
_PROPERTIES = {np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim,
               np.size: lambda a: a.size}


def _claim(cls, present):
    """Registry listener: file each of ``cls.numpy`` under the ufunc or function table."""
    for func in cls.numpy:
        table = _UFUNCS if isinstance(func, np.ufunc) else _FUNCTIONS
        if present:
            table[func] = cls   # the registry has checked that no other op claims func
        elif table.get(func) is cls:
            del table[func]


on_register(_claim)


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def array_ufunc(ufunc, method, args, kwargs):
    """Route ``np.exp(t)``, ``ndarray * t`` ... to the op that declares that ufunc."""
    if method == "__call__" and not kwargs:
        cls = _UFUNCS.get(ufunc)
        if cls is not None:
            return cls.from_numpy(ufunc, *args)
        if ufunc in _COMPARISONS:  # boolean results carry no gradient
            return Tensor._make(ufunc(*[_data(a) for a in args]))
    raise TypeError(f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} on a "
                    f"Tensor{' with ' + ', '.join(kwargs) if kwargs else ''} is not supported: "
                    "it would drop the tape. Use the tinygrad_ce function (tg.exp, tg.log, "
                    "tg.maximum, ...), or call it on t.data (t.numpy()) if you want no gradient.")


def array_function(func, args, kwargs):
    """Route ``np.sum(t)``, ``np.where(c, t, 0)`` ... to the op that declares that function."""
    if func in _PROPERTIES:
        return _PROPERTIES[func](*args, **kwargs)
    cls = _FUNCTIONS.get(func)
    if cls is None:
        where = func.__module__.replace("numpy", "np") if func.__module__ else "np"
        raise TypeError(f"{where}.{func.__name__} on a Tensor is not supported: it would drop the "
                        "tape. Use the tinygrad_ce function or method (tg.sum, tg.concatenate, "
                        "x.reshape, ...), or call it on t.data if you want no gradient.")
    for unsupported in ("out", "dtype"):
        if kwargs.get(unsupported) is not None:
            raise TypeError(f"np.{func.__name__} on a Tensor: {unsupported}= is not supported; "
                            f"call tg.{cls.name} and convert the result")
        kwargs.pop(unsupported, None)
    return cls.from_numpy(func, *args, **kwargs)
