"""tg.to_torch / tg.from_torch for RNN, GRU and LSTM: ``batch_first=True`` torch layers with
the weights transposed (``weight_ih_l0 = Wx.T``, ...), wrapped so that the module returns only
the output sequence, as tinygrad_ce's layers do. Registered in the tables of
``tinygrad_ce.pytorch``."""

from . import layers
from .layers import GRU, LSTM, RNN
from .pytorch import _dtype, _moded, _np, _parameter, from_torch, to_torch

_RECURRENT = [(RNN, "RNN"), (GRU, "GRU"), (LSTM, "LSTM")]


def _output_only(torch):
    """The torch.nn.Module class that wraps nn.RNN/GRU/LSTM and returns only the output
    sequence, as tg's layers do (made once, when torch is first needed)."""
    global _OutputOnly
    if _OutputOnly is None:
        class RecurrentOutput(torch.nn.Module):
            """``rnn(x)[0]``: the output of every step, (N, T, H or 2H); each call starts from a
            zero state."""

            def __init__(self, rnn):
                super().__init__()
                self.rnn = rnn

            def forward(self, x):
                return self.rnn(x)[0]
        _OutputOnly = RecurrentOutput
    return _OutputOnly


_OutputOnly = None


def _recurrent_to(layer, torch):
    name = next(theirs for ours, theirs in _RECURRENT if isinstance(layer, ours))
    rnn = getattr(torch.nn, name)(layer.input_size, layer.hidden_size, batch_first=True,
                                  bidirectional=layer.bidirectional)
    for suffix in layer.directions():
        Wx, Wh, bx, bh = layer.weights(suffix)
        for torch_name, value in (("weight_ih", Wx.data.T), ("weight_hh", Wh.data.T),
                                  ("bias_ih", bx.data), ("bias_hh", bh.data)):
            setattr(rnn, f"{torch_name}_l0{suffix}", _parameter(value, torch))
    module = _output_only(torch)(rnn)
    module.training = rnn.training = bool(layer.training)
    return module


def _recurrent_from(module, torch):
    rnn = module if isinstance(module, torch.nn.RNNBase) else module.rnn
    name = type(rnn).__name__
    if rnn.num_layers != 1 or not rnn.batch_first or not rnn.bias or rnn.proj_size:
        raise ValueError(f"from_torch: tg.{name} is one layer, batch-first, with biases; got "
                         f"num_layers={rnn.num_layers}, batch_first={rnn.batch_first}, "
                         f"bias={rnn.bias}, proj_size={rnn.proj_size}")
    if name == "RNN" and rnn.nonlinearity != "tanh":
        raise ValueError("from_torch: tg.RNN uses tanh; got nonlinearity='relu'")
    cls = next(ours for ours, theirs in _RECURRENT if theirs == name)
    layer = cls(rnn.input_size, rnn.hidden_size, bidirectional=rnn.bidirectional,
                dtype=_dtype(rnn.weight_ih_l0))
    for suffix in layer.directions():
        Wx, Wh, bx, bh = layer.weights(suffix)
        Wx.data = _np(getattr(rnn, f"weight_ih_l0{suffix}")).T.copy()
        Wh.data = _np(getattr(rnn, f"weight_hh_l0{suffix}")).T.copy()
        bx.data = _np(getattr(rnn, f"bias_ih_l0{suffix}"))
        bh.data = _np(getattr(rnn, f"bias_hh_l0{suffix}"))
    return _moded(layer, module)


for _ours, _theirs in _RECURRENT:
    to_torch.register(_ours)(_recurrent_to)
    from_torch.register(_theirs)(_recurrent_from)
from_torch.register("RecurrentOutput")(_recurrent_from)


# AsSequence, (N, T) -> (N, T, 1), has no torch.nn layer: a small module does the same reshape
_AsSequence = None


def _as_sequence_module(torch):
    global _AsSequence
    if _AsSequence is None:
        class AsSequence(torch.nn.Module):
            """(N, T) -> (N, T, 1): each feature becomes one time step."""

            def forward(self, x):
                return x.reshape(x.shape[0], -1, 1)
        _AsSequence = AsSequence
    return _AsSequence


if hasattr(layers, "AsSequence"):
    to_torch.register(layers.AsSequence)(
        lambda layer, torch: _moded(_as_sequence_module(torch)(), layer))
    from_torch.register("AsSequence")(lambda module, torch: _moded(layers.AsSequence(), module))
