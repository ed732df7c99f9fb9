"""Layers with forward and backward by hand, each also one entry on the tape."""

from .activations import ReLU, Sigmoid, Softmax, Tanh
from .affine import Affine
from .base import Layer, LayerOp
from .losses import SigmoidWithLoss, SoftmaxWithLoss
from .regularization import BatchNorm, Dropout
from .sequential import Sequential

__all__ = ["Layer", "LayerOp", "Affine", "Sigmoid", "ReLU", "Tanh", "Softmax", "Dropout",
           "BatchNorm", "SoftmaxWithLoss", "SigmoidWithLoss", "Sequential"]
