"""The benchmark suite: python benchmarks/run.py [--threads N] [--repeats R] [--quick]

Each workload runs in a fresh process per contender, the contenders interleaved round by round,
R rounds; the table gives medians and ratios to the hand-written NumPy version
(benchmarks/hand_numpy.py). Beside tinygrad_ce (plain tape, and replayed by tg.compile) it runs
PyTorch and MyGrad when they are importable, on the same network, data and starting weights.
BLAS threads are pinned to 1 unless --threads says otherwise.
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
# Set on some processors to steer OpenBLAS to another kernel; they slow NumPy down, so the
# benchmark processes run without both (together: one without the other is a third setting).
OPENBLAS_STEERING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
TUNED = False
CLOCK = "seconds"   # the CPU time of the measuring thread; "wall" for wall-clock time


def environment(threads):
    """The environment of a measured process: BLAS threads pinned, OpenBLAS unsteered."""
    env = dict(os.environ)
    if TUNED:  # glibc keeps freed memory instead of returning it (and faulting it in again)
        env.update(MALLOC_TUNED)
    for var in OPENBLAS_STEERING:
        env.pop(var, None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_one(args, threads, script="workloads.py"):
    """One measurement in a fresh process; its JSON line as a dict."""
    out = subprocess.run([sys.executable, os.path.join(HERE, script), *args],
                         env=environment(threads), capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(name, args, contenders, repeats, threads, key=None):
    """Median of ``key`` per contender over ``repeats`` interleaved rounds; also the contenders'
    first results (loss or gradient) and the BLAS kernels seen."""
    key = key or CLOCK
    runs = {c: [] for c in contenders}
    for _ in range(repeats):            # interleaved: drift hits every contender alike
        for c in contenders:
            runs[c].append(run_one([name, c, *args], threads))
    medians = {c: float(np.median([r[key] for r in rs])) for c, rs in runs.items()}
    firsts = {c: rs[0].get("first") for c, rs in runs.items()}
    BLAS.update(r["blas"] for rs in runs.values() for r in rs)
    return medians, firsts


BLAS = set()


def agreement(firsts):
    """The largest relative difference of each contender's first result from hand NumPy's."""
    base = firsts.get("numpy")
    if base is None:
        return {}
    base = np.asarray(base)
    return {c: float(np.max(np.abs(np.asarray(v) - base) / np.maximum(np.abs(base), 1e-300)))
            for c, v in firsts.items() if v is not None and c != "numpy"}


class Table:
    """Rows of figures, each contender's cell with its ratio to hand NumPy."""

    def __init__(self, contenders):
        self.contenders, self.rows, self.notes = contenders, [], []

    def add(self, label, figures, unit, target, fmt="{:.3f}", ratios=True):
        base, cells = figures.get("numpy"), [label]
        for c in self.contenders:
            v = figures.get(c)
            if v is None:
                cells.append("-")
            elif ratios and base and c != "numpy":
                cells.append(f"{fmt.format(v)} ({v / base:.2f}x)")
            else:
                cells.append(fmt.format(v))
        self.rows.append(cells + [unit, target])
        print("| " + " | ".join(self.rows[-1]) + " |", file=sys.stderr, flush=True)  # progress

    def print(self):
        head = ["workload", *self.contenders, "unit", "target"]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in self.rows:
            print("| " + " | ".join(r) + " |")


