"""Checking gradients against central differences: numerical_gradient, gradcheck, gradgradcheck.

The output of ``fn`` is checked against a random upstream gradient ``u`` (a backward that
ignores or mishandles its incoming gradient is caught, not just one that is right for
``u = 1``). With tolerances left unset, each element's tolerance comes from an estimate of the
finite-difference error itself (see ``tinygrad_ce.differences``): in float64 a backward wrong
by a relative 1e-4 fails on smooth functions, while correct code passes. Elements where the
function has a kink are reported apart, never as mismatches.
"""

import contextlib
import copy
import warnings

import numpy as np

from .autograd import enable_grad, no_grad, unbroadcast
from .differences import analytic_rounding, batched_if_possible, check_inputs, generator
from .grad import grad
from .ops.base import is_locked
from .report import CheckReport, InputReport
from .tensor import Tensor


class Float32Warning(UserWarning):
    """A gradient check in float32: finite differences are rough there; checks belong in float64."""


_QUIET = []   # set while one check run (gradgradcheck, a property test) has warned already


@contextlib.contextmanager
def one_float32_warning(where, state=None):
    """Inside, float32 checks warn once in all (not once per check); pass the same ``state``
    dict to several blocks to warn once over all of them (a property test's examples)."""
    state = {"where": where, "warned": False} if state is None else state
    _QUIET.append(state)
    try:
        yield
    finally:
        _QUIET.remove(state)


def warn_float32(where, dtype, stacklevel=3):
    """The float32 warning, once per check run."""
    state = _QUIET[-1] if _QUIET else None
    if state is not None:
        if state["warned"]:
            return
        state["warned"], where = True, state["where"]
    warnings.warn(f"{where}: inputs are {dtype}; finite differences need float64 to be "
                  "trustworthy (tolerances are estimated for float32, so only large errors "
                  "show)", Float32Warning, stacklevel=stacklevel)


def numerical_gradient(f, x, eps=1e-4):
    """Central differences: g[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    As "Deep Learning from Scratch" does, ``x`` is perturbed in place, one element at a time,
    and restored (also if ``f`` raises); ``f`` gets ``x`` itself (a Tensor's data array). So
    ``numerical_gradient(lambda _: net.loss(x, t), W)``, where ``f`` ignores its argument and
    reads ``W``, gives the gradient with respect to ``W``. A Tensor saved on a live tape is an
    error (it cannot be written). An integer or read-only array has to be copied: if ``f`` then
    never changes (it reads the original, not its argument), a warning says so, rather than
    silent zeros.
    """
    work, copied = _writable_target(x)
    g = np.zeros(work.shape, dtype=work.dtype)
    moved = False
    for i in np.ndindex(work.shape):
        orig = work[i]
        try:
            work[i] = orig + eps
            fp = float(f(work))
            work[i] = orig - eps
            fm = float(f(work))
        finally:
            work[i] = orig
        g[i] = (fp - fm) / (2 * eps)
        moved = moved or fp != fm
    if copied and work.size and not moved:
        warnings.warn("numerical_gradient: x is read-only or not floating, so a copy of it was "
                      "perturbed, and f never changed: if f reads x itself rather than its "
                      "argument (as lambda _: net.loss(x, t) reads net.W), the differences are "
                      "not its gradient. Pass a writable float array, or let f use its argument.",
                      RuntimeWarning, stacklevel=2)
    return g


def _writable_target(x):
    """(the array to perturb in place, whether it is a copy): x or a Tensor's data if they are
    writable float arrays, else a float64 copy."""
    if isinstance(x, Tensor):
        if is_locked(x.data):
            raise ValueError("numerical_gradient: this Tensor's data is saved on a live tape, so "
                             "it cannot be perturbed in place; call backward() first, or build "
                             "the graph under tg.no_grad()")
        x = x.data
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.flags.writeable:
        return x, False
    arr = np.asarray(x)
    return np.array(arr, dtype=arr.dtype if arr.dtype.kind == "f" else np.float64), True


