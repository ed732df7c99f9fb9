"""Data made on the spot."""

import numpy as np


def spiral(n_per_class=100, n_classes=3, *, noise=0.2, seed=0):
    """Interleaved spiral arms in 2-D, one class per arm: ``(x, t)`` with x of shape
    (n_per_class * n_classes, 2) and integer labels t. Not linearly separable."""
    if n_per_class < 1 or n_classes < 2:
        raise ValueError(f"spiral: need n_per_class >= 1 and n_classes >= 2, got "
                         f"{n_per_class} and {n_classes}")
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    t = np.repeat(np.arange(n_classes), n_per_class)
    angle = t * (2 * np.pi / n_classes) + radius * 4.0 + rng.standard_normal(radius.size) * noise
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    order = rng.permutation(len(t))
    return x[order], t[order]
