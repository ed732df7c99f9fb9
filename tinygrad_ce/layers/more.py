"""Embedding, LayerNorm and LeakyReLU: layers by hand, with PyTorch's conventions."""

import numpy as np

from ..dtypes import get_default_dtype
from ..functional import FUNCTIONS as F
from ..tensor import Tensor
from .base import Layer


class Embedding(Layer):
    """y = W[x]: row x of the table W (num_embeddings, embedding_dim) for each index in x;
    dW = the rows of dout added at the indices (np.add.at: a repeated index accumulates).
    x gets no gradient (indices). W starts as N(0, 1) samples, as torch.nn.Embedding."""
    saves_inputs, saves_output = True, False

    saved = ("x",)

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=None):
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"embedding: sizes must be >= 1, got ({num_embeddings}, "
                             f"{embedding_dim})")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        dtype = np.dtype(dtype or get_default_dtype())
        self.W = Tensor(rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype),
                        requires_grad=True, name="W")
        self.x = None

    def forward(self, x):
        x = np.asarray(x)
        if x.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {x.dtype}; "
                            "convert with x.astype(int)")
        n = self.W.shape[0]
        if x.size and (x.min() < -n or x.max() >= n):
            raise ValueError(f"embedding: indices must be in [0, {n}) for {n} embeddings, got "
                             f"values from {x.min()} to {x.max()}")
        self.x = x
        return self.W.data[x]

    def backward(self, dout):
        self.check_forward_done()
        gW = np.zeros_like(self.W.data)
        np.add.at(gW, self.x, dout)
        self.add_grad(self.W, gW)
        return None   # indices have no gradient

    def reference(self, x):
        return self.W[np.asarray(x.data if isinstance(x, Tensor) else x)]

    def __repr__(self):
        return f"Embedding({self.W.shape[0]}, {self.W.shape[1]})"


class LayerNorm(Layer):
    """Normalisation over the last axis of each sample, as torch.nn.LayerNorm(features):
    xn = (x - mean) / sqrt(var + eps) (biased variance), y = gamma * xn + beta;
    dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / sqrt(var + eps), dxn = dout * gamma, the
    means over the last axis. The same in training and evaluation (no running statistics)."""
    saves_inputs, saves_output = True, False

    saved = ("xn", "std")

    def __init__(self, features, *, eps=1e-5, dtype=None):
        super().__init__()
        dtype = np.dtype(dtype or get_default_dtype())
        self.eps = eps
        self.gamma = Tensor(np.ones(features, dtype=dtype), requires_grad=True, name="gamma")
        self.beta = Tensor(np.zeros(features, dtype=dtype), requires_grad=True, name="beta")
        self.xn = self.std = None

    def forward(self, x):
        d = self.gamma.shape[0]
        if x.ndim < 1 or x.shape[-1] != d:
            raise ValueError(f"layer_norm: expected input of shape (..., {d}), got {x.shape}")
        self.std = np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.xn = (x - x.mean(axis=-1, keepdims=True)) / self.std
        return self.gamma.data * self.xn + self.beta.data

    def backward(self, dout):
        self.check_forward_done()
        batch = tuple(range(dout.ndim - 1))
        self.add_grad(self.beta, dout.sum(axis=batch))
        self.add_grad(self.gamma, (dout * self.xn).sum(axis=batch))
        dxn = dout * self.gamma.data
        return (dxn - dxn.mean(axis=-1, keepdims=True)
                - self.xn * (dxn * self.xn).mean(axis=-1, keepdims=True)) / self.std

    def reference(self, x):
        centred = x - x.mean(axis=-1, keepdims=True)
        var = (centred * centred).mean(axis=-1, keepdims=True)
        return self.gamma * (centred / F["sqrt"](var + self.eps)) + self.beta

    def __repr__(self):
        return f"LayerNorm({self.gamma.shape[0]})"


class LeakyReLU(Layer):
    """y = x if x > 0 else negative_slope * x;  dx = dout * (1 if x > 0 else negative_slope)
    (negative_slope at x = 0, as PyTorch)."""
    saves_inputs, saves_output = False, False

    saved = ("slope",)

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope, self.slope = negative_slope, None

    def forward(self, x):
        self.slope = np.where(x > 0, 1, self.negative_slope).astype(x.dtype)
        return x * self.slope

    def backward(self, dout):
        self.check_forward_done()
        return dout * self.slope

    def reference(self, x):
        return F["where"](x.data > 0, x, x * self.negative_slope)

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"
