"""BLAS threads: one for the command line and the examples, unless the user chose."""

import os
import pathlib
import subprocess
import sys

import pytest

from tinygrad_ce.threads import VARIABLES

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROBE = ("import tinygrad_ce as tg; before = tg.threads.blas_threads(); "
         "changed = tg.threads.use_fastest(); print(before, changed, tg.threads.blas_threads())")


def probe(**variables):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(PYTHONPATH=str(ROOT), **variables)
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          check=True, timeout=120).stdout.split()


def test_one_thread_unless_the_user_set_a_variable():
    before, changed, after = probe()
    if before == "None":
        pytest.skip("this NumPy's BLAS cannot be asked for its thread count")
    assert changed == "True" and after == "1"
    before, changed, after = probe(OMP_NUM_THREADS="2")
    assert changed == "False" and before == after == "2"          # the user's choice is kept
