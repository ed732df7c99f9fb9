"""The backward engine: graph shapes, accumulation, retain_graph, hooks, higher order, memory."""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.ops import REGISTRY
from tinygrad_ce.testing import op_cases


def leaf(values):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_diamond_sums_both_paths():
    x = leaf([1.5, -2.0])
    a, b = x * 3, tg.exp(x)
    y = (a * b).sum()          # d/dx [3x e^x] = 3 e^x (1 + x)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 3 * np.exp(x.data) * (1 + x.data))


def test_node_reused_three_times():
    x = leaf([0.5, 2.0])
    h = tg.tanh(x)
    y = (h * h * h).sum()      # d/dx tanh^3 = 3 tanh^2 (1 - tanh^2)
    y.backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, 3 * t ** 2 * (1 - t ** 2))


def test_chain_of_100000_ops_runs_without_recursion():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.00001 ** 100_000], rtol=1e-9)


def test_no_grad_records_nothing_and_works_as_decorator():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf

    @tg.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad
    assert (x * 2).requires_grad


def test_gradients_accumulate_until_zero_grad():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data)
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_backward_twice_needs_retain_graph():
    x = leaf([1.0, 2.0])
    y = (tg.exp(x) * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(x.data) * (1 + x.data))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_backward_releases_what_the_tape_saved():
    x = leaf(np.ones(1000))
    h = tg.exp(x)
    y = (h * 2).sum()
    ref = weakref.ref(h)
    saved = weakref.ref(h.data)
    del h
    assert ref() is not None, "the tape holds h until backward"
    y.backward()
    gc.collect()
    assert ref() is None and saved() is None, "after backward nothing the tape saved is held"


def test_hooks_see_and_replace_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.data.copy()) or g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad.data, [30.0, 30.0])
    handle.remove()
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_hook_on_an_intermediate_changes_what_flows_below():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: g * 0)
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    assert x.grad is not None


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = (x.detach() * x).sum()     # only the second factor carries gradient
    y.backward()
    np.testing.assert_allclose(x.grad.data, x.data)
    assert np.shares_memory(x.detach().data, x.data)


def test_grad_leaves_dot_grad_untouched():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (gx, gw) = tg.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.data, w.data)
    np.testing.assert_allclose(gw.data, x.data)
    assert x.grad is None and w.grad is None


def test_second_order_through_a_small_mlp_expression():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 3)))
    W1, W2 = leaf(rng.standard_normal((3, 5))), leaf(rng.standard_normal((5, 2)))

    def loss(W1, W2):
        return tg.log_softmax(tg.tanh(x @ W1) @ W2).sum() * -1

    y = loss(W1, W2)
    (g1, g2) = tg.grad(y, [W1, W2], create_graph=True)
    assert g1.requires_grad and not g1.is_leaf
    # Hessian-vector product by double backward equals finite differences of the gradient
    v = rng.standard_normal(W1.shape)
    (hv,) = tg.grad((g1 * v).sum(), [W1])
    eps = 1e-6

    plus = tg.Tensor(W1.data + eps * v, requires_grad=True)
    minus = tg.Tensor(W1.data - eps * v, requires_grad=True)
    gp = tg.grad(loss(plus, W2), [plus])[0].data
    gm = tg.grad(loss(minus, W2), [minus])[0].data
    np.testing.assert_allclose(hv.data, (gp - gm) / (2 * eps), rtol=1e-5, atol=1e-8)
    assert tg.gradgradcheck(lambda a, b: loss(a, b), [W1.data, W2.data], seed=3)


def test_create_graph_backward_gives_grad_with_history():
    x = leaf([2.0])
    (x ** 3).sum().backward(create_graph=True)      # dx = 3x^2 = 12
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(g.data, [12.0])
    (g2,) = tg.grad(g.sum(), [x])                   # d2x = 6x = 12
    np.testing.assert_allclose(g2.data, [12.0])


def test_broadcast_gradient_is_summed_back_by_the_engine():
    x = leaf(np.ones((3, 1)))
    b = leaf(np.ones(4))
    y = (x * b + b).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.data, np.full(4, 6.0))   # 3 rows of (x + 1)


def test_grads_of_one_backward_are_not_aliased():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0


def test_float32_stays_float32():
    x = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (tg.sigmoid(x * 2.0) + 1).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_every_registered_op_is_a_function_or_private():
    for name, cls in REGISTRY.items():
        if cls.public:
            assert callable(getattr(tg, name)), name
            assert getattr(tg, name).__doc__ == cls.__doc__


@pytest.mark.parametrize("name", sorted(REGISTRY))
@given(data=st.data())
def test_writes_that_backward_does_not_need_are_harmless(name, data):
    """An op that does not lock an array (saves_inputs/saves_output False) must not read it."""
    case = data.draw(op_cases(REGISTRY[name]))
    xs = [tg.Tensor(x.copy(), requires_grad=True) for x in case.differentiable()]
    y = case.fn(*xs)
    gy = np.random.default_rng(1).standard_normal(y.shape)
    expected = tg.grad(y, xs, gy, retain_graph=True)
    for t in [*y._op.inputs, y]:
        if t._data.flags.writeable and t._data.size:
            t._data[...] = 1e6          # garbage where backward must not look
    got = tg.grad(y, xs, gy)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g.data, e.data, err_msg=name)


def test_grad_with_several_outputs_and_upstream_gradients():
    x = leaf([1.0, 2.0])
    y1, y2 = x * x, tg.exp(x)
    (g,) = tg.grad([y1, y2], [x], [np.array([1.0, 2.0]), np.array([3.0, 0.5])])
    np.testing.assert_allclose(g.data, np.array([1.0, 2.0]) * 2 * x.data
                               + np.array([3.0, 0.5]) * np.exp(x.data))


def test_anomaly_in_a_layer_backward_names_the_layer():
    class Broken(tg.Sigmoid):
        def backward(self, dout):
            return dout * np.inf
    x = tg.Tensor(np.ones((2, 2)), requires_grad=True)
    with tg.detect_anomaly():
        y = Broken()(x).sum()
        with pytest.raises(FloatingPointError, match="broken produced nan/inf in its backward"):
            y.backward()


def test_hooks_run_under_create_graph_and_keep_history():
    x = leaf([3.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad))
    (x ** 3).sum().backward(create_graph=True)
    assert seen == [True] and x.grad.requires_grad
    (g2,) = tg.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(g2.data, [18.0])          # d(3x^2)/dx = 6x


def test_iteration_and_len_follow_the_first_axis():
    x = leaf(np.arange(6.0).reshape(3, 2))
    rows = list(x)
    assert len(x) == 3 and [r.shape for r in rows] == [(2,)] * 3
    sum(r.sum() * (i + 1) for i, r in enumerate(rows)).backward()
    np.testing.assert_allclose(x.grad.data, [[1, 1], [2, 2], [3, 3]])
