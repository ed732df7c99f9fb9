"""Your own ops (API.md, "Your own ops"): a subclass of tg.Op is served like a built-in."""

import ast
import pathlib
import traceback

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.ops.base import REGISTRY, unregister
from tinygrad_ce.testing import op_cases


@pytest.fixture
def defined():
    """Define op classes in a test; they are unregistered afterwards."""
    names = []
    yield names
    for name in names:
        if name in REGISTRY:
            unregister(name)


def _sinh_cosh(defined):
    class MySinh(tg.Op):
        """y = sinh(x);  gx = gy * cosh(x)"""
        name, numpy = "my_sinh", (np.sinh,)

        def forward(self, x):
            return np.sinh(x)

        def backward(self, gy, x, y):
            return (gy * np.cosh(x),)   # on Tensors too: np.cosh(t) records my_cosh

    class MyCosh(tg.Op):
        """y = cosh(x);  gx = gy * sinh(x)"""
        name, numpy = "my_cosh", (np.cosh,)

        def forward(self, x):
            return np.cosh(x)

        def backward(self, gy, x, y):
            return (gy * np.sinh(x),)

    defined += ["my_sinh", "my_cosh"]
    return MySinh, MyCosh


def test_a_subclass_becomes_a_function_and_a_method_on_definition(defined):
    MySinh, _ = _sinh_cosh(defined)
    assert tg.my_sinh.op is MySinh and tg.Tensor.my_sinh.op is MySinh
    x = tg.Tensor([0.5, -1.0], requires_grad=True)
    y = x.my_sinh()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cosh([0.5, -1.0]))
    assert "my_sinh" in str(y.tape())
    unregister("my_sinh")
    assert not hasattr(tg, "my_sinh") and not hasattr(tg.Tensor, "my_sinh")


def test_numpy_spelling_records_the_op_and_second_order_works(defined):
    _sinh_cosh(defined)
    x = tg.Tensor([0.3, -0.7, 1.1], requires_grad=True)
    y = np.sinh(x)
    assert isinstance(y, tg.Tensor) and y._op.name == "my_sinh"
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    (gg,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, np.sinh(x.data))   # d2/dx2 sinh = sinh
    assert tg.gradgradcheck(tg.my_sinh, [np.array([0.3, -0.7, 1.1])])


def test_numpy_spelling_taken_or_name_taken_is_an_error(defined):
    _sinh_cosh(defined)
    with pytest.raises(ValueError, match="np.sinh already means the op 'my_sinh'"):
        class Other(tg.Op):
            name, numpy = "other_sinh", (np.sinh,)
    with pytest.raises(ValueError, match="'exp' is taken"):
        class Exp2(tg.Op):
            name = "exp"
    with pytest.raises(ValueError, match="Tensor.shape already exists"):
        class Shape(tg.Op):
            name = "shape"
    assert "other_sinh" not in REGISTRY and "shape" not in REGISTRY
    assert REGISTRY["exp"].__module__ == "tinygrad_ce.ops.elementwise"


def test_defining_a_class_again_replaces_it(defined):
    MySinh, _ = _sinh_cosh(defined)
    MySinh2, _ = _sinh_cosh(defined)    # a rerun notebook cell
    assert REGISTRY["my_sinh"] is MySinh2 is tg.my_sinh.op


def _bad_op(defined, returned):
    class Bad(tg.Op):
        name = "bad_for_test"

        def forward(self, a, b):
            return a * b

        def backward(self, gy, a, b, y):
            return returned(gy, a, b)

    Bad.arity = 2
    defined.append("bad_for_test")
    a, b = (tg.Tensor(np.ones((2, 3)), requires_grad=True) for _ in range(2))
    return tg.Tensor.apply(Bad(), a, b)


@pytest.mark.parametrize("returned, error, message", [
    (lambda gy, a, b: (gy * b,), TypeError, r"bad_for_test.backward returned 1 values for 2"),
    (lambda gy, a, b: gy * b, TypeError, r"bad_for_test.backward returned ndarray for 2"),
    (lambda gy, a, b: (gy * b, np.ones(3)), ValueError, r"bad_for_test: backward gave a "
     r"gradient of shape \(3,\) for an input of shape \(2, 3\)"),
    (lambda gy, a, b: (gy * b, np.ones((2, 4))), ValueError, r"bad_for_test: backward gave a "
     r"gradient of shape \(2, 4\) that does not reduce"),
    (lambda gy, a, b: (gy * b, (gy > 0)), TypeError, r"bad_for_test.backward: the gradient for "
     r"input 1 has dtype bool"),
    (lambda gy, a, b: (gy * b, [1.0]), TypeError, r"input 1 is a list"),
])
def test_a_wrong_backward_is_an_error_naming_the_op(defined, returned, error, message):
    y = _bad_op(defined, returned)
    with pytest.raises(error, match=message):
        y.sum().backward()


def test_an_error_in_a_users_forward_keeps_the_users_line(defined):
    class Fails(tg.Op):
        name = "fails_for_test"

        def forward(self, x):
            return x[np.array([7])]          # the user's line: an IndexError

        def backward(self, gy, x, y):
            return (None,)

    defined.append("fails_for_test")
    with pytest.raises(IndexError) as info:
        tg.fails_for_test(tg.Tensor(np.ones(3), requires_grad=True))
    lines = [f.line for f in traceback.extract_tb(info.value.__traceback__)]
    assert "return x[np.array([7])]          # the user's line: an IndexError" in lines
    assert "in fails_for_test, input shapes (3,)" in info.value.__notes__


def test_op_cases_draws_a_user_op_like_a_built_in(defined):
    MySinh, _ = _sinh_cosh(defined)

    class Scale(tg.Op):
        """y = k x;  gx = k gy"""
        name, domain = "scale_for_test", (-1.0, 1.0)

        def __init__(self, k=1.0):
            self.k = k

        @classmethod
        def cases(cls, draw, t):
            return {"k": draw(t.st.floats(-2, 2))}, [draw(t.arrays((2, 3), lo=-1, hi=1))]

        def forward(self, x):
            return self.k * x

        def backward(self, gy, x, y):
            return (self.k * gy,)

    defined.append("scale_for_test")
    seen = []

    @settings(max_examples=10, deadline=None)
    @given(data=st.data())
    def check(data):
        for cls in (MySinh, Scale):
            case = data.draw(op_cases(cls))
            seen.append(case)
            assert tg.gradcheck(case.fn, case.differentiable(), seed=0)
            assert tg.gradgradcheck(case.fn, case.differentiable(), seed=0)

    check()
    assert any(c.op_class is Scale and c.params["k"] != 0 for c in seen)


def test_the_package_has_no_import_cycles():
    """Module-level imports between the package's modules form a DAG (lazy imports inside
    functions are not counted)."""
    root = pathlib.Path(tg.__file__).parent
    graph = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                deps.add(target)
                deps.update(f"{target}.{a.name}" for a in node.names)
        graph[name] = deps
    graph = {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}
    done, visiting = set(), []

    def visit(n):
        if n in done:
            return
        assert n not in visiting, f"import cycle: {' -> '.join(visiting[visiting.index(n):] + [n])}"
        visiting.append(n)
        for d in sorted(graph[n]):
            if not (n.startswith(d + ".") or d == "tinygrad_ce"):  # a package importing its own
                visit(d)
        visiting.pop()
        done.add(n)

    for n in sorted(graph):
        visit(n)
