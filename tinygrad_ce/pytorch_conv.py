"""tg.to_torch / tg.from_torch for Conv1d, Conv2d, the pooling layers and Flatten (PyTorch's
layout: the weights move as they are). Registered in the tables of ``tinygrad_ce.pytorch``."""

from .layers import (
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    Flatten,
    MaxPool1d,
    MaxPool2d,
)
from .pytorch import _dtype, _moded, _np, _parameter, from_torch, to_torch


def _plain(module, what, **expected):
    """A clear error when a torch layer uses an option tinygrad_ce's layer does not have."""
    for name, value in expected.items():
        got = getattr(module, name)
        got = tuple(got) if isinstance(got, (list, tuple)) else got
        if got != value and not (isinstance(got, tuple) and set(got) == {value}):
            raise ValueError(f"from_torch: {type(module).__name__}({name}={got!r}) has no "
                             f"{what} counterpart; build it with {name}={value!r}")


def _conv_to(layer, torch):
    f, c, *kernel = layer.W.shape
    cls = torch.nn.Conv1d if len(kernel) == 1 else torch.nn.Conv2d
    module = cls(c, f, tuple(kernel), stride=layer.s, padding=layer.p)
    module.weight, module.bias = _parameter(layer.W.data, torch), _parameter(layer.b.data, torch)
    return _moded(module, layer)


def _conv_from(module, torch):
    _plain(module, "tg convolution", dilation=1, groups=1, padding_mode="zeros")
    if module.bias is None or isinstance(module.padding, str):
        raise ValueError(f"from_torch: {type(module).__name__} needs bias=True and a numeric "
                         "padding to match tg.Conv1d/Conv2d")
    cls = Conv1d if isinstance(module, torch.nn.Conv1d) else Conv2d
    layer = cls(module.in_channels, module.out_channels, module.kernel_size,
                stride=module.stride, padding=module.padding, dtype=_dtype(module.weight))
    layer.W.data, layer.b.data = _np(module.weight), _np(module.bias)
    return _moded(layer, module)


_POOLS = [(MaxPool1d, "MaxPool1d"), (MaxPool2d, "MaxPool2d"), (AvgPool1d, "AvgPool1d"),
          (AvgPool2d, "AvgPool2d")]


def _pool_to(layer, torch):
    name = next(theirs for ours, theirs in _POOLS if isinstance(layer, ours))
    return _moded(getattr(torch.nn, name)(layer.k, stride=layer.s, padding=layer.p), layer)


def _pool_from(module, torch):
    _plain(module, "tg pooling", ceil_mode=False)
    if hasattr(module, "dilation"):
        _plain(module, "tg pooling", dilation=1, return_indices=False)
    if hasattr(module, "count_include_pad"):
        _plain(module, "tg pooling", count_include_pad=True)
    if getattr(module, "divisor_override", None) is not None:
        raise ValueError(f"from_torch: {type(module).__name__}(divisor_override=...) has no tg "
                         "pooling counterpart; leave it at None")
    cls = next(ours for ours, theirs in _POOLS if type(module).__name__ == theirs)
    return _moded(cls(module.kernel_size, module.stride, module.padding), module)


def _flatten_from(module, torch):
    _plain(module, "tg.Flatten", start_dim=1, end_dim=-1)
    return _moded(Flatten(), module)


for _ours, _theirs in [(Conv1d, "Conv1d"), (Conv2d, "Conv2d")]:
    to_torch.register(_ours)(_conv_to)
    from_torch.register(_theirs)(_conv_from)
for _ours, _theirs in _POOLS:
    to_torch.register(_ours)(_pool_to)
    from_torch.register(_theirs)(_pool_from)
to_torch.register(Flatten)(lambda layer, torch: _moded(torch.nn.Flatten(), layer))
from_torch.register("Flatten")(_flatten_from)