def contenders_here(compiled):
    found = ["numpy", "tinygrad_ce"]
    if compiled:
        found.append("tinygrad_ce:compiled")
    found += [lib for lib in ("torch", "mygrad") if importlib.util.find_spec(lib)]
    return found


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds (fresh processes)")
    p.add_argument("--quick", action="store_true", help="fewer rounds and sizes")
    p.add_argument("--only", help="comma-separated workloads to run "
                                  "(W1,W2,W3,W4,W5,LINEAR,PRINT,CONV,GRU)")
    p.add_argument("--print-ops", type=int, default=100_000,
                   help="length of the chain whose tape, DOT and trace are printed")
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                   help="time measured: CPU time of the process (default; robust while other "
                        "processes share the cores) or wall-clock time")
    p.add_argument("--malloc-tuned", action="store_true",
                   help="run every contender with glibc's trim and mmap thresholds raised")
    args = p.parse_args(argv)
    global TUNED, CLOCK
    TUNED, CLOCK = args.malloc_tuned, "wall" if args.clock == "wall" else "seconds"
    repeats = 2 if args.quick else args.repeats
    only = set(args.only.split(",")) if args.only else None
    wanted = lambda w: only is None or w in only  # noqa: E731
    sys.path.insert(0, os.path.dirname(HERE))   # the tinygrad_ce beside this folder
    import tinygrad_ce
    contenders = contenders_here(hasattr(tinygrad_ce, "compile"))
    table, notes = Table(contenders), []

    for dtype in ("float64", "float32"):
        if wanted("W1"):
            f, first = compare("W1", [dtype, "100", "1"], contenders, repeats, args.threads)
            table.add(f"W1 mlp-step {dtype}", {k: v * 1e3 for k, v in f.items()}, "ms/step",
                      "<= 1.10x")
            notes.append(f"W1 {dtype} first loss, relative difference from hand NumPy: "
                         + ", ".join(f"{c} {d:.1e}" for c, d in agreement(first).items()))
    if wanted("W2"):
        f, first = compare("W2", [], contenders, repeats, args.threads)
        f = {c: v / 301 * 1e6 for c, v in f.items()}
        table.add("W2 op overhead (fwd+bwd)", f, "us/op", "<= 5 us/op", "{:.2f}", ratios=False)
        notes.append("W2 gradient, relative difference from hand NumPy: "
                     + ", ".join(f"{c} {d:.1e}" for c, d in agreement(first).items()))
    plain = [c for c in contenders if c != "tinygrad_ce:compiled"]
    if wanted("W3"):
        f, _ = compare("W3", [], plain, repeats, args.threads)
        table.add("W3 wide MLP float32", {k: v * 1e3 for k, v in f.items()}, "ms/step",
                  "<= 1.03x", "{:.1f}")
    if wanted("W4"):
        f, _ = compare("W4", [], plain, max(1, repeats // 2), args.threads,
                       key="peak_above_setup_mib")
        table.add("W4 peak memory above setup", f, "MiB", "<= 40 MiB", "{:.1f}")
    if wanted("W5"):
        for mode in ("full", "fast"):
            r = run_one(["W5", "tinygrad_ce", mode], args.threads)
            notes.append(f"W5 gradcheck {mode}: {r['seconds'] * 1e3:.2f} ms, max abs error "
                         f"{r['max_abs_error']:.1e}, {'passed' if r['passed'] else 'FAILED'} "
                         "(target: full <= 0.5 s, fast <= 2 ms)")
    if wanted("LINEAR"):
        notes += linearity(args.quick, args.threads)
    if wanted("PRINT"):
        r = run_one(["PRINT", "tinygrad_ce", str(args.print_ops)], args.threads)
        notes.append(f"printing a {args.print_ops:,}-op chain: tape {r['tape']:.2f} s, DOT "
                     f"{r['dot']:.2f} s, backward trace {r['trace']:.2f} s")
    sections = []
    for key, (script, script_args) in SCRIPTS.items():
        if wanted(key):
            sections.append(run_script(script, script_args(args), args.threads))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, NumPy {np.__version__}{versions()}, BLAS threads "
          f"{args.threads} ({'; '.join(sorted(BLAS))}), {repeats} interleaved rounds of fresh "
          f"processes (medians of {args.clock} time)"
          f"{', glibc malloc thresholds raised for all' if TUNED else ''}\n")
    table.print()
    print()
    for note in notes:
        print(f"- {note}")
    for section in sections:
        print(f"\n{section}")


# the workloads other issues brought, each a script of its own: (script, its arguments)
SCRIPTS = {
    "CONV": ("conv.py", lambda a: ["--quick"] if a.quick else ["--repeats", str(a.repeats)]),
    "GRU": ("rnn.py", lambda a: ["--repeats", str(2 if a.quick else a.repeats),
                                 "--threads", str(a.threads)]),
}


def run_script(script, args, threads):
    """The output of one of the benchmarks/ scripts, run with the suite's environment."""
    path = os.path.join(HERE, script)
    if not os.path.exists(path):
        return f"### {script}\n\n(not in this checkout)"
    out = subprocess.run([sys.executable, path, *args], env=environment(threads),
                         capture_output=True, text=True)
    body = out.stdout.strip() if out.returncode == 0 else f"failed:\n{out.stderr[-2000:]}"
    return f"### {script} {' '.join(args)}\n\n{body}"


def versions():
    """The versions of the peers, when installed."""
    found = []
    for lib in ("torch", "mygrad"):
        if importlib.util.find_spec(lib):
            from importlib.metadata import version
            found.append(f", {lib} {version(lib)}")
    return "".join(found)


def linearity(quick, threads):
    """Time per row across batch sizes, per layer across depths, and the 100,000-op chain."""
    by_batch = []
    for batch in ([100, 3200] if quick else [100, 400, 1600, 3200]):
        f, _ = compare("W1", ["float64", str(batch), "1"], ["tinygrad_ce"], 1, threads)
        by_batch.append((batch, f["tinygrad_ce"]))
    by_depth = []
    for d in ([2, 32] if quick else [2, 8, 32]):
        f, _ = compare("W1", ["float64", "100", str(d)], ["tinygrad_ce"], 1, threads)
        by_depth.append((d, f["tinygrad_ce"]))
    chain = run_one(["CHAIN", "tinygrad_ce", "100000"], threads)
    return [
        "W1 time per step by batch size (linear?): " + ", ".join(
            f"{b}: {s * 1e3:.2f} ms ({s / b * 1e6:.2f} us/row)" for b, s in by_batch),
        "W1 time per step by hidden layers (linear?): " + ", ".join(
            f"{d}: {s * 1e3:.2f} ms ({s / d * 1e3:.2f} ms/layer)" for d, s in by_depth),
        f"100,000-op chain: forward {chain['forward']:.2f} s, backward {chain['backward']:.2f} s"
        f" ({chain['ratio']:.2f}x forward; target <= 3x)"]


if __name__ == "__main__":
    main()
