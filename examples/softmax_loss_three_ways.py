"""The L2-regularised softmax loss and its gradient, three ways: explicit loops, vectorised
NumPy, and on the tape. The same numbers to 1e-12, and how long each takes.

    L(W) = -1/N sum_i log softmax(x_i W)_{t_i} + lam |W|^2
    dL/dW = X^T (P - Y) / N + 2 lam W

    python examples/softmax_loss_three_ways.py
"""

import time

import numpy as np

import tinygrad_ce as tg


def with_loops(W, X, t, lam):
    n, d = X.shape
    k = W.shape[1]
    loss, grad = 0.0, np.zeros_like(W)
    for i in range(n):
        scores = [sum(X[i, j] * W[j, c] for j in range(d)) for c in range(k)]
        top = max(scores)
        exps = [np.exp(s - top) for s in scores]
        total = sum(exps)
        loss -= np.log(exps[t[i]] / total)
        for c in range(k):
            p = exps[c] / total - (c == t[i])
            for j in range(d):
                grad[j, c] += X[i, j] * p
    loss = loss / n + lam * sum(W[j, c] ** 2 for j in range(d) for c in range(k))
    return loss, grad / n + 2 * lam * W


def vectorised(W, X, t, lam):
    n = len(X)
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), t].mean() + lam * np.sum(W * W)
    P = np.exp(log_p)
    P[np.arange(n), t] -= 1
    return loss, X.T @ P / n + 2 * lam * W


def on_the_tape(W, X, t, lam):
    Wt = tg.Tensor(W, requires_grad=True)
    loss = tg.cross_entropy(tg.Tensor(X) @ Wt, t) + lam * (Wt * Wt).sum()
    loss.backward()
    return loss.item(), Wt.grad.data


def main(n=200, lam=0.1, repeats=3):
    (x, t), _ = tg.datasets.load_digits()
    X, t = x[:n], t[:n]
    W = np.random.default_rng(0).standard_normal((64, 10)) * 0.01
    results = {}
    for name, fn in [("loops", with_loops), ("vectorised", vectorised), ("tape", on_the_tape)]:
        start = time.perf_counter()
        for _ in range(repeats):
            loss, grad = fn(W, X, t, lam)
        results[name] = (loss, grad, (time.perf_counter() - start) / repeats)
    ref_loss, ref_grad, _ = results["vectorised"]
    for name, (loss, grad, seconds) in results.items():
        gap = np.max(np.abs(grad - ref_grad))
        print(f"{name:10s} loss {loss:.15f}  |grad - vectorised| {gap:.1e}"
              f"  |loss - vectorised| {abs(loss - ref_loss):.1e}  {seconds * 1e3:9.3f} ms")
    return results


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    main()
