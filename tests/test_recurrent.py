"""RNN, GRU and LSTM: three ways checked, against PyTorch, on the tape, and their contract."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays

KINDS = {"rnn": tg.RNN, "gru": tg.GRU, "lstm": tg.LSTM}


@settings(max_examples=15)
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 3), steps=st.integers(1, 4),
       d=st.integers(1, 3), h=st.integers(1, 3), bidirectional=st.booleans(),
       seed=st.integers(0, 99), data=st.data())
def test_recurrent_layers_three_ways(kind, n, steps, d, h, bidirectional, seed, data):
    x = data.draw(arrays((n, steps, d)), label="x")
    layer = KINDS[kind](d, h, bidirectional=bidirectional, rng=seed)
    report = tg.check_layer(layer, x, seed=seed)
    assert report, str(report)


# ---- against PyTorch ------------------------------------------------------------------------

def torch_twin(layer):
    """The torch.nn module with the same weights (transposed), float64, batch first."""
    torch = pytest.importorskip("torch")
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[layer.name]
    module = cls(layer.input_size, layer.hidden_size, batch_first=True,
                 bidirectional=layer.bidirectional, dtype=torch.float64)
    with torch.no_grad():
        for suffix in layer.directions():
            for p, name in zip(layer.weights(suffix), ("weight_ih", "weight_hh", "bias_ih",
                                                       "bias_hh")):
                value = p.data.T if p.ndim == 2 else p.data
                getattr(module, f"{name}_l0{suffix}").copy_(torch.from_numpy(value.copy()))
    return module


def torch_grads(module, layer):
    """The torch module's parameter gradients in the layer's layout and order."""
    return [getattr(module, f"{name}_l0{suffix}").grad.numpy().T
            for suffix in layer.directions()
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def assert_close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_forward_and_every_gradient_match_torch(kind, bidirectional):
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    compare_with_torch(KINDS[kind](3, 4, bidirectional=bidirectional, rng=4),
                       rng.standard_normal((5, 7, 3)), rng)


@settings(max_examples=10)
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 4), steps=st.integers(1, 6),
       d=st.integers(1, 4), h=st.integers(1, 5), bidirectional=st.booleans(),
       seed=st.integers(0, 99), data=st.data())
def test_random_sizes_match_torch(kind, n, steps, d, h, bidirectional, seed, data):
    pytest.importorskip("torch")
    x = data.draw(arrays((n, steps, d)), label="x")
    compare_with_torch(KINDS[kind](d, h, bidirectional=bidirectional, rng=seed), x,
                       np.random.default_rng(seed))


def compare_with_torch(layer, x, rng):
    """Output, last states, dx and every parameter gradient against torch.nn, to 1e-10."""
    import torch
    kind, module = layer.name, torch_twin(layer)
    gy = rng.standard_normal((*x.shape[:2], layer.hidden_size * (1 + layer.bidirectional)))

    xt = tg.Tensor(x, requires_grad=True)
    out = layer(xt)
    out.backward(gy)

    x_torch = torch.tensor(x, requires_grad=True)
    out_torch, state = module(x_torch)
    out_torch.backward(torch.from_numpy(gy))
    h_torch, c_torch = state if kind == "lstm" else (state, None)

    assert_close(out.data, out_torch.detach().numpy(), "output")
    assert_close(layer.h, h_torch.detach().numpy().reshape(layer.h.shape), "layer.h")
    if kind == "lstm":
        assert_close(layer.c, c_torch.detach().numpy().reshape(layer.c.shape), "layer.c")
    assert_close(xt.grad.data, x_torch.grad.numpy(), "dx")
    for p, g in zip(layer.params(), torch_grads(module, layer)):
        assert_close(p.grad.data, g, p.name)


def test_init_matches_torch_bounds_and_order():
    torch = pytest.importorskip("torch")
    layer = tg.LSTM(2, 5, bidirectional=True, rng=0)
    module = torch.nn.LSTM(2, 5, batch_first=True, bidirectional=True)
    names = [p.name for p in layer.params()]
    assert names == [f"{w}{s}" for s in ("", "_reverse") for w in ("Wx", "Wh", "bx", "bh")]
    for p, (name, q) in zip(layer.params(), module.named_parameters()):
        assert p.shape == tuple(q.shape)[::-1], name      # weights transposed, biases as they are
        bound = 1 / np.sqrt(5)
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.8 * bound


# ---- on the tape ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_tape_entry_per_call_and_a_layer_used_twice(kind):
    rng = np.random.default_rng(0)
    layer = KINDS[kind](2, 3, rng=1)
    x1, x2 = (tg.Tensor(rng.standard_normal((2, 4, 2)), requires_grad=True) for _ in range(2))
    y = layer(x1) * layer(x2)
    assert [e.op.name for e in y.tape()] == [kind, kind, "mul"]
    params = layer.params()
    got = tg.grad(y.sum(), [x1, x2, *params])
    expected = tg.grad((layer.reference(x1) * layer.reference(x2)).sum(), [x1, x2, *params])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.data, e.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_second_order_through_the_layer(kind):
    layer = KINDS[kind](2, 2, bidirectional=True, rng=5)
    x = np.random.default_rng(6).standard_normal((2, 3, 2))
    report = tg.gradgradcheck(lambda xt: layer(xt), [x], seed=0)
    assert report, str(report)

    def with_weights(xt, Wh, bx_reverse):          # second order in the parameters too
        layer.Wh, layer.bx_reverse = Wh, bx_reverse
        return layer(xt)
    report = tg.gradgradcheck(with_weights, [x, layer.Wh.data.copy(),
                                             layer.bx_reverse.data.copy()], seed=1)
    assert report, str(report)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_first_order_gradients_same_with_and_without_create_graph(kind):
    layer = KINDS[kind](2, 3, rng=2)
    x = tg.Tensor(np.random.default_rng(1).standard_normal((3, 4, 2)), requires_grad=True)
    gy = np.random.default_rng(2).standard_normal((3, 4, 3))
    plain = tg.grad(layer(x), [x, *layer.params()], gy)
    graph = tg.grad(layer(x), [x, *layer.params()], gy, create_graph=True)
    for a, b in zip(plain, graph):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


# ---- the contract -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_call_starts_from_zero_and_h_is_the_last_state(kind):
    layer = KINDS[kind](2, 3, bidirectional=True, rng=0)
    x = np.random.default_rng(0).standard_normal((4, 5, 2))
    first = layer.forward(x)
    np.testing.assert_array_equal(layer.forward(x), first)
    assert layer.h.shape == (2, 4, 3)
    np.testing.assert_array_equal(layer.h[0], first[:, -1, :3])   # forward: after step T-1
    np.testing.assert_array_equal(layer.h[1], first[:, 0, 3:])    # reverse: after step 0
    one_way = KINDS[kind](2, 3, rng=0)
    np.testing.assert_array_equal(one_way.forward(x), first[..., :3])  # same first weights
    np.testing.assert_array_equal(one_way.h, first[:, -1, :3])
    if kind == "lstm":
        assert layer.c.shape == (2, 4, 3) and one_way.c.shape == (4, 3)


def test_reverse_direction_reads_the_sequence_backwards():
    layer = tg.GRU(1, 2, bidirectional=True, rng=0)
    x = np.random.default_rng(0).standard_normal((3, 6, 1))
    forward_only = tg.GRU(1, 2, rng=0)
    for name in ("Wx", "Wh", "bx", "bh"):
        getattr(forward_only, name).data[...] = getattr(layer, name + "_reverse").data
    flipped = forward_only.forward(x[:, ::-1])[:, ::-1]
    np.testing.assert_allclose(layer.forward(x)[..., 2:], flipped, rtol=1e-14)


def test_dtype_and_seeded_init():
    layer = tg.GRU(3, 4, rng=7, dtype=np.float32)
    assert all(p.dtype == np.float32 for p in layer.params())
    out = layer.forward(np.ones((2, 5, 3), dtype=np.float32))
    assert out.dtype == np.float32 and layer.backward(np.ones_like(out)).dtype == np.float32
    np.testing.assert_array_equal(tg.GRU(3, 4, rng=7).Wh.data, tg.GRU(3, 4, rng=7).Wh.data)
    ints = np.arange(30).reshape(2, 5, 3) % 4 - 2       # integer input: computed in float
    np.testing.assert_array_equal(layer.forward(ints), layer.forward(ints.astype(np.float32)))
    assert repr(tg.LSTM(3, 4, bidirectional=True)) == "LSTM(3, 4, bidirectional=True)"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_inputs_of_magnitude_1e4_stay_finite(kind):
    layer = KINDS[kind](2, 3, bidirectional=True, rng=0)
    x = np.array([[[1e4, -1e4], [-1e4, 1e4], [0.0, 5e3]]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(out))
    assert np.isfinite(out).all() and np.isfinite(dx).all()
    assert all(np.isfinite(p.grad.data).all() for p in layer.params())


def test_bad_input_names_the_layer_the_shapes_and_the_way_out():
    with pytest.raises(ValueError, match=r"gru: expected input of shape \(N, T, 1\).*\(4, 40\)"
                                         r".*x\[\.\.\., None\]"):
        tg.GRU(1, 6).forward(np.ones((4, 40)))
    with pytest.raises(ValueError, match=r"lstm: expected input of shape \(N, T, 3\).*\(2, 5, 2\)"):
        tg.LSTM(3, 2)(tg.Tensor(np.ones((2, 5, 2))))
    with pytest.raises(ValueError, match="rnn: input_size and hidden_size must be >= 1"):
        tg.RNN(0, 2)
    with pytest.raises(ValueError, match="call forward first"):
        tg.RNN(2, 2).backward(np.ones((1, 1, 2)))


def test_the_gru_benchmark_runs_both_libraries_from_the_same_start(capsys):
    pytest.importorskip("torch")
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "rnn.py"
    spec = importlib.util.spec_from_file_location("rnn_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--repeats", "1", "--steps", "1"])
    losses = result["first_loss"]
    assert abs(losses["tinygrad_ce"] - losses["torch"]) < 1e-12 * losses["torch"]
    assert "ms/step" in capsys.readouterr().out


# ---- the gru model of the command line ----------------------------------------------------------

def test_train_builds_and_trains_the_gru_model(capsys):
    from tinygrad_ce.cli import main
    from tinygrad_ce.train import build_model
    model, _ = build_model("gru", 40, 10)
    assert [type(layer).__name__ for layer in model.layers] == ["AsSequence", "GRU", "Affine"]
    assert model.layers[1].bidirectional and model.layers[1].hidden_size == 6
    assert model.layers[2].W.shape == (480, 10)
    assert tg.check_layer(tg.layers.AsSequence(), np.random.default_rng(0).standard_normal((2, 5)))
    assert main(["train", "--model", "gru", "--dataset", "iris", "--epochs", "3", "--quiet"]) == 0
    assert "test accuracy" in capsys.readouterr().out
