"""tg.to_torch / tg.from_torch for convolution, pooling, Flatten and the recurrent layers."""

import numpy as np
import pytest

import tinygrad_ce as tg

torch = pytest.importorskip("torch")
# the layers come from other branches of the project: each part runs once its layers exist
needs_conv = pytest.mark.skipif(not hasattr(tg, "Conv1d"), reason="no convolution layers yet")
needs_rnn = pytest.mark.skipif(not hasattr(tg, "GRU"), reason="no recurrent layers yet")


def conv_model(dims):
    r = np.random.default_rng(dims)
    if dims == 1:
        return tg.Sequential(tg.Conv1d(2, 3, 3, stride=2, padding=1, rng=r), tg.ReLU(),
                             tg.MaxPool1d(2), tg.AvgPool1d(2, stride=1, padding=1),
                             tg.Flatten(), tg.Affine(12, 4, rng=r))
    return tg.Sequential(tg.Conv2d(2, 3, (2, 3), stride=(2, 1), padding=1, rng=r), tg.Tanh(),
                         tg.MaxPool2d(2), tg.AvgPool2d(2, stride=1), tg.Flatten(),
                         tg.Affine(6, 4, rng=r))


def conv_input(dims):
    shape = (5, 2, 11) if dims == 1 else (5, 2, 7, 6)
    return np.random.default_rng(7).standard_normal(shape)


RECURRENT = [(cls, bi) for cls in ("RNN", "GRU", "LSTM") for bi in (False, True)]


def recurrent_model(name, bidirectional):
    return tg.Sequential(getattr(tg, name)(3, 4, bidirectional=bidirectional, rng=2))


def same_state(a, b):
    sa, sb = a.state(), b.state()
    assert list(sa) == list(sb)
    for k in sa:
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)
        assert sb[k].dtype == sa[k].dtype and not np.shares_memory(sb[k], sa[k])


@needs_conv
@pytest.mark.parametrize("dims", [1, 2])
def test_conv_models_round_trip_and_compute_the_same_function(dims):
    ours = conv_model(dims)
    theirs = tg.to_torch(ours)
    x = conv_input(dims)
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours.forward(x),
                               rtol=1e-12, atol=1e-14)
    back = tg.from_torch(theirs)
    assert repr(back) == repr(ours)
    same_state(ours, back)


@needs_rnn
@pytest.mark.parametrize("name,bidirectional", RECURRENT)
def test_recurrent_models_round_trip_and_compute_the_same_function(name, bidirectional):
    ours = recurrent_model(name, bidirectional)
    theirs = tg.to_torch(ours)
    x = np.random.default_rng(4).standard_normal((2, 6, 3))
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours.forward(x),
                               rtol=1e-12, atol=1e-14)
    back = tg.from_torch(theirs)
    assert repr(back) == repr(ours)
    same_state(ours, back)
    bare = tg.from_torch(theirs[0].rnn)     # a plain nn.GRU with batch_first=True works too
    same_state(ours[0], bare)


@pytest.mark.parametrize("make,x", [
    pytest.param(lambda: conv_model(1), lambda: conv_input(1), marks=needs_conv),
    pytest.param(lambda: conv_model(2), lambda: conv_input(2), marks=needs_conv),
    pytest.param(lambda: recurrent_model("GRU", True),
                 lambda: np.random.default_rng(5).standard_normal((4, 6, 3)), marks=needs_rnn),
    pytest.param(lambda: recurrent_model("LSTM", False),
                 lambda: np.random.default_rng(6).standard_normal((4, 6, 3)), marks=needs_rnn),
])
def test_one_sgd_step_gives_the_same_parameters_in_both(make, x):
    ours, x = make(), x()
    theirs = tg.to_torch(ours)
    t = np.arange(len(x)) % 3
    opt = tg.optim.SGD(ours.params(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        y = ours(tg.Tensor(x))
        tg.cross_entropy(y[:, -1] if y.ndim == 3 else y, t).backward()   # a recurrent net:
        # its last step's output as the logits
        opt.step()
        opt_t.zero_grad()
        yt = theirs(torch.tensor(x))
        torch.nn.functional.cross_entropy(yt[:, -1] if yt.ndim == 3 else yt,
                                          torch.tensor(t)).backward()
        opt_t.step()
    back = tg.from_torch(theirs)
    for k, v in ours.state().items():
        np.testing.assert_allclose(back.state()[k], v, rtol=1e-11, atol=1e-13, err_msg=k)


@needs_conv
@needs_rnn
@pytest.mark.parametrize("module,words", [
    (lambda: torch.nn.Conv1d(2, 3, 3, dilation=2), ["dilation", "dilation=1"]),
    (lambda: torch.nn.Conv2d(2, 3, 3, groups=1, bias=False), ["bias=True"]),
    (lambda: torch.nn.AvgPool1d(2, count_include_pad=False), ["count_include_pad=True"]),
    (lambda: torch.nn.MaxPool2d(2, ceil_mode=True), ["ceil_mode=False"]),
    (lambda: torch.nn.Flatten(0), ["start_dim=1"]),
    (lambda: torch.nn.GRU(3, 4), ["batch_first=False"]),
    (lambda: torch.nn.LSTM(3, 4, num_layers=2, batch_first=True), ["num_layers=2"]),
    (lambda: torch.nn.RNN(3, 4, nonlinearity="relu", batch_first=True), ["tanh"]),
])
def test_options_tinygrad_ce_lacks_are_clear_errors(module, words):
    with pytest.raises(ValueError) as e:
        tg.from_torch(module())
    for w in words:
        assert w in str(e.value)


@needs_conv
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_after_a_2d_convolution_becomes_batchnorm2d(mode):
    r = np.random.default_rng(8)
    ours = tg.Sequential(tg.Conv2d(2, 3, 3, padding=1, rng=r), tg.BatchNorm(3), tg.ReLU(),
                         tg.Flatten(), tg.Affine(3 * 4 * 5, 6, rng=r), tg.BatchNorm(6))
    ours[1].forward(r.standard_normal((4, 3, 4, 5)) * 2 + 1)   # running statistics
    ours = getattr(ours, mode)()
    theirs = tg.to_torch(ours)
    assert type(theirs[1]).__name__ == "BatchNorm2d"
    assert type(theirs[5]).__name__ == "BatchNorm1d"          # after Flatten: 1-D again
    same_state(ours, tg.from_torch(theirs))
    x = r.standard_normal((4, 2, 4, 5))    # (in training mode this updates both statistics)
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours.forward(x),
                               rtol=1e-12, atol=1e-14)


@needs_conv
@needs_rnn
def test_the_mnist1d_gru_model_moves_whole():
    if not hasattr(tg.layers, "AsSequence"):
        pytest.skip("no AsSequence layer yet")
    ours = tg.Sequential(tg.layers.AsSequence(), tg.GRU(1, 6, bidirectional=True, rng=0),
                         tg.Flatten(), tg.Affine(40 * 12, 10, rng=1))
    theirs = tg.to_torch(ours)
    x = np.random.default_rng(9).standard_normal((3, 40))
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours.forward(x),
                               rtol=1e-12, atol=1e-14)
    back = tg.from_torch(theirs)
    assert repr(back) == repr(ours)
    same_state(ours, back)
