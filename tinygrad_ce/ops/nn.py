"""Softmax and the losses on logits, each computed the stable way (max shift, log-sigmoid)."""

import numpy as np

from .base import Op, data_of, dual
from .elementwise import Sigmoid

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op, reduction):
    """``reduction`` if it is one of "mean", "sum", "none"; else a clear error."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def log_softmax_array(x, axis):
    """log(softmax(x)) = x - max - log(sum(exp(x - max))): no overflow, no log(0)."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_array(x, axis):
    """softmax(x) = exp(x - max) / sum(exp(x - max)): the shift keeps exp finite."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_and_log(x, axis):
    """(softmax(x), log softmax(x)) in one pass, both from the max-shifted x."""
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=axis, keepdims=True)
    return e / s, z - np.log(s)


def softmax_and_label_loss(x, labels):
    """(softmax(x), per-row loss log(sum(exp(z))) - z[label]) with z = x - max, for x (N, K):
    the log-softmax is needed only at the labels, so only those entries are formed."""
    z = x - x.max(axis=1, keepdims=True)
    z_t = z[np.arange(len(labels)), labels]
    e = np.exp(z, out=z)     # z is ours: exponentiate it in place
    s = e.sum(axis=1)
    e /= s[:, None]
    return e, np.log(s) - z_t


class Softmax(Op):
    """y = exp(x) / sum(exp(x), axis);  gx = y * (gy - sum(gy * y, axis))"""
    saves_inputs, saves_output = False, True
    name = "softmax"

    @classmethod
    def cases(cls, draw, t):
        """An array of at least one dimension and an axis."""
        shape = draw(t.shapes(min_dims=1))
        axis = draw(t.st.integers(-len(shape), len(shape) - 1))
        return {"axis": axis}, [t.op_elements(cls, draw, shape)]

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        return softmax_array(x, self.axis)

    def backward(self, gy, x, y):
        return (y * (gy - np.sum(gy * y, axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    """y = x - logsumexp(x, axis);  gx = gy - softmax(x) * sum(gy, axis), softmax(x) = exp(y)"""
    saves_inputs, saves_output = False, True
    name, cases = "log_softmax", Softmax.cases

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        return log_softmax_array(x, self.axis)

    def backward(self, gy, x, y):
        return (gy - np.exp(y) * np.sum(gy, axis=self.axis, keepdims=True),)


def check_target(op, x, t):
    """Validate a target for logits x of shape (N, K): integer labels of shape (N,) in [0, K)
    (whole-number floats accepted; returned as int64), or a table of shape (N, K) whose rows are
    probability distributions (returned as it is). Anything else is a clear error."""
    n, k = x.shape
    if t.ndim == 1:
        if t.shape[0] != n:
            raise ValueError(f"{op}: {t.shape[0]} labels for a batch of {n} rows of logits "
                             f"{x.shape}; pass one label per row")
        if t.dtype.kind == "f":
            if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                raise ValueError(f"{op}: labels must be whole numbers, "
                                 f"got {t[t != np.round(t)][:3]}")
        elif t.dtype.kind not in "iub":
            raise TypeError(f"{op}: labels must be integers, got dtype {t.dtype}")
        labels = t.astype(np.int64, copy=False)
        if n and (labels.min() < 0 or labels.max() >= k):
            bad = (labels < 0) | (labels >= k)
            raise ValueError(f"{op}: labels must be in [0, {k}) for {k} classes, got "
                             f"{labels[bad][:5].tolist()} at rows "
                             f"{np.flatnonzero(bad)[:5].tolist()}")
        return labels
    if t.shape != x.shape:
        raise ValueError(f"{op}: target of shape {t.shape} does not fit logits of shape {x.shape}; "
                         f"pass labels of shape ({n},) or probability rows of shape ({n}, {k})")
    tol = 1e-6 if t.dtype == np.float64 else 1e-3
    if np.any(t < 0) or not np.allclose(t.sum(axis=1), 1, atol=tol, rtol=0):
        raise ValueError(f"{op}: each target row must be a probability distribution "
                         "(non-negative, summing to 1); normalise it or pass integer labels")
    return t


def check_binary_target(op, z, t):
    """A target for logistic losses: the shape of the logits z, values in [0, 1]."""
    if t.shape != z.shape:
        raise ValueError(f"{op}: target of shape {t.shape} does not match logits of shape "
                         f"{z.shape}; pass one target in [0, 1] per logit")
    inside = (t >= 0) & (t <= 1)   # False for nan, so a nan target is refused too
    if not inside.all():
        raise ValueError(f"{op}: targets must lie in [0, 1], got {t[~inside][:3].tolist()}")


def one_hot(labels, k, dtype=np.float64):
    """Rows of the identity: label i becomes e_i, a table of shape (len(labels), k). The one
    one-hot helper of the package (losses, datasets, the command line)."""
    labels = np.asarray(labels)
    table = np.zeros((labels.size, k), dtype=dtype)
    table[np.arange(labels.size), labels.reshape(-1)] = 1
    return table.reshape(labels.shape + (k,))


def target_table(op, x, t):
    """The checked target as a probability table of x's shape: labels become one-hot rows."""
    t = check_target(op, x, t)
    return t if t.ndim == 2 else one_hot(t, x.shape[1], x.dtype)


