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
    """One SGD step (lr 0.1) of Affine -> act -> ... -> Affine -> softmax cross-entropy on a
    fixed batch, written for ``contender``; the step returns the loss (in any form)."""
    rng = np.random.default_rng(1)
    x = rng.random((batch, sizes[0])).astype(dtype)
    t = rng.integers(0, sizes[-1], batch)
    ps = params(sizes, dtype)
    lib, _, mode = contender.partition(":")
    make = {"numpy": _numpy_mlp, "tinygrad_ce": _tinygrad_mlp, "torch": _torch_mlp,
            "mygrad": _mygrad_mlp}[lib]
    step = make(ps, act, x, t)
    return compiled(step) if mode == "compiled" else step


def compiled(step):
    """The same step replayed by tg.compile (recorded at its first call)."""
    import tinygrad_ce as tg
    return tg.compile(step)


def _numpy_mlp(ps, act, x, t):
    import hand_numpy
    net = hand_numpy.Net(ps, {"sigmoid": hand_numpy.Sigmoid, "relu": hand_numpy.ReLU}[act])
    return lambda: net.step(x, t, 0.1)


def _tinygrad_mlp(ps, act, x, t):
    import tinygrad_ce as tg
    layers = []
    for i, (W, b) in enumerate(ps):
        layer = tg.Affine(*W.shape, dtype=W.dtype)
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
        return loss
    return step


def _torch_mlp(ps, act, x, t):
    import torch
    torch.set_num_threads(1)
    mods = []
    for i, (W, b) in enumerate(ps):
        lin = torch.nn.Linear(*W.shape).to(getattr(torch, str(W.dtype)))
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
        loss = torch.nn.functional.cross_entropy(model(xt), tt)
        loss.backward()
        opt.step()
        return loss
    return step


def _mygrad_mlp(ps, act, x, t):
    import mygrad as mg
    from mygrad.nnet.activations import relu, sigmoid
    from mygrad.nnet.losses import softmax_crossentropy
    f = sigmoid if act == "sigmoid" else relu
    weights = [(mg.tensor(W.copy()), mg.tensor(b.copy())) for W, b in ps]
    flat = [p for pair in weights for p in pair]

    def step():
        h = x
        for i, (W, b) in enumerate(weights):
            h = mg.matmul(h, W) + b
            if i < len(weights) - 1:
                h = f(h)
        loss = softmax_crossentropy(h, t)
        loss.backward()
        for p in flat:                 # MyGrad has no optimizer: SGD in place, by hand
            g = p.grad
            g *= 0.1
            p.data -= g
        return loss
    return step


def timed(fn, repeats, warmup=3):
    """Median seconds per call of ``fn`` over ``repeats`` calls after ``warmup`` calls: CPU time
    of this thread (what the call cost, even while other processes share the cores) and wall
    time (what a user waits, inflated by those processes)."""
    for _ in range(warmup):
        fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.thread_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.thread_time() - c)
    return float(np.median(cpu)), float(np.median(wall))


def first_value(fn):
    """Run ``fn`` once; its result as a float (a loss) or a float64 array (a gradient)."""
    out = fn()
    if hasattr(out, "detach"):      # torch
        out = out.detach().numpy()
    out = np.asarray(getattr(out, "data", out), dtype=np.float64)
    return float(out) if out.ndim == 0 else out.tolist()


def chain_fn(contender, n=300):
    """W2: n cheap elementwise ops on 16 numbers (x * 1.0001, + 0.001, sigmoid, repeated),
    then sum and backward: what each op costs beyond its arithmetic."""
    x0 = np.linspace(-1, 1, 16)
    lib, _, mode = contender.partition(":")
    if lib == "numpy":
        def run():
            y, outs = x0, []
            for _ in range(n // 3):
                y = y * -1.0001          # -(y * 1.0001 + 0.001), bit for bit, in fewer calls
                y -= 0.001
                np.exp(y, out=y)         # sigmoid in place: 1 / (1 + exp(-z)); no overflow here
                y += 1
                np.reciprocal(y, out=y)
                outs.append(y)
            g = np.ones(16)
            for y in reversed(outs):
                g *= y
                g *= 1 - y
                g *= 1.0001
            return g
        return run
    if lib == "tinygrad_ce":
        import tinygrad_ce as tg
        x = tg.Tensor(x0, requires_grad=True)

        def run():
            x.zero_grad()
            y = x
            for _ in range(n // 3):
                y = tg.sigmoid(y * 1.0001 + 0.001)
            y.sum().backward()
            return x.grad
        return compiled(run) if mode == "compiled" else run
    if lib == "torch":
        import torch
        torch.set_num_threads(1)
        x = torch.tensor(x0, requires_grad=True)

        def run():
            x.grad = None
            y = x
            for _ in range(n // 3):
                y = torch.sigmoid(y * 1.0001 + 0.001)
            y.sum().backward()
            return x.grad
        return run
    if lib == "mygrad":
        import mygrad as mg
        from mygrad.nnet.activations import sigmoid
        x = mg.tensor(x0)

        def run():
            y = x
            for _ in range(n // 3):
                y = sigmoid(y * 1.0001 + 0.001)
            y.sum().backward()
            return x.grad
        return run
    raise ValueError(contender)


def main(name, contender, *args):
    out = {"workload": name, "contender": contender}
    if name == "W1":
        dtype, batch, depth = args[0], int(args[1]), int(args[2])
        sizes = [784] + [100] * depth + [10]
        fn = mlp_step_fn(contender, sizes, "sigmoid", dtype, batch)
        out["first"] = first_value(fn)
        out["seconds"], out["wall"] = timed(fn, 200, warmup=10)
    elif name == "W2":
        fn = chain_fn(contender)
        out["first"] = first_value(fn)
        out["seconds"], out["wall"] = timed(fn, 100, warmup=5)
        out["ops"] = 301
    elif name == "W3":
        fn = mlp_step_fn(contender, [784, 1024, 1024, 10], "relu", np.float32, 1024)
        out["first"] = first_value(fn)
        out["seconds"], out["wall"] = timed(fn, 10, warmup=2)
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
    elif name == "PRINT":
        out.update(printing_times(int(args[0])))
    out["blas"] = blas_kernel()       # after the contender's imports: every BLAS is loaded
    print(json.dumps(out))


def blas_kernel():
    """Which BLAS and which of its kernels this process runs (threadpoolctl, if installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"{i.get('num_threads')} thread(s)" for i in threadpool_info()
                     if i.get("user_api") == "blas")


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
        seconds = timed(lambda: tg.gradcheck(f, [W, b], fast=True, seed=0), 20)[0]
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


def printing_times(n):
    """Seconds to print the tape, the DOT text and the backward trace of an n-op chain."""
    import tinygrad_ce as tg
    x = tg.Tensor(np.ones(4), requires_grad=True, name="x")
    y = x
    for _ in range(n):
        y = y * 1.00001
    s = y.sum()
    times = {}
    start = time.perf_counter()
    str(s.tape())
    times["tape"] = time.perf_counter() - start
    start = time.perf_counter()
    tg.viz.to_dot(s)
    times["dot"] = time.perf_counter() - start
    with tg.trace() as tr:
        s.backward()
    start = time.perf_counter()
    str(tr)
    times["trace"] = time.perf_counter() - start
    return times


if __name__ == "__main__":
    main(*sys.argv[1:])
