"""Loss layers on logits, each with the fused gradient: y - t, scaled by dout."""

import numpy as np

from ..functional import FUNCTIONS as F
from ..ops.elementwise import _stable_sigmoid
from ..ops.nn import (
    check_binary_target,
    check_reduction,
    check_target,
    minus_target,
    picked,
    reduce_losses,
    softmax_and_label_loss,
    softmax_and_log,
    target_table,
)
from ..tensor import Tensor
from .base import Layer


class _Loss(Layer):
    """What loss layers share: called as layer(x, t), a reduction, y and t saved by forward."""

    is_loss, saved = True, ("y", "t")
    saves_inputs, saves_output = True, False   # the target array is kept, not copied

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(self.name, reduction)
        self.y = self.t = None

    def __repr__(self):
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class SoftmaxWithLoss(_Loss):
    """loss = cross-entropy of softmax(x) against t;  dx = dout * (y - t) / N  ("mean")

    ``t``: integer labels of shape (N,) (whole-number floats accepted) or probability rows of
    shape (N, K). y = softmax(x) is saved by forward; the gradient is the fused y - t, never
    formed through d log and d softmax. "sum": dout * (y - t); "none": dout[:, None] * (y - t).
    """

    def forward(self, x, t):
        if x.ndim != 2:
            raise ValueError(f"{self.name}: logits must have shape (N, K), got {x.shape}")
        self.t = check_target(self.name, x, np.asarray(t))   # labels, or probability rows
        if self.t.ndim == 2:
            self.y, log_y = softmax_and_log(x, axis=1)
            losses = -picked(log_y, self.t)                 # from log-softmax: no log(y + 1e-7)
        else:
            self.y, losses = softmax_and_label_loss(x, self.t)
        return reduce_losses(losses, self.reduction)

    def y_minus_t(self):
        """The fused gradient before scaling: softmax(x) - t (t as one-hot rows)."""
        return minus_target(self.y, self.t)

    def backward(self, dout=1.0):
        self.check_forward_done()
        g = self.y_minus_t()
        if self.reduction == "mean":
            g *= np.asarray(dout, dtype=g.dtype) / self.y.shape[0]
            return g
        if self.reduction == "none":
            dout = np.asarray(dout)[:, None]
        return g * dout

    def reference(self, x, t):
        t = np.asarray(t.data if isinstance(t, Tensor) else t)
        table = Tensor(target_table(self.name, x.data, t))
        log_y = x - F["logsumexp"](x, 1, True)
        losses = -(table * log_y).sum(axis=1)
        return reduce_losses(losses, self.reduction)


class SigmoidWithLoss(_Loss):
    """loss = max(z, 0) - z t + log(1 + exp(-|z|)) (binary / multi-label logistic loss);
    dz = dout * (sigmoid(z) - t) / n with n = z.size for "mean", as PyTorch's
    binary_cross_entropy_with_logits."""

    def forward(self, z, t):
        t = np.asarray(t)
        check_binary_target(self.name, z, t)
        self.t, self.y = t, _stable_sigmoid(z)
        losses = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        return reduce_losses(losses, self.reduction)

    def backward(self, dout=1.0):
        self.check_forward_done()
        g = np.asarray(dout) * (self.y - self.t)
        return g / self.y.size if self.reduction == "mean" else g

    def reference(self, z, t):
        t = t if isinstance(t, Tensor) else Tensor(t)
        losses = F["maximum"](z, 0.0) - z * t + F["log"](1 + F["exp"](-F["abs"](z)))
        return reduce_losses(losses, self.reduction)
