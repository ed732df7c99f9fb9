"""Hypothesis strategies and gradient assertions, shipped for your tests (needs hypothesis).

The project's own property tests use exactly these:

    from tinygrad_ce.testing import arrays, gradient_test
    test_my_fn = gradient_test(lambda x: (x * tg.tanh(x)).sum(), arrays(shape=(3, 2)))

``check_vjp``, ``vjp_test`` and ``torch_vjp`` check code that is not tinygrad_ce at all (a
NumPy function with its gradient, a ``torch.autograd.Function``); see ``tinygrad_ce.vjp``.

``op_cases(op_class)`` draws inputs and parameters for a registered op from its metadata
(``domain``, ``kinks``, ``nondiff`` and its ``cases`` method), so a new op is under the property
tests by being defined.
"""

import sys

import numpy as np

try:
    from hypothesis import given, reject
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # the only module that needs it
    raise ImportError("tinygrad_ce.testing needs hypothesis: pip install 'tinygrad_ce[testing]' "
                      "(or pip install hypothesis)") from e

from .gradcheck import gradcheck, one_float32_warning
from .tensor import Tensor
from .vjp import check_vjp, torch_vjp, vjp_test  # noqa: F401  (re-exported: the engineer's tools)

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
    starting with ``test_`` and pytest runs it. A failure shrinks to a minimal example. An
    example that lands on a kink (``report.kinks``: the gradient is not defined there) is
    discarded; float32 inputs warn once per test, not once per example.
    """
    state = {"where": "gradient_test", "warned": False}

    @given(st.tuples(*strategies))
    def test(inputs):
        with one_float32_warning("gradient_test", state):
            report = assert_gradients_match(fn, *inputs, **gradcheck_kwargs)
        if report.kinks:
            reject()
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


hnp = hnp   # for an op's cases(draw, t): t.st and t.hnp are hypothesis's own strategies
st = st


def op_elements(cls, draw, shape):
    """An array of ``shape`` from the op's ``domain``, kept off its ``kinks``."""
    lo, hi = cls.domain
    return draw(arrays(shape, lo=lo, hi=hi, avoid=cls.kinks))


@st.composite
def distinct(draw, shape):
    """Values at least 0.01 apart, so a max or min has no ties."""
    n = int(np.prod(shape))
    vals = draw(st.lists(st.integers(-300, 300), min_size=n, max_size=n, unique=True))
    return np.array(vals, dtype=np.float64).reshape(shape) / 100


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


@st.composite
def conv_geometry(draw, n=None):
    """(x shape, kernel, stride, padding) over 1 or 2 spatial axes, the kernel fitting."""
    n = draw(st.integers(1, 2)) if n is None else n
    k = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 2)) for _ in range(n))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    sizes = tuple(draw(st.integers(max(1, ki - 2 * pi), ki + 3)) for ki, pi in zip(k, p))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sizes, k, s, p


@st.composite
def op_cases(draw, op_class):
    """A ``Case`` for an op class, built-in or yours, drawn by its own ``cases(draw, t)``
    (by default: ``arity`` broadcastable arrays from its ``domain``, off its ``kinks``)."""
    params, inputs = op_class.cases(draw, sys.modules[__name__])
    fixed = {i: inputs[i] for i in op_class.nondiff}
    return Case(op_class, params, inputs, fixed)


@st.composite
def hinge_scores(draw, n=None, k=None):
    """Scores (n, k) and labels whose margins s_j - s_t + delta (delta a multiple of 0.5) stay
    0.1 away from the hinge: scores on a half-grid plus 0.1 times the column number."""
    x, t = draw(logits_and_labels(n, k))
    return np.round(x * 2) / 2 + 0.1 * np.arange(x.shape[1]), t
