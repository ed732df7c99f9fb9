"""The benchmark suite: python benchmarks/run.py [--threads N] [--repeats R] [--quick]

Each workload runs in a fresh process per contender, the contenders interleaved, R times; the
table gives medians and ratios to the hand-written NumPy version (benchmarks/hand_numpy.py).
BLAS threads are pinned to 1 unless --threads says otherwise. A torch column is added when
torch is importable; it is never required.
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


MALLOC_TUNED = {"MALLOC_TRIM_THRESHOLD_": str(256 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}
TUNED = False


def run_one(args, threads):
    env = dict(os.environ)
    if TUNED:  # glibc keeps freed memory instead of returning it (and faulting it in again)
        env.update(MALLOC_TUNED)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, os.path.join(HERE, "workloads.py"), *args], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs, key):
    return float(np.median([r[key] for r in runs]))


def compare(name, args, contenders, repeats, threads, key="seconds"):
    runs = {c: [] for c in contenders}
    for _ in range(repeats):            # interleaved: drift hits every contender alike
        for c in contenders:
            runs[c].append(run_one([name, c, *args], threads))
    return {c: median_of(r, key) for c, r in runs.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--repeats", type=int, default=5, help="fresh processes per contender")
    p.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    p.add_argument("--malloc-tuned", action="store_true",
                   help="run every contender with glibc's trim and mmap thresholds raised")
    args = p.parse_args(argv)
    global TUNED
    TUNED = args.malloc_tuned
    repeats = 2 if args.quick else args.repeats
    contenders = ["numpy", "tinygrad_ce"]
    if importlib.util.find_spec("torch"):
        contenders.append("torch")
    rows = []

    def row(label, figures, unit, target, fmt="{:.3f}"):
        base = figures.get("numpy")
        cells = [label]
        for c in contenders:
            v = figures.get(c)
            if v is None:
                cells.append("-")
            elif base and c != "numpy" and unit != "us/op":
                cells.append(f"{fmt.format(v)} ({v / base:.2f}x)")
            else:
                cells.append(fmt.format(v))
        rows.append(cells + [unit, target])

    for dtype in ("float64", "float32"):
        f = compare("W1", [dtype, "100", "1"], contenders, repeats, args.threads)
        row(f"W1 mlp-step {dtype}", {k: v * 1e3 for k, v in f.items()}, "ms/step", "<= 1.10x")
    f = compare("W2", [], contenders, repeats, args.threads, key="us_per_op")
    row("W2 op overhead (fwd+bwd)", f, "us/op", "<= 5 us/op", "{:.2f}")
    f = compare("W3", [], contenders, repeats, args.threads)
    row("W3 wide MLP float32", {k: v * 1e3 for k, v in f.items()}, "ms/step", "<= 1.03x", "{:.1f}")
    f = compare("W4", [], contenders, max(1, repeats // 2), args.threads,
                key="peak_above_setup_mib")
    row("W4 peak memory above setup", f, "MiB", "<= 40 MiB", "{:.1f}")
    for mode in ("full", "fast"):
        r = run_one(["W5", "tinygrad_ce", mode], args.threads)
        rows.append([f"W5 gradcheck {mode}", "-", f"{r['seconds'] * 1e3:.2f} ms, max abs err "
                     f"{r['max_abs_error']:.1e}, {'passed' if r['passed'] else 'FAILED'}"]
                    + ["-"] * (len(contenders) - 2) + ["", "full <= 0.5 s, fast <= 2 ms"])

    linear = []
    for batch in ([100, 3200] if args.quick else [100, 400, 1600, 3200]):
        linear.append((batch, compare("W1", ["float64", str(batch), "1"], ["tinygrad_ce"], 1,
                                      args.threads)["tinygrad_ce"]))
    depth = []
    for d in ([2, 32] if args.quick else [2, 8, 32]):
        depth.append((d, compare("W1", ["float64", "100", str(d)], ["tinygrad_ce"], 1,
                                 args.threads)["tinygrad_ce"]))
    chain = run_one(["CHAIN", "tinygrad_ce", "100000"], args.threads)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, NumPy {np.__version__}, BLAS threads {args.threads}, "
          f"{repeats} fresh processes per contender (medians)"
          f"{', glibc malloc thresholds raised for all' if TUNED else ''}\n")
    head = ["workload", *contenders, "unit", "target"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\nW1 time per step by batch size (linear?): " +
          ", ".join(f"{b}: {s * 1e3:.2f} ms ({s / b * 1e6:.2f} us/row)" for b, s in linear))
    print("W1 time per step by hidden layers (linear?): " +
          ", ".join(f"{d}: {s * 1e3:.2f} ms ({s / d * 1e3:.2f} ms/layer)" for d, s in depth))
    print(f"100,000-op chain: forward {chain['forward']:.2f} s, backward {chain['backward']:.2f} s "
          f"({chain['ratio']:.2f}x forward; target <= 3x)")


if __name__ == "__main__":
    main()
