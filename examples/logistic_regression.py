"""Binary logistic regression on the shipped digits (1 vs 7), by gradient descent and by Newton.

    python examples/logistic_regression.py

The loss is L2-regularised: mean BCE(Xw + b, y) + lam |w|^2. Gradient descent needs hundreds
of steps; Newton's method, with the Hessian from second-order autograd, needs a handful.
"""

import numpy as np

import tinygrad_ce as tg


def binary_digits(a=1, b=7):
    (x, t), (xt, tt) = tg.datasets.load_digits()
    train, test = (t == a) | (t == b), (tt == a) | (tt == b)
    return (x[train], (t[train] == b) * 1.0), (xt[test], (tt[test] == b) * 1.0)


def main(gd_steps=300, lam=1e-3):
    (x, y), (xt, yt) = binary_digits()
    X = tg.Tensor(x)

    def fit(optimizer_for, steps, newton=False):
        w, b = tg.Tensor(np.zeros(64), requires_grad=True), tg.Tensor(0.0, requires_grad=True)
        opt = optimizer_for([w, b])

        def loss():
            return tg.binary_cross_entropy_with_logits(X @ w + b, y) + lam * (w * w).sum()
        for step in range(1, steps + 1):  # noqa: B007  (step is reported below)
            if newton:
                opt.step(loss)
            else:
                opt.zero_grad()
                loss().backward()
                opt.step()
            gw, gb = tg.grad(loss(), [w, b])
            grad_norm = np.sqrt(np.sum(gw.data ** 2) + gb.item() ** 2)
            if grad_norm < 1e-8:
                break
        accuracy = np.mean(((xt @ w.data + b.data) > 0) == yt)
        return loss().item(), grad_norm, step, accuracy

    results = {"gradient descent": fit(lambda ps: tg.optim.SGD(ps, lr=1.0), gd_steps),
               "Newton": fit(lambda ps: tg.optim.Newton(ps), 15, newton=True)}
    print(f"digits 1 vs 7: {len(x)} train, {len(xt)} test, L2 lambda = {lam}")
    for name, (loss, grad_norm, steps, accuracy) in results.items():
        print(f"{name:17s} steps {steps:4d}  loss {loss:.10f}  |grad| {grad_norm:.1e}  "
              f"test accuracy {accuracy:.4f}")
    return results


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    main()
