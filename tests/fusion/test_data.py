"""align.fusion.data: clocks, warps, word pooling, attention pooling and collation.

Each function is checked against a plainly written reference (a Python loop over
frames, np.interp, align.tts.durations.token_average), on tiny hand-computed cases,
and on properties (identity on the same clock, exact on ramps, constants pool to
themselves); every error path raises ParameterError with a message.
"""

import numpy as np
import pytest
import torch

import align
from align.exceptions import ParameterError
from align.fusion.data import (
    AttentionPool,
    Batch,
    alignment_intervals,
    collate,
    frame_times,
    interval_frames,
    intervals_to_mask,
    lengths_to_mask,
    pool_durations,
    pool_intervals,
    resample_to_clock,
    warp_by_path,
)
from align.speech.results import Alignment, Phone, Word
from align.tts.durations import token_average


def _times(rng, n, start=0.0):
    """Strictly increasing, variable-rate timestamps (a jittery 25 fps video)."""
    return start + np.cumsum(rng.uniform(0.02, 0.06, n))


# ----------------------------------------------------------------------------- frame_times


def test_frame_times_center_is_t_hop_over_sr():
    np.testing.assert_allclose(frame_times(4, sample_rate=16000, hop_length=160), [0.0, 0.01, 0.02, 0.03])


def test_frame_times_uncentred_adds_half_a_window():
    got = frame_times(3, sample_rate=100, hop_length=10, center=False, n_fft=25)
    np.testing.assert_allclose(got, (np.arange(3) * 10 + 12) / 100)


def test_frame_times_matches_librosa():
    librosa = pytest.importorskip("librosa")
    for center, n_fft in ((True, None), (False, 400)):
        ours = frame_times(7, sample_rate=22050, hop_length=256, center=center, n_fft=n_fft)
        theirs = librosa.frames_to_time(np.arange(7), sr=22050, hop_length=256, n_fft=n_fft)
        np.testing.assert_allclose(ours, theirs)


def test_frame_times_zero_frames_is_empty():
    assert frame_times(0, sample_rate=16000, hop_length=160).shape == (0,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_frames=3, sample_rate=16000, hop_length=160, center=False), "needs n_fft"),
    (dict(n_frames=3, sample_rate=16000, hop_length=0), "hop_length must be >= 1"),
    (dict(n_frames=3, sample_rate=-1.0, hop_length=160), "sample_rate must be a positive"),
    (dict(n_frames=-1, sample_rate=16000, hop_length=160), "n_frames must be >= 0"),
])
def test_frame_times_errors(kwargs, match):
    n = kwargs.pop("n_frames")
    with pytest.raises(ParameterError, match=match):
        frame_times(n, **kwargs)


# ----------------------------------------------------------------------------- resample_to_clock


def _previous_reference(times, target):
    out = []
    for q in target:
        before = [k for k, t in enumerate(times) if t <= q]
        out.append(before[-1] if before else 0)
    return np.array(out)


def _nearest_reference(times, target):
    return np.array([int(np.argmin(np.abs(times - q))) for q in target])  # argmin: the earlier on ties


@pytest.mark.parametrize("method", ["linear", "nearest", "previous"])
def test_resample_onto_the_same_clock_is_identity(rng, method):
    times = _times(rng, 30)
    x = rng.standard_normal((30, 4))
    np.testing.assert_allclose(resample_to_clock(x, times, times, method=method).numpy(), x, atol=1e-12)


def test_linear_resample_of_a_linear_ramp_is_exact(rng):
    times = _times(rng, 20)
    target = rng.uniform(times[0], times[-1], 50)
    x = np.stack([3.0 * times - 1.0, -0.5 * times + 2.0], axis=1)
    got = resample_to_clock(x, times, target).numpy()
    np.testing.assert_allclose(got, np.stack([3.0 * target - 1.0, -0.5 * target + 2.0], axis=1), atol=1e-12)


