"""tg.compile: a replayed step is the step, to the last bit; anything it cannot replay runs
normally (and says why)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_ce as tg

ACTIVATIONS = {
    "sigmoid": tg.Sigmoid, "relu": tg.ReLU, "tanh": tg.Tanh,
    "op_sigmoid": lambda: _Fn(tg.sigmoid), "op_tanh": lambda: _Fn(tg.tanh),
    "op_relu": lambda: _Fn(tg.relu), "op_square": lambda: _Fn(lambda h: h * h * 0.5),
}


class _Fn:
    """A primitive-op activation (many tape entries instead of one layer entry)."""

    def __init__(self, f):
        self.f = f

    def __call__(self, h):
        return self.f(h)


def build(seed, sizes, acts, dtype, loss, optimizer, primitive_affine):
    """A random network and its step; two calls with the same arguments build equal twins."""
    rng = np.random.default_rng(seed)
    layers = [tg.Affine(a, b, rng=rng, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    params = [p for layer in layers for p in layer.params()]
    opt = {"sgd": lambda: tg.optim.SGD(params, lr=0.1),
           "momentum": lambda: tg.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True,
                                            weight_decay=1e-3),
           "adam": lambda: tg.optim.Adam(params, lr=1e-2)}[optimizer]()
    act_layers = [ACTIVATIONS[a]() for a in acts]
    loss_layer = tg.SoftmaxWithLoss()

    def forward(x):
        h = x
        for i, layer in enumerate(layers):
            h = h @ layer.W + layer.b if primitive_affine else layer(h)
            if i < len(act_layers):
                h = act_layers[i](h)
        return h

    def step(x, t):
        opt.zero_grad()
        h = forward(tg.Tensor(x))
        if loss == "layer":
            out = loss_layer(h, t)
        elif loss == "cross_entropy":
            out = tg.cross_entropy(h, t)
        else:  # a shared input: h is used twice, so its gradients are summed
            out = (h * h).mean() + tg.cross_entropy(h, t, reduction="sum") * 0.1
        out.backward()
        opt.step()
        return out
    return params, step


def assert_same(params_a, params_b):
    for p, q in zip(params_a, params_b):
        assert p.data.dtype == q.data.dtype
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad.data, q.grad.data)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**16), depth=st.integers(1, 3), width=st.integers(1, 6),
       acts=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=2, max_size=2),
       dtype=st.sampled_from([np.float32, np.float64]),
       loss=st.sampled_from(["layer", "cross_entropy", "shared"]),
       optimizer=st.sampled_from(["sgd", "momentum", "adam"]),
       primitive_affine=st.booleans(), batch=st.integers(1, 5))
def test_replay_is_bit_identical_on_random_networks(seed, depth, width, acts, dtype, loss,
                                                   optimizer, primitive_affine, batch):
    sizes = [4] + [width] * (depth - 1) + [3]
    acts = acts[:depth - 1]
    plain_params, plain = build(seed, sizes, acts, dtype, loss, optimizer, primitive_affine)
    comp_params, comp_step = build(seed, sizes, acts, dtype, loss, optimizer, primitive_affine)
    comp = tg.compile(comp_step)
    rng = np.random.default_rng(seed + 1)
    for _ in range(4):
        x = rng.standard_normal((batch, 4)).astype(dtype)
        t = rng.integers(0, 3, batch)
        a, b = plain(x, t), comp(x, t)
        assert a.data.dtype == b.data.dtype
        np.testing.assert_array_equal(a.data, b.data)
        assert_same(plain_params, comp_params)
    assert comp.replays == 3, comp.reason


def chain_step(x):
    def step():
        x.zero_grad()
        y = x
        for _ in range(5):
            y = tg.sigmoid(y * 1.5 + 0.25)
        y.sum().backward()
        return x.grad
    return step


def test_replayed_chain_returns_the_gradient():
    xa = tg.Tensor(np.linspace(-2, 2, 7), requires_grad=True)
    xb = tg.Tensor(np.linspace(-2, 2, 7), requires_grad=True)
    plain, comp = chain_step(xa), tg.compile(chain_step(xb))
    for _ in range(3):
        ga, gb = plain(), comp()
        np.testing.assert_array_equal(ga.data, gb.data)
        with tg.no_grad():
            xa.data[...] += 0.1 * ga.data
            xb.data[...] += 0.1 * gb.data
    assert comp.replays == 2


def test_new_shapes_dtypes_and_grad_mode_run_normally_and_record_anew():
    W = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    calls = []

    def f(x):
        calls.append(1)
        W.zero_grad()
        y = (tg.Tensor(x) @ W).sum()
        if tg.autograd.STATE.grad_enabled:
            y.backward()
        return y

    g = tg.compile(f)
    g(np.ones((2, 3)))
    g(np.ones((2, 3)))                      # replayed: f itself is not called
    assert len(calls) == 1 and g.replays == 1
    out = g(np.full((4, 3), 2.0))           # a new shape: f runs (and is recorded)
    assert out.item() == 48.0 and len(calls) == 2
    np.testing.assert_array_equal(W.grad.data, np.full((3, 2), 8.0))
    g(np.ones((2, 3), dtype=np.float32))    # a new dtype
    assert len(calls) == 3
    with tg.no_grad():                      # another grad mode
        assert g(np.ones((2, 3))).item() == 12.0
    assert len(calls) == 4
    assert g(np.full((4, 3), 2.0)).item() == 48.0 and len(calls) == 4   # replayed again


def test_parameters_are_read_at_each_replay():
    W = tg.Tensor(np.ones(3), requires_grad=True)

    def f(x):
        W.zero_grad()
        y = (W * tg.Tensor(x)).sum()
        y.backward()
        return y.item()

    g = tg.compile(f)
    assert g(np.arange(3.0)) == 3.0
    W.data[...] = 2.0                       # changed outside fn, in place
    assert g(np.arange(3.0)) == 6.0
    W.data = np.full(3, 3.0)                # replaced outside fn
    assert g(np.arange(3.0)) == 9.0 and g.replays == 2
    np.testing.assert_array_equal(W.grad.data, np.arange(3.0))


def test_gradients_accumulate_as_without_compile():
    def make():
        W = tg.Tensor(np.ones(2), requires_grad=True)

        def f(x):                           # no zero_grad: gradients accumulate
            (W * tg.Tensor(x)).sum().backward()
        return W, f

    Wa, fa = make()
    Wb, fb = make()
    fb = tg.compile(fb)
    for _ in range(4):
        fa(np.array([1.0, 2.0]))
        fb(np.array([1.0, 2.0]))
        np.testing.assert_array_equal(Wa.grad.data, Wb.grad.data)
    assert fb.replays >= 2


@pytest.mark.parametrize("before, after, reason", [
    ("W.grad = None", "", "zero_grad"),
    ("", "W.grad = None", "changes .grad"),
    ("", "W.grad.data[...] *= 0.5", "changes .grad"),
    ("", "float(y)", "reads a value into Python"),
    ("", "bool(y)", "branches"),
    ("", "tg.Tensor(np.ones(2)) * W", "not an argument"),
    ("W.data = W.data * 1.0", "", "replaces"),
])
def test_what_cannot_be_replayed_runs_normally_with_a_reason(before, after, reason):
    W = tg.Tensor(np.ones(2), requires_grad=True)
    names = {"W": W, "tg": tg, "np": np}

    def f(x):
        exec(before, names)
        if "grad" not in before:
            W.zero_grad()
        y = names["y"] = (W * tg.Tensor(x)).sum()
        y.backward()
        exec(after, names)
        return y

    g = tg.compile(f)
    for _ in range(3):
        assert g(np.array([1.0, 2.0])).item() == 3.0
    assert g.replays == 0
    assert reason in g.reason


def test_a_hand_written_update_inside_fn_is_not_replayed():
    W = tg.Tensor(np.ones(2), requires_grad=True)

    def f(x):
        W.zero_grad()
        (W * tg.Tensor(x)).sum().backward()
        with tg.no_grad():
            W.data[...] -= 0.5 * W.grad.data    # not a tg.optim optimizer

    g = tg.compile(f)
    for _ in range(3):
        g(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(W.data, [1 - 1.5, 1 - 3.0])
    assert g.replays == 0 and "optimizer" in g.reason


def test_a_replayed_result_is_done_with_its_graph():
    W = tg.Tensor(np.ones(2), requires_grad=True)

    def f(x):
        W.zero_grad()
        y = (W * tg.Tensor(x)).sum()
        y.backward()
        return y

    g = tg.compile(f)
    g(np.ones(2))
    y = g(np.ones(2))
    assert g.replays == 1 and y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    with pytest.raises(ValueError):
        y.data[...] = 0                     # an op's output stays read-only


def iris_run(compiled):
    (x, t), _ = tg.datasets.load_iris(seed=0)
    model = tg.Sequential(tg.Affine(4, 8, rng=0), tg.ReLU(), tg.Affine(8, 3, rng=1))
    loss_layer, opt = tg.SoftmaxWithLoss(), tg.optim.Adam(model.params(), lr=0.01)

    def step(xb, tb):
        opt.zero_grad()
        loss = loss_layer(model(tg.Tensor(xb)), tb)
        loss.backward()
        opt.step()
        return loss.item()
    step = tg.compile(step) if compiled else step
    losses = [step(x[i:i + 16], t[i:i + 16]) for i in range(0, len(x), 16)]  # last batch smaller
    return losses, [p.data.copy() for p in model.params()]


def test_labels_and_layers_in_the_training_loop_are_replayed():
    (la, pa), (lb, pb) = iris_run(False), iris_run(True)
    assert la == lb
    for p, q in zip(pa, pb):
        np.testing.assert_array_equal(p, q)


def test_fit_and_the_command_line_train_the_same_with_compile(capsys):
    from tinygrad_ce import train as T
    from tinygrad_ce.cli import main
    histories = []
    for compiled in (False, True):
        train, test = T.standardize(*T.load_dataset("iris"))
        model, loss_layer = T.build_model("mlp", 4, 3, hidden=8, dropout=0.2)
        opt = T.build_optimizer("momentum", model.params(), 0.05, 1e-3)
        histories.append(T.fit(model, loss_layer, opt, train, test, epochs=2, batch_size=32,
                               log=None, progress=False, compiled=compiled))
    for key in ("loss", "train_accuracy", "test_accuracy"):
        assert histories[0][key] == histories[1][key]
    assert histories[0]["replayed"] == 0 and histories[1]["replayed"] > 0
    outputs = []
    for flag in ([], ["--compile"]):
        assert main(["train", "--epochs", "2", "--hidden", "16", "--quiet", *flag]) == 0
        outputs.append(capsys.readouterr().out.splitlines())
    assert outputs[0][:2] == outputs[1][:2]            # the same accuracy, to the digit
    assert outputs[1][-1].startswith("replayed ")


def test_a_parameter_of_a_new_shape_or_a_frozen_one_is_traced_anew():
    W = tg.Tensor(np.ones(3), requires_grad=True)
    b = tg.Tensor(np.zeros(1), requires_grad=True)

    def f(x):
        W.zero_grad()
        b.zero_grad()
        y = (W * tg.Tensor(x) + b).sum()
        y.backward()
        return y

    g = tg.compile(f)
    g(np.ones(3))
    W.data = np.ones(2)                      # the same name, another shape
    assert g(np.ones(2)).item() == 2.0
    np.testing.assert_array_equal(W.grad.data, [1.0, 1.0])
    b.requires_grad_(False)                  # b frozen: backward no longer fills its .grad
    b.zero_grad()
    g(np.ones(2))
    assert b.grad is None and g.replays == 0
