"""MNIST from the official IDX files (gzipped or not) in a local folder."""

import gzip
import math
import pathlib
import zlib

import numpy as np

from .download import default_root, fetch, missing_message
from .shipped import one_hot

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FILES = {  # name: MD5 of the official .gz file
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}


def read_idx(path, magic):
    """The array in an IDX file: big-endian magic, sizes, then unsigned bytes."""
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"load_mnist: cannot read {path} (corrupt? delete it and download it "
                         f"again): {e}") from None
    ndim = magic - 2048 if magic in (2049, 2051) else 0
    head = 4 + 4 * ndim
    if len(raw) < head or int.from_bytes(raw[:4], "big") != magic:
        raise ValueError(f"load_mnist: {path} is not an IDX file with magic number {magic}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - head != math.prod(shape):  # Python ints: a huge header cannot wrap around
        raise ValueError(f"load_mnist: {path} is truncated or corrupt: header says {shape}, "
                         f"found {len(raw) - head} bytes of data")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape)


def _find(root, name, download):
    for candidate in (root / (name + ".gz"), root / name):
        if candidate.exists():
            return candidate
    if download:
        return fetch(MIRROR + name + ".gz", root / (name + ".gz"), FILES[name])
    missing = [n + ".gz" for n in FILES
               if not (root / (n + ".gz")).exists() and not (root / n).exists()]
    raise FileNotFoundError(missing_message("load_mnist", missing, root,
                                            [MIRROR + n for n in missing]))


def load_mnist(root=None, download=False, *, normalize=True, flatten=True, one_hot_label=False):
    """MNIST: 60,000 training and 10,000 test images of 28x28 pixels, 10 classes.

    ``root`` holds ``train-images-idx3-ubyte.gz`` and the other three official files (gzipped
    or not; default ``~/.cache/tinygrad_ce/mnist``). ``download=True`` fetches missing files
    into ``root``, checking their MD5. ``normalize`` scales pixels to [0, 1]; ``flatten``
    gives rows of 784 (else (N, 1, 28, 28)).
    """
    root = pathlib.Path(root) if root is not None else default_root("mnist")
    out = []
    for split in ("train", "t10k"):
        images = read_idx(_find(root, f"{split}-images-idx3-ubyte", download), 2051)
        labels = read_idx(_find(root, f"{split}-labels-idx1-ubyte", download), 2049)
        if labels.size and labels.max() > 9:
            raise ValueError(f"load_mnist: the {split} labels hold {labels.max()}, outside "
                             "0..9; the file is corrupt or not MNIST's")
        if len(images) != len(labels):
            raise ValueError(f"load_mnist: {split} has {len(images)} images but "
                             f"{len(labels)} labels")
        x = images.astype(np.float64) / (255.0 if normalize else 1.0)
        x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, *images.shape[1:])
        t = one_hot(labels, 10) if one_hot_label else labels.astype(np.int64)
        out.append((x, t))
    return tuple(out)
