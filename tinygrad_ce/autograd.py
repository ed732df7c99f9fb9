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
import threading
import traceback

import numpy as np

from .ops.arithmetic import Cast
from .ops.base import ARRAYS


class _State(threading.local):
    """Per thread, as in PyTorch: what one thread does never changes what another records.
    (Class attributes are each new thread's starting values.) ``plain`` is grad mode on and
    anomaly mode off, the common case: recording reads one attribute of this (slower than
    plain) thread-local object per op, and backward reads it once per walk."""
    grad_enabled = True
    anomaly = False
    tracer = None     # set by tg.trace(): called once per backward step
    recorder = None   # set by tg.compile while it records a step: told about each event
    plain = True

    def set(self, grad_enabled, anomaly):
        self.grad_enabled, self.anomaly = grad_enabled, anomaly
        self.plain = grad_enabled and not anomaly and self.recorder is None

    def set_recorder(self, recorder):
        """tg.compile's recorder (or None): ops then leave the plain path to tell it."""
        self.recorder = recorder
        self.set(self.grad_enabled, self.anomaly)


STATE = _State()


class _Reentrant(contextlib.ContextDecorator):
    def _recreate_cm(self):
        # a fresh object per decorated call: recursion and threads each keep their own prev
        return type(self)()


class _GradMode(_Reentrant):
    enabled = True

    def __enter__(self):
        self.prev = STATE.grad_enabled
        STATE.set(self.enabled, STATE.anomaly)

    def __exit__(self, *exc):
        STATE.set(self.prev, STATE.anomaly)


class no_grad(_GradMode):
    """Context manager and decorator: nothing is recorded on the tape inside it."""
    enabled = False


class enable_grad(_GradMode):
    """Context manager and decorator: recording is on inside it, even within no_grad."""
    enabled = True


class detect_anomaly(_Reentrant):
    """Inside it, a nan or inf made by any op, forward or backward, raises FloatingPointError
    naming the op and the line of user code that created it."""

    def __enter__(self):
        self.prev = STATE.anomaly
        STATE.set(STATE.grad_enabled, True)

    def __exit__(self, *exc):
        STATE.set(STATE.grad_enabled, self.prev)


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


