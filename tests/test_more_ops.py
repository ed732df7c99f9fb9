"""The second round's ops against PyTorch in float64 (first and second order, 1e-10 relative),
their conventions, numerics at large logits, and their errors."""

import numpy as np
import pytest

import tinygrad_ce as tg

RTOL = 1e-10


def both_ways(f_tg, f_torch, arrays, diff, seed=0, second_order=True):
    """Forward, first and second order gradients of f in both libraries (random gy and v)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    xs = [tg.Tensor(a.copy(), requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    y, yt = f_tg(*xs), f_torch(*ts)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=RTOL, atol=1e-14)
    gy = rng.standard_normal(y.shape)
    gs = tg.grad(y, [xs[i] for i in diff], gy, create_graph=True)
    gts = torch.autograd.grad(yt, [ts[i] for i in diff], torch.tensor(gy), create_graph=True)
    for g, gt in zip(gs, gts):
        np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=RTOL, atol=1e-14)
    if not second_order:
        return
    vs = [rng.standard_normal(g.shape) for g in gs]
    second = sum((g * v).sum() for g, v in zip(gs, vs))
    second_t = sum((g * torch.tensor(v)).sum() for g, v in zip(gts, vs))
    hts = (torch.autograd.grad(second_t, [ts[i] for i in diff], allow_unused=True)
           if second_t.requires_grad else [None] * len(diff))
    hs = (tg.grad(second, [xs[i] for i in diff]) if getattr(second, "requires_grad", False)
          else [None] * len(diff))   # piecewise linear: no second-order graph at all
    for i, h, ht in zip(diff, hs, hts):
        expected = np.zeros(arrays[i].shape) if ht is None else ht.numpy()
        got = np.zeros(arrays[i].shape) if h is None else h.data
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-13)


def unary_cases():
    import torch.nn.functional as F
    return {
        "log1p": (tg.log1p, lambda x: x.log1p(), (-0.9, 5)),
        "sin": (tg.sin, lambda x: x.sin(), (-7, 7)),
        "cos": (tg.cos, lambda x: x.cos(), (-7, 7)),
        "square": (tg.square, lambda x: x.square(), (-3, 3)),
        "softplus": (tg.softplus, F.softplus, (-15, 15)),
        "leaky_relu": (tg.leaky_relu, F.leaky_relu, (-3, 3)),
        "leaky_relu_0.2": (lambda x: tg.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2),
                           (-3, 3)),
        "gelu": (tg.gelu, lambda x: F.gelu(x, approximate="tanh"), (-6, 6)),
    }


@pytest.mark.parametrize("name", ["log1p", "sin", "cos", "square", "softplus", "leaky_relu",
                                  "leaky_relu_0.2", "gelu"])
def test_elementwise_ops_agree_with_torch(name):
    pytest.importorskip("torch")
    f, f_torch, (lo, hi) = unary_cases()[name]
    x = np.random.default_rng(1).uniform(lo, hi, (4, 5))
    both_ways(f, f_torch, [x], diff=[0])


def test_leaky_relu_slope_at_zero_is_the_negative_slope_as_torch():
    pytest.importorskip("torch")
    x = np.array([-1.0, 0.0, 1.0])
    both_ways(lambda x: tg.leaky_relu(x, 0.3), lambda x: __import__("torch").nn.functional
              .leaky_relu(x, 0.3), [x], diff=[0])
    xt = tg.Tensor(x, requires_grad=True)
    tg.leaky_relu(xt, 0.3).sum().backward()
    np.testing.assert_array_equal(xt.grad.data, [0.3, 0.3, 1.0])


@pytest.mark.parametrize("axis,keepdims,ddof", [(None, False, 0), (0, True, 1), (1, False, 0),
                                                ((0, 2), False, 1), (-1, True, 2)])
@pytest.mark.parametrize("which", ["var", "std"])
def test_var_and_std_agree_with_torch(which, axis, keepdims, ddof):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((3, 4, 5))
    dim = None if axis is None else axis
    both_ways(lambda x: getattr(tg, which)(x, axis, keepdims, ddof),
              lambda x: getattr(torch, which)(x, dim=dim, keepdim=keepdims, correction=ddof),
              [x], diff=[0])


def test_std_of_a_constant_slice_has_zero_gradient_as_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    xt = tg.Tensor(x, requires_grad=True)
    tg.std(xt, axis=1).sum().backward()
    t = torch.tensor(x, requires_grad=True)
    t.std(dim=1, correction=0).sum().backward()
    np.testing.assert_allclose(xt.grad.data, t.grad.numpy(), rtol=RTOL)
    np.testing.assert_array_equal(xt.grad.data[0], 0)


def test_var_matches_numpy_and_methods_match_functions():
    x = np.random.default_rng(3).standard_normal((4, 3))
    t = tg.Tensor(x)
    np.testing.assert_allclose(t.var(axis=0, ddof=1).data, x.var(axis=0, ddof=1))
    np.testing.assert_allclose(t.std().data, x.std())
    np.testing.assert_allclose(tg.std(t, 1, True).data, x.std(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_agrees_with_torch_for_both_inputs(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    y, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    both_ways(lambda y, t: tg.mse_loss(y, t, reduction),
              lambda y, t: torch.nn.functional.mse_loss(y, t, reduction=reduction),
              [y, t], diff=[0, 1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_hinge_loss_is_k_times_torchs_multi_margin_loss(reduction, delta):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    s, t = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    both_ways(lambda s: tg.multiclass_hinge_loss(s, t, delta, reduction),
              lambda s: 4 * torch.nn.functional.multi_margin_loss(
                  s, torch.tensor(t), margin=delta, reduction=reduction), [s], diff=[0],
              second_order=False)   # torch has no second derivative of multi_margin_loss


def test_hinge_loss_by_hand_on_the_notes_example():
    # the linear-classifier notes' example: scores (13, -7, 11), correct class 0, delta 10
    s = np.array([[13.0, -7.0, 11.0]])
    assert tg.multiclass_hinge_loss(s, np.array([0]), delta=10.0).item() == 8.0
    # a loop over the classes, for random scores
    rng = np.random.default_rng(6)
    s, t = rng.standard_normal((5, 4)) * 2, rng.integers(0, 4, 5)
    loops = [sum(max(0.0, s[i, j] - s[i, t[i]] + 1) for j in range(4) if j != t[i])
             for i in range(5)]
    np.testing.assert_allclose(tg.multiclass_hinge_loss(s, t).item(), np.mean(loops))
    np.testing.assert_allclose(tg.multiclass_hinge_loss(s, t, reduction="none").data, loops)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_agrees_with_torch_and_with_cross_entropy(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    both_ways(lambda lp: tg.nll_loss(lp, t, reduction),
              lambda lp: torch.nn.functional.nll_loss(lp, torch.tensor(t), reduction=reduction),
              [x], diff=[0])
    np.testing.assert_allclose(tg.nll_loss(tg.log_softmax(x), t, reduction).data,
                               tg.cross_entropy(x, t, reduction).data, rtol=1e-14)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # torch's own advice
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "mean", "none"])
def test_kl_div_agrees_with_torch_in_torchs_argument_order(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(4), size=3)
    log_q = np.log(rng.dirichlet(np.ones(4), size=3))
    both_ways(lambda lq, p: tg.kl_div(lq, p, reduction),
              lambda lq, p: torch.nn.functional.kl_div(lq, p, reduction=reduction),
              [log_q, p], diff=[0, 1])


def test_kl_div_takes_0_log_0_as_0_and_is_the_kl_divergence():
    p = np.array([[0.0, 0.25, 0.75]])
    q = np.array([[0.2, 0.3, 0.5]])
    expected = 0.25 * np.log(0.25 / 0.3) + 0.75 * np.log(0.75 / 0.5)
    lq, pt = tg.Tensor(np.log(q), requires_grad=True), tg.Tensor(p, requires_grad=True)
    loss = tg.kl_div(lq, pt)
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-14)
    loss.backward()
    np.testing.assert_allclose(lq.grad.data, -p)
    np.testing.assert_allclose(pt.grad.data, [[0.0, *(np.log(p[0, 1:] / q[0, 1:]) + 1)]],
                               rtol=1e-14)
    assert tg.kl_div(np.log(p + 1e-300), p).item() == pytest.approx(0, abs=1e-12)


def test_cross_entropy_is_entropy_plus_kl():
    rng = np.random.default_rng(9)
    x, p = rng.standard_normal((4, 5)), rng.dirichlet(np.ones(5), size=4)
    entropy = -(p * np.log(p)).sum(axis=1).mean()
    kl = tg.kl_div(tg.log_softmax(x), p).item()
    np.testing.assert_allclose(tg.cross_entropy(x, p).item(), entropy + kl, rtol=1e-12)


def test_losses_and_softplus_stay_finite_at_logits_of_1e4():
    s = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]])
    t = np.array([0, 2])
    for f in (lambda s: tg.multiclass_hinge_loss(s, t), lambda s: tg.nll_loss(tg.log_softmax(s), t),
              lambda s: tg.kl_div(tg.log_softmax(s), np.full((2, 3), 1 / 3)),
              lambda s: tg.softplus(s).sum(), lambda s: tg.gelu(s).sum(),
              lambda s: tg.mse_loss(s, s * 0.5)):
        st = tg.Tensor(s, requires_grad=True)
        loss = f(st)
        loss.backward()
        assert np.isfinite(loss.item()) and np.all(np.isfinite(st.grad.data))
    np.testing.assert_array_equal(tg.softplus(np.array([1e4, -1e4])).data, [1e4, 0.0])


def test_shape_methods_and_their_gradients():
    x = tg.Tensor(np.arange(6.0).reshape(2, 1, 3), requires_grad=True)
    assert x.flatten().shape == (6,) and x.squeeze().shape == (2, 3)
    assert x.squeeze(1).shape == (2, 3) and tg.squeeze(x, -2).shape == (2, 3)
    assert x.expand_dims(0).shape == (1, 2, 1, 3) and tg.expand_dims(x, -1).shape == (2, 1, 3, 1)
    (x.flatten() * np.arange(6)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0).reshape(2, 1, 3))
    assert [e.op.name for e in x.flatten().tape()] == ["flatten"]


def test_argmax_argmin_and_tolist_follow_numpy_and_carry_no_gradient():
    a = np.array([[3.0, 9.0, 1.0], [7.0, 2.0, 8.0]])
    x = tg.Tensor(a, requires_grad=True)
    for axis in (None, 0, 1, -1):
        np.testing.assert_array_equal(x.argmax(axis=axis).data, a.argmax(axis=axis))
        np.testing.assert_array_equal(x.argmin(axis).data, a.argmin(axis))
        assert not x.argmax(axis).requires_grad
    assert x.tolist() == a.tolist() and isinstance(x.tolist()[0][0], float)


def test_astype_gives_the_gradient_back_in_the_input_dtype():
    x = tg.Tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y * np.float32(3)).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    g, = tg.grad((x.astype(np.float32) ** 2).sum(), [x], create_graph=True)
    assert g.dtype == np.float64 and g.requires_grad   # the op's own cast, not the engine's
    labels = x.astype(np.int64)
    assert labels.dtype == np.int64 and not labels.requires_grad


@pytest.mark.parametrize("call,words", [
    (lambda: tg.var(np.ones(3), ddof=3), ["var", "ddof=3", "degrees of freedom"]),
    (lambda: tg.squeeze(np.ones((2, 3)), 0), ["squeeze", "(2, 3)", "length 1"]),
    (lambda: tg.mse_loss(np.ones(3), np.ones((3, 1))), ["mse_loss", "(3,)", "(3, 1)"]),
    (lambda: tg.multiclass_hinge_loss(np.ones((2, 3)), np.array([0, 3])), ["labels", "[0, 3)"]),
    (lambda: tg.multiclass_hinge_loss(np.ones(3), np.array([0])), ["(N, K)", "reshape"]),
    (lambda: tg.nll_loss(np.ones((2, 3)), np.array([0])), ["nll_loss", "1 labels"]),
    (lambda: tg.kl_div(np.ones((2, 3)), np.ones((2, 2))), ["kl_div", "(2, 3)", "(2, 2)"]),
    (lambda: tg.kl_div(np.ones(3), np.ones(3), reduction="avg"), ["batchmean"]),
    (lambda: tg.kl_div(np.ones(2), -np.ones(2)), ["kl_div", ">= 0"]),
])
def test_bad_input_is_a_clear_error(call, words):
    with pytest.raises((ValueError, TypeError)) as e:
        call()
    for w in words:
        assert w in str(e.value)


def test_numpy_spellings_stay_on_the_tape():
    x = tg.Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = np.sin(x) + np.cos(x) + np.log1p(x) + np.square(x)
    assert [e.op.name for e in y.tape()][:4] == ["sin", "cos", "add", "log1p"]
    y.sum().backward()
    a = x.data
    np.testing.assert_allclose(x.grad.data, np.cos(a) - np.sin(a) + 1 / (1 + a) + 2 * a)
    m = tg.Tensor(np.arange(6.0).reshape(2, 3, 1), requires_grad=True)
    for got, want in [(np.var(m, axis=1, ddof=1), tg.var(m, 1, False, 1)), (np.std(m), tg.std(m)),
                      (np.squeeze(m), m.squeeze()), (np.expand_dims(m, 0), m.expand_dims(0))]:
        assert got.requires_grad and got.tape()[-1].op.name == want.tape()[-1].op.name
        np.testing.assert_array_equal(got.data, want.data)
