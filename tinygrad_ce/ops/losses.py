"""More losses: mean squared error, the multiclass hinge (SVM) loss, negative log-likelihood
and the KL divergence. Reductions follow PyTorch: "mean" (over the batch for the losses on
labels, over all elements for mse_loss and kl_div), "sum", "none", and kl_div's "batchmean"."""

import numpy as np

from .base import Op, data_of
from .nn import check_reduction, check_target


def _reduce(losses, reduction, n):
    """Sum of the losses divided by n ("mean", "batchmean"), the sum, or the losses as they are."""
    if reduction == "none":
        return losses
    total = np.sum(losses)
    return total / n if reduction != "sum" else total


def _spread(gy, reduction, n, shape):
    """The upstream gradient of the reduced loss, as a factor of the per-element gradient."""
    if reduction == "none":
        return gy.reshape(shape)
    return gy / n if reduction != "sum" else gy


def _labels(op, s, t):
    if s.ndim != 2:
        raise ValueError(f"{op}: scores must have shape (N, K), got {s.shape}; for one sample "
                         "use s.reshape(1, -1)")
    t = check_target(op, s, t)
    if t.ndim != 1:
        raise ValueError(f"{op}: the target must be integer labels of shape ({s.shape[0]},), "
                         f"got shape {t.shape}")
    return t


class MSELoss(Op):
    """loss = (y - t)^2, reduced (mean over all elements by default);
    gy_ = 2 (y - t) g / n,  gt = -2 (y - t) g / n  (n = y.size for "mean", else 1)"""
    saves_inputs, saves_output = True, False
    name, arity, argnames = "mse_loss", 2, ("y", "target")

    @classmethod
    def cases(cls, draw, t):
        """Prediction and target of one shape, and a reduction."""
        shape = draw(t.shapes())
        y, target = t.op_elements(cls, draw, shape), t.op_elements(cls, draw, shape)
        return {"reduction": draw(t.st.sampled_from(["mean", "sum", "none"]))}, [y, target]

    def __init__(self, reduction="mean"):
        self.reduction = check_reduction(self.name, reduction)

    def forward(self, y, t):
        if y.shape != t.shape:
            raise ValueError(f"mse_loss: prediction of shape {y.shape} and target of shape "
                             f"{t.shape} differ; reshape one (e.g. t.reshape({y.shape}))")
        return _reduce((y - t) ** 2, self.reduction, y.size)

    def backward(self, g, y, t, out):
        gy = 2 * (y - t) * _spread(g, self.reduction, data_of(y).size, data_of(y).shape)
        return gy, -gy


class MulticlassHingeLoss(Op):
    """L_i = sum_{j != t_i} max(0, s_ij - s_i,t_i + delta), averaged over the batch ("mean");
    gs_ij = [margin_ij > 0] for j != t_i,  gs_i,t_i = -(number of positive margins in row i),
    times g / N.

    The multiclass SVM loss of the linear-classifier notes (Weston-Watkins form). PyTorch's
    ``MultiMarginLoss`` also divides each row by the number of classes K:
    multiclass_hinge_loss(s, t) = K * torch.nn.functional.multi_margin_loss(s, t).
    At a margin of exactly 0 the gradient is 0 (the hinge's subgradient PyTorch uses).
    """
    saves_inputs, saves_output = False, False
    name, arity, nondiff = "multiclass_hinge_loss", 2, (1,)
    argnames = ("scores", "target")

    @classmethod
    def cases(cls, draw, t):
        """Scores whose margins stay 0.1 off the hinge, labels, delta and a reduction."""
        s, labels = draw(t.hinge_scores())
        return {"delta": draw(t.st.sampled_from([1.0, 0.5, 2.0])),
                "reduction": draw(t.st.sampled_from(["mean", "sum", "none"]))}, [s, labels]

    def __init__(self, delta=1.0, reduction="mean"):
        self.delta, self.reduction = delta, check_reduction(self.name, reduction)

    def forward(self, s, t):
        t = _labels(self.name, s, t)
        rows = np.arange(len(t))
        margins = np.maximum(0, s - s[rows, t][:, None] + self.delta)
        margins[rows, t] = 0
        positive = (margins > 0).astype(s.dtype)
        positive[rows, t] = 0 - positive.sum(axis=1)   # 0 - 0 is 0, never -0
        self.slope = positive    # d L_i / d s_i: constant between kinks
        return _reduce(margins.sum(axis=1), self.reduction, s.shape[0])

    def backward(self, g, s, t, y):
        n = self.slope.shape[0]
        return self.slope * _spread(g, self.reduction, n, (n, 1)), None


