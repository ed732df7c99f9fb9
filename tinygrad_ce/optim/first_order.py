"""First-order methods, with PyTorch's update rules (torch.optim), so the same hyperparameters
give the same trajectory. g below is the gradient, with weight decay added: g + wd * p."""

import numpy as np

from ..autograd import replayable
from .base import Optimizer, positive


class SGD(Optimizer):
    """p -= lr * g; with momentum: buf = momentum * buf + g (buf = g at the first step),
    then p -= lr * buf, or with Nesterov p -= lr * (g + momentum * buf).

    The textbook form v = momentum * v - lr * g; p += v is the same trajectory for a constant lr.
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params)
        self.lr = positive("SGD: lr", lr)
        self.momentum = positive("SGD: momentum", momentum, allow_zero=True)
        self.weight_decay = positive("SGD: weight_decay", weight_decay, allow_zero=True)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = nesterov

    @replayable
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for p, s, g in self.grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                s["buf"] = g.copy() if "buf" not in s else self.momentum * s["buf"] + g
                g = g + self.momentum * s["buf"] if self.nesterov else s["buf"]
            self.update(p, np.multiply(g, -self.lr, out=self.scratch(s, g)))
        self.steps += 1
        return loss


class AdaGrad(Optimizer):
    """sum += g^2;  p -= lr * g / (sqrt(sum) + eps)"""

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(params)
        self.lr, self.eps = positive("AdaGrad: lr", lr), positive("AdaGrad: eps", eps)
        self.weight_decay = positive("AdaGrad: weight_decay", weight_decay, allow_zero=True)

    @replayable
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for p, s, g in self.grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            s["sum"] = s.get("sum", 0.0) + g * g
            self.update(p, -self.lr * g / (np.sqrt(s["sum"]) + self.eps))
        self.steps += 1
        return loss


class RMSProp(Optimizer):
    """avg = alpha * avg + (1 - alpha) g^2;  p -= lr * g / (sqrt(avg) + eps)
    (eps outside the square root, as PyTorch; with momentum: buf = momentum * buf + that ratio)."""

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params)
        self.lr, self.eps = positive("RMSProp: lr", lr), positive("RMSProp: eps", eps)
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSProp: alpha must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self.weight_decay = positive("RMSProp: weight_decay", weight_decay, allow_zero=True)
        self.momentum = positive("RMSProp: momentum", momentum, allow_zero=True)

    @replayable
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for p, s, g in self.grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            s["avg"] = self.alpha * s.get("avg", 0.0) + (1 - self.alpha) * g * g
            ratio = g / (np.sqrt(s["avg"]) + self.eps)
            if self.momentum:
                s["buf"] = self.momentum * s.get("buf", 0.0) + ratio
                ratio = s["buf"]
            self.update(p, -self.lr * ratio)
        self.steps += 1
        return loss


class Adam(Optimizer):
    """m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)   (weight decay added to g, as
    torch.optim.Adam; that is L2 regularisation, not AdamW's decoupled decay). t counts the
    steps of each parameter, as PyTorch: a step without a gradient does not count for it."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        self.lr, self.eps = positive("Adam: lr", lr), positive("Adam: eps", eps)
        if not all(0 <= b < 1 for b in betas) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas}")
        self.betas = tuple(betas)
        self.weight_decay = positive("Adam: weight_decay", weight_decay, allow_zero=True)

    @replayable
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        b1, b2 = self.betas
        for p, s, g in self.grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            t = s["step"] = s.get("step", 0) + 1
            s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
            s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
            m_hat, v_hat = s["m"] / (1 - b1 ** t), s["v"] / (1 - b2 ** t)
            self.update(p, -self.lr * m_hat / (np.sqrt(v_hat) + self.eps))
        self.steps += 1
        return loss
