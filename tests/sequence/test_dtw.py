"""align.dtw / dtw_distance / dtw_pairwise: validation, properties, references, peers."""

import math
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import align
from align import InfeasibleAlignmentError, ParameterError, dtw, dtw_distance, dtw_pairwise
from tests.reference.dtw import cost_matrix, dtw_brute_force, dtw_full, path_cost

dtw_module = sys.modules["align.dtw"]
PATTERNS = ["symmetric1", "symmetric2", "asymmetric"]
METRICS = ["sqeuclidean", "euclidean", "cityblock", "cosine"]


# ================================================================ validation (one per message)


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([0.0, np.nan, 1.0], [1.0, 2.0], r"x must be finite, found nan at index 1;"),
        ([0.0, 1.0], [[1.0, 2.0], [3.0, -np.inf]],
         r"y must be finite, found -inf at index \(1, 1\)"),
        ([], [1.0], r"x is empty \(shape \(0,\)\); DTW needs at least one element"),
        ([1.0], np.zeros((3, 0)), r"y has no features \(shape \(3, 0\)\)"),
        (np.zeros((3, 2)), np.zeros((4, 3)),
         r"x and y must have the same number of features per row, got 2 \(x.shape=\(3, 2\)\) "
         r"and 3 \(y.shape=\(4, 3\)\)"),
        (np.zeros((2, 3, 4)), [1.0], r"x must have 1 or 2 dimension\(s\), got shape \(2, 3, 4\)"),
        (["a", "b"], [1.0], r"x must hold real numbers, got dtype <U1"),
    ],
)
def test_input_errors(x, y, match):
    with pytest.raises(ParameterError, match=match):
        dtw(x, y)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"metric": "manhattan"}, r"metric='manhattan' is not supported; use one of "
         r"'sqeuclidean', 'euclidean', 'cityblock', 'cosine'"),
        ({"step_pattern": "symmetric3"}, r"step_pattern='symmetric3' is not supported; "
         r"use one of 'symmetric1', 'symmetric2', 'asymmetric'"),
        ({"window": "band"}, r"window='band' is not supported; use one of None, "
         r"'sakoe_chiba', 'itakura'"),
        ({"window": "sakoe_chiba"}, r"window='sakoe_chiba' needs radius, the band's "
         r"half-width in cells \(an integer >= 0\), got radius=None"),
        ({"window": "sakoe_chiba", "radius": -1}, r"radius must be >= 0, got -1"),
        ({"window": "sakoe_chiba", "radius": 1.5}, r"radius must be an integer, got 1.5"),
        ({"radius": 2, "window": "itakura", "max_slope": 2.0},
         r"radius=2 is only used with window='sakoe_chiba', got window='itakura'"),
        ({"window": "itakura"}, r"window='itakura' needs max_slope, the parallelogram's "
         r"steepest slope \(a number > 1, typically 2\), got max_slope=None"),
        ({"window": "itakura", "max_slope": 1.0}, r"max_slope must be a finite number > 1 "
         r"\(slope 1 allows only the diagonal\), got 1.0"),
        ({"window": "itakura", "max_slope": "2"}, r"max_slope must be a number > 1, got '2'"),
        ({"max_slope": 2.0}, r"max_slope=2.0 is only used with window='itakura', got "
         r"window=None"),
        ({"subsequence": True, "window": "sakoe_chiba", "radius": 1},
         r"subsequence=True finds x anywhere inside y, so window='sakoe_chiba' does not "
         r"apply; drop the window or set subsequence=False"),
        ({"subsequence": "yes"}, r"subsequence must be True or False, got 'yes'"),
        ({"return_path": 1}, r"return_path must be True or False, got 1"),
    ],
)
def test_option_errors(options, match):
    with pytest.raises(ParameterError, match=match):
        dtw([0.0, 1.0, 2.0], [0.0, 1.0], **options)


def test_cosine_zero_row():
    with pytest.raises(ParameterError, match=r"metric='cosine' is undefined for an all-zero "
                       r"row, and y\[1\] is all zeros; drop such rows"):
        dtw([[1.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]], metric="cosine")


