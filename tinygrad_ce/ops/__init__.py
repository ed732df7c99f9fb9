"""Every primitive op, one class each; importing this package fills ``REGISTRY``."""

from . import arithmetic, conv, elementwise, nn, reduce, shape  # noqa: F401  (registers ops)
from .base import REGISTRY, Op, dual

__all__ = ["REGISTRY", "Op", "dual"]
