"""Every primitive op, one class each; importing this package fills ``REGISTRY``."""

from . import arithmetic, elementwise, nn, reduce, shape  # noqa: F401  (registers the ops)
from . import losses, more_elementwise, more_shape, stats  # noqa: F401  (the second round's)
from .base import REGISTRY, Op, dual

__all__ = ["REGISTRY", "Op", "dual"]
