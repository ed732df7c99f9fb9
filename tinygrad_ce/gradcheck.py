"""Checking gradients against central differences: numerical_gradient, gradcheck, gradgradcheck.

A gradient passes where ``|analytic - numeric| <= atol + rtol * |numeric|`` (as np.allclose);
a nan anywhere fails. The output is checked against a random upstream gradient ``u``, so a
backward that ignores or mishandles its incoming gradient is caught, not just one that is
right for ``u = 1``.
"""

import copy
import warnings

import numpy as np

from .autograd import enable_grad, no_grad, unbroadcast
from .grad import grad
from .table import table
from .tensor import Tensor

#: default (eps, atol, rtol) by dtype; float32 checks are rough, checks belong in float64
TOLERANCES = {np.dtype(np.float64): (1e-6, 1e-5, 1e-3), np.dtype(np.float32): (1e-3, 1e-2, 1e-2)}


def numerical_gradient(f, x, eps=1e-4):
    """Central differences: g[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    ``f`` maps an ndarray to a number; ``x`` is not changed (a float64 copy is perturbed).
    """
    x = np.array(x, dtype=np.float64 if np.asarray(x).dtype.kind != "f" else None)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        orig = x[i]
        x[i] = orig + eps
        fp = float(f(x))
        x[i] = orig - eps
        fm = float(f(x))
        x[i] = orig
        g[i] = (fp - fm) / (2 * eps)
    return g


class InputReport:
    """The check of one input: its worst element with analytic and numeric values."""

    def __init__(self, position, shape, index, analytic, numeric, abs_error, rel_error, passed):
        self.position, self.shape, self.index = position, shape, index
        self.analytic, self.numeric = analytic, numeric
        self.abs_error, self.rel_error, self.passed = abs_error, rel_error, passed


class GradcheckReport:
    """The result of ``gradcheck``: true when every input passed; ``str()`` is a table."""

    def __init__(self, name, inputs, tolerances, fast, suspect=None):
        self.name, self.inputs, self.fast, self.suspect = name, inputs, fast, suspect
        self.eps, self.atol, self.rtol = tolerances
        self.passed = all(r.passed for r in inputs)
        self.max_abs_error = max((r.abs_error for r in inputs), default=0.0)
        self.max_rel_error = max((r.rel_error for r in inputs), default=0.0)

    def __bool__(self):
        return self.passed

    def __str__(self):
        mode = "directional (fast)" if self.fast else "every element"
        head = (f"gradcheck of {self.name}: {'PASSED' if self.passed else 'FAILED'} "
                f"({mode}; eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})")
        rows = [("input", "shape", "worst element", "analytic", "numeric", "abs err", "rel err",
                 "")]
        for r in self.inputs:
            rows.append((str(r.position), str(r.shape), str(r.index), f"{r.analytic:.10g}",
                         f"{r.numeric:.10g}", f"{r.abs_error:.3g}", f"{r.rel_error:.3g}",
                         "ok" if r.passed else "FAIL"))
        lines = [head] + table(rows, indent="  ")
        if self.suspect:
            lines.append(f"  suspect: {self.suspect}")
        return "\n".join(lines)

    __repr__ = __str__


def _compare(position, shape, analytic, numeric, atol, rtol):
    if analytic.size == 0:
        return InputReport(position, shape, "-", 0.0, 0.0, 0.0, 0.0, True)
    err = np.abs(analytic - numeric)
    err = np.where(np.isnan(err), np.inf, err)  # a nan fails, and is the worst element
    allowed = atol + rtol * np.abs(numeric)
    index = np.unravel_index(int(np.argmax(err - allowed)), err.shape)
    rel = err / np.maximum(np.abs(numeric), 1e-12)
    return InputReport(position, shape, tuple(int(i) for i in index) if err.ndim else "-",
                       float(analytic[index]), float(numeric[index]), float(np.max(err)),
                       float(np.max(rel)), bool(np.all(err <= allowed)))


def _tolerances(arrays, eps, atol, rtol):
    """(eps, atol, rtol): those given, the rest by the inputs' dtype (float32 warns)."""
    dtype = np.result_type(*arrays)
    if dtype != np.float64:
        warnings.warn(f"gradcheck: inputs are {dtype}; finite differences need float64 to be "
                      "trustworthy (tolerances loosened)", stacklevel=3)
    d_eps, d_atol, d_rtol = TOLERANCES.get(np.dtype(dtype), TOLERANCES[np.dtype(np.float32)])
    return (d_eps if eps is None else eps, d_atol if atol is None else atol,
            d_rtol if rtol is None else rtol)


