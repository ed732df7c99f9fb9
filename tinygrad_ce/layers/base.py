"""The layer protocol: forward and backward by hand on ndarrays, or one entry on the tape.

By hand, in the classic layer-by-layer style::

    out = layer.forward(x)          # saves what backward needs on the layer (self.x, ...)
    dx = layer.backward(dout)       # parameter gradients are added to param.grad

On the tape, ``layer(x_tensor)`` records ONE entry whose backward is the layer's own
``backward``. Each call keeps its own copy of the saved values, so a layer used several times
in one graph gets correct gradients. ``reference`` expresses the same forward with primitive
Tensor ops; ``tg.check_layer`` compares the three gradients (own, autograd, finite differences).
"""

import re

import numpy as np

from ..grad import grad
from ..ops.base import Op
from ..tensor import Tensor


def snake_case(name):
    """'SoftmaxWithLoss' -> 'softmax_with_loss', 'ReLU' -> 'relu' (the name the tape prints)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


class Layer:
    """Base class. Subclasses set ``saved`` (attribute names forward stores for backward) and
    implement ``forward``, ``backward`` and ``reference``."""

    saved = ()          # attributes forward writes and backward reads
    is_loss = False     # loss layers take (x, t) and return the loss
    # does backward read the input arrays (x, parameters) or the output array? They are then
    # locked against writes while the tape needs them. True is the safe default for new layers.
    saves_inputs = saves_output = True
    # False on the tape when the input needs no gradient: backward may then skip computing dx
    input_needs_grad = True
    buffers = ()        # arrays that are state but not parameters (BatchNorm's running stats)
    training = True     # class defaults, so a layer that skips super().__init__() still works
    _collect = None
    _param_names = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = snake_case(cls.__name__)

    def __init__(self):
        self.training = True
        self._collect = None

    # ---- the protocol --------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def reference(self, x):
        """The same forward written with primitive Tensor ops (for autograd to differentiate)."""
        raise NotImplementedError(f"{type(self).__name__}.reference")

    def params(self):
        """The parameter Tensors (attributes that require grad), in the order they were set.
        The names are found on the first call and remembered."""
        if self._param_names is None:
            self._param_names = [k for k, v in vars(self).items()
                                 if isinstance(v, Tensor) and v.requires_grad]
        return [getattr(self, k) for k in self._param_names]

    def train(self):
        """Training mode (Dropout drops, BatchNorm uses batch statistics)."""
        self.training = True
        return self

    def eval(self):
        """Evaluation mode (Dropout passes through, BatchNorm uses running statistics)."""
        self.training = False
        return self

    def state(self):
        """Parameters and buffers by name (what ``save`` writes)."""
        out = {name: v.data for name, v in vars(self).items()
               if isinstance(v, Tensor) and v.requires_grad}
        out.update({name: getattr(self, name) for name in self.buffers})
        return out

    def load_state(self, state, prefix=""):
        """Copy arrays from ``state`` into the parameters and buffers, checking every shape."""
        for name, current in self.state().items():
            key = prefix + name
            if key not in state:
                raise ValueError(f"load: the checkpoint has no {key!r}; it holds "
                                 f"{sorted(state)[:8]} (a different architecture?)")
            value = np.asarray(state[key])
            if value.shape != np.shape(current):
                raise ValueError(f"load: parameter {key!r} has shape {value.shape} in the "
                                 f"checkpoint but {np.shape(current)} in the model")
            target = getattr(self, name)
            if isinstance(target, Tensor):
                target.data[...] = value
            else:
                setattr(self, name, value.astype(np.asarray(current).dtype).copy())

    def save(self, path):
        """Write the parameters and buffers to ``path`` (.npz, atomically)."""
        from ..serialize import save
        save(self.state(), path)

    def load(self, path):
        """Read parameters and buffers saved by ``save``, all or nothing: names and shapes must
        match exactly, else nothing changes."""
        from ..serialize import load_into
        return load_into(self, path)

    def zero_grad(self):
        """Forget the accumulated gradients of every parameter."""
        for p in self.params():
            p.zero_grad()

    # ---- helpers for subclasses ----------------------------------------------------------
    def add_grad(self, param, g):
        """Pass on the gradient of a parameter: added to ``param.grad`` by hand, handed to the
        engine on the tape."""
        collect = self._collect
        if collect is not None:
            key = id(param)
            collect[key] = g if key not in collect else collect[key] + g
        elif param.grad is None:
            param.grad = Tensor(np.asarray(g, dtype=param.dtype))
        else:
            param.grad = Tensor(param.grad.data + g)

    def check_forward_done(self):
        """A clear error for backward before forward, by hand."""
        if any(getattr(self, a, None) is None for a in self.saved):
            raise ValueError(f"{self.name}.backward: call forward first; backward needs the "
                             f"values forward saves ({', '.join(self.saved)})")

    # ---- on the tape ---------------------------------------------------------------------
    def __call__(self, x, t=None):
        if self.is_loss:
            if t is None:
                raise TypeError(f"{self.name}: a loss layer is called as layer(x, t)")
            return Tensor.apply(LayerOp(self), x, t)
        if t is not None:
            raise TypeError(f"{self.name}: takes one input, got a second")
        return Tensor.apply(LayerOp(self), x, *self.params())

    def __repr__(self):
        return f"{type(self).__name__}()"


class LayerOp(Op):
    """The tape entry of one layer call: forward and backward are the layer's own.

    With ``create_graph=True`` the backward instead differentiates the layer's ``reference``
    (recorded, so second derivatives through layers work too).
    """

    def __init__(self, layer):
        self.layer, self.name = layer, layer.name
        self.nondiff = (1,) if layer.is_loss else ()
        self.saves_inputs, self.saves_output = layer.saves_inputs, layer.saves_output

    def params(self):
        return {}

    def forward(self, x, *rest):
        layer = self.layer
        y = layer.forward(x, rest[0]) if layer.is_loss else layer.forward(x)
        self.state = {a: getattr(layer, a) for a in layer.saved}
        return y

    def backward(self, gy, *xs_and_y):
        layer, inputs = self.layer, xs_and_y[:-1]
        for a, v in self.state.items():
            setattr(layer, a, v)
        if not isinstance(inputs[0], np.ndarray):  # create_graph: Tensors in, Tensors out
            return self._backward_through_reference(gy, inputs)
        layer._collect, layer.input_needs_grad = {}, self.inputs[0].requires_grad
        try:
            dx = layer.backward(gy)
            grads = [layer._collect.get(id(p)) for p in self.inputs[1:]]
        finally:
            layer._collect, layer.input_needs_grad = None, True
        return (dx, None) if layer.is_loss else (dx, *grads)

    def _backward_through_reference(self, gy, inputs):
        layer = self.layer
        if layer.is_loss:
            out, inputs = layer.reference(inputs[0], inputs[1]), inputs[:1]
        else:
            out = layer.reference(inputs[0])
        wanted = [x for x in inputs if x.requires_grad]
        found = iter(grad(out, wanted, gy, create_graph=True)) if wanted else iter(())
        grads = [next(found) if x.requires_grad else None for x in inputs]
        return (grads[0], None) if layer.is_loss else tuple(grads)
