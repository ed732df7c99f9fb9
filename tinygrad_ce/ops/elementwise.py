"""Elementwise functions. At kinks the gradients follow PyTorch's conventions (see each op)."""

import numpy as np

from .base import Op, data_of


def _stable_sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), computed in place in one new array.

    exp(-x) overflows only for x below -L, L the largest float whose exp is finite; then x is
    first raised to -L (no warning, and no costly np.errstate) and the elements below get
    exp(x), which is sigmoid(x) to the last bit there. (The textbook stable form
    exp(-logaddexp(0, -x)) is 3x slower in float64 and 10x in float32, where NumPy's logaddexp
    has no vectorised loop.)
    """
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    low = _lowest_input(x.dtype)
    clipped = x.size and not x.min() >= low     # (True for a nan too: it is kept by maximum)
    z = np.maximum(x, low) if clipped else np.negative(x)
    if type(z) is not np.ndarray:   # a 0-d input gives a NumPy scalar: make it an array
        z = np.array(z)
    if clipped:
        np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)
    if clipped:
        below = x < low
        z[below] = np.exp(x[below])
    return z


_LOWEST = {}


def _lowest_input(dtype):
    """-L for a float dtype: exp(L) is the largest finite exp."""
    low = _LOWEST.get(dtype)
    if low is None:
        float_type = dtype.type
        top = float_type(np.log(np.finfo(float_type).max))
        with np.errstate(over="ignore"):       # the rounded log may sit just above
            while not np.isfinite(np.exp(top)):
                top = np.nextafter(top, float_type(0))
        low = _LOWEST[dtype] = -top
    return low


class Exp(Op):
    """y = exp(x);  gx = gy * y"""
    saves_inputs, saves_output = False, True
    name = "exp"
    numpy = (np.exp,)

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy, x, y):
        return (gy * y,)


class Log(Op):
    """y = log(x);  gx = gy / x"""
    saves_inputs, saves_output = True, False
    name, domain = "log", (0.1, 5.0)
    numpy = (np.log,)

    def forward(self, x):
        return np.log(x)

    def backward(self, gy, x, y):
        return (gy / x,)


class Sqrt(Op):
    """y = sqrt(x);  gx = gy / (2 y)"""
    saves_inputs, saves_output = False, True
    name, domain = "sqrt", (0.1, 5.0)
    numpy = (np.sqrt,)

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy, x, y):
        return (gy / (2 * y),)


class Abs(Op):
    """y = |x|;  gx = gy * sign(x)  (0 at x = 0, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, kinks = "abs", (0.0,)
    numpy = (np.abs,)

    def forward(self, x):
        return np.abs(x)

    def backward(self, gy, x, y):
        return (gy * np.sign(data_of(x)),)


class Tanh(Op):
    """y = tanh(x);  gx = gy * (1 - y^2)"""
    saves_inputs, saves_output = False, True
    name = "tanh"
    numpy = (np.tanh,)

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy, x, y):
        return (gy * (1 - y * y),)


class Sigmoid(Op):
    """y = 1 / (1 + exp(-x)), computed without overflow;  gx = gy * y * (1 - y)"""
    saves_inputs, saves_output = False, True
    name, domain = "sigmoid", (-6.0, 6.0)

    def forward(self, x):
        return _stable_sigmoid(x)

    def backward(self, gy, x, y):
        gx = 1 - y      # a new array (or Tensor): the in-place products below write only to it
        gx *= y
        gx *= gy
        return (gx,)


class ReLU(Op):
    """y = max(x, 0);  gx = gy * (x > 0)  (0 at x = 0, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, kinks = "relu", (0.0,)

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, gy, x, y):
        return (gy * (data_of(x) > 0),)


class _Extremum(Op):
    arity, argnames, broadcasts = 2, ("a", "b"), True
    saves_inputs, saves_output = True, False

    @classmethod
    def cases(cls, draw, t):
        """Two broadcastable arrays that never tie (a tie is a kink)."""
        sa, sb = draw(t.broadcastable_shapes(2))
        a, b = t.op_elements(cls, draw, sa), t.op_elements(cls, draw, sb)
        # a on a half-grid shifted by .13, b by .37: |a - b| >= 0.24 everywhere, never a tie
        return {}, [np.round(a * 2) / 2 + 0.13, np.round(b * 2) / 2 + 0.37]

    def forward(self, a, b):
        return self.pick(a, b)

    def backward(self, gy, a, b, y):
        a, b = data_of(a), data_of(b)
        wa = self.wins(a, b) + 0.5 * (a == b)  # a tie splits the gradient in half
        return gy * wa, gy * (1 - wa)


class Maximum(_Extremum):
    """y = maximum(a, b);  ga = gy * [a > b],  gb = gy * [a < b]  (a tie: half each, PyTorch)"""
    name, pick, wins = "maximum", staticmethod(np.maximum), staticmethod(np.greater)
    numpy = (np.maximum,)


class Minimum(_Extremum):
    """y = minimum(a, b);  ga = gy * [a < b],  gb = gy * [a > b]  (a tie: half each, PyTorch)"""
    name, pick, wins = "minimum", staticmethod(np.minimum), staticmethod(np.less)
    numpy = (np.minimum,)


class Where(Op):
    """y = where(cond, a, b);  ga = gy * cond,  gb = gy * (1 - cond);  cond gets no gradient"""
    saves_inputs, saves_output = True, False
    name, arity, argnames, nondiff, broadcasts = "where", 3, ("cond", "a", "b"), (0,), True
    numpy = (np.where,)

    @classmethod
    def cases(cls, draw, t):
        """A boolean condition and two arrays, the three shapes broadcastable."""
        sc, sa, sb = draw(t.broadcastable_shapes(3))
        cond = draw(t.hnp.arrays(bool, sc))
        return {}, [cond, t.op_elements(cls, draw, sa), t.op_elements(cls, draw, sb)]

    def forward(self, cond, a, b):
        if cond.dtype != bool:
            raise TypeError(f"where: cond must be boolean, got dtype {cond.dtype}; "
                            "build it with a comparison such as x > 0")
        return np.where(cond, a, b)

    def backward(self, gy, cond, a, b, y):
        cond = data_of(cond)
        return None, np.where(cond, gy, 0), np.where(cond, 0, gy)


class Clip(Op):
    """y = clip(x, lo, hi);  gx = gy * [lo <= x <= hi]  (boundaries pass gy, as PyTorch)"""
    saves_inputs, saves_output = True, False
    name, numpy = "clip", (np.clip,)

    @classmethod
    def cases(cls, draw, t):
        """lo and/or hi (at least one), x kept off both."""
        st = t.st
        lo = draw(st.one_of(st.none(), st.floats(-2, 0).map(lambda v: round(v, 2))))
        hi = draw(st.one_of(st.none() if lo is not None else st.just(1.0),
                            st.floats(0.5, 2).map(lambda v: round(v, 2))))
        x = draw(t.arrays(draw(t.shapes()), avoid=[v for v in (lo, hi) if v is not None]))
        return {"lo": lo, "hi": hi}, [x]

    def __init__(self, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
            raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)

    def backward(self, gy, x, y):
        x = data_of(x)
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return (gy * inside,)
