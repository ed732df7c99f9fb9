"""``tg.check_layer``: a layer's own backward vs autograd through its reference vs finite
differences, plus the backward contract that hand-written layers often break. Every line of
the report can fail: the layer is handed the very arrays that are compared afterwards."""

import copy
import math

import numpy as np

from .differences import analytic_rounding, check_inputs, error_and_allowed, generator
from .grad import grad
from .gradcheck import warn_float32
from .layer_state import changes, param_names, snapshot
from .report import kink_lines
from .table import table
from .tensor import Tensor


class LayerReport:
    """Three gradients per input and parameter, and the contract lines; ``bool()`` is pass.

    ``rows`` (one dict per gradient: name, shape, the three values at the worst element, the
    largest differences, the tolerance there), ``contract`` ((what, ok, detail) triples),
    ``kinks``, ``resolution``; ``eps``, ``atol``, ``rtol`` as given (None: estimated).
    """

    def __init__(self, name, rows, contract, kinks, resolution, tolerances=(None, None, None)):
        self.name, self.rows, self.contract, self.kinks = name, rows, contract, kinks
        self.resolution = resolution
        self.eps, self.atol, self.rtol = tolerances
        self.passed = all(r["passed"] for r in rows) and all(ok for _, ok, _ in contract)

    def __bool__(self):
        return self.passed

    def __str__(self):
        head = f"check_layer {self.name}: {'PASSED' if self.passed else 'FAILED'}"
        rows = [("gradient", "shape", "|own - numeric|", "|autograd - numeric|",
                 "|own - autograd|", "allowed", "")]
        for r in self.rows:
            rows.append((r["name"], str(r["shape"]), _num(r["own"]), _num(r["autograd"]),
                         _num(r["own_vs_autograd"]), _num(r["allowed"]),
                         "ok" if r["passed"] else "FAIL"))
        lines = [head]
        for k, line in enumerate(table(rows, indent="  ")):
            lines.append(line)
            if k:
                lines.append(f"    worst element {self.rows[k - 1]['worst']}")
        for what, ok, detail in self.contract:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        lines.append(f"  resolution: {self.resolution:.2g} (the smallest relative error, on "
                     "every element, that this check can see)")
        lines += kink_lines(self.kinks, {})
        return "\n".join(lines)

    __repr__ = __str__


def _num(v):
    return "-" if v is None else f"{v:.2e}"


class _Copies:
    """Fresh copies of the layer as it was: every evaluation starts from the same state (the
    same Dropout mask, the same BatchNorm statistics), and the caller's layer is not changed."""

    def __init__(self, layer, rest):
        self.snapshot, self.rest = copy.deepcopy(layer), rest

    def fresh(self):
        layer = copy.deepcopy(self.snapshot)
        layer.zero_grad()
        return layer

    def forward(self, layer, x):
        return layer.forward(x, *[r.copy() for r in self.rest])


def check_layer(layer, *inputs, seed=0, eps=None, atol=None, rtol=None):
    """Check ``layer`` at ``inputs`` (x, and t for a loss layer): its own backward, autograd
    through ``layer.reference``, and central differences, for x and every parameter.

    The upstream gradient ``dout`` is random and non-unit. Contract lines, each of which can
    fail: backward is linear in dout (``backward(c dout) = c backward(dout)``); backward returns
    one array of x's shape, and parameter gradients of their parameters' shapes; forward and
    backward write neither into their input arrays nor (backward) into dout, the parameters or
    anything the layer keeps on ``self`` (declared in ``saved`` or not); the reference forward
    equals the forward. Tolerances as ``tg.gradcheck`` (estimated unless given; given ones are
    used exactly). The layer itself is not changed: every evaluation runs on a copy.
    """
    x = np.asarray(inputs[0])
    if x.dtype.kind == "f" and x.dtype != np.float64:
        warn_float32("check_layer", x.dtype)
    rest = [np.asarray(v) for v in inputs[1:]]
    copies = _Copies(layer, rest)
    # salted: with a plain default_rng(seed), dout would equal 1.5 x + 0.3 for an x drawn
    # by the caller from default_rng(seed) -- a dout BatchNorm's backward maps to 0
    rng = generator(seed, salt=0x636865636B)
    own = _own_backward(copies, x, rng)
    ref, same_forward = _autograd(copies, x, own["dout"], own["out"])
    contract = own["contract"] + [("reference forward equals forward", *same_forward)]
    rows, kinks, resolution = _compare(copies, x, own, ref, rng, eps, atol, rtol)
    return LayerReport(repr(layer), rows, contract, kinks, resolution, (eps, atol, rtol))


