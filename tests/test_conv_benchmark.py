"""The convolution benchmark compares like with like: the hand-written classic SimpleConvNet
and tinygrad_ce's take the same step; the workers run."""

import importlib.util
import pathlib

import numpy as np

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hand_written_classic_convnet_takes_the_same_step_as_ours():
    import tinygrad_ce as tg
    conv, hand = load("conv"), load("conv_hand")
    params = conv.convnet_params(np.float64)
    rng = np.random.default_rng(0)
    x, t = rng.random((4, 1, 28, 28)), rng.integers(0, 10, 4)
    net = hand.SimpleConvNet([p.copy() for p in params])
    loss = net.step(x, t, lr=0.1)
    model = tg.models.simple_convnet((1, 28, 28))
    for p, v in zip(model.params(), params):
        p.data[...] = v
    ours = tg.SoftmaxWithLoss()(model(tg.Tensor(x)), t)
    ours.backward()
    assert abs(ours.item() - loss) < 1e-12
    for p, layer in zip(model.params()[::2], [net.layers[0], net.layers[3], net.layers[5]]):
        np.testing.assert_allclose(p.data - 0.1 * p.grad.data, layer.W, atol=1e-12)


def test_classic_im2col_and_col2im_agree_with_ours():
    import tinygrad_ce as tg
    hand = load("conv_hand")
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6))
    cols = hand.im2col(x, 3, 2, 2, 1)
    np.testing.assert_array_equal(cols, tg.im2col(x, 3, 2, 2, 1))
    np.testing.assert_allclose(hand.col2im(cols, x.shape, 3, 2, 2, 1),
                               tg.col2im(cols, x.shape, 3, 2, 2, 1), atol=1e-12)


def test_benchmark_steps_run():
    conv = load("conv")
    for dtype in ("float32", "float64"):
        conv.convnet_step("numpy", dtype, batch=2)()
        conv.convnet_step("tinygrad_ce", dtype, batch=2)()
        conv.mnist1d_step("tinygrad_ce", dtype)()
        try:
            import torch  # noqa: F401
        except ImportError:
            continue
        conv.mnist1d_step("torch", dtype)()
