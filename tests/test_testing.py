"""tinygrad_ce.testing, as a user would use it in their own tests."""

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_ce as tg
from tinygrad_ce.testing import (
    arrays,
    assert_gradients_match,
    axes,
    broadcastable_shapes,
    check_vjp,
    gradient_test,
    logits_and_labels,
    probability_rows,
    torch_vjp,
    vjp_test,
)


def swish(x):
    return (x * tg.sigmoid(x)).sum()


test_swish_gradient = gradient_test(swish, arrays(lo=-4, hi=4))

test_masked_softmax_gradient = gradient_test(
    lambda x, w: (tg.softmax(x, axis=-1) * w).sum(), arrays((3, 4)), arrays((4,)))


def test_factory_fails_and_shrinks_for_a_wrong_gradient():
    class WrongSquare(tg.ops.Op):
        name, method, public = "wrong_square_for_test", False, False

        def forward(self, x):
            return x * x

        def backward(self, gy, x, y):
            return (gy * x,)         # should be 2 * gy * x
    try:
        test = settings(max_examples=20, database=None)(
            gradient_test(lambda x: tg.Tensor.apply(WrongSquare(), x), arrays(lo=0.5, hi=2)))
        with pytest.raises(AssertionError, match="FAILED"):
            test()
    finally:
        del tg.ops.REGISTRY["wrong_square_for_test"]


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    np.broadcast_shapes(*shapes)


@given(arrays().flatmap(lambda a: axes(a.shape).map(lambda ax: (a, ax))))
def test_axes_are_valid_for_their_shape(case):
    a, axis = case
    np.sum(a, axis=axis)


@given(logits_and_labels(), probability_rows(n=3, k=4))
def test_label_and_probability_strategies(xt, p):
    x, t = xt
    assert t.shape == (x.shape[0],) and 0 <= t.min() and t.max() < x.shape[1]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p.shape == (3, 4) and (p >= 0).all()


def test_assert_gradients_match_returns_the_report():
    report = assert_gradients_match(lambda x: tg.exp(x).sum(), np.array([0.1, 0.2]))
    assert report.max_abs_error < 1e-8


# ---- kinks and float32 in the factory ------------------------------------------------------------

def test_factory_discards_examples_on_a_kink():
    seen = {"kinks": 0, "runs": 0}

    def relu_sum(x):
        seen["runs"] += 1
        return tg.relu(x).sum()
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    zeros_often = hnp.arrays(np.float64, 3, elements=st.sampled_from([0.0, 0.5, -1.5]))
    settings(max_examples=30, database=None)(gradient_test(relu_sum, zeros_often))()
    assert seen["runs"] > 0


def test_factory_warns_once_for_a_float32_run():
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings(max_examples=15, database=None)(
            gradient_test(lambda x: tg.tanh(x).sum(), arrays((3,), dtype=np.float32)))()
    assert len([w for w in caught if "float64" in str(w.message)]) == 1


# ---- check_vjp: for code that is not tinygrad_ce ----------------------------------------------

def softplus(x):
    return np.logaddexp(0.0, x)


def softplus_vjp(gy, x):
    return (gy / (1 + np.exp(-x)),)


def dense(x, W):
    return np.tanh(x @ W)


def dense_vjp(gy, x, W):
    g = gy * (1 - np.tanh(x @ W) ** 2)
    return g @ W.T, x.T @ g


def test_check_vjp_passes_right_gradients_and_fails_a_1e_4_error():
    x = np.random.default_rng(0).standard_normal((4, 3))
    W = np.random.default_rng(1).standard_normal((3, 2))
    assert check_vjp(softplus, softplus_vjp, x, seed=0)
    assert check_vjp(dense, dense_vjp, x, W, seed=0)
    assert not check_vjp(softplus, lambda gy, x: (softplus_vjp(gy, x)[0] * 1.0001,), x, seed=0)
    report = check_vjp(dense, lambda gy, x, W: (dense_vjp(gy, x, W)[0], dense_vjp(gy, x, W)[1] * 1.0001), x, W, seed=0)
    assert not report and report.inputs[0].passed and not report.inputs[1].passed
    assert "resolution" in str(report) and report.max_abs_error > 0


@pytest.mark.parametrize("bad, words", [
    (lambda gy, x: (np.ones_like(x) / (1 + np.exp(-x)),), "not linear in gy"),
    (lambda gy, x: (gy.__imul__(1.0) * 0 + gy / (1 + np.exp(-x)), gy.__setitem__(..., 0))[:1],
     "vjp mutated gy"),
    (lambda gy, x: (gy / (1 + np.exp(-x)), x.__setitem__(..., 0))[:1], "vjp mutated array 0"),
    (lambda gy, x: (softplus_vjp(gy, x)[0][:-1],), "shape"),
    (lambda gy, x: "nonsense", "must return a tuple"),
])
def test_check_vjp_contract_failures_are_report_lines_not_exceptions(bad, words):
    x = np.random.default_rng(2).standard_normal(5)
    report = check_vjp(softplus, bad, x, seed=0)
    assert not report and words in str(report) and "FAIL" in str(report)


def test_check_vjp_catches_f_writing_into_its_input():
    def f(x):
        y = np.tanh(x)
        x[0] = 0.0
        return y
    report = check_vjp(f, lambda gy, x: (gy * (1 - np.tanh(x) ** 2),),
                       np.array([0.3, 0.4, 0.5]), seed=0)
    assert not report and "f mutated array 0" in str(report)


def test_check_vjp_skips_labels_and_takes_a_bare_array_for_one_input():
    x, t = np.random.default_rng(3).standard_normal((3, 4)), np.array([0, 3, 1])

    def nll(x, t):
        return -x[np.arange(3), t]

    def nll_vjp(gy, x, t):
        g = np.zeros_like(x)
        g[np.arange(3), t] = -gy
        return g, None
    assert check_vjp(nll, nll_vjp, x, t, seed=0)
    assert check_vjp(softplus, lambda gy, x: softplus_vjp(gy, x)[0], x, seed=0)


test_softplus_vjp = vjp_test(softplus, softplus_vjp, arrays(lo=-5, hi=5))


def test_vjp_test_fails_and_shrinks_for_a_wrong_vjp():
    test = settings(max_examples=20, database=None)(
        vjp_test(softplus, lambda gy, x: (gy * np.exp(-x),), arrays(lo=-2, hi=2)))
    with pytest.raises(AssertionError, match="FAILED"):
        test()


# ---- torch ----------------------------------------------------------------------------------------

def test_torch_vjp_of_an_autograd_function():
    torch = pytest.importorskip("torch")

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * gy

    class WrongCube(Cube):
        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 3.0003 * x ** 2 * gy

    x = np.random.default_rng(4).standard_normal((3, 2))
    assert check_vjp(*torch_vjp(Cube.apply), x, seed=0)
    assert not check_vjp(*torch_vjp(WrongCube.apply), x, seed=0)
    layer = torch.nn.Linear(2, 3).double()
    assert check_vjp(*torch_vjp(layer), x, seed=0)


def test_torch_vjp_without_torch_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"\[torch\]"):
        torch_vjp(lambda x: x)


def test_importing_tinygrad_ce_never_imports_torch():
    import subprocess
    import sys
    code = "import sys, tinygrad_ce, tinygrad_ce.testing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
