"""The default floating dtype, and the rules that turn user data into arrays."""

import numpy as np

_default = np.dtype(np.float64)


def get_default_dtype():
    """The dtype that Python floats and lists become (float64 unless changed)."""
    return _default


def set_default_dtype(dtype):
    """Make Python floats and lists become ``dtype`` (np.float32 or np.float64)."""
    global _default
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}; "
                        "use np.float32 or np.float64")
    _default = dtype


def as_array(data, dtype=None):
    """Convert user data to an ndarray, following the Tensor dtype rules.

    ndarrays keep their float or integer dtype; Python scalars and lists of numbers become the
    default float dtype (booleans stay boolean); an explicit ``dtype`` wins.
    """
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind in "iuf":
            arr = arr.astype(_default, copy=False)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: unsupported data of dtype {arr.dtype}; "
                        "pass numbers, nested lists of numbers or a numeric ndarray")
    return arr
