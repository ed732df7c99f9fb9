"""Dropout and batch normalisation: layers that behave differently in training and evaluation."""

import numpy as np

from ..dtypes import get_default_dtype
from ..functional import FUNCTIONS as F
from ..tensor import Tensor
from .base import Layer


class Dropout(Layer):
    """Inverted dropout. Training: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p), so the
    expected output equals x; evaluation: y = x.  dx = dout * mask / (1 - p)."""
    saves_inputs, saves_output = False, False

    saved = ("mask",)

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout: p is the probability of dropping a unit and must be in "
                             f"[0, 1), got {p}")
        self.p, self.mask = p, None
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def forward(self, x):
        if self.training:
            self.mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        else:
            self.mask = np.ones((1,) * x.ndim)
        return x * self.mask.astype(x.dtype, copy=False)

    def backward(self, dout):
        self.check_forward_done()
        return dout * self.mask

    def reference(self, x):
        return x * self.mask

    def __repr__(self):
        return f"Dropout(p={self.p})"


class BatchNorm(Layer):
    """Batch normalisation per feature of (N, D), or per channel of (N, C, ...) (as
    torch.nn.BatchNorm1d/2d): the statistics are taken over every axis but axis 1.

    Training: xn = (x - mean) / sqrt(var + eps) with the batch's mean and (biased) variance;
    running statistics follow ``running = (1 - momentum) * running + momentum * batch`` (the
    running variance unbiased, as PyTorch). Evaluation uses the running statistics.
    y = gamma * xn + beta.  Backward (training), with dxn = dout * gamma and means over the
    same axes: dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / sqrt(var + eps).
    """
    saves_inputs, saves_output = True, False

    saved = ("xn", "std")
    buffers = ("running_mean", "running_var")

    def __init__(self, features, *, momentum=0.1, eps=1e-5, dtype=None):
        super().__init__()
        dtype = np.dtype(dtype or get_default_dtype())
        self.momentum, self.eps = momentum, eps
        self.gamma = Tensor(np.ones(features, dtype=dtype), requires_grad=True, name="gamma")
        self.beta = Tensor(np.zeros(features, dtype=dtype), requires_grad=True, name="beta")
        self.running_mean = np.zeros(features, dtype=dtype)
        self.running_var = np.ones(features, dtype=dtype)
        self.xn = self.std = None

    def _axes(self, x):
        """The axes the statistics run over, and the shape that broadcasts (C,) against x."""
        d = self.gamma.shape[0]
        if x.ndim < 2 or x.shape[1] != d:
            raise ValueError(f"batch_norm: expected input of shape (N, {d}) or (N, {d}, ...), "
                             f"got {x.shape}")
        return (0,) + tuple(range(2, x.ndim)), (d,) + (1,) * (x.ndim - 2)

    def forward(self, x):
        axes, shape = self._axes(x)
        if self.training:
            n = x.size // x.shape[1]
            if n < 2:
                raise ValueError("batch_norm: a batch of one has no variance in training mode; "
                                 "use batches of 2 or more, or call layer.eval()")
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        self.std = np.sqrt(var + self.eps).reshape(shape)
        self.xn = (x - mean.reshape(shape)) / self.std
        return self.gamma.data.reshape(shape) * self.xn + self.beta.data.reshape(shape)

    def backward(self, dout):
        self.check_forward_done()
        axes, shape = self._axes(dout)
        self.add_grad(self.beta, dout.sum(axis=axes))
        self.add_grad(self.gamma, (dout * self.xn).sum(axis=axes))
        dxn = dout * self.gamma.data.reshape(shape)
        if not self.training:
            return dxn / self.std
        mean = dxn.mean(axis=axes, keepdims=True)
        return (dxn - mean - self.xn * (dxn * self.xn).mean(axis=axes, keepdims=True)) / self.std

    def reference(self, x):
        axes, shape = self._axes(x)
        if self.training:
            mean = x.mean(axis=axes, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        else:
            mean = Tensor(self.running_mean.reshape(shape))
            var = Tensor(self.running_var.reshape(shape))
        return (self.gamma.reshape(shape) * ((x - mean) / F["sqrt"](var + self.eps))
                + self.beta.reshape(shape))

    def __repr__(self):
        return f"BatchNorm({self.gamma.shape[0]})"
