"""Optimizers: SGD (momentum, Nesterov), AdaGrad, RMSProp, Adam, L-BFGS and Newton."""

from .base import Optimizer
from .first_order import SGD, AdaGrad, Adam, RMSProp
from .lbfgs import LBFGS
from .newton import Newton

__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "LBFGS", "Newton"]
