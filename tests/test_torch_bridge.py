"""tg.to_torch / tg.from_torch: the same function, copied weights, exact round trips, and one
SGD step that gives the same parameters in both libraries."""

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_ce as tg


def model(rng=0):
    r = np.random.default_rng(rng)
    net = tg.Sequential(tg.Affine(4, 6, rng=r), tg.BatchNorm(6, momentum=0.2, eps=1e-4),
                        tg.LeakyReLU(0.1), tg.LayerNorm(6, eps=1e-3), tg.Tanh(), tg.Affine(6, 5, init="he", rng=r),
                        tg.ReLU(), tg.Dropout(0.0), tg.Affine(5, 3, rng=r), tg.Sigmoid())
    for p in net.params():     # gamma and beta away from 1 and 0
        p.data[...] += r.standard_normal(p.shape) * 0.1
    net[1].forward(r.standard_normal((8, 6)) * 2 + 1)   # running statistics away from (0, 1)
    return net


def embedding_model():
    return tg.Sequential(tg.Embedding(7, 4, rng=3), tg.LayerNorm(4), tg.Affine(4, 3, rng=4),
                         tg.Softmax())


def test_importing_tinygrad_ce_does_not_import_torch():
    code = "import sys, tinygrad_ce; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_torch_is_an_import_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"\[torch\]"):
        tg.to_torch(tg.ReLU())
    with pytest.raises(ImportError, match=r"\[torch\]"):
        tg.from_torch(object())


@pytest.mark.parametrize("make", [model, embedding_model])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_round_trip_is_exact_and_keeps_the_mode(make, mode):
    pytest.importorskip("torch")
    ours = getattr(make(), mode)()
    ours[1].training = not ours.training                # a member in another mode than its container
    back = tg.from_torch(tg.to_torch(ours))
    assert repr(back) == repr(ours) and back.training == ours.training
    state, state_back = ours.state(), back.state()
    assert list(state) == list(state_back)
    for k in state:
        assert state_back[k].dtype == state[k].dtype
        np.testing.assert_array_equal(state_back[k], state[k], err_msg=k)
        assert not np.shares_memory(state_back[k], state[k])
    assert [layer.training for layer in back.layers] == [layer.training for layer in ours.layers]


def test_torch_round_trip_is_exact():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4),
                                 torch.nn.BatchNorm1d(4, eps=1e-4, momentum=0.3),
                                 torch.nn.LeakyReLU(0.3), torch.nn.Dropout(0.5),
                                 torch.nn.LayerNorm(4, eps=1e-3), torch.nn.Linear(4, 2),
                                 torch.nn.Softmax(dim=1)).double()
    theirs[1].running_mean.uniform_()
    theirs.eval()
    theirs[3].train()                                   # a member in another mode than its container
    again = tg.to_torch(tg.from_torch(theirs))
    assert str(again) == str(theirs) and not again.training
    assert [m.training for m in again] == [m.training for m in theirs]
    for (k, a), (k2, b) in zip(theirs.state_dict().items(), again.state_dict().items()):
        if k.endswith("num_batches_tracked"):
            continue
        assert k == k2 and a.dtype == b.dtype and torch.equal(a, b), k
        assert a.data_ptr() != b.data_ptr()


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_the_same_function_in_both(mode):
    torch = pytest.importorskip("torch")
    ours = getattr(model(), mode)()
    theirs = tg.to_torch(ours)
    x = np.random.default_rng(5).standard_normal((7, 4))
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours.forward(x),
                               rtol=1e-12, atol=1e-15)
    emb = embedding_model()
    idx = np.array([0, 6, 3, 3])
    np.testing.assert_allclose(tg.to_torch(emb)(torch.tensor(idx)).detach().numpy(),
                               emb.forward(idx), rtol=1e-12, atol=1e-15)


def test_the_copies_share_no_memory():
    torch = pytest.importorskip("torch")
    ours = model()
    theirs = tg.to_torch(ours)
    before = ours[0].W.data.copy()
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(1.0)
        theirs[1].running_mean.add_(1.0)
    np.testing.assert_array_equal(ours[0].W.data, before)
    assert not np.any(ours[1].running_mean == theirs[1].running_mean.numpy())


def test_one_sgd_step_gives_the_same_parameters_in_both():
    torch = pytest.importorskip("torch")
    ours = model().train()
    theirs = tg.to_torch(ours)
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    opt = tg.optim.SGD(ours.params(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    for _ in range(2):
        opt.zero_grad()
        tg.SoftmaxWithLoss()(ours(tg.Tensor(x)), t).backward()
        opt.step()
        opt_t.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(t)).backward()
        opt_t.step()
    back = tg.from_torch(theirs)
    for k, v in ours.state().items():
        np.testing.assert_allclose(back.state()[k], v, rtol=1e-12, atol=1e-14, err_msg=k)


def test_unknown_layers_are_clear_errors():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="to_torch: no conversion for SoftmaxWithLoss; known:"):
        tg.to_torch(tg.SoftmaxWithLoss())
    with pytest.raises(TypeError, match="from_torch: no conversion for torch.nn.Conv3d"):
        tg.from_torch(torch.nn.Conv3d(1, 1, 1))
    with pytest.raises(ValueError, match="bias=True"):
        tg.from_torch(torch.nn.Linear(2, 2, bias=False))
    with pytest.raises(ValueError, match="padding_idx"):
        tg.from_torch(torch.nn.Embedding(3, 2, padding_idx=0))
