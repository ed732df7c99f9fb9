"""Convolution benchmarks: python benchmarks/conv.py [--repeats R] [--steps S] [--quick]

- MNIST-1D CNN (the paper's: three Conv1d, Affine(125, 10)), one training step (forward,
  backward, Adam) on a batch of 100, tinygrad_ce vs PyTorch CPU, in float32 and float64.
  Targets: float32 at most 1.5x PyTorch; float64 faster than PyTorch.
- SimpleConvNet (conv 30 5x5, ReLU, pool 2, Affine 100, ReLU, Affine 10), one SGD step on 100
  MNIST-shaped images, tinygrad_ce vs the same network by hand in NumPy the classic way
  (benchmarks/conv_hand.py). Target: within 1.1x.

Each contender runs in a fresh process with one BLAS thread, the contenders interleaved, R
times; the table gives the median time per step. ``workers`` is what the suite imports.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _timed(step, steps):
    for _ in range(5):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def mnist1d_step(contender, dtype):
    """A function doing one training step of the paper's CNN."""
    import tinygrad_ce as tg
    (x, t), _ = tg.datasets.load_mnist1d(flatten=False)
    x, t = x[:100].astype(dtype), t[:100]
    if contender == "torch":
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(0)
        nn = torch.nn
        model = nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1),
                              nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                              nn.Linear(125, 10)).to(getattr(torch, dtype))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        xb, tb = torch.tensor(x), torch.tensor(t)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), tb).backward()
            opt.step()
        return step
    model = tg.models.mnist1d_cnn(0, dtype=dtype)
    opt, loss = tg.optim.Adam(model.params(), lr=1e-2), tg.SoftmaxWithLoss()

    def step():
        opt.zero_grad()
        loss(model(tg.Tensor(x)), t).backward()
        opt.step()
    return step


def convnet_params(dtype, seed=0):
    """SimpleConvNet's parameters, He-initialised, for both contenders."""
    rng = np.random.default_rng(seed)
    shapes = [(30, 1, 5, 5), (30,), (30 * 12 * 12, 100), (100,), (100, 10), (10,)]
    fans = [25, None, 30 * 12 * 12, None, 100, None]
    return [(rng.standard_normal(s) * np.sqrt(2 / f) if f else np.zeros(s)).astype(dtype)
            for s, f in zip(shapes, fans)]


def convnet_step(contender, dtype, batch=100):
    """A function doing one SGD step of SimpleConvNet on random MNIST-shaped images."""
    rng = np.random.default_rng(1)
    x = rng.random((batch, 1, 28, 28)).astype(dtype)
    t = rng.integers(0, 10, batch)
    params = convnet_params(dtype)
    if contender == "numpy":
        sys.path.insert(0, HERE)
        from conv_hand import SimpleConvNet
        net = SimpleConvNet(params)
        return lambda: net.step(x, t)
    import tinygrad_ce as tg
    model = tg.models.simple_convnet((1, 28, 28), dtype=dtype)
    for p, v in zip(model.params(), params):
        p.data[...] = v
    opt, loss = tg.optim.SGD(model.params(), lr=0.01), tg.SoftmaxWithLoss()

    def step():
        opt.zero_grad()
        loss(model(tg.Tensor(x)), t).backward()
        opt.step()
    return step


WORKLOADS = {"mnist1d_cnn": mnist1d_step, "simple_convnet": convnet_step}


def worker(name, contender, dtype, steps):
    """In this process: the median seconds of one step."""
    return _timed(WORKLOADS[name](contender, dtype), steps)


def run_one(name, contender, dtype, steps, threads=1):
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", name, contender,
                          dtype, str(steps)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


CASES = [  # (workload, dtype, contenders: the first is the baseline, target)
    ("mnist1d_cnn", "float32", ("torch", "tinygrad_ce"), "<= 1.5x torch"),
    ("mnist1d_cnn", "float64", ("torch", "tinygrad_ce"), "< 1.0x torch"),
    ("simple_convnet", "float64", ("numpy", "tinygrad_ce"), "<= 1.1x numpy"),
    ("simple_convnet", "float32", ("numpy", "tinygrad_ce"), "<= 1.1x numpy"),
]


def measure(repeats=5, steps=50, threads=1, cases=CASES):
    """[(workload, dtype, {contender: median seconds per step}, target)]"""
    rows = []
    for name, dtype, contenders, target in cases:
        runs = {c: [] for c in contenders}
        for _ in range(repeats):           # interleaved: drift hits every contender alike
            for c in contenders:
                runs[c].append(run_one(name, c, dtype, steps, threads))
        rows.append((name, dtype, {c: float(np.median(r)) for c, r in runs.items()}, target))
    return rows


def table(rows):
    lines = [f"{'workload':15s} {'dtype':8s} {'baseline':>20s} {'tinygrad_ce':>14s} "
             f"{'ratio':>6s}  target"]
    for name, dtype, figures, target in rows:
        (base, b), (_, ours) = list(figures.items())
        lines.append(f"{name:15s} {dtype:8s} {base + f' {b * 1e3:.2f} ms':>20s} "
                     f"{ours * 1e3:11.2f} ms {ours / b:6.2f}  {target}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=50, help="timed steps per process")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="2 repeats of 10 steps")
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        name, contender, dtype, steps = args.worker
        print(json.dumps({"seconds": worker(name, contender, dtype, int(steps))}))
        return
    repeats, steps = (2, 10) if args.quick else (args.repeats, args.steps)
    print(f"one training step, median of {repeats} fresh processes x {steps} steps, "
          f"{args.threads} BLAS thread(s)")
    print(table(measure(repeats, steps, args.threads)))


if __name__ == "__main__":
    main()
