"""Datasets that need no network (spiral, iris, digits, MNIST-1D); MNIST and CIFAR-10 parsers.

Each ``load_*`` returns ``(x_train, t_train), (x_test, t_test)``, as the classic ``load_mnist``.
"""

from .cifar10 import load_cifar10
from .mnist import load_mnist
from .mnist1d import load_mnist1d
from .shipped import load_digits, load_iris
from .synthetic import spiral

__all__ = ["spiral", "load_iris", "load_digits", "load_mnist", "load_cifar10", "load_mnist1d"]
