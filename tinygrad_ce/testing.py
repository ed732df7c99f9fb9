"""Hypothesis strategies and gradient assertions, shipped for your tests (needs hypothesis).

The project's own property tests use exactly these:

    from tinygrad_ce.testing import arrays, gradient_test
    test_my_fn = gradient_test(lambda x: (x * tg.tanh(x)).sum(), arrays(shape=(3, 2)))

``op_cases(op_class)`` draws inputs and parameters for a registered op from its metadata
(``kind``, ``domain``, ``kinks``), so a new op is under the property tests by being registered.
"""

import numpy as np

try:
    from hypothesis import given
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # the only module that needs it
    raise ImportError("tinygrad_ce.testing needs hypothesis: pip install 'tinygrad_ce[testing]' "
                      "(or pip install hypothesis)") from e

from .gradcheck import gradcheck
from .tensor import Tensor

MARGIN = 0.1  # how far drawn values stay from a kink, for trustworthy finite differences


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes, small by default so that finite differences stay cheap."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def _away(a, kinks, margin=MARGIN):
    for k in kinks:
        near = np.abs(a - k) < margin
        a = np.where(near, np.where(a < k, k - margin, k + margin), a)
    return a


def arrays(shape=None, dtype=np.float64, lo=-3.0, hi=3.0, avoid=()):
    """ndarrays of ``shape`` (or a drawn shape) with values in [lo, hi], kept ``MARGIN`` away
    from every point in ``avoid``."""
    shape = shapes() if shape is None else shape
    elements = st.floats(lo, hi, allow_nan=False, allow_subnormal=False, width=64)
    return hnp.arrays(np.float64, shape, elements=elements).map(
        lambda a: _away(a, avoid).astype(dtype))


