"""Pictures of the graph: Graphviz DOT text, SVG or PNG files, and notebook display.

``to_dot(y)`` needs nothing; ``render(y, path)`` uses Graphviz's ``dot`` program when it is
installed, and otherwise draws SVG itself (PNG needs Graphviz).
"""

import html as _html
import pathlib
import shutil
import subprocess

import numpy as np

from .autograd import ancestors, enable_grad
from .page import html  # noqa: F401  (tg.viz.html: the step-through page)
from .printing import array_text
from .tape import dtype_name
from .tensor import Tensor

SMALL = 6  # tensors with at most this many elements show their values


def _nodes(y):
    """Every Tensor in y's graph (constants too) and the ops, in creation order."""
    found, stack = {}, [y]
    while stack:
        t = stack.pop()
        if id(t) in found:
            continue
        found[id(t)] = t
        if t._op is not None and not t._op.released:
            stack.extend(t._op.inputs)
    return sorted(found.values(), key=lambda t: t._seq)


def _fmt(a):
    return array_text(a, precision=3)


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def tensor_label(t, number, grad=None, values=True):
    """'W (3, 2) float64', with the value and gradient when small."""
    lines = [f"{t.name or '%' + str(number)}  {t.shape}  {dtype_name(t.dtype)}"]
    if values and t.size <= SMALL:
        lines.append(f"value {_fmt(t.data)}")
    g = grad if grad is not None else (t.grad.data if t.grad is not None else None)
    if g is not None:
        lines.append(f"grad {_fmt(g)}" if np.size(g) <= SMALL else f"grad {np.shape(g)}")
    return "\n".join(lines)


def op_label(op):
    params = ", ".join(f"{k}={v!r}" for k, v in op.params().items())
    return f"{op.name}({params})" if params else op.name


def to_dot(y, *, trace=None, expand=False, values=True):
    """Graphviz DOT text of the graph that made ``y``.

    Tensors are boxes (name or %number, shape, dtype; value and gradient when small); ops are
    ellipses with their parameters; a layer is one op node, or with ``expand=True`` a cluster
    of the primitive ops of its reference forward. With ``trace`` (from ``tg.trace()``), each
    tensor shows the gradient backward passed to it.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(y).__name__}")
    tensors = _nodes(y)
    number = {id(t): i for i, t in enumerate(tensors)}
    lines = ["digraph tinygrad_ce {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [color="#555555"];']
    for t in tensors:
        g = trace.gradient_of(t) if trace is not None else None
        style = f'style=filled, fillcolor="{"#e8f0fe" if t.requires_grad else "#f1f3f4"}"'
        lines.append(f"  t{number[id(t)]} [shape=box, {style}, "
                     f"label={_quote(tensor_label(t, number[id(t)], g, values))}];")
    for t in tensors:
        op = t._op
        if op is None or op.released:
            continue
        node = f"op{number[id(t)]}"
        if expand and hasattr(op, "layer"):
            lines += _expanded(op, node, number)
        else:
            lines.append(f'  {node} [shape=ellipse, style=filled, fillcolor="#fef7e0", '
                         f"label={_quote(op_label(op))}];")
            for x in op.inputs:
                lines.append(f"  t{number[id(x)]} -> {node};")
        lines.append(f"  {node} -> t{number[id(t)]};")
    lines.append("}")
    return "\n".join(lines)


def _expanded(op, node, number):
    """A cluster with the primitive ops of a layer's reference forward."""
    layer, inputs = op.layer, op.inputs
    with enable_grad():
        x = Tensor(inputs[0].data, requires_grad=True)
        out = layer.reference(x, inputs[1]) if layer.is_loss else layer.reference(x)
    outer = {id(x): f"t{number[id(inputs[0])]}"}
    outer.update({id(p): f"t{number[id(p)]}" for p in inputs[1:] if id(p) in number})
    lines = [f"  subgraph cluster_{node} {{", f"    label={_quote(layer.name)};",
             '    style=dashed; color="#999999";']
    inner = ancestors([out])[::-1]
    names = {}
    for k, t in enumerate(inner):
        if t._op is None:
            continue
        names[id(t)] = f"{node}_{k}"
        lines.append(f'    {node}_{k} [shape=ellipse, style=filled, fillcolor="#fef7e0", '
                     f"label={_quote(op_label(t._op))}];")
    lines.append(f'    {node} [shape=point, width=0.05, label=""];')
    lines.append("  }")
    target = f"t{number[id(inputs[1])]}" if layer.is_loss else None
    for t in inner:
        if t._op is None:
            continue
        for src in t._op.inputs:
            if id(src) in names:
                lines.append(f"  {names[id(src)]} -> {names[id(t)]};")
            elif id(src) in outer:
                lines.append(f"  {outer[id(src)]} -> {names[id(t)]};")
            elif target and src.ndim > 0:  # the target, made into a table: enters here
                label = "one-hot" if src.shape != inputs[1].shape else "t"
                lines.append(f'  {target} -> {names[id(t)]} [style=dashed, label="{label}"];')
    lines.append(f"  {names[id(out)]} -> {node};")
    return lines


