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


# ---- self-calibrating tolerances: what the default check can see ------------------------------

LABELS = np.array([0, 2, 1, 1])


def two_layer_net(x, W1, W2):
    return tg.cross_entropy(tg.tanh(x @ W1) @ W2, LABELS)


SMOOTH = {   # name: (fn, input shapes, the op whose backward a bug is planted in)
    "tanh": (lambda x: tg.tanh(x), [(4, 3)], "tanh"),
    "softmax": (lambda x: tg.softmax(x), [(4, 3)], "softmax"),
    "logsumexp": (lambda x: tg.logsumexp(x, axis=1), [(4, 3)], "logsumexp"),
    "matmul": (lambda a, b: a @ b, [(4, 3), (3, 2)], "matmul"),
    "cross_entropy": (lambda x: tg.cross_entropy(x, LABELS), [(4, 3)], "cross_entropy"),
    "two_layer_net": (two_layer_net, [(4, 5), (5, 6), (6, 3)], "matmul"),
}


def smooth_inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def plant(monkeypatch, op_name, change):
    """Replace op_name's backward by change(its right gradients)."""
    from tinygrad_ce.ops import REGISTRY
    cls = REGISTRY[op_name]
    right = cls.backward
    monkeypatch.setattr(cls, "backward", lambda self, gy, *xs: tuple(
        None if g is None else change(np.asarray(g)) for g in right(self, gy, *xs)))


@pytest.mark.parametrize("name", sorted(SMOOTH))
@pytest.mark.parametrize("fast", [False, True])
def test_every_element_scaled_by_1_0001_fails_by_default(name, fast, monkeypatch):
    fn, shapes, op = SMOOTH[name]
    inputs = smooth_inputs(shapes)
    report = tg.gradcheck(fn, inputs, seed=0, fast=fast)
    assert report and report.resolution < 1e-6, str(report)
    plant(monkeypatch, op, lambda g: g * 1.0001)
    assert not tg.gradcheck(fn, inputs, seed=0, fast=fast)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_one_element_off_by_1e_3_fails(name, monkeypatch):
    fn, shapes, op = SMOOTH[name]
    inputs = smooth_inputs(shapes, seed=1)

    def one_off(g):
        g = g.astype(np.float64)   # a new array: the right gradient is not written into
        if g.size:
            j = np.unravel_index(np.argmax(np.abs(g)), g.shape)
            g[j] += 1e-3 * abs(g[j])
        return g
    plant(monkeypatch, op, one_off)
    report = tg.gradcheck(fn, inputs, seed=0)
    assert not report and report.suspect and op in report.suspect


def test_the_report_states_its_resolution_and_tolerances(inputs):
    text = str(tg.gradcheck(net, inputs, seed=0))
    assert "resolution" in text and "estimated finite-difference error" in text
    assert "allowed" in text


def test_given_tolerances_are_honoured_exactly_including_zero(inputs):
    assert not tg.gradcheck(net, inputs, atol=0, rtol=0, seed=0)       # differences never exact
    loose = tg.gradcheck(net, inputs, atol=1e-5, rtol=1e-3, seed=0)
    assert loose and loose.inputs[0].allowed >= 1e-5 and "atol=1e-05" in str(loose)
    # the old defaults let a 0.1% error through; the estimated ones do not
    x = [np.array([0.3, -0.7, 1.1])]
    with pytest.MonkeyPatch.context() as mp:
        plant(mp, "tanh", lambda g: g * 1.001)
        assert tg.gradcheck(lambda t: tg.tanh(t), x, atol=1e-5, rtol=1e-2, seed=0)
        assert not tg.gradcheck(lambda t: tg.tanh(t), x, seed=0)


def test_explicit_eps_is_the_step():
    x = [np.array([1.0, 2.0])]
    # at eps = 0.1 even the Richardson value of exp' is off by about 1e-5
    assert tg.gradcheck(lambda t: tg.exp(t), x, eps=0.1, atol=1e-3, rtol=0)
    assert not tg.gradcheck(lambda t: tg.exp(t), x, eps=0.1, atol=1e-8, rtol=0)
    assert tg.gradcheck(lambda t: tg.exp(t), x, atol=1e-8, rtol=0)


