"""The tape of a Tensor as a printable table: one entry per recorded op, in the order it ran."""

import functools
import html

from .autograd import ancestors
from .table import table


class Entry:
    """One tape entry: ``step``, the ``op``, its ``inputs`` and its ``output`` Tensor."""

    def __init__(self, step, op, inputs, output):
        self.step, self.op, self.inputs, self.output = step, op, inputs, output

    def __repr__(self):
        return f"Entry({self.step}, {self.op.name})"


class Tape(list):
    """A list of ``Entry``; ``str()`` numbers every Tensor (%0, %1, ...) in creation order.
    After a backward has released the saved arrays, the entries still print: a released op
    keeps its inputs as ``Ghost``s (creation number, shape, dtype; no data).

    ``step  %4 = affine(%0, %1, %2)   shape (4, 2)  float64  grad (4, 2)``
    """

    @classmethod
    def of(cls, y):
        nodes = [t for t in reversed(ancestors([y], printing=True)) if t._op is not None]
        return cls(Entry(i, t._op, tuple(t._op.inputs), t) for i, t in enumerate(nodes))

    def __str__(self):
        tensors = {id(x): x for e in self for x in (*e.inputs, e.output)}
        number = {k: i for i, k in enumerate(sorted(tensors, key=lambda k: tensors[k]._seq))}
        rows = [("step", "entry", "shape", "dtype", "grad")]
        for e in self:
            args = ", ".join(f"%{number[id(x)]}" for x in e.inputs)
            params = ", ".join(f"{k}={v!r}" for k, v in e.op.params().items())
            call = f"%{number[id(e.output)]} = {e.op.name}({args}{', ' + params if params else ''})"
            g = e.output.grad
            rows.append((str(e.step), call, str(e.output.shape), dtype_name(e.output.dtype),
                         "-" if g is None else str(g.shape)))
        leaves = [x for x in tensors.values() if x._op is None]
        lines = table(rows)
        for x in sorted(leaves, key=lambda x: x._seq):
            kind = "leaf, requires grad" if x.requires_grad else "constant"
            label = f" {x.name!r}" if x.name else ""
            grad = f", grad {x.grad.shape}" if x.grad is not None else ""
            lines.append(f"  %{number[id(x)]}{label}: {kind}, shape {x.shape}, "
                         f"{dtype_name(x.dtype)}{grad}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        """In a notebook: the same table, in a monospaced block."""
        return "<pre>" + html.escape(str(self)) + "</pre>"


@functools.lru_cache(maxsize=None)
def dtype_name(dtype):
    """'float64' (str of a NumPy dtype is slow enough to matter 100,000 times)."""
    return str(dtype)
