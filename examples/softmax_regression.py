"""Softmax regression on the shipped digits with weight decay: gradient descent vs L-BFGS vs
Newton on the same problem, with their iteration counts.

    python examples/softmax_regression.py
"""

import numpy as np

import tinygrad_ce as tg
from tinygrad_ce.train import standardize


def main(gd_steps=500, lam=1e-4):
    (x, t), (xt, tt) = standardize(*tg.datasets.load_digits())
    X = tg.Tensor(x)

    def problem():
        W = tg.Tensor(np.zeros((64, 10)), requires_grad=True, name="W")
        b = tg.Tensor(np.zeros(10), requires_grad=True, name="b")

        def loss():
            return tg.cross_entropy(X @ W + b, t) + 0.5 * lam * ((W * W).sum() + (b * b).sum())
        return [W, b], loss

    def accuracy(params):
        W, b = params
        return np.mean((xt @ W.data + b.data).argmax(axis=1) == tt)

    report = {}
    params, loss = problem()
    opt = tg.optim.SGD(params, lr=0.5)
    for _ in range(gd_steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    report["gradient descent"] = (gd_steps, loss().item(), accuracy(params))

    params, loss = problem()
    lbfgs = tg.optim.LBFGS(params, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-13)

    def closure():
        lbfgs.zero_grad()
        value = loss()
        value.backward()
        return value
    lbfgs.step(closure)
    report["L-BFGS"] = (lbfgs.steps, loss().item(), accuracy(params))

    params, loss = problem()
    newton = tg.optim.Newton(params)
    for step in range(1, 30):  # noqa: B007  (step is reported below)
        newton.step(loss)
        if newton.last_grad_norm < 1e-8:
            break
    report["Newton"] = (step, loss().item(), accuracy(params))

    print(f"softmax regression on digits, L2 lambda = {lam} ({len(x)} train, {len(xt)} test)")
    for name, (steps, value, acc) in report.items():
        print(f"{name:17s} iterations {steps:4d}  loss {value:.8f}  test accuracy {acc:.4f}")
    return report


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    main()
