"""``tinygrad-ce reproduce mnist1d``: the MNIST-1D paper's table, trained here, offline.

Greydanus and Kobak ("Scaling Down Deep Learning with MNIST-1D", ICML 2024) train each model
with Adam, lr 1e-2, batch 100, for 6,000 steps, and report test accuracy: logistic regression
32%, MLP 68%, CNN 94%, GRU 91%; the repository's notebooks end at MLP 64.6-65.1% and CNN
92.3-92.5%. ``MODELS`` lists what we train; adding a model is adding one ``Entry``.
"""

import time
from dataclasses import dataclass

import numpy as np

from . import datasets, models, optim
from .layers import SoftmaxWithLoss
from .tensor import Tensor

STEPS, BATCH, LR = 6000, 100, 1e-2
QUICK_STEPS, QUICK_SEEDS = 300, 2


ROWS, CHANNELS, SEQUENCE = (-1, 40), (-1, 1, 40), (-1, 40, 1)   # (N, 40), (N, C, L), (N, T, D)


@dataclass
class Entry:
    """A model of the table: its builder ``build(seed, dtype=None) -> layer``, the shape its
    input takes (``ROWS``, ``CHANNELS`` for a convnet, ``SEQUENCE`` for a recurrent net), and
    the published figures (paper; the notebooks' range, if any)."""
    build: object
    shape: tuple
    paper: float
    notebooks: tuple = None


MODELS = {
    "logistic": Entry(models.mnist1d_logistic, ROWS, 0.32),
    "mlp": Entry(models.mnist1d_mlp, ROWS, 0.68, (0.646, 0.651)),
    "cnn": Entry(models.mnist1d_cnn, CHANNELS, 0.94, (0.923, 0.925)),
    "gru": Entry(models.mnist1d_gru, SEQUENCE, 0.91),
}
PAPER = {}   # rows of the paper's table that no entry of MODELS trains (yet)


def train_steps(model, x, t, *, steps=STEPS, batch_size=BATCH, lr=LR, seed=0):
    """Adam on softmax cross-entropy for ``steps`` minibatches (reshuffled every pass)."""
    opt, loss_layer = optim.Adam(model.params(), lr=lr), SoftmaxWithLoss()
    rng, done = np.random.default_rng(seed), 0
    while done < steps:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            rows = order[start:start + batch_size]
            opt.zero_grad()
            loss_layer(model(Tensor(x[rows])), t[rows]).backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return model


def test_accuracy(model, x, t):
    """Fraction of test signals whose largest logit is the label (evaluation mode)."""
    model.eval()
    return float(np.mean(model.forward(x).argmax(axis=1) == t))


def run(names=None, seeds=3, steps=STEPS, dtype=np.float64, log=print):
    """Train each model over ``seeds`` seeds; {name: [accuracy per seed]}."""
    names = list(MODELS) if names is None else names
    (x, t), (xt, tt) = datasets.load_mnist1d()
    x, xt = x.astype(dtype), xt.astype(dtype)
    results = {}
    for name in names:
        entry, accs = MODELS[name], []
        shape = entry.shape
        for seed in range(seeds):
            start = time.perf_counter()
            model = train_steps(entry.build(seed, dtype=dtype), x.reshape(shape), t,
                                steps=steps, seed=seed)
            accs.append(test_accuracy(model, xt.reshape(shape), tt))
            if log:
                log(f"  {name:8s} seed {seed}: test accuracy {accs[-1]:.3f}  "
                    f"({time.perf_counter() - start:.1f} s)")
        results[name] = accs
    return results


def table(results):
    """Our mean and range beside the paper's and the notebooks' figures."""
    lines = [f"{'model':9s} {'ours (mean)':>11s} {'ours (range)':>13s} {'paper':>6s} "
             f"{'notebooks':>11s}"]
    figures = {**{n: (e.paper, e.notebooks) for n, e in MODELS.items()},
               **{n: (p, None) for n, p in PAPER.items() if n not in MODELS}}
    for name, (paper, notebooks) in figures.items():
        accs = results.get(name)
        mean = f"{np.mean(accs):.3f}" if accs else "-"
        span = f"{min(accs):.3f}-{max(accs):.3f}" if accs else "-"
        nb = f"{notebooks[0]:.3f}-{notebooks[1]:.3f}" if notebooks else "-"
        lines.append(f"{name:9s} {mean:>11s} {span:>13s} {paper:>6.2f} {nb:>11s}")
    return "\n".join(lines)


def main(dataset="mnist1d", *, seeds=None, quick=False, names=None, steps=None, log=print):
    """Run and print the table; returns the results."""
    if dataset != "mnist1d":
        raise ValueError(f"reproduce: only mnist1d is known, got {dataset!r}")
    unknown = [n for n in names or () if n not in MODELS]
    if unknown:
        raise ValueError(f"reproduce: unknown model {', '.join(unknown)}; choose from "
                         f"{', '.join(MODELS)}")
    seeds = seeds or (QUICK_SEEDS if quick else 3)
    steps = steps or (QUICK_STEPS if quick else STEPS)
    log(f"MNIST-1D: {seeds} seed(s), Adam lr {LR:g}, batch {BATCH}, {steps} steps"
        + ("  (--quick: a smoke test, not the paper's settings)" if steps < STEPS else ""))
    results = run(names, seeds, steps, log=log)
    log("")
    log(table(results))
    return results
