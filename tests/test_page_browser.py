"""tg.viz.html in a real browser: headless Chromium driven through chromedriver.

The driver is a few lines of W3C WebDriver over HTTP (urllib), so nothing else is installed and
nothing is downloaded. Skips, with the reason, only where Chromium or chromedriver is missing
(CI installs Debian's ``chromium`` and ``chromium-driver``).

``TINYGRAD_CE_UPDATE_DOCS=1 python -m pytest tests/test_page_browser.py`` also writes the
README's screenshot, docs/page.png.
"""

import base64
import json
import os
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.cli import tiny_step

BROWSER = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    BROWSER is None or DRIVER is None,
    reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--window-size=1200,760", "--hide-scrollbars"]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
KEYS = {"ArrowRight": "\ue014", "ArrowLeft": "\ue012", "Home": "\ue011", "End": "\ue010"}
PICTURE_STATS = """
var done = arguments[arguments.length - 1], img = new Image();
img.onload = function () {
  var c = document.createElement("canvas"), ctx = c.getContext("2d");
  c.width = img.width; c.height = img.height; ctx.drawImage(img, 0, 0);
  var d = ctx.getImageData(0, 0, c.width, c.height).data, seen = {}, n = 0, dark = 0;
  for (var i = 0; i < d.length; i += 4) {
    seen[d[i] + "," + d[i + 1] + "," + d[i + 2]] = 1;
    if (Math.min(d[i], d[i + 1], d[i + 2]) < 200) dark++;
  }
  done([c.width, c.height, Object.keys(seen).length, dark / (d.length / 4)]);
};
img.onerror = function () { done([0, 0, 0, 0]); };
img.src = "data:image/png;base64," + arguments[0];
"""
DOCS_PNG = pathlib.Path(__file__).resolve().parent.parent / "docs" / "page.png"


