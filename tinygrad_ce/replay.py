"""``tg.compile(fn)``: record one step once, then replay it as a flat list of NumPy calls.

This is what a tracing JIT does (``torch.jit.trace``, ``jax.jit``), in three parts:

1. **Trace.** The first call runs ``fn`` normally while a recorder watches the engine: every op
   applied (forward), every ``backward()`` (the walk over the tape, in its order) and every
   optimizer call. Each array gets a numbered slot; the program says which op reads which slots
   and writes which.
2. **Guard.** The program is valid only for what it saw: the shapes and dtypes of the array
   and Tensor arguments, the values of the other arguments, the grad mode. A call that matches
   replays; anything else runs ``fn`` normally (and records anew).
3. **Replay.** The program runs each op's own ``forward`` and ``backward`` on the slots, sums
   gradients in the tape's order and repeats the optimizer calls. No Tensor objects, no locks,
   no tape walk, no dictionaries of pending gradients: the bookkeeping was done once, at the
   trace. The NumPy work is the very same, so results, ``.grad`` and parameter updates are
   identical, to the last bit, to calling ``fn``.

Like every tracing JIT it replays what ``fn`` did, not what it could have done: Python
control flow inside ``fn`` and values ``fn`` computes in plain Python or NumPy are those of the
recorded call. So the recorder refuses (and ``fn`` simply runs normally every time, with the
reason in ``compiled.reason``) whenever it sees something it cannot replay exactly: a value read
into Python (``item()``, ``bool()``) that is not returned, a Tensor built inside ``fn`` from data
that is not an argument, ``create_graph``, hooks, ``tg.grad``, an optimizer step with a closure,
a parameter changed by anything but a ``tg.optim`` optimizer.
"""

import copy
import functools

import numpy as np

from .autograd import STATE, ancestors, unbroadcast
from .dtypes import get_default_dtype
from .ops.base import Op
from .tensor import Tensor
from .tensor import _next_seq as next_seq

MAX_RECORDINGS = 8


def compile(fn):  # noqa: A001 (the name of the API, as torch.compile)
    """Return a callable with ``fn``'s signature that replays ``fn``'s recorded step.

    ``fn(*args)`` does one step on the tape (forward, backward, optionally an optimizer step)
    and may return a Tensor, a number from ``.item()``, None, or a tuple or list of these.
    """
    return Compiled(fn)


class Refused(Exception):
    """Raised inside the recorder when ``fn`` did something that cannot be replayed."""


