"""What a gradient check found, per input and overall, as numbers and as a readable table."""

import math

import numpy as np

from .differences import error_and_allowed, resolution
from .table import table


class InputReport:
    """The check of one input: its worst element (largest error for its tolerance) with the
    analytic and numeric values, the tolerance there, its kinks and its resolution."""

    def __init__(self, position, shape, analytic, diff, name=None, fast=False):
        self.position, self.shape, self.name = position, tuple(shape), name
        self.kinks, self.second_step = diff.kinks, diff.second
        a = np.asarray(analytic, dtype=np.float64)
        err, allowed = error_and_allowed(a, diff)
        self.resolution = resolution(diff)
        if a.size == 0:
            self.index, self.analytic = "-", 0.0
            self.numeric = self.abs_error = self.allowed = self.rel_error = 0.0
            self.passed = True
            return
        with np.errstate(over="ignore"):
            ratio = np.divide(err, allowed, out=np.where(err > 0, np.inf, 0.0),
                              where=allowed > 0)
        j = np.unravel_index(int(np.argmax(ratio)), err.shape) if err.ndim else ()
        self.index = "direction" if fast else (tuple(int(k) for k in j) if err.ndim else "-")
        self.analytic, self.numeric = float(a[j]), float(diff.numeric[j])
        self.abs_error, self.allowed = float(np.max(err)), float(allowed[j])
        rel = err / np.maximum(np.abs(diff.numeric), 1e-12)
        self.rel_error = float(np.max(rel))
        self.passed = bool(np.all(err <= allowed))

    @property
    def label(self):
        return str(self.position) if self.name is None else self.name


class CheckReport:
    """The result of a gradient check: true when every input passed and nothing was mutated.

    ``max_abs_error``, ``max_rel_error``, ``inputs`` (one ``InputReport`` each), ``kinks``
    (every kink found, each with ``.input``), ``resolution`` (the smallest relative error, on
    every element, that the check would see), ``problems`` (failed contract lines),
    ``suspect``; ``str()`` is a table.
    """

    def __init__(self, title, inputs, *, fast=False, given=None, noise=None, problems=()):
        self.title, self.inputs, self.fast, self.given = title, inputs, fast, given
        self.noise, self.problems, self.suspect = noise, list(problems), None
        self.passed = all(r.passed for r in inputs) and not self.problems
        self.max_abs_error = max((r.abs_error for r in inputs), default=0.0)
        self.max_rel_error = max((r.rel_error for r in inputs), default=0.0)
        self.resolution = min((r.resolution for r in inputs), default=math.inf)
        self.kinks = []
        for r in inputs:
            for k in r.kinks:
                k.input = r.position
                self.kinks.append(k)

    def __bool__(self):
        return self.passed

    def __str__(self):
        mode = "random directions (fast)" if self.fast else "every element"
        if self.given:
            tol = ", ".join(f"{k}={v:g}" for k, v in self.given.items() if v is not None)
        else:
            tol = "tolerances from the estimated finite-difference error"
        lines = [f"{self.title}: {'PASSED' if self.passed else 'FAILED'} ({mode}; {tol})"]
        rows = [("input", "shape", "worst element", "analytic", "numeric", "abs err", "allowed",
                 "")]
        for r in self.inputs:
            rows.append((r.label, str(r.shape), str(r.index), f"{r.analytic:.10g}",
                         f"{r.numeric:.10g}", f"{r.abs_error:.3g}", f"{r.allowed:.3g}",
                         "ok" if r.passed else "FAIL"))
        lines += table(rows, indent="  ")
        lines.append(f"  resolution: {self.resolution:.2g} (the smallest relative error, on "
                     "every element, that this check can see)")
        lines += kink_lines(self.kinks, {r.position: r.label for r in self.inputs})
        lines += [f"  FAIL {p}" for p in self.problems]
        if self.suspect:
            lines.append(f"  suspect: {self.suspect}")
        return "\n".join(lines)

    __repr__ = __str__


def kink_lines(kinks, labels, most=5):
    """One line per kink (the first ``most``): where, and both one-sided derivatives."""
    if not kinks:
        return []
    lines = [f"  kinks: {len(kinks)} element(s) where the function is not differentiable "
             "(one-sided derivatives differ; not checked, not counted as errors)"]
    for k in kinks[:most]:
        where = "direction" if k.index == "direction" else f"element {tuple(map(int, k.index))}"
        lines.append(f"    input {labels.get(k.input, k.input)} {where}: left {k.left:.6g}, "
                     f"right {k.right:.6g}")
    if len(kinks) > most:
        lines.append(f"    ... and {len(kinks) - most} more")
    return lines