class WebDriver:
    """Just enough of the W3C WebDriver protocol: open a page, run a script, click, press keys,
    move the mouse, switch frames, read the console, take a screenshot."""

    def __init__(self, profile):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([DRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("chromedriver did not start within 30 s")
            time.sleep(0.05)
        caps = {"browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {"binary": BROWSER,
                                       "args": FLAGS + [f"--user-data-dir={profile}"]}}
        session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = f"/session/{session['sessionId']}"

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read()[:500]!r}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, self.session + path, body)

    def open(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css):
        return self.cmd("GET", f"/element/{self.find(css)}/text")

    def press(self, key):
        code = KEYS[key]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": code}, {"type": "keyUp", "value": code}]}]})

    def hover(self, css):
        self.cmd("POST", "/actions", {"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "duration": 0, "x": 0, "y": 0,
                         "origin": {ELEMENT: self.find(css)}}]}]})

    def frame(self, css=None):
        self.cmd("POST", "/frame", {"id": None if css is None else {ELEMENT: self.find(css)}})

    def console(self):
        """Browser console entries since the last call (level, message)."""
        return [(e["level"], e["message"]) for e in self.cmd("POST", "/se/log",
                                                               {"type": "browser"})]

    def screenshot(self):
        return base64.b64decode(self.cmd("GET", "/screenshot"))

    def picture_stats(self, png):
        """(width, height, distinct colours, fraction of dark pixels) of a PNG, decoded by
        the browser's image decoder on a canvas."""
        return self.cmd("POST", "/execute/async", {"args": [base64.b64encode(png).decode()],
                                                   "script": PICTURE_STATS})

    def quit(self):
        try:
            self.cmd("DELETE", "")
        finally:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = WebDriver(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def show(browser, page, path, step=None):
    """Write ``page`` to ``path``, open it (at ``step``), and clear the console log."""
    path.write_text(page)
    browser.open(path.as_uri() + ("" if step is None else f"#step={step}"))
    return path


def formatted(browser, array):
    """The page's spelling of each number of ``array``: JavaScript's toPrecision(4)."""
    values = np.asarray(array, dtype=np.float64).reshape(-1).tolist()
    return browser.js("return arguments[0].map(function (v) { return v.toPrecision(4); });",
                      values)


def errors(browser):
    return [m for level, m in browser.console() if level == "SEVERE"]


def test_stepping_shows_every_op_in_backward_order_with_the_traced_numbers(browser, tmp_path):
    loss, tr = tiny_step()            # the demo step, traced by tg.trace()
    show(browser, tg.viz.html(loss), tmp_path / "demo.html")
    assert "4 backward steps" in browser.text("#counter")
    for k, step in enumerate(tr.steps):
        if k % 2:
            browser.click("#next")
        else:
            browser.press("ArrowRight")
        panel = browser.text("#panel")
        assert panel.startswith(f"step {k}: {step.name} -> %"), panel
        assert f"backward step {k} (of 0..3): {step.name}" == browser.text("#counter")
        assert "cur" in browser.js(
            "return document.querySelector('.node.cur').id + ' ' + "
            "document.querySelector('.node.cur').getAttribute('class');")
        assert step.rule in panel
        for number in formatted(browser, step.received):
            assert number in panel, (k, number)
        for _, g, _ in step.passed:
            for number in formatted(browser, g):
                assert number in panel, (k, number)
    assert browser.js("return document.getElementById('next').disabled;") is True
    # y - t written out at the loss, and the way back
    browser.press("Home")
    browser.press("ArrowRight")
    panel = browser.text("#panel")
    fused = tr.steps[0].op.state["y"] - np.eye(2)[tr.steps[0].op.state["t"]]
    assert all(n in panel for n in formatted(browser, fused))
    browser.press("ArrowLeft")
    assert "forward pass done" in browser.text("#counter")
    assert errors(browser) == []


def test_accumulation_at_a_shared_input_is_shown_as_it_happens(browser, tmp_path):
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = tg.exp(x)
    h.name = "h"
    y = (h * h + h).sum()             # h feeds add and mul (twice): its gradient is summed
    with tg.trace() as tr:
        y.backward(retain_graph=True)
    show(browser, tg.viz.html(y), tmp_path / "shared.html")
    browser.press("End")
    browser.press("ArrowLeft")        # the mul step: h receives its second and third parts
    panel = browser.text("#panel")
    assert panel.startswith("step 2: mul")
    assert "(+= accumulated) += " in panel and "total now" in panel
    total = tr.gradient_of(h)
    assert all(n in panel for n in formatted(browser, total))
    np.testing.assert_allclose(total, 2 * h.data + 1)
    browser.press("ArrowLeft")        # the add step: first arrival, no +=
    assert "+=" not in browser.text("#panel")
    assert errors(browser) == []


def test_hover_shows_value_shape_and_gradient_so_far(browser, tmp_path):
    loss, tr = tiny_step()
    show(browser, tg.viz.html(loss), tmp_path / "hover.html", step=3)
    browser.hover("#n2")              # W of the first affine, %2
    tip = browser.text("#tip")
    W = tr.steps[3].inputs[1]
    assert "shape (3, 4), float64" in tip and "leaf, requires grad" in tip
    assert all(n in tip for n in formatted(browser, W.data))
    assert all(n in tip for n in formatted(browser, tr.gradient_of(W)))
    browser.press("Home")
    browser.hover("#n0")
    browser.hover("#n2")
    assert "none yet" in browser.text("#tip")
    assert errors(browser) == []


def test_large_arrays_are_summarised(browser, tmp_path):
    x = tg.Tensor(np.arange(60.0).reshape(3, 20) / 7, requires_grad=True, name="x")
    show(browser, tg.viz.html((x * x).sum()), tmp_path / "large.html", step=1)
    panel = browser.text("#panel")
    assert "shape (3, 20), norm " + formatted(browser, np.linalg.norm(2 * x.data))[0] in panel
    assert "first 0.000, 0.2857, 0.5714" in panel
    assert errors(browser) == []


def test_a_script_error_is_caught_by_the_console_check(browser, tmp_path):
    page = tg.viz.html(tiny_step()[0]).replace("go(k);", "go(k); undefinedFunction();")
    show(browser, page, tmp_path / "broken.html")
    assert any("undefinedFunction" in m for m in errors(browser))


def test_inline_in_jupyter_the_page_runs_in_its_iframe(browser, tmp_path):
    page = tg.viz.html(tiny_step()[0])
    show(browser, f"<!DOCTYPE html><html><body>{page._repr_html_()}</body></html>",
         tmp_path / "notebook.html")
    browser.frame("iframe")
    browser.click("#next")
    assert browser.text("#panel").startswith("step 0: softmax_with_loss")
    browser.frame(None)
    assert errors(browser) == []


def test_screenshot_is_not_blank(browser, tmp_path):
    loss, _ = tiny_step()
    browser.cmd("POST", "/window/rect", {"width": 960, "height": 640})
    try:
        show(browser, tg.viz.html(loss), tmp_path / "shot.html", step=1)
        png = browser.screenshot()
    finally:
        browser.cmd("POST", "/window/rect", {"width": 1200, "height": 760})
    (tmp_path / "page.png").write_bytes(png)
    width, height, colours, dark = browser.picture_stats(png)
    assert width > 600 and height > 300
    assert colours > 20 and dark > 0.01, (colours, dark)
    assert errors(browser) == []
    if os.environ.get("TINYGRAD_CE_UPDATE_DOCS"):
        DOCS_PNG.write_bytes(png)


def test_the_blank_check_fails_on_a_blank_page(browser, tmp_path):
    show(browser, "<!DOCTYPE html><html><body></body></html>", tmp_path / "blank.html")
    width, height, colours, dark = browser.picture_stats(browser.screenshot())
    assert colours <= 2 and dark == 0


def test_a_wide_graph_scrolls_to_the_current_op(browser, tmp_path):
    x = tg.Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(12):
        y = tg.tanh(y) * 1.5
    show(browser, tg.viz.html(y.sum()), tmp_path / "wide.html")
    inside = ("var w = document.getElementById('wrap').getBoundingClientRect(), "
              "b = document.querySelector('.node.cur').getBoundingClientRect(); "
              "return b.left >= w.left && b.right <= w.right;")
    browser.press("ArrowRight")
    assert browser.js("return document.getElementById('wrap').scrollLeft;") > 0
    assert browser.js(inside)
    browser.press("End")
    assert browser.js(inside)
    assert browser.js("return window.scrollX;") == 0
    assert errors(browser) == []
