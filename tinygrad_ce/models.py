"""Ready-made networks: the MNIST-1D paper's models and the classic small convnets.

MNIST-1D (Greydanus and Kobak, ICML 2024), on signals of length 40, 10 classes:
    logistic  Affine(40, 10) with softmax cross-entropy (the paper's "logistic regression")
    mlp       Affine(40, 100), ReLU, Residual(Affine(100, 100), ReLU), Affine(100, 10)
    cnn       Conv1d(1, 25, 5, stride 2, padding 1), ReLU, Conv1d(25, 25, 3, 2, 1), ReLU,
              Conv1d(25, 25, 3, 2, 1), ReLU, Flatten, Affine(125, 10)   (input (N, 1, 40))
Images (N, C, H, W):
    simple_convnet  "Deep Learning from Scratch"'s SimpleConvNet: Conv2d(C, 30, 5), ReLU,
                    MaxPool2d(2), Affine(., 100), ReLU, Affine(100, 10)
    small_convnet   for CIFAR-10: two Conv2d(3x3, padding 1)-ReLU-MaxPool2d(2) blocks,
                    Affine(., 10)

Weights start as PyTorch's layers do (uniform in +-1/sqrt(fan_in), biases too), so the paper's
settings (Adam, lr 1e-2) meet the initial scale they were tuned for.
"""

import numpy as np

from .layers import (
    GRU,
    Affine,
    Conv1d,
    Conv2d,
    Flatten,
    MaxPool2d,
    ReLU,
    Residual,
    Sequential,
)


def torch_init(model, rng):
    """Reset every Affine and Conv as torch.nn.Linear/ConvNd do: W and b ~ U(-a, a),
    a = 1 / sqrt(fan_in) (fan_in: inputs of a unit, in_channels * kernel size for a conv)."""
    layers = model.layers if isinstance(model, Sequential) else [model]
    for layer in layers:
        if isinstance(layer, Sequential):
            torch_init(layer, rng)
        elif isinstance(layer, (Affine, Conv1d, Conv2d)):
            w = layer.W.data
            fan_in = w.shape[0] if isinstance(layer, Affine) else int(np.prod(w.shape[1:]))
            a = 1 / np.sqrt(fan_in)
            w[...] = rng.uniform(-a, a, w.shape)
            layer.b.data[...] = rng.uniform(-a, a, layer.b.shape)
    return model


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def mnist1d_logistic(seed=0, dtype=None):
    """The paper's linear model: Affine(40, 10) (train it with softmax cross-entropy)."""
    rng = _rng(seed)
    return torch_init(Sequential(Affine(40, 10, rng=rng, dtype=dtype)), rng)


def mnist1d_mlp(seed=0, dtype=None):
    """The paper's MLP: 40-100 ReLU, a residual 100-100 ReLU, 10."""
    rng = _rng(seed)
    return torch_init(Sequential(
        Affine(40, 100, rng=rng, dtype=dtype), ReLU(),
        Residual(Affine(100, 100, rng=rng, dtype=dtype), ReLU()),
        Affine(100, 10, rng=rng, dtype=dtype)), rng)


def mnist1d_cnn(seed=0, dtype=None):
    """The paper's CNN on (N, 1, 40): three Conv1d with ReLU, then Affine(125, 10)."""
    rng = _rng(seed)
    kw = {"rng": rng, "dtype": dtype}
    return torch_init(Sequential(
        Conv1d(1, 25, 5, stride=2, padding=1, **kw), ReLU(),
        Conv1d(25, 25, 3, stride=2, padding=1, **kw), ReLU(),
        Conv1d(25, 25, 3, stride=2, padding=1, **kw), ReLU(),
        Flatten(), Affine(125, 10, **kw)), rng)


def mnist1d_gru(seed=0, dtype=None):
    """The paper's recurrent model on (N, 40, 1): a bidirectional GRU with 6 units per direction
    over the 40 steps, every step's output (N, 40, 12) flattened into Affine(480, 10)."""
    rng = _rng(seed)
    return torch_init(Sequential(GRU(1, 6, bidirectional=True, rng=rng, dtype=dtype),
                                 Affine(480, 10, rng=rng, dtype=dtype)), rng)


def simple_convnet(input_shape=(1, 28, 28), n_classes=10, *, filters=30, kernel=5,
                   hidden=100, seed=0, dtype=None):
    """SimpleConvNet: Conv2d(C, 30, 5) -> ReLU -> MaxPool2d(2) -> Affine(., 100) -> ReLU ->
    Affine(100, n_classes); He initialisation (the book's choice for ReLU)."""
    rng = _rng(seed)
    c, h, w = input_shape
    oh, ow = (h - kernel + 1) // 2, (w - kernel + 1) // 2
    return Sequential(
        Conv2d(c, filters, kernel, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2), Flatten(),
        Affine(filters * oh * ow, hidden, init="he", rng=rng, dtype=dtype), ReLU(),
        Affine(hidden, n_classes, rng=rng, dtype=dtype))


def small_convnet(input_shape=(3, 32, 32), n_classes=10, *, channels=(16, 32), seed=0,
                  dtype=None):
    """Two blocks of Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2), then Affine to classes."""
    rng = _rng(seed)
    c, h, w = input_shape
    layers = []
    for out in channels:
        layers += [Conv2d(c, out, 3, padding=1, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2)]
        c, h, w = out, h // 2, w // 2
    return Sequential(*layers, Flatten(), Affine(c * h * w, n_classes, rng=rng, dtype=dtype))


# the layout of one sample, for the convnets: (channels, *spatial)
INPUT_SHAPES = {"mnist1d": (1, 40), "digits": (1, 8, 8), "mnist": (1, 28, 28),
                "cifar10": (3, 32, 32)}


def convnet_for(dataset, n_classes=10, seed=0):
    """The convnet ``--model cnn`` trains on ``dataset``: the paper's CNN on MNIST-1D,
    SimpleConvNet on MNIST (5x5 filters) and digits (3x3 filters on 8x8), a small two-block
    convnet on CIFAR-10."""
    if dataset == "mnist1d":
        return mnist1d_cnn(seed)
    if dataset == "mnist":
        return simple_convnet((1, 28, 28), n_classes, seed=seed)
    if dataset == "digits":
        return simple_convnet((1, 8, 8), n_classes, kernel=3, seed=seed)
    if dataset == "cifar10":
        return small_convnet((3, 32, 32), n_classes, seed=seed)
    raise ValueError(f"--model cnn needs images or signals; {dataset!r} has neither. Use it with "
                     f"{', '.join(INPUT_SHAPES)}")
