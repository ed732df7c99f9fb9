"""``tg.viz.html(y)``: one self-contained HTML page that steps through the backward pass of ``y``.

The numbers come from ``tg.trace()``: the page runs backward once more on the live graph (with
``tg.grad``, so no ``.grad`` changes) and writes down each step: the op, the gradient it received,
its rule, and the gradient it passed to each input, with the running total where an input is
shared (``+=``). The graph is laid out here, in Python, as inline SVG; a little JavaScript moves
the highlight from step to step. Nothing is fetched: the page works from ``file://``, inline in
Jupyter (inside an ``<iframe srcdoc>``), and offline.
"""

import html as _html
import json
import pathlib

import numpy as np

from .autograd import ancestors
from .grad import grad
from .page_assets import CSS, JS, TEMPLATE
from .tensor import Tensor
from .trace import trace

SMALL = 16      # arrays with at most this many elements are shown in full
HEAD = 6        # a larger array shows its shape, norm, min, max and its first HEAD entries
W, H, GAP_X, GAP_Y = 136, 40, 40, 14    # node box and the gaps between columns and rows
DUMMY = 6       # the height of the slot a long edge takes in a column it crosses


def traced_backward(y, who="html"):
    """Run backward from ``y`` under ``tg.trace()`` without touching any ``.grad`` (a
    non-scalar ``y`` is seeded with ones, i.e. the gradient of ``y.sum()``). Returns the trace."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(y).__name__}")
    if not y.requires_grad:
        raise ValueError(f"{who}: {y.name or 'y'} does not require grad, so it has no backward "
                         "pass to show; build it from a Tensor with requires_grad=True")
    leaves = [t for t in ancestors([y]) if t._op is None]
    with trace() as tr:
        grad(y, leaves, np.ones(y.shape, dtype=y.dtype), retain_graph=True)
    return tr


def summary(a):
    """What the page needs to show an array: all values when small, else shape, norm, min,
    max and the first few entries (flattened, C order)."""
    a = np.asarray(a)
    integer = a.dtype.kind in "iub"
    flat = a.reshape(-1)
    out = {"shape": list(a.shape), "int": bool(integer)}
    if a.size <= SMALL:
        out["values"] = flat.tolist()
    else:
        f = flat.astype(np.float64)
        out.update(head=flat[:HEAD].tolist(), norm=float(np.linalg.norm(f)),
                   min=float(f.min()), max=float(f.max()))
    return out


def fused_array(op):
    """softmax-with-loss passes on (y - t) scaled by dout/N: the y - t itself, for the page."""
    state = getattr(op, "state", None)
    if op.name == "softmax_with_loss" and state:
        from .ops.nn import minus_target
        return minus_target(state["y"], state["t"])
    return None


def graph_nodes(y):
    """Every Tensor in the graph of ``y`` (constants too), in creation order, and their inputs."""
    found, stack = {}, [y]
    while stack:
        t = stack.pop()
        if id(t) not in found:
            found[id(t)] = t
            if t._op is not None:
                stack.extend(t._op.inputs)
    return sorted(found.values(), key=lambda t: t._seq)


def layout(tensors):
    """Where each node goes: ``(col, row, inputs, chains)``. Columns by depth (a leaf sits just
    left of its first consumer); an edge that spans several columns gets a placeholder in each
    column it crosses (``chains[(j, i)]``, ids from ``len(tensors)`` on), so it is routed
    between the boxes, not through them; rows come from a few barycenter sweeps, so that
    edges cross less. ``col`` and ``row`` cover nodes and placeholders."""
    index = {id(t): i for i, t in enumerate(tensors)}
    inputs = [[index[id(x)] for x in t._op.inputs] if t._op is not None else [] for t in tensors]
    users = [[] for _ in tensors]
    for i, ins in enumerate(inputs):
        for j in ins:
            users[j].append(i)
    col = [0] * len(tensors)
    for i, ins in enumerate(inputs):  # creation order: inputs come first
        if ins:
            col[i] = 1 + max(col[j] for j in ins)
    for i, ins in enumerate(inputs):
        if not ins and users[i]:
            col[i] = min(col[u] for u in users[i]) - 1
    left, right = [[] for _ in tensors], [[] for _ in tensors]
    chains = {}
    for i, ins in enumerate(inputs):
        for j in dict.fromkeys(ins):   # x * x: one edge
            prev, chain = j, []
            for c in range(col[j] + 1, col[i]):
                col.append(c)
                left.append([prev])
                right.append([])
                right[prev].append(len(col) - 1)
                prev = len(col) - 1
                chain.append(prev)
            right[prev].append(i)
            left[i].append(prev)
            chains[(j, i)] = chain
    columns = {}
    for v, c in enumerate(col):
        columns.setdefault(c, []).append(v)
    row = {v: r for c in columns.values() for r, v in enumerate(c)}
    for sweep in range(4):  # left to right by inputs, then right to left by users, twice
        neighbours = left if sweep % 2 == 0 else right
        for c in sorted(columns, reverse=sweep % 2 == 1):
            columns[c].sort(key=lambda v, n=neighbours: barycenter(v, n, row))
            row.update({v: r for r, v in enumerate(columns[c])})
    return col, row, inputs, chains


def barycenter(v, neighbours, row):
    """The mean row of node v's neighbours (its own row when it has none)."""
    return np.mean([row[j] for j in neighbours[v]]) if neighbours[v] else row[v]


