"""Subsequence search under banded DTW: align.subsequence_search vs the UCR Suite and peers.

Workloads (one pytest-benchmark group each, every entry asserts its answer):

- ``search-10M-m128-R5%``: a 128-point random-walk query in a 10-million-point
  random walk (seed 2012), band R = 0.05 (r = 6): ours (k = 1), ours (k = 3),
  and the UCR Suite's original C++ program ``UCR_DTW`` when the environment
  variable ``UCR_DTW_BIN`` points to a build of it (it is not part of this
  repository: build it elsewhere, e.g. ``g++ -O3 -march=native -o UCR_DTW
  UCR_DTW.cpp``). UCR_DTW reads text files, so its time includes parsing the
  10M numbers (its own clock starts before reading); the data file is written
  once with ``np.savetxt`` into ``$UCR_DATA_DIR`` (default: a temp folder).
  The expected answer (start 9414729, sqrt(distance) 2.46427) is the one the
  UCR Suite prints on the same data.
- ``search-200k-m128-R5%``: the same query in the first 200,000 points, for
  contrast: the full cascade, LB_Keogh only (plus early-abandoning DTW), a
  plain sliding DTW (every window, no bound), and dtaidistance's
  SubsequenceSearch (C DTW with LB_Keogh) on pre-z-normalised windows.
- ``search-compile``: import plus first call in a fresh process with an empty
  Numba cache (the compile time a user sees once).

Run::

    taskset -c 1 pytest benchmarks/bench_search.py --benchmark-only \
        --benchmark-disable-gc --benchmark-columns=min,median,max,rounds

or as a script for a plain table with pruning counters (min wall and min CPU
time of 3 runs; CPU time is the fairer figure on a shared machine)::

    taskset -c 1 python benchmarks/bench_search.py [--ucr /path/to/UCR_DTW]
"""

import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from align.kernels import search as K
from align.search import _run

N_BIG = 10_000_000
N_SMALL = 200_000
M = 128
R = 0.05
SEED = 2012
# Answer on the 10M workload, as printed by the UCR Suite's UCR_DTW on the
# same data (Location 9414729, Distance 2.46427 = sqrt of our sum).
BIG_K1_START = 9_414_729
BIG_K1_SQRT_DISTANCE = 2.46427
BIG_K3_STARTS = [9_414_729, 5_798_100, 6_930_033]
SMALL_K1_START = 121_267  # agreed by all four entries of the 200k group


def _data(n=N_BIG):
    rng = np.random.default_rng(SEED)
    series = np.cumsum(rng.standard_normal(N_BIG))[:n]
    query = np.cumsum(rng.standard_normal(M))
    return query, series


@pytest.fixture(scope="module")
def big():
    query, series = _data()
    _run(query[:16], series[:1000], radius=R)  # compile / load the cache
    return query, series


@pytest.fixture(scope="module")
def small(big):
    query, series = big
    return query, series[:N_SMALL].copy()


def _check_big_k1(matches):
    assert matches[0].start == BIG_K1_START
    assert math.isclose(math.sqrt(matches[0].distance), BIG_K1_SQRT_DISTANCE, abs_tol=1e-5)


@pytest.mark.benchmark(group="search-10M-m128-R5%")
def test_ours_k1(benchmark, big):
    query, series = big
    matches, _ = benchmark.pedantic(_run, args=(query, series), kwargs={"radius": R},
                                    rounds=3, iterations=1)
    _check_big_k1(matches)


@pytest.mark.benchmark(group="search-10M-m128-R5%")
def test_ours_k3(benchmark, big):
    query, series = big
    matches, _ = benchmark.pedantic(_run, args=(query, series), kwargs={"radius": R, "k": 3},
                                    rounds=3, iterations=1)
    _check_big_k1(matches)
    assert [mt.start for mt in matches] == BIG_K3_STARTS


def _write_ucr_files(query, series):
    folder = os.environ.get("UCR_DATA_DIR") or tempfile.mkdtemp(prefix="ucr_")
    data, qfile = os.path.join(folder, "data.txt"), os.path.join(folder, "query.txt")
    if not os.path.exists(data):
        np.savetxt(data, series, fmt="%.17g")
        np.savetxt(qfile, query, fmt="%.17g")
    return data, qfile


def _run_ucr(binary, data, qfile):
    out = subprocess.run([binary, data, qfile, str(M), str(R)], capture_output=True,
                         text=True, check=True).stdout
    start = int(re.search(r"Location : (\d+)", out).group(1))
    dist = float(re.search(r"Distance : ([0-9.eE+-]+)", out).group(1))
    own = float(re.search(r"Total Execution Time : ([0-9.eE+-]+)", out).group(1))
    return start, dist, own