class Compiled:
    """The callable ``tg.compile`` returns. ``recordings`` maps a guard key to its program
    (or to the reason it could not be recorded); ``replays`` counts replayed calls."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn, self.recordings, self.replays, self.reason = fn, {}, 0, None

    def __call__(self, *args, **kwargs):
        if STATE.anomaly or STATE.tracer is not None or STATE.recorder is not None:
            return self.fn(*args, **kwargs)    # these watch each op: run the real thing
        key = guard_key(args, kwargs)
        program = self.recordings.get(key)
        if type(program) is Program:
            if program.valid():
                self.replays += 1
                return program.run(args, kwargs)
            return self._record(key, args, kwargs, again=True)
        if program is not None:                # a reason: this call cannot be replayed
            return self.fn(*args, **kwargs)
        return self._record(key, args, kwargs)

    def _record(self, key, args, kwargs, again=False):
        recorder = Recorder(self.fn, args, kwargs)
        STATE.set_recorder(recorder)
        try:
            result = self.fn(*args, **kwargs)
        finally:
            STATE.set_recorder(None)
        try:
            entry = recorder.finish(result)
            if again and entry.unexplained:
                raise Refused("fn sets .grad to None itself (or the gradients change between "
                              "calls): clear them with zero_grad() inside fn")
        except Refused as e:
            entry = self.reason = str(e)
        if len(self.recordings) >= MAX_RECORDINGS:
            self.recordings.pop(next(iter(self.recordings)))
        self.recordings[key] = entry
        return result


def guard_key(args, kwargs):
    """What a recording is valid for: shapes and dtypes of arrays and Tensors, the values of
    numbers and strings, the identity of other objects, the grad mode and default dtype."""
    parts = [STATE.grad_enabled, get_default_dtype()]
    for value in (*args, *kwargs.items()):
        parts.append(_describe(value))
    return tuple(parts)


def _describe(value):
    if isinstance(value, Tensor):
        d = value._data
        return ("T", d.shape, d.dtype, value.requires_grad, value._op is None)
    if isinstance(value, np.ndarray):
        return ("A", value.shape, value.dtype)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return (value[0], _describe(value[1]))      # a keyword argument
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return ("V", type(value), value)
    return ("O", id(value))


class Recorder:
    """Watches one call of ``fn`` (the engine calls it from its hooks) and builds a Program.

    A slot is a number standing for one array of the step: an argument, a Tensor that existed
    before the call (a parameter: read again at each replay), a number constant, or the output
    of an op.
    """

    def __init__(self, fn, args, kwargs):
        self.start = next_seq()              # Tensors older than this existed before the call
        self.n_slots, self.depth, self.refused = 0, 0, None
        self.slot_of, self.slot_of_data, self.keep = {}, {}, []
        self.work_of, self.arg_where = {}, {}
        self.arg_loads, self.external_loads, self.constants = [], [], []
        self.captured, self.captured_loads = captured_arrays(fn), []
        self.pinned = [v for v in (*args, *kwargs.values()) if _describe(v)[0] == "O"]
        self.steps, self.block = [], None
        self.watched, self.stepped, self.cleared, self.unexplained = [], set(), set(), []
        self.items, self.leaves, self.marks = {}, [], []
        for i, value in enumerate(args):
            self._bind_argument(("pos", i), value)
        for name, value in kwargs.items():
            self._bind_argument(("kw", name), value)

    # ---- slots ---------------------------------------------------------------------------
    def _new_slot(self, tensor=None, data=None):
        slot, self.n_slots = self.n_slots, self.n_slots + 1
        if tensor is not None:
            self.slot_of[id(tensor)] = slot
            data = tensor._data
        if data is not None:
            self.slot_of_data[id(data)] = slot
        self.keep.append(tensor if tensor is not None else data)   # ids stay unique
        return slot

    def _bind_argument(self, where, value):
        if isinstance(value, Tensor):
            self.arg_loads.append((self._new_slot(tensor=value), where, True))
            self.arg_where[id(value)] = where
        elif isinstance(value, np.ndarray):
            self.arg_loads.append((self._new_slot(data=value), where, False))

    def slot_for_input(self, x):
        """The slot of an op's input Tensor, made on first sight."""
        slot = self.slot_of.get(id(x))
        if slot is not None:
            return slot
        if x._seq < self.start:              # a parameter or a Tensor made outside fn
            slot = self._new_slot(tensor=x)
            self.external_loads.append((slot, x, x.shape, x.dtype, x.requires_grad))
            self.watched.append((x, x._data, np.array(x._data, copy=True)))
            return slot
        if x.requires_grad:
            self.refuse(f"fn creates a leaf Tensor of shape {x.shape} that requires grad; "
                        "create parameters outside fn (or pass them as arguments)")
        slot = self.slot_of_data.get(id(x._data))   # a Tensor around an argument's array
        source = self.captured.get(id(x._data))
        if slot is None and source is not None:      # ... or around an array fn captured
            slot = self._new_slot(data=x._data)
            self.captured_loads.append((slot, source, x._data.shape, x._data.dtype))
        if slot is None:
            if x._data.ndim or x._data.flags.writeable:
                self.refuse(f"fn builds a Tensor of shape {x.shape} from data that is not an "
                            "argument of fn; pass that data as an argument")
            slot = self._new_slot(data=x._data)     # a number constant of the code
            self.constants.append((slot, x._data))
        self.slot_of[id(x)] = slot
        self.keep.append(x)
        return slot

    # ---- hooks the engine calls ----------------------------------------------------------
    def refuse(self, reason):
        """Mark the recording as not replayable (fn itself still runs normally)."""
        if self.refused is None and not self.depth:    # inside a replayed call all is fine
            self.refused = reason

    def forward(self, op, xs, out):
        """An op was applied: ``out = op(*xs)``. Returns ``out``."""
        if self.depth:
            return out
        ins = tuple(self.slot_for_input(x) for x in xs)
        work = copy.copy(op)                 # the program's own copy of the op
        work.released = True                 # it holds no locks: nothing to unlock when freed
        if op.inputs is not None:            # backward may read inputs' requires_grad and ids
            work.inputs = tuple(x if x._seq < self.start else _Ghost(x) for x in xs)
        self.work_of[id(op)] = work
        if self.block is None or self.block[0] != "forward":
            self.block = ("forward", [])
            self.steps.append(self.block)
        self.block[1].append((work.forward, ins, self._new_slot(tensor=out)))
        return out

    def backward(self, root, grad, retain_graph, create_graph):
        """``root.backward(grad, ...)`` is about to run: record the walk it will take."""
        if self.depth:
            return
        self.check_grads()
        if create_graph or retain_graph or grad is not None:
            return self.refuse("backward with grad=, retain_graph or create_graph is not "
                               "replayed")
        try:
            nodes = ancestors([root])
        except RuntimeError:                 # released: the engine raises it right away
            return None
        walk = []
        for t in nodes:
            if t._hooks or t._retain:
                return self.refuse("a hook or retain_grad on the tape is not replayed")
            if id(t) not in self.slot_of:
                return self.refuse("backward reaches a Tensor fn did not compute or read")
            walk.append(self._walk_entry(t))
        if self.refused is None:
            self.steps.append(("backward", (self.slot_of[id(root)], root.shape, root.dtype,
                                            walk)))
            self.block = None

    def backward_done(self):
        """The backward just recorded has filled the leaves' .grad: mark them."""
        if not self.depth:
            self.mark_grads()

    def mark_grads(self):
        self.marks = [(t, t.grad, None if t.grad is None else np.array(t.grad._data, copy=True))
                      for t, _ in self.leaves]

    def check_grads(self):
        """Only replayed events (backward, optimizer calls, zero_grad) may change a .grad."""
        for t, g, before in self.marks:
            if t.grad is not g or (g is not None and not np.array_equal(g._data, before)):
                self.refuse("fn changes .grad itself (e.g. .grad = None, or clipping by hand); "
                            "use zero_grad() and tg.optim optimizers")

    def _walk_entry(self, t):
        slot, op = self.slot_of[id(t)], t._op
        if op is None:                       # a leaf: its .grad is filled
            if t.grad is None and id(t) not in self.cleared:
                self.unexplained.append(t)
            target = self.arg_where.get(id(t), t)
            self.leaves.append((t, target))
            return slot, None, target, None
        work = self.work_of.get(id(op))
        if work is None:
            return self.refuse("backward reaches an op applied outside fn")
        ins = tuple(self.slot_of.get(id(x)) for x in op.inputs)
        wanted = tuple((k, ins[k], x.shape, x.dtype) for k, x in enumerate(op.inputs)
                       if x.requires_grad)
        return slot, work.backward, ins, wanted

    def call(self, method, obj, args, kwargs):
        """A method whose effect is replayed by calling it again (optimizer steps, zero_grad)."""
        if self.depth:
            return method(obj, *args, **kwargs)
        if any(not (v is None or isinstance(v, (bool, int, float, str)))
               for v in (*args, *kwargs.values())):
            self.refuse(f"{type(obj).__name__}.{method.__name__} with a closure or array "
                        "argument is not replayed")
        self.check_grads()
        self.depth += 1
        try:
            result = method(obj, *args, **kwargs)
        finally:
            self.depth -= 1
        self.mark_grads()
        self.steps.append(("call", (method, obj, args, kwargs)))
        self.block = None
        params = [obj] if isinstance(obj, Tensor) else list(getattr(obj, "params", ()))
        if method.__name__ != "zero_grad":     # an optimizer step: it may change the data
            self.stepped.update(id(p) for p in params)
        self.cleared.update(id(p) for p in params if p.grad is None)
        return result

    def item(self, tensor, value):
        """``tensor.item()`` returned ``value`` to Python."""
        if self.depth:
            return
        self.items[id(value)] = (self.slot_for_input(tensor), value)

    # ---- the end of the recording --------------------------------------------------------
    def finish(self, result):
        """The Program, or Refused with the reason."""
        self.check_grads()
        if self.refused is not None:
            raise Refused(self.refused)
        for t, data, before in self.watched:
            if t._data is not data:
                raise Refused(f"fn replaced the data of a Tensor of shape {t.shape} it read")
            if id(t) not in self.stepped and not np.array_equal(data, before, equal_nan=True):
                raise Refused(f"fn changed a Tensor of shape {t.shape} in place without a "
                              "tg.optim optimizer; only optimizer steps are replayed")
        used = set()
        output = self._output(result, used)
        if set(self.items) - used:
            raise Refused("fn reads a value into Python (item/float) that it does not return; "
                          "its control flow may depend on it")
        return Program(self, output)

    def _output(self, value, used):
        if value is None:
            return ("none",)
        if isinstance(value, (tuple, list)):
            return (type(value).__name__, [self._output(v, used) for v in value])
        if id(value) in self.items:
            used.add(id(value))
            return ("item", self.items[id(value)][0])
        for leaf, target in self.leaves:
            if value is leaf.grad:
                return ("grad", target)
        if isinstance(value, Tensor) and id(value) in self.slot_of:
            if value._op is not None and not value._op.released:
                raise Refused("fn returns a Tensor whose graph is still live; compile replays "
                              "whole steps (forward and backward)")
            return ("tensor", self.slot_of[id(value)], value._op is not None and value._op.name)
        raise Refused(f"fn returns a {type(value).__name__} that compile cannot follow; return "
                      "Tensors it computed, numbers from .item(), or None")


