"""``tg.check_layer``: a layer's own backward vs autograd through its reference vs finite
differences, plus the backward contract that hand-written layers often break."""

import copy

import numpy as np

from .grad import grad
from .gradcheck import TOLERANCES, numerical_gradient
from .table import table as format_table
from .tensor import Tensor


class LayerReport:
    """Three gradients per input and parameter, and the contract checks; ``bool()`` is pass."""

    def __init__(self, name, rows, contract, tolerances):
        self.name, self.rows, self.contract = name, rows, contract
        self.atol, self.rtol = tolerances
        self.passed = all(r["passed"] for r in rows) and all(ok for _, ok, _ in contract)

    def __bool__(self):
        return self.passed

    def __str__(self):
        head = f"check_layer {self.name}: {'PASSED' if self.passed else 'FAILED'}"
        table = [("gradient", "shape", "|own - numeric|", "|autograd - numeric|",
                  "|own - autograd|", "")]
        for r in self.rows:
            table.append((r["name"], str(r["shape"]), f"{r['own']:.2e}", f"{r['autograd']:.2e}",
                          f"{r['own_vs_autograd']:.2e}", "ok" if r["passed"] else "FAIL"))
        lines = [head] + format_table(table, indent="  ")
        for what, ok, detail in self.contract:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        return "\n".join(lines)

    __repr__ = __str__


def _max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) if np.size(a) else 0.0


def _close(a, b, atol, rtol):
    return bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) <= atol + rtol * np.abs(b)))


class _Copies:
    """Fresh copies of the layer as it was, and its forward on them: every evaluation starts
    from the same state (the same Dropout mask, the same BatchNorm statistics)."""

    def __init__(self, layer, rest):
        self.snapshot, self.rest = copy.deepcopy(layer), rest

    def fresh(self):
        layer = copy.deepcopy(self.snapshot)
        layer.zero_grad()
        return layer

    def run(self, layer, x):
        return np.asarray(layer.forward(x, *self.rest))


def check_layer(layer, *inputs, seed=0, eps=None, atol=None, rtol=None):
    """Check ``layer`` at ``inputs`` (x, and t for a loss layer): its own backward, autograd
    through ``layer.reference``, and central differences, for x and every parameter.

    The upstream gradient is random and non-unit. Also checked: backward scales linearly with
    dout; backward mutates neither dout, nor the inputs, nor what forward saved; the reference
    forward equals the layer's forward. The layer itself is not changed: every evaluation runs
    on a copy (so a Dropout mask or a BatchNorm running average is the same each time).
    """
    x = np.asarray(inputs[0])
    d_eps, d_atol, d_rtol = TOLERANCES.get(x.dtype, TOLERANCES[np.dtype(np.float32)])
    eps, atol, rtol = (d if v is None else v for v, d in ((eps, d_eps), (atol, d_atol),
                                                          (rtol, d_rtol)))
    copies = _Copies(layer, [np.asarray(v) for v in inputs[1:]])
    out, dout, own, contract = _own_backward(copies, x, np.random.default_rng(seed), atol, rtol)
    ref, same_forward = _autograd(copies, x, dout, out, atol, rtol)
    contract.append(("reference forward equals forward", *same_forward))
    numeric = _finite_differences(copies, x, dout, eps)
    params = copies.snapshot.params()
    names = ["x"] + [p.name or f"param{k}" for k, p in enumerate(params)]
    rows = [{"name": name, "shape": np.shape(n), "own": _max_diff(o, n),
             "autograd": _max_diff(a, n), "own_vs_autograd": _max_diff(o, a),
             "passed": _close(o, n, atol, rtol) and _close(a, n, atol, rtol)
             and np.shape(o) == np.shape(n)}
            for name, o, a, n in zip(names, own, ref, numeric)]
    return LayerReport(repr(layer), rows, contract, (atol, rtol))


def _own_backward(copies, x, rng, atol, rtol):
    """1. The layer's own backward at a random non-unit dout, with the contract around it."""
    layer, x_before = copies.fresh(), x.copy()
    out = copies.run(layer, x.copy())
    dout = (rng.standard_normal(out.shape) * 1.5 + 0.3).astype(out.dtype)
    dout_before = dout.copy()
    saved = {a: copy.deepcopy(getattr(layer, a)) for a in layer.saved}
    dx = layer.backward(dout)
    grads = [dx] + [p.grad.data if p.grad is not None else np.zeros(p.shape)
                    for p in layer.params()]
    scaled = copies.fresh()
    copies.run(scaled, x.copy())
    linear = _close(scaled.backward(dout * 3), 3 * dx, atol, rtol)
    contract = [
        ("backward scales with a random non-unit dout", linear,
         "" if linear else "backward(3 dout) != 3 backward(dout)"),
        ("dout not mutated", np.array_equal(dout, dout_before), ""),
        ("inputs not mutated", np.array_equal(x, x_before), ""),
        ("saved values not mutated",
         all(_same(getattr(layer, a), v) for a, v in saved.items()), ""),
    ]
    return out, dout, grads, contract


def _autograd(copies, x, dout, out, atol, rtol):
    """2. Autograd through the layer's reference forward (primitive ops)."""
    layer = copies.fresh()
    copies.run(layer, x.copy())  # sets what the reference reads (e.g. a dropout mask)
    xt = Tensor(x.copy(), requires_grad=True)
    out_ref = layer.reference(xt, *copies.rest) if layer.is_loss else layer.reference(xt)
    same = _close(out_ref.data, out, atol, rtol)
    detail = "" if same else f"max diff {_max_diff(out_ref.data, out):.2e}"
    return [g.data for g in grad(out_ref, [xt, *layer.params()], dout)], (same, detail)


def _finite_differences(copies, x, dout, eps):
    """3. Central differences of sum(forward(x) * dout), for x and each parameter."""
    def f_x(xv):
        return float(np.sum(copies.run(copies.fresh(), xv) * dout))
    numeric = [numerical_gradient(f_x, x.astype(np.float64), eps)]
    for k, param in enumerate(copies.snapshot.params()):
        def f_p(pv, k=k):
            layer = copies.fresh()
            target = layer.params()[k]
            target.data = pv.astype(target.dtype)
            return float(np.sum(copies.run(layer, x.copy()) * dout))
        numeric.append(numerical_gradient(f_p, param.data, eps))
    return numeric


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a is b or a == b
