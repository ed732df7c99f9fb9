"""The engine on random graphs: shared subexpressions, diamonds and broadcasting, checked
against finite differences (first and second order)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays

UNARY = {"tanh": tg.tanh, "sigmoid": tg.sigmoid, "neg": lambda a: -a,
         "square": lambda a: a * a, "exp_tanh": lambda a: tg.exp(tg.tanh(a))}
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "soft_div": lambda a, b: a / (1 + b * b)}


@st.composite
def programs(draw):
    """Inputs of shapes (3,), (2, 3) and (2, 1), and 3-12 instructions that each read any
    earlier value: the result is a DAG in which values are reused."""
    steps = []
    for i in range(draw(st.integers(3, 12))):
        available = 3 + i
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))),
                          draw(st.integers(0, available - 1))))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))),
                          draw(st.integers(0, available - 1)),
                          draw(st.integers(0, available - 1))))
    return steps


def run(steps, *inputs):
    values = list(inputs)
    for name, *args in steps:
        fn = UNARY.get(name) or BINARY[name]
        values.append(fn(*[values[a] for a in args]))
    out = values[-1]
    for v in values[3:-1]:         # every intermediate feeds the result: nothing dangles
        out = out + 0.1 * v.sum()
    return out


@given(steps=programs(), a=arrays((3,), lo=-1, hi=1), b=arrays((2, 3), lo=-1, hi=1),
       c=arrays((2, 1), lo=-1, hi=1))
def test_random_graph_gradients(steps, a, b, c):
    report = tg.gradcheck(lambda *xs: run(steps, *xs), [a, b, c], seed=0)
    assert report, f"{steps}\n{report}"


@given(steps=programs(), a=arrays((3,), lo=-1, hi=1), b=arrays((2, 3), lo=-1, hi=1),
       c=arrays((2, 1), lo=-1, hi=1))
def test_random_graph_second_derivatives(steps, a, b, c):
    report = tg.gradgradcheck(lambda *xs: run(steps, *xs).sum(), [a, b, c], seed=0)
    assert report, f"{steps}\n{report}"


@given(steps=programs(), a=arrays((3,), lo=-1, hi=1), b=arrays((2, 3), lo=-1, hi=1),
       c=arrays((2, 1), lo=-1, hi=1))
def test_backward_and_grad_agree_and_release_everything(steps, a, b, c):
    xs = [tg.Tensor(v, requires_grad=True) for v in (a, b, c)]
    y = run(steps, *xs).sum()
    expected = tg.grad(y, xs, retain_graph=True)
    y.backward()
    for x, g in zip(xs, expected):
        if x.grad is None:                     # y does not depend on x (as in PyTorch)
            np.testing.assert_array_equal(g.data, 0)
        else:
            np.testing.assert_allclose(x.grad.data, g.data, rtol=1e-12, atol=1e-14)
        assert x.data.flags.writeable          # the tape let go of every leaf