class NLLLoss(Op):
    """L_i = -log_probs[i, t_i], reduced (mean over the batch);  g_log_probs = -onehot(t) g / N

    ``log_probs`` (N, K) are usually ``tg.log_softmax(x)``: nll_loss(log_softmax(x), t) equals
    cross_entropy(x, t), as in PyTorch.
    """
    saves_inputs, saves_output = False, False
    name, arity, nondiff = "nll_loss", 2, (1,)
    argnames = ("log_probs", "target")

    @classmethod
    def cases(cls, draw, t):
        """Log-probabilities (any reals: the loss is linear in them), labels, a reduction."""
        x, labels = draw(t.logits_and_labels())
        return {"reduction": draw(t.st.sampled_from(["mean", "sum", "none"]))}, [x, labels]

    def __init__(self, reduction="mean"):
        self.reduction = check_reduction(self.name, reduction)

    def forward(self, log_p, t):
        t = _labels(self.name, log_p, t)
        self.table = np.eye(log_p.shape[1], dtype=log_p.dtype)[t]   # one-hot rows
        return _reduce(-log_p[np.arange(len(t)), t], self.reduction, log_p.shape[0])

    def backward(self, g, log_p, t, y):
        n = self.table.shape[0]
        return -self.table * _spread(g, self.reduction, n, (n, 1)), None


class KLDiv(Op):
    """loss = sum(p (log p - log_q)) with 0 log 0 = 0, divided by N = log_q.shape[0]
    ("batchmean", the true KL divergence per sample), or "sum", "mean" (over all elements, as
    PyTorch), "none";  g_log_q = -p g,  g_p = (log p + 1 - log_q) g, taken as 0 where p = 0
    (the one-sided derivative there is -inf; PyTorch gives nan).

    PyTorch's order and meaning: the first argument is the model's log-probabilities log q,
    the second the target probabilities p; kl_div(log_q, p) = KL(p || q).
    """
    saves_inputs, saves_output = True, False
    name, arity, argnames = "kl_div", 2, ("log_q", "p")
    REDUCTIONS = ("batchmean", "sum", "mean", "none")

    @classmethod
    def cases(cls, draw, t):
        """log q any reals, p strictly positive probability rows, and a reduction."""
        p = draw(t.probability_rows())
        return {"reduction": draw(t.st.sampled_from(cls.REDUCTIONS))}, [draw(t.arrays(p.shape)), p]

    def __init__(self, reduction="batchmean"):
        if reduction not in self.REDUCTIONS:
            raise ValueError(f"kl_div: reduction must be one of {self.REDUCTIONS}, got "
                             f"{reduction!r}")
        self.reduction = reduction

    def _n(self, log_q):
        shape = data_of(log_q).shape
        if self.reduction == "batchmean":
            return shape[0] if shape else 1
        return int(np.prod(shape))

    def forward(self, log_q, p):
        if log_q.shape != p.shape:
            raise ValueError(f"kl_div: log_q of shape {log_q.shape} and p of shape {p.shape} "
                             "differ; both are distributions over the same classes")
        if p.size and p.min() < 0:
            raise ValueError(f"kl_div: p must be probabilities (>= 0), got {p.min()}")
        self.support = p > 0
        log_p = np.log(np.where(self.support, p, 1))    # log 1 = 0 where p = 0: 0 log 0 = 0
        return _reduce(p * log_p - p * log_q, self.reduction, self._n(log_q))

    def backward(self, g, log_q, p, y):
        g = _spread(g, self.reduction, self._n(log_q), data_of(log_q).shape)
        log_p = np.log(np.where(self.support, p, 1))
        return -p * g, (log_p + 1 - log_q) * self.support * g
