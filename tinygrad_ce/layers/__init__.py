"""Layers with forward and backward by hand, each also one entry on the tape."""

from .activations import ReLU, Sigmoid, Softmax, Tanh
from .affine import Affine
from .base import Layer, LayerOp
from .conv import AvgPool1d, AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool1d, MaxPool2d
from .losses import SigmoidWithLoss, SoftmaxWithLoss
from .recurrent import GRU, LSTM, RNN, AsSequence
from .regularization import BatchNorm, Dropout
from .residual import Residual
from .sequential import Sequential

__all__ = ["Layer", "LayerOp", "Affine", "Sigmoid", "ReLU", "Tanh", "Softmax", "Dropout",
           "BatchNorm", "SoftmaxWithLoss", "SigmoidWithLoss", "Sequential",
           "Residual", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
           "Flatten"]
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
        "conv1d": lambda r: (Conv1d(2, 3, 3, stride=2, padding=1, rng=r),
                             (r.standard_normal((2, 2, 7)),)),
        "conv2d": lambda r: (Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, rng=r),
                             (r.standard_normal((2, 2, 5, 4)),)),
        "max_pool1d": lambda r: (MaxPool1d(3, stride=2, padding=1), (r.permutation(28)
                                                                     .reshape(2, 2, 7) / 10,)),
        "max_pool2d": lambda r: (MaxPool2d(2), (r.permutation(48).reshape(2, 2, 4, 3) / 10,)),
        "avg_pool1d": lambda r: (AvgPool1d(3, stride=2, padding=1),
                                 (r.standard_normal((2, 2, 7)),)),
        "avg_pool2d": lambda r: (AvgPool2d((2, 3), stride=1), (r.standard_normal((2, 2, 4, 5)),)),
        "flatten": lambda r: (Flatten(), (r.standard_normal((2, 3, 2, 2)),)),
        "residual": lambda r: (Residual(Affine(5, 5, rng=r), Tanh()), (x(r),)),
        "batch_norm_2d": lambda r: (BatchNorm(3), (r.standard_normal((4, 3, 2, 2)),)),
        "sequential": lambda r: (Sequential(Affine(5, 4, rng=r), ReLU(), Affine(4, 3, rng=r)),
                                 (x(r),)),
        "rnn": lambda r: (RNN(3, 2, rng=r), (r.standard_normal((2, 3, 3)),)),
        "gru": lambda r: (GRU(3, 2, bidirectional=True, rng=r), (r.standard_normal((2, 3, 3)),)),
        "lstm": lambda r: (LSTM(3, 2, rng=r), (r.standard_normal((2, 3, 3)),)),
    }
