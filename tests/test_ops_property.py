"""One property test over every registered op, first and second order (see STYLE.md, Tests)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.ops import REGISTRY
from tinygrad_ce.testing import arrays, op_cases

OPS = sorted(REGISTRY)


@pytest.mark.parametrize("name", OPS)
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    case = data.draw(op_cases(REGISTRY[name]), label="case")
    leaves = [tg.Tensor(x.copy(), requires_grad=True) for x in case.differentiable()]
    y = case.fn(*leaves)
    gy = data.draw(arrays(y.shape), label="gy")
    gy_before = gy.copy()
    y.backward(gy)
    np.testing.assert_array_equal(gy, gy_before, err_msg=f"{name} backward mutated gy")
    for i, leaf in enumerate(leaves):
        def f(xi, i=i):
            xs = [x.data for x in leaves]
            xs[i] = xi
            with tg.no_grad():
                return np.sum(case.fn(*[tg.Tensor(x) for x in xs]).data * gy)
        expected = tg.numerical_gradient(f, leaf.data, eps=1e-6)
        assert leaf.grad is not None, f"{name}: input {i} got no gradient"
        assert leaf.grad.shape == leaf.shape
        np.testing.assert_allclose(leaf.grad.data, expected, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{case}: input {i}")


@pytest.mark.parametrize("name", OPS)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, data):
    case = data.draw(op_cases(REGISTRY[name]), label="case")
    report = tg.gradgradcheck(case.fn, case.differentiable(), seed=0)
    assert report, f"{case}\n{report}"


@given(data=st.data())
def test_a_newly_registered_op_is_picked_up(data):
    from tinygrad_ce.ops.base import Op, unregister

    class Cube(Op):
        """y = x^3;  gx = 3 gy x^2"""
        name = "cube_for_test"

        def forward(self, x):
            return x ** 3

        def backward(self, gy, x, y):
            return (3 * gy * x * x,)

    try:
        assert REGISTRY["cube_for_test"] is Cube
        case = data.draw(op_cases(Cube))
        assert tg.gradcheck(case.fn, case.differentiable(), seed=1)
        assert tg.gradgradcheck(case.fn, case.differentiable(), seed=1)
    finally:
        unregister("cube_for_test")
