"""Convolution, pooling, padding and per-channel BatchNorm against torch, float64, first and
second order (the independent formula beside finite differences)."""

import numpy as np
import pytest

import tinygrad_ce as tg

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [  # (spatial axes, input shape, kernel, stride, padding)
    (1, (2, 3, 9), (3,), 1, 0),
    (1, (2, 1, 40), (5,), 2, 1),
    (2, (2, 3, 6, 5), (3, 2), (2, 1), (1, 0)),
    (2, (1, 2, 7, 7), (3, 3), 2, 1),
]


def _ours_and_theirs(fn_ours, fn_torch, arrays, gy, rng):
    """Outputs, gradients and a second-order term (gradient of |grad|^2) from both."""
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn_ours(*ours), fn_torch(*theirs)
    g = tg.grad(y, ours, gy, create_graph=True)
    tgr = torch.autograd.grad(ty, theirs, torch.tensor(gy), create_graph=True)
    h = tg.grad(sum((gi ** 2).sum() for gi in g), ours)
    th = torch.autograd.grad(sum((gi ** 2).sum() for gi in tgr), theirs, allow_unused=True)
    return (y, g, h), (ty, tgr, th)


def _compare(ours, theirs):
    (y, g, h), (ty, tgr, th) = ours, theirs
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-12)
    for a, b in zip(g, tgr):
        np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-11)
    for a, b in zip(h, th):
        expected = np.zeros_like(a.data) if b is None else b.numpy()
        np.testing.assert_allclose(a.data, expected, atol=1e-10)


@pytest.mark.parametrize("n, shape, k, s, p", CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_torch_first_and_second_order(n, shape, k, s, p, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape), rng.standard_normal((4, shape[1]) + k)]
    if bias:
        arrays.append(rng.standard_normal(4))
    ours_fn, torch_fn = (tg.conv1d, TF.conv1d) if n == 1 else (tg.conv2d, TF.conv2d)
    out = torch_fn(*[torch.tensor(a) for a in arrays], stride=s, padding=p)
    gy = rng.standard_normal(tuple(out.shape))
    _compare(*_ours_and_theirs(lambda *a: ours_fn(*a, stride=s, padding=p),
                               lambda *a: torch_fn(*a, stride=s, padding=p), arrays, gy, rng))


@pytest.mark.parametrize("n, shape, k, s, p", CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch_first_and_second_order(n, shape, k, s, p, kind):
    rng = np.random.default_rng(1)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0   # distinct: no ties
    p = tuple(min(pi, ki // 2) for pi, ki in zip((p,) * n if isinstance(p, int) else p, k))
    ours_fn = getattr(tg, f"{kind}_pool{n}d")
    torch_fn = getattr(TF, f"{kind}_pool{n}d")
    out = torch_fn(torch.tensor(x), k, s, p)
    gy = rng.standard_normal(tuple(out.shape))
    # square the input so that the second derivative is not zero
    _compare(*_ours_and_theirs(lambda a: ours_fn(a * a, k, s, p),
                               lambda a: torch_fn(a * a, k, s, p), [x], gy, rng))


def test_pad_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4))
    gy = rng.standard_normal((2, 5, 7))
    _compare(*_ours_and_theirs(lambda a: tg.pad(a * a, [(0, 0), (1, 1), (2, 1)]),
                               lambda a: TF.pad(a * a, (2, 1, 1, 1)), [x], gy, rng))


@pytest.mark.parametrize("ours, theirs, shape", [
    (lambda: tg.Conv1d(3, 4, 5, stride=2, padding=1), lambda: torch.nn.Conv1d(3, 4, 5, 2, 1),
     (2, 3, 11)),
    (lambda: tg.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(1, 0)),
     lambda: torch.nn.Conv2d(2, 3, (3, 2), (1, 2), (1, 0)), (2, 2, 5, 6)),
    (lambda: tg.MaxPool2d(3, stride=2, padding=1), lambda: torch.nn.MaxPool2d(3, 2, 1),
     (2, 2, 5, 6)),
    (lambda: tg.AvgPool1d(3, stride=2, padding=1), lambda: torch.nn.AvgPool1d(3, 2, 1),
     (2, 2, 9)),
    (lambda: tg.MaxPool1d(2), lambda: torch.nn.MaxPool1d(2), (2, 2, 9)),
    (lambda: tg.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2), (2, 2, 5, 6)),
])
def test_layers_by_hand_match_torch_modules(ours, theirs, shape):
    rng = np.random.default_rng(3)
    layer, module = ours(), theirs().double()
    if hasattr(module, "weight"):
        layer.W.data[...] = module.weight.detach().numpy()
        layer.b.data[...] = module.bias.detach().numpy()
    x = rng.permutation(int(np.prod(shape))).reshape(shape) / 11.0
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(layer.forward(x), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(gy), tx.grad.numpy(), atol=1e-12)
    if hasattr(module, "weight"):
        np.testing.assert_allclose(layer.W.grad.data, module.weight.grad.numpy(), atol=1e-11)
        np.testing.assert_allclose(layer.b.grad.data, module.bias.grad.numpy(), atol=1e-11)


