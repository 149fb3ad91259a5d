"""CPU DTW kernels against the independent reference and the brute-force oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.kernels import _steps
from align.kernels.dtw import dtw_distance_rows, dtw_pairwise_ragged
from align.kernels.dtw_band import (
    WINDOW_CODES,
    band_bounds,
    band_is_feasible,
    fill_band,
)
from align.kernels.dtw_path import dtw_path_checkpointed
from tests.reference.dtw import (
    all_paths,
    cost_matrix,
    dtw_brute_force,
    dtw_full,
    in_band,
    path_cost,
)

STEP = _steps.STEP_CODES
METRIC = _steps.METRIC_CODES
PATTERNS = list(STEP)
WINDOWS = [None, "sakoe_chiba", "itakura"]


def comp_distance(x, y, step, window=None, radius=0, max_slope=2.0, subsequence=False,
                  metric="sqeuclidean", track=True):
    X = np.ascontiguousarray(x).reshape(len(x), -1)
    Y = np.ascontiguousarray(y).reshape(len(y), -1)
    lo, hi = band_bounds(len(X), len(Y), WINDOW_CODES[window], radius, max_slope)
    out = np.empty(4)
    dtw_distance_rows(X, Y, lo, hi, METRIC[metric], STEP[step], subsequence, False, track, out)
    return out


def comp_path(x, y, step, window=None, radius=0, max_slope=2.0, subsequence=False,
              metric="sqeuclidean", block=None):
    X = np.ascontiguousarray(x).reshape(len(x), -1)
    Y = np.ascontiguousarray(y).reshape(len(y), -1)
    n, m = len(X), len(Y)
    lo, hi = band_bounds(n, m, WINDOW_CODES[window], radius, max_slope)
    block = n if block is None else block
    nb = -(-n // block)
    w = np.maximum(hi - lo + 1, 0)
    ck_off = np.zeros(nb + 1, dtype=np.int64)
    if nb > 1:
        ck_off[2:] = np.cumsum(w[np.arange(1, nb) * block - 1])
    cells = w.sum() if nb == 1 else max(w[b * block:(b + 1) * block].sum() for b in range(nb))
    path = np.empty((n + m - 1, 2), dtype=np.int64)
    scratch = (ck_off, np.empty(max(ck_off[-1], 1)), np.empty(m + 2), np.empty(m + 2), np.empty(m),
               np.empty(max(cells, 1), dtype=np.uint8))
    g, k = dtw_path_checkpointed(X, Y, lo, hi, METRIC[metric], STEP[step], subsequence, block, path, scratch)
    return g, [tuple(p) for p in path[:k][::-1].tolist()]


# ---------------------------------------------------------------- constants


def test_metric_codes_are_the_documented_constants():
    assert (_steps.METRIC_SQEUCLIDEAN, _steps.METRIC_EUCLIDEAN, _steps.METRIC_CITYBLOCK,
            _steps.METRIC_COSINE) == (0, 1, 2, 3)
    assert METRIC == {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2, "cosine": 3}
    assert STEP == {"symmetric1": 0, "symmetric2": 1, "asymmetric": 2}


@pytest.mark.parametrize("transposed", [False, True])
def test_choose_tie_break(transposed):
    # all three candidates equal: diagonal wins
    assert _steps.choose_cpu(0, transposed, 1.0, 1.0, 1.0, 0.0) == (1.0, 0)
    # vertical and horizontal tie: vertical unless transposed
    assert _steps.choose_cpu(0, transposed, 5.0, 1.0, 1.0, 0.0) == (1.0, 2 if transposed else 1)
    # symmetric2 weighs the diagonal twice: 1 + 2*1 > 2 + 1? no, equal -> diagonal
    assert _steps.choose_cpu(1, transposed, 1.0, 2.0, 9.0, 1.0) == (3.0, 0)
    # asymmetric third step is the skip
    assert _steps.choose_cpu(2, transposed, 9.0, 9.0, 1.0, 1.0) == (2.0, 3)


# ---------------------------------------------------------------- bands


@pytest.mark.parametrize("window", WINDOWS)
def test_band_matches_reference_predicate(window):
    for n in range(1, 9):
        for m in range(1, 9):
            for radius in range(0, 4):
                for slope in (1.2, 1.5, 2.0, 3.0):
                    lo, hi = band_bounds(n, m, WINDOW_CODES[window], radius, slope)
                    for i in range(n):
                        got = [lo[i] <= j <= hi[i] for j in range(m)]
                        ref = [in_band(i, j, n, m, window, radius, slope) for j in range(m)]
                        assert got == ref, (n, m, window, radius, slope, i)


def test_sakoe_chiba_equal_lengths_is_abs_i_minus_j():
    lo, hi = band_bounds(10, 10, 1, 3, 2.0)
    np.testing.assert_array_equal(lo, np.maximum(np.arange(10) - 3, 0))
    np.testing.assert_array_equal(hi, np.minimum(np.arange(10) + 3, 9))


def test_band_is_symmetric_under_swap():
    for window in (1, 2):
        for n, m in [(5, 9), (12, 7), (3, 3), (2, 11)]:
            lo, hi = band_bounds(n, m, window, 1, 1.7)
            lo_t, hi_t = band_bounds(m, n, window, 1, 1.7)
            a = np.array([[lo[i] <= j <= hi[i] for j in range(m)] for i in range(n)])
            b = np.array([[lo_t[j] <= i <= hi_t[j] for i in range(n)] for j in range(m)])
            np.testing.assert_array_equal(a, b.T)


def test_fill_band_writes_preallocated_outputs():
    lo = np.full(4, -7, dtype=np.int64)
    hi = np.full(4, -7, dtype=np.int64)
    fill_band(4, 6, 0, 0, 2.0, lo, hi)
    assert lo.tolist() == [0] * 4 and hi.tolist() == [5] * 4


@pytest.mark.parametrize("step", PATTERNS)
def test_feasibility_matches_path_enumeration(step):
    for n in range(1, 6):
        for m in range(1, 6):
            for window, radius, slope in [(None, 0, 2.0), ("sakoe_chiba", 0, 2.0),
                                          ("sakoe_chiba", 1, 2.0), ("itakura", 0, 1.3),
                                          ("itakura", 0, 2.0)]:
                for sub in ([False, True] if window is None else [False]):
                    lo, hi = band_bounds(n, m, WINDOW_CODES[window], radius, slope)
                    paths = all_paths(
                        n, m, step, subsequence=sub,
                        allowed=lambda i, j: in_band(i, j, n, m, window, radius, slope),
                    )
                    assert band_is_feasible(lo, hi, m, STEP[step], sub) == bool(paths), (
                        n, m, step, window, radius, slope, sub)


# ---------------------------------------------------------------- DP vs references


def test_path_enumerator_counts_delannoy_numbers():
    # symmetric1 paths from (0,0) to (n-1,m-1) are counted by the Delannoy numbers
    from tests.reference.dtw import count_paths

    assert [count_paths(k, k, "symmetric1") for k in range(1, 5)] == [1, 3, 13, 63]


cases = st.tuples(
    st.integers(1, 6), st.integers(1, 6), st.sampled_from(PATTERNS),
    st.sampled_from(WINDOWS + ["subsequence"]), st.integers(0, 3),
    st.sampled_from([1.5, 2.0, 3.0]), st.integers(0, 2**31 - 1),
)


@settings(max_examples=300, deadline=None)
@given(cases)
def test_kernels_equal_reference_with_ties(case):
    n, m, step, window, radius, slope, seed = case
    sub = window == "subsequence"
    window = None if sub else window
    rng = np.random.default_rng(seed)
    # small integers: many exact ties, exercised by the tie-break rule
    x = rng.integers(0, 3, size=n).astype(np.float64)
    y = rng.integers(0, 3, size=m).astype(np.float64)
    ref_d, ref_path, _ = dtw_full(x, y, step_pattern=step, window=window, radius=radius,
                                  max_slope=slope, subsequence=sub)
    brute = dtw_brute_force(x, y, step_pattern=step, window=window, radius=radius,
                            max_slope=slope, subsequence=sub)
    assert ref_d == brute
    if not np.isfinite(ref_d):
        return
    out = comp_distance(x, y, step, window, radius, slope, sub)
    assert out[0] == ref_d
    assert out[1] == ref_path[-1][1]
    assert out[2] == len(ref_path)
    assert out[3] == ref_path[0][1]
    for block in (1, 2, 3, None):
        g, path = comp_path(x, y, step, window, radius, slope, sub, block=block)
        assert g == ref_d
        assert path == ref_path, block


@pytest.mark.parametrize("metric", list(METRIC))
@pytest.mark.parametrize("step", PATTERNS)
def test_multivariate_metrics_match_reference(rng, metric, step):
    x = rng.standard_normal((9, 3))
    y = rng.standard_normal((7, 3))
    ref_d, ref_path, _ = dtw_full(x, y, metric=metric, step_pattern=step)
    out = comp_distance(x, y, step, metric=metric)
    np.testing.assert_allclose(out[0], ref_d, rtol=1e-12)
    g, path = comp_path(x, y, step, metric=metric, block=2)
    np.testing.assert_allclose(g, ref_d, rtol=1e-12)
    assert path == ref_path
    np.testing.assert_allclose(path_cost(cost_matrix(x, y, metric), path, step), g, rtol=1e-12)


def test_float32_costs_accumulate_in_float64(rng):
    x = rng.standard_normal(40).astype(np.float32)
    y = rng.standard_normal(50).astype(np.float32)
    out = comp_distance(x, y, "symmetric1")
    # reference with float32 local costs summed in float64
    C = ((x[:, None] - y[None, :]) ** 2).astype(np.float32).astype(np.float64)
    ref_d, _, _ = dtw_full(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(out[0], ref_d, rtol=1e-5)
    D = np.full((41, 51), np.inf)
    D[0, 0] = 0.0
    for i in range(40):
        for j in range(50):
            D[i + 1, j + 1] = C[i, j] + min(D[i, j], D[i, j + 1], D[i + 1, j])
    np.testing.assert_allclose(out[0], D[40, 50], rtol=1e-13)


def test_transposed_tracking_keeps_path_length(rng):
    # ties everywhere: vertical/horizontal choices differ, lengths must not
    x = rng.integers(0, 2, size=7).astype(np.float64).reshape(-1, 1)
    y = rng.integers(0, 2, size=11).astype(np.float64).reshape(-1, 1)
    _, ref_path, _ = dtw_full(x, y)
    lo, hi = band_bounds(11, 7, 0, 0, 2.0)
    out = np.empty(4)
    dtw_distance_rows(y, x, lo, hi, 0, 0, False, True, True, out)
    assert out[2] == len(ref_path)


@pytest.mark.parametrize("step", PATTERNS)
def test_pairwise_kernel_matches_single_pairs(rng, step):
    seqs = [rng.standard_normal((k, 2)) for k in (3, 5, 4, 6)]
    off = np.zeros(5, dtype=np.int64)
    off[1:] = np.cumsum([len(s) for s in seqs])
    buf = np.concatenate(seqs)
    pi, pj = np.divmod(np.arange(16), 4)
    out = np.empty(16)
    dtw_pairwise_ragged(buf, off, buf, off, pi, pj, 0, STEP[step], 1, 3, 2.0, False, out)
    for p in range(16):
        ref_d, _, _ = dtw_full(seqs[pi[p]], seqs[pj[p]], step_pattern=step,
                               window="sakoe_chiba", radius=3)
        np.testing.assert_allclose(out[p], ref_d, rtol=1e-12)


def test_batch_twin_of_the_cuda_kernel_equals_the_brute_force(rng):
    # kernels.dtw.dtw_batch: the CPU twin of kernels.dtw_cuda.dtw_batch (padded pairs)
    from align.kernels.dtw import dtw_batch
    from tests.reference.dtw import dtw_brute_force

    for dtype in (np.float64, np.float32):
        x = rng.normal(size=(5, 6)).astype(dtype)
        y = rng.normal(size=(5, 5)).astype(dtype)
        lx = np.array([6, 1, 3, 5, 2])
        ly = np.array([5, 4, 1, 5, 2])
        out = np.full(5, np.nan)
        dtw_batch(x, y, lx, ly, out)
        for b in range(5):
            xb, yb = x[b, : lx[b]], y[b, : ly[b]]
            want = dtw_brute_force(xb[:, None], yb[:, None])
            np.testing.assert_allclose(out[b], want, rtol=1e-6 if dtype == np.float32 else 1e-12)
        # padding past the lengths is never read
        x2, y2 = x.copy(), y.copy()
        for b in range(5):
            x2[b, lx[b]:] = np.nan
            y2[b, ly[b]:] = np.nan
        out2 = np.full(5, np.nan)
        dtw_batch(x2, y2, lx, ly, out2)
        np.testing.assert_array_equal(out2, out)
