"""``tg.exercise(y)``: derive each gradient of a backward pass yourself and have it marked.

    ex = tg.exercise(loss)               # the tape entries of loss, in backward order
    print(ex.task(0))                    # step 0: what it received, what to derive
    ex.submit(0, 0, lambda gy, x, t, out: ...)   # or an array
    print(ex)                            # the score sheet, ending with the score n/N

An answer is the gradient one tape entry passes to one of its inputs: the vector-Jacobian
product of that op with the gradient ``gy`` it received (before it is added to what other
consumers of the input send). It is compared with autograd's, which is itself checked against
central differences of the op; an answer given as a function is also checked at a random
``gy`` against central differences, so a formula that forgets ``gy`` does not pass.
"""

import copy
import inspect

import numpy as np

from .layers.base import LayerOp
from .page import traced_backward

EPS = 1e-6          # central differences in float64: error about 1e-10 for smooth ops


class Item:
    """One gradient to derive: what entry ``step`` passes to its input at ``position``."""

    def __init__(self, step, position, label, right, numeric):
        self.step, self.position, self.label = step, position, label
        self.right, self.numeric = right, numeric
        self.verdict = Verdict("pending", "pending")


class Verdict:
    """``word`` is exact, close, wrong, wrong shape or pending; ``text`` says it in full;
    ``bool(verdict)`` is True for exact and close."""

    def __init__(self, word, text):
        self.word, self.text = word, text

    def __bool__(self):
        return self.word in ("exact", "close")

    def __repr__(self):
        return self.text


def judge(given, right, rtol, atol, where=""):
    """exact (equal up to rounding), close (within rtol, atol: the max difference), wrong (the
    worst element: largest absolute difference, given and right values) or wrong shape."""
    given = np.asarray(given)
    if given.shape != right.shape:
        return Verdict("wrong shape", f"wrong shape (given {given.shape}, expected "
                                      f"{right.shape}){where}")
    if given.dtype.kind not in "fiub":
        return Verdict("wrong", f"wrong (given an array of {given.dtype}, expected numbers)")
    diff = np.abs(given.astype(np.float64) - right)
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    largest = float(diff[worst]) if diff.size else 0.0
    if largest <= 1e-12 * max(1.0, float(np.max(np.abs(right), initial=0.0))):
        return Verdict("exact", "exact")
    if np.all(diff <= atol + rtol * np.abs(right)):
        return Verdict("close", f"close (max difference {largest:.2g}){where}")
    index = [int(i) for i in worst] if len(worst) != 1 else int(worst[0])
    return Verdict("wrong", f"wrong (worst element {index}: given {float(given[worst]):.6g}, "
                            f"right {float(right[worst]):.6g}){where}")


def run_op(op, arrays):
    """The entry's forward on new arrays, leaving the op, its layer and the graph untouched."""
    fresh = copy.copy(op)       # forward may store masks or indices on the op
    if isinstance(op, LayerOp):
        fresh.layer = layer = copy.deepcopy(op.layer)
        if not layer.is_loss:   # a layer reads its parameters from itself, not its arguments
            for p, a in zip(layer.params(), arrays[1:]):
                p._data = a
    return fresh.forward(*arrays)


