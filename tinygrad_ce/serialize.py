"""Checkpoints: NumPy .npz files, no pickle, written atomically."""

import os
import pathlib
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor


def save(state, path):
    """Write ``state`` (a dict of name -> array or Tensor) to ``path`` as .npz, atomically.

    The data go to a temporary file in the same folder, are flushed to disk (fsync), and only
    then replace ``path`` (os.replace): a failed write, even on a full disk, leaves the previous
    file intact and no temporary file behind.
    """
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a dict of name -> array, got {type(state).__name__}")
    arrays = {str(k): np.asarray(v.data if isinstance(v, Tensor) else v) for k, v in state.items()}
    for k, a in arrays.items():
        if a.dtype == object:
            raise TypeError(f"save: {k!r} is not a numeric array")
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path):
    """Read a checkpoint written by ``save``: a dict of name -> ndarray (no pickle)."""
    path = pathlib.Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no checkpoint at {path}") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ValueError(f"load: {path} is not a readable checkpoint (truncated or corrupt?): "
                         f"{e}") from None