def test_band_too_narrow_names_sizes_and_minimum_radius():
    with pytest.raises(InfeasibleAlignmentError,
                       match=r"window='sakoe_chiba' with radius=0 admits no symmetric1 path "
                       r"for x and y with N=4, M=6; the smallest radius that works is 1"):
        dtw(np.arange(4.0), np.arange(6.0), window="sakoe_chiba", radius=0)
    # the minimum it names does work
    dtw(np.arange(4.0), np.arange(6.0), window="sakoe_chiba", radius=1)


def test_itakura_too_narrow_names_minimum_slope():
    with pytest.raises(InfeasibleAlignmentError,
                       match=r"window='itakura' with max_slope=1.01 admits no symmetric2 path "
                       r"for x and y with N=5, M=7; the smallest max_slope that works is "
                       r"about (\d+\.\d+)") as info:
        dtw(np.arange(5.0), np.arange(7.0), step_pattern="symmetric2", window="itakura",
            max_slope=1.01)
    smin = float(info.value.args[0].rsplit(" ", 1)[1])
    dtw(np.arange(5.0), np.arange(7.0), step_pattern="symmetric2", window="itakura",
        max_slope=smin)


def test_asymmetric_infeasible_lengths():
    with pytest.raises(InfeasibleAlignmentError,
                       match=r"no asymmetric path exists for x and y with N=3, M=6: every "
                       r"step advances x by one row and y by at most 2, so "
                       r"M - 1 <= 2\*\(N - 1\) is needed"):
        dtw_distance(np.arange(3.0), np.arange(6.0), step_pattern="asymmetric")
    # M - 1 == 2 (N - 1) is the limit and works
    assert dtw_distance(np.arange(3.0), np.arange(5.0), step_pattern="asymmetric") >= 0


def test_pairwise_errors():
    with pytest.raises(ParameterError, match=r"X is an empty list; pass at least one sequence"):
        dtw_pairwise([])
    with pytest.raises(ParameterError,
                       match=r"X must have 2 or 3 dimension\(s\), got shape \(4,\)"):
        dtw_pairwise(np.zeros(4))
    with pytest.raises(ParameterError, match=r"X holds no sequences \(shape \(0, 3\)\)"):
        dtw_pairwise(np.zeros((0, 3)))
    with pytest.raises(ParameterError, match=r"X\[1\] must be finite, found nan at index 0"):
        dtw_pairwise([[1.0], [np.nan]])
    with pytest.raises(ParameterError, match=r"X\[0\] and Y\[1\] must have the same number "
                       r"of features per row, got 1"):
        dtw_pairwise([[1.0]], [[1.0], [[1.0, 2.0]]])
    with pytest.raises(ParameterError, match=r"n_jobs must be >= 1, got 0"):
        dtw_pairwise([[1.0]], n_jobs=0)
    with pytest.raises(InfeasibleAlignmentError, match=r"for X\[0\] and Y\[1\] with N=2, M=5"):
        dtw_pairwise([[1.0, 2.0]], [[1.0, 2.0], [1, 2, 3, 4, 5]], step_pattern="asymmetric")


# ================================================================ small exact cases


def test_documented_example_and_length_one():
    r = dtw([0.0, 1.0, 2.0], [0.0, 1.0, 1.0, 2.0])
    assert r.distance == 0.0
    assert r.path.dtype == np.int64 and r.path.shape == (4, 2)
    r = dtw([3.0], [1.0, 2.0, 4.0])  # length 1 is valid: one row matches everything
    assert r.distance == 4.0 + 1.0 + 1.0
    assert r.path.tolist() == [[0, 0], [0, 1], [0, 2]]
    assert dtw([3.0], [5.0]).distance == 4.0


