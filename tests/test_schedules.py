"""Learning-rate schedules: PyTorch's formulas, on every optimizer with a learning rate."""

import math

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce import optim

SCHEDULES = {
    "step": (lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
             lambda o, s: s.StepLR(o, step_size=3, gamma=0.5)),
    "exponential": (lambda o: optim.ExponentialLR(o, gamma=0.9),
                    lambda o, s: s.ExponentialLR(o, gamma=0.9)),
    "cosine": (lambda o: optim.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
               lambda o, s: s.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
}


def quadratic_param():
    return tg.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)


def test_closed_forms_by_hand():
    sgd = optim.SGD([quadratic_param()], lr=1.0)
    step = optim.StepLR(sgd, step_size=2, gamma=0.1)
    lrs = [sgd.lr] + [(step.step(), sgd.lr)[1] for _ in range(5)]
    np.testing.assert_allclose(lrs, [1, 1, 0.1, 0.1, 0.01, 0.01])
    sgd = optim.SGD([quadratic_param()], lr=2.0)
    cos = optim.CosineAnnealingLR(sgd, T_max=4)
    lrs = [(cos.step(), sgd.lr)[1] for _ in range(4)]
    np.testing.assert_allclose(lrs, [1 + math.cos(math.pi * e / 4) for e in range(1, 5)],
                               atol=1e-15)
    assert cos.get_last_lr() == [sgd.lr] and sgd.lr == pytest.approx(0, abs=1e-15)
    sgd = optim.SGD([quadratic_param()], lr=1.0)
    exp = optim.ExponentialLR(sgd, gamma=0.5)
    for _ in range(3):
        exp.step()
    assert sgd.lr == 0.125


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_give_torchs_learning_rates(name):
    torch = pytest.importorskip("torch")
    ours, theirs = SCHEDULES[name]
    sgd = optim.SGD([quadratic_param()], lr=0.1)
    schedule = ours(sgd)
    t_opt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.1)
    t_schedule = theirs(t_opt, torch.optim.lr_scheduler)
    for _ in range(20):   # past T_max too
        t_opt.step()
        t_schedule.step()
        schedule.step()
        assert sgd.lr == pytest.approx(t_schedule.get_last_lr()[0], rel=1e-12, abs=1e-15)


OPTIMIZERS = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda p, o: o.SGD(p, lr=0.1)),
    "momentum": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                 lambda p, o: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "adagrad": (lambda p: optim.AdaGrad(p, lr=0.1), lambda p, o: o.Adagrad(p, lr=0.1)),
    "rmsprop": (lambda p: optim.RMSProp(p, lr=0.01), lambda p, o: o.RMSprop(p, lr=0.01)),
    "adam": (lambda p: optim.Adam(p, lr=0.05), lambda p, o: o.Adam(p, lr=0.05)),
}


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_follows_the_schedule_as_torch_does(name, schedule):
    torch = pytest.importorskip("torch")
    make, make_t = OPTIMIZERS[name]
    ours, theirs = SCHEDULES[schedule]
    target = np.array([0.3, -1.0, 2.0])
    p, pt = quadratic_param(), torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64,
                                            requires_grad=True)
    opt, opt_t = make([p]), make_t([pt], torch.optim)
    sched, sched_t = ours(opt), theirs(opt_t, torch.optim.lr_scheduler)
    for _epoch in range(8):
        for _ in range(3):   # a few steps per epoch, then the schedule steps once
            opt.zero_grad()
            (((p - target) ** 4).sum()).backward()
            opt.step()
            opt_t.zero_grad()
            (((pt - torch.tensor(target)) ** 4).sum()).backward()
            opt_t.step()
        sched.step()
        sched_t.step()
    np.testing.assert_allclose(p.data, pt.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_lbfgs_takes_its_scheduled_lr_and_newton_has_none():
    p = quadratic_param()
    lbfgs = optim.LBFGS([p], lr=1.0)
    schedule = optim.ExponentialLR(lbfgs, gamma=0.5)
    schedule.step()
    assert lbfgs.lr == 0.5
    with pytest.raises(TypeError, match="Newton"):
        optim.StepLR(optim.Newton([p]), step_size=1)


@pytest.mark.parametrize("call,words", [
    (lambda o: optim.StepLR(o, step_size=0), ["StepLR", "step_size", ">= 1"]),
    (lambda o: optim.ExponentialLR(o, gamma=-1), ["gamma", "> 0"]),
    (lambda o: optim.CosineAnnealingLR(o, T_max=2.5), ["T_max", "integer"]),
])
def test_bad_schedule_arguments_are_clear_errors(call, words):
    with pytest.raises(ValueError) as e:
        call(optim.SGD([quadratic_param()], lr=0.1))
    for w in words:
        assert w in str(e.value)


def test_fit_steps_the_schedule_once_per_epoch():
    from tinygrad_ce import train as T
    train, test = T.load_dataset("iris")
    model, loss = T.build_model("softmax", 4, 3)
    sgd = optim.SGD(model.params(), lr=0.1)
    T.fit(model, loss, sgd, train, test, epochs=4, batch_size=30, log=None, progress=False,
          schedule=optim.StepLR(sgd, step_size=2, gamma=0.5))
    assert sgd.lr == 0.1 * 0.5 ** 2


@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine"])
def test_cli_train_with_a_schedule(schedule, capsys):
    from tinygrad_ce.cli import main
    assert main(["train", "--epochs", "3", "--hidden", "8", "--quiet", "--schedule",
                 schedule]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_cli_schedule_with_newton_is_a_clear_error(capsys):
    from tinygrad_ce.cli import main
    assert main(["train", "--model", "softmax", "--optimizer", "newton", "--epochs", "1",
                 "--schedule", "cosine", "--quiet"]) == 2
    assert "Newton has no learning rate" in capsys.readouterr().err