def _own_backward(copies, x, rng):
    """1. The layer's own backward at a random non-unit dout, with the contract around it."""
    layer = copies.fresh()
    params, names = layer.params(), param_names(layer)
    given = [x.copy()] + [r.copy() for r in copies.rest]     # what the layer is handed
    before = [a.copy() for a in given]
    param_data = [p.data.copy() for p in params]
    out = np.asarray(layer.forward(*given))
    mutated = [f"{_input_name(k)} mutated by forward" for k, (a, b) in enumerate(zip(given, before))
               if not _same(a, b)]
    mutated += [f"parameter {n} mutated by forward" for n, p, d in zip(names, params, param_data)
                if not _same(p.data, d)]
    state = snapshot(layer)
    after_forward = [a.copy() for a in given]
    dout = np.array(rng.standard_normal(out.shape) * 1.5 + 0.3, dtype=out.dtype)  # 0-d: too
    dout_given = dout.copy()
    dx = layer.backward(dout_given)
    mutated += [f"{_input_name(k)} mutated by backward"
                for k, (a, b) in enumerate(zip(given, after_forward)) if not _same(a, b)]
    shapes, grads = _returned(layer, x, dx, params, names)
    linear, rounding = _linearity(copies, x, dout, grads)
    saved = changes(state, snapshot(layer))
    dout_ok = _same(dout_given, dout)
    contract = [
        ("backward scales with a random non-unit dout", *linear),
        ("backward returns one array of the input's shape", not shapes, "; ".join(shapes)),
        ("dout not mutated", dout_ok, "" if dout_ok else
         f"mutated by backward ({_count(dout_given, dout)} of {dout.size} elements changed)"),
        ("inputs not mutated", not mutated, "; ".join(mutated)),
        ("saved values not mutated", not saved, "; ".join(f"{s} mutated by backward"
                                                          for s in saved)),
    ]
    return {"out": out, "dout": dout, "grads": grads, "contract": contract, "names": names,
            "rounding": rounding}


def _input_name(k):
    return "input x" if k == 0 else f"input {k} (t)" if k == 1 else f"input {k}"


def _returned(layer, x, dx, params, names):
    """Problems with what backward returned, and the gradients (None where unusable)."""
    problems, grads = [], []
    if isinstance(dx, (tuple, list)):
        problems.append(f"backward returned a {type(dx).__name__} of {len(dx)}; a layer's "
                        "backward returns one array, dx")
        dx = None
    elif x.dtype.kind != "f":
        dx = None    # x is data (Embedding's indices): whatever backward returns is not checked
    elif dx is None or np.shape(dx) != x.shape:
        got = "None" if dx is None else f"dx of shape {np.shape(dx)}"
        problems.append(f"backward returned {got} for an input x of shape {x.shape}")
        dx = None
    grads.append(None if dx is None else np.asarray(dx, dtype=np.float64))
    for name, p in zip(names, params):
        g = np.zeros(p.shape) if p.grad is None else p.grad.data
        if g.shape != p.shape:
            problems.append(f"the gradient of {name} has shape {g.shape}, {name} has {p.shape}")
            g = None
        grads.append(g)
    return problems, grads


def _linearity(copies, x, dout, grads, c=-2.5):
    """((ok, detail), rounding): backward(c dout) == c backward(dout), for dx and the
    parameters; the rounding of each gradient, max|backward(c dout) - c backward(dout)| / |c|."""
    layer = copies.fresh()
    copies.forward(layer, x.copy())
    dx = layer.backward(dout * c)
    again = [None if isinstance(dx, (tuple, list)) or dx is None or x.dtype.kind != "f"
             else np.asarray(dx)]
    again += [p.grad.data if p.grad is not None else np.zeros(p.shape) for p in layer.params()]
    tiny = math.sqrt(np.finfo(dout.dtype).eps)
    rounding = [0.0] * len(grads)
    for k, (g, h) in enumerate(zip(grads, again)):
        if g is None or h is None or np.shape(g) != np.shape(h):
            continue
        scale = float(np.max(np.abs(c * g), initial=0.0))
        if not np.all(np.abs(h - c * g) <= tiny * scale):
            return (False, f"backward({c} dout) != {c} backward(dout) (does it use dout?)"), \
                [0.0] * len(grads)
        rounding[k] = float(np.max(np.abs(h - c * g), initial=0.0)) / abs(c)
    return (True, ""), rounding


