"""Arithmetic: + - * / ** @ and unary minus. Broadcasting is undone by the engine, not here."""

import numpy as np

from .base import Op, data_of, dual


def needs_grad(op, i):
    """Does input ``i`` of ``op`` want a gradient? (PyTorch's ctx.needs_input_grad; True when
    the op runs off the tape, where nobody has said.) A constant such as the 2.0 in x * 2.0
    does not, and its gradient is not computed."""
    return op.inputs is None or op.inputs[i].requires_grad


class Add(Op):
    """y = a + b;  ga = gy,  gb = gy"""
    saves_inputs, saves_output = False, False
    name, arity, argnames, broadcasts, numpy = "add", 2, ("a", "b"), True, (np.add,)

    def forward(self, a, b):
        return a + b

    def backward(self, gy, a, b, y):
        return gy, gy


class Sub(Op):
    """y = a - b;  ga = gy,  gb = -gy"""
    saves_inputs, saves_output = False, False
    name, arity, argnames, broadcasts, numpy = "sub", 2, ("a", "b"), True, (np.subtract,)

    def forward(self, a, b):
        return a - b

    def backward(self, gy, a, b, y):
        return gy, (-gy if needs_grad(self, 1) else None)


class Mul(Op):
    """y = a * b;  ga = gy * b,  gb = gy * a"""
    saves_inputs, saves_output = True, False
    name, arity, argnames, broadcasts, numpy = "mul", 2, ("a", "b"), True, (np.multiply,)

    def forward(self, a, b):
        return a * b

    def backward(self, gy, a, b, y):
        return (gy * b if needs_grad(self, 0) else None,
                gy * a if needs_grad(self, 1) else None)


class Div(Op):
    """y = a / b;  ga = gy / b,  gb = -gy * a / b**2 = -gy * y / b"""
    saves_inputs, saves_output = True, True
    name, arity, argnames, broadcasts, numpy = "div", 2, ("a", "b"), True, (np.divide,)
    kinks = (0.0,)  # b is kept away from 0

    def forward(self, a, b):
        return a / b

    def backward(self, gy, a, b, y):
        ga = gy / b
        return ga, (-ga * y if needs_grad(self, 1) else None)


class Pow(Op):
    """y = a ** b;  ga = gy * b * a**(b - 1),  gb = gy * y * log(a)  (gb only if b needs it;
    at a = 0 as PyTorch: ga = 0 where b = 0, gb = 0 where b >= 0)"""
    saves_inputs, saves_output = True, True
    name, arity, argnames, broadcasts, numpy = "pow", 2, ("a", "b"), True, (np.power,)
    domain = (0.2, 3.0)  # a positive base keeps a**b real for any exponent

    def forward(self, a, b):
        return a ** b

    def backward(self, gy, a, b, y):
        a_, b_ = data_of(a), data_of(b)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 and log(0): masked below
            ga = gy * b * a ** (b - 1)
            gb = gy * y * np.log(a) if needs_grad(self, 1) else None
        if np.any(b_ == 0):    # d/da a**0 = 0, also at a = 0 (PyTorch)
            ga = np.where(b_ == 0, 0.0, ga)
        if gb is not None and np.any(a_ == 0):  # at a = 0 (b >= 0) PyTorch passes 0 to b
            gb = np.where((a_ == 0) & (b_ >= 0), 0.0, gb)
        return ga, gb


class Neg(Op):
    """y = -x;  gx = -gy"""
    saves_inputs, saves_output = False, False
    name, numpy = "neg", (np.negative,)

    def forward(self, x):
        return -x

    def backward(self, gy, x, y):
        return (-gy,)


class MatMul(Op):
    """y = a @ b (as np.matmul: 1-D, 2-D and batched);  ga = gy @ b^T,  gb = a^T @ gy"""
    saves_inputs, saves_output = True, False
    name, arity, argnames, numpy = "matmul", 2, ("a", "b"), (np.matmul,)

    @classmethod
    def cases(cls, draw, t):
        """1-D, 2-D and batched operands with matching inner dimensions."""
        n, k, m = (draw(t.st.integers(1, 3)) for _ in range(3))
        ba, bb = draw(t.broadcastable_shapes(2, max_dims=2))
        a_shape = draw(t.st.sampled_from([(k,), (n, k), ba + (n, k)]))
        b_shape = draw(t.st.sampled_from([(k,), (k, m), bb + (k, m)]))
        return {}, [t.op_elements(cls, draw, a_shape), t.op_elements(cls, draw, b_shape)]

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least one dimension, got shapes "
                             f"{a.shape} and {b.shape}; use * to multiply by a scalar")
        k_a, k_b = a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise ValueError(f"matmul: inner dimensions do not match: {a.shape} @ {b.shape} "
                             f"({k_a} != {k_b}); the last dimension of a must equal the "
                             f"{'second-to-last' if b.ndim > 1 else 'only'} dimension of b "
                             "(transpose one operand with .T?)")
        return a @ b

    def backward(self, gy, a, b, y):
        # 1-D operands are promoted to matrices as np.matmul does, and the extra axis dropped again
        if b.ndim == 1:
            gy = gy[..., None]
        if a.ndim == 1:
            gy = gy[..., None, :]
        a2 = a if a.ndim > 1 else a[None, :]
        b2 = b if b.ndim > 1 else b[:, None]
        ga = gy @ np.swapaxes(b2, -1, -2)
        gb = np.swapaxes(a2, -1, -2) @ gy
        if a.ndim == 1:
            ga = ga[..., 0, :]
        if b.ndim == 1:
            gb = gb[..., 0]
        return ga, gb


class Cast(Op):
    """y = x as dtype;  gx = gy as x's dtype (the engine's, for gradients under create_graph)"""
    saves_inputs, saves_output = False, False
    name, public, method = "cast", False, False

    def __init__(self, dtype=np.float64):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy, x, y):
        return (dual(Cast(self.x_dtype), gy),)
