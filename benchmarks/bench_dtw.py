"""Exact DTW (symmetric1, distance only): ours beside dtaidistance, tslearn, librosa, aeon.

Workloads (one pytest-benchmark group each, one entry per implementation; every
entry asserts its answer against ours on the shared convention: the sum of local
costs on the best path; dtaidistance and tslearn return its square root, so
their value is squared before the comparison):

- ``dtw-1d-4000``: one pair of 1-D float64 series, N = M = 4,000, sqeuclidean,
  one thread.
- ``dtw-band10-10000``: N = M = 10,000, Sakoe-Chiba band of 10 %
  (radius 1,000: ``|i - j| <= 1000``; dtaidistance ``window=1001`` since its
  window w allows ``|i - j| < w``; aeon ``window=0.1``), one thread. librosa is
  left out: it allocates the full N x M cost and accumulated matrices (1.6 GB).
- ``dtw-nd40-2000``: N = M = 2,000, d = 40, sqeuclidean, one thread (BLAS
  limited to one thread too).
- ``dtw-pairwise-200x256``: all pairs (upper triangle, 19,900 pairs) of 200
  series of length 256, every core (2 on the reference machine). librosa has no
  pairwise function and is left out.

Our entries:

- ``ours-api``: the public ``align.dtw_distance`` / ``align.dtw_pairwise`` as a
  user calls them (validation included). For float64 symmetric1 distances they
  dispatch to ``align.kernels.dtw_fast`` (``sym1_1d``; the direct form of
  ``sym1_nd``; ``sym1_pairwise``) when that module is present, else to the
  general kernels of ``align.kernels.dtw``.
- ``ours-kernel-*``: the kernels of ``align.kernels.dtw_fast`` called directly
  (``sym1_pairwise``; ``sym1_nd`` in its BLAS form; float32 variants, which
  accumulate in float32 and are compared at ``rtol=1e-4``).

Single-thread peers: dtaidistance's ``distance_fast`` (C, one thread), tslearn
(Numba, one thread), librosa (Numba), aeon (Numba); in the pairwise group
dtaidistance runs ``distance_matrix_fast(parallel=True)`` (OpenMP), tslearn
``cdist_dtw(n_jobs=-1)`` (joblib) and aeon ``dtw_pairwise_distance(n_jobs=-1)``.
Every entry is warmed up once (JIT compile) before timing; slow peers are warmed
up on a small input of the same kind and run for one or two rounds.

``extra_info["gcells_per_s"]`` is ``cells / min time`` (cells: N*M, the band's
cells for the banded workload, pairs * N * M for the pairwise one).

Run (the table in ``benchmarks/results/dtw.md`` comes from this command)::

    taskset -c 1 /tmp/probe/bin/python -m pytest benchmarks/bench_dtw.py --benchmark-only \
        --benchmark-disable-gc --benchmark-group-by=group \
        --benchmark-columns=min,median,rounds -k "not pairwise"
    /tmp/probe/bin/python -m pytest benchmarks/bench_dtw.py --benchmark-only \
        --benchmark-disable-gc --benchmark-group-by=group \
        --benchmark-columns=min,median,rounds -k pairwise
"""

import numpy as np
import pytest

import align
from align.kernels import dtw_fast
from align.kernels.dtw_band import band_bounds

RTOL = 1e-9
RTOL32 = 1e-4


def _run(benchmark, fn, *, cells, rounds, warmup=True):
    result = benchmark.pedantic(fn, rounds=rounds, iterations=1,
                                warmup_rounds=1 if warmup else 0)
    benchmark.extra_info["cells"] = int(cells)
    benchmark.extra_info["gcells_per_s"] = round(cells / benchmark.stats.stats.min / 1e9, 4)
    return result


# ---------------------------------------------------------------------------
# inputs (module scope: every implementation of a workload sees the same data)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_d():
    rng = np.random.default_rng(20240401)
    x = rng.standard_normal(4000)
    y = rng.standard_normal(4000)
    lo, hi = band_bounds(4000, 4000, 0, 0, 2.0)
    return x, y, dtw_fast.sym1_1d(x, y, lo, hi, 0), lo, hi


@pytest.fixture(scope="module")
def band10():
    rng = np.random.default_rng(20240402)
    x = rng.standard_normal(10000)
    y = rng.standard_normal(10000)
    lo, hi = band_bounds(10000, 10000, 1, 1000, 2.0)
    cells = int((hi - lo + 1).sum())
    return x, y, dtw_fast.sym1_1d(x, y, lo, hi, 0), lo, hi, cells


@pytest.fixture(scope="module")
def nd40():
    rng = np.random.default_rng(20240403)
    x = rng.standard_normal((2000, 40))
    y = rng.standard_normal((2000, 40))
    lo, hi = band_bounds(2000, 2000, 0, 0, 2.0)
    return x, y, dtw_fast.sym1_nd(x, y, lo, hi, 0, 0), lo, hi


