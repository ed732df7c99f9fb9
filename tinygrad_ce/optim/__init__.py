"""Optimizers: SGD (momentum, Nesterov), AdaGrad, RMSProp, Adam, L-BFGS and Newton; learning-rate
schedules StepLR, ExponentialLR, CosineAnnealingLR."""

from .base import Optimizer
from .first_order import SGD, AdaGrad, Adam, RMSProp
from .lbfgs import LBFGS
from .newton import Newton
from .schedules import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR

__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "LBFGS", "Newton",
           "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]
