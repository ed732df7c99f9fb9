"""Optimizers follow PyTorch's documented update rules; L-BFGS and Newton converge."""

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce import optim

A = np.array([[3.0, 0.5], [0.5, 1.0]])


def quadratic_steps(make, steps=5):
    """Positions of p over ``steps`` steps on f(p) = 1/2 p.A.p, with the optimizer from make."""
    p = tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = make([p])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (p @ (tg.Tensor(A) @ p))).backward()
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


def reference_path(update, steps=5):
    p, state, path = np.array([1.0, -2.0]), {}, []
    for t in range(1, steps + 1):
        p = update(p, A @ p, state, t)
        path.append(p.copy())
    return np.array(path)


def test_sgd_with_momentum_nesterov_and_weight_decay_follows_pytorch():
    lr, m, wd = 0.1, 0.9, 0.01

    def torch_sgd(p, g, s, t):       # torch.optim.SGD, documented algorithm
        g = g + wd * p
        s["b"] = g if t == 1 else m * s["b"] + g
        return p - lr * (g + m * s["b"])
    got = quadratic_steps(lambda ps: optim.SGD(ps, lr, momentum=m, nesterov=True, weight_decay=wd))
    np.testing.assert_allclose(got, reference_path(torch_sgd), rtol=1e-12)
    plain = quadratic_steps(lambda ps: optim.SGD(ps, lr))
    np.testing.assert_allclose(plain, reference_path(lambda p, g, s, t: p - lr * g), rtol=1e-12)


def test_adam_follows_pytorch():
    lr, (b1, b2), eps, wd = 0.05, (0.8, 0.99), 1e-8, 0.1

    def torch_adam(p, g, s, t):
        g = g + wd * p
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        return p - lr * (s["m"] / (1 - b1 ** t)) / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    got = quadratic_steps(lambda ps: optim.Adam(ps, lr, betas=(b1, b2), weight_decay=wd))
    np.testing.assert_allclose(got, reference_path(torch_adam), rtol=1e-12)


def test_adagrad_and_rmsprop_follow_pytorch():
    def torch_adagrad(p, g, s, t):
        s["sum"] = s.get("sum", 0) + g * g
        return p - 0.1 * g / (np.sqrt(s["sum"]) + 1e-10)

    def torch_rmsprop(p, g, s, t):
        s["avg"] = 0.9 * s.get("avg", 0) + 0.1 * g * g
        s["buf"] = 0.5 * s.get("buf", 0) + g / (np.sqrt(s["avg"]) + 1e-8)
        return p - 0.01 * s["buf"]
    np.testing.assert_allclose(quadratic_steps(lambda ps: optim.AdaGrad(ps, 0.1)),
                               reference_path(torch_adagrad), rtol=1e-12)
    np.testing.assert_allclose(quadratic_steps(lambda ps: optim.RMSProp(ps, 0.01, alpha=0.9,
                                                                        momentum=0.5)),
                               reference_path(torch_rmsprop), rtol=1e-12)


def test_same_trajectory_as_torch_when_available():
    torch = pytest.importorskip("torch")
    p0 = np.array([1.0, -2.0])
    for ours, theirs in [(lambda ps: optim.SGD(ps, 0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                          lambda ps: torch.optim.SGD(ps, 0.1, momentum=0.9, nesterov=True,
                                                     weight_decay=0.01)),
                         (lambda ps: optim.Adam(ps, 0.05, weight_decay=0.1),
                          lambda ps: torch.optim.Adam(ps, 0.05, weight_decay=0.1))]:
        q = torch.tensor(p0, requires_grad=True)
        opt = theirs([q])
        path = []
        for _ in range(5):
            opt.zero_grad()
            (0.5 * q @ (torch.tensor(A) @ q)).backward()
            opt.step()
            path.append(q.detach().numpy().copy())
        np.testing.assert_allclose(quadratic_steps(ours), np.array(path), rtol=1e-10)


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=0), "lr must be > 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "momentum must be >= 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs a momentum"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), "betas"),
    (lambda ps: optim.RMSProp(ps, alpha=1.5), "alpha"),
    (lambda ps: optim.LBFGS(ps, line_search="armijo"), "line_search"),
    (lambda ps: optim.Newton(ps, damping=-1), "damping must be >= 0"),
])
def test_hyperparameters_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make([tg.Tensor([1.0], requires_grad=True)])


