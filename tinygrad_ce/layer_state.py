"""What a layer keeps on ``self``, found by walking its attributes: for ``check_layer``'s
mutation lines and for naming parameters by attribute (``W``, ``b``, ``0.W`` in a Sequential).

The walk takes public attributes first (so a parameter is named ``W``, not after a private
registry that also holds it), goes into sub-layers and lists or dicts of them, and visits each
object once.
"""

import copy

import numpy as np

from .tensor import Tensor

# bookkeeping of the tape path, not state a backward could corrupt
SKIP = {"_collect", "input_needs_grad", "_param_names"}


def walk(layer):
    """(dotted name, value, owner) for everything on ``layer`` and its sub-layers (the owner
    is the layer that holds it): ndarrays, Tensors, random generators and plain values."""
    from .layers.base import Layer
    seen, out = set(), []

    def visit(obj, prefix):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        items = sorted(vars(obj).items(), key=lambda kv: kv[0].startswith("_"))
        for name, v in items:
            if name not in SKIP:
                item(v, prefix + name, prefix, obj)

    def item(v, key, prefix, owner):
        if isinstance(v, Layer):
            visit(v, key + ".")
        elif isinstance(v, (list, tuple, dict)) and _holds_layers_or_arrays(v):
            pairs = v.items() if isinstance(v, dict) else enumerate(v)
            plain = key.rsplit(".", 1)[-1] in ("layers", "_layers", "_modules", "_children")
            for k, w in pairs:
                item(w, f"{prefix}{k}" if plain else f"{key}.{k}", prefix, owner)
        elif isinstance(v, (Tensor, np.ndarray)):
            if id(v) not in seen:
                seen.add(id(v))
                out.append((key, v, owner))
        else:
            out.append((key, v, owner))

    visit(layer, "")
    return out


def _holds_layers_or_arrays(v):
    from .layers.base import Layer
    values = v.values() if isinstance(v, dict) else v
    return any(isinstance(w, (Layer, Tensor, np.ndarray)) for w in values)


def param_names(layer):
    """The dotted attribute name of each of ``layer.params()`` (``W``, ``b``, ``0.W``)."""
    names = {id(v): k for k, v, _ in walk(layer) if isinstance(v, Tensor)}
    return [names.get(id(p), p.name or f"param{i}") for i, p in enumerate(layer.params())]


def snapshot(layer):
    """A copy of everything the layer holds: dotted name -> (copy, what it is), where what it
    is reads "parameter", "declared in saved" or "not declared in saved"."""
    out = {}
    for key, v, owner in walk(layer):
        leaf = key.rsplit(".", 1)[-1]
        kind = "declared in saved" if leaf in getattr(owner, "saved", ()) else \
            "not declared in saved"
        if isinstance(v, Tensor):
            out[key] = (v.data.copy(), "parameter" if v.requires_grad else kind)
        elif isinstance(v, np.ndarray):
            out[key] = (v.copy(), kind)
        elif isinstance(v, np.random.Generator):
            out[key] = (copy.deepcopy(v.bit_generator.state), kind)
        elif v is None or isinstance(v, (bool, int, float, str, tuple, np.generic)):
            out[key] = (v, kind)
    return out


def changes(before, after):
    """What differs between two snapshots, named: "`out` (declared in saved)", "`cache` (not
    declared in saved)", "`W` (parameter)". A value that appeared only later is no change."""
    found = []
    for key, (old, kind) in before.items():
        new = after.get(key, (_MISSING, kind))[0]
        if not _equal(old, new):
            found.append(f"`{key}` ({kind})")
    return found


_MISSING = object()


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind
                                                                == "f")))
    try:
        return bool(a == b) or a is b
    except (ValueError, TypeError):
        return a is b