def numeric_vjp(op, arrays, position, gy):
    """Central differences of sum(op(arrays) * gy) with respect to arrays[position]."""
    arrays = [np.array(a, dtype=np.float64) if a.dtype.kind == "f" else a for a in arrays]
    x, gy = arrays[position], np.asarray(gy, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        orig = x[i]
        x[i] = orig + EPS
        up = float(np.sum(run_op(op, arrays) * gy))
        x[i] = orig - EPS
        down = float(np.sum(run_op(op, arrays) * gy))
        x[i] = orig
        g[i] = (up - down) / (2 * EPS)
    return g


class Exercise:
    """The tape entries of ``y`` in backward order, each with the gradients to derive.

    The answer for input i of step k is the vector-Jacobian product g_i = J_i^T gy: for
    out = f(x_0, x_1, ...), g_i = d sum(out * gy) / d x_i, with the gy that step received
    (a ``y`` of many elements is seeded with ones). It is marked exact when
    max |given - right| <= 1e-12 max(1, max |right|) (rounding), close when
    |given - right| <= atol + rtol |right| everywhere, and wrong otherwise.

    ``steps[k]`` is the k-th backward step (a ``tg.trace`` step: ``name``, ``inputs``,
    ``output``, ``received``); ``items`` the gradients to derive, one per (step, input) that
    gets one. ``seed`` draws the random gy that function answers are also tried at.
    """

    def __init__(self, y, *, rtol=1e-5, atol=1e-8, seed=0, title=None):
        self.trace = traced_backward(y, "exercise")
        self.steps, self.rtol, self.atol = self.trace.steps, rtol, atol
        self.rng, self.title = np.random.default_rng(seed), title
        seen = {id(t): t for s in self.steps for t in (s.output, *s.inputs)}
        order = sorted(seen.values(), key=lambda t: t._seq)
        self.label = {id(t): f"%{i}" + (f" {t.name}" if t.name else "")
                      for i, t in enumerate(order)}
        self.items = []
        for k, s in enumerate(self.steps):
            arrays = [x.data for x in s.inputs]
            for position, (x, g) in zip(positions(s), ((x, g) for x, g, _ in s.passed)):
                numeric = numeric_vjp(s.op, arrays, position, s.received)
                self.items.append(Item(k, position, self.label[id(x)], np.array(g), numeric))

    # ---- what the learner sees -----------------------------------------------------------
    def arguments(self, step):
        """The names a function answer for ``step`` gets: gy, the inputs, out."""
        return ("gy", *input_names(self.steps[step].op), "out")

    def task(self, step):
        """What step ``step`` received and what to derive, with the values it needs."""
        s, names = self.steps[step], input_names(self.steps[step].op)
        args = ", ".join(self.label[id(x)] for x in s.inputs)
        lines = [f"step {step}: {self.label[id(s.output)]} = {s.name}({args})",
                 f"  received gy {s.received.shape}: {short(s.received)}"]
        for name, x in zip(names, s.inputs):
            lines.append(f"  {name} = {self.label[id(x)]} {x.shape}: {short(x.data)}")
        lines.append(f"  out = {self.label[id(s.output)]} {s.output.shape}: "
                     f"{short(s.output.data)}")
        for item in self.items_of(step):
            lines.append(f"  derive the gradient for {names[item.position]} "
                         f"({item.label}, shape {item.right.shape})")
        lines.append(f"  a function answer is called as f({', '.join(self.arguments(step))})")
        return "\n".join(lines)

    def items_of(self, step):
        return [i for i in self.items if i.step == step]

    # ---- answers -------------------------------------------------------------------------
    def item(self, step, input):
        """The item for ``input`` (a Tensor or its position) of backward step ``step``."""
        if not isinstance(step, (int, np.integer)) or not 0 <= step < len(self.steps):
            raise ValueError(f"exercise: step must be an int in [0, {len(self.steps) - 1}] "
                             f"(backward order), got {step!r}")
        s = self.steps[step]
        if isinstance(input, (int, np.integer)):
            position = int(input)
        else:
            found = [i for i, x in enumerate(s.inputs) if x is input]
            if not found:
                raise ValueError(f"exercise: that Tensor is not an input of step {step} "
                                 f"({s.name}); its inputs are "
                                 f"{', '.join(self.label[id(x)] for x in s.inputs)}")
            position = found[0]
        for item in self.items_of(step):
            if item.position == position:
                return item
        have = [f"{i.position} ({i.label})" for i in self.items_of(step)]
        raise ValueError(f"exercise: step {step} ({s.name}) passes no gradient to input "
                         f"{input!r}; the inputs with one are {', '.join(have) or 'none'}")

    def submit(self, step, input, answer):
        """Mark ``answer`` for what backward step ``step`` passes to ``input`` (the input
        Tensor, at its first position, or the position). ``answer`` is an array, or a
        function called as ``answer(gy, *inputs, out)`` with copies of the step's arrays.
        Returns the Verdict."""
        item, s = self.item(step, input), self.steps[step]
        if callable(answer):
            verdict = judge(self._call(answer, s, s.received), item.right, self.rtol,
                            self.atol)
            if verdict:
                second = self._at_random_gy(answer, s, item)
                verdict = verdict if second is None else second
        else:
            verdict = judge(answer, item.right, self.rtol, self.atol)
        item.verdict = verdict
        return verdict

    def _call(self, answer, s, gy):
        arrays = [np.array(gy)] + [np.array(x.data) for x in s.inputs] + [np.array(s.output.data)]
        return answer(*arrays)

    def _at_random_gy(self, answer, s, item):
        """None if the function also matches central differences at a random gy."""
        gy = self.rng.standard_normal(np.shape(s.received))
        numeric = numeric_vjp(s.op, [x.data for x in s.inputs], item.position, gy)
        verdict = judge(self._call(answer, s, gy), numeric, max(self.rtol, 1e-5),
                        max(self.atol, 1e-7), where=" at a random gy: does it scale with gy?")
        return None if verdict else verdict

    def verdict(self, step, input):
        """The current Verdict for ``input`` of ``step`` (pending until submitted)."""
        return self.item(step, input).verdict

    @property
    def score(self):
        """(right answers, gradients to derive)."""
        return sum(bool(i.verdict) for i in self.items), len(self.items)

    def __bool__(self):
        right, total = self.score
        return right == total

    def check(self):
        """The largest difference between autograd and central differences over all items."""
        return max((float(np.max(np.abs(i.right - i.numeric), initial=0.0))
                    for i in self.items), default=0.0)

    def _checked(self):
        worst = self.check()
        if worst <= 1e-6:
            return f"checked against autograd, which agrees with central differences to {worst:.1g}"
        steps = sorted({i.step for i in self.items if np.max(np.abs(i.right - i.numeric),
                                                              initial=0.0) > 1e-6})
        return (f"checked against autograd; central differences differ from it by up to "
                f"{worst:.2g} at step {', '.join(map(str, steps))} (a kink, or a random layer "
                "such as Dropout)")

    def __str__(self):
        rows = [("step", "entry", "input", "shape", "verdict")]
        for k, s in enumerate(self.steps):
            for n, item in enumerate(self.items_of(k)):
                head = (str(k), f"{s.name} -> {self.label[id(s.output)]}") if n == 0 else ("", "")
                rows.append(head + (item.label, str(item.right.shape), item.verdict.text))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        title = self.title or "backprop exercise"
        lines = [f"{title}: {len(self.steps)} entries, {len(self.items)} gradients to derive "
                 "(backward order)"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4]
                  for r in rows]
        lines.append(self._checked())
        right, total = self.score
        lines.append(f"score: {right}/{total}")
        return "\n".join(lines)


