"""A skip connection around layers in a row."""

from .sequential import Sequential


class Residual(Sequential):
    """y = x + f(x), with f the layers in a row;  dx = dout + f.backward(dout)

    ``Residual(Affine(100, 100), ReLU())`` is the residual block of the MNIST-1D paper's MLP.
    Parameters, saving and loading are those of the inner ``Sequential``.
    """

    def forward(self, x):
        return x + super().forward(x)

    def backward(self, dout):
        return dout + super().backward(dout)

    def __call__(self, x, t=None):
        return x + super().__call__(x, t)

    def reference(self, x):
        return x + super().reference(x)

    def __repr__(self):
        return "Residual" + super().__repr__()[len("Sequential"):]
