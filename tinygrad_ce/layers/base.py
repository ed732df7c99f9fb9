"""The layer protocol: forward and backward by hand on ndarrays, or one entry on the tape.

By hand, in the classic layer-by-layer style::

    out = layer.forward(x)          # saves what backward needs on the layer (self.x, ...)
    dx = layer.backward(dout)       # parameter gradients are added to param.grad

On the tape, ``layer(x_tensor)`` records ONE entry whose backward is the layer's own
``backward``. Each call keeps its own copy of the saved values, so a layer used several times
in one graph gets correct gradients. ``reference`` expresses the same forward with primitive
Tensor ops; ``tg.check_layer`` compares the three gradients (own, autograd, finite differences).
"""

import contextlib
import re
import threading

import numpy as np

from ..grad import grad
from ..ops.base import Op
from ..tensor import Tensor


def snake_case(name):
    """'SoftmaxWithLoss' -> 'softmax_with_loss', 'ReLU' -> 'relu' (the name the tape prints)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


_TAPE = threading.local()   # .grads: where add_grad puts parameter gradients on the tape


class Layer:
    """Base class. Subclasses set ``saved`` (attribute names forward stores for backward) and
    implement ``forward``, ``backward`` and ``reference``.

    A Tensor that requires grad or a Layer assigned to an attribute is registered (in
    ``__setattr__``, as DeZero and MiniTorch do): ``params()``, ``state()``, ``train()`` and
    ``eval()`` walk the registered sub-layers at any depth, with dotted names (``block.1.W``).
    """

    saved = ()          # attributes forward writes and backward reads
    is_loss = False     # loss layers take (x, t) and return the loss
    # does backward read the input arrays (x, parameters) or the output array? They are then
    # locked against writes while the tape needs them. True is the safe default for new layers.
    saves_inputs = saves_output = True
    # False on the tape when the input needs no gradient: backward may then skip computing dx
    input_needs_grad = True
    buffers = ()        # arrays that are state but not parameters (BatchNorm's running stats)
    training = True     # class defaults, so a layer that skips super().__init__() still works

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = snake_case(cls.__name__)

    def __init__(self):
        self.training = True

    def __setattr__(self, name, value):
        d = self.__dict__
        children = d.get("_children")
        if children is None:   # the first assignment (also when __init__ was skipped)
            children = d["_children"] = {}
        if isinstance(value, Layer) or (isinstance(value, Tensor) and value.requires_grad):
            children[name] = value
            if isinstance(value, Layer):
                d["_block"] = True   # it has sub-layers (the tape entry snapshots them too)
        elif name in children:
            del children[name]
        d[name] = value

    def __delattr__(self, name):
        self.__dict__.get("_children", {}).pop(name, None)
        object.__delattr__(self, name)

    # ---- the protocol --------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def reference(self, x):
        """The same forward written with primitive Tensor ops (for autograd to differentiate)."""
        raise NotImplementedError(f"{type(self).__name__}.reference")

    # ---- what the layer owns -------------------------------------------------------------
    def children(self):
        """Registered parameters and sub-layers by attribute name, in assignment order."""
        return self.__dict__.get("_children", {})

    def named_params(self, prefix=""):
        """(dotted name, parameter) for every parameter at any depth, each parameter once
        (a layer used twice is listed at its first place)."""
        return [(name, p) for name, p in self._walk(prefix, set()) if isinstance(p, Tensor)]

    def _walk(self, prefix, seen):
        for name, v in self.children().items():
            if id(v) in seen:
                continue
            seen.add(id(v))
            if isinstance(v, Layer):
                yield from v._walk(f"{prefix}{name}.", seen)
                for b in v.buffers:
                    yield f"{prefix}{name}.{b}", (v, b)
            else:
                yield prefix + name, v

    def params(self):
        """The parameter Tensors of this layer and its sub-layers, each once."""
        return [p for _, p in self.named_params()]

    def all_layers(self):
        """This layer and its sub-layers at any depth, each once."""
        found, stack = [], [self]
        while stack:
            layer = stack.pop()
            if all(layer is not f for f in found):
                found.append(layer)
                stack.extend(reversed([v for v in layer.children().values()
                                       if isinstance(v, Layer)]))
        return found

    def train(self):
        """Training mode (Dropout drops, BatchNorm uses batch statistics), sub-layers too."""
        for layer in self.all_layers():
            layer.training = True
        return self

    def eval(self):
        """Evaluation mode (Dropout passes through, BatchNorm uses running statistics)."""
        for layer in self.all_layers():
            layer.training = False
        return self

    def state(self):
        """Parameters and buffers by dotted name (``0.W``, ``block.1.b``): what ``save``
        writes."""
        out = {}
        for name, v in self._walk("", set()):
            out[name] = v.data if isinstance(v, Tensor) else getattr(*v)
        out.update({name: getattr(self, name) for name in self.buffers})
        return out

    def load_state(self, state):
        """Copy arrays from ``state`` into the parameters and buffers, checking every name
        and shape."""
        targets = dict(self._walk("", set()))
        targets.update({name: (self, name) for name in self.buffers})
        extra = sorted(set(state) - set(targets))
        if extra:
            raise ValueError(f"load: the checkpoint has {extra[:5]} that this model does not "
                             f"(a different architecture?); the model has {sorted(targets)[:8]}")
        for key, target in targets.items():
            if key not in state:
                raise ValueError(f"load: the checkpoint has no {key!r}; it holds "
                                 f"{sorted(state)[:8]} (a different architecture?)")
            current = target.data if isinstance(target, Tensor) else getattr(*target)
            value = np.asarray(state[key])
            if value.shape != np.shape(current):
                raise ValueError(f"load: parameter {key!r} has shape {value.shape} in the "
                                 f"checkpoint but {np.shape(current)} in the model")
            if isinstance(target, Tensor):
                target.data[...] = value
            else:
                setattr(*target, value.astype(np.asarray(current).dtype).copy())

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
        engine on the tape (the tape entry collects them while it runs the layer's backward)."""
        collect = getattr(_TAPE, "grads", None)
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
        if self.__dict__.get("_block"):
            return Tensor.apply(LayerOp(self), x, *self.params())
        # no sub-layers: the parameters are the registered children, each once
        return Tensor.apply(LayerOp(self), x, *dict.fromkeys(self.children().values()))

    def __repr__(self):
        return f"{type(self).__name__}()"