class _Problem:
    """fn at fixed inputs, reduced to a number by a fixed random upstream gradient u."""

    def __init__(self, fn, arrays, checked, second_order):
        self.fn, self.arrays, self.checked, self.second_order = fn, arrays, checked, second_order

    def tensors(self, arrays, grad_on):
        return [Tensor(a.copy(), requires_grad=grad_on and i in self.checked)
                for i, a in enumerate(arrays)]

    def analytic(self, rng):
        """(y, gradients of sum(fn(x) * u) by backward, one per checked input)."""
        leaves = self.tensors(self.arrays, True)
        y = self.fn(*leaves)
        if not isinstance(y, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
        self.u = rng.standard_normal(y.shape).astype(y.dtype)
        if not y.requires_grad:
            return y, [np.zeros(self.arrays[i].shape) for i in self.checked]
        wanted = [leaves[i] for i in self.checked]
        return y, [g.data for g in grad(y, wanted, self.u, retain_graph=True)]

    def value(self, arrays):
        """sum(fn(arrays) * u) as a float."""
        if self.second_order:  # the first gradient is taken inside fn: record, on copies
            with enable_grad():
                out = self.fn(*self.tensors(arrays, True))
        else:                  # nothing is recorded, so the arrays can be used as they are
            with no_grad():
                out = self.fn(*[Tensor._make(a) for a in arrays])
        return float(np.vdot(out.data, self.u))

    def with_input(self, i, xi):
        arrays = list(self.arrays)
        arrays[i] = xi
        return self.value(arrays)

    def check(self, i, analytic, tol, fast, rng):
        """The report of input i: every element, or one random direction when ``fast``."""
        x, (eps, atol, rtol) = self.arrays[i], tol
        if not fast:
            numeric = numerical_gradient(lambda xi: self.with_input(i, xi), x, eps)
            return _compare(i, x.shape, analytic, numeric, atol, rtol)
        v = rng.standard_normal(x.shape)
        numeric = (self.with_input(i, x + eps * v) - self.with_input(i, x - eps * v)) / (2 * eps)
        report = _compare(i, x.shape, np.array(np.sum(analytic * v)), np.array(numeric),
                          atol, rtol)
        report.index = "direction"
        return report


def gradcheck(fn, inputs, *, eps=None, atol=None, rtol=None, fast=False, seed=None,
              _second_order=False):
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    ``fn`` maps Tensors to a Tensor of any shape; ``inputs`` are ndarrays or Tensors (a single
    one is fine); every floating input is checked. The analytic side is backward of
    ``sum(fn(*inputs) * u)`` with a random ``u``. ``fast=True`` compares one random directional
    derivative per input instead of every element. ``eps``, ``atol`` and ``rtol`` default by
    dtype (float64: 1e-6, 1e-5, 1e-3); float32 inputs give a warning. Returns a
    ``GradcheckReport``: ``bool(report)``, ``report.max_abs_error``, ``str(report)``.
    """
    arrays = [np.asarray(x.data if isinstance(x, Tensor) else x)
              for x in (inputs if isinstance(inputs, (list, tuple)) else [inputs])]
    checked = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not checked:
        raise ValueError("gradcheck: no floating input to check; pass float64 arrays")
    tol = _tolerances([arrays[i] for i in checked], eps, atol, rtol)
    rng = np.random.default_rng(seed)
    problem = _Problem(fn, arrays, checked, _second_order)
    y, analytic = problem.analytic(rng)
    reports = [problem.check(i, g, tol, fast, rng) for i, g in zip(checked, analytic)]
    report = GradcheckReport(getattr(fn, "__name__", type(fn).__name__), reports, tol, fast)
    if not report and y.requires_grad:
        report.suspect = find_suspect(y, tol, rng)
    return report


def find_suspect(y, tol, rng, max_size=4096):
    """The first tape entry whose own backward disagrees with differences of its forward."""
    for entry in y.tape():
        op, xs = entry.op, [x.data for x in entry.inputs]
        if any(x.size > max_size for x in xs):
            continue
        gy = rng.standard_normal(entry.output.shape)
        grads = op.backward(gy, *xs, entry.output.data)
        for i, (x, g) in enumerate(zip(xs, grads)):
            if g is None or x.dtype.kind != "f" or i in op.nondiff:
                continue
            g = unbroadcast(np.asarray(g), x.shape, op)

            def f(xi, i=i, op=op, xs=xs, dtype=x.dtype, gy=gy):
                trial = copy.copy(op)
                trial.inputs = None
                args = list(xs)
                args[i] = xi.astype(dtype)
                return float(np.sum(trial.forward(*args) * gy))
            numeric = numerical_gradient(f, x, tol[0])
            r = _compare(i, x.shape, g, numeric, tol[1], tol[2])
            if not r.passed:
                return (f"step {entry.step}: {op.name}, input {i}, element {r.index}: backward "
                        f"gives {r.analytic:.10g}, differences of forward give {r.numeric:.10g}")
    return None


def gradgradcheck(fn, inputs, *, eps=None, atol=None, rtol=None, fast=False, seed=None):
    """Check second derivatives: gradcheck of the map inputs -> grad(sum(fn(inputs) * u)).

    The first gradient is taken with ``create_graph=True`` for a fixed random ``u``, so every
    op's backward is itself differentiated. Arguments as ``gradcheck``.
    """
    rng = np.random.default_rng(None if seed is None else seed + 1)
    upstream = {}

    def first_gradient(*xs):
        y = fn(*xs)
        floats = [x for x in xs if x.requires_grad]
        if "u" not in upstream:
            upstream["u"] = rng.standard_normal(y.shape).astype(y.dtype)
        if not y.requires_grad:
            return Tensor(np.zeros(sum(x.size for x in floats)))
        from .functional import FUNCTIONS
        gs = grad(y, floats, upstream["u"], create_graph=True)
        return FUNCTIONS["concatenate"]([g.reshape(-1) for g in gs])

    first_gradient.__name__ = f"grad of {getattr(fn, '__name__', 'fn')}"
    return gradcheck(first_gradient, inputs, eps=eps, atol=atol, rtol=rtol, fast=fast,
                     seed=seed, _second_order=True)