@pytest.mark.benchmark(group="search-10M-m128-R5%")
def test_ucr_suite_c(benchmark, big):
    binary = os.environ.get("UCR_DTW_BIN")
    if not binary:
        pytest.skip("set UCR_DTW_BIN to a build of the UCR Suite's UCR_DTW.cpp")
    data, qfile = _write_ucr_files(*big)
    start, dist, _ = benchmark.pedantic(_run_ucr, args=(binary, data, qfile), rounds=3,
                                        iterations=1)
    assert start == BIG_K1_START
    assert math.isclose(dist, BIG_K1_SQRT_DISTANCE, abs_tol=1e-5)


@pytest.mark.benchmark(group="search-200k-m128-R5%")
@pytest.mark.parametrize("variant,bounds", [
    ("cascade", K.BOUND_ALL),
    ("lb_keogh_only", K.BOUND_KEOGH | K.BOUND_EARLY_ABANDON),
    ("sliding_dtw_no_bounds", 0),
])
def test_small_ours(benchmark, small, variant, bounds):
    query, series = small
    rounds = 1 if bounds == 0 else 3
    matches, stats = benchmark.pedantic(_run, args=(query, series),
                                        kwargs={"radius": R, "bounds": bounds},
                                        rounds=rounds, iterations=1)
    assert matches[0].start == SMALL_K1_START
    benchmark.extra_info.update(stats)


def _dtaidistance_search(qz, windows_z, r):
    from dtaidistance.subsequence.subsequencesearch import subsequence_search

    ss = subsequence_search(qz, windows_z, dists_options={"window": r + 1}, use_lb=True,
                            use_c=True)
    return ss.best_match()


@pytest.mark.benchmark(group="search-200k-m128-R5%")
def test_small_dtaidistance(benchmark, small):
    pytest.importorskip("dtaidistance")
    query, series = small
    # dtaidistance does not z-normalise windows; hand it z-normalised ones
    # (prepared outside the timing). Its "window" w allows |i - j| < w.
    w = np.lib.stride_tricks.sliding_window_view(series, M)
    wz = (w - w.mean(axis=1, keepdims=True)) / w.std(axis=1, keepdims=True)
    qz = (query - query.mean()) / query.std()
    r = math.floor(R * M)
    best = benchmark.pedantic(_dtaidistance_search, args=(qz, wz, r), rounds=1, iterations=1)
    assert best.idx == SMALL_K1_START


_COMPILE_CHILD = """
import time
t = time.perf_counter()
import numpy as np
import align
rng = np.random.default_rng(0)
m = align.subsequence_search(rng.standard_normal(32), rng.standard_normal(500), k=2)
print(time.perf_counter() - t, len(m))
"""


def _compile_in_fresh_process():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _COMPILE_CHILD], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


@pytest.mark.benchmark(group="search-compile")
def test_compile_time(benchmark):
    seconds, n_matches = benchmark.pedantic(_compile_in_fresh_process, rounds=1, iterations=1)
    assert n_matches == 2
    benchmark.extra_info["child_seconds"] = seconds


def _cpu_seconds():
    """CPU time of this process and its finished children (robust to a loaded machine)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _main(argv):
    """Plain table: min wall and min CPU time of 3 runs per entry, with pruning counters."""
    ucr = None
    if "--ucr" in argv:
        ucr = argv[argv.index("--ucr") + 1]
    query, series = _data()
    _run(query[:16], series[:1000], radius=R)
    rows = []

    def timed(fn, repeat=3):
        wall, cpu, out = math.inf, math.inf, None
        for _ in range(repeat):
            c, t = _cpu_seconds(), time.perf_counter()
            out = fn()
            wall = min(wall, time.perf_counter() - t)
            cpu = min(cpu, _cpu_seconds() - c)
        return wall, cpu, out

    for k in (1, 3):
        wall, cpu, (matches, stats) = timed(lambda: _run(query, series, radius=R, k=k))
        _check_big_k1(matches)
        rows.append((f"10M ours k={k}", wall, cpu, stats))
    if ucr:
        data, qfile = _write_ucr_files(query, series)
        wall, cpu, (start, dist, own) = timed(lambda: _run_ucr(ucr, data, qfile))
        assert start == BIG_K1_START
        rows.append(("10M UCR_DTW (process, incl. text parsing)", wall, cpu,
                     {"own_clock_s": own}))
    small_series = series[:N_SMALL].copy()
    for name, bounds, repeat in [("cascade", K.BOUND_ALL, 3),
                                 ("lb_keogh_only", K.BOUND_KEOGH | K.BOUND_EARLY_ABANDON, 3),
                                 ("sliding_dtw_no_bounds", 0, 1)]:
        wall, cpu, (matches, stats) = timed(
            lambda: _run(query, small_series, radius=R, bounds=bounds), repeat)
        assert matches[0].start == SMALL_K1_START
        rows.append((f"200k ours {name}", wall, cpu, stats))
    print(f"{'entry':45s} {'wall s':>8s} {'cpu s':>8s}")
    for name, wall, cpu, stats in rows:
        print(f"{name:45s} {wall:8.3f} {cpu:8.3f}  {stats}")


if __name__ == "__main__":
    _main(sys.argv[1:])
