"""The fully connected layer."""

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .base import Layer


def _std(init, fan_in):
    if init == "xavier":
        return np.sqrt(1.0 / fan_in)
    if init == "he":
        return np.sqrt(2.0 / fan_in)
    if isinstance(init, (int, float)) and not isinstance(init, bool) and init >= 0:
        return float(init)
    raise ValueError(f"affine: init must be 'xavier', 'he' or a standard deviation >= 0, "
                     f"got {init!r}")


class Affine(Layer):
    """y = x @ W + b;  dx = dout @ W.T,  dW = x.T @ dout,  db = sum(dout, axis 0)

    An input of shape (N, *) is flattened to (N, in_features); dx keeps the input's shape.
    ``init``: "xavier" (std sqrt(1/in)), "he" (std sqrt(2/in), for ReLU) or a std; b starts
    at 0. ``rng``: a np.random.Generator or a seed.
    """
    saves_inputs, saves_output = True, False

    saved = ("x",)

    def __init__(self, in_features, out_features, *, init="xavier", rng=None, dtype=None):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"affine: features must be >= 1, got ({in_features}, {out_features})")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        dtype = np.dtype(dtype or get_default_dtype())
        std = _std(init, in_features)
        self.W = Tensor((rng.standard_normal((in_features, out_features)) * std).astype(dtype),
                        requires_grad=True, name="W")
        self.b = Tensor(np.zeros(out_features, dtype=dtype), requires_grad=True, name="b")
        self.x = self.x_shape = None

    def _flatten(self, x):
        n_in = self.W.shape[0]
        if x.ndim == 2 and x.shape[1] == n_in:
            return x
        if x.ndim < 1 or (x.ndim == 1 and n_in != 1) or int(np.prod(x.shape[1:])) != n_in:
            got = int(np.prod(x.shape[1:])) if x.ndim > 1 else "?"
            raise ValueError(f"affine: expected {n_in} features per sample (input of shape "
                             f"(N, {n_in}) or (N, *) with {n_in} elements per sample), got "
                             f"shape {x.shape} ({got} per sample)")
        return x.reshape(x.shape[0], n_in)

    def forward(self, x):
        self.x_shape = x.shape
        self.x = self._flatten(x)
        y = self.x @ self.W.data
        y += self.b.data        # in place: y is new, and a second temporary costs a pass
        return y

    def backward(self, dout):
        self.check_forward_done()
        self.add_grad(self.W, self.x.T @ dout)
        self.add_grad(self.b, dout.sum(axis=0))
        if not self.input_needs_grad:  # on the tape, x is data: skip the largest matmul
            return None
        return (dout @ self.W.data.T).reshape(self.x_shape)

    def reference(self, x):
        return x.reshape(x.shape[0], -1) @ self.W + self.b

    def __repr__(self):
        return f"Affine({self.W.shape[0]}, {self.W.shape[1]})"