def positions(step):
    """The input positions the trace's ``passed`` list refers to, in order."""
    out, k = [], 0
    for i, x in enumerate(step.inputs):
        if k < len(step.passed) and step.passed[k][0] is x:
            out.append(i)
            k += 1
    return out


def input_names(op):
    """Names for an entry's inputs: x, then a layer's parameter names (or t for a loss);
    for a primitive op, the names of its forward's arguments."""
    if isinstance(op, LayerOp):
        layer = op.layer
        if layer.is_loss:
            return ("x", "t")
        params = layer.params()
        return ("x", *[k for p in params for k, v in vars(layer).items() if v is p])
    parameters = inspect.signature(op.forward).parameters.values()
    names = [p.name for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]
    if len(names) == len(op.inputs):
        return tuple(names)
    return tuple(f"x{i}" for i in range(len(op.inputs)))


def short(a):
    a = np.asarray(a)
    if a.size <= 12:
        return " ".join(np.array2string(a, precision=4, separator=", ").split())
    return f"shape {a.shape}, norm {np.linalg.norm(a.astype(np.float64)):.4g}"


def exercise(y, **kwargs):
    """Backprop exercises on the graph of ``y``: see ``Exercise``."""
    return Exercise(y, **kwargs)


TWO_LAYER_NET = """\
The two-layer net: h = sigmoid(x @ W1 + b1), s = h @ W2 + b2, and the loss is the mean over
the N rows of -log(softmax(s)[t]) (one SoftmaxWithLoss entry). Backward runs newest entry
first, and each step names its inputs as its layer does (x, W, b; x, t for the loss). Step 0
asks for d loss / d s: write y = softmax(s) with t as one-hot rows, and show that it is
gy * (y - t) / N. Then the second affine (for h, W2, b2), the sigmoid (for x @ W1 + b1) and
the first affine (for W1 and b1; the data x gets none)."""


