"""The mutation suite: planted bugs in every built-in layer and in a handful of ops, each caught
by the right check with default settings; the unmutated code passes.

A mutant layer is a subclass of the layer's class whose forward or backward is wrong in one
classic way; a mutant op is the op with its backward replaced (monkeypatch)."""

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.layer_state import walk
from tinygrad_ce.layers import catalogue

LAYERS = catalogue()


# ---- the bugs, on a layer's backward (dx) and forward ---------------------------------------------

def scale(d):
    return lambda dx, dout, layer: dx * (1 + d)


def one_element_off(dx, dout, layer):
    dx = np.array(dx, dtype=np.float64)
    j = np.unravel_index(np.argmax(np.abs(dx)), dx.shape)
    dx[j] += 1e-3 * abs(dx[j])
    return dx


def transposed(dx, dout, layer):
    return dx.T.reshape(dx.shape)


def missing_one_over_n(dx, dout, layer):
    return dx * dx.shape[0]


def wrong_shape(dx, dout, layer):
    return dx.reshape(-1)[:-1]


def returns_a_tuple(dx, dout, layer):
    return (dx,)


def mutates_dout(dx, dout, layer):
    dx = np.array(dx)
    np.asarray(dout)[...] = np.asarray(dout) * 0.5
    return dx


def mutates_saved(dx, dout, layer):
    for key, v, owner in walk(layer):
        if isinstance(v, np.ndarray) and v.size and key.rsplit(".", 1)[-1] in owner.saved:
            v[...] = ~v if v.dtype == bool else v * 0.5
            return dx
    raise LookupError("no saved array")


def mutates_undeclared(dx, dout, layer):
    layer.cache_not_declared[...] = 0.0
    return dx


def mutates_a_parameter(dx, dout, layer):
    layer.params()[0].data[...] *= 0.5
    return dx


AFTER_BACKWARD = {   # bug: (change of dx, the text of the failing line)
    "scale 1e-2": (scale(1e-2), "FAIL"),
    "scale 1e-3": (scale(1e-3), "FAIL"),
    "scale 1e-4": (scale(1e-4), "FAIL"),
    "one element off by 1e-3": (one_element_off, "FAIL"),
    "transposed gradient": (transposed, "FAIL"),
    "missing 1/N": (missing_one_over_n, "FAIL"),
    "wrong shape": (wrong_shape, "backward returned dx of shape"),
    "tuple returned": (returns_a_tuple, "backward returned a tuple"),
    "dout mutated": (mutates_dout, "FAIL dout not mutated: mutated by backward"),
    "saved array mutated": (mutates_saved, "(declared in saved) mutated by backward"),
    "undeclared state mutated": (mutates_undeclared, "(not declared in saved) mutated by backward"),
    "parameter mutated": (mutates_a_parameter, "(parameter) mutated by backward"),
}
BUGS = [*AFTER_BACKWARD, "dout ignored", "input mutated by forward"]


def mutant(layer, bug):
    """The layer, of a subclass of its class with ``bug`` planted."""
    cls = type(layer)

    def forward(self, x, *rest):
        y = cls.forward(self, x, *rest)
        self.cache_not_declared = np.ones(3)
        if bug == "input mutated by forward":
            x.reshape(-1)[0] += 1
        return y

    def backward(self, dout=1.0):
        if bug == "dout ignored":
            return cls.backward(self, np.ones_like(np.asarray(dout)))
        if bug not in AFTER_BACKWARD:
            return cls.backward(self, dout)
        change = AFTER_BACKWARD[bug][0]
        return change(cls.backward(self, dout), dout, self)

    mutant_class = type(f"Mutant{cls.__name__}", (cls,), {"forward": forward,
                                                         "backward": backward})
    mutant_class.name = cls.name      # a layer may look itself up by name (tg.max_pool1d)
    object.__setattr__(layer, "__class__", mutant_class)   # past Layer.__setattr__'s registry
    return layer


def applicable(name, bug):
    layer, inputs = LAYERS[name](np.random.default_rng(0))
    dx_is_float = np.asarray(inputs[0]).dtype.kind == "f"
    dx_bug = bug not in ("input mutated by forward", "saved array mutated",
                         "undeclared state mutated", "parameter mutated", "dout mutated")
    if dx_bug and not dx_is_float:
        return False
    if bug == "parameter mutated":
        return bool(layer.params())
    if bug == "saved array mutated":
        return any(isinstance(v, np.ndarray) and k.rsplit(".", 1)[-1] in o.saved
                   for k, v, o in _walk_after_forward(layer, inputs))
    if bug == "transposed gradient":
        return np.ndim(inputs[0]) == 2
    if bug == "missing 1/N":
        return np.shape(inputs[0])[0] > 1
    return True


