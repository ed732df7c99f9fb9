"""Printing a deep graph: the tape, the DOT text and the backward trace of a 100,000-op chain.

    python benchmarks/printing.py [--depth 100000]

Each should take at most a few seconds (backward itself takes about one).
"""

import argparse
import sys
import time

import numpy as np

import tinygrad_ce as tg


def chain(depth):
    x = tg.Tensor(np.ones(3), requires_grad=True, name="x")
    y = x
    for _ in range(depth):
        y = y * 1.0001
    return y.sum()


def timed(label, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:34s} {time.perf_counter() - start:6.2f} s", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=100_000)
    args = parser.parse_args()
    sys.setrecursionlimit(1000)          # nothing here may recurse
    y = timed(f"forward, {args.depth:,} muls", lambda: chain(args.depth))
    with tg.trace() as tr:
        timed("backward (traced, graph kept)", lambda: y.backward(retain_graph=True))
    text = timed("str(y.tape())", lambda: str(y.tape()))
    timed("tg.viz.to_dot(y)", lambda: tg.viz.to_dot(y))
    timed("str(trace)", lambda: str(tr))
    timed("repr(y.tape()) (notebook)", lambda: y.tape()._repr_html_())
    print(f"tape: {text.count(chr(10)) + 1:,} lines")


if __name__ == "__main__":
    main()