@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (5, 3, 4)])
def test_batch_norm_per_channel_matches_torch(shape):
    rng = np.random.default_rng(4)
    layer = tg.BatchNorm(3)
    module = (torch.nn.BatchNorm2d(3) if len(shape) == 4 else torch.nn.BatchNorm1d(3)).double()
    layer.gamma.data[...] = module.weight.data.numpy()[...] + rng.standard_normal(3)
    with torch.no_grad():
        module.weight[...] = torch.tensor(layer.gamma.data)
    for _ in range(2):   # the running statistics follow over two batches
        x = rng.standard_normal(shape) * 3 + 1
        tx = torch.tensor(x, requires_grad=True)
        ty = module(tx)
        gy = rng.standard_normal(shape)
        ty.backward(torch.tensor(gy))
        layer.zero_grad()
        np.testing.assert_allclose(layer.forward(x), ty.detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(layer.backward(gy), tx.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(layer.gamma.grad.data, module.weight.grad.numpy(), atol=1e-10)
        module.zero_grad()
    np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.running_var, module.running_var.numpy(), atol=1e-12)
    module.eval()
    layer.eval()
    np.testing.assert_allclose(layer.forward(x), module(torch.tensor(x)).detach().numpy(),
                               atol=1e-10)


def test_mnist1d_cnn_trains_step_for_step_like_torch():
    """The paper's CNN, from the same weights on the same batches: same parameters after 20
    Adam steps (so a different accuracy from PyTorch's can only come from the seed)."""
    from tinygrad_ce import models, reproduce
    (x, t), _ = tg.datasets.load_mnist1d(flatten=False)
    x, t = x[:400], t[:400]
    ours = models.mnist1d_cnn(0)
    nn = torch.nn
    theirs = nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1),
                           nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                           nn.Linear(125, 10)).double()
    pairs = list(zip(ours.params(), theirs.parameters()))
    with torch.no_grad():
        for p, q in pairs:
            q.copy_(torch.tensor(p.data.T if p.ndim == 2 else p.data))
    reproduce.train_steps(ours, x, t, steps=20, seed=0)
    opt, rng = torch.optim.Adam(theirs.parameters(), lr=1e-2), np.random.default_rng(0)
    for _ in range(5):                       # 20 steps: 5 passes of 4 batches, reshuffled
        order = rng.permutation(len(x))
        for start in range(0, len(x), 100):
            rows = torch.tensor(order[start:start + 100])
            opt.zero_grad()
            TF.cross_entropy(theirs(torch.tensor(x)[rows]), torch.tensor(t)[rows]).backward()
            opt.step()
    for p, q in pairs:
        np.testing.assert_allclose(p.data.T if p.ndim == 2 else p.data, q.detach().numpy(),
                                   atol=1e-10)
