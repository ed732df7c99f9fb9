"""What every optimizer shares: its parameters, validation, zero_grad and the in-place update."""

import numpy as np

from ..autograd import replayable
from ..ops.base import is_locked
from ..tensor import Tensor


def positive(name, value, allow_zero=False):
    """Validate a hyperparameter: a finite number > 0 (or >= 0)."""
    ok = isinstance(value, (int, float)) and np.isfinite(value) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: ``params`` is an iterable of Tensors that require grad."""

    def __init__(self, params):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        seen = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors with "
                                "requires_grad=True (e.g. model.params())")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {i} ({p.name or 'unnamed'}, "
                                 f"shape {p.shape}) is given twice, so it would be stepped twice; "
                                 "pass each parameter once (model.params() does)")
            seen.add(id(p))
        self.state = [{} for _ in self.params]
        self.steps = 0

    @replayable
    def zero_grad(self):
        """Forget the gradients of every parameter."""
        for p in self.params:
            p.grad = None

    def grads(self):
        """(parameter, state, gradient array) for each parameter that has a gradient."""
        for p, s in zip(self.params, self.state):
            if p.grad is not None:
                yield p, s, p.grad.data

    @staticmethod
    def update(p, delta):
        """p += delta, in place (the array other code may hold stays the same object)."""
        data = p.data
        if is_locked(data):
            raise ValueError(f"optimizer step: parameter {p.name or ''} of shape {p.shape} is "
                             "still saved on a live tape (backward with retain_graph=True?); "
                             "finish with that graph before stepping")
        data += delta    # on the array itself: no p.data = ... (its checks are for users)

    @staticmethod
    def scratch(state, like):
        """A buffer of ``like``'s shape and dtype kept in a parameter's ``state``, so a step
        computes its update without allocating (and faulting in) a new array every time."""
        buf = state.get("scratch")
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = state["scratch"] = np.empty_like(like)
        return buf


def flat(arrays):
    """One float64 vector from a list of arrays."""
    return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])


def assign_flat(params, vector):
    """Write a flat vector back into the parameters' data, in place."""
    start = 0
    for p in params:
        p.data[...] = vector[start:start + p.size].reshape(p.shape)
        start += p.size


def evaluate(closure, params, name):
    """Run the closure; return its loss (a float) and the flat gradient it left in ``.grad``
    (computed here if the closure did not call backward)."""
    loss = closure()
    if not isinstance(loss, Tensor):
        raise TypeError(f"{name}: the closure must return the loss Tensor, got "
                        f"{type(loss).__name__}")
    if all(p.grad is None for p in params):
        loss.backward()
    grads = [p.grad.data if p.grad is not None else np.zeros(p.shape) for p in params]
    return loss, flat(grads)