def test_torch_and_integer_inputs():
    torch = pytest.importorskip("torch")
    a = torch.tensor([0.0, 1.0, 2.0])
    assert dtw_distance(a, torch.tensor([0.0, 2.0])) == 1.0
    assert dtw_distance([0, 1, 2], [0, 2]) == 1.0
    # torch in, torch out: the path is an int64 tensor on the input's device
    r = dtw(a, torch.tensor([0.0, 1.0, 1.0, 2.0]))
    assert isinstance(r.path, torch.Tensor) and r.path.dtype == torch.int64
    assert r.path.device == a.device and r.path.tolist() == [[0, 0], [1, 1], [1, 2], [2, 3]]
    assert isinstance(dtw(np.zeros(3), np.zeros(4)).path, np.ndarray)


def test_radius_alone_is_the_sakoe_chiba_band(rng):
    x, y = rng.normal(size=40), rng.normal(size=40)
    banded = dtw(x, y, window="sakoe_chiba", radius=1)
    alone = dtw(x, y, radius=1)
    assert alone.distance == banded.distance and np.array_equal(alone.path, banded.path)
    assert alone.distance > dtw(x, y).distance  # the band binds here
    assert dtw_distance(x, y, radius=1) == pytest.approx(banded.distance, rel=1e-12)


def test_float32_and_float64_mix(rng):
    x = rng.standard_normal(20)
    y = rng.standard_normal(15)
    d64 = dtw_distance(x, y)
    d32 = dtw_distance(x.astype(np.float32), y.astype(np.float32))
    assert d32 != d64
    np.testing.assert_allclose(d32, d64, rtol=1e-5)
    # one float64 argument makes the computation float64
    assert dtw_distance(x.astype(np.float32), y) == dtw_distance(
        x.astype(np.float32).astype(np.float64), y)


@pytest.mark.parametrize("step", PATTERNS)
@pytest.mark.parametrize("metric", METRICS)
def test_api_equals_reference_multivariate(rng, step, metric):
    x = rng.standard_normal((8, 3))
    y = rng.standard_normal((11, 3))
    ref_d, ref_path, _ = dtw_full(x, y, metric=metric, step_pattern=step)
    r = dtw(x, y, metric=metric, step_pattern=step)
    np.testing.assert_allclose(r.distance, ref_d, rtol=1e-12)
    assert [tuple(p) for p in r.path.tolist()] == ref_path
    # dtw_fast (symmetric1) may fuse multiply-adds: equal to the last bits
    assert dtw_distance(x, y, metric=metric, step_pattern=step) == pytest.approx(
        r.distance, rel=1e-14)


def test_normalized_distance_conventions(rng):
    x = rng.standard_normal(9)
    y = rng.standard_normal(13)
    for step, norm in [("symmetric2", lambda r: 9 + 13), ("asymmetric", lambda r: 9),
                       ("symmetric1", lambda r: len(r.path))]:
        r = dtw(x, y, step_pattern=step)
        assert r.normalized_distance == pytest.approx(r.distance / norm(r))
        assert dtw(x, y, step_pattern=step, return_path=False).normalized_distance == (
            pytest.approx(r.normalized_distance))
    r = dtw(x[:4], y, step_pattern="symmetric2", subsequence=True)
    span = r.path[-1, 1] - r.path[0, 1] + 1
    assert r.normalized_distance == pytest.approx(r.distance / (4 + span))
    assert dtw(x[:4], y, step_pattern="symmetric2", subsequence=True,
               return_path=False).normalized_distance == pytest.approx(r.normalized_distance)


# ================================================================ properties (Hypothesis)

seq = st.lists(st.integers(-2, 2), min_size=1, max_size=7).map(
    lambda v: np.array(v, dtype=np.float64))
float_seq = st.lists(st.floats(-10, 10, allow_nan=False, width=64), min_size=1,
                     max_size=9).map(np.array)


@settings(max_examples=60, deadline=None)
@given(float_seq, st.sampled_from(PATTERNS), st.sampled_from(METRICS[:3]))
def test_self_distance_is_zero(x, step, metric):
    r = dtw(x, x, step_pattern=step, metric=metric)
    assert r.distance == 0.0
    assert r.path.tolist() == [[i, i] for i in range(len(x))]


