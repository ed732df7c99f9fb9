"""``tg.grad``: gradients of outputs with respect to chosen inputs, leaving ``.grad`` alone."""

import numpy as np

from . import autograd
from .tensor import Tensor, seed_gradient


def grad(outputs, inputs, grad_outputs=None, *, retain_graph=None, create_graph=False):
    """Return a tuple with d(sum of outputs * grad_outputs)/d(input) for each input.

    Like ``torch.autograd.grad``; ``.grad`` attributes are not touched. An input the outputs do
    not depend on gets zeros (PyTorch's ``materialize_grads=True``). ``retain_graph`` defaults
    to ``create_graph``; with ``create_graph=True`` the results have history.
    """
    if autograd.STATE.recorder is not None:
        autograd.STATE.recorder.refuse("tg.grad is not replayed (backward() is)")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray, np.generic,
                                                         int, float)):
        grad_outputs = [grad_outputs] * len(outputs)
    for x in inputs:
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError("grad: every input must be a Tensor that requires grad")
    seeds = [seed_gradient(y, g, "grad") for y, g in zip(outputs, grad_outputs)]
    capture = dict.fromkeys(inputs)
    retain = create_graph if retain_graph is None else retain_graph
    autograd.run_backward(outputs, seeds, retain_graph=retain, create_graph=create_graph,
                          capture=capture)
    result = []
    for x in inputs:
        g = capture[x]
        if g is None:
            g = np.zeros(x.shape, dtype=x.dtype)
        result.append(g if isinstance(g, Tensor) else Tensor._make(np.array(g)))
    return tuple(result)
