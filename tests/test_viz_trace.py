"""The backward trace and the graph pictures."""

import html
import re
import shutil
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ce as tg
from tinygrad_ce import viz
from tinygrad_ce.cli import main, tiny_step
from tinygrad_ce.printing import array_text


def tiny_net(seed=0):
    x = tg.Tensor(np.array([[1.0, -0.5], [0.25, 2.0]]), name="x")
    W = tg.Tensor(np.array([[0.5, -1.0], [1.5, 0.25]]), requires_grad=True, name="W")
    b = tg.Tensor(np.array([0.1, -0.1]), requires_grad=True, name="b")
    loss = tg.SoftmaxWithLoss()(tg.sigmoid(x @ W + b), np.array([0, 1]))
    return loss, W, b


# every number checked against plain NumPy: z = sigmoid(x W + b), gz = (softmax(z) - t) / 2,
# ga = gz z (1 - z), gb = sum(ga, 0), gW = x^T ga
GOLDEN_TRACE = """\
backward trace: 4 steps, newest op first
step  op                       received gy                              input  gradient passed on
0     softmax_with_loss -> %7  1.                                       %5     [[-0.2207, 0.2207], [ 0.3023, -0.3023]]
1     sigmoid -> %5            [[-0.2207, 0.2207], [ 0.3023, -0.3023]]  %4     [[-0.0549, 0.0387], [ 0.0111, -0.0751]]
2     add -> %4                [[-0.0549, 0.0387], [ 0.0111, -0.0751]]  %3     [[-0.0549, 0.0387], [ 0.0111, -0.0751]]
                                                                        %2 b   [-0.0437, -0.0364]
3     matmul -> %3             [[-0.0549, 0.0387], [ 0.0111, -0.0751]]  %1 W   [[-0.0521, 0.0199], [ 0.0497, -0.1696]]
rules:
  softmax_with_loss: dx = dout * (y - t) / N  ("mean")
  sigmoid: gx = gy * y * (1 - y)
  add: ga = gy,  gb = gy
  matmul: ga = gy @ b^T,  gb = a^T @ gy
  softmax_with_loss: y - t = [[-0.4414, 0.4414], [ 0.6045, -0.6045]]"""


def test_trace_golden():
    loss, W, b = tiny_net()
    with tg.trace() as tr:
        loss.backward()
    assert str(tr) == GOLDEN_TRACE


def test_trace_numbers_are_the_gradients_backward_produced():
    loss, W, b = tiny_net()
    with tg.trace() as tr:
        loss.backward()
    np.testing.assert_array_equal(tr.gradient_of(W), W.grad.data)
    np.testing.assert_array_equal(tr.gradient_of(b), b.grad.data)
    (z, gz, _), = tr.steps[0].passed        # what softmax_with_loss passed on: (y - t) / N
    p = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(gz, (p - np.eye(2)[[0, 1]]) / 2, rtol=1e-12)


def test_trace_shows_accumulation_from_several_consumers():
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = tg.exp(x)
    y = (h * h + h).sum()
    with tg.trace() as tr:
        y.backward()
    flagged = [(s.name, acc) for s in tr.steps for t, _, acc in s.passed if t is h]
    assert flagged == [("add", False), ("mul", True), ("mul", True)]   # add runs first
    assert "(+= accumulated)" in str(tr)
    np.testing.assert_allclose(tr.gradient_of(h), 2 * h.data + 1)


def test_tracing_off_is_bit_identical():
    results = []
    for traced in (False, True):
        loss, W, b = tiny_net()
        if traced:
            with tg.trace():
                loss.backward()
        else:
            loss.backward()
        results.append((W.grad.data.copy(), b.grad.data.copy()))
    for a, c in zip(*results):
        assert a.tobytes() == c.tobytes()
    assert tg.autograd.STATE.tracer is None


