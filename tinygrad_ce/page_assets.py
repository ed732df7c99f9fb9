"""The step-through page's HTML skeleton, style sheet and script (filled in by ``page.py``).

The script reads one object, ``D``: ``nodes`` (label, kind, op, shape, dtype, value), ``steps``
in backward order (node, op, rule, received, passed: [{to, grad, acc, total}], none, fused)
and ``y``. Arrays arrive summarised (``page.summary``); every number is shown with
``toPrecision(4)``. Text goes in through ``textContent`` only, never as HTML.
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$TITLE</title>
<style>$CSS</style></head>
<body>
<header>
  <button id="prev" title="previous step (left arrow)">&#9664; previous</button>
  <button id="next" title="next step (right arrow)">next &#9654;</button>
  <span id="counter"></span>
  <span class="legend"><span class="sw cur"></span>current op <span class="sw recv"></span>gets
  a gradient now <span class="sw done"></span>gradient arrived</span>
</header>
<div id="wrap">$SVG</div>
<section id="panel"></section>
<div id="tip" hidden></div>
<script>$JS</script>
</body></html>
"""

CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 0; color: #202124; background: #fff; }
header { position: sticky; top: 0; background: #f8f9fa; border-bottom: 1px solid #dadce0;
         padding: 8px 12px; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
button { font: inherit; padding: 4px 12px; cursor: pointer; }
#counter { font-weight: 600; }
.legend { color: #5f6368; font-size: 12px; margin-left: auto; }
.sw { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px;
      vertical-align: -2px; border: 2px solid; border-radius: 3px; }
.sw.cur { background: #fde293; border-color: #e37400; }
.sw.recv { border-color: #d93025; } .sw.done { border-color: #188038; }
#wrap { overflow: auto; max-height: 62vh; padding: 8px; border-bottom: 1px solid #dadce0; }
.edge { fill: none; stroke: #9aa0a6; stroke-width: 1.4; }
.edge.flow { stroke: #d93025; stroke-width: 3; stroke-dasharray: 7 4; }
.node rect { stroke: #5f6368; stroke-width: 1.2; }
.node.op rect { fill: #fef7e0; } .node.leaf rect { fill: #e8f0fe; }
.node.const rect { fill: #f1f3f4; stroke-dasharray: 3 2; }
.node text { font-size: 12px; text-anchor: middle; fill: #202124; pointer-events: none; }
.node text.top { font-weight: 600; }
.node.done rect { stroke: #188038; stroke-width: 2.5; }
.node.recv rect { stroke: #d93025; stroke-width: 3; }
.node.cur rect { fill: #fde293; stroke: #e37400; stroke-width: 3.5; }
.node { cursor: default; }
#panel { padding: 10px 16px; }
#panel h2 { font-size: 16px; margin: 4px 0 8px; }
#panel .row { margin: 4px 0; }
#panel .k { color: #5f6368; display: inline-block; min-width: 9em; }
#panel code, #tip code { font: 13px/1.35 ui-monospace, Menlo, Consolas, monospace;
                         white-space: pre-wrap; }
#panel .acc { color: #d93025; font-weight: 700; }
#tip { position: fixed; max-width: 520px; background: #202124; color: #fff; padding: 8px 10px;
       border-radius: 6px; font-size: 13px; pointer-events: none; z-index: 10; }
#tip code { color: #fff; }
"""

JS = r"""
(function () {
  "use strict";
  var D = $DATA;
  var N = D.steps.length, k = -1;
  var hash = /step=(\d+)/.exec(location.hash || "");
  if (hash) k = Math.min(N - 1, parseInt(hash[1], 10));

  function num(v, integer) {
    if (typeof v !== "number") return String(v);
    if (integer || !isFinite(v)) return String(v);
    return v.toPrecision(4);
  }
  function shape(s) { return "(" + s.join(", ") + (s.length === 1 ? ",)" : ")"); }
  function nest(vals, shp, integer) {
    if (shp.length === 0) return num(vals[0], integer);
    var n = shp[0], rest = shp.slice(1), size = vals.length / Math.max(n, 1), parts = [];
    for (var i = 0; i < n; i++) {
      parts.push(nest(vals.slice(i * size, (i + 1) * size), rest, integer));
    }
    return "[" + parts.join(", ") + "]";
  }
  function arr(s) {
    if (s.values) return nest(s.values, s.shape, s.int);
    return "shape " + shape(s.shape) + ", norm " + num(s.norm) + ", min " + num(s.min, s.int) +
      ", max " + num(s.max, s.int) + ", first " +
      s.head.map(function (v) { return num(v, s.int); }).join(", ") + ", ...";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function row(parent, key, value, extra) {
    var r = el("div", "row");
    r.appendChild(el("span", "k", key));
    if (extra) r.appendChild(extra);
    r.appendChild(el("code", null, value));
    parent.appendChild(r);
    return r;
  }
  function name(i) { return D.nodes[i].label; }

  function gradSoFar(i, upto) {   // the total gradient node i has received after step upto
    var g = null;
    for (var s = 0; s <= upto; s++) {
      D.steps[s].passed.forEach(function (p) { if (p.to === i) g = p.total; });
    }
    if (g === null && i === D.y && upto >= 0) g = D.steps[0].received;
    return g;
  }

  function highlight() {
    var nodes = document.querySelectorAll(".node"), edges = document.querySelectorAll(".edge");
    nodes.forEach(function (n) { n.classList.remove("cur", "recv", "done"); });
    edges.forEach(function (e) { e.classList.remove("flow"); });
    for (var s = 0; s <= k; s++) {
      D.steps[s].passed.forEach(function (p) {
        document.getElementById("n" + p.to).classList.add("done");
      });
    }
    if (k < 0) return;
    var st = D.steps[k];
    document.getElementById("n" + D.y).classList.add("done");
    document.getElementById("n" + st.node).classList.add("cur");
    st.passed.forEach(function (p) {
      document.getElementById("n" + p.to).classList.add("recv");
      var e = document.getElementById("e" + p.to + "_" + st.node);
      if (e) e.classList.add("flow");
    });
    reveal(document.getElementById("n" + st.node));
  }

  function reveal(node) {   // scroll the graph, never the page around it (a notebook)
    var wrap = document.getElementById("wrap"), w = wrap.getBoundingClientRect(),
        b = node.getBoundingClientRect();
    if (b.left < w.left) wrap.scrollLeft -= w.left - b.left + 20;
    else if (b.right > w.right) wrap.scrollLeft += b.right - w.right + 20;
    if (b.top < w.top) wrap.scrollTop -= w.top - b.top + 20;
    else if (b.bottom > w.bottom) wrap.scrollTop += b.bottom - w.bottom + 20;
  }

  function panel() {
    var P = document.getElementById("panel");
    P.textContent = "";
    document.getElementById("counter").textContent = k < 0 ?
      "forward pass done: " + N + " backward steps" :
      "backward step " + k + " (of 0.." + (N - 1) + "): " + D.steps[k].op;
    document.getElementById("prev").disabled = k < 0;
    document.getElementById("next").disabled = k >= N - 1;
    if (k < 0) {
      P.appendChild(el("h2", null, "Forward pass done; backward goes newest op first"));
      row(P, "output", name(D.y) + " " + shape(D.nodes[D.y].shape) + " = " +
          arr(D.nodes[D.y].value));
      P.appendChild(el("p", null, "Press next or the right arrow to take the first backward " +
        "step. Hover a node to see its value and its gradient so far."));
      return;
    }
    var st = D.steps[k], out = D.nodes[st.node];
    P.appendChild(el("h2", "title", "step " + k + ": " + st.op + " -> " + out.label));
    if (st.rule) row(P, "rule", st.rule);
    if (st.fused) row(P, "fused", "y - t = " + arr(st.fused));
    row(P, "received gy", shape(out.shape) + " " + arr(st.received));
    P.appendChild(el("div", "row k", "passed on:"));
    st.passed.forEach(function (p) {
      var n = D.nodes[p.to];
      var r = row(P, "  -> " + n.label + " " + shape(n.shape),
                  (p.acc ? "+= " : "") + arr(p.grad), null);
      r.className = "row passed";
      if (p.acc) {
        r.insertBefore(el("span", "acc", "(+= accumulated) "), r.lastChild);
        row(P, "     total now", arr(p.total)).className = "row total";
      }
    });
    st.none.forEach(function (i) {
      row(P, "  -> " + name(i), "no gradient (" + (D.nodes[i].kind === "const" ?
          "a constant" : "not differentiable here") + ")");
    });
  }

  function go(to) {
    k = Math.max(-1, Math.min(N - 1, to));
    highlight();
    panel();
  }

  var tip = document.getElementById("tip");
  document.querySelectorAll(".node").forEach(function (g) {
    g.addEventListener("mouseenter", function (ev) {
      var i = parseInt(g.getAttribute("data-node"), 10), n = D.nodes[i];
      tip.textContent = "";
      tip.appendChild(el("div", null, n.label + (n.op ? " = " + n.op + "(...)" : " (" +
        (n.kind === "leaf" ? "leaf, requires grad" : "constant") + ")")));
      tip.appendChild(el("div", null, "shape " + shape(n.shape) + ", " + n.dtype));
      var v = el("div", null, "value "); v.appendChild(el("code", null, arr(n.value)));
      tip.appendChild(v);
      var g2 = gradSoFar(i, k), gr = el("div", null, "grad so far ");
      gr.appendChild(el("code", null, g2 ? arr(g2) : "none yet"));
      tip.appendChild(gr);
      tip.hidden = false;
      move(ev);
    });
    g.addEventListener("mousemove", move);
    g.addEventListener("mouseleave", function () { tip.hidden = true; });
  });
  function move(ev) {
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 540) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  }

  document.getElementById("prev").addEventListener("click", function () { go(k - 1); });
  document.getElementById("next").addEventListener("click", function () { go(k + 1); });
  document.addEventListener("keydown", function (ev) {
    var to = {ArrowRight: k + 1, ArrowLeft: k - 1, Home: -1, End: N - 1}[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    go(to);
  });
  go(k);
})();
"""