@settings(max_examples=80, deadline=None)
@given(seq, seq, st.sampled_from(PATTERNS[:2]), st.sampled_from([None, 0, 1, 3]))
def test_symmetry(x, y, step, radius):
    opts = {} if radius is None else {"window": "sakoe_chiba", "radius": radius}
    try:
        d_xy = dtw_distance(x, y, step_pattern=step, **opts)
    except InfeasibleAlignmentError:
        with pytest.raises(InfeasibleAlignmentError):
            dtw_distance(y, x, step_pattern=step, **opts)
        return
    assert dtw_distance(y, x, step_pattern=step, **opts) == d_xy
    assert dtw(y, x, step_pattern=step, **opts).distance == d_xy


def _check_path(path, n, m, step, subsequence):
    assert path.dtype == np.int64 and path.ndim == 2 and path.shape[1] == 2
    assert path[0, 0] == 0 and path[-1, 0] == n - 1
    if not subsequence:
        assert path[0, 1] == 0 and path[-1, 1] == m - 1
    d = np.diff(path, axis=0)
    if step == "asymmetric":
        assert np.all(d[:, 0] == 1) and np.all((d[:, 1] >= 0) & (d[:, 1] <= 2))
    else:
        assert np.all((d >= 0) & (d <= 1)) and np.all(d.sum(axis=1) >= 1)


@settings(max_examples=150, deadline=None)
@given(seq, seq, st.sampled_from(PATTERNS), st.sampled_from(
    [(None, None, None), ("sakoe_chiba", 1, None), ("sakoe_chiba", 2, None),
     ("itakura", None, 2.0), ("itakura", None, 3.0), ("subsequence", None, None)]))
def test_path_properties_cost_and_oracles(x, y, step, win):
    window, radius, slope = win
    sub = window == "subsequence"
    window = None if sub else window
    opts = dict(step_pattern=step, window=window, radius=radius, max_slope=slope,
                subsequence=sub)
    brute = dtw_brute_force(x, y, **opts)
    if not math.isfinite(brute):
        with pytest.raises(InfeasibleAlignmentError):
            dtw(x, y, **opts)
        return
    r = dtw(x, y, **opts)
    _check_path(r.path, len(x), len(y), step, sub)
    # the weighted sum of local costs along the path is the distance
    assert path_cost(cost_matrix(x, y), [tuple(p) for p in r.path], step) == r.distance
    assert r.distance == brute
    ref_d, ref_path, _ = dtw_full(x, y, **opts)
    assert [tuple(p) for p in r.path.tolist()] == ref_path
    assert dtw_distance(x, y, **opts) == r.distance
    assert dtw(x, y, return_path=False, **opts).distance == r.distance


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(PATTERNS),
       st.sampled_from([None, "sakoe_chiba", "subsequence"]), st.integers(1, 7),
       st.integers(0, 2**31 - 1))
def test_checkpointed_path_equals_full_table(n, m, step, window, block, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=n).astype(np.float64)  # ties
    y = rng.integers(0, 3, size=m).astype(np.float64)
    sub = window == "subsequence"
    opts = dict(metric="sqeuclidean", step_pattern=step,
                window=None if sub else window, radius=3 if window == "sakoe_chiba" else None,
                max_slope=None, subsequence=sub)
    try:
        p = dtw_module._prepare(x, y, **opts)
    except InfeasibleAlignmentError:
        return
    g_full, path_full = dtw_module._path(p, block_rows=n)
    g_ck, path_ck = dtw_module._path(p, block_rows=block)
    assert g_ck == g_full
    np.testing.assert_array_equal(path_ck, path_full)


# ================================================================ memory


