"""The Op protocol, and the registry that serves every op class, built-in or yours.

Define your own op as one class::

    class Cube(tg.Op):
        '''y = x^3;  gx = 3 gy x^2'''
        name = "cube"              # tg.cube and x.cube() exist as soon as the class does
        domain = (-2.0, 2.0)       # test metadata: where tinygrad_ce.testing.op_cases draws

        def forward(self, x):      # ndarrays in, one ndarray out
            return x ** 3

        def backward(self, gy, x, y):   # one gradient per input (None where there is none)
            return (3 * gy * x * x,)

An op computing a NumPy function declares it, ``numpy = (np.sinh,)``, so ``np.sinh(t)``
records the op. ``forward(*xs)`` works on ndarrays. ``backward(gy, *xs, y)`` gets the
gradient arriving from above (``gy``), the inputs and the output, and returns one gradient
per input. Written with
operators and NumPy functions that also work on Tensors (``np.cos(x)`` on a Tensor records the
op that declares ``numpy = (np.cos,)``), the same formula runs on Tensors under
``create_graph=True`` and records itself: second derivatives come for free. The engine sums a
broadcast gradient back to its input's shape, and checks what backward returns (count, shape,
floating dtype) the first time each op runs backward, naming the op.

Anything a backward needs besides its arguments must be piecewise constant (masks, indices,
shapes): it is stored on ``self`` in ``forward`` and treated as a constant.

Test metadata (read by ``tinygrad_ce.testing.op_cases``, so a new op is under the property
tests by being defined): ``arity`` (Tensor inputs; None for a list), ``domain`` (the interval
inputs are drawn from), ``kinks`` (points where the derivative jumps, kept away from),
``nondiff`` (input positions that never get a gradient), and ``cases(draw, t)`` when inputs or
constructor arguments need more than that (see its docstring).
"""

import functools
import inspect
import operator

import numpy as np

REGISTRY = {}
ARRAYS = (np.ndarray, np.generic)  # what NumPy hands back: arrays, or scalars from 0-d results
_LISTENERS = []


def on_register(listener):
    """Call ``listener(cls, present)`` for every op class registered so far (present=True) and
    for each later registration (True) or ``unregister`` (False). This is how the Tensor
    methods, the ``tg.*`` functions and the NumPy tables follow the registry: imports point
    from them to here, never back."""
    _LISTENERS.append(listener)
    for cls in list(REGISTRY.values()):
        listener(cls, True)


def register(cls):
    """Add an op class under ``cls.name`` (done by defining the class). Defining a class again
    under the same module and name (a rerun notebook cell) replaces it; taking the name of a
    different op is an error."""
    old = REGISTRY.get(cls.name)
    if old is not None and _origin(old) != _origin(cls):
        raise ValueError(f"Op {cls.__qualname__}: the name {cls.name!r} is taken by "
                         f"{old.__module__}.{old.__qualname__}; choose another name")
    for other in REGISTRY.values():
        shared = [f.__name__ for f in cls.numpy if f in other.numpy and other.name != cls.name]
        if shared:
            raise ValueError(f"Op {cls.__qualname__}: np.{shared[0]} already means the op "
                             f"{other.name!r}; leave it out of {cls.__qualname__}.numpy")
    if old is not None:
        unregister(cls.name)
    REGISTRY[cls.name] = cls
    try:
        for listener in _LISTENERS:
            listener(cls, True)
    except Exception:
        unregister(cls.name)
        raise


def unregister(name):
    """Remove the op ``name`` from the registry, the Tensor methods, ``tg`` and the NumPy
    tables (for tests and notebooks)."""
    cls = REGISTRY.pop(name)
    for listener in _LISTENERS:
        listener(cls, False)


def _origin(cls):
    return cls.__module__, cls.__qualname__


class Op:
    """Base class of every op; a subclass that sets ``name`` is registered on definition.

    See the module docstring for the protocol and the test metadata.
    """

    name = ""
    arity = 1
    domain = (-3.0, 3.0)
    kinks = ()
    nondiff = ()
    numpy = ()        # NumPy functions and ufuncs that mean this op (np.exp -> exp)
    saves_inputs = True   # backward reads the inputs' data: they are locked against writes
    saves_output = True   # backward reads the output's data (an op's output is always read-only)
    method = True     # also a Tensor method (x.exp()); False for private ops
    public = True     # also a tinygrad_ce function (tg.exp)
    released = False
    inputs = None     # the input Tensors, set when the op is recorded on the tape
    function = None   # the function that records this op (tg.<name>), set by the registry

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            register(cls)

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, gy, *xs_and_y):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def cases(cls, draw, t):
        """Draw ``(params, inputs)`` for the property tests: constructor arguments by name and
        one ndarray per input. ``draw`` is hypothesis's; ``t`` is ``tinygrad_ce.testing`` (its
        strategies, and ``t.st``/``t.hnp`` for hypothesis's own). The default draws ``arity``
        arrays of broadcastable shapes from ``domain``, kept off ``kinks``; override it for
        anything else."""
        if cls.arity is None:
            raise TypeError(f"{cls.name}: an op with a list of inputs must define cases()")
        shapes = draw(t.broadcastable_shapes(cls.arity)) if cls.arity > 1 else [draw(t.shapes())]
        return {}, [t.op_elements(cls, draw, s) for s in shapes]

    @classmethod
    def from_numpy(cls, func, *args, **kwargs):
        """``func(*args, **kwargs)``, one of ``cls.numpy`` called on Tensors, as this op.
        The default passes the arguments on to ``tg.<name>``; override when NumPy's
        signature differs."""
        return cls.function(*args, **kwargs)

    def params(self):
        """The op's parameters (constructor arguments not at their defaults), for printing."""
        names = _init_parameters(type(self))
        return {p.name: getattr(self, p.name) for p in names if p.name in vars(self)
                and not _is_default(getattr(self, p.name), p.default)}

    def release(self):
        """Drop the arrays kept for backward (a later backward through it is an error) and
        unlock the inputs' data for writing again. What the printed tape shows stays: the
        inputs, as ``Ghost``s when an op made them (no data), and the constructor parameters
        (numbers, strings and tuples of numbers)."""
        d = self.__dict__
        inputs = d.pop("inputs", None) or ()
        if self.saves_inputs:
            for x in inputs:
                unlock(x._data)
        for k in [k for k, v in d.items() if not _small(v)]:
            del d[k]
        self.inputs = tuple([x if x._op is None or x._retain else x._ghost or ghost_of(x)
                             for x in inputs])
        self.released = True

    def __del__(self):
        # a graph dropped without backward must not leave its inputs locked for ever
        if self.inputs and self.saves_inputs and not self.released:
            for x in self.inputs:
                unlock(x._data)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}({args})"


