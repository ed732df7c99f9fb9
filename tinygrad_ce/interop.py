"""NumPy's functions on Tensors: they stay on the tape or raise, never silently drop the graph."""

import numpy as np

from .functional import FUNCTIONS
from .ops.base import REGISTRY
from .tensor import Tensor

_UFUNCS = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
           np.power: "pow", np.negative: None, np.matmul: "matmul", np.exp: "exp",
           np.log: "log", np.sqrt: "sqrt", np.absolute: "abs", np.tanh: "tanh",
           np.maximum: "maximum", np.minimum: "minimum"}
_COMPARISONS = (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                np.isfinite, np.isnan, np.sign, np.logical_and, np.logical_or, np.logical_not)


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def array_ufunc(ufunc, method, args, kwargs):
    """Route ``np.exp(t)``, ``ndarray * t`` ... to tinygrad_ce's ops."""
    if method == "__call__" and not kwargs:
        if ufunc is np.negative:
            return -args[0]
        if ufunc in _UFUNCS:
            return FUNCTIONS[_UFUNCS[ufunc]](*args)
        if ufunc in _COMPARISONS:  # boolean results carry no gradient
            return Tensor._make(ufunc(*[_data(a) for a in args]))
    raise TypeError(f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} on a "
                    f"Tensor{' with ' + ', '.join(kwargs) if kwargs else ''} is not supported: "
                    "it would drop the tape. Use the tinygrad_ce function (tg.exp, tg.log, "
                    "tg.maximum, ...), or call it on t.data (t.numpy()) if you want no gradient.")


def _reduction(name):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
        if dtype is not None or out is not None or rest:
            raise TypeError(f"np.{name} on a Tensor supports only axis and keepdims")
        return FUNCTIONS[name](a, axis, keepdims)
    return fn


_FUNCTIONS = {
    np.sum: _reduction("sum"), np.mean: _reduction("mean"), np.max: _reduction("max"),
    np.min: _reduction("min"), np.amax: _reduction("max"), np.amin: _reduction("min"),
    np.reshape: lambda a, shape, **k: FUNCTIONS["reshape"](a, shape, **k),
    np.transpose: lambda a, axes=None: FUNCTIONS["transpose"](a, axes or ()),
    np.swapaxes: lambda a, i, j: FUNCTIONS["transpose"](a, _swapped(a.ndim, i, j)),
    np.broadcast_to: lambda a, shape, **k: FUNCTIONS["broadcast_to"](a, shape),
    np.concatenate: lambda xs, axis=0: FUNCTIONS["concatenate"](xs, axis),
    np.stack: lambda xs, axis=0: FUNCTIONS["stack"](xs, axis),
    np.where: lambda c, a, b: FUNCTIONS["where"](c, a, b),
    np.clip: lambda a, lo, hi: FUNCTIONS["clip"](a, lo, hi),
    np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim, np.size: lambda a: a.size,
}


# ops that declare their NumPy spelling (numpy = (np.sin,)) are found through it
for _cls in REGISTRY.values():
    for _f in _cls.__dict__.get("numpy", ()):
        if isinstance(_f, np.ufunc):
            _UFUNCS.setdefault(_f, _cls.name)
        else:
            _FUNCTIONS.setdefault(_f, FUNCTIONS[_cls.name])


def _swapped(ndim, i, j):
    axes = list(range(ndim))
    axes[i], axes[j] = axes[j], axes[i]
    return tuple(axes)


def array_function(func, args, kwargs):
    """Route ``np.sum(t)``, ``np.where(c, t, 0)`` ... to tinygrad_ce's ops."""
    handler = _FUNCTIONS.get(func)
    if handler is None:
        where = func.__module__.replace("numpy", "np") if func.__module__ else "np"
        raise TypeError(f"{where}.{func.__name__} on a Tensor is not supported: it would drop the "
                        "tape. Use the tinygrad_ce function or method (tg.sum, tg.concatenate, "
                        "x.reshape, ...), or call it on t.data if you want no gradient.")
    return handler(*args, **kwargs)
