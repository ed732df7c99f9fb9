"""Convolution, pooling, padding: ops against loops and torch, layers three-way, im2col/col2im."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.testing import arrays, conv_geometry

CONV_LAYERS = ["conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
               "residual", "flatten", "batch_norm_2d"]


def conv_by_loops(x, W, b, s, p):
    """The definition, one output element at a time (2-D)."""
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    f, _, kh, kw = W.shape
    oh, ow = (xp.shape[2] - kh) // s + 1, (xp.shape[3] - kw) // s + 1
    y = np.zeros((x.shape[0], f, oh, ow))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                window = xp[n, :, i * s:i * s + kh, j * s:j * s + kw]
                y[n, :, i, j] = (W * window).sum(axis=(1, 2, 3)) + b
    return y


def test_conv2d_equals_the_definition_by_loops():
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)), np.ones(4)
    for s, p in [(1, 0), (2, 1), (3, 2)]:
        got = tg.conv2d(x, W, b, s, p).data
        expected = conv_by_loops(x, W, b, s, p)
        np.testing.assert_allclose(got, expected, atol=1e-12)


@given(geometry=conv_geometry(), data=st.data())
def test_col2im_is_the_adjoint_of_im2col(geometry, data):
    shape, k, s, p = geometry
    x = data.draw(arrays(shape))
    kw = None if len(k) == 1 else k[1]
    cols = tg.im2col(x, k[0], kw, s, p)
    c = data.draw(arrays(cols.shape))
    back = tg.col2im(c, shape, k[0], kw, s, p)
    assert back.shape == shape
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-10, atol=1e-10)


def test_im2col_rows_are_windows_and_col2im_counts_overlaps():
    x = np.arange(2 * 1 * 4 * 4, dtype=float).reshape(2, 1, 4, 4)
    cols = tg.im2col(x, 3, 3, stride=1, padding=0)
    assert cols.shape == (2 * 2 * 2, 9)
    np.testing.assert_array_equal(cols[3], x[0, 0, 1:4, 1:4].ravel())
    np.testing.assert_array_equal(cols[4], x[1, 0, 0:3, 0:3].ravel())
    counts = tg.col2im(np.ones_like(cols), x.shape, 3, 3)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                                 [1, 2, 2, 1]])
    one_d = tg.im2col(np.arange(5.0).reshape(1, 1, 5), 2, stride=2, padding=1)
    np.testing.assert_array_equal(one_d, [[0, 0], [1, 2], [3, 4]])


@pytest.mark.parametrize("name", CONV_LAYERS)
def test_layer_three_way_check(name):
    layer, inputs = tg.layers.catalogue()[name](np.random.default_rng(0))
    report = tg.check_layer(layer, *inputs)
    assert report, report
    if name == "batch_norm_2d":
        layer.forward(inputs[0])
        assert tg.check_layer(layer.eval(), *inputs)


@pytest.mark.parametrize("name", ["conv1d", "conv2d", "max_pool2d", "avg_pool1d"])
def test_layer_on_the_tape_second_order_matches_the_op(name):
    layer, (x,) = tg.layers.catalogue()[name](np.random.default_rng(1))
    xt = tg.Tensor(x, requires_grad=True)
    (gx,) = tg.grad((layer(xt) ** 2).sum(), [xt], create_graph=True)
    (gx_ref,) = tg.grad((layer.reference(xt) ** 2).sum(), [xt], create_graph=True)
    np.testing.assert_allclose(gx.data, gx_ref.data, atol=1e-12)
    (hx,) = tg.grad((gx ** 2).sum(), [xt])
    (hx_ref,) = tg.grad((gx_ref ** 2).sum(), [xt])
    np.testing.assert_allclose(hx.data, hx_ref.data, atol=1e-10)


def test_a_data_input_gets_no_gradient_and_skips_col2im():
    rng = np.random.default_rng(0)
    layer = tg.Conv2d(1, 2, 3, rng=0)
    out = layer(tg.Tensor(rng.standard_normal((2, 1, 5, 5))))
    out.sum().backward()
    assert layer.W.grad is not None and layer.b.grad is not None


def test_pad_matches_numpy_and_cuts_the_gradient():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = tg.pad(x, [(1, 0), (2, 1)])
    np.testing.assert_array_equal(y.data, np.pad(x.data, [(1, 0), (2, 1)]))
    y.backward(np.arange(y.size, dtype=float).reshape(y.shape))
    np.testing.assert_array_equal(x.grad.data, np.arange(y.size).reshape(y.shape)[1:, 2:5])


def test_pooling_defaults_and_conventions():
    x = tg.Tensor(np.array([[[1.0, 3.0, 3.0, 2.0, 5.0]]]), requires_grad=True)
    y = tg.max_pool1d(x, 2)                      # stride defaults to the kernel; 5 -> 2 windows
    np.testing.assert_array_equal(y.data, [[[3.0, 3.0]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[0, 1, 1, 0, 0]]])   # first max at a tie
    z = tg.avg_pool1d(tg.Tensor(np.ones((1, 1, 3))), 2, stride=1, padding=1)
    np.testing.assert_array_equal(z.data, [[[0.5, 1.0, 1.0, 0.5]]])   # padded zeros count
    w = tg.max_pool1d(tg.Tensor(-np.ones((1, 1, 3))), 2, stride=1, padding=1)
    np.testing.assert_array_equal(w.data, -np.ones((1, 1, 4)))        # padding never wins


@pytest.mark.parametrize("call, message", [
    (lambda: tg.conv2d(np.ones((2, 3, 5)), np.ones((4, 3, 2, 2))), r"\(N, C, H, W\)"),
    (lambda: tg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 2, 2, 2))), "input channels"),
    (lambda: tg.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), "does not fit"),
    (lambda: tg.conv1d(np.ones((1, 1, 5)), np.ones((2, 1, 3)), np.ones(3)), "one per filter"),
    (lambda: tg.conv1d(np.ones((1, 1, 5)), np.ones((2, 1, 3)), stride=0), ">= 1"),
    (lambda: tg.max_pool2d(tg.Tensor(np.ones((1, 1, 4, 4))), 2, 2, 2), "at most half"),
    (lambda: tg.max_pool2d(tg.Tensor(np.ones((1, 1, 4, 4))), (2, 2, 2)), "tuple of 2"),
    (lambda: tg.pad(tg.Tensor(np.ones((2, 2))), [(1, 2, 3)]), "pair per axis"),
    (lambda: tg.Conv2d(3, 4, 3).forward(np.ones((1, 2, 5, 5))), "3 input channels"),
    (lambda: tg.col2im(np.ones((3, 3)), (1, 1, 4, 4), 2, 2), "expected"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_flatten_then_affine_in_a_small_convnet_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 1, 6, 6))
    t = (x[:, 0, :3].sum(axis=(1, 2)) > x[:, 0, 3:].sum(axis=(1, 2))).astype(np.int64)
    model = tg.Sequential(tg.Conv2d(1, 4, 3, padding=1, rng=0), tg.ReLU(), tg.MaxPool2d(2),
                          tg.Flatten(), tg.Affine(36, 2, rng=0))
    opt, loss_fn = tg.optim.Adam(model.params(), lr=0.05), tg.SoftmaxWithLoss()
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(model(tg.Tensor(x)), t)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.3 * first
