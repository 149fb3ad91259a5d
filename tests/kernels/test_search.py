"""Kernels of align.kernels.search against the independent reference."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.kernels import search as K
from tests.reference import search as ref


def _band(a, b, r, cb=None, threshold=np.inf):
    m = len(a)
    cb = np.zeros(m + 1) if cb is None else cb
    return K.dtw_band(np.asarray(a, float), np.asarray(b, float), r, cb, threshold,
                      np.empty(m + 1), np.empty(m + 1))


def _scan(q, x, r, k, exclusion, znormalize=True, bounds=K.BOUND_ALL):
    """Run scan + greedy_select as the API does; return (picks, dist, U, counts)."""
    qz = np.asarray(ref.znormalize_ref(list(q)) if znormalize else q, float)
    x = np.asarray(x, float)
    n_win = x.size - qz.size + 1
    dist = np.empty(n_win)
    counts = np.zeros(K.N_COUNTS, dtype=np.int64)
    U = K.scan(qz, x, r, k, exclusion, znormalize, bounds, np.empty(x.size),
               np.empty(x.size), dist, counts)
    starts = np.empty(k, dtype=np.int64)
    c = K.greedy_select(dist, U, k, exclusion, starts)
    return [(int(s), float(dist[s])) for s in starts[:c]], dist, U, counts


@pytest.mark.parametrize("r", [0, 1, 3, 10, 60])
def test_envelope_matches_reference(rng, r):
    for x in (rng.standard_normal(37), rng.integers(0, 3, 41).astype(float)):
        upper, lower = np.empty(x.size), np.empty(x.size)
        K.envelope(x, r, upper, lower)
        ru, rl = ref.envelope_ref(list(x), r)
        np.testing.assert_array_equal(upper, ru)
        np.testing.assert_array_equal(lower, rl)


@pytest.mark.parametrize("m", [1, 2, 5, 17])
def test_dtw_band_matches_reference_bitwise(rng, m):
    for r in sorted({0, 1, 3, m - 1}):
        if r >= m:
            continue
        a, b = rng.standard_normal(m), rng.standard_normal(m)
        assert _band(a, b, r) == ref.dtw_band_ref(list(a), list(b), r)


def test_dtw_band_full_radius_is_plain_dtw(rng):
    a, b = rng.standard_normal(12), rng.standard_normal(12)
    assert _band(a, b, 11) == ref.dtw_plain_ref(list(a), list(b))
    # and a narrow band can only cost more
    assert _band(a, b, 1) >= ref.dtw_plain_ref(list(a), list(b))


@pytest.mark.parametrize("m,r", [(1, 0), (3, 0), (3, 1), (4, 2), (5, 1), (5, 4)])
def test_dtw_band_reference_matches_path_enumeration(rng, m, r):
    a, b = rng.standard_normal(m), rng.standard_normal(m)
    assert math.isclose(ref.dtw_band_ref(list(a), list(b), r),
                        ref.dtw_paths_oracle(list(a), list(b), r), rel_tol=1e-12)


@pytest.mark.parametrize("r", [0, 2, 9])
def test_dtw_band_matches_tslearn(rng, r):
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    a, b = rng.standard_normal(24), rng.standard_normal(24)
    peer = tslearn_metrics.dtw(a, b, global_constraint="sakoe_chiba", sakoe_chiba_radius=r)
    # tslearn reports the square root of our sum
    assert math.isclose(_band(a, b, r), peer ** 2, rel_tol=1e-12)


def test_dtw_band_is_symmetric_bitwise(rng):
    a, b = rng.standard_normal(30), rng.standard_normal(30)
    assert _band(a, b, 4) == _band(b, a, 4)


def test_dtw_band_early_abandoning(rng):
    a, b = rng.standard_normal(20), rng.standard_normal(20)
    exact = _band(a, b, 3)
    assert _band(a, b, 3, threshold=exact) == exact
    assert _band(a, b, 3, threshold=exact * 0.999) == np.inf
    # A valid cumulative bound (LB_Keogh terms of a's rows against b's
    # envelope) must not change an exact answer, only abandon earlier.
    upper, lower = np.empty(20), np.empty(20)
    K.envelope(b, 3, upper, lower)
    terms = np.where(a > upper, (a - upper) ** 2, np.where(a < lower, (a - lower) ** 2, 0.0))
    cb = np.append(np.cumsum(terms[::-1])[::-1], 0.0)
    assert cb[0] <= exact
    assert _band(a, b, 3, cb=cb, threshold=exact) == exact
    assert _band(a, b, 3, cb=cb, threshold=exact * 0.999) == np.inf


def test_znormalize_window_matches_reference_bitwise(rng):
    x = np.concatenate([rng.standard_normal(20) * 3 + 7, np.full(6, 2.5), [1e8, -1e8]])
    out = np.empty(5)
    for s in range(x.size - 5 + 1):
        K.znormalize_window(x, s, 5, out)
        assert out.tolist() == ref.znormalize_ref(list(x[s:s + 5]))
    K.znormalize_window(x, 21, 5, out)  # inside the flat run
    assert out.tolist() == [0.0] * 5


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6, 9])
def test_lb_kim_is_a_lower_bound(rng, m):
    x = np.cumsum(rng.standard_normal(80))
    q = np.asarray(ref.znormalize_ref(list(rng.standard_normal(m))))
    for r in sorted({0, m // 2, m - 1}):
        for s in range(x.size - m + 1):
            w = x[s:s + m]
            if m > 1:
                mean, inv_std = w.mean(), 1.0 / w.std()
                z = ref.znormalize_ref(list(w))
            else:
                mean, inv_std, z = 0.0, 1.0, list(w)
            lb = K._lb_kim(x, s, m, q, mean, inv_std, np.inf)
            d = ref.dtw_band_ref(z, list(q), r)
            assert lb <= d * (1 + 1e-12) + 1e-12


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("bounds", [0, K.BOUND_KIM, K.BOUND_KEOGH, K.BOUND_KEOGH_REVERSED,
                                    K.BOUND_EARLY_ABANDON, K.BOUND_KEOGH | K.BOUND_EARLY_ABANDON,
                                    K.BOUND_KEOGH_REVERSED | K.BOUND_EARLY_ABANDON, K.BOUND_ALL])
def test_scan_each_bound_is_exact(rng, k, bounds):
    x = np.cumsum(rng.standard_normal(260))
    q = np.cumsum(rng.standard_normal(12))
    r = 2
    dists = ref.window_distances_ref(q, x, r)
    picks, dist, U, counts = _scan(q, x, r, k, 12, bounds=bounds)
    assert picks == ref.greedy_ref(dists, k, 12)
    # every stored distance is the exact one; every skipped window is above U
    for s, d in enumerate(dists):
        if np.isfinite(dist[s]):
            assert dist[s] == d
        else:
            assert d > U
    assert counts.sum() == x.size - 12 + 1
    if bounds == 0:
        assert counts[K.COUNT_DTW] == counts.sum()
    if bounds == K.BOUND_ALL:  # the cascade does prune something here
        assert counts[K.COUNT_DTW] < counts.sum()


def test_scan_bound_is_above_kth_greedy_distance(rng):
    x = np.cumsum(rng.standard_normal(300))
    q = np.cumsum(rng.standard_normal(10))
    for k, excl in [(1, 10), (3, 10), (4, 3), (2, 0)]:
        picks, _, U, _ = _scan(q, x, 1, k, excl)
        assert picks[-1][1] <= U


def test_scan_without_znormalization(rng):
    x = rng.standard_normal(120)
    q = rng.standard_normal(7)
    dists = ref.window_distances_ref(q, x, 1, znormalize=False)
    picks, *_ = _scan(q, x, 1, 3, 7, znormalize=False)
    assert picks == ref.greedy_ref(dists, 3, 7)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=40),
       st.integers(1, 5), st.integers(0, 6))
def test_greedy_select_matches_reference_with_ties(values, k, exclusion):
    dist = np.asarray(values, float)
    starts = np.empty(k, dtype=np.int64)
    c = K.greedy_select(dist, np.inf, k, exclusion, starts)
    got = [(int(s), float(dist[s])) for s in starts[:c]]
    assert got == ref.greedy_ref(list(dist), k, exclusion)
    assert got == ref.greedy_exhaustive_ref(list(dist), k, exclusion)


def test_greedy_select_ignores_windows_above_threshold():
    dist = np.array([3.0, 1.0, np.inf, 2.0, 5.0])
    starts = np.empty(3, dtype=np.int64)
    c = K.greedy_select(dist, 3.0, 3, 1, starts)
    assert starts[:c].tolist() == [1, 3, 0]