def minus_target(y, t):
    """y - t, for t given as labels (subtract 1 at each row's label) or as a table."""
    if t.ndim == 2:
        return y - t
    g = y.copy()
    g[np.arange(len(t)), t] -= 1
    return g


def picked(log_y, t):
    """Per row: sum_k t_k log_y_k, for t given as labels or as a table."""
    if t.ndim == 2:
        return (t * log_y).sum(axis=1)
    return log_y[np.arange(len(t)), t]


class CrossEntropy(Op):
    """loss = -sum(t * log_softmax(x), axis 1), reduced;  gx = (softmax(x) - t) * gy / N for "mean"

    x: logits (N, K); t: labels (N,) or probability rows (N, K), which get no gradient.
    """
    saves_inputs, saves_output = True, False
    name, arity, nondiff, argnames = "cross_entropy", 2, (1,), ("logits", "target")

    @classmethod
    def cases(cls, draw, t):
        """Logits with labels or with probability rows, and a reduction."""
        x, labels = draw(t.logits_and_labels())
        target = labels if draw(t.st.booleans()) else draw(t.probability_rows(*x.shape))
        return {"reduction": draw(t.st.sampled_from(REDUCTIONS))}, [x, target]

    def __init__(self, reduction="mean"):
        self.reduction = check_reduction(self.name, reduction)

    def forward(self, x, t):
        if x.ndim != 2:
            raise ValueError(f"cross_entropy: logits must have shape (N, K), got {x.shape}; "
                             "for one sample use x.reshape(1, -1)")
        self._t = check_target(self.name, x, t)   # labels (N,) or probability rows (N, K)
        losses = -picked(log_softmax_array(x, 1), self._t)
        return reduce_losses(losses, self.reduction)

    def backward(self, gy, x, t, y):
        p = dual(Softmax(axis=1), x)
        table = self._t if self._t.ndim == 2 else one_hot(self._t, p.shape[1], data_of(p).dtype)
        return _scale(p - table, gy, self.reduction, x.shape[0], per_row=True), None


class BinaryCrossEntropyWithLogits(Op):
    """loss = max(z, 0) - z * t + log(1 + exp(-|z|)), reduced;  gz = (sigmoid(z) - t) * gy / n

    n = z.size for "mean", as PyTorch; t (same shape as z, values in [0, 1]) gets no gradient.
    """
    saves_inputs, saves_output = True, False
    name, arity, argnames, nondiff = "binary_cross_entropy_with_logits", 2, ("z", "target"), (1,)

    @classmethod
    def cases(cls, draw, t):
        """Logits in [-4, 4], targets in [0, 1] of the same shape, and a reduction."""
        z = draw(t.arrays(draw(t.shapes()), lo=-4, hi=4))
        target = draw(t.hnp.arrays(np.float64, z.shape,
                                   elements=t.st.floats(0, 1, allow_subnormal=False)))
        return {"reduction": draw(t.st.sampled_from(REDUCTIONS))}, [z, target]

    def __init__(self, reduction="mean"):
        self.reduction = check_reduction(self.name, reduction)

    def forward(self, z, t):
        check_binary_target(self.name, z, t)
        losses = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        return reduce_losses(losses, self.reduction)

    def backward(self, gz, z, t, y):
        g = dual(Sigmoid(), z) - data_of(t)
        return _scale(g, gz, self.reduction, data_of(z).size, per_row=False), None


def reduce_losses(losses, reduction):
    """Per-row (or per-element) losses reduced as asked; works on arrays and Tensors."""
    if reduction == "mean":
        return losses.sum() / losses.size
    return np.sum(losses) if reduction == "sum" else losses


def _scale(g, gy, reduction, n, per_row):
    """g times the upstream gradient of the reduced loss."""
    if reduction == "mean":
        return g * (gy / n)
    if reduction == "sum":
        return g * gy
    return g * (gy[:, None] if per_row else gy)
