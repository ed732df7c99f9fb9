"""L-BFGS with a strong-Wolfe line search (Nocedal & Wright, Numerical Optimization, ch. 3, 7)."""

import numpy as np

from ..autograd import replayable
from .base import Optimizer, assign_flat, evaluate, flat, positive


class LBFGS(Optimizer):
    """Limited-memory BFGS: d = -H g from the last ``history_size`` pairs (s, y) by the
    two-loop recursion, then a step along d.

    ``step(closure)``: the closure clears the gradients, recomputes the loss, calls
    ``loss.backward()`` and returns the loss; it runs up to ``max_iter`` iterations and returns
    the loss at the start, as torch.optim.LBFGS. With ``line_search="strong_wolfe"`` every step
    satisfies the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9): the loss always decreases.
    ``line_search=None`` takes fixed steps of ``lr``.
    """

    def __init__(self, params, lr=1, max_iter=20, history_size=10, line_search="strong_wolfe",
                 tolerance_grad=1e-7, tolerance_change=1e-9):
        super().__init__(params)
        self.lr = positive("LBFGS: lr", lr)
        if int(max_iter) < 1 or int(history_size) < 1:
            raise ValueError("LBFGS: max_iter and history_size must be >= 1")
        if line_search not in ("strong_wolfe", None):
            raise ValueError(f"LBFGS: line_search must be 'strong_wolfe' or None, "
                             f"got {line_search!r}")
        self.max_iter, self.history_size = int(max_iter), int(history_size)
        self.line_search = line_search
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.s, self.y, self.evaluations = [], [], 0

    def _direction(self, g):
        """-H g by the two-loop recursion; H0 = (s.y / y.y) I from the newest pair."""
        q, alphas = -g, []
        for s, y in zip(reversed(self.s), reversed(self.y)):
            a = (s @ q) / (y @ s)
            q = q - a * y
            alphas.append(a)
        if self.s:
            q = q * (self.s[-1] @ self.y[-1]) / (self.y[-1] @ self.y[-1])
        for (s, y), a in zip(zip(self.s, self.y), reversed(alphas)):
            q = q + s * (a - (y @ q) / (y @ s))
        return q

    def _at(self, closure, x0, d):
        def phi(t):
            assign_flat(self.params, x0 + t * d)
            self.evaluations += 1
            loss, g = evaluate(closure, self.params, "LBFGS")
            return float(loss.data), g
        return phi

    @replayable
    def step(self, closure):
        first_loss, g = evaluate(closure, self.params, "LBFGS")
        loss = float(first_loss.data)
        for _ in range(self.max_iter):
            if np.max(np.abs(g)) <= self.tolerance_grad:
                break
            d = self._direction(g)
            gtd = g @ d
            if gtd > -self.tolerance_change:
                break
            t = self.lr * (min(1.0, 1.0 / np.sum(np.abs(g))) if self.steps == 0 else 1.0)
            x0 = flat([p.data for p in self.params])
            phi = self._at(closure, x0, d)
            if self.line_search:
                t, new_loss, new_g = strong_wolfe(phi, t, loss, g @ d, d)
            else:
                new_loss, new_g = phi(t)
            assign_flat(self.params, x0 + t * d)
            s, y = t * d, new_g - g
            if y @ s > 1e-10:
                keep = -self.history_size
                self.s, self.y = (self.s + [s])[keep:], (self.y + [y])[keep:]
            self.steps += 1
            change, loss, g = abs(new_loss - loss), new_loss, new_g
            if np.max(np.abs(s)) <= self.tolerance_change or change < self.tolerance_change:
                break
        return first_loss


def _cubic_min(t1, f1, g1, t2, f2, g2):
    """The minimiser of the cubic through (t1, f1, g1) and (t2, f2, g2), kept inside the
    interval (away from its ends); the midpoint when the cubic has none."""
    lo, hi = min(t1, t2), max(t1, t2)
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    square = d1 * d1 - g1 * g2
    if square >= 0:
        d2 = np.sqrt(square) * np.sign(t2 - t1)
        t = t2 - (t2 - t1) * (g2 + d2 - d1) / (g2 - g1 + 2 * d2)
        margin = 0.1 * (hi - lo)
        if lo + margin <= t <= hi - margin:
            return t
    return (lo + hi) / 2


def strong_wolfe(phi, t, f0, gtd0, d, c1=1e-4, c2=0.9, max_evals=25):
    """A step t with f(t) <= f0 + c1 t f'(0) and |f'(t)| <= c2 |f'(0)| (Nocedal & Wright,
    algorithms 3.5 and 3.6). ``phi(t)`` returns (loss, flat gradient) at x0 + t d."""
    prev = (0.0, f0, gtd0, None)
    for i in range(max_evals):
        f, g = phi(t)
        gtd = g @ d
        if f > f0 + c1 * t * gtd0 or (i > 0 and f >= prev[1]):
            return _zoom(phi, prev, (t, f, gtd, g), f0, gtd0, d, c1, c2)
        if abs(gtd) <= -c2 * gtd0:
            return t, f, g
        if gtd >= 0:
            return _zoom(phi, (t, f, gtd, g), prev, f0, gtd0, d, c1, c2)
        prev, t = (t, f, gtd, g), t * 2
    return t, f, g


def _zoom(phi, lo, hi, f0, gtd0, d, c1, c2, max_evals=25):
    """Shrink [lo, hi], which holds a strong-Wolfe step, keeping lo the best point so far."""
    for _ in range(max_evals):
        t = _cubic_min(lo[0], lo[1], lo[2], hi[0], hi[1], hi[2])
        f, g = phi(t)
        gtd = g @ d
        if f > f0 + c1 * t * gtd0 or f >= lo[1]:
            hi = (t, f, gtd, g)
        else:
            if abs(gtd) <= -c2 * gtd0:
                return t, f, g
            if gtd * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = (t, f, gtd, g)
        if abs(hi[0] - lo[0]) < 1e-12:
            break
    if lo[3] is None:  # never left t = 0: no step decreased the loss
        f, g = phi(0.0)
        return 0.0, f, g
    return lo[0], lo[1], lo[3]
