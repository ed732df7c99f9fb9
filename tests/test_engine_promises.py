"""The engine keeps every promise (issue 10): threads, aliases, tg.grad's reach, release, and
the smaller defects, each with the case that used to go wrong."""

import sys
import threading

import numpy as np
import pytest

import tinygrad_ce as tg

# ---- per-thread state ------------------------------------------------------------------------

def _in_threads(*targets):
    errors = []

    def run(fn):
        try:
            fn()
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    barrier, seen = threading.Barrier(2, timeout=30), {}

    def quiet():
        with tg.no_grad(), tg.detect_anomaly():
            barrier.wait()          # 1: inside no_grad while the other thread records
            barrier.wait()          # 2
        seen["quiet"] = tg.autograd.STATE.grad_enabled

    def recording():
        barrier.wait()              # 1
        x = tg.Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        seen["recorded"], seen["anomaly"] = y.requires_grad, tg.autograd.STATE.anomaly
        with tg.trace() as tr:
            y.backward()
        seen["trace"] = len(tr)
        barrier.wait()              # 2

    _in_threads(quiet, recording)
    assert seen == {"quiet": True, "recorded": True, "anomaly": False, "trace": 2}


def test_a_backward_in_one_thread_does_not_stop_recording_in_another():
    # backward runs under no_grad; with a process-wide flag a forward in the other thread
    # would silently record nothing
    barrier, results = threading.Barrier(2, timeout=30), []

    class Slow(tg.Op):
        name = "slow_identity_for_test"

        def forward(self, x):
            return x * 1.0

        def backward(self, gy, x, y):
            barrier.wait()          # the other thread runs its forward in the middle of this
            barrier.wait()
            return (gy,)

    try:
        def backward_thread():
            x = tg.Tensor([1.0], requires_grad=True)
            tg.slow_identity_for_test(x).sum().backward()

        def forward_thread():
            barrier.wait()
            x = tg.Tensor([3.0], requires_grad=True)
            results.append((x * x).requires_grad)
            barrier.wait()

        _in_threads(backward_thread, forward_thread)
    finally:
        tg.ops.base.unregister("slow_identity_for_test")
    assert results == [True]


def test_two_models_trained_in_two_threads_match_training_them_in_turn():
    def train(seed, out, steps=30):
        rng = np.random.default_rng(seed)
        x, t = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
        model = tg.Sequential(tg.Affine(4, 8, rng=seed), tg.Tanh(), tg.Affine(8, 3, rng=seed))
        opt, loss_layer = tg.optim.SGD(model.params(), lr=0.1), tg.SoftmaxWithLoss()
        for _ in range(steps):
            opt.zero_grad()
            with tg.no_grad():
                model(tg.Tensor(x))   # an evaluation in between, as a training loop does
            loss_layer(model(tg.Tensor(x)), t).backward()
            opt.step()
        out[seed] = [p.data.copy() for p in model.params()]

    alone, together = {}, {}
    train(1, alone)
    train(2, alone)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)      # switch threads often: the steps interleave
    try:
        _in_threads(lambda: train(1, together), lambda: train(2, together))
    finally:
        sys.setswitchinterval(interval)
    for seed in (1, 2):
        for a, b in zip(alone[seed], together[seed]):
            np.testing.assert_array_equal(a, b)


def test_the_no_grad_decorator_is_reentrant():
    @tg.no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    depth(3)
    assert tg.autograd.STATE.grad_enabled
    x = tg.Tensor([1.0], requires_grad=True)
    assert (x * 2).requires_grad


# ---- aliases: a write through any view of saved data is an error -----------------------------

def _views():
    return {
        "reshape": lambda x: x.reshape(2),
        "slice": lambda x: x[0:2],
        "transpose": lambda x: x.reshape(2, 1).T,
        "detach().requires_grad_()": lambda x: x.detach().requires_grad_(),
        "Tensor(t)": lambda x: tg.Tensor(x, requires_grad=True),
    }


@pytest.mark.parametrize("how", sorted(_views()))
def test_a_write_through_an_alias_of_saved_data_is_an_error(how):
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = _views()[how](x)
    z = (y * y).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 10.0
    z.backward()
    g = y.grad if y.is_leaf else x.grad
    np.testing.assert_allclose(np.ravel(g.data), [2.0, 4.0])
    x.data[0] = 10.0                 # the tape is done with it: writable again


def test_one_tape_finishing_does_not_unlock_memory_another_still_needs():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    d = x.detach().requires_grad_()
    z1, z2 = (d * d).sum(), (x * x).sum()
    z1.backward()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 10.0             # z2 still needs it
    z2.backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_the_data_setter_rejects_integers_on_a_leaf_that_requires_grad():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        x.data = np.array([1, 2])
    x.data = np.array([3.0, 4.0])
    assert x.dtype == np.float64


# ---- tg.grad's reach; release ----------------------------------------------------------------

def test_tg_grad_leaves_the_history_of_its_inputs_alone():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = tg.exp(x)
    (g,) = tg.grad((h * h).sum(), h)
    np.testing.assert_allclose(g.data, 2 * np.exp([1.0, 2.0]))
    h.sum().backward()               # h's own history is still there
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]))


def test_tg_grad_through_an_input_that_leads_to_another():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    gh, gx = tg.grad((h * x).sum(), [h, x])
    np.testing.assert_allclose(gh.data, [1.0, 2.0])
    np.testing.assert_allclose(gx.data, 6 * x.data)   # d/dx 3x^2, through h and directly


