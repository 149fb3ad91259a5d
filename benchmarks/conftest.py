"""Shared fixtures of the benchmark suites (opt-in: nothing here is autouse).

- ``bench_rng``: a generator seeded from the benchmark's group name, so every
  implementation of one workload sees the same inputs.
- ``single_thread``: one Numba thread and one BLAS thread (numpy's and scipy's
  OpenBLAS via threadpoolctl) for the duration of a benchmark, restored after.
  Use it for workloads whose target says "one thread". Pin the process too for
  steadier numbers: ``taskset -c 1 python -m pytest benchmarks/...``.
- ``all_threads``: the default thread counts, stated explicitly (for parallel
  workloads), restored after.
"""

import contextlib
import zlib

import numpy as np
import pytest


@pytest.fixture
def bench_rng(request):
    """A generator seeded by the test's name without its parametrization."""
    seed = zlib.crc32(request.node.originalname.encode())
    return np.random.default_rng(seed)


@contextlib.contextmanager
def _threads(n_numba, n_blas):
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(n_numba)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=n_blas)
    try:
        with limits:
            yield
    finally:
        numba.set_num_threads(before)


@pytest.fixture
def single_thread():
    """One Numba thread and one BLAS thread while the benchmark runs."""
    with _threads(1, 1):
        yield 1


@pytest.fixture
def all_threads():
    """Every Numba thread (``numba.config.NUMBA_NUM_THREADS``) while the benchmark runs."""
    import numba

    n = numba.config.NUMBA_NUM_THREADS
    with _threads(n, None):
        yield n
