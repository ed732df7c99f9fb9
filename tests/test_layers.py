"""Layers by hand and on the tape, checked three ways; their modes, numerics and errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays, logits_and_labels, probability_rows


def activation_layers():
    return [tg.Sigmoid(), tg.ReLU(), tg.Tanh(), tg.Softmax(), tg.Softmax(axis=0)]


@given(x=arrays(st.tuples(st.integers(1, 4), st.integers(1, 4)), avoid=(0.0,)),
       which=st.integers(0, 4))
def test_activation_layers_three_ways(x, which):
    report = tg.check_layer(activation_layers()[which], x)
    assert report, str(report)


@given(n=st.integers(1, 4), shape=st.sampled_from([(3,), (1, 3), (3, 1, 1)]),
       out=st.integers(1, 3), init=st.sampled_from(["xavier", "he", 0.3]), seed=st.integers(0, 9),
       data=st.data())
def test_affine_three_ways_with_flattened_input(n, shape, out, init, seed, data):
    x = data.draw(arrays((n, *shape)))
    report = tg.check_layer(tg.Affine(3, out, init=init, rng=seed), x)
    assert report, str(report)


@given(x=arrays(st.tuples(st.integers(2, 5), st.integers(1, 3))), train=st.booleans())
def test_batchnorm_three_ways(x, train):
    x = x + np.arange(x.shape[0])[:, None] * 0.37   # rows differ: the batch has a variance
    layer = tg.BatchNorm(x.shape[1])
    layer.forward(x * 2 + 1)                         # running statistics away from (0, 1)
    report = tg.check_layer(layer if train else layer.eval(), x)
    assert report, str(report)


@given(x=arrays((3, 4)), p=st.sampled_from([0.0, 0.2, 0.5]), seed=st.integers(0, 5))
def test_dropout_three_ways(x, p, seed):
    assert tg.check_layer(tg.Dropout(p, rng=seed), x)
    assert tg.check_layer(tg.Dropout(p, rng=seed).eval(), x)


@given(xt=logits_and_labels(), reduction=st.sampled_from(["mean", "sum", "none"]),
       one_hot=st.booleans(), data=st.data())
def test_softmax_with_loss_three_ways(xt, reduction, one_hot, data):
    x, t = xt
    target = np.eye(x.shape[1])[t] if one_hot else t
    if data.draw(st.booleans(), label="soft targets"):
        target = data.draw(probability_rows(*x.shape))
    report = tg.check_layer(tg.SoftmaxWithLoss(reduction), x, target)
    assert report, str(report)


@given(z=arrays(st.tuples(st.integers(1, 4), st.integers(1, 3)), lo=-5, hi=5),
       reduction=st.sampled_from(["mean", "sum", "none"]), data=st.data())
def test_sigmoid_with_loss_three_ways(z, reduction, data):
    t = data.draw(arrays(z.shape, lo=0, hi=1))
    assert tg.check_layer(tg.SigmoidWithLoss(reduction), z, t)


def test_sequential_by_hand_equals_tape_equals_finite_differences():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 4)), np.array([0, 2, 1, 1, 0])
    model = tg.Sequential(tg.Affine(4, 6, rng=1), tg.Sigmoid(), tg.Affine(6, 3, rng=2))
    assert tg.check_layer(model, x)
    loss_layer = tg.SoftmaxWithLoss()
    loss = loss_layer(model(tg.Tensor(x)), t)
    loss.backward()
    on_tape = [p.grad.data.copy() for p in model.params()]
    model.zero_grad()
    by_hand = loss_layer.forward(model.forward(x), t)
    model.backward(loss_layer.backward())
    np.testing.assert_allclose(by_hand, loss.item())
    for g, p in zip(on_tape, model.params()):
        np.testing.assert_allclose(p.grad.data, g)

    def fd(w):
        with tg.no_grad():
            return loss_layer.forward(model.forward(x), t)
    W = model[0].W
    saved = W.data.copy()
    numeric = tg.numerical_gradient(lambda v: (W.data.__setitem__(..., v), fd(v))[1], saved)
    W.data[...] = saved
    np.testing.assert_allclose(on_tape[0], numeric, rtol=1e-6, atol=1e-9)


def test_one_tape_entry_per_layer_call():
    model = tg.Sequential(tg.Affine(3, 4, rng=0), tg.ReLU(), tg.Affine(4, 2, rng=1))
    loss = tg.SoftmaxWithLoss()(model(tg.Tensor(np.ones((2, 3)))), np.array([0, 1]))
    assert [e.op.name for e in loss.tape()] == ["affine", "relu", "affine", "softmax_with_loss"]


def test_a_layer_used_twice_in_one_graph():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    A = tg.Affine(3, 3, rng=2)
    xt = tg.Tensor(x, requires_grad=True)
    A(tg.tanh(A(xt))).sum().backward()
    W, b = tg.Tensor(A.W.data, requires_grad=True), tg.Tensor(A.b.data, requires_grad=True)
    X = tg.Tensor(x, requires_grad=True)
    (tg.tanh(X @ W + b) @ W + b).sum().backward()
    for got, want in [(A.W.grad, W.grad), (A.b.grad, b.grad), (xt.grad, X.grad)]:
        np.testing.assert_allclose(got.data, want.data)


def test_second_derivatives_through_layers():
    x, t = np.random.default_rng(4).standard_normal((4, 3)), np.array([0, 1, 1, 0])
    net = tg.Sequential(tg.Affine(3, 4, rng=0), tg.Tanh(), tg.BatchNorm(4), tg.Affine(4, 2, rng=1))
    assert tg.gradgradcheck(lambda X: tg.SoftmaxWithLoss()(net(X), t), [x], seed=0)


def test_hand_computed_losses():
    x = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])      # softmax rows (1/2, 1/2), (3/4, 1/4)
    layer = tg.SoftmaxWithLoss()
    np.testing.assert_allclose(layer.forward(x, np.array([0, 1])), (np.log(2) + np.log(4)) / 2)
    np.testing.assert_allclose(layer.backward(), [[-0.25, 0.25], [0.375, -0.375]])
    np.testing.assert_allclose(layer.backward(2.0), [[-0.5, 0.5], [0.75, -0.75]])
    s = tg.SigmoidWithLoss()
    np.testing.assert_allclose(s.forward(np.array([0.0, 0.0]), np.array([1.0, 0.0])), np.log(2))
    np.testing.assert_allclose(s.backward(), [-0.25, 0.25])


# ---- the checker catches the classic mistakes -------------------------------------------------

class BookReLU(tg.ReLU):
    """The classic Relu.backward that writes into the incoming gradient."""

    def backward(self, dout):
        dout[~self.mask] = 0
        return dout


class IgnoresDout(tg.SoftmaxWithLoss):
    """The classic SoftmaxWithLoss.backward that ignores dout."""

    def backward(self, dout=1.0):
        return (self.y - self.t) / self.y.shape[0]


def test_check_layer_catches_a_backward_that_writes_into_dout():
    report = tg.check_layer(BookReLU(), np.array([[1.0, -2.0, 3.0]]))
    assert not report and "FAIL dout not mutated" in str(report)


def test_check_layer_catches_a_backward_that_ignores_dout():
    report = tg.check_layer(IgnoresDout(), np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0, 1]))
    assert not report
    assert "FAIL backward scales" in str(report)


def test_check_layer_report_is_a_readable_table():
    text = str(tg.check_layer(tg.Affine(2, 2, rng=0), np.ones((3, 2))))
    assert "|own - numeric|" in text and "W" in text and "PASSED" in text


# ---- modes ------------------------------------------------------------------------------------

def test_dropout_is_inverted_and_off_in_eval():
    x = np.ones((200, 50))
    d = tg.Dropout(0.4, rng=0)
    y = d.forward(x)
    assert set(np.unique(y)) <= {0.0, 1 / 0.6}
    assert abs(y.mean() - 1.0) < 0.03
    np.testing.assert_array_equal(d.eval().forward(x), x)


def test_batchnorm_running_statistics_follow_pytorch():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])
    bn = tg.BatchNorm(2, momentum=0.1)
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1))
    bn.eval()
    np.testing.assert_allclose(bn.forward(x), (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5))


# ---- numerics ---------------------------------------------------------------------------------

def test_layers_stay_finite_for_inputs_of_magnitude_1e4():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 5e3, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for layer, args in [(tg.Sigmoid(), (x,)), (tg.Tanh(), (x,)), (tg.Softmax(), (x,)),
                            (tg.SoftmaxWithLoss(), (x, np.array([1, 0]))),
                            (tg.SigmoidWithLoss(), (x, np.zeros_like(x)))]:
            out = layer.forward(*args)
            dx = layer.backward(np.ones_like(out))
            assert np.isfinite(out).all() and np.isfinite(dx).all(), layer.name
        np.testing.assert_allclose(tg.Sigmoid().forward(np.array([-1000.0, 1000.0])), [0, 1])


# ---- bad input --------------------------------------------------------------------------------

def test_affine_names_expected_and_got_features():
    with pytest.raises(ValueError, match=r"expected 4 features.*shape \(2, 3\)"):
        tg.Affine(4, 2).forward(np.ones((2, 3)))


@pytest.mark.parametrize("t, message", [
    (np.array([0, 3]), r"labels must be in \[0, 3\)"),
    (np.array([0, -1]), r"labels must be in \[0, 3\).*-1"),
    (np.array([0]), "1 labels for a batch of 2"),
    (np.ones((2, 2)) / 2, r"target of shape \(2, 2\) does not fit"),
])
def test_softmax_with_loss_bad_targets(t, message):
    with pytest.raises(ValueError, match=message):
        tg.SoftmaxWithLoss().forward(np.zeros((2, 3)), t)


def test_sigmoid_with_loss_bad_targets():
    with pytest.raises(ValueError, match="does not match logits"):
        tg.SigmoidWithLoss().forward(np.zeros((2, 3)), np.zeros(3))


def test_dropout_p_out_of_range():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            tg.Dropout(p)


def test_batchnorm_batch_of_one_in_training():
    with pytest.raises(ValueError, match="batch of one.*eval"):
        tg.BatchNorm(3).forward(np.ones((1, 3)))
    tg.BatchNorm(3).eval().forward(np.ones((1, 3)))


def test_backward_before_forward():
    for layer in [tg.Affine(2, 2), tg.ReLU(), tg.Sigmoid(), tg.SoftmaxWithLoss(), tg.BatchNorm(2)]:
        with pytest.raises(ValueError, match="call forward first"):
            layer.backward(np.ones((1, 2)))


def test_bad_reduction_and_init():
    with pytest.raises(ValueError, match="reduction must be one of"):
        tg.SoftmaxWithLoss("avg")
    with pytest.raises(ValueError, match="init must be"):
        tg.Affine(2, 2, init="glorot")


@pytest.mark.parametrize("name", sorted(tg.layers.catalogue()))
def test_arrays_a_layer_leaves_unlocked_are_never_read_by_its_backward(name):
    layer, inputs = tg.layers.catalogue()[name](np.random.default_rng(0))
    floating = inputs[0].dtype.kind == "f"    # Embedding's indices get no gradient
    x = tg.Tensor(inputs[0].copy(), requires_grad=floating)
    extra = [inputs[1].copy()] if layer.is_loss else []
    out = layer(x, *extra)
    gy = np.random.default_rng(1).standard_normal(out.shape)
    params = [x, *layer.params()] if floating else layer.params()
    expected = tg.grad(out, params, gy, retain_graph=True)
    entries = [e for e in out.tape()]
    for e in entries:
        for t in [*e.inputs, e.output]:
            if t._data.flags.writeable and t._data.size:
                t._data[...] = 7.0          # garbage where backward must not look
    for e, g in zip(expected, tg.grad(out, params, gy)):
        np.testing.assert_allclose(g.data, e.data, err_msg=name)
