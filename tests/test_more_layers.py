"""Embedding, LayerNorm, LeakyReLU, MeanSquaredError and SVMLoss: three ways, on the tape,
against torch.nn in float64, and their errors; the factories."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays, hinge_scores


@given(shape=st.sampled_from([(3, 4), (2, 3, 4), (1, 4)]), seed=st.integers(0, 9), data=st.data())
def test_layer_norm_three_ways(shape, seed, data):
    x = data.draw(arrays(shape)) + np.arange(4) * 0.31   # each row has a variance
    layer = tg.LayerNorm(4)
    rng = np.random.default_rng(seed)
    layer.gamma.data[...] = rng.standard_normal(4)
    layer.beta.data[...] = rng.standard_normal(4)
    report = tg.check_layer(layer, x)
    assert report, str(report)


@given(x=arrays(st.tuples(st.integers(1, 4), st.integers(1, 4)), avoid=(0.0,)),
       slope=st.sampled_from([0.01, 0.2, 0.0, 1.5]))
def test_leaky_relu_three_ways(x, slope):
    assert tg.check_layer(tg.LeakyReLU(slope), x)


@given(idx=hnp.arrays(np.int64, st.sampled_from([(3,), (2, 3), (4, 1)]),
                      elements=st.integers(0, 4)), seed=st.integers(0, 9))
def test_embedding_three_ways_with_repeated_indices(idx, seed):
    report = tg.check_layer(tg.Embedding(5, 3, rng=seed), idx)
    assert report, str(report)


@given(y=arrays(st.tuples(st.integers(1, 4), st.integers(1, 3))),
       reduction=st.sampled_from(["mean", "sum", "none"]), data=st.data())
def test_mean_squared_error_three_ways(y, reduction, data):
    t = data.draw(arrays(y.shape))
    assert tg.check_layer(tg.MeanSquaredError(reduction), y, t)


@given(st_=hinge_scores(), reduction=st.sampled_from(["mean", "sum", "none"]),
       delta=st.sampled_from([1.0, 0.5]))
def test_svm_loss_three_ways(st_, reduction, delta):
    s, t = st_
    report = tg.check_layer(tg.SVMLoss(delta, reduction), s, t)
    assert report, str(report)


def test_svm_loss_by_hand_is_the_notes_example():
    layer = tg.SVMLoss(delta=10.0)
    s = np.array([[13.0, -7.0, 11.0]])
    assert layer.forward(s, np.array([0])) == 8.0
    np.testing.assert_array_equal(layer.backward(), [[-1.0, 0.0, 1.0]])


@pytest.mark.parametrize("make", [lambda: tg.LayerNorm(3), lambda: tg.LeakyReLU(0.1),
                                  lambda: tg.Embedding(4, 3, rng=0)])
def test_a_layer_called_twice_is_two_tape_entries_with_correct_gradients(make):
    layer = make()
    rng = np.random.default_rng(0)
    if isinstance(layer, tg.Embedding):
        x1, x2 = np.array([0, 3, 3]), np.array([3, 1, 0])
    else:
        x1, x2 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    floating = x1.dtype.kind == "f"
    xs = [tg.Tensor(x1, requires_grad=floating), tg.Tensor(x2, requires_grad=floating)]
    out = (layer(xs[0]) * 2).sum() + (layer(xs[1]) ** 2).sum()
    assert [e.op.name for e in out.tape()].count(layer.name) == 2
    wrt = (xs if floating else []) + layer.params()
    on_tape = tg.grad(out, wrt)
    ref = (layer.reference(xs[0]) * 2).sum() + (layer.reference(xs[1]) ** 2).sum()
    for g, r in zip(on_tape, tg.grad(ref, wrt)):
        np.testing.assert_allclose(g.data, r.data, rtol=1e-12, atol=1e-14)


def test_new_layers_agree_with_torch_nn_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 4))
    pairs = [(tg.LayerNorm(4), torch.nn.LayerNorm(4, dtype=torch.float64)),
             (tg.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2))]
    pairs[0][0].gamma.data[...] = rng.standard_normal(4)
    with torch.no_grad():
        pairs[0][1].weight.copy_(torch.tensor(pairs[0][0].gamma.data))
    gy = rng.standard_normal(x.shape)
    for ours, theirs in pairs:
        xt, tt = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, yt = ours(xt), theirs(tt)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-14)
        y.backward(gy)
        yt.backward(torch.tensor(gy))
        np.testing.assert_allclose(xt.grad.data, tt.grad.numpy(), rtol=1e-10, atol=1e-13)
        for p, q in zip(ours.params(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-13)
    emb, idx = tg.Embedding(5, 3, rng=0), np.array([[0, 4, 4], [2, 0, 1]])
    emb_t = torch.nn.Embedding(5, 3, dtype=torch.float64)
    with torch.no_grad():
        emb_t.weight.copy_(torch.tensor(emb.W.data))
    g = rng.standard_normal((2, 3, 3))
    emb(tg.Tensor(idx)).backward(g)
    emb_t(torch.tensor(idx)).backward(torch.tensor(g))
    np.testing.assert_allclose(emb.W.grad.data, emb_t.weight.grad.numpy(), rtol=1e-12)


def test_loss_layers_agree_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    s, t, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5), rng.standard_normal((5, 4))
    for reduction in ("mean", "sum", "none"):
        ours = tg.SVMLoss(reduction=reduction).forward(s, t)
        theirs = 4 * torch.nn.MultiMarginLoss(reduction=reduction)(torch.tensor(s),
                                                                    torch.tensor(t))
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)
        ours = tg.MeanSquaredError(reduction).forward(s, y)
        theirs = torch.nn.MSELoss(reduction=reduction)(torch.tensor(s), torch.tensor(y))
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


def test_loss_layers_stay_finite_at_scores_of_1e4():
    s = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]])
    for layer, t in ((tg.SVMLoss(), np.array([1, 0])), (tg.MeanSquaredError(), -s)):
        loss = layer.forward(s, t)
        assert np.isfinite(loss) and np.all(np.isfinite(layer.backward()))


@pytest.mark.parametrize("call,error,words", [
    (lambda: tg.Embedding(4, 2).forward(np.array([0.0, 1.0])), TypeError,
     ["embedding", "integers", "astype"]),
    (lambda: tg.Embedding(4, 2).forward(np.array([0, 4])), ValueError, ["[0, 4)", "4"]),
    (lambda: tg.LayerNorm(3).forward(np.ones((2, 4))), ValueError, ["(..., 3)", "(2, 4)"]),
    (lambda: tg.MeanSquaredError().forward(np.ones(3), np.ones(2)), ValueError,
     ["mean_squared_error", "(3,)", "(2,)"]),
    (lambda: tg.SVMLoss().forward(np.ones((2, 3)), np.array([0, 5])), ValueError, ["[0, 3)"]),
    (lambda: tg.SVMLoss().backward(), ValueError, ["forward first"]),
])
def test_layer_errors_are_clear(call, error, words):
    with pytest.raises(error) as e:
        call()
    for w in words:
        assert w in str(e.value)


def test_factories_follow_numpy_and_the_default_dtype():
    assert tg.zeros((2, 3)).shape == (2, 3) and tg.zeros(4).dtype == np.float64
    assert tg.ones(2, dtype=np.float32).dtype == np.float32
    assert tg.zeros(3, requires_grad=True).requires_grad and tg.zeros(3).is_leaf
    x = tg.Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(tg.zeros_like(x).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(tg.ones_like(x.data).data, np.ones((2, 3)))
    assert tg.zeros_like(np.arange(3)).dtype == np.int64
    np.testing.assert_array_equal(tg.randn(2, 3, rng=5).data,
                                  np.random.default_rng(5).standard_normal((2, 3)))
    assert tg.randn((2, 3), rng=5).shape == (2, 3)
    r = tg.rand(1000, rng=0).data
    assert r.min() >= 0 and r.max() < 1 and tg.rand(2, dtype=np.float32).dtype == np.float32
    assert tg.arange(4).dtype == np.int64 and tg.arange(0.0, 1.0, 0.25).shape == (4,)
    assert tg.arange(3, dtype=np.float64, requires_grad=True).requires_grad
    np.testing.assert_array_equal(tg.eye(3).data, np.eye(3))
    assert tg.eye(2, 3).shape == (2, 3)
    tg.set_default_dtype(np.float32)
    try:
        assert tg.zeros(2).dtype == np.float32 and tg.randn(2, rng=0).dtype == np.float32
    finally:
        tg.set_default_dtype(np.float64)
    with pytest.raises(ValueError, match="randn"):
        tg.randn(2, -1)
    with pytest.raises(TypeError, match="requires_grad"):
        tg.arange(3, requires_grad=True)