def test_linear_resample_matches_np_interp_and_holds_edges(rng):
    times = _times(rng, 25, start=0.3)
    target = np.sort(rng.uniform(0.0, times[-1] + 0.5, 60))  # some before and after the stream
    x = rng.standard_normal((25, 3))
    got = resample_to_clock(x, times, target).numpy()
    want = np.stack([np.interp(target, times, x[:, c]) for c in range(3)], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("method, reference", [("previous", _previous_reference),
                                               ("nearest", _nearest_reference)])
def test_index_methods_match_a_loop(rng, method, reference):
    times = _times(rng, 25, start=0.2)
    target = np.concatenate([rng.uniform(0.0, times[-1] + 0.3, 60), times[::3]])  # exact hits too
    x = rng.standard_normal((25, 2))
    got = resample_to_clock(x, times, target, method=method).numpy()
    np.testing.assert_array_equal(got, x[reference(times, target)])


def test_resample_hand_case():
    x = np.array([[0.0], [10.0], [20.0]])
    times = [0.0, 1.0, 3.0]
    target = [-1.0, 0.5, 1.0, 2.5, 4.0]
    assert resample_to_clock(x, times, target).ravel().tolist() == [0.0, 5.0, 10.0, 17.5, 20.0]
    assert resample_to_clock(x, times, target, method="previous").ravel().tolist() == [0, 0, 10, 10, 20]
    # 0.5 is halfway between 0 and 1: the earlier frame
    assert resample_to_clock(x, times, target, method="nearest").ravel().tolist() == [0, 0, 10, 20, 20]


def test_resample_one_source_frame_holds_it():
    for method in ("linear", "nearest", "previous"):
        got = resample_to_clock([[1.0, 2.0]], [0.5], [0.0, 0.5, 9.0], method=method)
        assert got.tolist() == [[1.0, 2.0]] * 3


def test_resample_dtypes_and_gradients(rng):
    times = _times(rng, 10)
    assert resample_to_clock(rng.standard_normal((10, 2)), times, times).dtype == torch.float64
    x32 = rng.standard_normal((10, 2)).astype(np.float32)
    assert resample_to_clock(x32, times, times).dtype == torch.float32
    assert resample_to_clock(np.ones((10, 2), np.int64), times, times).dtype == torch.float32
    x = torch.randn(10, 2, dtype=torch.float16).float().requires_grad_()
    out = resample_to_clock(x, times, np.linspace(times[0], times[-1], 17))
    assert out.dtype == torch.float32
    out.sum().backward()
    # linear weights of each target sum to 1, so the gradients sum to the number of targets
    assert torch.isclose(x.grad.sum(), torch.tensor(17.0 * 2))


@pytest.mark.parametrize("features, times, target, kwargs, match", [
    (np.zeros((3, 1)), [0.0, 2.0, 1.0], [0.5], {}, "strictly increasing"),
    (np.zeros((3, 1)), [0.0, 1.0, 1.0], [0.5], {}, "strictly increasing"),
    (np.zeros((3, 1)), [0.0, 1.0], [0.5], {}, "one time per frame"),
    (np.zeros(3), [0.0, 1.0, 2.0], [0.5], {}, r"2 dimension\(s\), got shape \(3,\)"),
    (torch.zeros(3), [0.0, 1.0, 2.0], [0.5], {}, r"2 dimension\(s\) \(T, d\), got shape \(3,\)"),
    (np.zeros((0, 2)), [], [0.5], {}, "features is empty"),
    (np.zeros((3, 1)), [0.0, 1.0, 2.0], [], {}, "target_times is empty"),
    (np.array([[0.0], [np.nan], [1.0]]), [0.0, 1.0, 2.0], [0.5], {}, "features must be finite"),
    (np.zeros((3, 1)), [0.0, np.nan, 2.0], [0.5], {}, "times must be finite"),
    (np.zeros((3, 1)), [0.0, 1.0, 2.0], [np.inf], {}, "target_times must be finite"),
    (np.zeros((3, 1)), [0.0, 1.0, 2.0], [0.5], {"method": "cubic"}, "method='cubic' is not supported"),
    (np.array([["a"]]), [0.0], [0.5], {}, "real numbers"),
])
def test_resample_errors(features, times, target, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        resample_to_clock(features, times, target, **kwargs)


# ----------------------------------------------------------------------------- warp_by_path


def _warp_reference(features, path, n, reduce):
    out = []
    for i in range(n):
        rows = [features[j] for ii, j in path if ii == i]
        out.append(np.mean(rows, axis=0) if reduce == "mean" else rows[0] if reduce == "first" else rows[-1])
    return np.array(out)


def _random_path(rng, n, m):
    """A random monotone, continuous path from (0, 0) to (n-1, m-1) with DTW's three steps."""
    path = [(0, 0)]
    while path[-1] != (n - 1, m - 1):
        i, j = path[-1]
        steps = [s for s in ((1, 0), (0, 1), (1, 1)) if i + s[0] < n and j + s[1] < m]
        di, dj = steps[rng.integers(len(steps))]
        path.append((i + di, j + dj))
    return np.array(path)


@pytest.mark.parametrize("reduce", ["mean", "first", "last"])
def test_warp_by_diagonal_path_is_identity(rng, reduce):
    x = rng.standard_normal((12, 3))
    path = np.stack([np.arange(12)] * 2, axis=1)
    np.testing.assert_array_equal(warp_by_path(x, path, reduce=reduce).numpy(), x)


def test_warp_hand_case():
    y = np.array([[0.0], [2.0], [4.0], [6.0]])
    path = [(0, 0), (0, 1), (1, 2), (2, 2), (2, 3)]
    assert warp_by_path(y, path).ravel().tolist() == [1.0, 4.0, 5.0]
    assert warp_by_path(y, path, reduce="first").ravel().tolist() == [0.0, 4.0, 4.0]
    assert warp_by_path(y, path, reduce="last").ravel().tolist() == [2.0, 4.0, 6.0]


@pytest.mark.parametrize("reduce", ["mean", "first", "last"])
def test_warp_matches_a_loop_on_random_paths(rng, reduce):
    for _ in range(5):
        n, m = rng.integers(1, 15, size=2)
        y = rng.standard_normal((m, 2))
        path = _random_path(rng, n, m)
        np.testing.assert_allclose(warp_by_path(y, path, reduce=reduce).numpy(),
                                   _warp_reference(y, path.tolist(), n, reduce), atol=1e-12)


def test_warp_by_a_real_dtw_path_recovers_the_original():
    n, m = 80, 130  # y is x stretched in time by 13/8, unevenly
    u = np.linspace(0.0, 1.0, n)
    x = np.sin(2 * np.pi * 2.5 * u ** 1.3)
    v = np.linspace(0.0, 1.0, m) ** 1.2  # y's frames sample x's curve at warped times
    y = np.sin(2 * np.pi * 2.5 * v ** 1.3)
    path = align.dtw(x, y).path
    back = warp_by_path(y[:, None], path).numpy()[:, 0]
    assert back.shape == (n,)
    assert np.abs(back - x).max() < 0.1
    assert np.abs(back - x).mean() < 0.02
    # a second stream on y's clock (y's own time) lands on the matching x times
    t_back = warp_by_path(v[:, None], path).numpy()[:, 0]
    assert np.abs(t_back - u).max() < 0.03


def test_warp_keeps_gradients_and_accepts_torch_paths():
    y = torch.arange(4.0)[:, None].requires_grad_()
    out = warp_by_path(y, torch.tensor([[0, 0], [0, 1], [1, 2], [1, 3]]))
    out.sum().backward()
    assert y.grad.ravel().tolist() == [0.5, 0.5, 0.5, 0.5]


@pytest.mark.parametrize("path, kwargs, match", [
    (np.zeros((3, 3), int), {}, r"shape \(K, 2\)"),
    (np.zeros(3, int), {}, "2 dimension"),
    (np.zeros((0, 2), int), {}, "path is empty"),
    ([(0, 0), (1, 1), (0, 2)], {}, "not monotone: i goes back"),
    ([(0, 1), (1, 0)], {}, "not monotone: j goes back"),
    ([(0, 0), (2, 1)], {}, "does not cover target index 1"),
    ([(0, 0), (1, 1)], {"n_target": 3}, "does not cover target index 2"),
    ([(0, 0), (1, 1), (2, 2)], {"n_target": 2}, "n_target = 2"),
    ([(0, 0), (1, 9)], {}, "only 4 frames"),
    ([(-1, 0), (0, 1)], {}, ">= 0"),
    ([(0.5, 0), (1, 1)], {}, "integers"),
    ([(0, 0), (1, 1)], {"reduce": "max"}, "reduce='max' is not supported"),
])
def test_warp_errors(path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        warp_by_path(np.zeros((4, 2)), path, **kwargs)


# ----------------------------------------------------------------------------- pool_intervals


def _pool_reference(x, intervals, rate, reduce, min_frames=1, center=False):
    """A loop over frames: frame t's centre is (t + 0.5) / rate (or t / rate with center)."""
    offset = 0.0 if center else 0.5
    n = x.shape[0]
    pooled, counts = [], []
    for s, e in intervals:
        frames = [t for t in range(n) if s <= (t + offset) / rate < e]
        if len(frames) < min_frames:  # the min_frames centres nearest the midpoint
            mid = (s + e) / 2
            by_distance = sorted(range(n), key=lambda t: (abs((t + offset) / rate - mid), t))
            frames = sorted(by_distance[:min_frames])
        counts.append(len(frames))
        if not frames:
            pooled.append(np.zeros(x.shape[1]))
        elif reduce == "mean":
            pooled.append(x[frames].mean(axis=0))
        elif reduce == "max":
            pooled.append(x[frames].max(axis=0))
        else:
            pooled.append(x[frames[0]])
    return np.array(pooled), np.array(counts)


def _random_intervals(rng, n, t_end, max_len=0.4):
    starts = np.sort(rng.uniform(0.0, t_end, n))
    ends = np.minimum(starts + rng.uniform(0.0, max_len, n), t_end)
    return np.stack([starts, ends], axis=1)


@pytest.mark.parametrize("reduce", ["mean", "max", "first"])
@pytest.mark.parametrize("center", [False, True])
def test_pool_intervals_matches_a_loop(rng, reduce, center):
    rate, n = 12.5, 40
    x = rng.standard_normal((n, 3))
    # many shorter than a frame (0.08 s); inside the last frame's span under either convention
    intervals = _random_intervals(rng, 25, (n - 1) / rate, max_len=0.5)
    got, counts = pool_intervals(x, intervals, frame_rate=rate, reduce=reduce, center=center)
    want, want_counts = _pool_reference(x, intervals, rate, reduce, center=center)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    np.testing.assert_array_equal(counts.numpy(), want_counts)
    assert counts.dtype == torch.int64 and (counts >= 1).all()


@pytest.mark.parametrize("min_frames", [0, 2, 3])
def test_pool_intervals_min_frames_matches_a_loop(rng, min_frames):
    rate, n = 10.0, 30
    x = rng.standard_normal((n, 2))
    intervals = _random_intervals(rng, 20, n / rate, max_len=0.25)
    got, counts = pool_intervals(x, intervals, frame_rate=rate, min_frames=min_frames)
    want, want_counts = _pool_reference(x, intervals, rate, "mean", min_frames=min_frames)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    np.testing.assert_array_equal(counts.numpy(), want_counts)


@pytest.mark.parametrize("reduce", ["mean", "max", "first"])
def test_pool_of_a_constant_is_that_constant(rng, reduce):
    x = np.tile([1.5, -2.0], (50, 1))
    intervals = _random_intervals(rng, 30, 0.5)
    got, _ = pool_intervals(x, intervals, frame_rate=100, reduce=reduce)
    np.testing.assert_allclose(got.numpy(), np.tile([1.5, -2.0], (30, 1)))


def test_counts_of_a_tiling_sum_to_the_covered_frames(rng):
    n, rate = 97, 100.0
    cuts = np.concatenate([[0.0], np.sort(rng.uniform(0.0, n / rate, 15)), [n / rate]])
    intervals = np.stack([cuts[:-1], cuts[1:]], axis=1)
    _, counts = pool_intervals(rng.standard_normal((n, 1)), intervals, frame_rate=rate, min_frames=0)
    assert int(counts.sum()) == n
    # a tiling of the first 0.5 s covers its 50 frames
    _, counts = pool_intervals(rng.standard_normal((n, 1)), [[0.0, 0.2], [0.2, 0.5]], frame_rate=rate)
    assert counts.tolist() == [20, 30]


def test_pool_intervals_hand_case():
    x = np.arange(10.0)[:, None]  # frame t spans [t/10, (t+1)/10), centre (t + 0.5)/10
    intervals = [[0.0, 0.25], [0.25, 0.26], [0.31, 0.34], [0.3, 1.0]]
    got, counts = pool_intervals(x, intervals, frame_rate=10)
    # [0.31, 0.34) contains no centre: it gets frame 3, which contains its midpoint 0.325
    assert counts.tolist() == [2, 1, 1, 7]
    assert got.ravel().tolist() == [0.5, 2.0, 3.0, 6.0]
    assert interval_frames(intervals, 10, frame_rate=10).tolist() == [[0, 2], [2, 3], [3, 4], [3, 10]]
    # with librosa's centred frames, frame t is centred on t/10
    assert interval_frames(intervals, 10, frame_rate=10, center=True).tolist() == [[0, 3], [3, 4], [3, 4],
                                                                                   [3, 10]]


def test_pool_intervals_sample_rate_and_hop_give_the_frame_rate(rng):
    x = rng.standard_normal((60, 2))
    intervals = _random_intervals(rng, 10, 0.6)
    a, ca = pool_intervals(x, intervals, sample_rate=16000, hop_length=160)
    b, cb = pool_intervals(x, intervals, frame_rate=100.0)
    assert torch.equal(a, b) and torch.equal(ca, cb)


def test_pool_intervals_zero_frames_give_zeros_with_min_frames_0():
    got, counts = pool_intervals(np.ones((10, 2)), [[0.31, 0.34], [0.0, 0.1]], frame_rate=10, min_frames=0)
    assert counts.tolist() == [0, 1]
    assert got.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_pool_intervals_keeps_gradients():
    x = torch.ones(10, 2, requires_grad=True)
    got, _ = pool_intervals(x, [[0.0, 0.4], [0.4, 0.5]], frame_rate=10, reduce="max")
    got.sum().backward()
    assert x.grad[:5].sum() == 4.0 and x.grad[5:].sum() == 0.0


@pytest.mark.parametrize("intervals, kwargs, match", [
    ([[0.0, 0.5]], {}, "frame clock is missing"),
    ([[0.0, 0.5]], {"frame_rate": 10, "sample_rate": 16000}, "not both"),
    ([[0.0, 0.5]], {"sample_rate": 16000}, "frame clock is missing"),
    ([[0.0, 0.5]], {"frame_rate": 0.0}, "frame_rate must be a positive"),
    ([[0.5, 0.2]], {"frame_rate": 10}, "interval 0 is"),
    ([[0.0, 0.1], [-0.1, 0.2]], {"frame_rate": 10}, "interval 1 is"),
    ([[0.0, 0.5], [0.9, 1.25]], {"frame_rate": 10}, "interval 1 .* lies outside the stream"),
    ([[1.2, 1.3]], {"frame_rate": 10}, "outside the stream"),
    (np.zeros((0, 2)), {"frame_rate": 10}, "intervals is empty"),
    ([[0.0, np.nan]], {"frame_rate": 10}, "intervals must be finite"),
    ([0.0, 0.5], {"frame_rate": 10}, "2 dimension"),
    ([[0.0, 0.5, 1.0]], {"frame_rate": 10}, r"shape \(n, 2\)"),
    ([[0.0, 0.5]], {"frame_rate": 10, "reduce": "median"}, "reduce='median' is not supported"),
    ([[0.0, 0.5]], {"frame_rate": 10, "min_frames": 11}, "more than the stream's 10 frames"),
    ([[0.0, 0.5]], {"frame_rate": 10, "min_frames": -1}, "min_frames must be >= 0"),
])
def test_pool_intervals_errors(intervals, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        pool_intervals(np.zeros((10, 2)), intervals, **kwargs)


def test_pool_intervals_allows_one_frame_of_slack_at_the_end():
    # the stream ends at 1.0 s; an alignment may end a little later (rounded stream lengths)
    got, counts = pool_intervals(np.arange(10.0)[:, None], [[0.95, 1.08]], frame_rate=10)
    assert counts.tolist() == [1] and got.tolist() == [[9.0]]


def test_pool_intervals_rejects_nan_features():
    x = np.zeros((10, 2))
    x[4, 1] = np.nan
    with pytest.raises(ParameterError, match=r"features must be finite, found nan at index \(4, 1\)"):
        pool_intervals(x, [[0.0, 0.5]], frame_rate=10)


# ----------------------------------------------------------------------------- pool_durations


def test_pool_durations_mean_equals_token_average(rng):
    x = rng.standard_normal((40, 3))
    durations = np.array([3, 0, 7, 1, 0, 12, 5])  # sums to 28 < 40: the tail is left out
    got, counts = pool_durations(x, durations)
    np.testing.assert_allclose(got.numpy(), token_average(x, durations), atol=1e-12)
    np.testing.assert_array_equal(counts.numpy(), durations)


@pytest.mark.parametrize("reduce", ["max", "first"])
def test_pool_durations_matches_a_loop(rng, reduce):
    x = rng.standard_normal((30, 2))
    durations = rng.integers(0, 4, 10)
    got, _ = pool_durations(x, durations, reduce=reduce)
    start, want = 0, []
    for d in durations:
        frames = x[start:start + d]
        want.append(np.zeros(2) if d == 0 else frames.max(axis=0) if reduce == "max" else frames[0])
        start += d
    np.testing.assert_allclose(got.numpy(), np.array(want), atol=1e-12)


def test_pool_durations_of_alignment_durations_is_consistent():
    alignment = _alignment()
    durations = alignment.durations(sample_rate=100, hop_length=1, level="words")
    x = np.ones((int(durations.sum()), 2))
    got, counts = pool_durations(x, durations)
    assert int(counts.sum()) == x.shape[0]
    np.testing.assert_allclose(got.numpy()[counts.numpy() > 0], 1.0)


@pytest.mark.parametrize("durations, match", [
    ([2, -1], "durations must be >= 0"),
    ([6, 5], "sum to 11 frames, but features has only 10"),
    ([], "durations is empty"),
    ([1.5, 2], "must hold integers"),
    ([[1, 2]], "1 dimension"),
])
def test_pool_durations_errors(durations, match):
    with pytest.raises(ParameterError, match=match):
        pool_durations(np.zeros((10, 2)), durations)


# ----------------------------------------------------------------------------- alignment_intervals


def _alignment():
    hello = Word("Hello,", 0.10, 0.50, phones=[Phone("HH", 0.10, 0.18), Phone("AH", 0.18, 0.30),
                                              Phone("L", 0.30, 0.38), Phone("OW", 0.38, 0.50)])
    world = Word("world", 0.62, 1.00, phones=[Phone("W", 0.62, 0.70), Phone("ER", 0.70, 0.85),
                                             Phone("L", 0.85, 0.92), Phone("D", 0.92, 1.00)])
    return Alignment(words=[hello, world], duration=1.2, sample_rate=16000)


def test_alignment_intervals_words_and_phones():
    labels, times = alignment_intervals(_alignment())
    assert labels == ["Hello,", "world"]
    np.testing.assert_array_equal(times, [[0.10, 0.50], [0.62, 1.00]])
    labels, times = alignment_intervals(_alignment(), level="phones")
    assert labels == ["HH", "AH", "L", "OW", "W", "ER", "L", "D"]
    assert times.shape == (8, 2) and times.dtype == np.float64
    assert times[3].tolist() == [0.38, 0.50]


def test_alignment_intervals_feed_pool_intervals():
    # 100 frames/s, frame t holds the value t: a word's mean is the mean of its frame indices
    x = np.arange(120.0)[:, None]
    _, times = alignment_intervals(_alignment())
    got, counts = pool_intervals(x, times, frame_rate=100)
    assert counts.tolist() == [40, 38]
    np.testing.assert_allclose(got.numpy().ravel(), [np.arange(10, 50).mean(), np.arange(62, 100).mean()])


def test_alignment_intervals_of_no_words_is_empty():
    labels, times = alignment_intervals(Alignment(words=[], duration=1.0))
    assert labels == [] and times.shape == (0, 2)


def test_alignment_intervals_errors():
    with pytest.raises(ParameterError, match="level='syllables' is not supported"):
        alignment_intervals(_alignment(), level="syllables")
    with pytest.raises(ParameterError, match="must be an align.Alignment"):
        alignment_intervals([(0.0, 1.0)])


# ----------------------------------------------------------------------------- AttentionPool


def _attention_inputs(rng, b=3, t=20, d=4):
    features = torch.from_numpy(rng.standard_normal((b, t, d)).astype(np.float32))
    intervals = torch.tensor([[[0, 5], [5, 6], [6, 20]],
                              [[2, 4], [4, 9], [0, 0]],
                              [[0, 20], [0, 0], [0, 0]]])
    token_mask = torch.tensor([[True, True, True], [True, True, False], [True, False, False]])
    return features, intervals, token_mask


def _masked_mean_reference(features, intervals, token_mask):
    out = torch.zeros(intervals.shape[0], intervals.shape[1], features.shape[2])
    for b in range(intervals.shape[0]):
        for n in range(intervals.shape[1]):
            s, e = intervals[b, n].tolist()
            if token_mask[b, n] and e > s:
                out[b, n] = features[b, s:e].mean(0)
    return out


@pytest.mark.parametrize("n_heads", [1, 2])
def test_attention_pool_with_equal_scores_is_the_mean_pool(rng, n_heads):
    features, intervals, token_mask = _attention_inputs(rng)
    pool = AttentionPool(4, n_heads=n_heads)
    with torch.no_grad():
        pool.query.zero_()
    got = pool(features, intervals, token_mask)
    assert got.shape == (3, 3, 4)
    torch.testing.assert_close(got, _masked_mean_reference(features, intervals, token_mask))
    # and it is pool_intervals' mean for the same frames
    spans = [[0.0, 0.05], [0.05, 0.06], [0.06, 0.2]]
    want, _ = pool_intervals(features[0], spans, frame_rate=100)
    torch.testing.assert_close(got[0], want)


def test_attention_pool_gives_masked_frames_zero_weight(rng):
    torch.manual_seed(0)
    features, intervals, token_mask = _attention_inputs(rng)
    frame_mask = torch.ones(3, 20, dtype=torch.bool)
    frame_mask[2, 10:] = False
    pool = AttentionPool(4, n_heads=2)
    before = pool(features, intervals, token_mask, frame_mask)
    changed = features.clone()
    changed[0, 6:] += 100.0   # only token 2 of item 0 sees these frames
    changed[1, 9:] = -50.0    # outside every valid interval of item 1
    changed[2, 10:] = 1e4     # padded frames of item 2
    after = pool(changed, intervals, token_mask, frame_mask)
    torch.testing.assert_close(after[0, :2], before[0, :2])
    torch.testing.assert_close(after[1:], before[1:])
    assert (before[~token_mask] == 0).all()
    assert torch.isfinite(before).all()
    # with a real query the weights are not uniform, yet stay inside each interval (a convex mix)
    for b, n in zip(*token_mask.nonzero(as_tuple=True)):
        s, e = intervals[b, n].tolist()
        e = min(e, 10) if b == 2 else e
        frames = features[b, s:e]
        assert (before[b, n] >= frames.min(0).values - 1e-5).all()
        assert (before[b, n] <= frames.max(0).values + 1e-5).all()


def test_attention_pool_gradients_flow(rng):
    features, intervals, token_mask = _attention_inputs(rng)
    features.requires_grad_()
    pool = AttentionPool(4, n_heads=2)
    out = pool(features, intervals, token_mask)
    (out ** 2).sum().backward()
    for name, param in [("features", features), ("query", pool.query), ("key", pool.key.weight)]:
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    # a frame in no interval gets no gradient
    assert (features.grad[1, 9:] == 0).all()


def test_attention_pool_errors(rng):
    features, intervals, token_mask = _attention_inputs(rng)
    with pytest.raises(ParameterError, match="n_heads = 3 must divide d = 4"):
        AttentionPool(4, n_heads=3)
    with pytest.raises(ParameterError, match="d must be >= 1"):
        AttentionPool(0)
    pool = AttentionPool(4)
    with pytest.raises(ParameterError, match=r"features must be a \(B, T, 4\) tensor"):
        pool(features[..., :3], intervals, token_mask)
    with pytest.raises(ParameterError, match=r"intervals must be a \(B=3, N, 2\) tensor"):
        pool(features, intervals[:2], token_mask)
    with pytest.raises(ParameterError, match="0 <= start <= end <= n_frames = 20"):
        pool(features, intervals + 1, token_mask)
    with pytest.raises(ParameterError, match="integer frame indices"):
        pool(features, intervals.float(), token_mask)
    with pytest.raises(ParameterError, match=r"token_mask must have shape \(3, 3\)"):
        pool(features, intervals, token_mask[:, :2])
    with pytest.raises(ParameterError, match="token_mask must be a bool tensor"):
        pool(features, intervals, token_mask.long())


def test_intervals_to_mask_hand_case():
    mask = intervals_to_mask(torch.tensor([[[0, 2], [2, 3]]]), 4, token_mask=torch.tensor([[True, False]]))
    assert mask.tolist() == [[[True, True, False, False], [False, False, False, False]]]


# ----------------------------------------------------------------------------- collate and masks


def test_lengths_to_mask():
    assert lengths_to_mask([2, 0, 3]).tolist() == [[True, True, False], [False, False, False],
                                                   [True, True, True]]
    assert lengths_to_mask(torch.tensor([1]), max_len=3).tolist() == [[True, False, False]]
    with pytest.raises(ParameterError, match="max_len = 2 is shorter than the longest length, 3"):
        lengths_to_mask([3], max_len=2)
    with pytest.raises(ParameterError, match="lengths must be >= 0"):
        lengths_to_mask([-1])


def test_collate_pads_and_masks(rng):
    lengths = {"audio": [7, 3, 5], "video": [2, 4, 1]}
    items = [{"audio": rng.standard_normal((lengths["audio"][b], 6)).astype(np.float32),
              "video": torch.randn(lengths["video"][b], 2),
              "label": b % 2, "id": f"utt{b}"} for b in range(3)]
    batch = collate(items, pad_value=-1.0)
    assert isinstance(batch, Batch) and len(batch) == 3
    assert batch.features["audio"].shape == (3, 7, 6) and batch.features["video"].shape == (3, 4, 2)
    for m in ("audio", "video"):
        assert batch.lengths[m].tolist() == lengths[m] and batch.lengths[m].dtype == torch.int64
        assert batch.masks[m].dtype == torch.bool
        for b, item in enumerate(items):
            n = lengths[m][b]
            assert batch.masks[m][b].tolist() == [True] * n + [False] * (batch.masks[m].shape[1] - n)
            np.testing.assert_array_equal(batch.features[m][b, :n].numpy(), np.asarray(item[m]))
            assert (batch.features[m][b, n:] == -1.0).all()
    assert batch.labels.tolist() == [0, 1, 0] and batch.labels.dtype == torch.int64
    assert batch.extras["id"] == ["utt0", "utt1", "utt2"]


def test_collate_dtypes_extras_and_intervals():
    items = [{"x": np.zeros((2, 1)), "ivals": np.array([[0, 1], [1, 2]]), "y": 0.5, "v": torch.ones(3)},
             {"x": np.zeros((4, 1)), "ivals": np.array([[0, 4]]), "y": 1, "v": torch.zeros(3)}]
    batch = collate(items)
    assert batch.features["x"].dtype == torch.float64  # every item float64
    assert batch.features["ivals"].dtype == torch.int64
    assert batch.features["ivals"].tolist() == [[[0, 1], [1, 2]], [[0, 4], [0, 0]]]
    assert batch.masks["ivals"].tolist() == [[True, True], [True, False]]
    assert batch.extras["y"].tolist() == [0.5, 1.0]
    assert batch.extras["v"].shape == (2, 3)
    assert batch.labels is None
    assert collate([{"x": np.zeros((1, 1))}, {"x": np.zeros((1, 1), np.float32)}]).features["x"].dtype \
        == torch.float32
    assert collate([{"x": np.zeros((0, 3))}, {"x": np.zeros((2, 3))}]).lengths["x"].tolist() == [0, 2]


def test_collate_feeds_attention_pool(rng):
    """From alignments to a batch of word vectors: pool_intervals' rule, collate, AttentionPool."""
    rate = 100
    words = [_random_intervals(rng, k, 0.4, max_len=0.1) for k in (4, 2)]
    items = [{"audio": rng.standard_normal((t, 4)).astype(np.float32),
              "words": interval_frames(w, t, frame_rate=rate)} for t, w in zip((60, 45), words)]
    batch = collate(items)
    pool = AttentionPool(4)
    with torch.no_grad():
        pool.query.zero_()
    out = pool(batch.features["audio"], batch.features["words"], batch.masks["words"], batch.masks["audio"])
    for b, item in enumerate(items):
        want, _ = pool_intervals(item["audio"], words[b], frame_rate=rate)
        torch.testing.assert_close(out[b, : len(words[b])], want)
    assert (out[1, 2:] == 0).all()


def test_batch_to_moves_tensors():
    batch = collate([{"x": np.zeros((2, 1)), "label": 1, "id": "a"}]).to("cpu")
    assert batch.features["x"].device.type == "cpu" and batch.extras["id"] == ["a"]


@pytest.mark.parametrize("items, match", [
    ([], "non-empty list of dicts"),
    ({"x": np.zeros((2, 1))}, "non-empty list of dicts"),
    ([{"x": np.zeros((2, 1))}, [np.zeros((2, 1))]], r"items\[1\] must be a dict"),
    ([{"x": np.zeros((2, 1))}, {"y": np.zeros((2, 1))}],
     r"items\[1\] has different entries.*missing \['x'\], extra \['y'\]"),
    ([{"x": np.zeros((2, 1))}, {"x": np.zeros((2, 3))}], "modality 'x' has 1 features in items.0. but 3"),
    ([{"x": np.zeros((2, 1))}, {"x": np.zeros(2)}],
     r"'x' is a \(T, d\) stream in some items but not in items\[1\]"),
    ([{"x": np.array([[np.nan]])}], r"items\[0\]\['x'\] must be finite"),
    ([{"x": np.array([["a"]])}], "must hold numbers"),
])
def test_collate_errors(items, match):
    with pytest.raises(ParameterError, match=match):
        collate(items)
