"""tg.viz.html without a browser: what the page holds (the browser tests drive it)."""

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.cli import main, tiny_step
from tinygrad_ce.page import layout


def data_of(page):
    """The numbers embedded in the page's script."""
    text = re.search(r"var D = (\{.*?\});\n", page, flags=re.S).group(1)
    return json.loads(text.replace("<\\/", "</"))


def svg_of(page):
    return ET.fromstring(re.search(r"<svg.*?</svg>", page, flags=re.S).group(0))


def test_page_is_self_contained_and_holds_the_traced_numbers(tmp_path):
    loss, tr = tiny_step()
    page = tg.viz.html(loss, tmp_path / "p.html")
    assert (tmp_path / "p.html").read_text() == page
    assert not re.search(r"(src|href)\s*=|<link|@import|fetch\(|XMLHttpRequest", page)
    data = data_of(page)
    assert [s["op"] for s in data["steps"]] == [s.name for s in tr.steps]
    for step, s in zip(data["steps"], tr.steps):
        assert step["rule"] == s.rule
        np.testing.assert_array_equal(np.reshape(step["received"]["values"], s.received.shape),
                                      s.received)
        for p, (_, g, _) in zip(step["passed"], s.passed):
            np.testing.assert_array_equal(np.reshape(p["grad"]["values"], g.shape), g)
    assert loss.grad is None and tr.steps[-1].inputs[1].grad.shape == (3, 4)  # from tiny_step


def test_grads_are_not_touched_and_a_released_graph_is_a_clear_error():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    tg.viz.html(y)
    assert x.grad is None
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        tg.viz.html(y)
    with pytest.raises(ValueError, match="does not require grad"):
        tg.viz.html(tg.Tensor([1.0]))
    with pytest.raises(TypeError, match="expected a Tensor"):
        tg.viz.html(np.ones(2))


def test_a_vector_output_is_seeded_with_ones_and_odd_values_stay_valid_script():
    x = tg.Tensor([0.0, 1.0, np.inf], requires_grad=True, name="</script><b>x")
    page = tg.viz.html(tg.exp(x) * 2)
    assert page.count("</script>") == 1       # the name cannot end the script early
    assert "&lt;/script&gt;" in page          # the name is escaped in the SVG too
    assert "Infinity" in page                 # JavaScript literals, not invalid JSON
    first = re.search(r'"received": (\{.*?\})', page).group(1)
    assert json.loads(first)["values"] == [1.0, 1.0, 1.0]


def test_large_arrays_are_summarised_with_norm_and_first_entries():
    x = tg.Tensor(np.arange(40.0).reshape(2, 20), requires_grad=True)
    step = data_of(tg.viz.html((x * 3).sum()))["steps"][1]
    g = step["passed"][0]["grad"]
    assert "values" not in g and g["shape"] == [2, 20] and g["head"] == [3.0] * 6
    assert g["norm"] == pytest.approx(np.sqrt(40 * 9))


def test_jupyter_display_is_an_iframe_holding_the_whole_page():
    page = tg.viz.html(tiny_step()[0])
    shown = page._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;script&gt;" in shown
    assert isinstance(page, str)


def test_svg_is_valid_with_one_box_per_tensor_and_no_overlap():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 5)))
    Ws = [tg.Tensor(rng.standard_normal((5, 5)), requires_grad=True) for _ in range(4)]
    h = x
    for W in Ws:
        h = tg.tanh(h @ W + 0.1)
    loss = tg.cross_entropy(h, np.array([0, 1, 2, 3])) + sum((W * W).sum() for W in Ws)
    page = tg.viz.html(loss)
    svg = svg_of(page)
    rects = [r.attrib for r in svg.iter("{http://www.w3.org/2000/svg}rect")]
    boxes = {(float(r["x"]), float(r["y"])) for r in rects}
    assert len(rects) == len(data_of(page)["nodes"]) == len(boxes) >= 30
    width, height = float(rects[0]["width"]), float(rects[0]["height"])
    for a in boxes:
        for b in boxes:
            assert a == b or abs(a[0] - b[0]) >= width or abs(a[1] - b[1]) >= height


def test_layout_puts_every_op_right_of_its_inputs_and_routes_long_edges():
    from tinygrad_ce.page import graph_nodes
    h = tg.exp(tg.Tensor([1.0, 2.0], requires_grad=True))
    for y in (tiny_step()[0], (h * h + h).sum()):
        col, _, inputs, chains = layout(graph_nodes(y))
        assert all(col[j] < col[i] for i, ins in enumerate(inputs) for j in ins)
        for (j, i), chain in chains.items():     # one placeholder per column an edge crosses
            assert [col[d] for d in chain] == list(range(col[j] + 1, col[i]))
    assert sorted(len(c) for c in chains.values()) == [0, 0, 0, 0, 1]   # h -> add skips mul


def test_cli_trace_html_writes_the_demo_page(tmp_path, capsys):
    path = tmp_path / "trace.html"
    assert main(["trace", "--html", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    assert [s["op"] for s in data_of(path.read_text())["steps"]] == [
        "softmax_with_loss", "affine", "sigmoid", "affine"]


def test_cli_trace_html_refuses_a_bad_path_before_work(tmp_path, capsys):
    assert main(["trace", "--html", str(tmp_path / "no" / "p.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
