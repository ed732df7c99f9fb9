"""Two more loss layers: mean squared error and the multiclass SVM (hinge) loss."""

import numpy as np

from ..functional import FUNCTIONS as F
from ..ops.losses import MulticlassHingeLoss
from ..ops.nn import reduce_losses
from ..tensor import Tensor
from .losses import _Loss


def _scaled(g, dout, reduction, n):
    """g times dout: / n for "mean", per row for "none"."""
    dout = np.asarray(dout, dtype=g.dtype)
    if reduction == "none":
        return g * dout.reshape(dout.shape + (1,) * (g.ndim - dout.ndim))
    return g * (dout / n if reduction == "mean" else dout)


class MeanSquaredError(_Loss):
    """loss = (y - t)^2, reduced (mean over all elements, as torch.nn.MSELoss);
    dy = dout * 2 (y - t) / n, n = y.size for "mean"."""

    saved = ("diff",)
    saves_inputs = False

    def forward(self, y, t):
        t = np.asarray(t)
        if t.shape != y.shape:
            raise ValueError(f"{self.name}: prediction of shape {y.shape} and target of shape "
                             f"{t.shape} differ; reshape one to the other")
        self.diff = y - t
        return reduce_losses(self.diff ** 2, self.reduction)

    def backward(self, dout=1.0):
        self.check_forward_done()
        return _scaled(2 * self.diff, dout, self.reduction, self.diff.size)

    def reference(self, y, t):
        d = y - (t if isinstance(t, Tensor) else Tensor(np.asarray(t)))
        return reduce_losses(d * d, self.reduction)


class SVMLoss(_Loss):
    """The multiclass SVM loss of the linear-classifier notes, on scores s (N, K), labels t:
    L_i = sum_{j != t_i} max(0, s_ij - s_i,t_i + delta), averaged over the batch ("mean"; no
    division by the number of classes, unlike torch.nn.MultiMarginLoss);
    ds_ij = dout * [margin_ij > 0] / N for j != t_i, ds_i,t_i = -dout * (positive margins) / N."""

    saved = ("slope",)
    saves_inputs = False

    def __init__(self, delta=1.0, reduction="mean"):
        super().__init__(reduction)
        self.delta, self.slope = delta, None

    def forward(self, s, t):
        op = MulticlassHingeLoss(self.delta, self.reduction)
        loss = op.forward(s, np.asarray(t))
        self.slope = op.slope          # d L_i / d s_i: the indicator table of the notes
        return loss

    def backward(self, dout=1.0):
        self.check_forward_done()
        return _scaled(self.slope, dout, self.reduction, self.slope.shape[0])

    def reference(self, s, t):
        t = np.asarray(t.data if isinstance(t, Tensor) else t).astype(np.int64)
        rows = np.arange(len(t))
        correct = s[rows, t].reshape(-1, 1)
        margins = F["relu"](s - correct + self.delta)   # relu'(0) = 0, as the op
        others = np.ones(s.shape, dtype=bool)
        others[rows, t] = False
        return reduce_losses((margins * others).sum(axis=1), self.reduction)

    def __repr__(self):
        return f"SVMLoss(delta={self.delta}, reduction={self.reduction!r})"
