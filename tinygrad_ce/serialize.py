"""Checkpoints: NumPy .npz files, no pickle, written atomically, read all-or-nothing.

The file is what ``np.savez`` writes (a zip of one ``.npy`` member per name), so ``np.load``
reads it too. Every rule is checked before a byte is written or a parameter changed:
names are strings (``1`` and ``"1"`` would become one name), arrays hold numbers (bool, int,
float or complex; strings and objects are refused), and a load into a model must match the
model's names and shapes exactly.
"""

import os
import pathlib
import stat
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

NUMERIC = "biufc"  # dtype kinds: bool, signed and unsigned int, float, complex


def save(state, path):
    """Write ``state`` (a dict of name -> array or Tensor) to ``path`` as .npz, atomically.

    The data go to a temporary file in the target's folder (a symlink is followed: its target
    is updated), are flushed to disk (fsync), get the permissions ``np.savez`` would give (those
    of the file replaced, else 0666 minus the umask), and only then replace the target
    (os.replace): a failed write, even on a full disk, leaves the previous file intact and no
    temporary file behind.
    """
    arrays = _checked_arrays(state)
    target = pathlib.Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise FileNotFoundError(f"save: cannot write {path}: the folder {target.parent} does not "
                                "exist; create it first")
    mode = _mode_for(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, f"save: cannot write {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        raise OSError(e.errno, f"save: cannot write {path}: {e.strerror or e}") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _checked_arrays(state):
    """name -> ndarray, or a TypeError naming the first name or value that cannot round-trip."""
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a dict of name -> array, got {type(state).__name__}")
    arrays = {}
    for k, v in state.items():
        if not isinstance(k, str):
            raise TypeError(f"save: the name {k!r} is a {type(k).__name__}; names must be "
                            f"strings (use {str(k)!r}), as np.load gives them back")
        if not k or "\0" in k or not _encodable(k):
            raise TypeError(f"save: the name {k!r} cannot be stored; use a non-empty name "
                            "without NUL characters, in UTF-8")
        a = np.asarray(v.data if isinstance(v, Tensor) else v)
        if a.dtype.kind not in NUMERIC:
            raise TypeError(f"save: {k!r} holds {a.dtype} values, not numbers; checkpoints "
                            "store numeric arrays only")
        arrays[k] = a
    return arrays


def _encodable(name):
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def write_npz(file, arrays):
    """The .npz format of ``np.savez`` (one .npy member per name), for any names: savez's own
    keyword arguments (``file``, ``allow_pickle``) cannot carry a name of that spelling."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _mode_for(target):
    """The permissions open() would leave: those of the file replaced, else 0666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def load(path):
    """Read a checkpoint written by ``save``: a dict of name -> ndarray (no pickle).

    Every failure (missing, a folder, unreadable, truncated, a .npy or pickle file, strings) is
    an error naming ``path``.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    try:
        opened = np.load(path, allow_pickle=False)
    except OSError as e:
        raise OSError(e.errno, f"load: cannot read {path}: {e.strerror or e}") from None
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ValueError(f"load: {path} is not a readable checkpoint (truncated or corrupt?): "
                         f"{e}") from None
    if not isinstance(opened, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {path} holds a single array (.npy), not a checkpoint of named "
                         "arrays (.npz); read it with np.load, or write it with tg.save")
    with opened as f:
        try:
            state = {k: f[k] for k in f.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ValueError(f"load: {path} is not a readable checkpoint (truncated or "
                             f"corrupt?): {e}") from None
    for k, a in state.items():
        if not isinstance(a, np.ndarray) or a.dtype.kind not in NUMERIC:
            kind = a.dtype if isinstance(a, np.ndarray) else "a member that is not .npy"
            raise ValueError(f"load: {path} is not a checkpoint of numbers: {k!r} holds {kind}")
    return state


def load_into(layer, path):
    """Read ``path`` into ``layer``'s parameters and buffers, all or nothing: every name and
    shape is checked against ``layer.state()`` before anything is copied, so a failed load
    leaves the layer as it was."""
    state = load(path)
    check_state(layer.state(), state, path)
    layer.load_state(state)
    return layer


def check_state(expected, state, path="the checkpoint"):
    """A ValueError naming the first name or shape where ``state`` does not fit ``expected``."""
    missing = [k for k in expected if k not in state]
    extra = sorted(k for k in state if k not in expected)
    if missing:
        raise ValueError(f"load: {path} has no {missing[0]!r}; it holds {sorted(state)[:8]} "
                         "(a different architecture?)")
    if extra:
        raise ValueError(f"load: {path} has {extra[:5]} that this model does not (a different "
                         f"architecture?); the model has {list(expected)[:8]}")
    for k, current in expected.items():
        if np.shape(state[k]) != np.shape(current):
            raise ValueError(f"load: parameter {k!r} has shape {np.shape(state[k])} in the "
                             f"checkpoint but {np.shape(current)} in the model")
