"""Datasets that need no network (spiral, iris, digits) and parsers for MNIST and CIFAR-10.

Each ``load_*`` returns ``(x_train, t_train), (x_test, t_test)``, as the classic ``load_mnist``.
"""

from .cifar10 import load_cifar10
from .mnist import load_mnist
from .shipped import load_digits, load_iris
from .synthetic import spiral

__all__ = ["spiral", "load_iris", "load_digits", "load_mnist", "load_cifar10"]