def _autograd(copies, x, dout, out):
    """2. Autograd through the layer's reference forward (primitive ops)."""
    layer = copies.fresh()
    copies.forward(layer, x.copy())  # sets what the reference reads (e.g. a dropout mask)
    floating = x.dtype.kind == "f"
    xt = Tensor(x.copy(), requires_grad=floating)
    out_ref = layer.reference(xt, *copies.rest) if layer.is_loss else layer.reference(xt)
    scale = max(float(np.max(np.abs(out), initial=0.0)), np.finfo(out.dtype).tiny)
    diff = float(np.max(np.abs(out_ref.data - out), initial=0.0))
    same = diff <= math.sqrt(np.finfo(out.dtype).eps) * scale
    wanted = ([xt] if floating else []) + layer.params()
    grads = [g.data for g in grad(out_ref, wanted, dout)] if wanted else []
    return ([] if floating else [None]) + grads, (same, "" if same else f"max diff {diff:.2e}")


def _compare(copies, x, own, ref, rng, eps, atol, rtol):
    """3. Central differences of sum(forward(x) * dout), for x and each parameter, compared
    with the own and the autograd gradients."""
    snap_params = copies.snapshot.params()
    arrays = [x] + [p.data for p in snap_params]
    dout64 = own["dout"].astype(np.float64).reshape(-1)

    def value(arrays):
        layer = copies.fresh()
        for p, a in zip(layer.params(), arrays[1:]):
            p.data = a
        out = np.asarray(copies.forward(layer, arrays[0].copy()), dtype=np.float64)
        return float(np.dot(out.reshape(-1), dout64))

    names = ["x"] + own["names"]
    checked = [k for k in range(len(arrays)) if arrays[k].dtype.kind == "f"]
    candidates = [[g for g in (own["grads"][k], ref[k]) if g is not None] or
                  [np.zeros(arrays[k].shape)] for k in checked]
    scale = float(np.sum(np.abs(own["out"].astype(np.float64).reshape(-1) * dout64)))
    found, _ = check_inputs(value, arrays, checked, candidates, scale, rng, eps=eps, atol=atol,
                            rtol=rtol, analytic_noise=[
                                analytic_rounding(own["rounding"][k], candidates[j][0], own["dout"])
                                for j, k in enumerate(checked)])
    rows, kinks, res = [], [], math.inf
    for k, (diff, _) in zip(checked, found):
        rows.append(_row(names[k], own["grads"][k], ref[k], diff))
        kinks += diff.kinks
        for kink in diff.kinks:
            kink.input = names[k]
        res = min(res, _resolution(diff))
    return rows, kinks, res


def _resolution(diff):
    from .differences import resolution
    return resolution(diff)


def _row(name, own, auto, diff):
    """One gradient's row: largest differences, and the worst element's three values."""
    n = diff.numeric
    errs = [None if g is None else error_and_allowed(g, diff)[0] for g in (own, auto)]
    allowed = diff.allowed
    with np.errstate(over="ignore"):
        ratio = np.maximum(*[np.zeros(n.shape) if e is None else
                             np.divide(e, allowed, out=np.where(e > 0, np.inf, 0.0),
                                       where=allowed > 0) for e in errs])
    j = np.unravel_index(int(np.argmax(ratio)), n.shape) if n.size else ()
    value = lambda g: "-" if g is None else f"{float(np.asarray(g)[j]):.10g}"   # noqa: E731
    where = f"{tuple(int(i) for i in j)}: " if n.ndim else ": "
    passed = all(e is not None and bool(np.all(e <= allowed)) for e in errs)
    return {"name": name, "shape": n.shape,
            "own": None if errs[0] is None else float(np.max(errs[0], initial=0.0)),
            "autograd": None if errs[1] is None else float(np.max(errs[1], initial=0.0)),
            "own_vs_autograd": None if own is None or auto is None else
            float(np.max(np.abs(np.asarray(own) - auto), initial=0.0)),
            "allowed": float(allowed[j]) if n.size else 0.0, "passed": passed,
            "worst": f"{where}own {value(own)}, autograd {value(auto)}, numeric "
                     f"{float(n[j]) if n.size else 0:.10g}"}


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _count(a, b):
    return int(np.sum(~((a == b) | (np.isnan(a) & np.isnan(b)))))
