"""Every primitive op, one class each; importing this package fills ``REGISTRY``."""

from . import (  # noqa: F401  (registers the ops)
    arithmetic,
    conv,
    elementwise,
    losses,
    more_elementwise,
    more_shape,
    nn,
    reduce,
    shape,
    stats,
)
from .base import REGISTRY, Op, dual

__all__ = ["REGISTRY", "Op", "dual"]