class LayerOp(Op):
    """The tape entry of one layer call: forward and backward are the layer's own.

    What backward needs is stored on the entry (``self.state``: the layer's ``saved`` values
    and its mode at forward time), not left on the shared layer: backward runs on a private
    copy of the layer with those values, so a layer called several times in one graph, or in
    another mode by the time backward runs, gets the gradient of the call that was recorded.

    With ``create_graph=True`` the backward differentiates the layer's ``reference`` instead
    (recorded, so second derivatives through layers work too); the references use the same
    conventions at kinks, so first-order gradients are the same either way.
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
        self.state = _snapshot(layer)
        if layer.__dict__.get("_block"):  # a block of layers: its sub-layers' values too
            self.inner = [(sub, _snapshot(sub)) for sub in layer.all_layers()[1:]]
        return y

    def _as_recorded(self, **extra):
        """A private copy of the layer with the values of the recorded call."""
        layer = self.layer
        copy = object.__new__(type(layer))
        copy.__dict__.update(layer.__dict__)
        copy.__dict__.update(self.state)
        copy.__dict__.update(extra)
        return copy

    def backward(self, gy, *xs_and_y):
        inputs = xs_and_y[:-1]
        if not isinstance(inputs[0], np.ndarray):  # create_graph: Tensors in, Tensors out
            return self._backward_through_reference(gy, inputs)
        layer = self._as_recorded(input_needs_grad=self.inputs[0].requires_grad)
        _TAPE.grads = grads = {}
        inner = getattr(self, "inner", None)
        try:
            with _restored(inner) if inner else _NOTHING:
                dx = layer.backward(gy)
        finally:
            _TAPE.grads = None
        if layer.is_loss:
            return dx, None
        return (dx, *[grads.get(id(p)) for p in self.inputs[1:]])

    def _backward_through_reference(self, gy, inputs):
        layer = self._as_recorded()
        with _restored(getattr(self, "inner", ())):
            if layer.is_loss:
                out, inputs = layer.reference(inputs[0], inputs[1]), inputs[:1]
            else:
                out = layer.reference(inputs[0])
        wanted = [x for x in inputs if x.requires_grad]
        found = iter(grad(out, wanted, gy, create_graph=True)) if wanted else iter(())
        grads = [next(found) if x.requires_grad else None for x in inputs]
        return (grads[0], None) if layer.is_loss else tuple(grads)


_NOTHING = contextlib.nullcontext()   # a layer without sub-layers has nothing to restore


def _snapshot(layer):
    """What one call of ``layer`` leaves for its backward: its ``saved`` values and its mode."""
    d = layer.__dict__
    saved = {a: d[a] for a in layer.saved if a in d}
    saved["training"] = layer.training
    return saved


@contextlib.contextmanager
def _restored(snapshots):
    """Sub-layers of a block as they were at the recorded call, for the block's backward; put
    back as they are now afterwards."""
    now = [(sub, {k: getattr(sub, k, None) for k in values}) for sub, values in snapshots]
    for sub, values in snapshots:
        sub.__dict__.update(values)
    try:
        yield
    finally:
        for sub, values in now:
            sub.__dict__.update(values)