def dot_nodes_and_edges(text):
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    nodes = set(re.findall(r"^\s*(\w+) \[", text, flags=re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+)", text, flags=re.M)
    return nodes, edges


@pytest.mark.parametrize("expand", [False, True])
def test_dot_is_well_formed(expand):
    loss, W, b = tiny_net()
    with tg.trace() as tr:
        loss.backward(retain_graph=True)
    text = viz.to_dot(loss, trace=tr, expand=expand)
    nodes, edges = dot_nodes_and_edges(text)
    assert edges and all(a in nodes and c in nodes for a, c in edges)
    assert "softmax_with_loss" in text and "W  (2, 2)  float64" in text and "grad" in text
    if expand:
        assert "cluster_" in text and "logsumexp" in text


def test_rendering_with_graphviz(tmp_path):
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed (.ci/run installs it where apt-get works)")
    loss, _, _ = tiny_net()
    svg = viz.render(loss, tmp_path / "g.svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    png = viz.render(loss, tmp_path / "g.png", expand=True)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert viz.graph(loss)._repr_svg_().lstrip().startswith(("<?xml", "<svg", "<!--"))


def test_without_graphviz_svg_falls_back_and_png_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    loss, _, _ = tiny_net()
    svg = viz.render(loss, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(root) > 10
    with pytest.raises(RuntimeError, match="install graphviz"):
        viz.render(loss, tmp_path / "g.png")
    shown = viz.graph(loss)
    shown_svg = ET.fromstring(shown._repr_svg_())      # the built-in SVG, not just text
    assert shown_svg.tag.endswith("svg") and "softmax_with_loss" in repr(shown)
    with pytest.raises(ValueError, match=".svg, .png or .dot"):
        viz.render(loss, tmp_path / "g.jpg")


def test_cli_graph_and_trace(tmp_path, capsys):
    assert main(["graph", "-o", str(tmp_path / "g.dot")]) == 0
    nodes, edges = dot_nodes_and_edges((tmp_path / "g.dot").read_text())
    assert len(nodes) >= 12
    assert main(["trace"]) == 0
    out = capsys.readouterr().out
    assert "backward trace: 4 steps" in out and "y - t = " in out and "%9 = softmax_with_loss" in out


def test_cli_trace_matches_backward():
    loss, tr = tiny_step()
    for step in tr.steps:
        for x, _, _ in step.passed:
            if x.is_leaf:
                np.testing.assert_array_equal(tr.gradient_of(x), x.grad.data)


# ---- pictures without Graphviz, dot's own errors, --expand ------------------------------------

def test_builtin_svg_has_arrowheads_and_full_labels():
    loss, tr = tiny_step()
    svg = viz.simple_svg(loss, trace=tr)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f"{ns}line")
    assert lines and all(e.get("marker-end") == "url(#arrow)" for e in lines)
    assert root.find(f"{ns}defs/{ns}marker[@id='arrow']") is not None
    shown = [e.text for e in root.iter(f"{ns}text")]
    nodes = viz._nodes(loss)
    for i, t in enumerate(nodes):                  # every line of every label, uncut
        for line in viz.tensor_label(t, i, tr.gradient_of(t)).split("\n"):
            assert line in shown
    widths = {float(r.get("width")) for r in root.iter(f"{ns}rect")}
    longest = max(len(s) for s in shown)
    assert max(widths) >= longest * 6               # boxes are as wide as their text


def test_render_failure_carries_dots_own_message(tmp_path):
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed")
    loss, _, _ = tiny_net()
    with pytest.raises(RuntimeError, match=r"dot could not write .*missing_dir/g.svg: Error: "
                                           r"Could not open"):
        viz.render(loss, tmp_path / "missing_dir" / "g.svg")


def test_expand_draws_the_target_where_it_enters():
    loss, tr = tiny_step()
    text = viz.to_dot(loss, expand=True)
    ops = dict(re.findall(r'^\s*(op\d+_\d+) \[.*label="([^"]*)"', text, flags=re.M))
    target = [a for a, c in re.findall(r"^\s*(\w+) -> (\w+)", text, flags=re.M)
              if a == "t1"]                          # t1 is the label vector t
    entered = re.findall(r"^\s*t1 -> (\w+) \[style=dashed, label=\"one-hot\"\]", text, flags=re.M)
    assert target == ["t1"] and [ops[e] for e in entered] == ["mul"]   # where y*t is formed


def test_notebook_display_of_tape_trace_and_graph(monkeypatch):
    loss, tr = tiny_step()
    tape = loss.tape()
    assert repr(tape) == str(tape) and repr(tr) == str(tr)
    assert tape._repr_html_() == "<pre>" + html.escape(str(tape)) + "</pre>"
    assert "&gt;" in tr._repr_html_() and "softmax_with_loss" in tr._repr_html_()
    IPython = pytest.importorskip("IPython")
    formatter = IPython.core.interactiveshell.InteractiveShell.instance().display_formatter
    data, _ = formatter.format(tape)
    assert data["text/plain"] == str(tape) and data["text/html"].startswith("<pre>")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    data, _ = formatter.format(viz.graph(loss))
    assert ET.fromstring(data["image/svg+xml"]).tag.endswith("svg")


# ---- printing deep graphs ---------------------------------------------------------------------

def test_printing_a_deep_chain_needs_no_recursion():
    x = tg.Tensor(np.ones(2), requires_grad=True, name="x")
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y = y.sum()
    with tg.trace() as tr:
        y.backward(retain_graph=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        tape, dot, trace_text = str(y.tape()), viz.to_dot(y), str(tr)
    finally:
        sys.setrecursionlimit(limit)
    assert tape.count(" = mul(") == 3000 and dot.count('label="mul"') == 3000
    assert trace_text.startswith("backward trace: 3001 steps")


@settings(max_examples=60)
@given(hnp.arrays(st.sampled_from([np.float64, np.float32]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
                  elements=st.floats(width=32) | st.floats(-1e9, 1e9, width=32)
                  | st.floats(-0.0009765625, 0.0009765625, width=32)),
       st.sampled_from([3, 4]))
@example(np.array([2e6, 1.0], dtype=np.float32), 4)      # float32 switches to exponents at 1e6
@example(np.array([[-np.inf], [1.7e-7]]), 4)             # room for '-inf' beside '0.'
@example(np.array([np.nan, 0.25, 1.0]), 3)
def test_fast_array_text_is_numpys_text(a, precision):
    expected = " ".join(np.array2string(a, precision=precision, separator=", ",
                                        suppress_small=True).split())
    assert array_text(a, precision) == expected