def _walk_after_forward(layer, inputs):
    layer.forward(*[np.array(a) for a in inputs])
    return walk(layer)


CASES = [(name, bug) for name in LAYERS for bug in BUGS if applicable(name, bug)]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_the_unmutated_layer_passes(name):
    layer, inputs = LAYERS[name](np.random.default_rng(0))
    report = tg.check_layer(layer, *inputs)
    assert report, str(report)


@pytest.mark.parametrize("name, bug", CASES)
def test_a_planted_bug_in_a_layer_is_caught(name, bug):
    layer, inputs = LAYERS[name](np.random.default_rng(0))
    report = tg.check_layer(mutant(layer, bug), *inputs)
    text = str(report)
    assert not report, f"{bug} in {name} passed:\n{text}"
    if bug == "dout ignored":
        assert "FAIL backward scales with a random non-unit dout" in text, text
    elif bug == "input mutated by forward":
        assert "FAIL inputs not mutated: input x mutated by forward" in text, text
    else:
        assert AFTER_BACKWARD[bug][1] in text, text
    if "mutated" in bug:
        assert any(line.startswith("  FAIL") and "mutated" in line for line in text.splitlines())


# ---- ops, under gradcheck ---------------------------------------------------------------------------

LABELS = np.array([0, 2, 1, 1])
OPS = {   # name: (fn, inputs)
    "tanh": (lambda x: tg.tanh(x), [(4, 3)]),
    "softmax": (lambda x: tg.softmax(x), [(4, 3)]),
    "logsumexp": (lambda x: tg.logsumexp(x, axis=1), [(4, 3)]),
    "matmul": (lambda a, b: a @ b, [(4, 3), (3, 3)]),
    "cross_entropy": (lambda x: tg.cross_entropy(x, LABELS), [(4, 3)]),
    "mean": (lambda x: x.mean(axis=0), [(4, 3)]),
    "mul": (lambda a, b: a * b, [(4, 3), (4, 3)]),
}


def op_bug(bug):
    """(change of one gradient g given gy, whether it applies to op)."""
    if bug.startswith("scale"):
        d = float(bug.split()[1])
        return lambda g, gy: g * (1 + d)
    return {"one element off by 1e-3": one_element_off_g, "transposed gradient": transposed_g,
            "missing 1/N": lambda g, gy: g * 4, "gy mutated": mutate_gy}[bug]


def one_element_off_g(g, gy):
    return one_element_off(g, gy, None)


def transposed_g(g, gy):
    return g.T.reshape(g.shape)


def mutate_gy(g, gy):
    g = np.array(g)
    if isinstance(gy, np.ndarray) and gy.flags.writeable:
        gy[...] = 0.0
    return g


OP_BUGS = ["scale 1e-2", "scale 1e-3", "scale 1e-4", "one element off by 1e-3",
           "transposed gradient", "missing 1/N", "gy ignored", "gy mutated"]
OP_CASES = [(op, bug) for op in OPS for bug in OP_BUGS
            if (bug != "transposed gradient" or op == "matmul")
            and (bug != "missing 1/N" or op in ("mean", "cross_entropy"))]


def op_inputs(op):
    fn, shapes = OPS[op]
    rng = np.random.default_rng(1)
    return fn, [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("op", sorted(OPS))
def test_the_unmutated_op_passes(op):
    fn, inputs = op_inputs(op)
    assert tg.gradcheck(fn, inputs, seed=0)


@pytest.mark.parametrize("op, bug", OP_CASES)
def test_a_planted_bug_in_an_op_is_caught(op, bug, monkeypatch):
    from tinygrad_ce.ops import REGISTRY
    cls = REGISTRY[op]
    right = cls.backward
    if bug == "gy ignored":
        def backward(self, gy, *xs):
            return right(self, np.ones_like(gy), *xs)
    else:
        change = op_bug(bug)

        def backward(self, gy, *xs):
            grads = right(self, gy, *xs)
            return tuple(None if g is None else change(np.asarray(g), gy) for g in grads)
    monkeypatch.setattr(cls, "backward", backward)
    fn, inputs = op_inputs(op)
    report = tg.gradcheck(fn, inputs, seed=0)
    assert not report, f"{bug} in {op} passed:\n{report}"
    if bug == "gy mutated":
        assert "mutated the gradient it received" in str(report)
    else:
        assert op in report.suspect
