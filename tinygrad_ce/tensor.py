"""The Tensor: an ndarray, its gradient, and the op that made it (its entry on the tape)."""

import inspect
import itertools

import numpy as np

from . import autograd
from .autograd import STATE
from .dtypes import as_array, get_default_dtype
from .ops.base import REGISTRY, is_locked, lock, on_register
from .ops.shape import GetItem, index_data

_next_seq = itertools.count().__next__


class Tensor:
    """An n-dimensional array that records the ops applied to it, so ``backward()`` can fill
    ``.grad`` of every leaf that requires it.

    ``data`` is array-like or a Tensor. An ndarray is used as it is (no copy, like
    ``np.asarray``) and keeps its dtype; Python floats and lists become the default dtype
    (``tg.get_default_dtype()``). While a live tape needs the memory behind the array (through
    any view of it) it is read-only: an in-place write that would corrupt a gradient raises
    instead. A leaf's array becomes writable again after backward (or when the graph is
    dropped); an op's output that its backward reads, or that is a view, stays read-only.
    """

    __slots__ = ("_data", "grad", "requires_grad", "name", "_op", "_seq", "_retain",
                 "_hooks", "_ghost", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, data, *, requires_grad=False, dtype=None, name=None):
        arr = as_array(data._data if isinstance(data, Tensor) else data, dtype)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs floating data, got {arr.dtype}; "
                            f"pass dtype=np.float64 or convert with .astype(float)")
        self._data, self.requires_grad, self.name = arr, bool(requires_grad), name
        self.grad = self._op = self._hooks = self._ghost = None
        self._seq, self._retain = _next_seq(), False

    @classmethod
    def _make(cls, data, op=None):
        """A new Tensor around an ndarray, made by ``op`` (None: a constant)."""
        t = cls.__new__(cls)
        t._data, t.requires_grad, t._op, t._seq = data, op is not None, op, _next_seq()
        t.grad = t.name = t._hooks = t._ghost = None
        t._retain = False
        return t

    # ---- recording ------------------------------------------------------------------------
    @classmethod
    def apply(cls, op, *xs):
        """Run ``op`` forward on the inputs' data; record it if any input requires grad."""
        try:
            data = [x._data for x in xs]
        except AttributeError:  # an ndarray or a number among the inputs: make it a constant
            xs = [lift(x, xs) for x in xs]
            data = [x._data for x in xs]
        try:
            y = op.forward(*data)
        except (ValueError, IndexError, TypeError) as e:
            _explain(op, xs, e)
            raise
        if type(y) is not np.ndarray:
            y = np.asarray(y)
        if not STATE.plain:   # no_grad, detect_anomaly or a tg.compile recording in this thread
            if STATE.anomaly:
                op._where = autograd.creation_site()
                autograd.check_finite(op, "forward", [y])
            if STATE.recorder is not None:
                return STATE.recorder.forward(op, xs, cls._result(op, xs, y))
            if not STATE.grad_enabled:
                return cls._make(y)
        for x in xs:
            if x.requires_grad:
                return cls._record(op, xs, y)
        return cls._make(y)

    @classmethod
    def _result(cls, op, xs, y):
        """The output Tensor: recorded if grad mode is on and an input requires grad."""
        if STATE.grad_enabled and any(x.requires_grad for x in xs):
            return cls._record(op, xs, y)
        return cls._make(y)

    @classmethod
    def _record(cls, op, xs, y):
        """Put ``op`` on the tape: keep its inputs, lock the memory its backward will read."""
        op.inputs = xs
        if op.saves_inputs:
            for x in xs:  # counted per buffer: read-only until the last op that needs it is done
                lock(x._data)
        if y.base is not None or op.saves_output:
            y = _read_only(y, xs)
        out = cls.__new__(cls)  # cls._make(y, op), inlined: this runs for every recorded op
        out._data, out.requires_grad, out._op, out._seq = y, True, op, _next_seq()
        out.grad = out.name = out._hooks = out._ghost = None
        out._retain = False
        return out

    # ---- properties -----------------------------------------------------------------------
    @property
    def data(self):
        """The ndarray this Tensor holds."""
        return self._data

    @data.setter
    def data(self, value):
        if STATE.recorder is not None:
            STATE.recorder.refuse("fn replaces a Tensor's data (.data = ...)")
        op = self._op
        if is_locked(self._data) or (op is not None and op.saves_output and not op.released):
            raise ValueError("Tensor.data: cannot replace data that a live tape still needs for "
                             "backward; call backward() first, or work on a detached copy")
        arr = as_array(value._data if isinstance(value, Tensor) else value)
        if self.requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Tensor.data: this Tensor requires grad, so its data must be "
                            f"floating, got {arr.dtype}; convert with .astype(float)")
        self._data = arr

    shape = property(lambda self: self._data.shape, doc="The shape of the data.")
    ndim = property(lambda self: self._data.ndim, doc="The number of dimensions.")
    size = property(lambda self: self._data.size, doc="The number of elements.")
    dtype = property(lambda self: self._data.dtype, doc="The NumPy dtype of the data.")
    is_leaf = property(lambda self: self._op is None, doc="True unless an op on the tape made it.")
    T = property(lambda self: self.transpose(), doc="The transpose (axes reversed).")

    def numpy(self):
        """The data as an ndarray (shared, not copied)."""
        return self._data

    def item(self):
        """The single element as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only a one-element Tensor converts to a number, this one "
                             f"has shape {self.shape}; index or reduce it first")
        value = self._data.item()
        if STATE.recorder is not None:
            STATE.recorder.item(self, value)
        return value

    def detach(self):
        """A Tensor sharing the data, with no history and no gradient."""
        return Tensor._make(self._data)

    def requires_grad_(self, flag=True):
        """Set ``requires_grad`` on a leaf, in place; returns self."""
        if not self.is_leaf:
            raise ValueError("requires_grad_: only leaves can change requires_grad; "
                             "use .detach().requires_grad_() for a new leaf")
        if flag and self.dtype.kind != "f":
            raise TypeError(f"requires_grad_: needs floating data, got {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    @autograd.replayable
    def zero_grad(self):
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise ValueError("retain_grad: this Tensor does not require grad")
        self._retain = True

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this Tensor's gradient is complete; a returned Tensor replaces
        the gradient. Returns a handle whose ``.remove()`` unregisters ``fn``."""
        if not self.requires_grad:
            raise ValueError("register_hook: this Tensor does not require grad")
        if self._hooks is None:
            self._hooks = {}
        handle = _HookHandle(self._hooks)
        self._hooks[handle.key] = fn
        return handle

    def _run_hooks(self, g, create_graph):
        for fn in list(self._hooks.values()):
            gt = g if isinstance(g, Tensor) else Tensor._make(g)
            out = fn(gt)
            if out is not None:
                g = out if create_graph else as_array(out._data if isinstance(out, Tensor) else out)
                if g.shape != self.shape or g.dtype != self.dtype:
                    raise ValueError(f"register_hook: the hook returned a gradient of shape "
                                     f"{g.shape} and dtype {g.dtype} for a Tensor of shape "
                                     f"{self.shape} and dtype {self.dtype}; a hook may change "
                                     "the values, not the shape or dtype")
        return g

    def _accumulate(self, g, stored):
        if isinstance(g, Tensor):
            self.grad = g if self.grad is None else self.grad + g
            return
        if self.grad is None:
            owned = g.flags.owndata and g.flags.writeable and id(g) not in stored
            self.grad = Tensor._make(g if owned else np.array(g))
            stored.add(id(self.grad._data))
        else:
            self.grad = Tensor._make(self.grad._data + g)

    # ---- backward -------------------------------------------------------------------------
    def backward(self, grad=None, *, retain_graph=None, create_graph=False):
        """Fill ``.grad`` of every leaf this Tensor depends on with d(self)/d(leaf) * grad.

        ``grad`` defaults to 1 for a one-element Tensor. Gradients accumulate until
        ``zero_grad()``. ``retain_graph`` (default: ``create_graph``) keeps the tape for another
        backward; ``create_graph=True`` records the backward pass so ``.grad`` has history.
        """
        g = seed_gradient(self, grad, "backward")
        retain = create_graph if retain_graph is None else retain_graph
        if STATE.recorder is not None:
            STATE.recorder.backward(self, grad, retain, create_graph)
        autograd.run_backward([self], [g], retain_graph=retain, create_graph=create_graph)
        if STATE.recorder is not None:
            STATE.recorder.backward_done()

    def tape(self):
        """The tape entries this Tensor depends on, in the order they ran (printable)."""
        from .tape import Tape
        return Tape.of(self)

    # ---- copies --------------------------------------------------------------------------
    def __reduce__(self):
        """Pickling and ``copy.deepcopy``: a new leaf with its own writable copy of the data
        (and of ``.grad``), its name and requires_grad; no history, no locks, no hooks. A
        non-leaf becomes a constant, as ``detach()`` would make it."""
        grad = None if self.grad is None else np.array(self.grad._data)
        leaf = self._op is None
        return _rebuild, (np.array(self._data), leaf and self.requires_grad, self.name, grad)

    # ---- NumPy interop and Python protocols -----------------------------------------------
    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._data, dtype=dtype)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *args, **kwargs):
        from .interop import array_ufunc
        return array_ufunc(ufunc, method, args, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .interop import array_function
        return array_function(func, args, kwargs)

    def __bool__(self):
        if STATE.recorder is not None:
            STATE.recorder.refuse("fn branches on a Tensor's value (bool)")
        if self._data.size != 1:
            raise ValueError(f"the truth value of a Tensor with {self.size} elements (shape "
                             f"{self.shape}) is ambiguous; use t.data.any() or t.data.all()")
        return bool(self._data)

    def __len__(self):
        if not self.ndim:
            raise TypeError("len() of a 0-d Tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    __hash__ = object.__hash__

    def __getitem__(self, index):
        return Tensor.apply(GetItem(index_data(index)), self)

    def __setitem__(self, index, value):
        if STATE.recorder is not None:
            STATE.recorder.refuse("fn writes into a Tensor (t[...] = ...)")
        if self.requires_grad and STATE.grad_enabled:
            raise ValueError("setitem: an in-place write to a Tensor that requires grad would "
                             "bypass the tape; build a new Tensor (e.g. tg.where) or write "
                             "under tg.no_grad()")
        if is_locked(self._data):
            raise ValueError("setitem: this Tensor's data is saved on a live tape that backward "
                             "still needs; call backward() first or write to a copy")
        self._data[index_data(index)] = value._data if isinstance(value, Tensor) else value

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        extra = []
        if self._data.dtype != get_default_dtype():
            extra.append(f"dtype={self._data.dtype}")
        if self._op is not None:
            extra.append(f"op={self._op.name}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.append(f"name={self.name!r}")
        return f"Tensor({body}{''.join(', ' + e for e in extra)})"


def _explain(op, xs, error):
    """Add to an error from an op's forward the op's name, the input shapes and a way out, as a
    note: the exception (and the user's line in its traceback) stays as it was raised."""
    shapes = [x.shape for x in xs]
    note = f"in {op.name}, input shapes {' and '.join(map(str, shapes))}"
    if getattr(op, "broadcasts", False) and not _broadcastable(shapes):
        note = (f"{op.name}: shapes {' and '.join(map(str, shapes))} do not broadcast (NumPy "
                "rules: aligned from the right, each dimension must match or be 1); reshape an "
                "operand, e.g. b.reshape(-1, 1), or use tg.broadcast_to")
    error.add_note(note)


def _broadcastable(shapes):
    for sizes in itertools.zip_longest(*[s[::-1] for s in shapes], fillvalue=1):
        if len(set(sizes) - {1}) > 1:
            return False
    return True


def _read_only(y, xs):
    """An op's output made read-only for good (no unlock to pay for): when its backward reads
    it, or when it is a view that shares an input's memory."""
    if y.flags.writeable:
        for x in xs:
            if y is x._data:  # a forward that hands back its input: not the input's array
                y = y.view()
        y.setflags(write=False)
    return y


def _rebuild(data, requires_grad, name, grad):
    t = Tensor(data, requires_grad=requires_grad, name=name)
    t.grad = None if grad is None else Tensor(grad)
    return t


class _HookHandle:
    _keys = itertools.count()

    def __init__(self, hooks):
        self.hooks, self.key = hooks, next(self._keys)

    def remove(self):
        """Unregister the hook (idempotent)."""
        self.hooks.pop(self.key, None)


_CONSTANTS = {}


def lift(value, partners=()):
    """A constant Tensor for a non-Tensor operand; a Python number takes its partner's dtype.

    Number constants are cached (read-only 0-d arrays), so ``x * 2.0`` in a loop costs no
    allocation for the 2.0.
    """
    if isinstance(value, Tensor):
        return value
    if type(value) in (int, float, bool):
        dtype = get_default_dtype() if type(value) is not bool else np.dtype(bool)
        for p in partners:
            if isinstance(p, Tensor) and p._data.dtype.kind == "f":
                dtype = p._data.dtype
                break
        key = (value, dtype)
        const = _CONSTANTS.get(key)
        if const is None:
            arr = np.array(value, dtype=dtype)
            arr.setflags(write=False)
            const = Tensor._make(arr)
            if value != 0:  # 0.0 == -0.0 as a key, but x / -0.0 is not x / 0.0: zeros uncached
                if len(_CONSTANTS) > 512:
                    _CONSTANTS.clear()
                _CONSTANTS[key] = const
        return const
    return Tensor._make(as_array(value))


def seed_gradient(y, grad, where):
    """The starting gradient of ``y`` for backward, checked against ``y``."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(y).__name__}")
    if not y.requires_grad:
        raise RuntimeError(f"{where}: this Tensor does not require grad, so there is no tape to "
                           "walk; create the leaves with requires_grad=True and do not compute "
                           "it under tg.no_grad()")
    if grad is None:
        if y.size != 1:
            raise ValueError(f"{where}: grad can be implicit only for a one-element Tensor, this "
                             f"one has shape {y.shape}; pass grad= of that shape, or reduce "
                             "first, e.g. y.sum().backward()")
        return np.ones(y.shape, dtype=y.dtype)
    if isinstance(grad, Tensor) and grad.requires_grad:
        g = grad
    else:
        g = np.array(grad._data if isinstance(grad, Tensor) else grad, dtype=y.dtype)
    if g.shape != y.shape:
        raise ValueError(f"{where}: grad has shape {g.shape} but the Tensor has shape {y.shape}")
    return g


def function_for(cls):
    """A function ``f(*inputs, *params, **params)`` that records one ``cls`` op.

    Its first ``cls.arity`` arguments are the inputs (a list of them when the arity is None);
    the rest go to the op's constructor (axis, keepdims, reduction, ...).
    """
    n = cls.arity

    def fn(*args, **kwargs):
        if n is None:
            xs, params = tuple(args[0]), args[1:]
            if not xs:
                raise ValueError(f"{cls.name}: needs at least one Tensor")
        else:
            if len(args) < n:
                raise TypeError(f"{cls.name}: expected {n} input(s), got {len(args)}")
            xs, params = args[:n], args[n:]
        if not all(type(x) is Tensor for x in xs):  # labels, arrays, numbers: constants
            xs = [lift(x, xs) for x in xs]
        return Tensor.apply(cls(*params, **kwargs), *xs)

    fn.__name__ = fn.__qualname__ = cls.name
    fn.__doc__ = cls.__doc__
    fn.__signature__ = _signature(cls)
    fn.op = cls
    return fn


def _signature(cls):
    names = getattr(cls, "argnames", ("x",))
    inputs = [inspect.Parameter(a, inspect.Parameter.POSITIONAL_ONLY) for a in names]
    has_init = cls.__init__ is not object.__init__
    params = list(inspect.signature(cls.__init__).parameters.values())[1:] if has_init else []
    params = [p for p in params if p.kind != p.VAR_KEYWORD]
    return inspect.Signature(inputs + params)


def _install(cls, present):
    """Registry listener: give each op its function and, if it asks, a Tensor method."""
    name = cls.name
    current = Tensor.__dict__.get(name)
    if not present:
        if getattr(current, "op", None) is cls:
            delattr(Tensor, name)
        return
    if cls.method and current is not None and getattr(current, "op", None) is None:
        raise ValueError(f"Op {cls.__qualname__}: Tensor.{name} already exists and is not an "
                         "op; choose another name, or set method = False")
    cls.function = function_for(cls)
    if cls.method:
        setattr(Tensor, name, cls.function)


def _operand(value, partner):
    """``value`` as a Tensor for an operator with ``partner``: a cached constant for a Python
    number next to a float Tensor (the common ``x * 2.0``), else ``lift``."""
    if type(value) is float or type(value) is int:
        dtype = partner._data.dtype
        if dtype.kind == "f":
            const = _CONSTANTS.get((value, dtype))
            if const is not None:
                return const
    return lift(value, (partner,))


def _binary(cls, reflected=False):
    if reflected:
        def method(self, other):
            if type(other) is not Tensor:
                other = _operand(other, self)
            return Tensor.apply(cls(), other, self)
    else:
        def method(self, other):
            if type(other) is not Tensor:
                other = _operand(other, self)
            return Tensor.apply(cls(), self, other)
    method.__doc__ = cls.__doc__
    return method


def _compare(ufunc):
    def method(self, other):
        other = other._data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self._data, other))
    return method


for _name, _op in [("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"),
                   ("pow", "pow"), ("matmul", "matmul")]:
    setattr(Tensor, f"__{_name}__", _binary(REGISTRY[_op]))
    setattr(Tensor, f"__r{_name}__", _binary(REGISTRY[_op], reflected=True))
for _name, _ufunc in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(Tensor, f"__{_name}__", _compare(_ufunc))
Tensor.__neg__ = lambda self: Tensor.apply(REGISTRY["neg"](), self)
Tensor.__pos__ = lambda self: self
on_register(_install)


# ---- NumPy-named methods without a gradient, and the cast (issue 13) -----------------------
def _argmax(self, axis=None, keepdims=False):
    """Index of the largest element (along ``axis``), as np.argmax; no gradient (an index)."""
    return Tensor._make(np.argmax(self._data, axis=axis, keepdims=keepdims))


def _argmin(self, axis=None, keepdims=False):
    """Index of the smallest element (along ``axis``), as np.argmin; no gradient (an index)."""
    return Tensor._make(np.argmin(self._data, axis=axis, keepdims=keepdims))


def _astype(self, dtype):
    """y = x.astype(dtype) on the tape (gx comes back in x's dtype); a cast to an integer or
    boolean dtype has no gradient, as a detached result."""
    if np.dtype(dtype).kind != "f":
        return Tensor._make(self._data.astype(dtype))
    return Tensor.apply(REGISTRY["astype"](dtype), self)


Tensor.argmax, Tensor.argmin, Tensor.astype = _argmax, _argmin, _astype
Tensor.tolist = lambda self: self._data.tolist()
Tensor.tolist.__doc__ = "The data as nested Python lists (as ndarray.tolist)."