class _Problem:
    """fn at fixed inputs, reduced to a number by a fixed random upstream gradient u."""

    def __init__(self, fn, arrays, checked, second_order):
        self.fn, self.arrays, self.checked, self.second_order = fn, arrays, checked, second_order

    def tensors(self, arrays, grad_on):
        return [Tensor(a.copy(), requires_grad=grad_on and i in self.checked)
                for i, a in enumerate(arrays)]

    def analytic(self, rng, contract=True):
        """(y, gradients of sum(fn(x) * u) by backward per checked input, problems found;
        with ``contract``, those of each tape entry's backward too)."""
        leaves = self.tensors(self.arrays, True)
        y = self.fn(*leaves)
        if not isinstance(y, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
        self.u = rng.standard_normal(y.shape).astype(y.dtype)
        self.u64 = self.u.astype(np.float64).reshape(-1)
        self.y_shape = y.shape
        self.scale = float(np.sum(np.abs(y.data.astype(np.float64).reshape(-1) * self.u64)))
        self.rounding = None
        if not y.requires_grad:
            return y, [np.zeros(self.arrays[i].shape) for i in self.checked], []
        wanted = [leaves[i] for i in self.checked]
        grads = [g.data for g in grad(y, wanted, self.u, retain_graph=True)]
        self.rounding = [analytic_rounding(0.0, a, self.u) for a in grads]
        if contract:   # the analytic side's rounding, measured: backward is linear in u
            v = rng.standard_normal(y.shape).astype(y.dtype)
            gv = grad(y, wanted, v, retain_graph=True)
            guv = grad(y, wanted, self.u + v, retain_graph=True)
            self.rounding = [analytic_rounding(float(np.max(np.abs(c.data - a - b.data),
                                                            initial=0.0)), a, self.u)
                             for a, b, c in zip(grads, gv, guv)]
        problems = [f"input {i} mutated by fn or its backward"
                    for i, leaf in zip(self.checked, wanted)
                    if not np.array_equal(leaf.data, self.arrays[i], equal_nan=True)]
        return y, grads, problems + (tape_contract(y, rng) if contract else [])

    def value(self, arrays):
        """sum(fn(arrays) * u) as a float."""
        if self.second_order:  # the first gradient is taken inside fn: record, on copies
            with enable_grad():
                out = self.fn(*self.tensors(arrays, True))
        else:                  # nothing is recorded, so the arrays can be used as they are
            with no_grad():
                out = self.fn(*[Tensor._make(a) for a in arrays])
        return float(np.dot(out.data.reshape(-1).astype(np.float64), self.u64))

    def batch(self, i, noise):
        """An evaluator of input i with a leading batch axis, if fn handles one."""
        if self.second_order:
            return None
        return batched_if_possible(self._batched, self.value, self.arrays, i, noise, self.scale)

    def _batched(self, i, stack, arrays):
        with no_grad():
            out = self.fn(*[Tensor._make(stack if k == i else a) for k, a in enumerate(arrays)])
        data = out.data
        if data.shape != (len(stack), *self.y_shape):
            raise ValueError("not batched")
        return data.reshape(len(stack), -1).astype(np.float64) @ self.u64


def tape_contract(y, rng, max_size=1 << 16):
    """Problems with the tape entries' own backward: it must write neither into the gradient
    it receives nor into its inputs (run once more on copies, with a random gradient)."""
    problems = []
    for entry in y.tape():
        op, xs = entry.op, [x.data for x in entry.inputs]
        if getattr(op, "released", False) or entry.output.size > max_size:
            continue
        gy = rng.standard_normal(entry.output.shape).astype(entry.output.dtype)
        gy_given, xs_given = gy.copy(), [x.copy() for x in xs]
        op.backward(gy_given, *xs_given, entry.output.data)
        if not np.array_equal(gy_given, gy, equal_nan=True):
            problems.append(f"step {entry.step}: {op.name}'s backward mutated the gradient it "
                            "received (gy)")
        for k, (x, given) in enumerate(zip(xs, xs_given)):
            if not np.array_equal(x, given, equal_nan=True):
                problems.append(f"step {entry.step}: {op.name}'s backward mutated its input {k}")
    return problems


def _arrays(inputs):
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return [np.asarray(x.data if isinstance(x, Tensor) else x) for x in inputs]


def gradcheck(fn, inputs, *, eps=None, atol=None, rtol=None, fast=False, seed=None,
              _second_order=False):
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    ``fn`` maps Tensors to a Tensor of any shape; ``inputs`` are ndarrays or Tensors (a single
    one is fine); every floating input is checked. The analytic side is backward of
    ``sum(fn(*inputs) * u)`` with a random ``u``; ``fast=True`` compares one random directional
    derivative per input instead of every element (and skips the tape entries' contract and the
    measurement of the analytic side's rounding).

    Tolerances: left at None, each element's is estimated from the finite-difference error
    (``tinygrad_ce.differences``): roughly ``64 sigma / h``, sigma the measured noise of f and
    ``h = eps^(1/3)``, plus the truncation error where a second step size shows one. Given,
    they are used exactly: ``|analytic - numeric| <= atol + rtol * |numeric|`` (an unset one
    counts 0); ``eps`` fixes the step. Kinks (one-sided derivatives differ) are listed in
    ``report.kinks``, never counted as errors. Also checked: no tape entry's backward writes
    into its incoming gradient or its inputs. float32 inputs warn once. Returns a
    ``CheckReport``: ``bool(report)``, ``max_abs_error``, ``resolution``, ``str(report)``.
    """
    arrays = _arrays(inputs)
    checked = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not checked:
        raise ValueError("gradcheck: no floating input to check; pass float64 arrays")
    dtype = np.result_type(*[arrays[i] for i in checked])
    if dtype != np.float64:
        warn_float32("gradcheck", dtype)
    rng = generator(seed)
    problem = _Problem(fn, arrays, checked, _second_order)
    y, analytic, problems = problem.analytic(rng, contract=not fast)
    found, noise = check_inputs(problem.value, arrays, checked, analytic, problem.scale, rng,
                                eps=eps, atol=atol, rtol=rtol, fast=fast, batch=problem.batch,
                                analytic_noise=problem.rounding)
    reports = [InputReport(i, arrays[i].shape, a, diff, fast=fast)
               for i, (diff, a) in zip(checked, found)]
    given = {"eps": eps, "atol": atol, "rtol": rtol} if atol is not None or rtol is not None \
        else None
    name = getattr(fn, "__name__", type(fn).__name__)
    report = CheckReport(f"gradcheck of {name}", reports, fast=fast, given=given, noise=noise,
                         problems=problems)
    if not all(r.passed for r in reports) and y.requires_grad:
        report.suspect = find_suspect(y, rng, eps=eps, atol=atol, rtol=rtol)
    return report


def find_suspect(y, rng, max_size=4096, **tolerances):
    """The first tape entry whose own backward disagrees with differences of its forward
    (kinks are never blamed: an op is differentiable except at them)."""
    for entry in y.tape():
        op, xs = entry.op, [x.data for x in entry.inputs]
        if getattr(op, "released", False) or any(x.size > max_size for x in xs):
            continue
        gy = rng.standard_normal(entry.output.shape)
        grads = op.backward(gy.astype(entry.output.dtype), *xs, entry.output.data)
        checked = [i for i, (x, g) in enumerate(zip(xs, grads))
                   if g is not None and x.dtype.kind == "f" and i not in op.nondiff]
        if not checked:
            continue

        def value(arrays, op=op, gy=gy):
            trial = copy.copy(op)
            trial.inputs = None
            return float(np.sum(np.asarray(trial.forward(*arrays), dtype=np.float64) * gy))
        analytic = [unbroadcast(np.asarray(grads[i]), xs[i].shape, op) for i in checked]
        scale = float(np.sum(np.abs(entry.output.data * gy)))
        found, _ = check_inputs(value, list(xs), checked, analytic, scale, rng, **tolerances)
        for i, (diff, a) in zip(checked, found):
            r = InputReport(i, xs[i].shape, a, diff)
            if not r.passed:
                return (f"step {entry.step}: {op.name}, input {i}, element {r.index}: backward "
                        f"gives {r.analytic:.10g}, differences of forward give {r.numeric:.10g}")
    return None


def gradgradcheck(fn, inputs, *, eps=None, atol=None, rtol=None, fast=False, seed=None):
    """Check second derivatives: gradcheck of the map inputs -> grad(sum(fn(inputs) * u)).

    The first gradient is taken with ``create_graph=True`` for a fixed random ``u``, so every
    op's backward is itself differentiated. Arguments, tolerances and report as ``gradcheck``.
    """
    rng = generator(seed, salt=0x67726164 + 1)
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
    with one_float32_warning("gradgradcheck"):
        return gradcheck(first_gradient, inputs, eps=eps, atol=atol, rtol=rtol, fast=fast,
                         seed=seed, _second_order=True)