@functools.lru_cache(maxsize=None)
def _init_parameters(cls):
    """The parameters of ``cls.__init__`` after self (inspect is slow: once per class)."""
    return list(inspect.signature(cls.__init__).parameters.values())[1:]


_SMALL = {type(None), bool, int, float, str}


def _small(value):
    """Worth keeping after release: numbers, strings, and tuples of numbers (axis, shape)."""
    kind = type(value)
    return kind in _SMALL or (kind is tuple and all(type(v) in _SMALL for v in value))


class Ghost(tuple):
    """What the printed tape needs of a Tensor once the op that consumed it was released: its
    creation number, the op that made it, shape, dtype and name; not its data. (A tuple:
    one is made per released input, so it must be cheap.)"""

    __slots__ = ()
    requires_grad, grad, _retain, _data = True, None, False, None
    _seq = property(operator.itemgetter(0))
    _op = property(operator.itemgetter(1))
    shape = property(operator.itemgetter(2))
    dtype = property(operator.itemgetter(3))
    name = property(operator.itemgetter(4))
    __hash__, __eq__ = object.__hash__, object.__eq__   # nodes are compared by identity


def ghost_of(x):
    """The one Ghost of Tensor ``x`` (made once, shared by every op that consumed ``x``)."""
    g = x._ghost
    if g is None:
        d = x._data
        g = x._ghost = tuple.__new__(Ghost, (x._seq, x._op, d.shape, d.dtype, x.name))
    return g


# ---- write locks on the buffers a live tape needs ----------------------------------------------
# A lock is counted per base buffer (the array that owns the memory), so a view, a reshape, a
# detach() or a Tensor(t) that shares the memory is covered too, and one tape finishing never
# unlocks memory another tape still needs.
LOCKS = {}   # id(base) -> [count, base, views made read-only with it]


def _base(a):
    b = a.base
    while isinstance(b, np.ndarray):
        a, b = b, b.base
    return a


def lock(a):
    """Make the memory behind ``a`` read-only until a matching ``unlock``."""
    base = a if a.base is None else _base(a)
    entry = LOCKS.get(id(base))
    if entry is None:
        if not base.flags.writeable:   # read-only already (a constant, a broadcast): not ours
            return
        base.setflags(write=False)
        entry = LOCKS[id(base)] = [0, base, []]
    entry[0] += 1
    if a is not base and a.flags.writeable:
        a.setflags(write=False)
        entry[2].append(a)


def unlock(a):
    """Undo one ``lock``; the memory is writable again when no lock is left."""
    base = a if a.base is None else _base(a)
    entry = LOCKS.get(id(base))
    if entry is None:
        return
    entry[0] -= 1
    if entry[0] <= 0:
        del LOCKS[id(base)]
        base.setflags(write=True)
        for view in entry[2]:
            view.setflags(write=True)


def is_locked(a):
    """True while a live tape needs the memory behind ``a``."""
    return id(a if a.base is None else _base(a)) in LOCKS
def _is_default(value, default):
    try:
        return value is default or bool(value == default)
    except (ValueError, TypeError):
        return False


def dual(op, *xs):
    """Run ``op`` on ndarrays, or record it on the tape when the arguments are Tensors.

    Backward formulas call this for ops that have no NumPy spelling (e.g. a scatter-add), so
    the same line serves first-order (ndarrays) and higher-order (Tensors) gradients.
    """
    if all(isinstance(x, ARRAYS) for x in xs):
        return op.forward(*[np.asarray(x) for x in xs])
    tensor = next(x for x in xs if not isinstance(x, ARRAYS))
    return type(tensor).apply(op, *xs)


def data_of(x):
    """The ndarray behind ``x``, which is an ndarray or a Tensor."""
    return np.asarray(x) if isinstance(x, ARRAYS) else x.data


def normalize_axis(axis, ndim, op):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for an input with {ndim} "
                             f"dimension(s); use an axis in [{-ndim}, {ndim - 1}]")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def keepdims_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as 1 (for broadcasting a gradient back)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))
