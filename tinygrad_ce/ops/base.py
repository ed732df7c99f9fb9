"""The Op protocol and the registry that turns every op class into a Tensor method.

An op is one class. ``forward(*xs)`` works on ndarrays and returns one ndarray.
``backward(gy, *xs, y)`` gets the gradient arriving from above (``gy``), the inputs and the
output, and returns one gradient per input (``None`` where there is none). Backward formulas use
only operators and NumPy functions that also work on Tensors, so with ``create_graph=True`` the
engine runs the very same formula on Tensors and records it: second derivatives come for free.

Anything a backward needs besides its arguments must be piecewise constant (masks, indices,
shapes): it is stored on ``self`` in ``forward`` and treated as a constant.
"""

import functools
import inspect

import numpy as np

REGISTRY = {}
ARRAYS = (np.ndarray, np.generic)  # what NumPy hands back: arrays, or scalars from 0-d results


class Op:
    """Base class of every primitive op; subclasses with a ``name`` are registered.

    Metadata read by the property tests (``tinygrad_ce.testing``):
    ``arity`` (number of Tensor inputs, ``None`` for a list), ``kind`` (how inputs and parameters
    are drawn), ``domain`` (interval inputs are drawn from), ``kinks`` (points where the
    derivative jumps, kept away from), ``nondiff`` (input positions that never get a gradient).
    """

    name = ""
    arity = 1
    kind = "unary"
    domain = (-3.0, 3.0)
    kinks = ()
    nondiff = ()
    saves_inputs = True   # backward reads the inputs' data: they are locked against writes
    saves_output = True   # backward reads the output's data: it is locked too
    method = True     # also a Tensor method (x.exp()); False for private ops
    public = True     # also a tinygrad_ce function (tg.exp)
    released = False
    inputs = None     # the input Tensors, set when the op is recorded on the tape

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            REGISTRY[cls.name] = cls

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, gy, *xs_and_y):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def params(self):
        """The op's parameters (constructor arguments not at their defaults), for printing."""
        names = _init_parameters(type(self))
        return {p.name: getattr(self, p.name) for p in names if p.name in vars(self)
                and not _is_default(getattr(self, p.name), p.default)}

    def release(self):
        """Drop everything kept for backward (a later backward through it is an error) and
        unlock the inputs' data for writing again."""
        inputs, name, locked = self.inputs, self.name, self.saves_inputs
        self.__dict__.clear()
        self.released, self.name = True, name
        if locked:
            for x in inputs or ():
                x._unlock()

    def __del__(self):
        # a graph dropped without backward must not leave its inputs locked for ever
        if self.inputs and self.saves_inputs and not self.released:
            for x in self.inputs:
                x._unlock()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}({args})"


@functools.lru_cache(maxsize=None)
def _init_parameters(cls):
    """The parameters of ``cls.__init__`` after self (inspect is slow: once per class)."""
    return list(inspect.signature(cls.__init__).parameters.values())[1:]


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
