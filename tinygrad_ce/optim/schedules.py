"""Learning-rate schedules with PyTorch's formulas: call ``.step()`` once per epoch, after the
epoch's optimizer steps. They set ``optimizer.lr``, so they work with every optimizer that has a
learning rate (SGD, AdaGrad, RMSProp, Adam, L-BFGS; Newton has none)."""

import math


class LRScheduler:
    """Base class: remembers the optimizer's initial lr and counts epochs in ``last_epoch``.

    ``lr_at(epoch)`` is the closed form; ``step()`` moves to the next epoch and sets
    ``optimizer.lr``; ``get_last_lr()`` returns ``[lr]`` as PyTorch's schedulers do.
    """

    def __init__(self, optimizer):
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} has no learning "
                            "rate to schedule (Newton's step is not scaled by one); use SGD, "
                            "AdaGrad, RMSProp, Adam or LBFGS")
        self.optimizer, self.base_lr, self.last_epoch = optimizer, optimizer.lr, 0

    def lr_at(self, epoch):
        raise NotImplementedError(f"{type(self).__name__}.lr_at")

    def step(self):
        """Advance one epoch and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self):
        """The learning rate in use, in a list (PyTorch has one per parameter group)."""
        return [self.optimizer.lr]

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if k not in ("optimizer", "base_lr", "last_epoch"))
        return f"{type(self).__name__}({args})"


def _check(name, value, ok, what):
    if not ok:
        raise ValueError(f"{name} must be {what}, got {value!r}")


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): multiplied by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        _check("StepLR: step_size", step_size, isinstance(step_size, int) and step_size >= 1,
               "an integer >= 1")
        _check("StepLR: gamma", gamma, gamma > 0, "> 0")
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma):
        _check("ExponentialLR: gamma", gamma, gamma > 0, "> 0")
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2: from base_lr down to
    eta_min at epoch T_max (and, past it, back up along the same cosine, as PyTorch)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        _check("CosineAnnealingLR: T_max", T_max, isinstance(T_max, int) and T_max >= 1,
               "an integer >= 1")
        _check("CosineAnnealingLR: eta_min", eta_min, eta_min >= 0, ">= 0")
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch):
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine
