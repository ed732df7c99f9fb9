"""Bad input gets a clear error naming the op, the shapes or values, and the way out."""

import numpy as np
import pytest

import tinygrad_ce as tg


@pytest.fixture
def a():
    return tg.Tensor(np.ones((2, 3)), requires_grad=True)


def test_shapes_that_do_not_broadcast(a):
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast.*reshape"):
        a + np.ones(4)


def test_matmul_inner_dimension_mismatch(a):
    with pytest.raises(ValueError, match=r"matmul: inner dimensions.*\(2, 3\) @ \(2, 2\).*3 != 2"):
        a @ tg.Tensor(np.ones((2, 2)))


def test_requires_grad_on_integer_data():
    with pytest.raises(TypeError, match="floating data, got int64.*dtype=np.float64"):
        tg.Tensor(np.arange(3), requires_grad=True)


def test_backward_on_non_scalar_says_pass_grad_or_sum(a):
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*pass grad=.*y.sum\(\).backward\(\)"):
        (a * 2).backward()


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0, 2.0]).sum().backward()


def test_backward_twice_through_released_graph(a):
    y = tg.exp(a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through sum a second time.*retain_graph=True"):
        y.backward()


@pytest.mark.parametrize("labels, message", [
    ([0, 3], r"labels must be in \[0, 3\).*got \[3\]"),
    ([0, -1], r"labels must be in \[0, 3\).*got \[-1\]"),
    ([0, 1, 2], "3 labels for a batch of 2 rows"),
    ([0.5, 1.0], "whole numbers"),
])
def test_bad_labels(a, labels, message):
    with pytest.raises(ValueError, match=message):
        tg.cross_entropy(a, np.array(labels))


def test_probability_table_of_wrong_width(a):
    with pytest.raises(ValueError, match=r"target of shape \(2, 4\) does not fit logits of shape \(2, 3\)"):
        tg.cross_entropy(a, np.full((2, 4), 0.25))


def test_probability_rows_must_sum_to_one(a):
    with pytest.raises(ValueError, match="probability distribution"):
        tg.cross_entropy(a, np.full((2, 3), 0.5))


def test_whole_number_float_labels_are_accepted(a):
    np.testing.assert_allclose(tg.cross_entropy(a, np.array([0.0, 2.0])).item(), np.log(3))


def test_bce_target_checks():
    z = tg.Tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(ValueError, match="does not match logits"):
        tg.binary_cross_entropy_with_logits(z, np.zeros(4))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        tg.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        tg.binary_cross_entropy_with_logits(z, np.zeros(3), reduction="avg")


def test_in_place_write_to_saved_data_is_an_error():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 5.0
    h = tg.exp(x)
    with pytest.raises(ValueError, match="live tape"):
        h.data = np.zeros(2)
    y.backward()
    x.data[0] = 5.0          # the tape is done with it: writable again
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_dropped_graph_unlocks_the_leaf():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    del y
    x.data[0] = 5.0
    assert x.data[0] == 5.0


def test_setitem_on_a_leaf_that_requires_grad(a):
    with pytest.raises(ValueError, match="in-place write.*tg.no_grad"):
        a[0] = 1.0
    with tg.no_grad():
        a[0, 0] = 7.0
    assert a.data[0, 0] == 7.0


def test_detect_anomaly_names_the_op_and_the_line():
    x = tg.Tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"log produced nan/inf in its forward.*test_errors.py"):
            with np.errstate(divide="ignore"):
                tg.log(x)
        y = tg.sqrt(x).sum()
        with pytest.raises(FloatingPointError, match="sqrt produced nan/inf in its backward"):
            with np.errstate(divide="ignore"):
                y.backward()


def test_bad_axis_and_reshape(a):
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range.*\[-2, 1\]"):
        a.sum(axis=2)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape array of size 6"):
        a.reshape(4)


def test_bool_of_many_elements(a):
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
    assert bool(tg.Tensor([1.0]))
