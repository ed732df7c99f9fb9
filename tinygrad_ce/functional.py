"""The functions ``tg.exp``, ``tg.sum``, ... : one per public op in the registry, kept in step
with it (an op defined later, yours included, appears here on definition)."""

from .ops.base import on_register
from .tensor import Tensor  # noqa: F401  (the registry listener that makes op.function)

FUNCTIONS = {}


def _collect(cls, present):
    if not cls.public:
        return
    if present:
        FUNCTIONS[cls.name] = cls.function
    else:
        FUNCTIONS.pop(cls.name, None)


on_register(_collect)