@pytest.fixture(scope="module")
def pairs200():
    rng = np.random.default_rng(20240404)
    X = rng.standard_normal((200, 256))
    offsets = np.arange(0, 200 * 256 + 1, 256, dtype=np.int64)
    out = np.empty((200, 200))
    dtw_fast.sym1_pairwise(X.reshape(-1), offsets, X.reshape(-1), offsets, True, -1, 0, out)
    iu = np.triu_indices(200, 1)
    return X, offsets, out, iu


CELLS_1D = 4000 * 4000
CELLS_ND = 2000 * 2000
CELLS_PW = 200 * 199 // 2 * 256 * 256

# ---------------------------------------------------------------------------
# dtw-1d-4000 (one thread)
# ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="dtw-1d-4000")
def test_1d_ours_api(benchmark, single_thread, one_d):
    x, y, want, _, _ = one_d
    got = _run(benchmark, lambda: align.dtw_distance(x, y), cells=CELLS_1D, rounds=30)
    assert got == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-1d-4000")
def test_1d_ours_kernel_float32(benchmark, single_thread, one_d):
    x, y, want, lo, hi = one_d
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got = _run(benchmark, lambda: dtw_fast.sym1_1d(x32, y32, lo, hi, 0), cells=CELLS_1D,
               rounds=30)
    assert got == pytest.approx(want, rel=RTOL32)


@pytest.mark.benchmark(group="dtw-1d-4000")
def test_1d_dtaidistance(benchmark, single_thread, one_d):
    from dtaidistance import dtw

    x, y, want, _, _ = one_d
    got = _run(benchmark, lambda: dtw.distance_fast(x, y), cells=CELLS_1D, rounds=5)
    assert got**2 == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-1d-4000")
def test_1d_tslearn(benchmark, single_thread, one_d):
    from tslearn.metrics import dtw

    x, y, want, _, _ = one_d
    got = _run(benchmark, lambda: dtw(x, y), cells=CELLS_1D, rounds=3)
    assert got**2 == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-1d-4000")
def test_1d_librosa(benchmark, single_thread, one_d):
    import librosa

    x, y, want, _, _ = one_d
    D = _run(benchmark, lambda: librosa.sequence.dtw(X=x[None], Y=y[None], metric="sqeuclidean",
                                                     backtrack=False),
             cells=CELLS_1D, rounds=2)
    assert D[-1, -1] == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-1d-4000")
def test_1d_aeon(benchmark, single_thread, one_d):
    from aeon.distances import dtw_distance

    x, y, want, _, _ = one_d
    got = _run(benchmark, lambda: dtw_distance(x, y), cells=CELLS_1D, rounds=5)
    assert got == pytest.approx(want, rel=RTOL)


# ---------------------------------------------------------------------------
# dtw-band10-10000 (one thread)
# ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="dtw-band10-10000")
def test_band_ours_api(benchmark, single_thread, band10):
    x, y, want, _, _, cells = band10
    got = _run(benchmark, lambda: align.dtw_distance(x, y, window="sakoe_chiba", radius=1000),
               cells=cells, rounds=30)
    assert got == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-band10-10000")
def test_band_ours_kernel_float32(benchmark, single_thread, band10):
    x, y, want, lo, hi, cells = band10
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got = _run(benchmark, lambda: dtw_fast.sym1_1d(x32, y32, lo, hi, 0), cells=cells, rounds=30)
    assert got == pytest.approx(want, rel=RTOL32)


@pytest.mark.benchmark(group="dtw-band10-10000")
def test_band_dtaidistance(benchmark, single_thread, band10):
    from dtaidistance import dtw

    x, y, want, _, _, cells = band10
    got = _run(benchmark, lambda: dtw.distance_fast(x, y, window=1001), cells=cells, rounds=5)
    assert got**2 == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-band10-10000")
def test_band_tslearn(benchmark, single_thread, band10):
    from tslearn.metrics import dtw

    x, y, want, _, _, cells = band10
    dtw(x[:50], y[:50], global_constraint="sakoe_chiba", sakoe_chiba_radius=5)  # compile
    got = _run(benchmark, lambda: dtw(x, y, global_constraint="sakoe_chiba",
                                      sakoe_chiba_radius=1000),
               cells=cells, rounds=2, warmup=False)
    assert got**2 == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-band10-10000")
def test_band_aeon(benchmark, single_thread, band10):
    from aeon.distances import dtw_distance

    x, y, want, _, _, cells = band10
    got = _run(benchmark, lambda: dtw_distance(x, y, window=0.1), cells=cells, rounds=3)
    assert got == pytest.approx(want, rel=RTOL)