class _Ghost:
    """Stands for an intermediate Tensor in an op's ``inputs`` (ops read requires_grad)."""

    __slots__ = ("requires_grad", "shape", "dtype")

    def __init__(self, x):
        self.requires_grad, self.shape, self.dtype = x.requires_grad, x.shape, x.dtype


class _Released(Op):
    """The op of a replayed result: its graph is gone, as after a normal backward."""

    released = True

    def __init__(self, name):
        self.name = name


class Program:
    """The flat list of NumPy calls a recording became, and the guard on gradient state."""

    def __init__(self, rec, output):
        self.n_slots, self.output = rec.n_slots, output
        self.arg_loads, self.external_loads = rec.arg_loads, rec.external_loads
        self.constants, self.unexplained = rec.constants, rec.unexplained
        self.captured_loads = rec.captured_loads
        self.steps = [(kind, payload) for kind, payload in rec.steps]
        self.pinned = rec.pinned    # objects the guard knows by id: their ids must stay theirs

    def valid(self):
        """The guard on state: parameters and captured arrays keep their shapes, dtypes and
        requires_grad; gradients fn left None without zero_grad are still None."""
        for _, t, shape, dtype, requires_grad in self.external_loads:
            d = t._data
            if d.shape != shape or d.dtype != dtype or t.requires_grad != requires_grad:
                return False
        for _, source, shape, dtype in self.captured_loads:
            d = read_captured(source)
            if type(d) is not np.ndarray or d.shape != shape or d.dtype != dtype:
                return False
        return all(t.grad is None for t in self.unexplained)

    def run(self, args, kwargs):
        vals = [None] * self.n_slots
        for slot, where, is_tensor in self.arg_loads:
            value = args[where[1]] if where[0] == "pos" else kwargs[where[1]]
            vals[slot] = value._data if is_tensor else value
        for slot, t, *_ in self.external_loads:
            vals[slot] = t._data
        for slot, source, *_ in self.captured_loads:
            vals[slot] = read_captured(source)
        for slot, data in self.constants:
            vals[slot] = data
        for kind, payload in self.steps:
            if kind == "forward":
                run_forward(payload, vals)
            elif kind == "backward":
                run_backward(payload, vals, args, kwargs)
            else:
                method, obj, a, kw = payload
                method(obj, *a, **kw)
        return self._result(self.output, vals, args, kwargs)

    def _result(self, spec, vals, args, kwargs):
        kind = spec[0]
        if kind == "none":
            return None
        if kind in ("tuple", "list"):
            items = [self._result(s, vals, args, kwargs) for s in spec[1]]
            return tuple(items) if kind == "tuple" else items
        if kind == "item":
            return vals[spec[1]].item()
        if kind == "grad":
            return fetch(spec[1], args, kwargs).grad
        data = vals[spec[1]]
        if data.flags.writeable and spec[2]:
            data.setflags(write=False)         # as an op's output: read-only
        return Tensor._make(data, _Released(spec[2]) if spec[2] else None)


