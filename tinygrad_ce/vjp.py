"""Checking a vector-Jacobian product that is not tinygrad_ce at all: a NumPy function with a
hand-written gradient, or a ``torch.autograd.Function`` (through ``torch_vjp``).

    report = check_vjp(f, vjp, x, W)      # f(x, W) -> ndarray; vjp(gy, x, W) -> (gx, gW)
    assert report, report

The same estimated tolerances, kinks and resolution as ``tg.gradcheck``. torch is imported only
inside ``torch_vjp``; hypothesis only inside ``vjp_test``.
"""

import math

import numpy as np

from .differences import analytic_rounding, batched_if_possible, check_inputs, generator
from .gradcheck import one_float32_warning, warn_float32
from .report import CheckReport, InputReport


def check_vjp(f, vjp, *arrays, eps=None, atol=None, rtol=None, seed=None):
    """Check ``vjp`` against central differences of ``sum(f(*arrays) * gy)`` for a random gy.

    ``f(*arrays) -> ndarray``; ``vjp(gy, *arrays)`` returns one gradient per array (a tuple;
    None for an array without one, which counts as zeros for a floating array; a bare array is
    accepted for a single input). Checked besides the values: ``vjp`` is linear in gy
    (``vjp(c gy) = c vjp(gy)`` and ``vjp(g1 + g2) = vjp(g1) + vjp(g2)``), returns arrays of the
    inputs' shapes, and neither ``f`` nor ``vjp`` writes into gy or the arrays: each is a
    failing line of the report, not an exception. Integer arrays (labels) are not checked.
    Tolerances and report as ``tg.gradcheck``.
    """
    arrays = [np.asarray(a) for a in arrays]
    checked = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not checked:
        raise ValueError("check_vjp: no floating array to check; pass float64 arrays")
    dtype = np.result_type(*[arrays[i] for i in checked])
    if dtype != np.float64:
        warn_float32("check_vjp", dtype)
    rng = generator(seed)
    given = [a.copy() for a in arrays]
    y = np.asarray(f(*given))
    problems = [f"f mutated array {k}" for k, (a, b) in enumerate(zip(given, arrays))
                if not _same(a, b)]
    gy = rng.standard_normal(y.shape).astype(y.dtype if y.dtype.kind == "f" else np.float64)
    gy_given, given = gy.copy(), [a.copy() for a in arrays]
    grads = _as_tuple(vjp(gy_given, *given), len(arrays), problems)
    if not _same(gy_given, gy):
        problems.append("vjp mutated gy (the upstream gradient)")
    problems += [f"vjp mutated array {k}" for k, (a, b) in enumerate(zip(given, arrays))
                 if not _same(a, b)]
    grads = _shapes(grads, arrays, checked, problems)
    linear, rounding = _linearity(vjp, arrays, gy, grads, rng)
    problems += linear
    gy64 = gy.astype(np.float64).reshape(-1)

    def value(xs):
        return float(np.dot(np.asarray(f(*xs), dtype=np.float64).reshape(-1), gy64))

    usable = [i for i in checked if grads[i] is not None]
    scale = float(np.sum(np.abs(y.astype(np.float64).reshape(-1) * gy64)))
    found, noise = check_inputs(value, arrays, usable, [grads[i] for i in usable], scale, rng,
                                eps=eps, atol=atol, rtol=rtol,
                                batch=_Batch(f, value, arrays, y.shape, gy64, scale),
                                analytic_noise=[analytic_rounding(rounding[i], grads[i], gy)
                                                for i in usable])
    reports = [InputReport(i, arrays[i].shape, a, diff) for i, (diff, a) in zip(usable, found)]
    given_tol = {"eps": eps, "atol": atol, "rtol": rtol} \
        if atol is not None or rtol is not None else None
    return CheckReport(f"check_vjp of {getattr(f, '__name__', type(f).__name__)}", reports,
                       given=given_tol, noise=noise, problems=problems)


def _as_tuple(grads, n, problems):
    if isinstance(grads, np.ndarray) and n == 1:
        return [grads]
    if not isinstance(grads, (tuple, list)):
        problems.append(f"vjp returned {type(grads).__name__}; it must return a tuple with one "
                        f"gradient per array ({n})")
        return [None] * n
    if len(grads) != n:
        problems.append(f"vjp returned {len(grads)} gradients for {n} arrays")
        return (list(grads) + [None] * n)[:n]
    return list(grads)


def _shapes(grads, arrays, checked, problems):
    """The gradients as float64 arrays; None (and a problem) where the shape is wrong."""
    out = []
    for k, (g, a) in enumerate(zip(grads, arrays)):
        if k not in checked:
            out.append(None)
        elif g is None:
            out.append(np.zeros(a.shape))
        elif np.shape(g) != a.shape:
            problems.append(f"vjp returned a gradient of shape {np.shape(g)} for array {k} of "
                            f"shape {a.shape}")
            out.append(None)
        else:
            out.append(np.asarray(g, dtype=np.float64))
    return out


