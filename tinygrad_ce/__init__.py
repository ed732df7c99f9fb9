"""tinygrad_ce: an autograd library on NumPy for learning, teaching and testing backpropagation.

Layers of the package, imports pointing one way:
    dtypes, ops/          NumPy-level ops, one class each, and their registry
    autograd              the backward engine: grad mode, the walk over the tape, unbroadcast
    tensor, functional    the Tensor and the functions made from the registry
    tape, grad, interop   the printable tape, tg.grad, NumPy's functions on Tensors
    gradcheck, testing    checking gradients; hypothesis strategies for your own tests
    differences, report,  finite differences that estimate their own error; the reports;
      vjp, layer_state    check_vjp for any framework; what a layer keeps on self
    layers/, check_layer  layers by hand and on the tape; their three-way check
    optim/, data, datasets/, serialize   training: optimizers, batches, data, checkpoints
    replay                tg.compile: a step recorded once, replayed as a flat list of NumPy calls
    viz, trace, cli       seeing backprop: graph pictures, the backward trace; the command line
    page, exercises       the step-through page (tg.viz.html, page_assets); backprop exercises
"""

from .autograd import detect_anomaly, enable_grad, no_grad
from .dtypes import get_default_dtype, set_default_dtype
from .functional import FUNCTIONS as _FUNCTIONS
from .grad import grad
from .ops.base import Op
from .ops.base import on_register as _on_register
from .tensor import Tensor


def _export(cls, present):
    """Every public op is ``tg.<name>``, from the moment its class is defined."""
    if cls.public and present:
        globals()[cls.name] = cls.function
    elif cls.public and getattr(globals().get(cls.name), "op", None) is cls:
        del globals()[cls.name]


_on_register(_export)
from . import (  # noqa: E402
                     data,
                     datasets,
                     exercises,
                     layers,  # noqa: E402
                     models,  # noqa: E402
                     optim,
                     threads,  # BLAS threads for the command line and the examples
                     viz,  # noqa: E402
)
from . import interop as _interop  # noqa: E402,F401
from .check_layer import check_layer  # noqa: E402
from .convolution import col2im, conv1d, conv2d, im2col  # noqa: E402
from .exercises import exercise  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck, numerical_gradient  # noqa: E402
from .layers import (  # noqa: E402
                     GRU,
                     LSTM,
                     RNN,
                     Affine,
                     AvgPool1d,
                     AvgPool2d,
                     BatchNorm,
                     Conv1d,
                     Conv2d,
                     Dropout,
                     Flatten,
                     Layer,
                     MaxPool1d,
                     MaxPool2d,
                     ReLU,
                     Sequential,
                     Sigmoid,
                     SigmoidWithLoss,
                     Softmax,
                     SoftmaxWithLoss,
                     Tanh,
)
from .replay import compile  # noqa: E402,A004  (tg.compile: a replayed step)
from .serialize import load, save  # noqa: E402
from .trace import trace  # noqa: E402

__version__ = "0.1.0"

# issue 13: factories, more layers, the way out to PyTorch
from .factories import arange, eye, ones, ones_like, rand, randn, zeros, zeros_like  # noqa: E402
from .layers import Embedding, LayerNorm, LeakyReLU, MeanSquaredError, SVMLoss  # noqa: E402
from .pytorch import from_torch, to_torch  # noqa: E402  (imports torch only when called)

__all__ = ["Tensor", "Op", "grad", "no_grad", "enable_grad", "detect_anomaly", "get_default_dtype",
           "set_default_dtype", "gradcheck", "gradgradcheck", "numerical_gradient", "layers",
           "Layer", "Affine", "Sigmoid", "ReLU", "Tanh", "Softmax", "Dropout", "BatchNorm",
           "SoftmaxWithLoss", "SigmoidWithLoss", "Sequential", "check_layer", "data",
           "datasets", "optim", "save", "load", "viz", "trace", "compile", "exercise",
           "exercises", "threads",
           "conv1d", "conv2d", "im2col", "col2im", "models", "Conv1d", "Conv2d", "MaxPool1d",
           "MaxPool2d", "AvgPool1d", "AvgPool2d", "Flatten",
           *sorted(_FUNCTIONS)]
__all__ += ["zeros", "ones", "zeros_like", "ones_like", "randn", "rand", "arange", "eye",
            "Embedding", "LayerNorm", "LeakyReLU", "MeanSquaredError", "SVMLoss",
            "to_torch", "from_torch"]
__all__ += ["RNN", "GRU", "LSTM"]
