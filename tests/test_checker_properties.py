"""Properties of the checkers themselves, over hypothesis-drawn functions and inputs: correct
gradients pass (no false alarm), a gradient off by a few times the reported resolution fails,
given tolerances mean exactly what they say, and kinks are found where they are planted.

A relative error d is planted with a hook on the output: every input's gradient is then
(1 + d) times the right one."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays, check_vjp

UNARY = {
    "tanh": tg.tanh,
    "sigmoid": tg.sigmoid,
    "square": lambda t: t * t,
    "exp": lambda t: tg.exp(tg.tanh(t)),      # bounded: compositions never overflow
    "softmax": lambda t: tg.softmax(t, axis=-1),
    "log_softmax": lambda t: tg.log_softmax(t, axis=-1),
    "swish": lambda t: t * tg.sigmoid(t),
    "center": lambda t: t - t.mean(axis=-1, keepdims=True),
    "logsumexp": lambda t: tg.logsumexp(t, axis=-1, keepdims=True) * t,
}


@st.composite
def problems(draw):
    """(name, fn, [x, W]): fn(x, W) = ops(x @ W), maybe reduced, x (n, k), W (k, m)."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    names = draw(st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=3))
    reduce = draw(st.sampled_from(["none", "sum", "cross_entropy"]))
    labels = draw(st.lists(st.integers(0, m - 1), min_size=n, max_size=n))

    def fn(x, W):
        y = x @ W
        for name in names:
            y = UNARY[name](y)
        if reduce == "sum":
            return y.sum()
        if reduce == "cross_entropy":
            return tg.cross_entropy(y, np.array(labels))
        return y
    x = draw(arrays((n, k), lo=-2, hi=2))
    W = draw(arrays((k, m), lo=-2, hi=2))
    return f"{reduce}({' . '.join(names)})", fn, [x, W]


def planted(fn, d):
    """fn whose gradients are all (1 + d) times the right ones."""
    def wrong(*xs):
        y = fn(*xs)
        if y.requires_grad:
            y.register_hook(lambda g: g * (1 + d))
        return y
    return wrong


@given(problems(), st.integers(0, 2 ** 16), st.booleans())
def test_correct_gradients_pass(problem, seed, fast):
    name, fn, inputs = problem
    report = tg.gradcheck(fn, inputs, seed=seed, fast=fast)
    assert report, f"false alarm on {name}:\n{report}"


@given(problems(), st.integers(0, 2 ** 16))
def test_an_error_of_eight_times_the_resolution_fails(problem, seed):
    name, fn, inputs = problem
    report = tg.gradcheck(fn, inputs, seed=seed)
    assume(np.isfinite(report.resolution) and report.resolution < 1e-3)
    d = 8 * report.resolution
    assert not tg.gradcheck(planted(fn, d), inputs, seed=seed), f"{name}: d = {d:.2g} passed"
    assert not tg.gradcheck(planted(fn, 1e-4), inputs, seed=seed) or report.resolution > 1e-5


@given(problems(), st.integers(0, 2 ** 16), st.floats(0, 1e-2))
def test_given_tolerances_are_used_exactly(problem, seed, rtol):
    name, fn, inputs = problem
    report = tg.gradcheck(planted(fn, 1e-3), inputs, seed=seed, atol=0.0, rtol=rtol)
    for r in report.inputs:
        np.testing.assert_allclose(r.allowed, rtol * abs(r.numeric), rtol=1e-12)
    worst = report.max_abs_error
    assume(worst > 0)
    # (the numeric side may differ between runs: an element within tolerance at step h keeps
    # that difference, one outside gets the Richardson value; each run applies its own exactly)
    assert tg.gradcheck(planted(fn, 1e-3), inputs, seed=seed, atol=2 * worst, rtol=0)
    exact = tg.gradcheck(planted(fn, 1e-3), inputs, seed=seed, atol=0, rtol=0)
    assert not exact and all(r.allowed == 0 for r in exact.inputs)


@given(n=st.integers(1, 5), m=st.integers(1, 5), seed=st.integers(0, 2 ** 16), data=st.data())
def test_check_vjp_of_a_linear_map(n, m, seed, data):
    A = data.draw(arrays((m, n), lo=-3, hi=3), label="A")
    x = data.draw(arrays((n,), lo=-3, hi=3), label="x")
    right = check_vjp(lambda v: A @ v, lambda gy, v: (A.T @ gy,), x, seed=seed)
    assert right, str(right)
    assume(np.isfinite(right.resolution) and right.resolution < 1e-3)
    d = 8 * right.resolution
    assert not check_vjp(lambda v: A @ v, lambda gy, v: ((1 + d) * (A.T @ gy),), x, seed=seed)


@given(arrays((5,), lo=-2, hi=2, avoid=(0.0,)), st.integers(0, 4), st.integers(0, 2 ** 16))
def test_a_planted_kink_is_found_and_nothing_else(x, j, seed):
    x = x.copy()
    x[j] = 0.0                                    # relu's kink, exactly
    report = tg.gradcheck(lambda t: tg.relu(t) * tg.tanh(t + 3), [x], seed=seed)
    assert report, str(report)
    assert [k.index for k in report.kinks] == [(j,)]
    kink = report.kinks[0]
    assert abs(kink.left) < 1e-6 < abs(kink.right)