def tensors(shape=None, dtype=np.float64, lo=-3.0, hi=3.0, avoid=(), requires_grad=True):
    """Tensors (leaves) over ``arrays(...)``."""
    return arrays(shape, dtype, lo, hi, avoid).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3):
    """A tuple of ``num_shapes`` shapes that broadcast together (NumPy rules)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda r: r.input_shapes)


@st.composite
def axes(draw, shape, allow_none=True, allow_tuple=True):
    """An ``axis`` argument for ``shape``: None, an int (maybe negative) or a tuple of ints."""
    ndim = len(shape)
    options = [st.none()] if allow_none else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1,
                                    max_size=ndim).map(tuple))
    return draw(st.one_of(options)) if options else None


@st.composite
def probability_rows(draw, n=None, k=None):
    """A table of shape (n, k) whose rows are probability distributions."""
    n = draw(st.integers(1, 5)) if n is None else n
    k = draw(st.integers(2, 5)) if k is None else k
    w = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0, 1, allow_subnormal=False)))
    w = w + 1e-3
    return w / w.sum(axis=1, keepdims=True)


@st.composite
def logits_and_labels(draw, n=None, k=None, scale=4.0):
    """Logits of shape (n, k) and integer labels of shape (n,) in [0, k)."""
    n = draw(st.integers(1, 5)) if n is None else n
    k = draw(st.integers(2, 5)) if k is None else k
    x = draw(arrays((n, k), lo=-scale, hi=scale))
    t = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return x, t


def assert_gradients_match(fn, *inputs, **gradcheck_kwargs):
    """Raise AssertionError with gradcheck's table unless ``fn``'s gradients at ``inputs``
    match central differences (every floating input, a random upstream gradient)."""
    report = gradcheck(fn, list(inputs), **gradcheck_kwargs)
    if not report:
        raise AssertionError("\n" + str(report))
    return report


def gradient_test(fn, *strategies, **gradcheck_kwargs):
    """A hypothesis test that ``fn``'s gradients match finite differences on drawn inputs.

    ``strategies`` draw ``fn``'s inputs (e.g. ``arrays(...)``); assign the result to a name
    starting with ``test_`` and pytest runs it. A failure shrinks to a minimal example.
    """
    @given(st.tuples(*strategies))
    def test(inputs):
        assert_gradients_match(fn, *inputs, **gradcheck_kwargs)
    test.__name__ = f"test_gradient_of_{getattr(fn, '__name__', 'fn')}"
    return test


# ---- drawing the inputs of a registered op from its metadata -----------------------------------

class Case:
    """An op with drawn parameters and inputs; ``fixed`` holds inputs that get no gradient."""

    def __init__(self, op_class, params, inputs, fixed=None):
        self.op_class, self.params, self.inputs, self.fixed = op_class, params, inputs, fixed or {}

    def differentiable(self):
        """The inputs that get a gradient, in order."""
        return [x for i, x in enumerate(self.inputs) if i not in self.fixed]

    def fn(self, *xs):
        """Apply the op to the differentiable inputs ``xs`` (the fixed ones filled in)."""
        it = iter(xs)
        args = [self.fixed[i] if i in self.fixed else next(it) for i in range(len(self.inputs))]
        return Tensor.apply(self.op(), *args)

    def op(self):
        """A fresh op with the drawn parameters (given in constructor order)."""
        return self.op_class(*self.params.values())

    def __repr__(self):
        shapes_ = [np.shape(x) for x in self.inputs]
        return f"Case({self.op_class.name}, params={self.params}, shapes={shapes_})"


def _elements(cls, draw, shape):
    lo, hi = cls.domain
    return draw(arrays(shape, lo=lo, hi=hi, avoid=cls.kinks))


@st.composite
def _distinct(draw, shape):
    """Values at least 0.01 apart, so a max or min has no ties."""
    n = int(np.prod(shape))
    vals = draw(st.lists(st.integers(-300, 300), min_size=n, max_size=n, unique=True))
    return np.array(vals, dtype=np.float64).reshape(shape) / 100


def _unary(cls, draw):
    return {}, [_elements(cls, draw, draw(shapes()))]


def _binary(cls, draw):
    sa, sb = draw(broadcastable_shapes(2))
    return {}, [_elements(cls, draw, sa), _elements(cls, draw, sb)]


def _binary_tie(cls, draw):
    sa, sb = draw(broadcastable_shapes(2))
    a, b = _elements(cls, draw, sa), _elements(cls, draw, sb)
    # a on a half-grid shifted by .13, b by .37: |a - b| >= 0.24 everywhere, never a tie
    return {}, [np.round(a * 2) / 2 + 0.13, np.round(b * 2) / 2 + 0.37]


def _matmul(cls, draw):
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ba, bb = draw(broadcastable_shapes(2, max_dims=2))
    a_shape = draw(st.sampled_from([(k,), (n, k), ba + (n, k)]))
    b_shape = draw(st.sampled_from([(k,), (k, m), bb + (k, m)]))
    return {}, [_elements(cls, draw, a_shape), _elements(cls, draw, b_shape)]


def _where(cls, draw):
    sc, sa, sb = draw(broadcastable_shapes(3))
    cond = draw(hnp.arrays(bool, sc))
    return {}, [cond, _elements(cls, draw, sa), _elements(cls, draw, sb)]


def _clip(cls, draw):
    lo = draw(st.one_of(st.none(), st.floats(-2, 0).map(lambda v: round(v, 2))))
    hi = draw(st.one_of(st.none() if lo is not None else st.just(1.0),
                        st.floats(0.5, 2).map(lambda v: round(v, 2))))
    x = draw(arrays(draw(shapes()), avoid=[v for v in (lo, hi) if v is not None]))
    return {"lo": lo, "hi": hi}, [x]


def _reduce(cls, draw):
    shape = draw(shapes())
    x = draw(_distinct(shape)) if cls.kinks == ("ties",) else _elements(cls, draw, shape)
    return {"axis": draw(axes(shape)), "keepdims": draw(st.booleans())}, [x]


def _reshape(cls, draw):
    shape = draw(shapes())
    size = int(np.prod(shape))
    new = draw(st.sampled_from([(-1,), shape[::-1], (1,) + shape, (size, 1)]))
    return {"shape": new}, [_elements(cls, draw, shape)]


def _transpose(cls, draw):
    shape = draw(shapes())
    perm = draw(st.permutations(range(len(shape))))
    return {"axes": tuple(perm)}, [_elements(cls, draw, shape)]


@st.composite
def indices(draw, shape):
    """An index for an array of ``shape``: basic (ints, slices, None, ...), integer arrays with
    repeated entries, or a boolean mask."""
    kind = draw(st.sampled_from(["basic", "integer", "mask"]))
    if kind == "basic" or not shape:
        return draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    if kind == "integer":
        picks = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5))
        return np.array(picks)
    return draw(hnp.arrays(bool, shape))


def _getitem(cls, draw):
    shape = draw(shapes())
    return {"index": draw(indices(shape))}, [_elements(cls, draw, shape)]


def _index_add(cls, draw):
    shape = draw(shapes(min_dims=1))
    index = draw(indices(shape))
    return {"index": index, "shape": shape}, [_elements(cls, draw, np.zeros(shape)[index].shape)]


def _join(cls, draw):
    shape = draw(shapes(min_dims=1))
    count = draw(st.integers(1, 3))
    if cls.name == "stack":
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        return {"axis": axis}, [_elements(cls, draw, shape) for _ in range(count)]
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(count):
        s = list(shape)
        s[axis] = draw(st.integers(1, 3))
        parts.append(_elements(cls, draw, tuple(s)))
    return {"axis": axis}, parts


def _broadcast_to(cls, draw):
    shape = draw(shapes(max_dims=2, max_side=3))
    other = draw(hnp.broadcastable_shapes(shape, max_dims=3, max_side=3))
    return {"shape": np.broadcast_shapes(shape, other)}, [_elements(cls, draw, shape)]


def _softmax(cls, draw):
    shape = draw(shapes(min_dims=1))
    return {"axis": draw(st.integers(-len(shape), len(shape) - 1))}, [_elements(cls, draw, shape)]


def _cross_entropy(cls, draw):
    x, labels = draw(logits_and_labels())
    target = labels if draw(st.booleans()) else draw(probability_rows(*x.shape))
    return {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}, [x, target]


def _bce(cls, draw):
    z = draw(arrays(draw(shapes()), lo=-4, hi=4))
    t = draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 1, allow_subnormal=False)))
    return {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}, [z, t]


@st.composite
def conv_geometry(draw, n=None):
    """(x shape, kernel, stride, padding) over 1 or 2 spatial axes, the kernel fitting."""
    n = draw(st.integers(1, 2)) if n is None else n
    k = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 2)) for _ in range(n))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    sizes = tuple(draw(st.integers(max(1, ki - 2 * pi), ki + 3)) for ki, pi in zip(k, p))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sizes, k, s, p


def _conv(cls, draw):
    shape, k, s, p = draw(conv_geometry(cls.n))
    f = draw(st.integers(1, 3))
    inputs = [_elements(cls, draw, shape), _elements(cls, draw, (f, shape[1]) + k)]
    if draw(st.booleans()):
        inputs.append(_elements(cls, draw, (f,)))
    return {"stride": s, "padding": p}, inputs


def _im2col(cls, draw):
    shape, k, s, p = draw(conv_geometry())
    return {"kernel_size": k, "stride": s, "padding": p}, [_elements(cls, draw, shape)]


def _col2im(cls, draw):
    from .ops.conv import im2col_array
    shape, k, s, p = draw(conv_geometry())
    cols_shape = im2col_array(np.zeros(shape), k, s, p).shape
    return ({"x_shape": shape, "kernel_size": k, "stride": s, "padding": p},
            [_elements(cls, draw, cols_shape)])


def _pool(cls, draw):
    shape, k, s, p = draw(conv_geometry(cls.n))
    stride = None if draw(st.booleans()) and all(o >= k for o, k in zip(shape[2:], k)) else s
    x = draw(_distinct(shape)) if cls.kind == "max_pool" else _elements(cls, draw, shape)
    return {"kernel_size": k, "stride": stride, "padding": p}, [x]


def _windowed(cls, draw):
    from .ops.conv import out_sizes
    shape, k, s, p = draw(conv_geometry())
    y_shape = shape[:2] + out_sizes(shape[2:], k, s, p, cls.name)
    geometry = {"kernel_size": k, "stride": s, "padding": p}
    if cls.kind == "avg_unpool":
        return {"x_shape": shape, **geometry}, [_elements(cls, draw, y_shape)]
    idx = draw(hnp.arrays(np.int64, y_shape + (1,), elements=st.integers(0, int(np.prod(k)) - 1)))
    if cls.name == "window_gather":
        return {"idx": idx, **geometry}, [_elements(cls, draw, shape)]
    return {"idx": idx, "x_shape": shape, **geometry}, [_elements(cls, draw, y_shape)]


def _pad(cls, draw):
    shape = draw(shapes(min_dims=1))
    widths = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape]
    return {"pad_width": draw(st.sampled_from([widths, 1]))}, [_elements(cls, draw, shape)]


DRAWERS = {"unary": _unary, "binary": _binary, "binary_tie": _binary_tie, "matmul": _matmul,
           "where": _where, "clip": _clip, "reduce": _reduce, "reshape": _reshape,
           "transpose": _transpose, "getitem": _getitem, "index_add": _index_add,
           "join": _join, "broadcast_to": _broadcast_to, "softmax": _softmax,
           "cross_entropy": _cross_entropy, "bce": _bce, "conv": _conv, "im2col": _im2col,
           "col2im": _col2im, "max_pool": _pool, "avg_pool": _pool, "window_index": _windowed,
           "avg_unpool": _windowed, "pad": _pad}


@st.composite
def op_cases(draw, op_class):
    """A ``Case`` for a registered op: inputs from its domain, parameters for its kind."""
    if op_class.kind not in DRAWERS:
        raise ValueError(f"op_cases: no way to draw inputs for kind {op_class.kind!r} of op "
                         f"{op_class.name}; add a drawer to tinygrad_ce.testing.DRAWERS")
    params, inputs = DRAWERS[op_class.kind](op_class, draw)
    fixed = {i: inputs[i] for i in op_class.nondiff}
    return Case(op_class, params, inputs, fixed)
