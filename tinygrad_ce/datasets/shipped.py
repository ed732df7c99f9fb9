"""Datasets shipped inside the package (see data/NOTICE.md for their origin and license)."""

import pathlib

import numpy as np

from ..ops.nn import one_hot  # noqa: F401  (also imported from here by the loaders)

DATA = pathlib.Path(__file__).parent / "data"


def stratified_split(t, test_size, seed):
    """Indices (train, test) with each class split in the same proportion."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(t):
        idx = rng.permutation(np.flatnonzero(t == c))
        n_test = int(round(len(idx) * test_size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _finish(x, t, k, one_hot_label, test_size, seed):
    train, test = stratified_split(t, test_size, seed)
    t = one_hot(t, k) if one_hot_label else t.astype(np.int64)
    return (x[train], t[train]), (x[test], t[test])


def load_digits(*, normalize=True, flatten=True, one_hot_label=False, test_size=0.2, seed=0):
    """The UCI handwritten digits: 1,797 images of 8x8 pixels (0..16), 10 classes.

    ``normalize`` scales pixels to [0, 1]; ``flatten`` gives rows of 64 (else (N, 1, 8, 8));
    the split is stratified and fixed by ``seed`` (default: 1,437 train, 360 test).
    """
    with np.load(DATA / "digits.npz") as f:
        images, labels = f["images"], f["labels"]
    x = images.astype(np.float64) / (16.0 if normalize else 1.0)
    x = x.reshape(len(x), 64) if flatten else x.reshape(len(x), 1, 8, 8)
    return _finish(x, labels, 10, one_hot_label, test_size, seed)


def load_iris(*, normalize=True, one_hot_label=False, test_size=0.2, seed=0):
    """Fisher's iris: 150 flowers, 4 measurements (cm), 3 species.

    ``normalize`` standardises each feature (zero mean, unit variance over all 150 rows).
    """
    with np.load(DATA / "iris.npz") as f:
        x, labels = f["features"], f["labels"]
    if normalize:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    return _finish(x, labels, 3, one_hot_label, test_size, seed)
