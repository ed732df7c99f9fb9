"""The way out to PyTorch: ``tg.to_torch(layer)`` and ``tg.from_torch(module)``.

Both copy the weights (the two models share no memory) and keep the dtype and the train/eval
mode, so a float64 model computes the same function in both libraries and a round trip is
exact. torch is imported only when one of them is called (``pip install 'tinygrad_ce[torch]'``).

Each direction is a table from a layer type to a function that converts one layer; a new layer
family adds its entries with ``@to_torch.register(LayerClass)`` and
``@from_torch.register("TorchClassName")`` (this is where Conv and the recurrent layers plug in).
"""

import numpy as np

from .layers import (
    Affine,
    BatchNorm,
    Dropout,
    Embedding,
    LayerNorm,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)


def import_torch():
    """torch, or an ImportError that names the extra to install."""
    try:
        import torch
    except ImportError as e:
        raise ImportError("moving models to and from PyTorch needs torch: pip install "
                          "'tinygrad_ce[torch]' (or pip install torch)") from e
    return torch


class _Converters:
    """A table of converters by key, callable on one object: finds the converter and runs it."""

    def __init__(self, name, key_of, describe):
        self.name, self.table, self.key_of, self.describe = name, {}, key_of, describe

    def register(self, key):
        def decorate(fn):
            self.table[key] = fn
            return fn
        return decorate

    def __call__(self, obj):
        torch = import_torch()
        for key in self.key_of(obj):
            if key in self.table:
                return self.table[key](obj, torch)
        known = sorted(k if isinstance(k, str) else k.__name__ for k in self.table)
        raise TypeError(f"{self.name}: no conversion for {self.describe(obj)}; known: "
                        f"{', '.join(known)}")


def _layer_keys(layer):
    return type(layer).__mro__


def _module_keys(module):
    return [c.__name__ for c in type(module).__mro__
            if c.__module__.startswith(("torch.nn", "tinygrad_ce"))]


to_torch = _Converters("to_torch", _layer_keys, lambda o: type(o).__name__)
to_torch.__doc__ = """A torch.nn.Module computing the same function as ``layer``, with copies of
its weights and its mode: Affine -> Linear (weight = W.T), Sigmoid, ReLU, Tanh, Softmax,
LeakyReLU, Dropout, BatchNorm -> BatchNorm1d (with the running statistics), Embedding,
LayerNorm, Sequential; Conv1d/Conv2d, the pooling layers, Flatten (``pytorch_conv``) and
RNN/GRU/LSTM (``pytorch_recurrent``: batch_first, returning the output sequence) when those
layers are present. Affine flattens an (N, *) input itself; Linear does not (add nn.Flatten)."""
from_torch = _Converters("from_torch", _module_keys, lambda o: f"torch.nn.{type(o).__name__}")
from_torch.__doc__ = """The tinygrad_ce layer for a torch.nn.Module, with copies of its weights
and its mode: the reverse of ``to_torch`` for the same set of layers."""


def _to(array, torch):
    """A torch tensor holding a copy of ``array`` (same dtype)."""
    return torch.tensor(np.ascontiguousarray(array))


def _np(tensor):
    """An ndarray holding a copy of ``tensor``'s values."""
    return tensor.detach().cpu().numpy().copy()


def _parameter(array, torch):
    return torch.nn.Parameter(_to(array, torch))


def _moded(layer_or_module, like):
    """Give ``layer_or_module`` the train/eval mode of ``like``: the flag itself, not
    ``train()``/``eval()``, which would also reset the mode of a container's members."""
    layer_or_module.training = bool(like.training)
    return layer_or_module


def _dtype(tensor):
    return np.dtype(str(tensor.dtype).replace("torch.", ""))


# ---- fully connected, activations, dropout -------------------------------------------------

@to_torch.register(Affine)
def _affine_to(layer, torch):
    n_in, n_out = layer.W.shape
    module = torch.nn.Linear(n_in, n_out)
    module.weight, module.bias = _parameter(layer.W.data.T, torch), _parameter(layer.b.data, torch)
    return _moded(module, layer)


@from_torch.register("Linear")
def _linear_from(module, torch):
    if module.bias is None:
        raise ValueError("from_torch: Linear(bias=False) has no Affine counterpart (Affine "
                         "always has b); build the torch layer with bias=True")
    layer = Affine(module.in_features, module.out_features, dtype=_dtype(module.weight))
    layer.W.data, layer.b.data = _np(module.weight).T.copy(), _np(module.bias)
    return _moded(layer, module)


_SAME = [(Sigmoid, "Sigmoid"), (ReLU, "ReLU"), (Tanh, "Tanh")]
for _ours, _theirs in _SAME:
    to_torch.register(_ours)(lambda layer, torch, n=_theirs: _moded(getattr(torch.nn, n)(), layer))
    from_torch.register(_theirs)(lambda module, torch, c=_ours: _moded(c(), module))


@to_torch.register(Softmax)
def _softmax_to(layer, torch):
    return _moded(torch.nn.Softmax(dim=layer.axis), layer)


@from_torch.register("Softmax")
def _softmax_from(module, torch):
    if module.dim is None:
        raise ValueError("from_torch: Softmax(dim=None) is ambiguous; give it a dim")
    return _moded(Softmax(axis=module.dim), module)


