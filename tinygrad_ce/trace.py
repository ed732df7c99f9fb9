"""``tg.trace()``: record each step of backward, the gradient it received and what it passed on.

    with tg.trace() as tr:
        loss.backward()
    print(tr)

Costs nothing when not in use: the engine only checks whether a tracer is set.
"""

import html

import numpy as np

from .autograd import STATE
from .printing import array_text
from .table import table


def rule_of(op):
    """The backward rule from the op's (or layer's) docstring: the part after ';'."""
    doc = (getattr(op, "layer", None) or op).__doc__ or ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return first.split(";", 1)[1].strip() if ";" in first else ""


def show(a, limit=8):
    """A short text for an array: the values when small, else shape and norm."""
    a = np.asarray(a)
    if a.size <= limit:
        return array_text(a, precision=4)
    return f"{a.shape} |g|={np.linalg.norm(a):.4g}"


class Step:
    """One backward step: the op, its output Tensor, the gradient it received, and for each
    input that needs one, (input Tensor, gradient passed on, accumulated onto an earlier one)."""

    def __init__(self, op, output, received, passed, note):
        self.op, self.output, self.received, self.passed, self.note = (op, output, received,
                                                                       passed, note)
        self.name, self.rule = op.name, rule_of(op)
        self.inputs = tuple(op.inputs)  # kept: backward may release the op right after


class Trace:
    """The recorded backward steps, in the order backward ran them (newest op first)."""

    def __init__(self):
        self.steps = []

    def __enter__(self):
        self._prev, STATE.tracer = STATE.tracer, self
        return self

    def __exit__(self, *exc):
        STATE.tracer = self._prev

    def record(self, op, output, received, passed):
        data = lambda g: np.array(g.data if hasattr(g, "_data") else g)  # noqa: E731
        self.steps.append(Step(op, output, data(received),
                               [(x, data(g), acc) for x, g, acc in passed], fused_note(op)))

    def gradient_of(self, tensor):
        """The total gradient the trace saw flow into ``tensor`` (None if none did)."""
        total = None
        for step in self.steps:
            for x, g, _ in step.passed:
                if x is tensor:
                    total = g if total is None else total + g
        return total

    def __len__(self):
        return len(self.steps)

    def __str__(self):
        seen = {id(t): t for s in self.steps for t in (s.output, *s.inputs)}
        order = sorted(seen.values(), key=lambda t: t._seq)  # numbered as the tape numbers them
        label = {id(t): f"%{i}" + (f" {t.name}" if t.name else "") for i, t in enumerate(order)}
        rows = [("step", "op", "received gy", "input", "gradient passed on", "")]
        for i, s in enumerate(self.steps):
            head = (str(i), f"{s.name} -> {label[id(s.output)]}", show(s.received))
            if not s.passed:
                rows.append(head + ("", "", ""))
            for k, (x, g, accumulated) in enumerate(s.passed):
                rows.append((head if k == 0 else ("", "", "")) +
                            (label[id(x)], show(g), "(+= accumulated)" if accumulated else ""))
        lines = [f"backward trace: {len(self.steps)} steps, newest op first", *table(rows)]
        lines.append("rules:")
        for s in _unique_by_name(self.steps):
            if s.rule:
                lines.append(f"  {s.name}: {s.rule}")
        for s in self.steps:
            if s.note:
                lines.append(f"  {s.name}: {s.note}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        """In a notebook: the same table, in a monospaced block."""
        return "<pre>" + html.escape(str(self)) + "</pre>"


def _unique_by_name(steps):
    seen = {}
    for s in steps:
        seen.setdefault(s.name, s)
    return seen.values()


def fused_note(op):
    """For softmax-with-loss, the y - t that its backward passes on, written out."""
    state = getattr(op, "state", None)
    if state and op.name == "softmax_with_loss":
        from .ops.nn import minus_target
        return f"y - t = {show(minus_target(state['y'], state['t']), limit=12)}"
    return ""


def trace():
    """Record the next backward passes: ``with tg.trace() as tr: loss.backward()``."""
    return Trace()
