"""The mathematics of logistic and softmax regression, as properties (issue: layers)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays, logits_and_labels, probability_rows

rows = st.tuples(st.integers(1, 5), st.integers(2, 5))


def softmax_np(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@given(x=arrays(rows, lo=-10, hi=10), c=st.floats(-50, 50))
def test_1_softmax_is_shift_invariant(x, c):
    np.testing.assert_allclose(tg.softmax(tg.Tensor(x + c)).data, tg.softmax(tg.Tensor(x)).data,
                               atol=1e-12)


@given(xt=logits_and_labels())
def test_2_cross_entropy_gradient_is_p_minus_onehot_over_n_and_rows_sum_to_zero(xt):
    x, t = xt
    n, k = x.shape
    logits = tg.Tensor(x, requires_grad=True)
    tg.cross_entropy(logits, t).backward()
    expected = (softmax_np(x) - np.eye(k)[t]) / n
    np.testing.assert_allclose(logits.grad.data, expected, atol=1e-12)
    np.testing.assert_allclose(logits.grad.data.sum(axis=1), 0, atol=1e-12)


@given(z=arrays(st.integers(1, 6).map(lambda n: (n,)), lo=-30, hi=30))
def test_3_two_class_softmax_is_logistic(z):
    logits = np.stack([np.zeros_like(z), z], axis=1)
    np.testing.assert_allclose(tg.softmax(tg.Tensor(logits)).data[:, 1],
                               tg.sigmoid(tg.Tensor(z)).data, rtol=1e-12, atol=1e-300)


@given(x=arrays(lo=-20, hi=20))
def test_4_sigmoid_derivative_is_s_times_one_minus_s(x):
    t = tg.Tensor(x, requires_grad=True)
    tg.sigmoid(t).sum().backward()
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(t.grad.data, s * (1 - s), atol=1e-15)


def softmax_regression_loss(W, X, t, lam=0.0):
    loss = tg.cross_entropy(X @ W, t)
    return loss + lam * (W * W).sum() if lam else loss


@given(data=st.data(), d=st.integers(1, 3), k=st.integers(2, 3))
def test_5_softmax_regression_is_overparameterised_and_l2_makes_it_strictly_convex(data, d, k):
    X = data.draw(arrays((4, d)))
    t = data.draw(st.lists(st.integers(0, k - 1), min_size=4, max_size=4).map(np.array))
    W = data.draw(arrays((d, k)))
    v = data.draw(arrays((d,)))
    same = softmax_regression_loss(tg.Tensor(W - v[:, None]), tg.Tensor(X), t).item()
    np.testing.assert_allclose(same, softmax_regression_loss(tg.Tensor(W), tg.Tensor(X), t).item(),
                               rtol=1e-10)

    def hessian(lam):
        Wt = tg.Tensor(W, requires_grad=True)
        (g,) = tg.grad(softmax_regression_loss(Wt, tg.Tensor(X), t, lam), [Wt], create_graph=True)
        g = g.reshape(-1)
        return np.stack([tg.grad(g[i], [Wt], retain_graph=True)[0].data.reshape(-1)
                         for i in range(g.shape[0])])
    H0, lam = hessian(0.0), 0.1
    Hl = hessian(lam)
    np.testing.assert_allclose(H0, H0.T, atol=1e-10)
    assert np.linalg.eigvalsh(H0).min() < 1e-9          # flat along the W - v 1^T direction
    assert np.linalg.eigvalsh(Hl).min() >= 2 * lam - 1e-9  # positive definite with L2


@given(data=st.data())
def test_6_cross_entropy_is_entropy_plus_kl(data):
    p = data.draw(probability_rows())
    x = data.draw(arrays(p.shape))
    q = softmax_np(x)
    ce = tg.cross_entropy(tg.Tensor(x), p, reduction="none").data
    entropy = -np.sum(p * np.log(p), axis=1)
    kl = np.sum(p * (np.log(p) - np.log(q)), axis=1)
    np.testing.assert_allclose(ce, entropy + kl, rtol=1e-9, atol=1e-12)
    t = data.draw(st.lists(st.integers(0, p.shape[1] - 1), min_size=p.shape[0],
                           max_size=p.shape[0]).map(np.array))
    onehot_kl = -np.log(q[np.arange(len(t)), t])      # KL(onehot || q), as H(onehot) = 0
    np.testing.assert_allclose(tg.cross_entropy(tg.Tensor(x), t, reduction="none").data,
                               onehot_kl, rtol=1e-9)


@given(data=st.data(), m=st.integers(1, 6), d=st.integers(1, 3))
def test_7_logistic_regression_gradients(data, m, d):
    X, w = data.draw(arrays((m, d))), data.draw(arrays((d,)))
    b = data.draw(st.floats(-2, 2))
    y = data.draw(arrays((m,), lo=0, hi=1).map(np.round))
    wt, bt = tg.Tensor(w, requires_grad=True), tg.Tensor(b, requires_grad=True)
    tg.binary_cross_entropy_with_logits(tg.Tensor(X) @ wt + bt, y).backward()
    r = y - 1 / (1 + np.exp(-(X @ w + b)))
    np.testing.assert_allclose(wt.grad.data, -(X.T @ r) / m, atol=1e-12)
    np.testing.assert_allclose(bt.grad.data, -np.sum(r) / m, atol=1e-12)


@given(data=st.data(), n=st.integers(1, 5), d=st.integers(1, 3), k=st.integers(2, 4),
       lam=st.floats(0, 1))
def test_8_l2_regularised_softmax_gradient(data, n, d, k, lam):
    X, W = data.draw(arrays((n, d))), data.draw(arrays((d, k)))
    t = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n).map(np.array))
    Wt = tg.Tensor(W, requires_grad=True)
    softmax_regression_loss(Wt, tg.Tensor(X), t, lam).backward()
    expected = X.T @ (softmax_np(X @ W) - np.eye(k)[t]) / n + 2 * lam * W
    np.testing.assert_allclose(Wt.grad.data, expected, atol=1e-12)


@given(xt=logits_and_labels(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_9_labels_and_one_hot_rows_agree(xt, reduction):
    x, t = xt
    results = []
    for target in (t, np.eye(x.shape[1])[t]):
        layer = tg.SoftmaxWithLoss(reduction)
        loss = layer.forward(x, target)
        results.append((loss, layer.backward(np.ones_like(loss) * 1.7)))
        xt_ = tg.Tensor(x, requires_grad=True)
        out = tg.cross_entropy(xt_, target, reduction)
        out.backward(np.ones_like(out.data) * 1.7)
        results.append((out.data, xt_.grad.data))
    for loss, grad in results[1:]:
        np.testing.assert_allclose(loss, results[0][0], rtol=1e-12)
        np.testing.assert_allclose(grad, results[0][1], atol=1e-14)