def two_layer_net(seed=0, batch=2):
    """The exercise set of ``tinygrad-ce exercise``: one step of Affine(3, 4) -> Sigmoid ->
    Affine(4, 2) -> SoftmaxWithLoss on ``batch`` rows (the net of ``tinygrad-ce trace``), with
    the learner deriving y - t at the loss. ``ex.intro`` says what to do."""
    from . import Affine, Sequential, Sigmoid, SoftmaxWithLoss, Tensor
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, 3)).round(2), name="x")
    t = Tensor(rng.integers(0, 2, batch), name="t")
    net = Sequential(Affine(3, 4, rng=rng), Sigmoid(), Affine(4, 2, rng=rng))
    loss = SoftmaxWithLoss()(net(x), t)
    loss.name = "loss"
    ex = Exercise(loss, title="two-layer net")
    ex.intro = TWO_LAYER_NET
    return ex


HELPERS = {
    "np": np,
    "softmax": lambda s, axis=-1: np.exp(s - np.max(s, axis=axis, keepdims=True)) / np.sum(
        np.exp(s - np.max(s, axis=axis, keepdims=True)), axis=axis, keepdims=True),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "onehot": lambda t, k: np.eye(k)[np.asarray(t)],
}


def session(ex, read=None, write=print):
    """Ask for every gradient of ``ex`` at the terminal, in backward order, and mark each.

    An answer is a NumPy expression in the step's names (``gy``, the inputs, ``out``) and the
    helpers ``np``, ``softmax``, ``sigmoid``, ``onehot(t, k)``. Enter skips, ``?`` shows the
    op's rule, ``q`` stops; the end of input stops too. Ends with the score sheet.
    ``read`` defaults to ``input``."""
    read = read or input
    write(getattr(ex, "intro", "") + "\nType a NumPy expression; Enter skips, ? shows the "
          "rule, q stops.\n")
    try:
        for k, step in enumerate(ex.steps):
            write(ex.task(k))
            names = ex.arguments(k)
            values = [step.received, *[x.data for x in step.inputs], step.output.data]
            for item in ex.items_of(k):
                if not ask(ex, k, item, dict(HELPERS, **dict(zip(names, values))), read, write):
                    raise StopIteration
            write("")
    except (EOFError, StopIteration):
        write("")
    write(str(ex))
    return ex


def ask(ex, k, item, namespace, read, write):
    """Ask for one item until it is right or skipped; False to stop the session."""
    name = ex.arguments(k)[1 + item.position]
    while True:
        text = read(f"gradient for {name} ({item.label}, {item.right.shape})> ").strip()
        if text in ("q", "quit", "exit"):
            return False
        if text == "":
            return True
        if text in ("?", "hint"):
            write(f"  rule: {ex.steps[k].rule or 'none given'}")
            continue
        try:
            value = eval(text, {"__builtins__": __builtins__}, dict(namespace))  # noqa: S307
        except Exception as e:   # the learner's own expression: say what went wrong, ask again
            write(f"  could not evaluate it: {type(e).__name__}: {e}")
            continue
        verdict = ex.submit(k, item.position, value)
        write(f"  {verdict.text}" + ("" if verdict else "  (try again, or Enter to move on)"))
        if verdict:
            return True
