"""Newton's method with the Hessian from second-order autograd."""

import numpy as np

from ..autograd import replayable
from ..grad import grad
from ..tensor import Tensor
from .base import Optimizer, assign_flat, flat, positive


class Newton(Optimizer):
    """p -= (H + damping I)^-1 g, with g and H of the loss the closure returns.

    ``step(closure)``: the closure clears the gradients, recomputes the loss and returns it
    (it may call ``loss.backward(create_graph=True)``; a plain ``backward()`` would release the
    graph the Hessian needs). The gradient is taken with ``create_graph=True`` and the Hessian
    by differentiating it again: in full (one backward per column) for up to ``max_full``
    parameters, else by conjugate gradients on Hessian-vector products. When H + damping I is
    not positive definite, the damping is raised until it is (Levenberg's rule).

    With ``line_search=True`` (the default) the full step is tried first and halved until the
    loss decreases by at least 1e-4 of what the gradient promises (Armijo): far from the
    minimum a pure Newton step can overshoot (softmax regression is not self-concordant), near
    it the full step is taken and convergence is quadratic. Returns the loss before the step.
    """

    def __init__(self, params, damping=0.0, *, line_search=True, max_full=2000, cg_iters=100):
        super().__init__(params)
        self.damping = positive("Newton: damping", damping, allow_zero=True)
        self.line_search = bool(line_search)
        self.max_full, self.cg_iters = int(max_full), int(cg_iters)

    @replayable
    def step(self, closure):
        loss, d, g = self._newton_direction(closure)
        self._release_grads()
        x0, f0, t = flat([p.data for p in self.params]), float(loss.data), 1.0
        for _ in range(40 if self.line_search else 1):
            assign_flat(self.params, x0 + t * d)
            if not self.line_search or self._value(closure) <= f0 + 1e-4 * t * (g @ d):
                break
            t /= 2
        self.last_step_size = t
        self.steps += 1
        return loss

    def _release_grads(self):
        for p in self.params:  # a .grad with history holds the graph, and so locks p
            if p.grad is not None and p.grad.requires_grad:
                p.grad = p.grad.detach()

    def _value(self, closure):
        value = float(closure().data)
        self._release_grads()
        return value

    def _newton_direction(self, closure):
        """(loss without history, -(H + damping I)^-1 g, g); the graph dies on return."""
        loss = closure()
        if not isinstance(loss, Tensor) or not loss.requires_grad:
            raise TypeError("Newton: the closure must return a loss Tensor that depends on the "
                            "parameters")
        try:
            gs = grad(loss, self.params, create_graph=True)
        except RuntimeError as e:
            raise RuntimeError("Newton: the loss's graph was released, so there is nothing to "
                               "differentiate twice; in the closure call "
                               "loss.backward(create_graph=True), or no backward at all") from e
        g_flat = flat([g.data for g in gs])
        self.last_grad_norm = float(np.linalg.norm(g_flat))
        hvp = self._hvp(gs)
        if g_flat.size <= self.max_full:
            H = np.stack([hvp(e) for e in np.eye(g_flat.size)], axis=1)
            d = solve_damped(0.5 * (H + H.T), -g_flat, self.damping)
        else:
            d = conjugate_gradient(lambda v: hvp(v) + self.damping * v, -g_flat, self.cg_iters)
        return loss.detach(), d, g_flat

    def _hvp(self, gs):
        """v -> H v, by differentiating <g, v> once more."""
        def product(v):
            start, total = 0, None
            for g in gs:
                part = (g * v[start:start + g.size].reshape(g.shape)).sum()
                total = part if total is None else total + part
                start += g.size
            if not total.requires_grad:  # the gradient does not depend on the parameters
                return np.zeros_like(v)
            return flat([h.data for h in grad(total, self.params, retain_graph=True)])
        return product


def solve_damped(H, b, damping):
    """Solve (H + damping I) x = b, raising the damping until the matrix is positive definite."""
    eye = np.eye(len(b))
    lam = damping
    for _ in range(60):
        try:
            L = np.linalg.cholesky(H + lam * eye)
            return np.linalg.solve(L.T, np.linalg.solve(L, b))
        except np.linalg.LinAlgError:
            lam = max(1e-8, 10 * lam)
    raise np.linalg.LinAlgError("Newton: the Hessian could not be made positive definite")


def conjugate_gradient(apply_A, b, iters, tol=1e-10):
    """Solve A x = b for symmetric positive definite A, given only x -> A x."""
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), r @ r
    for _ in range(iters):
        if np.sqrt(rr) < tol:
            break
        Ap = apply_A(p)
        curvature = p @ Ap
        if curvature <= 0:  # not positive definite along p: stop with what we have
            return x if x.any() else b
        a = rr / curvature
        x, r = x + a * p, r - a * Ap
        rr, rr_old = r @ r, rr
        p = r + (rr / rr_old) * p
    return x