def test_parameters_must_require_grad():
    with pytest.raises(TypeError, match="requires_grad=True"):
        optim.SGD([tg.Tensor([1.0])], lr=0.1)


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def test_lbfgs_with_strong_wolfe_minimises_rosenbrock():
    p = tg.Tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = optim.LBFGS([p], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-15)
    losses = []

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        losses.append(loss.item())
        return loss
    opt.step(closure)
    np.testing.assert_allclose(p.data, [1.0, 1.0], atol=1e-6)
    assert losses[-1] < 1e-12 < losses[0]


@pytest.mark.parametrize("start", [(-1.2, 1.0), (0.5, -0.3), (2.0, 2.0), (-0.5, 3.0)])
def test_strong_wolfe_step_satisfies_both_conditions(start):
    from tinygrad_ce.optim.lbfgs import strong_wolfe
    x0 = np.array(start)

    def value_and_grad(x):
        t = tg.Tensor(x, requires_grad=True)
        loss = rosenbrock(t)
        loss.backward()
        return loss.item(), t.grad.data
    f0, g0 = value_and_grad(x0)
    d = -g0 / np.linalg.norm(g0)
    t, f, g = strong_wolfe(lambda s: value_and_grad(x0 + s * d), 1.0, f0, g0 @ d, d)
    assert t > 0
    assert f <= f0 + 1e-4 * t * (g0 @ d)           # sufficient decrease: the loss went down
    assert abs(g @ d) <= 0.9 * abs(g0 @ d)          # curvature


def l2_logistic_problem():
    (x, t), _ = tg.datasets.load_digits()
    keep = (t == 1) | (t == 7)
    X, y = tg.Tensor(x[keep]), (t[keep] == 7).astype(float)
    w, b = tg.Tensor(np.zeros(64), requires_grad=True), tg.Tensor(0.0, requires_grad=True)

    def loss():
        return tg.binary_cross_entropy_with_logits(X @ w + b, y) + 1e-3 * (w * w).sum()
    return w, b, loss


def test_newton_reaches_gradient_norm_1e_8_within_15_steps_and_lbfgs_the_same_loss():
    w, b, loss = l2_logistic_problem()
    opt = optim.Newton([w, b])
    for step in range(1, 16):  # noqa: B007  (step is checked below)
        opt.step(lambda: loss())
        (gw, gb) = tg.grad(loss(), [w, b])
        norm = np.sqrt(np.sum(gw.data ** 2) + gb.item() ** 2)
        if norm < 1e-8:
            break
    assert norm < 1e-8 and step <= 15
    newton_loss = loss().item()

    w2, b2, loss2 = l2_logistic_problem()
    lbfgs = optim.LBFGS([w2, b2], max_iter=200, tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure():
        lbfgs.zero_grad()
        value = loss2()
        value.backward()
        return value
    for _ in range(3):
        lbfgs.step(closure)
    assert abs(loss2().item() - newton_loss) < 1e-6


def test_newton_accepts_a_closure_that_backwards_with_create_graph():
    w, b, loss = l2_logistic_problem()
    opt = optim.Newton([w, b])

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward(create_graph=True)
        return value
    first = opt.step(closure).item()
    assert loss().item() < first


def test_newton_explains_a_released_graph():
    p = tg.Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Newton([p])

    def closure():
        value = (p * p).sum()
        value.backward()
        return value
    with pytest.raises(RuntimeError, match="create_graph=True"):
        opt.step(closure)


def test_newton_with_conjugate_gradients_matches_the_full_hessian():
    results = []
    for max_full in (10_000, 0):
        w, b, loss = l2_logistic_problem()
        opt = optim.Newton([w, b], max_full=max_full)
        for _ in range(3):
            opt.step(loss)
        results.append(w.data.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-9)
