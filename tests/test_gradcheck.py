"""The gradient checker must itself be right: it passes good gradients and catches bad ones."""

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.ops.elementwise import Tanh


def net(x, W):
    return tg.softmax(tg.tanh(x @ W))


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((4, 3)), rng.standard_normal((3, 5))]


def test_correct_gradients_pass_with_a_readable_report(inputs):
    report = tg.gradcheck(net, inputs, seed=0)
    assert report and report.max_abs_error < 1e-8
    text = str(report)
    assert "PASSED" in text and "(3, 5)" in text and len(report.inputs) == 2


@pytest.fixture
def planted_error(monkeypatch):
    right = Tanh.backward
    monkeypatch.setattr(Tanh, "backward", lambda self, gy, x, y: (right(self, gy, x, y)[0] * 1.01,))


def test_a_planted_one_percent_error_is_reported_with_op_input_and_element(inputs, planted_error):
    report = tg.gradcheck(net, inputs, seed=0)
    assert not report
    assert all(not r.passed for r in report.inputs)
    worst = report.inputs[1]
    assert isinstance(worst.index, tuple) and len(worst.index) == 2
    np.testing.assert_allclose(worst.analytic, worst.numeric * 1.01, rtol=1e-4)
    assert "tanh" in report.suspect and "FAIL" in str(report)


def test_fast_mode_catches_the_planted_error(inputs, planted_error):
    caught = sum(not tg.gradcheck(net, inputs, fast=True, seed=s) for s in range(100))
    assert caught >= 99


def test_fast_mode_passes_correct_gradients(inputs):
    assert all(tg.gradcheck(net, inputs, fast=True, seed=s) for s in range(20))


def test_nan_fails_the_check():
    with np.errstate(divide="ignore", invalid="ignore"):
        report = tg.gradcheck(lambda x: tg.sqrt(x), [np.array([0.0, 1.0])])
    assert not report


def test_float32_warns():
    with pytest.warns(UserWarning, match="float64"):
        tg.gradcheck(lambda x: x * x, [np.ones(3, dtype=np.float32)])


def test_upstream_gradient_is_random_not_ones():
    # a backward that ignores gy is right only for gy = 1: the check must catch it
    class Bad(tg.ops.Op):
        name, method, public = "ignores_gy_for_test", False, False

        def forward(self, x):
            return 2 * x

        def backward(self, gy, x, y):
            return (np.full(x.shape, 2.0),)
    try:
        report = tg.gradcheck(lambda x: tg.Tensor.apply(Bad(), x), [np.ones(3)], seed=0)
        assert not report and "ignores_gy_for_test" in report.suspect
    finally:
        del tg.ops.REGISTRY["ignores_gy_for_test"]


def test_numerical_gradient_of_a_plain_function():
    g = tg.numerical_gradient(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-7)


def test_gradgradcheck_catches_a_wrong_second_derivative(monkeypatch):
    # tanh's backward as a constant in y: first derivative right, second wrong
    monkeypatch.setattr(Tanh, "backward",
                        lambda self, gy, x, y: (gy * (1 - tg.Tensor(np.asarray(y) ** 2)),))
    x = [np.array([0.3, -0.7])]
    assert tg.gradcheck(lambda t: tg.tanh(t), x)
    assert not tg.gradgradcheck(lambda t: tg.tanh(t), x)


def test_fast_check_catches_a_planted_error_in_the_benchmark_configuration(monkeypatch):
    """W5: Affine(784 -> 10) + softmax cross-entropy on a batch of 8, a 1% error in matmul's
    backward: the fast (directional) check must catch it for at least 99 of 100 seeds."""
    from tinygrad_ce.ops.arithmetic import MatMul
    rng = np.random.default_rng(0)
    x, t = rng.random((8, 784)), rng.integers(0, 10, 8)
    W, b = rng.standard_normal((784, 10)) * 0.01, np.zeros(10)

    def f(W, b):
        return tg.cross_entropy(tg.Tensor(x) @ W + b, t)
    assert all(tg.gradcheck(f, [W, b], fast=True, seed=s) for s in range(5))
    right = MatMul.backward
    monkeypatch.setattr(MatMul, "backward",
                        lambda self, gy, a, b, y: tuple(g * 1.01 for g in right(self, gy, a, b, y)))
    caught = sum(not tg.gradcheck(f, [W, b], fast=True, seed=s) for s in range(100))
    assert caught >= 99