def ancestors(roots, *, oldest=-1, printing=False):
    """Every node that requires grad and that ``roots`` depend on, newest first.

    Nodes made before the one numbered ``oldest`` are left out, and that one is not walked
    past (``tg.grad``: nothing older than its oldest input can lead to an input). Backward
    through a released op is an error, unless ``printing`` (the tape after a backward).
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
        if op is not None and t._seq > oldest:
            if op.released and not printing:
                raise_released(op)
            for x in op.inputs:
                if x.requires_grad and x not in seen and x._seq >= oldest:
                    stack.append(x)
    found.sort(key=_by_seq, reverse=True)
    return found


_by_seq = operator.attrgetter("_seq")


def between(roots, inputs):
    """What ``tg.grad`` walks: the nodes on a path from ``roots`` down to ``inputs`` (newest
    first), and those of them whose op leads on to an input (their backward runs). Nothing
    below the inputs or off their paths is touched or released."""
    oldest = min(x._seq for x in inputs)
    nodes = ancestors(roots, oldest=oldest)
    leads, onward = set(inputs), set()
    for t in reversed(nodes):   # oldest first: a node leads to an input if one of its inputs does
        op = t._op
        if op is not None and t._seq > oldest and any(x in leads for x in op.inputs):
            leads.add(t)
            onward.add(t)
    return [t for t in nodes if t in leads], onward


def raise_released(op):
    raise RuntimeError(
        f"backward through {op.name} a second time: its saved values were released after the "
        "first backward. Pass retain_graph=True to the first backward() to keep them, or "
        "recompute the forward pass.")


def run_backward(roots, grads, *, retain_graph, create_graph, capture=None):
    """Walk the tape from ``roots`` (seeded with ``grads``) and pass gradients down.

    Without ``capture``, leaves (and nodes with retain_grad) get their ``.grad`` accumulated.
    With ``capture`` (a dict input -> None, from ``tg.grad``), only the nodes between the roots
    and those inputs are walked, their gradients are stored there and no ``.grad`` is touched.
    """
    if create_graph:  # every gradient is a Tensor, so backward formulas record themselves
        grads = [g if hasattr(g, "_data") else type(roots[0])._make(np.asarray(g)) for g in grads]
    pending, stored = dict(zip(roots, grads)), set()
    anomaly, tracer = STATE.anomaly, STATE.tracer
    nodes, onward = (ancestors(roots), None) if capture is None else between(roots, capture)
    with (enable_grad() if create_graph else no_grad()):
        for t in nodes:
            g = pending.pop(t, None)
            if g is None:
                continue
            if t._hooks:
                g = t._run_hooks(g, create_graph)
            op = t._op
            if onward is not None:
                if t in capture:
                    capture[t] = g
                if t not in onward:
                    continue
            elif op is None or t._retain:
                t._accumulate(g, stored)
            if op is not None:
                backward_step(op, t, g, pending, create_graph, anomaly, tracer)
                if not retain_graph:
                    op.release()


CHECKED = set()   # names of the ops whose backward results have been checked once


def backward_step(op, t, g, pending, create_graph, anomaly=False, tracer=None):
    """Ask ``op`` for its inputs' gradients; add each, summed back to its input's shape, to
    what that input has pending (and tell ``tracer``, under tg.trace())."""
    if op.released:
        raise_released(op)
    xs = op.inputs
    if create_graph:
        gxs = op.backward(g, *xs, t)
    elif len(xs) == 1:
        gxs = op.backward(g, xs[0]._data, t._data)
    else:
        gxs = op.backward(g, *[x._data for x in xs], t._data)
    if op.name not in CHECKED:
        check_gradients(op, xs, gxs)
    if anomaly:
        check_finite(op, "backward", gxs)
    passed = [] if tracer is not None else None
    for x, gx in zip(xs, gxs):
        if gx is None or not x.requires_grad:
            continue
        data = x._data
        if gx.shape != data.shape:
            gx = unbroadcast(gx, data.shape, op)
        if gx.dtype != data.dtype:  # a leaf's gradient has the leaf's dtype, also with history
            gx = type(t).apply(Cast(data.dtype), gx) if create_graph else gx.astype(data.dtype)
        prev = pending.get(x)
        pending[x] = gx if prev is None else prev + gx
        if passed is not None:
            passed.append((x, gx, prev is not None))
    if tracer is not None:
        tracer.record(op, t, g, passed)


def check_gradients(op, xs, gxs):
    """What an op's backward returns, checked the first time that op runs backward: one
    gradient per input (a tuple or list), each None or a floating array (or Tensor) whose
    shape reduces to its input's shape."""
    where = f"{op.name}.backward"
    if not isinstance(gxs, (tuple, list)) or len(gxs) != len(xs):
        got = f"{len(gxs)} values" if isinstance(gxs, (tuple, list)) else type(gxs).__name__
        raise TypeError(f"{where} returned {got} for {len(xs)} input(s); return a tuple with one "
                        "gradient per input, None where an input has none: e.g. (gx,) or (ga, gb)")
    for i, (x, gx) in enumerate(zip(xs, gxs)):
        if gx is None:
            continue
        if not isinstance(gx, ARRAYS) and not hasattr(gx, "_data"):
            raise TypeError(f"{where}: the gradient for input {i} is a {type(gx).__name__}; "
                            "return an ndarray (or a Tensor under create_graph), or None")
        if gx.dtype.kind != "f":
            raise TypeError(f"{where}: the gradient for input {i} has dtype {gx.dtype}; a "
                            "gradient is floating (did a mask miss its multiplication by gy?)")
        if x.requires_grad and gx.shape != x.shape:
            unbroadcast(gx if isinstance(gx, ARRAYS) else gx._data, x.shape, op)
    CHECKED.add(op.name)
