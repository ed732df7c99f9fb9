"""One workload, one contender, one process: ``python workloads.py NAME CONTENDER [args]``
prints a JSON line with the measurements. Run by run.py; BLAS threads are pinned by the caller
through the environment before NumPy is imported."""

import json
import sys
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])


def params(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((a, b)) * np.sqrt(1 / a)).astype(dtype), np.zeros(b, dtype))
            for a, b in zip(sizes[:-1], sizes[1:])]


def mlp_step_fn(contender, sizes, act, dtype, batch):
    rng = np.random.default_rng(1)
    x = rng.random((batch, sizes[0])).astype(dtype)
    t = rng.integers(0, sizes[-1], batch)
    ps = params(sizes, dtype)
    if contender == "numpy":
        import hand_numpy
        net = hand_numpy.Net(ps, {"sigmoid": hand_numpy.Sigmoid, "relu": hand_numpy.ReLU}[act])
        return lambda: net.step(x, t, 0.1)
    if contender == "tinygrad_ce":
        import tinygrad_ce as tg
        layers = []
        for i, (W, b) in enumerate(ps):
            layer = tg.Affine(*W.shape, dtype=dtype)
            layer.W.data[...], layer.b.data[...] = W, b
            layers.append(layer)
            if i < len(ps) - 1:
                layers.append(tg.Sigmoid() if act == "sigmoid" else tg.ReLU())
        model, loss_layer = tg.Sequential(*layers), tg.SoftmaxWithLoss()
        opt = tg.optim.SGD(model.params(), lr=0.1)
        xt = tg.Tensor(x)

        def step():
            opt.zero_grad()
            loss = loss_layer(model(xt), t)
            loss.backward()
            opt.step()
        return step
    if contender == "torch":
        import torch
        torch.set_num_threads(1)
        mods = []
        for i, (W, b) in enumerate(ps):
            lin = torch.nn.Linear(*W.shape).to(getattr(torch, str(np.dtype(dtype))))
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
            if i < len(ps) - 1:
                mods.append(torch.nn.Sigmoid() if act == "sigmoid" else torch.nn.ReLU())
        model = torch.nn.Sequential(*mods)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt), tt).backward()
            opt.step()
        return step
    raise ValueError(contender)


def timed(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def chain_fn(contender, n=300):
    x0 = np.linspace(-1, 1, 16)
    if contender == "numpy":
        def run():
            y, outs = x0, []
            for _ in range(n // 3):
                y = y * 1.0001
                y = y + 0.001
                y = np.exp(-np.logaddexp(0, -y))
                outs.append(y)
            g = np.ones(16)
            for y in reversed(outs):
                g = g * y * (1 - y)
                g = g * 1.0001
            return g
        return run
    if contender == "tinygrad_ce":
        import tinygrad_ce as tg
        x = tg.Tensor(x0, requires_grad=True)

        def run():
            y = x
            for _ in range(n // 3):
                y = tg.sigmoid(y * 1.0001 + 0.001)
            y.sum().backward()
        return run
    if contender == "torch":
        import torch
        torch.set_num_threads(1)
        x = torch.tensor(x0, requires_grad=True)

        def run():
            y = x
            for _ in range(n // 3):
                y = torch.sigmoid(y * 1.0001 + 0.001)
            y.sum().backward()
        return run
    raise ValueError(contender)


def main(name, contender, *args):
    out = {"workload": name, "contender": contender}
    if name.startswith("W1"):
        dtype, batch, depth = args[0], int(args[1]), int(args[2])
        sizes = [784] + [100] * depth + [10]
        fn = mlp_step_fn(contender, sizes, "sigmoid", dtype, batch)
        out["seconds"] = timed(fn, 30)
    elif name == "W2":
        fn = chain_fn(contender)
        out["seconds"] = timed(fn, 50)
        out["us_per_op"] = out["seconds"] / 301 * 1e6
    elif name == "W3":
        fn = mlp_step_fn(contender, [784, 1024, 1024, 10], "relu", np.float32, 1024)
        out["seconds"] = timed(fn, 10, warmup=2)
    elif name == "W4":
        fn = mlp_step_fn(contender, [784, 1024, 1024, 10], "relu", np.float32, 1024)
        setup = proc_status("VmRSS")
        fn()                                   # the first step is not counted
        reset_peak()
        for _ in range(5):
            fn()
        out["peak_above_setup_mib"] = proc_status("VmHWM") - setup
    elif name == "W5":
        out.update(gradcheck_figures(args[0] == "fast"))
    elif name == "CHAIN":
        out.update(chain_ratio(int(args[0])))
    print(json.dumps(out))


def proc_status(field):
    """A memory figure of this process from /proc/self/status, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak():
    """Make VmHWM start again from the current resident size (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def gradcheck_figures(fast):
    import tinygrad_ce as tg
    rng = np.random.default_rng(0)
    x, t = rng.random((8, 784)), rng.integers(0, 10, 8)
    W, b = rng.standard_normal((784, 10)) * 0.01, np.zeros(10)

    def f(W, b):
        return tg.cross_entropy(tg.Tensor(x) @ W + b, t)
    start = time.perf_counter()
    report = tg.gradcheck(f, [W, b], fast=fast, seed=0)
    seconds = time.perf_counter() - start
    if fast:
        seconds = timed(lambda: tg.gradcheck(f, [W, b], fast=True, seed=0), 20)
    return {"seconds": seconds, "max_abs_error": report.max_abs_error, "passed": bool(report)}


def chain_ratio(n):
    import tinygrad_ce as tg
    x = tg.Tensor(np.ones(16), requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(n):
        y = y * 1.00001
    s = y.sum()
    forward = time.perf_counter() - start
    start = time.perf_counter()
    s.backward()
    backward = time.perf_counter() - start
    return {"forward": forward, "backward": backward, "ratio": backward / forward}


if __name__ == "__main__":
    main(*sys.argv[1:])
