"""Layers own their parameters and sub-layers (API.md: the layer lines of the second round),
copies are independent, and a layer gives one answer with and without create_graph."""

import copy
import pickle

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.layers import catalogue


class Block(tg.Layer):
    """Two Affines with a ReLU, by hand and on the tape."""

    def __init__(self, rng):
        super().__init__()
        self.first, self.act, self.second = tg.Affine(3, 4, rng=rng), tg.ReLU(), tg.Affine(4, 2, rng=rng)
        self.scale = tg.Tensor(np.ones(2), requires_grad=True)

    def forward(self, x):
        return self.second.forward(self.act.forward(self.first.forward(x))) * self.scale.data

    def backward(self, dout):
        self.add_grad(self.scale, (dout * self.second.forward(
            self.act.forward(self.first.forward(self.first.x)))).sum(axis=0))
        return self.first.backward(self.act.backward(self.second.backward(dout * self.scale.data)))

    def reference(self, x):
        return self.second.reference(self.act.reference(self.first.reference(x))) * self.scale


def test_parameters_and_sub_layers_register_on_assignment_at_any_depth():
    inner = Block(0)
    model = tg.Sequential(tg.Affine(2, 3, rng=1), inner, tg.Sequential(tg.Tanh(), tg.Affine(2, 2)))
    names = [n for n, _ in model.named_params()]
    assert names == ["0.W", "0.b", "1.first.W", "1.first.b", "1.second.W", "1.second.b",
                     "1.scale", "2.1.W", "2.1.b"]
    assert set(model.state()) == set(names)
    inner.scale = tg.Tensor(np.ones(2))          # no longer a parameter
    assert "1.scale" not in dict(model.named_params())


def test_a_layer_used_twice_is_listed_and_stepped_once():
    a = tg.Affine(3, 3, rng=0)
    model = tg.Sequential(a, tg.ReLU(), a)
    assert len(model.params()) == 2
    x = tg.Tensor(np.random.default_rng(1).standard_normal((4, 3)))
    before = a.W.data.copy()
    model(x).sum().backward()
    tg.optim.SGD(model.params(), lr=0.1).step()
    np.testing.assert_allclose(a.W.data, before - 0.1 * a.W.grad.data)


def test_an_optimizer_given_a_parameter_twice_raises():
    a = tg.Affine(3, 3, rng=0)
    with pytest.raises(ValueError, match="twice"):
        tg.optim.Adam([a.W, a.b, a.W])


def test_nested_save_and_load_with_dotted_names(tmp_path):
    model = tg.Sequential(tg.Affine(3, 4, rng=0), tg.Sequential(tg.BatchNorm(4), tg.ReLU()),
                          Block(1))
    model.save(tmp_path / "m.npz")
    assert sorted(model.state()) == sorted(
        ["0.W", "0.b", "1.0.gamma", "1.0.beta", "1.0.running_mean", "1.0.running_var",
         "2.first.W", "2.first.b", "2.second.W", "2.second.b", "2.scale"])
    other = tg.Sequential(tg.Affine(3, 4, rng=5), tg.Sequential(tg.BatchNorm(4), tg.ReLU()),
                          Block(6))
    other.load(tmp_path / "m.npz")
    for k, v in model.state().items():
        np.testing.assert_array_equal(other.state()[k], v, err_msg=k)
    with pytest.raises(ValueError, match="2.first.W"):
        tg.Sequential(tg.Affine(3, 4), tg.Sequential(tg.BatchNorm(4), tg.ReLU()),
                      tg.Affine(4, 2)).load(tmp_path / "m.npz")


def test_train_and_eval_reach_nested_layers():
    bn = tg.BatchNorm(3)
    model = tg.Sequential(tg.Sequential(bn))
    model.eval()
    assert not bn.training
    model.train()
    assert bn.training


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copies_are_independent_and_trainable_while_a_graph_is_alive(clone):
    model = tg.Sequential(tg.Affine(3, 4, rng=0), tg.ReLU(), tg.Affine(4, 2, rng=1))
    x = tg.Tensor(np.random.default_rng(2).standard_normal((5, 3)))
    loss = model(x).sum()                     # a live graph: model's parameters are locked
    twin = clone(model)
    assert all(p is not q and not np.shares_memory(p.data, q.data)
               for p, q in zip(model.params(), twin.params()))
    twin(x).sum().backward()
    tg.optim.SGD(twin.params(), lr=0.1).step()  # the copy steps although model's graph lives
    assert not np.allclose(twin.params()[0].data, model.params()[0].data)
    loss.backward()
    tg.optim.SGD(model.params(), lr=0.1).step()


def test_pickling_a_tensor_keeps_data_grad_and_flag_not_history():
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * 2
    y.sum().backward()
    x2 = pickle.loads(pickle.dumps(x))
    assert x2.requires_grad and x2.name == "x" and x2.data.flags.writeable
    np.testing.assert_array_equal(x2.grad.data, [2.0, 2.0])
    y2 = copy.deepcopy(y)
    assert y2.is_leaf and not y2.requires_grad
    np.testing.assert_array_equal(y2.data, [2.0, 4.0])


@pytest.mark.parametrize("name", sorted(catalogue()))
@pytest.mark.parametrize("at_kinks", [False, True])
def test_first_order_gradients_are_the_same_with_and_without_create_graph(name, at_kinks):
    grads = []
    for create_graph in (False, True):
        layer, inputs = catalogue()[name](np.random.default_rng(0))  # same weights, same mask
        x = inputs[0].copy()
        if at_kinks:
            x[:, ::2] = 0.0   # ReLU'(0) and friends: references share the layers' conventions
        xt = tg.Tensor(x, requires_grad=True)
        out = layer(xt, *inputs[1:]) if layer.is_loss else layer(xt)
        gy = np.random.default_rng(1).standard_normal(out.shape)
        gs = tg.grad(out, [xt, *layer.params()], gy, create_graph=create_graph)
        grads.append([g.data for g in gs])
    for plain, recorded in zip(*grads):
        np.testing.assert_allclose(recorded, plain, rtol=1e-10, atol=1e-12, err_msg=name)
