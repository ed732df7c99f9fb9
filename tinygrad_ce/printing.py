"""Text for small arrays, exactly as ``np.array2string`` writes them on one line, but fast.

The tape, the trace and the graph print a few numbers for each of possibly 100,000 tensors;
``np.array2string`` spends a fraction of a millisecond setting up each call, which made
printing a deep graph take longer than its backward pass. ``array_text`` formats small
floating arrays itself, with NumPy's rules for its default mode ("maxprec", ``suppress_small``):
every value is its shortest round-trip digits rounded to ``precision`` decimals, trailing zeros
trimmed to the point, padded left and right to common widths. Everything else (integers,
booleans, complex, values of 1e8 and more) is handed to NumPy.
"""

import functools
import math

import numpy as np


def array_text(a, precision=4):
    """``" ".join(np.array2string(a, precision, separator=", ", suppress_small=True).split())``
    for a small array: the same text, computed quickly."""
    a = np.asarray(a)
    if a.dtype.kind != "f" or a.size > 64:
        return _numpy_text(a, precision)
    # a gradient is printed where it leaves one op and where it enters the next: format once
    return _float_text(a.tobytes(), a.dtype, a.shape, precision)


@functools.lru_cache(maxsize=4096)
def _float_text(data, dtype, shape, precision):
    a = np.frombuffer(data, dtype=dtype).reshape(shape)
    values = a.ravel().tolist()  # Python floats: exact, and quick to test
    finite = [v for v in values if math.isfinite(v)]
    if not finite or max(abs(v) for v in finite) >= _exponent_cutoff(a.dtype):
        return _numpy_text(a, precision)  # NumPy writes exponents here
    scalar = a.dtype.type  # the shortest digits that identify a float32 are not a float64's
    parts = [np.format_float_positional(scalar(v), precision=precision, unique=True,
                                        fractional=True, trim=".").split(".") for v in finite]
    left = max(len(i) for i, _ in parts)
    right = max(len(f) for _, f in parts)
    if len(finite) < len(values):  # room for nan, inf, -inf
        left = max(left, 3 + any(v == -math.inf for v in values) - (right + 1))
    cells, it = [], iter(parts)
    for v in values:
        if math.isfinite(v):
            i, f = next(it)
            cells.append(i.rjust(left) + "." + f.ljust(right))
        else:
            cells.append(("nan" if v != v else "inf" if v > 0 else "-inf").rjust(left + right + 1))
    if a.ndim == 0:
        return cells[0].strip()
    return " ".join(_nest(cells, a.shape).split())


@functools.lru_cache(maxsize=None)
def _exponent_cutoff(dtype):
    """1e8, or 10^digits for a dtype with fewer digits (float32: 1e6), as NumPy decides."""
    return 10.0 ** min(8, np.finfo(dtype).precision)


def _nest(cells, shape):
    """'[a, b], [c, d]' bracketed by shape, NumPy's separators (', ' and ',\\n')."""
    if len(shape) == 1:
        return "[" + ", ".join(cells) + "]"
    step = len(cells) // shape[0]
    rows = [_nest(cells[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]
    return "[" + ", ".join(rows) + "]"


def _numpy_text(a, precision):
    text = np.array2string(a, precision=precision, separator=", ", suppress_small=True)
    return " ".join(text.split())
