"""The backward engine: grad mode, anomaly mode, the walk over the tape, and unbroadcasting.

It works on any node with ``_data``, ``requires_grad``, ``_op`` (the op that made it, or None
for a leaf) and ``_seq`` (its creation number). Creation order is a valid backward order, so the
walk sorts a node's ancestors by ``_seq`` (collected with an explicit stack, never recursion)
and visits them newest first: when a node is reached, every consumer has already sent its
gradient.
"""

import contextlib
import functools
import operator
import traceback

import numpy as np


class _State:
    grad_enabled = True
    anomaly = False
    tracer = None     # set by tg.trace(): called once per backward step
    recorder = None   # set by tg.compile while it records a step: told about each event


STATE = _State()


class _GradMode(contextlib.ContextDecorator):
    enabled = True

    def __enter__(self):
        self.prev, STATE.grad_enabled = STATE.grad_enabled, self.enabled

    def __exit__(self, *exc):
        STATE.grad_enabled = self.prev


class no_grad(_GradMode):
    """Context manager and decorator: nothing is recorded on the tape inside it."""
    enabled = False


class enable_grad(_GradMode):
    """Context manager and decorator: recording is on inside it, even within no_grad."""
    enabled = True


class detect_anomaly(contextlib.ContextDecorator):
    """Inside it, a nan or inf made by any op, forward or backward, raises FloatingPointError
    naming the op and the line of user code that created it."""

    def __enter__(self):
        self.prev, STATE.anomaly = STATE.anomaly, True

    def __exit__(self, *exc):
        STATE.anomaly = self.prev


def replayable(method):
    """Mark a method whose effect tg.compile replays by calling it again (an optimizer's
    ``step``, ``zero_grad``): while a step is recorded, the recorder is told of the call."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if STATE.recorder is None:
            return method(self, *args, **kwargs)
        return STATE.recorder.call(method, self, args, kwargs)
    return wrapper


def creation_site():
    """The innermost line of user code (outside this package) on the current stack."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "tinygrad_ce" not in frame.filename.replace("\\", "/").split("/")[-2:-1]:
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return "unknown"


def check_finite(op, phase, arrays):
    """Under detect_anomaly: raise if any array holds nan or inf."""
    for i, a in enumerate(arrays):
        if a is not None and not np.all(np.isfinite(a)):
            what = "output" if phase == "forward" else f"gradient for input {i}"
            raise FloatingPointError(
                f"detect_anomaly: {op.name} produced nan/inf in its {phase} {what} "
                f"(op created at {getattr(op, '_where', 'unknown')})")


def unbroadcast(g, shape, op):
    """Sum a gradient over the axes that broadcasting added or stretched, back to ``shape``."""
    extra = g.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"{op.name}: backward gave a gradient of shape {g.shape} for an input "
                         f"of shape {shape}; an op's backward must return its input's shape")
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and g.shape[extra + i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if extra:
        g = g.reshape(shape)
    if g.shape != tuple(shape):
        raise ValueError(f"{op.name}: backward gave a gradient of shape {g.shape} that does "
                         f"not reduce to the input's shape {shape}")
    return g


def ancestors(roots):
    """Every node that requires grad and that ``roots`` depend on, newest first.

    (Nodes hash by identity, so they are their own keys in sets and dicts.)
    """
    seen, stack, found = set(), [r for r in roots if r.requires_grad], []
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        found.append(t)
        op = t._op
        if op is not None:
            if op.released:
                raise_released(op)
            for x in op.inputs:
                if x.requires_grad and x not in seen:
                    stack.append(x)
    found.sort(key=_by_seq, reverse=True)
    return found


_by_seq = operator.attrgetter("_seq")


def raise_released(op):
    raise RuntimeError(
        f"backward through {op.name} a second time: its saved values were released after the "
        "first backward. Pass retain_graph=True to the first backward() to keep them, or "
        "recompute the forward pass.")


def run_backward(roots, grads, *, retain_graph, create_graph, capture=None):
    """Walk the tape from ``roots`` (seeded with ``grads``) and pass gradients down.

    Without ``capture``, leaves (and nodes with retain_grad) get their ``.grad`` accumulated.
    With ``capture`` (a dict id -> None, from ``tg.grad``), the gradients of those nodes are
    stored there instead and no ``.grad`` is touched.
    """
    if create_graph:  # every gradient is a Tensor, so backward formulas record themselves
        grads = [g if hasattr(g, "_data") else type(roots[0])._make(np.asarray(g)) for g in grads]
    pending, stored = dict(zip(roots, grads)), set()
    with (enable_grad() if create_graph else no_grad()):
        for t in ancestors(roots):
            g = pending.pop(t, None)
            if g is None:
                continue
            if t._hooks:
                g = t._run_hooks(g, create_graph)
            op = t._op
            if capture is not None:
                if id(t) in capture:
                    capture[id(t)] = g
            elif op is None or t._retain:
                t._accumulate(g, stored)
            if op is not None:
                backward_step(op, t, g, pending, create_graph)
                if not retain_graph:
                    release(op, t)


def backward_step(op, t, g, pending, create_graph):
    """Ask ``op`` for its inputs' gradients; add each, summed back to its input's shape, to
    what that input has pending."""
    if op.released:
        raise_released(op)
    xs = op.inputs
    if create_graph:
        gxs = op.backward(g, *xs, t)
    elif len(xs) == 1:
        gxs = op.backward(g, xs[0]._data, t._data)
    else:
        gxs = op.backward(g, *[x._data for x in xs], t._data)
    if STATE.anomaly:
        check_finite(op, "backward", gxs)
    tracer = STATE.tracer
    passed = [] if tracer is not None else None
    for x, gx in zip(xs, gxs):
        if gx is None or not x.requires_grad:
            continue
        data = x._data
        if gx.shape != data.shape:
            gx = unbroadcast(gx, data.shape, op)
        if gx.dtype != data.dtype and not create_graph:
            gx = gx.astype(data.dtype)
        prev = pending.get(x)
        pending[x] = gx if prev is None else prev + gx
        if passed is not None:
            passed.append((x, gx, prev is not None))
    if tracer is not None:
        tracer.record(op, t, g, passed)


def release(op, t):
    """Free what ``op`` saved and unlock the arrays it held."""
    locked_output = op.saves_output
    op.release()
    if locked_output:
        t._unlock()