def test_checkpointed_path_memory_is_within_documented_bound(rng, monkeypatch):
    n = m = 3000
    x = rng.standard_normal(n)
    y = rng.standard_normal(m)
    full = dtw(x, y)  # small: one full direction table (n*m bytes)
    monkeypatch.setattr(dtw_module, "_FULL_TABLE_CELLS", 0)
    tracemalloc.start()
    try:
        r = dtw(x, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(r.path, full.path)
    assert r.distance == full.distance
    b = math.isqrt(8 * n)
    bound = 8 * m * math.ceil(n / b) + b * m + 2 * 8 * (m + 2) + 8 * m + 16 * (n + m) * 2
    assert peak <= 1.1 * bound + 200_000, (peak, bound)
    assert peak < n * m / 5  # far below the n*m bytes of the full direction table


# ================================================================ pairwise


@pytest.mark.parametrize("step", PATTERNS)
def test_pairwise_ragged_matches_single_calls(rng, step):
    X = [rng.standard_normal((k, 2)) for k in (4, 6, 5, 7)]
    Y = [rng.standard_normal((k, 2)) for k in (5, 7, 6)]
    got = dtw_pairwise(X, Y, step_pattern=step, n_jobs=2)
    assert got.shape == (4, 3) and got.dtype == np.float64
    for i, a in enumerate(X):
        for j, b in enumerate(Y):
            assert got[i, j] == pytest.approx(dtw_distance(a, b, step_pattern=step),
                                              rel=1e-14)
    self_ = dtw_pairwise(X, step_pattern=step)
    for i, a in enumerate(X):
        for j, b in enumerate(X):
            if step != "asymmetric" and i == j:
                assert self_[i, j] == 0.0
            else:
                assert self_[i, j] == pytest.approx(dtw_distance(a, b, step_pattern=step),
                                                    rel=1e-14)
    if step != "asymmetric":
        np.testing.assert_array_equal(self_, self_.T)


def test_pairwise_arrays_band_and_threads_restored(rng):
    import numba

    X = rng.standard_normal((5, 12))  # 5 univariate sequences
    before = numba.get_num_threads()
    got = dtw_pairwise(X, window="sakoe_chiba", radius=2, n_jobs=1)
    assert numba.get_num_threads() == before
    for i in range(5):
        for j in range(5):
            assert got[i, j] == pytest.approx(
                dtw_distance(X[i], X[j], window="sakoe_chiba", radius=2), rel=1e-14)
    X3 = rng.standard_normal((3, 6, 2))
    got3 = dtw_pairwise(X3, list(X3[:2]), metric="cityblock", n_jobs=-1)
    assert got3.shape == (3, 2)
    assert got3[2, 1] == pytest.approx(dtw_distance(X3[2], X3[1], metric="cityblock"),
                                       rel=1e-14)


def test_pairwise_subsequence(rng):
    Q = [rng.standard_normal(3), rng.standard_normal(4)]
    S = [rng.standard_normal(20)]
    got = dtw_pairwise(Q, S, subsequence=True)
    assert got[1, 0] == dtw_distance(Q[1], S[0], subsequence=True)


# ================================================================ peers (shared conventions)


def test_peer_librosa(rng):
    """librosa.sequence.dtw takes the cost matrix and reports the accumulated cost
    (our distance as is); its weights_mul=[2, 1, 1] on steps [[1,1],[0,1],[1,0]]
    is symmetric2; subseq=True is our subsequence mode (end = argmin of D[-1])."""
    librosa = pytest.importorskip("librosa")
    x = rng.standard_normal(12)
    y = rng.standard_normal(17)
    C = (x[:, None] - y[None, :]) ** 2
    D, wp = librosa.sequence.dtw(C=C)
    r = dtw(x, y)
    assert D[-1, -1] == pytest.approx(r.distance, rel=1e-12)
    np.testing.assert_array_equal(wp[::-1], r.path)
    D2, _ = librosa.sequence.dtw(C=C, weights_mul=np.array([2.0, 1.0, 1.0]))
    assert D2[-1, -1] == pytest.approx(dtw_distance(x, y, step_pattern="symmetric2"), rel=1e-12)
    Cs = (x[:4, None] - y[None, :]) ** 2
    Ds, wps = librosa.sequence.dtw(C=Cs, subseq=True)
    rs = dtw(x[:4], y, subsequence=True)
    assert Ds[-1].min() == pytest.approx(rs.distance, rel=1e-12)
    np.testing.assert_array_equal(wps[::-1], rs.path)


def test_peer_dtaidistance(rng):
    """dtaidistance.dtw.distance reports sqrt(our sqeuclidean sum); its window=w
    allows |i - j| <= w - 1 for equal lengths (our radius = w - 1)."""
    dtaidtw = pytest.importorskip("dtaidistance.dtw")
    x = rng.standard_normal(15)
    y = rng.standard_normal(15)
    assert dtaidtw.distance(x, y) == pytest.approx(math.sqrt(dtw_distance(x, y)), rel=1e-12)
    for w in (1, 2, 4):
        ours = dtw_distance(x, y, window="sakoe_chiba", radius=w - 1)
        assert dtaidtw.distance(x, y, window=w) == pytest.approx(math.sqrt(ours), rel=1e-12)
    z = rng.standard_normal(9)
    assert dtaidtw.distance(x, z) == pytest.approx(math.sqrt(dtw_distance(x, z)), rel=1e-12)


def test_peer_tslearn(rng):
    """tslearn.metrics.dtw reports sqrt(our sqeuclidean sum); its Sakoe-Chiba radius and
    Itakura max_slope match ours for equal lengths."""
    metrics = pytest.importorskip("tslearn.metrics")
    x = rng.standard_normal((14, 2))
    y = rng.standard_normal((14, 2))
    assert metrics.dtw(x, y) == pytest.approx(math.sqrt(dtw_distance(x, y)), rel=1e-12)
    for r in (0, 1, 3):
        ours = dtw_distance(x, y, window="sakoe_chiba", radius=r)
        theirs = metrics.dtw(x, y, global_constraint="sakoe_chiba", sakoe_chiba_radius=r)
        assert theirs == pytest.approx(math.sqrt(ours), rel=1e-12)
    ours = dtw_distance(x, y, window="itakura", max_slope=2.0)
    theirs = metrics.dtw(x, y, global_constraint="itakura", itakura_max_slope=2.0)
    assert theirs == pytest.approx(math.sqrt(ours), rel=1e-12)


@pytest.mark.parametrize("step", PATTERNS)
def test_peer_dtw_python(rng, step):
    """dtw-python: same step patterns; distance is our distance, normalizedDistance is
    ours for symmetric2 (N+M) and asymmetric (N) and NaN for symmetric1; its
    sakoechiba window_size is |i - j| <= r (equal lengths); open_begin + open_end
    with asymmetric is our subsequence mode."""
    dtwpy = pytest.importorskip("dtw")
    x = rng.standard_normal(10)
    y = rng.standard_normal(14)
    pattern = getattr(dtwpy, step)
    theirs = dtwpy.dtw(x, y, dist_method="sqeuclidean", step_pattern=pattern)
    r = dtw(x, y, step_pattern=step)
    assert theirs.distance == pytest.approx(r.distance, rel=1e-12)
    np.testing.assert_array_equal(np.c_[theirs.index1, theirs.index2], r.path)
    if step == "symmetric1":
        assert math.isnan(theirs.normalizedDistance)
    else:
        assert theirs.normalizedDistance == pytest.approx(r.normalized_distance, rel=1e-12)
    z = rng.standard_normal(10)
    theirs = dtwpy.dtw(x, z, dist_method="sqeuclidean", step_pattern=pattern,
                       window_type="sakoechiba", window_args={"window_size": 2})
    assert theirs.distance == pytest.approx(
        dtw_distance(x, z, step_pattern=step, window="sakoe_chiba", radius=2), rel=1e-12)
    if step == "asymmetric":
        q = x[:4]
        theirs = dtwpy.dtw(q, y, dist_method="sqeuclidean", step_pattern=pattern,
                           open_begin=True, open_end=True)
        rs = dtw(q, y, step_pattern=step, subsequence=True)
        assert theirs.distance == pytest.approx(rs.distance, rel=1e-12)
        assert theirs.normalizedDistance == pytest.approx(rs.normalized_distance, rel=1e-12)
        np.testing.assert_array_equal(np.c_[theirs.index1, theirs.index2], rs.path)


def test_public_names():
    assert align.dtw is dtw and isinstance(dtw([1.0], [1.0]), align.DTWResult)


@pytest.mark.parametrize("shape", [(300,), (300, 3)])
@pytest.mark.parametrize("window", [None, "sakoe_chiba", "itakura"])
def test_distance_dispatch_agrees_with_path_kernel(rng, monkeypatch, shape, window):
    """dtw_distance may run dtw_fast's symmetric1 kernels (values equal to the last
    bits); the general two-row kernel must equal the path kernel bit for bit."""
    x = rng.standard_normal(shape)
    y = rng.standard_normal((200,) + shape[1:])
    opts = {"window": window, "radius": 40 if window == "sakoe_chiba" else None,
            "max_slope": 2.0 if window == "itakura" else None}
    calls = []
    real = dtw_module._fast_sym1

    def spy():
        kernels = real()
        calls.append(kernels is not None)
        return kernels

    monkeypatch.setattr(dtw_module, "_fast_sym1", spy)
    for metric in ("sqeuclidean", "euclidean", "cityblock"):
        full = dtw(x, y, metric=metric, **opts).distance
        assert dtw_distance(x, y, metric=metric, **opts) == pytest.approx(full, rel=1e-14)
        with monkeypatch.context() as mp:
            mp.setattr(dtw_module, "_fast_sym1", lambda: None)
            assert dtw_distance(x, y, metric=metric, **opts) == full
            assert dtw_distance(y, x, metric=metric, **opts) == full  # swapped rows
    assert len(calls) == 3  # consulted for every symmetric1 float64 distance
    calls.clear()
    dtw_distance(x.astype(np.float32), y.astype(np.float32), **opts)
    dtw_distance(x, y, step_pattern="symmetric2", **opts)
    assert calls == []  # float32 and the other patterns stay on the general kernel


@pytest.mark.parametrize("dim", [1, 3])
def test_pairwise_fast_driver_equals_general_kernel(rng, monkeypatch, dim):
    """dtw_pairwise may hand symmetric1 to dtw_fast's driver; values must not change."""
    X = [rng.standard_normal((k, dim)).squeeze() for k in (5, 9, 7, 12)]
    Y = [rng.standard_normal((k, dim)).squeeze() for k in (6, 10)]
    for opts in ({}, {"window": "sakoe_chiba", "radius": 3}, {"metric": "cityblock"}):
        fast_xy = dtw_pairwise(X, Y, **opts)
        fast_xx = dtw_pairwise(X, **opts)
        with monkeypatch.context() as mp:
            mp.setattr(dtw_module, "_fast_sym1_pairwise", lambda: None)
            np.testing.assert_allclose(dtw_pairwise(X, Y, **opts), fast_xy, rtol=1e-14)
            np.testing.assert_allclose(dtw_pairwise(X, **opts), fast_xx, rtol=1e-14)


def test_distance_rows_run_along_the_shorter_sequence(rng, monkeypatch):
    """O(min(N, M)) memory: symmetric patterns swap x and y so rows have min(N, M)
    cells; asymmetric never swaps (its rows have M <= 2N - 1 cells anyway)."""
    import align.kernels.dtw as kdtw

    seen = []
    real = kdtw.dtw_distance_rows

    def spy(x, y, *args):
        seen.append((x.shape[0], y.shape[0], args[-3]))  # rows, row length, transposed
        return real(x, y, *args)

    monkeypatch.setattr(kdtw, "dtw_distance_rows", spy)
    short, long_ = rng.standard_normal(30), rng.standard_normal(50)
    d = dtw_distance(short, long_, step_pattern="symmetric2")
    assert seen[-1] == (50, 30, True)
    assert d == dtw(short, long_, step_pattern="symmetric2").distance
    dtw_distance(long_, short, step_pattern="symmetric2")
    assert seen[-1] == (50, 30, False)
    dtw_distance(short, long_, step_pattern="asymmetric")
    assert seen[-1] == (30, 50, False)
    dtw_distance(short[:5], long_, step_pattern="symmetric2", subsequence=True)
    assert seen[-1] == (5, 50, False)  # subsequence keeps rows along y: O(M)
