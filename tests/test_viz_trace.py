"""The backward trace and the graph pictures."""

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce import viz
from tinygrad_ce.cli import main, tiny_step


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