def render(y, path, **kwargs):
    """Write the graph of ``y`` to ``path``: .svg, .png (or .dot for the text).

    Uses Graphviz's ``dot`` when installed; without it, SVG is drawn by a simple built-in
    layout and PNG is an error that says what to install. If dot fails (a missing folder, say),
    the error carries dot's own message. Returns the path.
    """
    path = pathlib.Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "dot"):
        raise ValueError(f"render: write .svg, .png or .dot, got {path.name!r}")
    dot_text = to_dot(y, **kwargs)
    if fmt == "dot":
        path.write_text(dot_text)
    elif shutil.which("dot"):
        run_dot(dot_text, fmt, path)
    elif fmt == "svg":
        path.write_text(simple_svg(y, **{k: v for k, v in kwargs.items() if k != "expand"}))
    else:
        require_dot("render")
    return path


def require_dot(who):
    """A RuntimeError that says what to install when Graphviz's dot is missing."""
    if not shutil.which("dot"):
        raise RuntimeError(f"{who}: PNG needs Graphviz's dot program, which is not installed; "
                           "install graphviz (apt-get install graphviz, brew install graphviz "
                           "or conda install graphviz), or write .svg instead")


def run_dot(dot_text, fmt, path=None):
    """Graphviz's output in ``fmt`` (bytes), written to ``path`` if given; dot's own message in
    the error when it fails."""
    command = ["dot", f"-T{fmt}"] + (["-o", str(path)] if path is not None else [])
    done = subprocess.run(command, input=dot_text.encode(), capture_output=True)
    if done.returncode != 0:
        said = " ".join(done.stderr.decode(errors="replace").split()) or f"exit {done.returncode}"
        where = f" {path}" if path is not None else ""
        raise RuntimeError(f"render: Graphviz's dot could not write{where}: {said}")
    return done.stdout


def simple_svg(y, *, trace=None, values=True):
    """An SVG of the graph without Graphviz: columns by depth, tensors and ops as boxes sized
    to their full labels, arrows from inputs to ops to outputs."""
    items = _svg_items(y, trace, values)
    char, line, pad, gap_x, gap_y = 6.1, 13, 6, 40, 16  # monospace 10px: 6.1 px per character
    columns = {}
    for item in items:
        columns.setdefault(item[3], []).append(item)
    box, x = {}, 10.0
    for d in sorted(columns):
        width = max(len(t) for item in columns[d] for t in item[2]) * char + 2 * pad
        y0 = 10.0
        for _kind, key, label, _d, _ in columns[d]:
            height = len(label) * line + 2 * pad
            box[key] = (x, y0, width, height)
            y0 += height + gap_y
        x += width + gap_x
    height = max(bx[1] + bx[3] for bx in box.values()) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{x:.0f}" height="{height:.0f}" '
           'font-family="monospace" font-size="10">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
           '</defs>']
    for _kind, key, _label, _d, sources in items:
        x2, y2, _, h2 = box[key]
        for s in sources:
            x1, y1, w1, h1 = box[s]
            out.append(f'<line x1="{x1 + w1:.1f}" y1="{y1 + h1 / 2:.1f}" x2="{x2:.1f}" '
                       f'y2="{y2 + h2 / 2:.1f}" stroke="#555" marker-end="url(#arrow)"/>')
    for kind, key, label, _d, _ in items:
        x0, y0, w, h = box[key]
        fill, radius = ("#fef7e0", 12) if kind == "op" else ("#e8f0fe", 2)
        out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" '
                   f'rx="{radius}" fill="{fill}" stroke="#555"/>')
        for i, text in enumerate(label):
            out.append(f'<text x="{x0 + pad:.1f}" y="{y0 + pad + 10 + line * i:.1f}" '
                       f'xml:space="preserve">{_html.escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _svg_items(y, trace, values):
    """(kind, key, label lines, column, source keys) for every op and tensor, inputs first."""
    tensors = _nodes(y)
    number = {id(t): i for i, t in enumerate(tensors)}
    depth, items = {}, []
    for t in tensors:  # creation order: inputs come first
        op = t._op if t._op is not None and not t._op.released else None
        d = 0 if op is None else 1 + max(depth[id(x)] for x in op.inputs)
        if op is not None:
            items.append(("op", id(op), [op_label(op)], d, [id(x) for x in op.inputs]))
            d += 1
        depth[id(t)] = d
        g = trace.gradient_of(t) if trace is not None else None
        items.append(("tensor", id(t), tensor_label(t, number[id(t)], g, values).split("\n"), d,
                      [id(op)] if op is not None else []))
    return items


class Graph:
    """A graph for notebooks: Graphviz's SVG when dot is installed, else the built-in SVG."""

    def __init__(self, y, **kwargs):
        self.y, self.kwargs, self.dot = y, kwargs, to_dot(y, **kwargs)

    def _repr_svg_(self):
        if shutil.which("dot"):
            return run_dot(self.dot, "svg").decode()
        return simple_svg(self.y, **{k: v for k, v in self.kwargs.items() if k != "expand"})

    def __repr__(self):
        return str(self.y.tape()) if self.y.requires_grad else self.dot


def graph(y, **kwargs):
    """A displayable graph of ``y`` (``to_dot`` options apply)."""
    return Graph(y, **kwargs)
