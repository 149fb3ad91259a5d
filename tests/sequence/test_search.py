"""align.subsequence_search: exactness against brute force, planted matches, errors."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import align
from align import InfeasibleAlignmentError, ParameterError, SearchMatch, subsequence_search
from align.kernels import search as K
from align.sequence.search import _run
from tests.reference.search import znormalize_ref as _z
from tests.reference.search import subsequence_search_ref, window_distances_ref


def _as_tuples(matches):
    return [(mt.start, mt.end, mt.distance) for mt in matches]


def _radius_samples(radius, m):
    if radius is None:
        return math.floor(0.05 * m)
    return radius if isinstance(radius, int) else math.floor(radius * m)


# ---------------------------------------------------------------- exactness


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("radius", [None, 0, 0.1, 2, 15])
def test_matches_brute_force_on_random_walks(seed, k, radius):
    rng = np.random.default_rng(seed)
    series = np.cumsum(rng.standard_normal(240))
    query = np.cumsum(rng.standard_normal(16))
    got = _as_tuples(subsequence_search(query, series, k=k, radius=radius))
    want = subsequence_search_ref(query, series, k=k, r=_radius_samples(radius, 16))
    assert got == want  # starts and distances bit for bit


@pytest.mark.parametrize("k", [1, 3])
def test_matches_brute_force_without_znormalization(rng, k):
    series = np.cumsum(rng.standard_normal(200))
    query = series[50:62] + rng.standard_normal(12)
    got = _as_tuples(subsequence_search(query, series, k=k, radius=2, znormalize=False))
    assert got == subsequence_search_ref(query, series, k=k, r=2, znormalize=False)


@pytest.mark.parametrize("exclusion", [0, 1, 5, 30])
def test_exclusion_zone_matches_brute_force(rng, exclusion):
    series = np.cumsum(rng.standard_normal(150))
    query = np.cumsum(rng.standard_normal(10))
    got = _as_tuples(subsequence_search(query, series, k=4, radius=1, exclusion=exclusion))
    assert got == subsequence_search_ref(query, series, k=4, r=1, exclusion=exclusion)
    starts = sorted(mt[0] for mt in got)
    assert all(b - a >= max(exclusion, 1) for a, b in zip(starts, starts[1:]))


@settings(max_examples=80, deadline=None)
@given(
    series=st.lists(st.integers(-3, 3), min_size=2, max_size=36),
    query=st.lists(st.integers(-3, 3), min_size=2, max_size=6),
    k=st.integers(1, 4),
    r=st.integers(0, 5),
    exclusion=st.one_of(st.none(), st.integers(0, 8)),
    znormalize=st.booleans(),
)
def test_property_fast_equals_brute_force(series, query, k, r, exclusion, znormalize):
    # Small integers make flat windows, repeated windows and exact ties common.
    assume(len(query) <= len(series))
    r = min(r, len(query) - 1)
    got = _as_tuples(subsequence_search(np.asarray(query, float), np.asarray(series, float),
                                        k=k, radius=r, znormalize=znormalize,
                                        exclusion=exclusion))
    assert got == subsequence_search_ref(query, series, k=k, r=r, znormalize=znormalize,
                                         exclusion=exclusion)


def test_greedy_needs_a_window_that_a_naive_bound_would_prune(rng):
    # A clean copy A of a two-period query, flanked by noisy copies B and C
    # (A overlaps both, B and C do not overlap each other). Greedy takes A,
    # which blocks B, C and A's shifted neighbours, so the second match is a
    # much worse window elsewhere. Pruning against the k-th best window while
    # ignoring overlap would discard it (checked: a kernel with slot spacing 1
    # fails here); the answer must be the brute force's.
    m = 32
    query = np.sin(np.linspace(0, 4 * np.pi, m, endpoint=False))
    series = np.cumsum(rng.standard_normal(700)) * 3
    p = 300
    stretch = np.sin(np.linspace(0, 8 * np.pi, 2 * m, endpoint=False))
    stretch[: m // 2] += 0.05 * rng.standard_normal(m // 2)
    stretch[-(m // 2):] += 0.05 * rng.standard_normal(m // 2)
    series[p: p + 2 * m] = stretch
    want = subsequence_search_ref(query, series, k=2, r=1)
    a, b, c = p + m // 2, p, p + m
    dist = window_distances_ref(query, series, 1)
    assert want[0][0] == a
    assert max(dist[b], dist[c]) < want[1][2]  # B and C beat the true second match
    assert abs(want[1][0] - a) >= m
    got = _as_tuples(subsequence_search(query, series, k=2, radius=1))
    assert got == want


@pytest.mark.parametrize("k", [1, 3])
def test_pruning_changes_nothing_at_scale(rng, k):
    # Big enough that the cascade prunes almost everything; the unpruned scan
    # (bounds=0: every window's DTW) must give the identical answer.
    series = np.cumsum(rng.standard_normal(20_000))
    query = np.cumsum(rng.standard_normal(64))
    fast, stats = _run(query, series, k=k, radius=0.05)
    slow, slow_stats = _run(query, series, k=k, radius=0.05, bounds=0)
    assert fast == slow
    assert slow_stats["dtw_full"] == stats["windows"]
    assert stats["dtw_full"] < 0.2 * stats["windows"]


def test_numerically_hard_series_matches_unpruned_scan(rng):
    # A large offset, a trend, a huge spike and a flat run: running sums that
    # were not re-anchored would lose the variance after the spike.
    n = 3000
    series = 1e7 + 0.5 * np.arange(n) + np.cumsum(rng.standard_normal(n))
    series[1000] += 1e9
    series[2000:2100] = series[2000]
    query = series[2300:2340] + 0.01 * rng.standard_normal(40)
    fast, _ = _run(query, series, k=3, radius=4)
    slow, _ = _run(query, series, k=3, radius=4, bounds=0)
    assert fast == slow
    assert fast[0].start == 2300


# --------------------------------------------------------- planted matches


def test_planted_noisy_copy_is_found(rng):
    series = np.cumsum(rng.standard_normal(5000))
    query = np.cumsum(rng.standard_normal(128))
    at = 3210
    # a scaled, shifted, noisy copy: z-normalisation makes scale and offset vanish
    series[at:at + 128] = 40.0 + 3.0 * query + 0.05 * rng.standard_normal(128)
    best = subsequence_search(query, series)[0]
    assert (best.start, best.end) == (at, at + 128)
    assert best.distance < 0.05 * 128


def test_three_planted_copies_are_the_three_matches(rng):
    series = np.cumsum(rng.standard_normal(6000))
    query = np.sin(np.linspace(0, 6 * np.pi, 100)) + 0.3 * np.cumsum(rng.standard_normal(100)) / 10
    spots = [400, 2500, 5100]
    for at in spots:
        warped = np.interp(np.linspace(0, 99, 100) ** 1.02 / 99 ** 0.02, np.arange(100), query)
        series[at:at + 100] = series[at] + warped + 0.02 * rng.standard_normal(100)
    matches = subsequence_search(query, series, k=3, radius=0.1)
    assert sorted(mt.start for mt in matches) == spots


def test_matches_are_scale_and_offset_invariant(rng):
    series = np.cumsum(rng.standard_normal(800))
    query = np.cumsum(rng.standard_normal(32))
    a = subsequence_search(query, series, k=2)
    b = subsequence_search(7.0 * query - 3.0, series, k=2)
    assert [mt.start for mt in a] == [mt.start for mt in b]
    assert [mt.distance for mt in a] == pytest.approx([mt.distance for mt in b], rel=1e-9)


# ----------------------------------------------------------- conventions


def test_result_type_and_fields(rng):
    series = np.cumsum(rng.standard_normal(300))
    matches = subsequence_search(series[100:120], series, k=2)
    assert all(isinstance(mt, SearchMatch) for mt in matches)
    assert matches[0] == SearchMatch(100, 120, 0.0)
    assert all(mt.end - mt.start == 20 for mt in matches)
    with pytest.raises(dataclasses.FrozenInstanceError):
        matches[0].start = 3
    assert align.SearchMatch is SearchMatch and align.subsequence_search is subsequence_search


def test_distance_is_the_sum_and_sqrt_is_the_ucr_value(rng):
    series = np.cumsum(rng.standard_normal(200))
    query = np.cumsum(rng.standard_normal(20))
    best = subsequence_search(query, series, radius=2)[0]
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    peer = tslearn_metrics.dtw(z(query), z(series[best.start:best.end]),
                               global_constraint="sakoe_chiba", sakoe_chiba_radius=2)
    assert math.sqrt(best.distance) == pytest.approx(peer, rel=1e-12)


def test_best_match_agrees_with_dtaidistance(rng):
    subsequencesearch = pytest.importorskip("dtaidistance.subsequence.subsequencesearch")
    series = np.cumsum(rng.standard_normal(1500))
    query = np.cumsum(rng.standard_normal(40))
    r = 2
    # dtaidistance does not z-normalise windows: hand it z-normalised ones.
    # Its window w allows |i - j| < w, and it reports the square root.
    w = np.lib.stride_tricks.sliding_window_view(series, 40)
    wz = (w - w.mean(axis=1, keepdims=True)) / w.std(axis=1, keepdims=True)
    qz = (query - query.mean()) / query.std()
    peer = subsequencesearch.subsequence_search(qz, wz, dists_options={"window": r + 1},
                                                use_lb=True, use_c=True).best_match()
    ours = subsequence_search(query, series, radius=r)[0]
    assert ours.start == peer.idx
    assert math.sqrt(ours.distance) == pytest.approx(peer.distance, rel=1e-9)


def test_default_radius_is_five_percent(rng):
    series = np.cumsum(rng.standard_normal(400))
    query = np.cumsum(rng.standard_normal(60))  # floor(0.05 * 60) = 3
    _, stats = _run(query, series)
    assert stats["radius"] == 3
    assert subsequence_search(query, series) == subsequence_search(query, series, radius=3)
    fraction = subsequence_search(query, series, radius=0.05)
    assert fraction == subsequence_search(query, series, radius=3)


def test_flat_windows_are_zeros(rng):
    series = np.concatenate([np.cumsum(rng.standard_normal(50)), np.full(30, 4.0),
                             np.cumsum(rng.standard_normal(50))])
    query = np.cumsum(rng.standard_normal(10))
    got = _as_tuples(subsequence_search(query, series, k=3, radius=1))
    assert got == subsequence_search_ref(query, series, k=3, r=1)
    # a flat window's distance is the DTW of the query against zeros, which is
    # at most the sum of squares of the z-normalised query (= its length)
    flat = [d for s, _, d in subsequence_search_ref(query, series, k=200, r=1, exclusion=1)
            if 50 <= s <= 70]
    assert flat and all(d == flat[0] for d in flat) and flat[0] <= 10.0 * (1 + 1e-12)


def test_flat_query_is_zeros(rng):
    series = np.cumsum(rng.standard_normal(100))
    got = _as_tuples(subsequence_search(np.full(8, 2.0), series, k=2, radius=1))
    assert got == subsequence_search_ref([2.0] * 8, series, k=2, r=1)


def test_fewer_matches_when_no_more_fit():
    series = np.arange(10.0) ** 1.5
    matches = subsequence_search(series[:4], series, k=5)
    # greedy picks: windows of length 4 in 7 starts, never overlapping
    assert 1 <= len(matches) < 5
    assert _as_tuples(matches) == subsequence_search_ref(series[:4], series, k=5, r=0)


def test_huge_k_returns_every_fitting_match(rng):
    series = np.cumsum(rng.standard_normal(60))
    got = _as_tuples(subsequence_search(series[:6], series, k=10**12, radius=1))
    assert got == subsequence_search_ref(series[:6], series, k=10**12, r=1)
    assert len(got) >= 60 // 6 // 2


def test_query_as_long_as_series_gives_one_match(rng):
    series = rng.standard_normal(12)
    assert len(subsequence_search(series, series, k=3)) == 1


def test_accepts_lists_float32_and_torch(rng):
    series = np.cumsum(rng.standard_normal(150))
    query = series[40:56].copy()
    want = subsequence_search(query, series, k=2)
    assert subsequence_search(query.tolist(), series.tolist(), k=2) == want
    got32 = subsequence_search(query.astype(np.float32), series.astype(np.float32), k=2)
    assert [mt.start for mt in got32][0] == 40
    torch = pytest.importorskip("torch")
    assert subsequence_search(torch.from_numpy(query), torch.from_numpy(series), k=2) == want


def test_each_bound_alone_is_exact(rng):
    series = np.cumsum(rng.standard_normal(400))
    query = np.cumsum(rng.standard_normal(24))
    want, _ = _run(query, series, k=3, bounds=0)
    for bounds in (K.BOUND_KIM, K.BOUND_KEOGH, K.BOUND_KEOGH_REVERSED, K.BOUND_EARLY_ABANDON):
        assert _run(query, series, k=3, bounds=bounds)[0] == want


# ------------------------------------------------------------------ errors


def test_error_nan_in_query():
    with pytest.raises(ParameterError, match=r"query must be finite, found nan at index 2"):
        subsequence_search([1.0, 2.0, np.nan, 3.0], np.arange(10.0))


def test_error_inf_in_series():
    with pytest.raises(ParameterError, match=r"series must be finite, found inf at index 5"):
        subsequence_search([1.0, 2.0, 3.0], np.where(np.arange(10) == 5, np.inf, 1.0))


def test_error_query_longer_than_series():
    with pytest.raises(InfeasibleAlignmentError,
                       match=r"query \(length 5\) is longer than series \(length 3\)"):
        subsequence_search(np.arange(5.0), np.arange(3.0))


def test_error_query_of_length_one_with_znormalize():
    with pytest.raises(ParameterError,
                       match=r"query has length 1; z-normalisation needs at least 2"):
        subsequence_search([1.0], np.arange(5.0))
    # without z-normalisation it is a plain nearest-value search
    assert subsequence_search([3.2], np.arange(5.0), znormalize=False)[0].start == 3


def test_error_empty_query():
    with pytest.raises(ParameterError, match=r"query is empty"):
        subsequence_search([], np.arange(5.0))


def test_error_query_not_one_dimensional():
    with pytest.raises(ParameterError,
                       match=r"query must have 1 dimension\(s\), got shape \(2, 2\)"):
        subsequence_search(np.ones((2, 2)), np.arange(5.0))


@pytest.mark.parametrize("k,message", [(0, r"k must be >= 1, got 0"),
                                       (1.5, r"k must be an integer, got 1.5")])
def test_error_bad_k(k, message):
    with pytest.raises(ParameterError, match=message):
        subsequence_search([1.0, 2.0], np.arange(5.0), k=k)


@pytest.mark.parametrize("radius,message", [
    (-1, r"radius must be >= 0 samples, got -1"),
    (1.5, r"radius=1.5 as a float is a fraction of len\(query\) and must be in \[0, 1\)"),
    (-0.1, r"radius=-0.1 as a float is a fraction"),
    ("wide", r"radius must be None, an int \(samples\) or a float fraction in \[0, 1\), "
             r"got str 'wide'"),
    (True, r"radius must be an int \(samples\) or a float fraction in \[0, 1\) of "
           r"len\(query\), got True"),
])
def test_error_bad_radius(radius, message):
    with pytest.raises(ParameterError, match=message):
        subsequence_search([1.0, 2.0, 0.0, 1.0], np.arange(9.0), radius=radius)


def test_radius_wider_than_the_query_is_no_band(rng):
    # the same rule as align.dtw: a band wider than the table is the table
    q, x = rng.normal(size=6), rng.normal(size=40)
    wide = subsequence_search(q, x, k=3, radius=50)
    assert wide == subsequence_search(q, x, k=3, radius=5)
    assert wide[0].distance == pytest.approx(
        align.dtw_distance(_z(q), _z(x[wide[0].start:wide[0].end])), rel=1e-9)


def test_error_bad_exclusion():
    with pytest.raises(ParameterError, match=r"exclusion must be >= 0, got -2"):
        subsequence_search([1.0, 2.0], np.arange(5.0), exclusion=-2)


def test_error_bad_znormalize():
    with pytest.raises(ParameterError, match=r"znormalize must be True or False, got 'yes'"):
        subsequence_search([1.0, 2.0], np.arange(5.0), znormalize="yes")