def positions(tensors, col, row):
    """Top-left corner of every node and placeholder: columns stacked, then centred."""
    n, first = len(tensors), min(col)
    size = [H if v < n else DUMMY for v in range(len(col))]
    columns = {}
    for v in sorted(range(len(col)), key=lambda v: row[v]):
        columns.setdefault(col[v], []).append(v)
    heights = {c: sum(size[v] + GAP_Y for v in vs) for c, vs in columns.items()}
    tallest, xy = max(heights.values()), [None] * len(col)
    for c, vs in columns.items():
        y = GAP_Y + (tallest - heights[c]) / 2
        for v in vs:
            xy[v] = (10 + (c - first) * (W + GAP_X), y)
            y += size[v] + GAP_Y
    width = (max(col) - first + 1) * (W + GAP_X) - GAP_X + 20
    return xy, width, tallest + GAP_Y


def edge_path(points):
    """An SVG path through (x, y) points: curves between columns, straight across a column."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.0f},{y0:.0f}"]
    for k in range(0, len(rest), 2):
        (xa, ya), mid = rest[k], (x0 + rest[k][0]) / 2
        d.append(f"C{mid:.0f},{y0:.0f} {mid:.0f},{ya:.0f} {xa:.0f},{ya:.0f}")
        if k + 1 < len(rest):
            x0, y0 = rest[k + 1]
            d.append(f"L{x0:.0f},{y0:.0f}")
    return " ".join(d)


def svg(tensors, labels):
    """The graph as inline SVG: one box per tensor (an op's output carries the op's name),
    one edge per input; ids ``n{i}`` and ``e{j}_{i}`` let the script highlight them."""
    col, row, inputs, chains = layout(tensors)
    xy, width, height = positions(tensors, col, row)
    out = [f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}">']
    for (j, i), chain in chains.items():
        points = [(xy[j][0] + W, xy[j][1] + H / 2)]
        for d in chain:   # across each placeholder, at its middle
            points += [(xy[d][0], xy[d][1] + DUMMY / 2), (xy[d][0] + W, xy[d][1] + DUMMY / 2)]
        points.append((xy[i][0], xy[i][1] + H / 2))
        out.append(f'<path id="e{j}_{i}" class="edge" d="{edge_path(points)}"/>')
    for i, t in enumerate(tensors):
        x, y0 = xy[i]
        kind = "op" if t._op is not None else ("leaf" if t.requires_grad else "const")
        top = t._op.name if t._op is not None else (t.name or constant_text(t))
        number = labels[i] if t._op is not None else labels[i].split()[0]
        bottom = f"{number}  {shape_text(t.shape)}"
        out.append(f'<g id="n{i}" class="node {kind}" data-node="{i}">'
                   f'<rect x="{x:.0f}" y="{y0:.0f}" width="{W}" height="{H}" '
                   f'rx="{12 if kind == "op" else 3}"/>'
                   f'<text x="{x + W / 2:.0f}" y="{y0 + 16:.0f}" class="top">'
                   f'{_html.escape(top[:22])}</text>'
                   f'<text x="{x + W / 2:.0f}" y="{y0 + 31:.0f}">{_html.escape(bottom[:26])}'
                   '</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def constant_text(t):
    """An unnamed leaf: its value when it is one number, else 'constant' or 'leaf'."""
    if t.size == 1:
        return f"{t.data.reshape(-1)[0]:.4g}"
    return "leaf" if t.requires_grad else "constant"


def shape_text(shape):
    return str(tuple(shape))


def page_data(y, tr, tensors, labels):
    """The numbers the script shows: each node's value, each step's gradients and totals."""
    index = {id(t): i for i, t in enumerate(tensors)}
    nodes = [{"label": labels[i], "name": t.name, "kind": "op" if t._op is not None else
              ("leaf" if t.requires_grad else "const"),
              "op": t._op.name if t._op is not None else None, "shape": list(t.shape),
              "dtype": str(t.dtype), "value": summary(t.data)} for i, t in enumerate(tensors)]
    totals, steps = {}, []
    for s in tr.steps:
        passed = []
        for x, g, accumulated in s.passed:
            k = index[id(x)]
            totals[k] = g if k not in totals else totals[k] + g
            passed.append({"to": k, "grad": summary(g), "acc": bool(accumulated),
                           "total": summary(totals[k])})
        got = {p["to"] for p in passed}
        fused = fused_array(s.op)
        steps.append({"node": index[id(s.output)], "op": s.name, "rule": s.rule,
                      "received": summary(s.received), "passed": passed,
                      "fused": None if fused is None else summary(fused),
                      "none": [index[id(x)] for x in s.inputs if index[id(x)] not in got]})
    return {"y": index[id(y)], "nodes": nodes, "steps": steps}


class Page(str):
    """The page's HTML text; in Jupyter it displays inline (in an iframe, so that several
    pages in one notebook keep their own keys and ids)."""

    def _repr_html_(self):
        return (f'<iframe srcdoc="{_html.escape(self, quote=True)}" style="width:100%;'
                'height:640px;border:1px solid #ddd" title="tinygrad_ce backward"></iframe>')


def html(y, path=None, *, title=None):
    """A self-contained HTML page with the graph of ``y`` and a step-through of its backward
    pass; returns the text (a ``str`` that displays inline in Jupyter) and writes it to ``path``
    if given.

    Step with the buttons or the arrow keys (Home/End jump): the current tape entry is
    highlighted, with the gradient gy it received, its rule, and the gradient it passed to each
    input (``+=`` where an input shared by several ops accumulates, with the total so far).
    Hover a node for its value, shape, dtype and its gradient so far. Numbers show 4
    significant digits (JavaScript's ``toPrecision(4)``); arrays of more than 16 elements show
    shape, norm, min, max and their first entries. The graph must still be alive (call
    ``backward(retain_graph=True)``, or build the page before backward); ``.grad`` is not
    touched (hooks run, as in any backward). A ``y`` of many elements is seeded with ones
    (the gradient of ``y.sum()``).
    """
    tr = traced_backward(y)
    tensors = graph_nodes(y)
    labels = [f"%{i}" + (f" {t.name}" if t.name else "") for i, t in enumerate(tensors)]
    data = page_data(y, tr, tensors, labels)
    script = json.dumps(data, ensure_ascii=True).replace("</", "<\\/")
    title = title or f"backward of {labels[data['y']]}: {len(tr.steps)} steps"
    text = (TEMPLATE.replace("$TITLE", _html.escape(title)).replace("$SVG", svg(tensors, labels))
            .replace("$CSS", CSS).replace("$JS", JS.replace("$DATA", script)))
    if path is not None:
        pathlib.Path(path).write_text(text, encoding="utf-8")
    return Page(text)
