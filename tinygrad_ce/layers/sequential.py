"""Layers in a row."""

from .base import Layer


class Sequential(Layer):
    """x -> layers[0] -> layers[1] -> ...; backward by hand runs the layers in reverse.

    On the tape, ``model(x)`` calls each layer on the tape: one entry per layer.
    """

    def __init__(self, *layers):
        super().__init__()
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"sequential: expected layers, got {type(layer).__name__}")
            if layer.is_loss:
                raise TypeError(f"sequential: {layer.name} is a loss layer; keep it outside "
                                "and call it on the model's output")
        for i, layer in enumerate(layers):   # registered as "0", "1", ...: state names 0.W
            setattr(self, str(i), layer)

    @property
    def layers(self):
        """The layers in order."""
        return [v for v in self.children().values() if isinstance(v, Layer)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __call__(self, x, t=None):
        if t is not None:
            raise TypeError("sequential: takes one input")
        for layer in self.layers:
            x = layer(x)
        return x

    def reference(self, x):
        for layer in self.layers:
            x = layer.reference(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        return "Sequential(\n" + "".join(f"  {layer!r},\n" for layer in self.layers) + ")"
