"""The Tensor's construction rules, properties and NumPy interop."""

import numpy as np
import pytest

import tinygrad_ce as tg


def test_dtype_rules():
    assert tg.Tensor(1.5).dtype == np.float64
    assert tg.Tensor([1, 2]).dtype == np.float64            # Python lists: the default dtype
    assert tg.Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert tg.Tensor(np.arange(3)).dtype == np.int64         # ndarrays keep their dtype
    assert tg.Tensor([1, 2], dtype=np.float32).dtype == np.float32
    tg.set_default_dtype(np.float32)
    try:
        assert tg.Tensor([1.0]).dtype == np.float32
    finally:
        tg.set_default_dtype(np.float64)
    with pytest.raises(TypeError):
        tg.set_default_dtype(np.int32)


def test_properties_and_methods():
    t = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="t")
    assert (t.shape, t.ndim, t.size, t.name) == ((2, 3), 2, 6, "t")
    assert t.T.shape == (3, 2) and t.is_leaf and not (t * 2).is_leaf
    assert t.numpy() is t.data and t[1, 2].item() == 5.0
    d = t.detach()
    assert not d.requires_grad and d.requires_grad_().requires_grad
    with pytest.raises(ValueError):
        (t * 2).requires_grad_(False)


def test_numpy_interop_stays_on_the_tape():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    for y in [np.exp(x), np.ones(2) * x, 2.0 * x, np.float64(3) - x, np.sum(x * x),
              np.maximum(x, 1.5), np.where(np.array([True, False]), x, 0.0)]:
        assert isinstance(y, tg.Tensor) and y.requires_grad, y
    assert type(np.asarray(x)) is np.ndarray
    with pytest.raises(TypeError, match="tg.exp"):
        np.arctan(x)         # no arctan op: an error, never a dropped tape
    with pytest.raises(TypeError, match="np.linalg.norm"):
        np.linalg.norm(x)


def test_reflected_operators_with_ndarrays():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) / x
    assert isinstance(y, tg.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, -np.array([3.0, 4.0]) / x.data ** 2)


def test_comparisons_give_booleans_without_gradient():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == bool and not m.requires_grad
    np.testing.assert_array_equal(m.data, [False, True])


def test_repr_is_readable():
    assert repr(tg.Tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    assert repr(tg.Tensor([1.0]) * tg.Tensor([2.0], requires_grad=True)) == "Tensor([2.], op=mul)"


def test_indexing_with_repeats_accumulates():
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 0.0, 1.0])


def test_tie_conventions_follow_pytorch():
    x = tg.Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0, 0.5, 0.5])        # amax: shared among ties
    a, b = tg.Tensor([2.0], requires_grad=True), tg.Tensor([2.0], requires_grad=True)
    tg.maximum(a, b).sum().backward()
    assert a.grad.item() == b.grad.item() == 0.5                    # maximum: split in half
    z = tg.Tensor([0.0, -1.0, 1.0], requires_grad=True)
    (tg.relu(z) + tg.abs(z)).sum().backward()
    np.testing.assert_allclose(z.grad.data, [0.0, -1.0, 2.0])       # relu'(0) = abs'(0) = 0
    c = tg.Tensor([0.0, 1.0, 2.0], requires_grad=True)
    tg.clip(c, 0.0, 1.0).sum().backward()
    np.testing.assert_allclose(c.grad.data, [1.0, 1.0, 0.0])        # boundaries pass gradient


def test_stable_for_logits_of_magnitude_1e4():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    x = tg.Tensor(z, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for f in [lambda: tg.cross_entropy(x, np.array([1, 0])),
                  lambda: tg.log_softmax(x).sum(), lambda: (tg.softmax(x) * z).sum(),
                  lambda: tg.logsumexp(x, axis=1).sum(),
                  lambda: tg.binary_cross_entropy_with_logits(x, np.zeros_like(z)),
                  lambda: tg.sigmoid(x).sum()]:
            x.zero_grad()
            y = f()
            y.backward()
            assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(tg.cross_entropy(x, np.array([1, 0])).item(), 2e4)
