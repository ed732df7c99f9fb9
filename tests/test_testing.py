"""tinygrad_ce.testing, as a user would use it in their own tests."""

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_ce as tg
from tinygrad_ce.testing import (
    arrays,
    assert_gradients_match,
    axes,
    broadcastable_shapes,
    gradient_test,
    logits_and_labels,
    probability_rows,
)


def swish(x):
    return (x * tg.sigmoid(x)).sum()


test_swish_gradient = gradient_test(swish, arrays(lo=-4, hi=4))

test_masked_softmax_gradient = gradient_test(
    lambda x, w: (tg.softmax(x, axis=-1) * w).sum(), arrays((3, 4)), arrays((4,)))


def test_factory_fails_and_shrinks_for_a_wrong_gradient():
    class WrongSquare(tg.ops.Op):
        name, method, public = "wrong_square_for_test", False, False

        def forward(self, x):
            return x * x

        def backward(self, gy, x, y):
            return (gy * x,)         # should be 2 * gy * x
    try:
        test = settings(max_examples=20, database=None)(
            gradient_test(lambda x: tg.Tensor.apply(WrongSquare(), x), arrays(lo=0.5, hi=2)))
        with pytest.raises(AssertionError, match="FAILED"):
            test()
    finally:
        del tg.ops.REGISTRY["wrong_square_for_test"]


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    np.broadcast_shapes(*shapes)


@given(arrays().flatmap(lambda a: axes(a.shape).map(lambda ax: (a, ax))))
def test_axes_are_valid_for_their_shape(case):
    a, axis = case
    np.sum(a, axis=axis)


@given(logits_and_labels(), probability_rows(n=3, k=4))
def test_label_and_probability_strategies(xt, p):
    x, t = xt
    assert t.shape == (x.shape[0],) and 0 <= t.min() and t.max() < x.shape[1]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p.shape == (3, 4) and (p >= 0).all()


def test_assert_gradients_match_returns_the_report():
    report = assert_gradients_match(lambda x: tg.exp(x).sum(), np.array([0.1, 0.2]))
    assert report.max_abs_error < 1e-8
