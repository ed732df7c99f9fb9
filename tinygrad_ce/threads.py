"""How many threads NumPy's BLAS may use, for the command line and the examples.

The matrices of the default workloads are small (a batch of 50 rows times 64 x 256 weights):
splitting each product across threads costs more than it saves, and on a busy machine the
threads of OpenBLAS spin against each other and against other programs. One thread was the
fastest in every measurement (benchmarks/threads.py, docs/benchmarks.md), so that is what the
command line and the examples use, unless the user has set one of ``VARIABLES`` themselves,
which always wins.
"""

import ctypes
import glob
import os

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
FASTEST = 1  # measured: see the module docstring

HELP = ("NumPy's BLAS runs on one thread here, the fastest for these small matrices (see "
        "docs/benchmarks.md); set OMP_NUM_THREADS (or OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) "
        "yourself to choose, e.g. OMP_NUM_THREADS=2 tinygrad-ce train.")

_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
            "openblas_set_num_threads", "MKL_Set_Num_Threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
            "openblas_get_num_threads", "MKL_Get_Max_Threads")


def user_chose():
    """True when the user set a thread variable: we then change nothing."""
    return any(os.environ.get(v) for v in VARIABLES)


def _blas_libraries():
    """Paths of the BLAS libraries this process has loaded (Linux), else NumPy's bundled one."""
    found = []
    try:
        with open("/proc/self/maps") as maps:
            found = [line.split()[-1] for line in maps if "blas" in line or "mkl_rt" in line]
    except OSError:
        pass
    import numpy
    bundled = os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs", "*blas*")
    return list(dict.fromkeys([p for p in found if os.path.isfile(p)] + glob.glob(bundled)))


def set_blas_threads(n):
    """Ask the loaded BLAS to use ``n`` threads; True if one listened (threadpoolctl when
    installed, else the library's own set_num_threads function)."""
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")
        return True
    except ImportError:
        pass
    done = False
    for path in _blas_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                done = True
                break
    return done


def blas_threads():
    """How many threads the loaded BLAS will use (None if it cannot be asked)."""
    for path in _blas_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _GETTERS:
            getter = getattr(lib, name, None)
            if getter is not None:
                return int(getter())
    return None


def use_fastest():
    """One BLAS thread (the fastest measured) unless the user chose a number themselves."""
    if user_chose():
        return False
    return set_blas_threads(FASTEST)
