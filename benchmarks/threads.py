"""BLAS threads: the default workloads with 1 thread and with every core, idle and loaded.

    python benchmarks/threads.py [--repeat 2]

Each workload runs in a fresh process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set (the
user's choice, which tinygrad_ce never overrides); "loaded" runs as many busy processes as
there are cores beside it. Prints the best wall time of each cell.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKLOADS = {
    "tinygrad-ce train --quiet": [sys.executable, "-m", "tinygrad_ce", "train", "--quiet"],
    "examples/softmax_regression.py": [sys.executable, "examples/softmax_regression.py"],
    "examples/two_layer_net.py": [sys.executable, "examples/two_layer_net.py"],
    "examples/quickstart.py": [sys.executable, "examples/quickstart.py"],
}


def wall_time(command, threads, timeout):
    """Seconds for one run, or inf when it takes longer than ``timeout``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), MPLBACKEND="Agg")
    start = time.perf_counter()
    try:
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                       timeout=timeout)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.perf_counter() - start


def busy_processes(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run at most")
    parser.add_argument("--only", nargs="*", default=list(WORKLOADS), help="workload names")
    parser.add_argument("--machine", nargs="*", default=["idle", "loaded"])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{cores} cores, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{'workload':34s} {'machine':8s} {'1 thread':>9s} {f'{cores} threads':>10s}")
    for name, command in WORKLOADS.items():
        if name not in args.only:
            continue
        for machine in args.machine:
            load = busy_processes(cores) if machine == "loaded" else []
            try:
                best = [min(wall_time(command, n, args.timeout) for _ in range(args.repeat))
                        for n in (1, cores)]
            finally:
                for p in load:
                    p.kill()
                    p.wait()
            cells = [f"> {args.timeout:g}s" if b == float("inf") else f"{b:.2f}s" for b in best]
            print(f"{name:34s} {machine:8s} {cells[0]:>9s} {cells[1]:>10s}", flush=True)


if __name__ == "__main__":
    main()
