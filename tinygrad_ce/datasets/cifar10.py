"""CIFAR-10 from the official binary batches in a local folder."""

import pathlib
import tarfile
import zlib

import numpy as np

from .download import default_root, fetch, missing_message
from .shipped import one_hot

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
RECORD = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue planes
TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST = ["test_batch.bin"]


def read_batch(path):
    """Images (N, 3, 32, 32) as uint8 and labels (N,) from one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise ValueError(f"load_cifar10: {path} is truncated or corrupt: {raw.size} bytes is "
                         f"not a whole number of {RECORD}-byte records")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        raise ValueError(f"load_cifar10: {path} has a label {labels.max()} outside 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _extract(archive, root):
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, filter="data")
        else:  # Python without extraction filters: refuse paths that leave root
            for member in tar.getmembers():
                if member.name.startswith(("/", "..")) or ".." in member.name.split("/"):
                    raise ValueError(f"load_cifar10: unsafe path {member.name} in {archive}")
            tar.extractall(root)


def _folder(root, download):
    for folder in (root, root / "cifar-10-batches-bin"):
        if all((folder / name).exists() for name in TRAIN + TEST):
            return folder
    if download:
        archive = fetch(URL, root / "cifar-10-binary.tar.gz", MD5)
        try:
            _extract(archive, root)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise ValueError(f"load_cifar10: cannot unpack {archive} (corrupt? delete it and "
                             f"download it again): {e}") from None
        return root / "cifar-10-batches-bin"
    missing = [n for n in TRAIN + TEST if not (root / n).exists()]
    raise FileNotFoundError(missing_message("load_cifar10", missing, root, [URL]) +
                            "; the batches may also sit in its folder cifar-10-batches-bin")


def load_cifar10(root=None, download=False, *, normalize=True, flatten=True, one_hot_label=False):
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32x32, 10 classes.

    ``root`` holds ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin`` (the
    binary version; default ``~/.cache/tinygrad_ce/cifar10``). ``flatten`` gives rows of 3,072
    (else (N, 3, 32, 32)); ``normalize`` scales to [0, 1].
    """
    root = pathlib.Path(root) if root is not None else default_root("cifar10")
    folder = _folder(root, download)
    out = []
    for names in (TRAIN, TEST):
        parts = [read_batch(folder / n) for n in names]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        x = images.astype(np.float64) / (255.0 if normalize else 1.0)
        x = x.reshape(len(x), -1) if flatten else x
        t = one_hot(labels, 10) if one_hot_label else labels.astype(np.int64)
        out.append((x, t))
    return tuple(out)
