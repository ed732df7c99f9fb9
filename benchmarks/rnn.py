"""A GRU training step on MNIST-1D shapes, tinygrad_ce and PyTorch side by side:
python benchmarks/rnn.py [--repeats R] [--steps S] [--dtype float64|float32] [--threads N]

The model of the MNIST-1D paper: bidirectional GRU(1, 6) over T = 40 steps, its outputs
flattened to (N, 480), Linear(480, 10), softmax cross-entropy, Adam; batch 100. One step is
forward, backward and the Adam update. Both libraries start from the same weights and batch, and
their first losses are compared (they agree to rounding). The timings interleave the two
(R rounds of S steps each) and report medians; BLAS and torch run on N threads (default 1).
"""

import os
import sys

if __name__ == "__main__":  # pin the threads before NumPy and torch are imported
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

N, T, HIDDEN, CLASSES = 100, 40, 6, 10


def tinygrad_step(x, t, dtype):
    """(step function, model) for tinygrad_ce."""
    import tinygrad_ce as tg
    model = tg.Sequential(tg.GRU(1, HIDDEN, bidirectional=True, rng=0, dtype=dtype),
                          tg.Affine(2 * HIDDEN * T, CLASSES, rng=0, dtype=dtype))
    loss_layer, opt, xt = tg.SoftmaxWithLoss(), tg.optim.Adam(model.params(), lr=1e-2), tg.Tensor(x)

    def step():
        opt.zero_grad()
        loss = loss_layer(model(xt), t)
        loss.backward()
        opt.step()
        return loss.item()
    return step, model


def torch_step(x, t, model, threads):
    """The same step in PyTorch, with ``model``'s weights copied over (transposed)."""
    import torch
    torch.set_num_threads(threads)
    gru, affine = model.layers
    dtype = getattr(torch, str(x.dtype))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(1, HIDDEN, batch_first=True, bidirectional=True, dtype=dtype)
            self.linear = torch.nn.Linear(2 * HIDDEN * T, CLASSES, dtype=dtype)

        def forward(self, x):
            return self.linear(self.gru(x)[0].reshape(len(x), -1))

    net = Net()
    with torch.no_grad():
        for suffix in gru.directions():
            for p, name in zip(gru.weights(suffix), ("weight_ih", "weight_hh", "bias_ih",
                                                     "bias_hh")):
                value = p.data.T if p.ndim == 2 else p.data
                getattr(net.gru, f"{name}_l0{suffix}").copy_(torch.from_numpy(value.copy()))
        net.linear.weight.copy_(torch.from_numpy(affine.W.data.T.copy()))
        net.linear.bias.copy_(torch.from_numpy(affine.b.data.copy()))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xt), tt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="interleaved rounds (median)")
    p.add_argument("--steps", type=int, default=20, help="training steps per round")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, 1)).astype(args.dtype)
    t = rng.integers(0, CLASSES, N)
    steps = {}
    steps["tinygrad_ce"], model = tinygrad_step(x, t, args.dtype)
    try:
        steps["torch"] = torch_step(x, t, model, args.threads)
    except ImportError:
        print("torch is not installed: tinygrad_ce only")
    first = {name: step() for name, step in steps.items()}   # also warms up both
    seconds = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[name].append((time.perf_counter() - start) / args.steps)
    ms = {name: 1e3 * float(np.median(s)) for name, s in seconds.items()}
    print(f"GRU step on MNIST-1D shapes (batch {N}, T = {T}, bidirectional hidden {HIDDEN}, "
          f"Linear({2 * HIDDEN * T}, {CLASSES}), Adam), {args.dtype}, {args.threads} thread(s), "
          f"median of {args.repeats} x {args.steps} steps")
    print("| library | ms/step | vs torch | first loss |\n|---|---|---|---|")
    for name in steps:
        ratio = f"{ms[name] / ms['torch']:.2f}x" if "torch" in ms else "-"
        print(f"| {name} | {ms[name]:.2f} | {ratio} | {first[name]:.12f} |")
    return {"ms_per_step": ms, "first_loss": first}


if __name__ == "__main__":
    main()
