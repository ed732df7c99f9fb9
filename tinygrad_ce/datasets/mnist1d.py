"""MNIST-1D (Greydanus and Kobak, ICML 2024), shipped: the frozen data set of the paper.

``data/mnist1d.npz`` holds exactly what the official generator (``pip install mnist1d``,
Apache-2.0) makes with its default arguments: ``make_dataset(get_dataset_args())``, seed 42,
5,000 signals split 4,000 / 1,000. ``generate_mnist1d`` rebuilds it (the test compares).
"""

import numpy as np

from .shipped import DATA, one_hot

FILE = DATA / "mnist1d.npz"


def generate_mnist1d():
    """The data set as the official ``mnist1d`` package builds it offline (no download).

    Returns ``{"x", "t", "x_test", "t_test"}``. The generator seeds NumPy's and Python's global
    random state (``np.random.seed(42)``); both are restored afterwards.
    """
    import random

    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:
        raise ImportError("generate_mnist1d needs the official generator: pip install mnist1d; "
                          "load_mnist1d() reads the shipped copy without it") from e
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {"x": d["x"], "t": d["y"].astype(np.int8),
            "x_test": d["x_test"], "t_test": d["y_test"].astype(np.int8)}


def write_mnist1d(path=FILE):
    """Write the generator's data to ``path`` (how the shipped file was made, once)."""
    np.savez_compressed(path, **generate_mnist1d())


def load_mnist1d(*, flatten=True, one_hot_label=False):
    """MNIST-1D: 4,000 training and 1,000 test signals of length 40, 10 classes (digits 0-9).

    Each signal is a digit's 1-D template, padded, shifted, scaled, sheared and noised by the
    official generator; the whole set is centred with standard deviation 1. ``flatten`` gives
    rows of 40 (else (N, 1, 40), one channel, for ``Conv1d``). Labels are int64 (or one-hot).
    Returns ``(x, t), (x_test, t_test)``.
    """
    with np.load(FILE) as f:
        arrays = {k: f[k] for k in ("x", "t", "x_test", "t_test")}
    out = []
    for x, t in ((arrays["x"], arrays["t"]), (arrays["x_test"], arrays["t_test"])):
        x = x.astype(np.float64)
        x = x if flatten else x.reshape(len(x), 1, -1)
        t = one_hot(t, 10) if one_hot_label else t.astype(np.int64)
        out.append((x, t))
    return tuple(out)
