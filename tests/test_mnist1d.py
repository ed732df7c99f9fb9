"""MNIST-1D: the shipped copy is what the official generator makes, and loads as documented."""

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.datasets.mnist1d import FILE


def test_load_mnist1d_shapes_labels_and_layouts():
    (x, t), (xt, tt) = tg.datasets.load_mnist1d()
    assert x.shape == (4000, 40) and xt.shape == (1000, 40)
    assert x.dtype == np.float64 and t.dtype == np.int64
    assert set(np.unique(t)) == set(range(10)) and set(np.unique(tt)) == set(range(10))
    everything = np.concatenate([x, xt])
    assert abs(everything.mean()) < 1e-9 and abs(everything.std() - 1) < 1e-9  # generator's scaling
    (xc, tc), _ = tg.datasets.load_mnist1d(flatten=False, one_hot_label=True)
    assert xc.shape == (4000, 1, 40) and tc.shape == (4000, 10)
    np.testing.assert_array_equal(tc.argmax(axis=1), t)


def test_shipped_file_is_small():
    assert FILE.stat().st_size < 2_000_000


def test_shipped_copy_equals_the_official_generator():
    pytest.importorskip("mnist1d")
    from tinygrad_ce.datasets.mnist1d import generate_mnist1d

    before = np.random.get_state()[1].copy()
    made = generate_mnist1d()
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global state restored
    (x, t), (xt, tt) = tg.datasets.load_mnist1d()
    for ours, theirs in ((x, made["x"]), (t, made["t"]), (xt, made["x_test"]),
                         (tt, made["t_test"])):
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