# ---------------------------------------------------------------------------
# dtw-nd40-2000 (one thread, BLAS included)
# ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_ours_api(benchmark, single_thread, nd40):
    x, y, want, _, _ = nd40
    got = _run(benchmark, lambda: align.dtw_distance(x, y), cells=CELLS_ND, rounds=10)
    assert got == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_ours_kernel_blas(benchmark, single_thread, nd40):
    x, y, want, lo, hi = nd40
    got = _run(benchmark, lambda: dtw_fast.sym1_nd(x, y, lo, hi, 0, 1), cells=CELLS_ND,
               rounds=20)
    assert got == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_ours_kernel_blas_float32(benchmark, single_thread, nd40):
    x, y, want, lo, hi = nd40
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got = _run(benchmark, lambda: dtw_fast.sym1_nd(x32, y32, lo, hi, 0, 1), cells=CELLS_ND,
               rounds=20)
    assert got == pytest.approx(want, rel=RTOL32)


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_dtaidistance(benchmark, single_thread, nd40):
    from dtaidistance import dtw_ndim

    x, y, want, _, _ = nd40
    got = _run(benchmark, lambda: dtw_ndim.distance_fast(x, y), cells=CELLS_ND, rounds=3)
    assert got**2 == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_tslearn(benchmark, single_thread, nd40):
    from tslearn.metrics import dtw

    x, y, want, _, _ = nd40
    got = _run(benchmark, lambda: dtw(x, y), cells=CELLS_ND, rounds=3)
    assert got**2 == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_librosa(benchmark, single_thread, nd40):
    import librosa

    x, y, want, _, _ = nd40
    xt, yt = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)
    D = _run(benchmark, lambda: librosa.sequence.dtw(X=xt, Y=yt, metric="sqeuclidean",
                                                     backtrack=False),
             cells=CELLS_ND, rounds=3)
    assert D[-1, -1] == pytest.approx(want, rel=RTOL)


@pytest.mark.benchmark(group="dtw-nd40-2000")
def test_nd_aeon(benchmark, single_thread, nd40):
    from aeon.distances import dtw_distance

    x, y, want, _, _ = nd40
    xt, yt = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)  # aeon: (channels, time)
    got = _run(benchmark, lambda: dtw_distance(xt, yt), cells=CELLS_ND, rounds=3)
    assert got == pytest.approx(want, rel=RTOL)


# ---------------------------------------------------------------------------
# dtw-pairwise-200x256 (every core)
# ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="dtw-pairwise-200x256")
def test_pairwise_ours_api(benchmark, all_threads, pairs200):
    X, _, want, iu = pairs200
    series = list(X)
    got = _run(benchmark, lambda: align.dtw_pairwise(series), cells=CELLS_PW, rounds=3)
    np.testing.assert_allclose(got[iu], want[iu], rtol=RTOL)


@pytest.mark.benchmark(group="dtw-pairwise-200x256")
def test_pairwise_ours_kernel(benchmark, all_threads, pairs200):
    X, offsets, want, iu = pairs200
    flat = X.reshape(-1)
    out = np.empty((200, 200))
    got = _run(benchmark,
               lambda: dtw_fast.sym1_pairwise(flat, offsets, flat, offsets, True, -1, 0, out),
               cells=CELLS_PW, rounds=5)
    np.testing.assert_allclose(got[iu], want[iu], rtol=RTOL)


@pytest.mark.benchmark(group="dtw-pairwise-200x256")
def test_pairwise_ours_kernel_float32(benchmark, all_threads, pairs200):
    X, offsets, want, iu = pairs200
    flat = X.reshape(-1).astype(np.float32)
    out = np.empty((200, 200))
    got = _run(benchmark,
               lambda: dtw_fast.sym1_pairwise(flat, offsets, flat, offsets, True, -1, 0, out),
               cells=CELLS_PW, rounds=5)
    np.testing.assert_allclose(got[iu], want[iu], rtol=RTOL32)


@pytest.mark.benchmark(group="dtw-pairwise-200x256")
def test_pairwise_dtaidistance(benchmark, all_threads, pairs200):
    from dtaidistance import dtw

    X, _, want, iu = pairs200
    dtw.distance_matrix_fast(X[:3, :20], parallel=True)
    got = _run(benchmark, lambda: dtw.distance_matrix_fast(X, parallel=True), cells=CELLS_PW,
               rounds=1, warmup=False)
    np.testing.assert_allclose(got[iu] ** 2, want[iu], rtol=RTOL)


@pytest.mark.benchmark(group="dtw-pairwise-200x256")
def test_pairwise_tslearn(benchmark, all_threads, pairs200):
    from tslearn.metrics import cdist_dtw

    X, _, want, iu = pairs200
    cdist_dtw(X[:3, :20], n_jobs=-1)
    got = _run(benchmark, lambda: cdist_dtw(X, n_jobs=-1), cells=CELLS_PW, rounds=1,
               warmup=False)
    np.testing.assert_allclose(got[iu] ** 2, want[iu], rtol=RTOL)


@pytest.mark.benchmark(group="dtw-pairwise-200x256")
def test_pairwise_aeon(benchmark, all_threads, pairs200):
    from aeon.distances import dtw_pairwise_distance

    X, _, want, iu = pairs200
    dtw_pairwise_distance(X[:3, :20], n_jobs=-1)
    got = _run(benchmark, lambda: dtw_pairwise_distance(X, n_jobs=-1), cells=CELLS_PW,
               rounds=1, warmup=False)
    np.testing.assert_allclose(got[iu], want[iu], rtol=RTOL)
