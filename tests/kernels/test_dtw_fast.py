"""Tests of the wavefront symmetric1 kernels of :mod:`align.kernels.dtw_fast`.

Every kernel is compared with the independent full-matrix reference of
``tests/reference/dtw.py`` (and its brute-force path oracle for tiny sizes), on
tiny, odd, prime and unequal sizes, length 1, bands of radius 0, 1 and wide, tied
integer costs, float32 and float64, and with strip heights of 1, 2 and 5 rows so
that the strip hand-over (the part of the kernel most likely to be wrong) is
exercised on small inputs. The peers (dtaidistance, dtw-python) are checked on
their documented conventions; librosa, tslearn and aeon are checked by every
benchmark of ``benchmarks/bench_dtw.py``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.kernels import dtw_fast as F
from align.kernels.dtw_band import band_bounds
from tests.reference.dtw import dtw_brute_force, dtw_full

METRICS = ["sqeuclidean", "euclidean", "cityblock", "cosine"]
SIZES = [(1, 1), (1, 7), (7, 1), (2, 3), (5, 5), (13, 17), (31, 29), (23, 40)]
# (window code, radius): none, Sakoe-Chiba 0, 1, 3 and wider than the grid,
# Itakura with slope 2 (the second number is then ignored)
BANDS = [(0, 0), (1, 0), (1, 1), (1, 3), (1, 100), (2, 0)]


def reference(x, y, metric, band):
    window, radius = band
    kw = {}
    if window == 1:
        kw = {"window": "sakoe_chiba", "radius": radius}
    elif window == 2:
        kw = {"window": "itakura", "max_slope": 2.0}
    return dtw_full(x, y, metric=METRICS[metric], **kw)[0]


def bounds(n, m, band):
    return band_bounds(n, m, band[0], band[1], 2.0)


def same(a, b, rtol=1e-12):
    if np.isinf(b):
        return np.isinf(a) and a > 0
    return abs(a - b) <= rtol * max(1.0, abs(b))


def run_1d(x, y, lo, hi, metric, h):
    """The 1-D kernel with a strip height of ``h`` rows."""
    h = max(1, min(h, x.shape[0]))
    bufs = np.full((3, h + 2), np.inf, dtype=x.dtype)
    rowbuf = np.full(y.shape[0], np.nan, dtype=x.dtype)  # nan: a stale read would show
    return F._sym1_1d_into(x, y[::-1].copy(), lo, hi, metric, rowbuf, bufs[0], bufs[1], bufs[2])


def run_nd(x, y, lo, hi, metric, h, method):
    """The n-D kernel (0 direct, 1 BLAS) with a strip height of ``h`` rows."""
    n, dim = x.shape
    m = y.shape[0]
    h = max(1, min(h, n))
    bufs = np.full((3, h + 2), np.inf, dtype=x.dtype)
    rowbuf = np.full(m, np.nan, dtype=x.dtype)
    cb = np.empty(h, dtype=x.dtype)
    if method == 0:
        xt, yrt, xn, yrn = F._nd_prepare_direct(x, y, metric)
        return F._sym1_nd_direct_into(xt, yrt, dim, xn, yrn, lo, hi, metric, rowbuf,
                                      bufs[0], bufs[1], bufs[2], cb)
    xn = (x * x).sum(axis=1)
    yn = (y[::-1] * y[::-1]).sum(axis=1)
    if metric == 3:
        xn, yn = np.sqrt(xn), np.sqrt(yn)
    blk = np.empty(h * m, dtype=x.dtype)
    refine = F.GEMM_REFINE_F32 if x.dtype == np.float32 else F.GEMM_REFINE_F64
    return F._wavefront_gemm(x, y, xn, yn, lo, hi, metric, h, refine,
                             rowbuf, bufs[0], bufs[1], bufs[2], blk)


# ---------------------------------------------------------------------------
# 1-D
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", SIZES)
@pytest.mark.parametrize("band", BANDS)
def test_sym1_1d_matches_full_reference(rng, n, m, band):
    x = rng.standard_normal(n)
    y = rng.standard_normal(m)
    lo, hi = bounds(n, m, band)
    for metric in (0, 1, 2):
        want = reference(x, y, metric, band)
        assert same(F.sym1_1d(x, y, lo, hi, metric), want)
        for h in (1, 2, 5):
            assert same(run_1d(x, y, lo, hi, metric, h), want), (metric, h)


def test_sym1_1d_euclidean_equals_cityblock_in_1d(rng):
    x = rng.standard_normal(19)
    y = rng.standard_normal(11)
    lo, hi = bounds(19, 11, (0, 0))
    assert F.sym1_1d(x, y, lo, hi, 1) == F.sym1_1d(x, y, lo, hi, 2)


def test_sym1_1d_several_strips_against_reference(rng):
    # longer than one strip of STRIP_ROWS rows, so the public entry point itself
    # crosses strip boundaries
    n, m = F.STRIP_ROWS + 37, 61
    x = rng.standard_normal(n)
    y = rng.standard_normal(m)
    for band in [(0, 0), (1, 30)]:
        lo, hi = bounds(n, m, band)
        assert same(F.sym1_1d(x, y, lo, hi, 0), reference(x, y, 0, band), 1e-11)


def test_sym1_1d_integer_costs_are_exact(rng):
    # integer data: every partial sum is exact, ties everywhere; the value is
    # unique regardless of which predecessor wins a tie
    x = rng.integers(0, 3, 37).astype(np.float64)
    y = rng.integers(0, 3, 41).astype(np.float64)
    for band in BANDS:
        lo, hi = bounds(37, 41, band)
        want = reference(x, y, 0, band)
        assert F.sym1_1d(x, y, lo, hi, 0) == want
        assert run_1d(x, y, lo, hi, 0, 3) == want


def test_sym1_1d_float32(rng):
    x = rng.standard_normal(45)
    y = rng.standard_normal(38)
    lo, hi = bounds(45, 38, (1, 4))
    want = reference(x, y, 0, (1, 4))
    got = F.sym1_1d(x.astype(np.float32), y.astype(np.float32), lo, hi, 0)
    assert isinstance(got, float)
    assert got == pytest.approx(want, rel=1e-5)
    assert run_1d(x.astype(np.float32), y.astype(np.float32), lo, hi, 0, 4) == pytest.approx(
        want, rel=1e-5)


def test_sym1_1d_no_path_is_inf():
    x = np.zeros(4)
    y = np.zeros(4)
    lo = np.array([0, 0, 1, 3], dtype=np.int64)
    hi = np.array([0, 1, 1, 3], dtype=np.int64)  # row 2 cannot reach (3, 3)
    assert F.sym1_1d(x, y, lo, hi, 0) == np.inf
    lo = np.array([0, 2, 2, 3], dtype=np.int64)  # row 1 is empty
    hi = np.array([1, 1, 3, 3], dtype=np.int64)
    assert F.sym1_1d(x, y, lo, hi, 0) == np.inf
    assert run_1d(x, y, lo, hi, 0, 1) == np.inf
    lo = np.array([1, 1, 2, 3], dtype=np.int64)  # (0, 0) is outside the band
    hi = np.array([1, 2, 3, 3], dtype=np.int64)
    assert F.sym1_1d(x, y, lo, hi, 0) == np.inf


def test_sym1_1d_length_one():
    x = np.array([2.0])
    y = np.array([1.0, 4.0, -1.0])
    lo, hi = bounds(1, 3, (0, 0))
    assert F.sym1_1d(x, y, lo, hi, 0) == 1.0 + 4.0 + 9.0
    lo, hi = bounds(3, 1, (0, 0))
    assert F.sym1_1d(y, x, lo, hi, 2) == 1.0 + 2.0 + 3.0


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    radius=st.integers(-1, 3),
    data=st.data(),
)
def test_sym1_1d_brute_force_and_symmetry(n, m, radius, data):
    vals = st.integers(-3, 3).map(float)
    x = np.array(data.draw(st.lists(vals, min_size=n, max_size=n)))
    y = np.array(data.draw(st.lists(vals, min_size=m, max_size=m)))
    band = (0, 0) if radius < 0 else (1, radius)
    kw = {} if radius < 0 else {"window": "sakoe_chiba", "radius": radius}
    lo, hi = bounds(n, m, band)
    got = F.sym1_1d(x, y, lo, hi, 0)
    want = dtw_brute_force(x, y, metric="sqeuclidean", **kw)
    assert got == want
    # the band rule is symmetric, so swapping x and y gives the same value
    lo2, hi2 = bounds(m, n, band)
    assert F.sym1_1d(y, x, lo2, hi2, 0) == got


# ---------------------------------------------------------------------------
# n-D
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(1, 1), (1, 6), (6, 1), (13, 17), (29, 23)])
@pytest.mark.parametrize("band", [(0, 0), (1, 0), (1, 2), (1, 100)])
@pytest.mark.parametrize("dim", [1, 3, 9])
def test_sym1_nd_matches_full_reference(rng, n, m, band, dim):
    x = rng.standard_normal((n, dim))
    y = rng.standard_normal((m, dim))
    lo, hi = bounds(n, m, band)
    for metric in (0, 1, 2, 3):
        want = reference(x, y, metric, band)
        assert same(F.sym1_nd(x, y, lo, hi, metric, 0), want, 1e-10), metric
        assert same(run_nd(x, y, lo, hi, metric, 3, 0), want, 1e-10), metric
        if metric != 2:
            # BLAS form: |x|^2 + |y|^2 - 2 x.y, documented tolerance ~1e-13 here
            assert same(F.sym1_nd(x, y, lo, hi, metric, 1), want, 1e-9), metric
            assert same(run_nd(x, y, lo, hi, metric, 2, 1), want, 1e-9), metric
        # auto picks one of the two
        assert same(F.sym1_nd(x, y, lo, hi, metric), want, 1e-9), metric


def test_sym1_nd_float32(rng):
    x = rng.standard_normal((21, 12))
    y = rng.standard_normal((17, 12))
    lo, hi = bounds(21, 17, (0, 0))
    want = reference(x, y, 0, (0, 0))
    x32 = x.astype(np.float32)
    y32 = y.astype(np.float32)
    for method in (0, 1):
        assert F.sym1_nd(x32, y32, lo, hi, 0, method) == pytest.approx(want, rel=1e-5)
        assert run_nd(x32, y32, lo, hi, 0, 4, method) == pytest.approx(want, rel=1e-5)


def test_sym1_nd_gemm_refines_cancelling_cells(rng):
    # identical and nearly identical series: |x|^2 + |y|^2 - 2 x.y cancels; the
    # BLAS form recomputes those cells directly, so it stays exact to ~1e-15
    x = rng.standard_normal((50, 40)) * 10.0 + 100.0
    y = x + 1e-6 * rng.standard_normal((50, 40))
    lo, hi = bounds(50, 50, (0, 0))
    assert F.sym1_nd(x, x, lo, hi, 0, 1) == 0.0
    assert run_nd(x, x, lo, hi, 0, 7, 1) == 0.0
    want = F.sym1_nd(x, y, lo, hi, 0, 0)
    assert 0.0 < want < 1e-8
    assert F.sym1_nd(x, y, lo, hi, 0, 1) == pytest.approx(want, rel=1e-12)
    assert F.sym1_nd(x, y, lo, hi, 1, 1) == pytest.approx(F.sym1_nd(x, y, lo, hi, 1, 0),
                                                          rel=1e-12)


def test_sym1_nd_one_feature_equals_1d(rng):
    x = rng.standard_normal(33)
    y = rng.standard_normal(27)
    lo, hi = bounds(33, 27, (1, 5))
    for metric in (0, 1, 2):
        assert F.sym1_nd(x[:, None], y[:, None], lo, hi, metric, 0) == F.sym1_1d(
            x, y, lo, hi, metric)


# ---------------------------------------------------------------------------
# pairwise
# ---------------------------------------------------------------------------


def _ragged(rng, lens, dim=None):
    series = [rng.standard_normal(n if dim is None else (n, dim)) for n in lens]
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return series, np.ascontiguousarray(np.concatenate(series)), offsets


@pytest.mark.parametrize("radius", [-1, 0, 2])
@pytest.mark.parametrize("dim", [None, 3])
def test_sym1_pairwise_matches_single_pairs(rng, radius, dim):
    xs, X, xo = _ragged(rng, [1, 6, 17, 3, 30], dim)
    ys, Y, yo = _ragged(rng, [4, 1, 21], dim)
    band = lambda n, m: (0, 0) if radius < 0 else (1, radius)  # noqa: E731
    metrics = (0, 1) if dim is None else (0, 1, 2, 3)
    for metric in metrics:
        out = np.full((5, 3), np.nan)
        F.sym1_pairwise(X, xo, Y, yo, False, radius, metric, out)
        outs = np.full((5, 5), np.nan)
        F.sym1_pairwise(X, xo, X, xo, True, radius, metric, outs)
        for a in range(5):
            for b in range(3):
                want = reference(xs[a], ys[b], metric, band(0, 0))
                assert same(out[a, b], want, 1e-10), (metric, a, b)
            for b in range(5):
                if a == b:
                    assert outs[a, b] == 0.0
                else:
                    want = reference(xs[a], xs[b], metric, band(0, 0))
                    assert same(outs[a, b], want, 1e-10), (metric, a, b)


def test_sym1_pairwise_float32_and_single_series(rng):
    xs, X, xo = _ragged(rng, [8, 9, 10])
    out = np.full((3, 3), np.nan)
    F.sym1_pairwise(X.astype(np.float32), xo, X.astype(np.float32), xo, False, -1, 0, out)
    for a in range(3):
        for b in range(3):
            assert out[a, b] == pytest.approx(reference(xs[a], xs[b], 0, (0, 0)), rel=1e-5)
    one = np.full((1, 1), np.nan)
    F.sym1_pairwise(X[:8], xo[:2], X[:8], xo[:2], True, -1, 0, one)
    assert one[0, 0] == 0.0


# ---------------------------------------------------------------------------
# peers, on their documented conventions
# ---------------------------------------------------------------------------


def test_against_dtaidistance(rng):
    dtw = pytest.importorskip("dtaidistance.dtw")
    x = rng.standard_normal(60)
    y = rng.standard_normal(60)
    lo, hi = bounds(60, 60, (0, 0))
    # dtaidistance reports the square root of the sum of squared differences
    assert dtw.distance_fast(x, y) ** 2 == pytest.approx(F.sym1_1d(x, y, lo, hi, 0), rel=1e-12)
    # its window w allows |i - j| < w, our radius r allows |i - j| <= r
    lo, hi = bounds(60, 60, (1, 4))
    assert dtw.distance_fast(x, y, window=5) ** 2 == pytest.approx(
        F.sym1_1d(x, y, lo, hi, 0), rel=1e-12)


def test_against_dtw_python(rng):
    # dtw-python reports the plain sum, like librosa and aeon (librosa itself is
    # checked in benchmarks/bench_dtw.py, on 4,000-long series; its Numba compile
    # would double this file's run time on a fresh cache)
    dtw = pytest.importorskip("dtw")
    x = rng.standard_normal((37, 3))
    y = rng.standard_normal((52, 3))
    lo, hi = bounds(37, 52, (0, 0))
    for metric, name in [(0, "sqeuclidean"), (1, "euclidean"), (2, "cityblock")]:
        want = dtw.dtw(x, y, dist_method=name, step_pattern="symmetric1",
                       distance_only=True).distance
        assert F.sym1_nd(x, y, lo, hi, metric, 0) == pytest.approx(want, rel=1e-12)
        if metric != 2:
            assert F.sym1_nd(x, y, lo, hi, metric, 1) == pytest.approx(want, rel=1e-12)