@pytest.mark.parametrize("n", [4, 8])
def test_second_order_through_n_layers_runs_each_reference_once(n, monkeypatch):
    calls = []
    original = tg.Tanh.reference
    monkeypatch.setattr(tg.Tanh, "reference", lambda self, x: calls.append(1) or original(self, x))
    model = tg.Sequential(*[tg.Tanh() for _ in range(n)])
    x = tg.Tensor(np.linspace(-1, 1, 3), requires_grad=True)
    (g,) = tg.grad(model(x).sum(), x, create_graph=True)
    g.sum().backward()
    assert len(calls) == n           # was 2^n - 1 (21,845 at 8 layers counting Newton's passes)


def test_the_tape_prints_after_backward_released_it():
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    y = tg.relu(x @ tg.Tensor(np.ones((3, 2)))).sum()
    before = str(y.tape())
    y.backward()
    after = str(y.tape())
    assert after.splitlines()[:4] == before.splitlines()[:4]
    assert "'x': leaf, requires grad, shape (2, 3), float64, grad (2, 3)" in after
    with pytest.raises(RuntimeError, match="a second time"):
        y.backward()


# ---- the smaller defects ---------------------------------------------------------------------

def test_pow_gradient_at_base_zero_is_zero_as_pytorch():
    a = tg.Tensor([0.0, 0.0, 2.0], requires_grad=True)
    b = tg.Tensor([2.0, 0.0, 0.0], requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0, np.log(2.0)])
    torch = pytest.importorskip("torch")
    ta = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([2.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    (ta ** tb).sum().backward()
    np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.data, tb.grad.numpy())


def test_the_constant_cache_keeps_zero_and_minus_zero_apart():
    x = tg.Tensor([1.0, -1.0], requires_grad=True)
    _ = x * 0.0
    with np.errstate(divide="ignore"):
        y = x / -0.0
    np.testing.assert_array_equal(y.data, [-np.inf, np.inf])


def test_a_hook_may_not_change_the_gradients_dtype():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g.data.astype(np.float32))
    with pytest.raises(ValueError, match="dtype float32 for a Tensor of shape \\(2,\\) and dtype float64"):
        (x * 2).sum().backward()


def test_nan_binary_targets_are_rejected():
    z = tg.Tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tg.binary_cross_entropy_with_logits(z, np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tg.SigmoidWithLoss()(z, np.array([0.0, np.nan, 1.0]))


def test_create_graph_gives_a_float32_leaf_a_float32_gradient():
    x = tg.Tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    y = (tg.exp(x) * np.float64(2.0) + x ** 2.0).sum()
    y.backward(create_graph=True)
    assert x.grad.dtype == np.float32


def test_an_optimizer_step_error_is_not_blamed_on_a_live_tape():
    p = tg.Tensor(np.ones(3), requires_grad=True)
    p.grad = tg.Tensor(np.ones(5))
    with pytest.raises(ValueError) as info:
        tg.optim.SGD([p], lr=0.1).step()
    assert "live tape" not in str(info.value)


def test_max_over_a_non_empty_axis_of_an_empty_array():
    x = tg.Tensor(np.zeros((0, 3)), requires_grad=True)
    y = x.max(axis=1)
    assert y.shape == (0,)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ValueError, match="empty axis"):
        x.max(axis=0)


def test_batch_norm_backward_uses_the_mode_at_forward_time():
    rng = np.random.default_rng(0)
    x, u = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))

    def dx(switch):
        bn = tg.BatchNorm(3)
        xt = tg.Tensor(x, requires_grad=True)
        y = bn(xt)
        if switch:
            bn.eval()
        y.backward(u)
        return xt.grad.data

    np.testing.assert_allclose(dx(switch=True), dx(switch=False))
    bn = tg.BatchNorm(3)                       # one layer, train and eval, in one graph
    xt = tg.Tensor(x, requires_grad=True)
    y_train = bn(xt)
    y_eval = bn.eval()(xt)
    ((y_train + y_eval) * u).sum().backward()
    in_eval = u / np.sqrt(bn.running_var + bn.eps)   # gamma = 1: a fixed affine map in eval
    np.testing.assert_allclose(xt.grad.data, dx(switch=False) + in_eval)


def test_adam_counts_steps_per_parameter():
    a = tg.Tensor(np.array([1.0]), requires_grad=True)
    b = tg.Tensor(np.array([1.0]), requires_grad=True)
    opt = tg.optim.Adam([a, b], lr=0.1)
    a.grad = tg.Tensor(np.array([0.5]))
    opt.step()                                  # b has no gradient yet: not its step
    b.grad = tg.Tensor(np.array([0.5]))
    opt.step()
    np.testing.assert_allclose(b.data, [1.0 - 0.1], rtol=1e-6)   # a first step: lr * sign(g)
    torch = pytest.importorskip("torch")
    ta = torch.ones(1, dtype=torch.float64, requires_grad=True)
    tb = torch.ones(1, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([ta, tb], lr=0.1)
    ta.grad = torch.tensor([0.5], dtype=torch.float64)
    topt.step()
    tb.grad = torch.tensor([0.5], dtype=torch.float64)
    topt.step()
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-12)


def test_check_layer_honours_atol_zero():
    report = tg.check_layer(tg.Tanh(), np.random.default_rng(0).standard_normal((3, 2)), atol=0.0)
    assert report.atol == 0.0