def _linearity(vjp, arrays, gy, grads, rng, c=-2.5):
    """(problems if vjp is not linear in gy (scaling, and the sum of two gradients), the
    rounding of each gradient: max|vjp(g1 + g2) - vjp(g1) - vjp(g2)|)."""
    gy2 = rng.standard_normal(gy.shape).astype(gy.dtype)

    def run(g):
        out = vjp(g.copy(), *[a.copy() for a in arrays])
        out = [out] if isinstance(out, np.ndarray) and len(arrays) == 1 else out
        if not isinstance(out, (tuple, list)) or len(out) != len(arrays):
            return [None] * len(arrays)
        return [None if o is None else np.asarray(o, dtype=np.float64) for o in out]

    scaled, second, summed = run(gy * c), run(gy2), run(gy + gy2)
    tiny = math.sqrt(np.finfo(gy.dtype).eps)
    problems, rounding = [], [0.0] * len(grads)
    for k, g in enumerate(grads):
        if g is None or any(r[k] is None or r[k].shape != g.shape
                            for r in (scaled, second, summed)):
            continue
        scale = float(np.max(np.abs(c * g), initial=0.0) + np.max(np.abs(second[k]), initial=0))
        rounding[k] = float(np.max(np.abs(summed[k] - g - second[k]), initial=0.0))
        if not np.all(np.abs(scaled[k] - c * g) <= tiny * scale):
            problems.append(f"vjp is not linear in gy: vjp({c} gy) != {c} vjp(gy) for array {k}")
        elif rounding[k] > tiny * scale:
            problems.append(f"vjp is not linear in gy: vjp(g1 + g2) != vjp(g1) + vjp(g2) for "
                            f"array {k}")
    return problems[:1], rounding if not problems else [0.0] * len(grads)


class _Batch:
    """f with a leading batch axis on one array, if f handles one."""

    def __init__(self, f, value, arrays, y_shape, gy64, scale):
        self.f, self.value, self.arrays = f, value, arrays
        self.y_shape, self.gy64, self.scale = y_shape, gy64, scale

    def __call__(self, i, noise):
        return batched_if_possible(self.evaluate, self.value, self.arrays, i, noise, self.scale)

    def evaluate(self, i, stack, arrays):
        out = np.asarray(self.f(*[stack if k == i else a for k, a in enumerate(arrays)]))
        if out.shape != (len(stack), *self.y_shape):
            raise ValueError("f does not take a batch axis")
        return out.reshape(len(stack), -1).astype(np.float64) @ self.gy64


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def vjp_test(f, vjp, *strategies, **check_kwargs):
    """A hypothesis test of ``check_vjp(f, vjp, *arrays)`` on arrays drawn from
    ``strategies``; assign it to a name starting with ``test_``. A failing case shrinks; an
    example with a kink (where the gradient is not defined) is discarded."""
    from hypothesis import given, reject
    from hypothesis import strategies as st
    state = {"where": "vjp_test", "warned": False}

    @given(st.tuples(*strategies))
    def test(arrays):
        with one_float32_warning("vjp_test", state):
            report = check_vjp(f, vjp, *arrays, **check_kwargs)
        if not report:
            raise AssertionError("\n" + str(report))
        if report.kinks:
            reject()
    test.__name__ = f"test_vjp_of_{getattr(f, '__name__', 'f')}"
    return test


def torch_vjp(fn):
    """``(f, vjp)`` on ndarrays for a function of torch tensors (a module's forward, a
    ``torch.autograd.Function.apply``, ...), for ``check_vjp`` and ``vjp_test``.

    ``f(*arrays)`` runs ``fn`` under ``torch.no_grad()`` on tensors that share the arrays'
    memory (so a write into an input shows); ``vjp(gy, *arrays)`` is
    ``torch.autograd.grad(fn(*xs), xs, gy)`` (None for a non-floating array, zeros for an
    unused one). Needs torch: ``pip install 'tinygrad_ce[torch]'``.
    """
    try:
        import torch
    except ImportError as e:
        raise ImportError("torch_vjp needs torch, an optional extra: pip install "
                          "'tinygrad_ce[torch]'") from e

    def f(*arrays):
        with torch.no_grad():
            out = fn(*[torch.from_numpy(np.asarray(a)) for a in arrays])
        return out.detach().numpy().copy()

    def vjp(gy, *arrays):
        xs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in map(np.asarray, arrays)]
        out = fn(*xs)
        wanted = [x for x in xs if x.requires_grad]
        found = iter(torch.autograd.grad(out, wanted, torch.from_numpy(np.asarray(gy)),
                                         allow_unused=True))
        grads = []
        for x in xs:
            g = next(found) if x.requires_grad else None
            if x.requires_grad and g is None:
                g = torch.zeros_like(x)
            grads.append(None if g is None else g.detach().numpy().copy())
        return tuple(grads)

    f.__name__ = vjp.__name__ = getattr(fn, "__name__", type(fn).__name__)
    return f, vjp
