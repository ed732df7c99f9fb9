"""Layers with forward and backward by hand, each also one entry on the tape."""

from .activations import ReLU, Sigmoid, Softmax, Tanh
from .affine import Affine
from .base import Layer, LayerOp
from .losses import SigmoidWithLoss, SoftmaxWithLoss
from .recurrent import GRU, LSTM, RNN, AsSequence
from .regularization import BatchNorm, Dropout
from .sequential import Sequential

__all__ = ["Layer", "LayerOp", "Affine", "Sigmoid", "ReLU", "Tanh", "Softmax", "Dropout",
           "BatchNorm", "SoftmaxWithLoss", "SigmoidWithLoss", "Sequential"]
__all__ += ["RNN", "GRU", "LSTM", "AsSequence"]


def catalogue():
    """Every built-in layer with example inputs: name -> (rng -> (layer, inputs))."""
    import numpy as np

    def x(rng):
        return rng.standard_normal((4, 5))

    labels = np.array([0, 2, 1, 1])
    return {
        "affine": lambda r: (Affine(5, 3, rng=r), (x(r),)),
        "sigmoid": lambda r: (Sigmoid(), (x(r),)),
        "relu": lambda r: (ReLU(), (x(r),)),
        "tanh": lambda r: (Tanh(), (x(r),)),
        "softmax": lambda r: (Softmax(), (x(r),)),
        "dropout": lambda r: (Dropout(0.3, rng=r), (x(r),)),
        "batch_norm": lambda r: (BatchNorm(5), (x(r),)),
        "softmax_with_loss": lambda r: (SoftmaxWithLoss(), (x(r)[:, :3], labels)),
        "sigmoid_with_loss": lambda r: (SigmoidWithLoss(), (x(r), (x(r) > 0).astype(float))),
        "sequential": lambda r: (Sequential(Affine(5, 4, rng=r), ReLU(), Affine(4, 3, rng=r)),
                                 (x(r),)),
        "rnn": lambda r: (RNN(3, 2, rng=r), (r.standard_normal((2, 3, 3)),)),
        "gru": lambda r: (GRU(3, 2, bidirectional=True, rng=r), (r.standard_normal((2, 3, 3)),)),
        "lstm": lambda r: (LSTM(3, 2, rng=r), (r.standard_normal((2, 3, 3)),)),
    }