def run_forward(block, vals):
    """Each op's own forward on the slots, in the recorded order."""
    for forward, ins, out in block:
        y = forward(vals[ins[0]]) if len(ins) == 1 else forward(*[vals[i] for i in ins])
        vals[out] = y if type(y) is np.ndarray else np.asarray(y)


def run_backward(payload, vals, args, kwargs):
    """The tape walk, replayed: the same order and the same sums, with every lookup done at
    the recording (which input wants a gradient, of which shape and dtype)."""
    root, shape, dtype, walk = payload
    pending, stored = [None] * len(vals), set()
    pending[root] = np.ones(shape, dtype=dtype)
    for slot, backward, ins, wanted in walk:
        g = pending[slot]
        if g is None:
            continue
        pending[slot] = None
        if backward is None:                   # a leaf: ins is the Tensor or its argument
            fetch(ins, args, kwargs)._accumulate(g, stored)
            continue
        gxs = backward(g, *[vals[i] for i in ins], vals[slot])
        for k, i, shape, dtype in wanted:
            gx = gxs[k]
            if gx is None:
                continue
            if gx.shape != shape:
                gx = unbroadcast(gx, shape, backward.__self__)
            if gx.dtype is not dtype and gx.dtype != dtype:
                gx = gx.astype(dtype)
            prev = pending[i]
            pending[i] = gx if prev is None else prev + gx


def fetch(target, args, kwargs):
    """A leaf Tensor: the Tensor itself, or where it sits among the arguments."""
    if isinstance(target, Tensor):
        return target
    return args[target[1]] if target[0] == "pos" else kwargs[target[1]]


def captured_arrays(fn):
    """The ndarrays fn names directly, from its closure or its module's globals: id -> where
    to read the current one (a closure cell, or the globals dict and the name)."""
    found = {}
    code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    if code is None:
        return found
    for cell in cells:
        try:
            value = cell.cell_contents
        except ValueError:               # an empty cell
            continue
        if type(value) is np.ndarray:
            found[id(value)] = (cell, None)
    names = getattr(fn, "__globals__", {})
    for name in code.co_names:
        value = names.get(name)
        if type(value) is np.ndarray:
            found.setdefault(id(value), (names, name))
    return found


def read_captured(source):
    """The current array in a closure cell or a global name."""
    where, name = source
    return where.cell_contents if name is None else where.get(name)
