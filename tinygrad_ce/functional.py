"""The functions ``tg.exp``, ``tg.sum``, ... made from the op registry, one per registered op."""

import inspect

from .ops.base import REGISTRY
from .tensor import Tensor, lift


def function_for(cls):
    """A function ``f(*inputs, *params, **params)`` that records one ``cls`` op.

    Its first ``cls.arity`` arguments are the inputs (a list of them when the arity is None);
    the rest go to the op's constructor (axis, keepdims, reduction, ...).
    """
    n = cls.arity

    def fn(*args, **kwargs):
        if n is None:
            xs, params = tuple(args[0]), args[1:]
            if not xs:
                raise ValueError(f"{cls.name}: needs at least one Tensor")
        else:
            if len(args) < n:
                raise TypeError(f"{cls.name}: expected {n} input(s), got {len(args)}")
            xs, params = args[:n], args[n:]
        if not all(type(x) is Tensor for x in xs):  # labels, arrays, numbers: constants
            xs = [lift(x, xs) for x in xs]
        return Tensor.apply(cls(*params, **kwargs), *xs)

    fn.__name__ = fn.__qualname__ = cls.name
    fn.__doc__ = cls.__doc__
    fn.__signature__ = _signature(cls)
    return fn


def _signature(cls):
    names = getattr(cls, "argnames", ("x",))
    inputs = [inspect.Parameter(a, inspect.Parameter.POSITIONAL_ONLY) for a in names]
    has_init = cls.__init__ is not object.__init__
    params = list(inspect.signature(cls.__init__).parameters.values())[1:] if has_init else []
    params = [p for p in params if p.kind != p.VAR_KEYWORD]
    return inspect.Signature(inputs + params)


FUNCTIONS = {name: function_for(cls) for name, cls in REGISTRY.items() if cls.public}