@to_torch.register(LeakyReLU)
def _leaky_to(layer, torch):
    return _moded(torch.nn.LeakyReLU(layer.negative_slope), layer)


@from_torch.register("LeakyReLU")
def _leaky_from(module, torch):
    return _moded(LeakyReLU(module.negative_slope), module)


@to_torch.register(Dropout)
def _dropout_to(layer, torch):
    return _moded(torch.nn.Dropout(layer.p), layer)


@from_torch.register("Dropout")
def _dropout_from(module, torch):
    return _moded(Dropout(module.p), module)


# ---- normalisation and embedding -----------------------------------------------------------

@to_torch.register(BatchNorm)
def _batchnorm_to(layer, torch):
    module = torch.nn.BatchNorm1d(layer.gamma.shape[0], eps=layer.eps, momentum=layer.momentum)
    module.weight, module.bias = (_parameter(layer.gamma.data, torch),
                                  _parameter(layer.beta.data, torch))
    module.running_mean = _to(layer.running_mean, torch)
    module.running_var = _to(layer.running_var, torch)
    return _moded(module, layer)


@from_torch.register("BatchNorm1d")
@from_torch.register("BatchNorm2d")
def _batchnorm_from(module, torch):
    if not module.affine or not module.track_running_stats or module.momentum is None:
        raise ValueError(f"from_torch: {type(module).__name__} needs affine=True, "
                         "track_running_stats=True and a momentum (not None) to match "
                         "tg.BatchNorm")
    layer = BatchNorm(module.num_features, momentum=module.momentum, eps=module.eps,
                      dtype=_dtype(module.weight))
    layer.gamma.data, layer.beta.data = _np(module.weight), _np(module.bias)
    layer.running_mean, layer.running_var = _np(module.running_mean), _np(module.running_var)
    return _moded(layer, module)


@to_torch.register(LayerNorm)
def _layernorm_to(layer, torch):
    module = torch.nn.LayerNorm(layer.gamma.shape[0], eps=layer.eps)
    module.weight, module.bias = (_parameter(layer.gamma.data, torch),
                                  _parameter(layer.beta.data, torch))
    return _moded(module, layer)


@from_torch.register("LayerNorm")
def _layernorm_from(module, torch):
    if len(module.normalized_shape) != 1 or module.weight is None or module.bias is None:
        raise ValueError("from_torch: tg.LayerNorm normalises the last axis with a weight and a "
                         f"bias; got normalized_shape={tuple(module.normalized_shape)}, "
                         f"elementwise_affine={module.weight is not None}")
    layer = LayerNorm(module.normalized_shape[0], eps=module.eps, dtype=_dtype(module.weight))
    layer.gamma.data, layer.beta.data = _np(module.weight), _np(module.bias)
    return _moded(layer, module)


@to_torch.register(Embedding)
def _embedding_to(layer, torch):
    module = torch.nn.Embedding(*layer.W.shape)
    module.weight = _parameter(layer.W.data, torch)
    return _moded(module, layer)


@from_torch.register("Embedding")
def _embedding_from(module, torch):
    if module.padding_idx is not None or module.max_norm is not None or module.sparse:
        raise ValueError("from_torch: tg.Embedding has no padding_idx, max_norm or sparse "
                         "gradients; build the torch layer without them")
    layer = Embedding(module.num_embeddings, module.embedding_dim, dtype=_dtype(module.weight))
    layer.W.data = _np(module.weight)
    return _moded(layer, module)


# ---- containers ----------------------------------------------------------------------------

@to_torch.register(Sequential)
def _sequential_to(model, torch):
    modules, spatial = [], 0
    for layer in model.layers:
        module = to_torch(layer)
        # tg.BatchNorm takes any (N, C, ...); torch wants BatchNorm2d after 2-D convolutions
        # and pooling (their layers say how many spatial axes they have in ``n``)
        spatial = 0 if type(module).__name__ == "Flatten" else getattr(layer, "n", spatial)
        if spatial == 2 and isinstance(module, torch.nn.BatchNorm1d):
            module = _batchnorm_2d(module, torch)
        modules.append(module)
    return _moded(torch.nn.Sequential(*modules), model)


def _batchnorm_2d(bn, torch):
    """The same batch normalisation as a BatchNorm2d (for (N, C, H, W) inputs)."""
    bn2 = torch.nn.BatchNorm2d(bn.num_features, eps=bn.eps, momentum=bn.momentum,
                               dtype=bn.weight.dtype)
    bn2.load_state_dict(bn.state_dict())
    return _moded(bn2, bn)


@from_torch.register("Sequential")
def _sequential_from(module, torch):
    return _moded(Sequential(*[from_torch(m) for m in module]), module)


# ---- layer families in their own modules: each registers its converters when its layers exist
# (Conv/pooling/Flatten and RNN/GRU/LSTM come from other branches of the project)
from . import layers as _layers  # noqa: E402

if hasattr(_layers, "Conv1d"):
    from . import pytorch_conv  # noqa: E402,F401
if hasattr(_layers, "GRU"):
    from . import pytorch_recurrent  # noqa: E402,F401