# ---- kinks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, x, left, right", [
    (lambda t: tg.relu(t), np.array([0.0, 1.5, -2.0]), 0.0, 1.0),
    (lambda t: tg.abs(t), np.array([0.7, 0.0]), -1.0, 1.0),
    (lambda t: tg.maximum(t, 0.5), np.array([0.5, 1.0]), 0.0, 1.0),
])
def test_a_kink_is_reported_with_both_one_sided_derivatives_never_as_a_mismatch(fn, x, left,
                                                                                  right):
    report = tg.gradcheck(fn, [x], seed=3)
    assert report and report.suspect is None, str(report)
    assert len(report.kinks) == 1
    kink = report.kinks[0]
    j = int(np.flatnonzero(x == x[kink.index])[0])
    ratio = kink.right / kink.left if kink.left else None
    assert kink.index == (j,) and kink.input == 0
    if left == 0:
        assert abs(kink.left) < 1e-6 and abs(kink.right) > 1e-3
    else:
        np.testing.assert_allclose(ratio, right / left, rtol=1e-6)
    assert "kinks: 1 element" in str(report) and "left" in str(report)


def test_max_with_a_tie_is_a_kink_and_not_blamed_while_a_real_bug_elsewhere_fails(monkeypatch):
    x = np.array([[1.0, 1.0, 0.2], [0.3, 0.9, 0.1]])   # a tie in row 0
    report = tg.gradcheck(lambda t: t.max(axis=1), [x], seed=0)
    assert report and len(report.kinks) == 2          # both tied elements
    plant(monkeypatch, "exp", lambda g: g * 1.001)
    report = tg.gradcheck(lambda t: tg.exp(t).max(axis=1) + 0, [x], seed=0)
    assert not report and "exp" in report.suspect and "max" not in report.suspect


# ---- float32 --------------------------------------------------------------------------------------

def test_float32_gives_one_warning_per_check_and_correct_code_passes():
    import warnings
    rng = np.random.default_rng(0)
    for seed in range(20):
        x = rng.standard_normal((3, 4)).astype(np.float32)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = tg.gradcheck(lambda t: tg.softmax(tg.tanh(t)), [x], seed=seed)
            tg.gradgradcheck(lambda t: tg.tanh(t).sum(), [x], seed=seed)
        assert report, str(report)
        assert len([w for w in caught if "float64" in str(w.message)]) == 2


# ---- the textbook idiom ---------------------------------------------------------------------------

class BookNet:
    """The "Deep Learning from Scratch" shape: loss reads self.W."""

    def __init__(self):
        self.W = np.random.default_rng(0).standard_normal((3, 3))

    def loss(self, x, t):
        return tg.cross_entropy(tg.Tensor(x @ self.W), t).item()


def test_numerical_gradient_of_a_function_that_ignores_its_argument_and_reads_W():
    net, x, t = BookNet(), np.random.default_rng(1).standard_normal((4, 3)), LABELS
    before = net.W.copy()
    g = tg.numerical_gradient(lambda _: net.loss(x, t), net.W)
    W = tg.Tensor(before, requires_grad=True)
    tg.cross_entropy(tg.Tensor(x) @ W, t).backward()
    np.testing.assert_allclose(g, W.grad.data, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(net.W, before)        # restored exactly


def test_numerical_gradient_through_a_layer_parameter_tensor():
    layer, x = tg.Affine(3, 2, rng=0), np.random.default_rng(2).standard_normal((4, 3))
    g = tg.numerical_gradient(lambda _: float(np.sum(layer.forward(x) ** 2)), layer.W)
    np.testing.assert_allclose(g, x.T @ (2 * layer.forward(x)), rtol=1e-6)


def test_numerical_gradient_never_gives_silent_zeros():
    net, x = BookNet(), np.ones((2, 3))
    frozen = net.W.copy()
    frozen.setflags(write=False)
    net.W = frozen
    with pytest.warns(RuntimeWarning, match="read-only"):
        g = tg.numerical_gradient(lambda _: net.loss(x, np.array([0, 1])), frozen)
    assert not g.any()
    W = tg.Tensor(np.ones(3), requires_grad=True)
    y = (W * W).sum()                                     # W is saved on a live tape
    with pytest.raises(ValueError, match="live tape"):
        tg.numerical_gradient(lambda _: 0.0, W)
    y.backward()


# ---- the contract of each tape entry -------------------------------------------------------------

def test_an_op_backward_that_writes_into_its_incoming_gradient_fails(monkeypatch):
    from tinygrad_ce.ops.elementwise import ReLU
    right = ReLU.backward

    def book_relu(self, gy, x, y):
        g = right(self, gy, x, y)[0]
        if isinstance(gy, np.ndarray):
            gy[...] = 0                                   # after use: the value is right
        return (g,)
    monkeypatch.setattr(ReLU, "backward", book_relu)
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    report = tg.gradcheck(lambda t: tg.relu(t) * 2.0, [x], seed=0)
    assert not report and "mutated the gradient it received" in str(report)
