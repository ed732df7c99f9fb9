"""A golden test of the printed tape."""

import numpy as np

import tinygrad_ce as tg

GOLDEN = """\
step  entry                 shape   dtype    grad
0     %3 = matmul(%0, %1)   (4, 2)  float64  -
1     %4 = add(%3, %2)      (4, 2)  float64  -
2     %5 = sigmoid(%4)      (4, 2)  float64  (4, 2)
3     %6 = sum(%5, axis=1)  (4,)    float64  -
4     %7 = mean(%6)         ()      float64  -
  %0 'x': constant, shape (4, 3), float64
  %1 'W': leaf, requires grad, shape (3, 2), float64, grad (3, 2)
  %2 'b': leaf, requires grad, shape (2,), float64, grad (2,)"""


def test_printed_tape_golden():
    x = tg.Tensor(np.ones((4, 3)), name="x")
    W = tg.Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    b = tg.Tensor(np.zeros(2), requires_grad=True, name="b")
    h = tg.sigmoid(x @ W + b)
    h.retain_grad()
    y = h.sum(axis=1).mean()
    y.backward(retain_graph=True)
    assert str(y.tape()) == GOLDEN


def test_tape_is_in_run_order_and_only_what_y_depends_on():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    unrelated = x * 5  # noqa: F841
    y = tg.exp(x) + x
    assert [e.op.name for e in y.tape()] == ["exp", "add"]
    assert [e.step for e in y.tape()] == [0, 1]
