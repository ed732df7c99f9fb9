"""Train a tiny two-layer network on the tape, then check its gradients against finite differences.

    python examples/quickstart.py
"""

import numpy as np

import tinygrad_ce as tg


def make_data(rng, n=200):
    """Two interleaved half-moons: a problem a straight line cannot solve."""
    t = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    x = np.stack([np.cos(angle) + t, np.sin(angle) * (1 - 2 * t) + 0.5 * t], axis=1)
    return x + rng.normal(0, 0.1, x.shape), t


def model(x, W1, b1, W2, b2):
    return tg.tanh(x @ W1 + b1) @ W2 + b2


def main(steps=300, seed=0):
    rng = np.random.default_rng(seed)
    x, t = make_data(rng)
    params = [tg.Tensor(rng.normal(0, 0.5, (2, 16)), requires_grad=True, name="W1"),
              tg.Tensor(np.zeros(16), requires_grad=True, name="b1"),
              tg.Tensor(rng.normal(0, 0.5, (16, 2)), requires_grad=True, name="W2"),
              tg.Tensor(np.zeros(2), requires_grad=True, name="b2")]
    for step in range(steps + 1):
        loss = tg.cross_entropy(model(x, *params), t)
        for p in params:
            p.zero_grad()
        loss.backward()
        for p in params:
            p.data -= 0.5 * p.grad.data        # plain gradient descent
        if step % (steps // 5) == 0:
            with tg.no_grad():
                accuracy = np.mean(model(x, *params).data.argmax(axis=1) == t)
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")

    print("\nThe tape of one forward pass:")
    print(tg.cross_entropy(model(x[:4], *params), t[:4]).tape())
    print("\nIts gradients against central differences:")
    report = tg.gradcheck(lambda *ps: tg.cross_entropy(model(x[:8], *ps), t[:8]),
                          [p.data for p in params], seed=0)
    print(report)
    return accuracy, report


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    main()
