"""From alignments to model inputs: streams on one clock, with masks, lengths and batches.

A multimodal example is several *streams*, each a ``(T_m, d_m)`` array of frames on its
own clock (audio frames every ``hop / sr`` seconds, video frames at their presentation
times, words at the times an aligner found). A model wants them on one clock, or pooled
to one token per word, padded into batches with masks. This module does that:

- clocks: :func:`frame_times` (the audio frame clock), :func:`resample_to_clock` (a
  timestamped stream onto another clock), :func:`warp_by_path` (a stream onto another
  sequence's clock through a DTW path);
- word-level pooling, the CMU Multimodal SDK's "align to words": :func:`pool_intervals`
  (intervals in seconds), :func:`pool_durations` (integer frame counts, as
  :mod:`align.tts.durations` makes them), :func:`interval_frames` (the frame rule
  alone), :func:`alignment_intervals` (the intervals of an :class:`align.Alignment`),
  and the learned :class:`AttentionPool`;
- batches: :func:`collate`, :class:`Batch`, :func:`lengths_to_mask`,
  :func:`intervals_to_mask`.

Conventions
-----------
Features come in as numpy arrays or torch tensors of shape ``(T, d)`` and go out as
torch tensors: float64 stays float64, anything else becomes float32. A torch input keeps
its device and its autograd graph (index arithmetic is done in numpy, the features are
only gathered and summed by torch), so these functions can sit inside a model.

Masks are ``True`` on valid frames (the opposite of torch's ``key_padding_mask``).

Frame spans (:func:`pool_intervals`, :func:`interval_frames`): with ``rate`` frames per
second, frame ``t`` covers ``[t / rate, (t + 1) / rate)`` seconds (``center=False``,
the CMU SDK's convention: a feature computed over a window stamped by its start), or is
centred on ``t / rate`` (``center=True``, librosa's STFT and :func:`frame_times`, and the
frame rule of :mod:`align.tts.durations`). A frame belongs to every interval that
contains its centre.

Errors are :class:`align.exceptions.ParameterError` with a message saying what was
expected and what was seen.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._validation import as_float_array, as_int_array, check_finite, check_option, check_positive_int
from ..exceptions import ParameterError

__all__ = [
    "frame_times",
    "resample_to_clock",
    "warp_by_path",
    "interval_frames",
    "pool_intervals",
    "pool_durations",
    "alignment_intervals",
    "AttentionPool",
    "intervals_to_mask",
    "lengths_to_mask",
    "Batch",
    "collate",
    "RESAMPLE_METHODS",
    "WARP_REDUCTIONS",
    "POOL_REDUCTIONS",
]

#: the ``method`` options of :func:`resample_to_clock`
RESAMPLE_METHODS = ("linear", "nearest", "previous")
#: the ``reduce`` options of :func:`warp_by_path`
WARP_REDUCTIONS = ("mean", "first", "last")
#: the ``reduce`` options of :func:`pool_intervals` and :func:`pool_durations`
POOL_REDUCTIONS = ("mean", "max", "first")

# Slack, in frames, for boundaries that land on a frame centre up to rounding (the same
# 1e-9 as align.tts.durations, so both modules put a boundary frame on the same side).
_EPS = 1e-9


# --------------------------------------------------------------------------- inputs


def _as_features(features, name="features"):
    """``features`` as a finite ``(T, d)`` torch tensor, float64 or float32, ``T >= 1``."""
    if isinstance(features, torch.Tensor):
        x = features
        if x.is_complex():
            raise ParameterError(f"{name} must hold real numbers, got dtype {x.dtype}")
        if x.ndim != 2:
            raise ParameterError(f"{name} must have 2 dimension(s) (T, d), got shape {tuple(x.shape)}")
        if x.dtype != torch.float64:
            x = x.to(torch.float32)
    else:
        # float64 only when asked for by the array's dtype: lists and integers become float32
        keep64 = getattr(features, "dtype", None) == np.float64
        arr = as_float_array(features, name, ndim=2, dtype=np.float64 if keep64 else np.float32)
        x = torch.from_numpy(arr)
    if x.shape[0] == 0:
        raise ParameterError(f"{name} is empty: it has 0 frames (shape {tuple(x.shape)})")
    _check_finite_tensor(x, name)
    return x


def _check_finite_tensor(x, name):
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        index = tuple(int(i) for i in (~finite).nonzero()[0])
        raise ParameterError(f"{name} must be finite, found {float(x[index])} at index {index}; "
                             f"remove or interpolate NaN/inf values first")


def _as_times(times, name):
    """A finite 1-D float64 array of seconds."""
    t = as_float_array(times, name, ndim=1, dtype=np.float64)
    check_finite(t, name)
    return t


def _check_increasing(t, name):
    steps = np.diff(t)
    if (steps <= 0).any():
        k = int(np.flatnonzero(steps <= 0)[0])
        raise ParameterError(f"{name} must be strictly increasing, but {name}[{k + 1}] = {t[k + 1]} "
                             f"<= {name}[{k}] = {t[k]}; sort the frames (and drop duplicates) first")


def _positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be a positive finite number, got {value}")
    return float(value)


def _index(array, like):
    """An int64 numpy index array as a torch tensor on ``like``'s device."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.int64)).to(like.device)


# --------------------------------------------------------------------------- clocks


def frame_times(n_frames, *, sample_rate, hop_length, center=True, n_fft=None):
    """Times in seconds of the frames of an STFT-like feature (librosa's ``frames_to_time``).

    Parameters
    ----------
    n_frames : int >= 0
    sample_rate : float > 0
        Samples per second of the audio.
    hop_length : int > 0
        Samples between frames.
    center : bool
        ``True`` (librosa's default STFT): frame ``t`` is centred on sample
        ``t * hop_length``, so its time is ``t * hop_length / sample_rate``.
        ``False``: frame ``t`` starts at that sample and its centre lies
        ``n_fft // 2`` samples later (needs ``n_fft``).
    n_fft : int > 0, optional
        The window length; only with ``center=False``.

    Returns
    -------
    np.ndarray [shape=(n_frames,), float64]
        The centre of each frame in seconds.
    """
    n_frames = check_positive_int("n_frames", n_frames, allow_zero=True)
    sample_rate = _positive_number("sample_rate", sample_rate)
    hop_length = check_positive_int("hop_length", hop_length)
    if center:
        offset = 0
    else:
        if n_fft is None:
            raise ParameterError("center=False needs n_fft: an uncentred frame's centre lies n_fft // 2 "
                                 "samples after its start")
        offset = check_positive_int("n_fft", n_fft) // 2
    return (np.arange(n_frames, dtype=np.float64) * hop_length + offset) / sample_rate


def _linear_weights(t, q):
    """Left and right source frames of each target and the weight of the right one."""
    if t.size == 1:  # one source frame: every target holds it
        zeros = np.zeros(q.size, np.int64)
        return zeros, zeros, np.zeros(q.size)
    right = np.clip(np.searchsorted(t, q, side="right"), 1, t.size - 1)
    left = right - 1
    # clipping the weight to [0, 1] holds the edge value outside [t[0], t[-1]] (np.interp's rule)
    w = np.clip((q - t[left]) / (t[right] - t[left]), 0.0, 1.0)
    return left, right, w


def _nearest_index(t, q):
    right = np.clip(np.searchsorted(t, q, side="left"), 0, t.size - 1)
    left = np.clip(right - 1, 0, t.size - 1)
    # a target halfway between two frames takes the earlier one
    return np.where(q - t[left] <= t[right] - q, left, right)


def _previous_index(t, q):
    # the last frame at or before q: what a screen shows at time q (sample and hold)
    return np.clip(np.searchsorted(t, q, side="right") - 1, 0, t.size - 1)


def resample_to_clock(features, times, target_times, *, method="linear"):
    """Put a timestamped stream onto another clock (video frames onto the audio frames).

    Parameters
    ----------
    features : np.ndarray or torch.Tensor [shape=(T_src, d)]
        The stream's frames.
    times : array_like [shape=(T_src,)]
        Each frame's time in seconds (e.g. a video's presentation timestamps); strictly
        increasing, the rate may vary.
    target_times : array_like [shape=(T_target,)]
        The clock to resample onto (e.g. :func:`frame_times` of the audio features), in
        any order.
    method : {"linear", "nearest", "previous"}
        ``"linear"``: interpolate between the two frames around each target (as
        :func:`numpy.interp`, per feature). ``"nearest"``: the frame nearest in time
        (the earlier one on a tie). ``"previous"``: the last frame at or before the
        target, i.e. sample-and-hold: the frame on screen at that time, the right rule
        for video.

    Returns
    -------
    torch.Tensor [shape=(T_target, d)]
        Targets outside ``[times[0], times[-1]]`` hold the edge frame (a target before
        the first frame holds the first frame, for every method).

    Raises
    ------
    ParameterError
        Wrong shapes, lengths that differ, empty inputs, NaN/inf, times that do not
        increase, or an unknown method.
    """
    check_option("method", method, RESAMPLE_METHODS)
    x = _as_features(features)
    t = _as_times(times, "times")
    if t.size != x.shape[0]:
        raise ParameterError(f"times has {t.size} entries but features has {x.shape[0]} frames; "
                             f"give one time per frame")
    _check_increasing(t, "times")
    q = _as_times(target_times, "target_times")
    if q.size == 0:
        raise ParameterError("target_times is empty: give at least one time to resample onto")
    if method == "linear":
        left, right, w = _linear_weights(t, q)
        w = torch.from_numpy(w).to(x)[:, None]
        return x[_index(left, x)] * (1 - w) + x[_index(right, x)] * w
    index = _nearest_index(t, q) if method == "nearest" else _previous_index(t, q)
    return x[_index(index, x)]


def _as_path(path):
    p = as_int_array(path, "path", ndim=2)
    if p.shape[1] != 2:
        raise ParameterError(f"path must have shape (K, 2) of (i, j) index pairs, got shape {p.shape}")
    if p.shape[0] == 0:
        raise ParameterError("path is empty: it has no (i, j) pairs")
    if (p < 0).any():
        raise ParameterError(f"path indices must be >= 0, found {int(p.min())}")
    for column, name in ((0, "i"), (1, "j")):
        back = np.flatnonzero(np.diff(p[:, column]) < 0)
        if back.size:
            k = int(back[0])
            raise ParameterError(f"path is not monotone: {name} goes back from {int(p[k, column])} to "
                                 f"{int(p[k + 1, column])} at step {k + 1}; a warping path never "
                                 f"decreases in either index")
    return p


def warp_by_path(features, path, *, n_target=None, reduce="mean"):
    """Put a stream on y's clock onto x's clock through a DTW path between x and y.

    Parameters
    ----------
    features : np.ndarray or torch.Tensor [shape=(M, d)]
        A stream indexed like y (frame ``j``); often y itself, or another stream
        recorded with it.
    path : array_like [shape=(K, 2), int]
        Pairs ``(i, j)``, row ``i`` of x matched with row ``j`` of y, both columns
        non-decreasing: the layout of ``align.dtw(x, y).path``.
    n_target : int, optional
        The length of x's clock (default ``path[:, 0].max() + 1``). Every target index
        ``0 .. n_target - 1`` must appear in the path.
    reduce : {"mean", "first", "last"}
        What target ``i`` gets from the y frames matched to it: their mean, or the
        first or last of them along the path.

    Returns
    -------
    torch.Tensor [shape=(n_target, d)]

    Raises
    ------
    ParameterError
        A path that is not ``(K, 2)``, not monotone, misses a target index, or points
        past the end of ``features``; bad features; an unknown reduction.
    """
    check_option("reduce", reduce, WARP_REDUCTIONS)
    x = _as_features(features)
    p = _as_path(path)
    i, j = p[:, 0], p[:, 1]
    if j.max() >= x.shape[0]:
        raise ParameterError(f"path matches frame j = {int(j.max())} of features, which has only "
                             f"{x.shape[0]} frames; features must be on the clock of the path's second "
                             f"column (y)")
    n = int(i.max()) + 1 if n_target is None else check_positive_int("n_target", n_target)
    if i.max() >= n:
        raise ParameterError(f"path reaches target i = {int(i.max())}, but n_target = {n}")
    counts = np.bincount(i, minlength=n)
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        raise ParameterError(f"path does not cover target index {int(missing[0])} ({missing.size} of "
                             f"{n} targets have no matched frame); pass the full DTW path, or a smaller "
                             f"n_target")
    if reduce == "mean":
        sums = x.new_zeros(n, x.shape[1]).index_add(0, _index(i, x), x[_index(j, x)])
        return sums / torch.from_numpy(counts).to(x)[:, None]
    # column 0 is sorted, so each target's matches are one run of the path
    targets = np.arange(n)
    rows = (np.searchsorted(i, targets, side="left") if reduce == "first"
            else np.searchsorted(i, targets, side="right") - 1)
    return x[_index(j[rows], x)]


# --------------------------------------------------------------------------- pooling


def _rate(frame_rate, sample_rate, hop_length):
    if frame_rate is not None:
        if sample_rate is not None or hop_length is not None:
            raise ParameterError("give frame_rate, or sample_rate and hop_length, not both")
        return _positive_number("frame_rate", frame_rate)
    if sample_rate is None or hop_length is None:
        raise ParameterError("the frame clock is missing: give frame_rate (frames per second), or "
                             "sample_rate and hop_length")
    return _positive_number("sample_rate", sample_rate) / check_positive_int("hop_length", hop_length)


def _as_intervals(intervals):
    iv = _as_times_2d(intervals)
    if iv.shape[0] == 0:
        raise ParameterError("intervals is empty: give at least one (start, end) interval")
    bad = np.flatnonzero((iv[:, 0] < 0) | (iv[:, 1] < iv[:, 0]))
    if bad.size:
        k = int(bad[0])
        raise ParameterError(f"interval {k} is ({iv[k, 0]}, {iv[k, 1]}); need 0 <= start <= end seconds")
    return iv


def _as_times_2d(intervals):
    iv = as_float_array(intervals, "intervals", ndim=2, dtype=np.float64)
    if iv.shape[1] != 2:
        raise ParameterError(f"intervals must have shape (n, 2) of (start, end) seconds, "
                             f"got shape {iv.shape}")
    check_finite(iv, "intervals")
    return iv


def interval_frames(intervals, n_frames, *, frame_rate=None, sample_rate=None, hop_length=None,
                    min_frames=1, center=False):
    """The frames of each interval, as ``[start, end)`` frame index pairs (the pooling rule).

    Parameters
    ----------
    intervals : array_like [shape=(N, 2)]
        ``(start, end)`` in seconds, ``0 <= start <= end``; they may overlap or leave gaps.
    n_frames : int > 0
        Frames ``T`` of the stream.
    frame_rate : float, optional
        Frames per second; or give ``sample_rate`` and ``hop_length`` (rate
        ``sample_rate / hop_length``).
    min_frames : int >= 0
        An interval whose centres rule gives fewer frames takes instead the
        ``min_frames`` consecutive frames whose centres are nearest its midpoint
        (for 1: the frame whose span contains the midpoint). So a word shorter
        than a frame still gets one frame, and no pool is empty. 0 leaves such
        intervals with what they have (possibly nothing).
    center : bool
        ``False``: frame ``t`` spans ``[t / rate, (t + 1) / rate)``, centre
        ``(t + 0.5) / rate`` (the CMU SDK's rule). ``True``: frame ``t`` is centred on
        ``t / rate`` (librosa, :func:`frame_times`, :mod:`align.tts.durations`).

    Returns
    -------
    np.ndarray [shape=(N, 2), int64]
        ``[start, end)`` frames of each interval (``end - start`` is its count), inside
        ``[0, n_frames]``; frame ``t`` is in interval ``[s, e)`` seconds iff
        ``s <= centre_t < e``.

    Raises
    ------
    ParameterError
        Bad or empty intervals, an interval that starts after the stream ends or ends
        more than one frame after it (one frame of slack absorbs the rounding of
        stream lengths), ``min_frames > n_frames``, or no clock given.
    """
    rate = _rate(frame_rate, sample_rate, hop_length)
    n = check_positive_int("n_frames", n_frames)
    min_frames = check_positive_int("min_frames", min_frames, allow_zero=True)
    if min_frames > n:
        raise ParameterError(f"min_frames={min_frames} is more than the stream's {n} frames")
    iv = _as_intervals(intervals)
    offset = 0.0 if center else 0.5  # frame t's centre is (t + offset) / rate
    stream_end = (n + offset - 0.5) / rate
    late = np.flatnonzero((iv[:, 0] > stream_end + _EPS / rate) | (iv[:, 1] > stream_end + (1 + _EPS) / rate))
    if late.size:
        k = int(late[0])
        raise ParameterError(f"interval {k} ({iv[k, 0]}, {iv[k, 1]}) s lies outside the stream, which "
                             f"ends at {stream_end:.6g} s ({n} frames at {rate:.6g} frames/s); check the "
                             f"frame rate, or that the features and the alignment are of the same recording")
    # frames whose centre is in [s, e): the first centre at or after each boundary
    start = np.ceil(iv[:, 0] * rate - offset - _EPS)
    end = np.ceil(iv[:, 1] * rate - offset - _EPS)
    start, end = np.clip(start, 0, n).astype(np.int64), np.clip(end, 0, n).astype(np.int64)
    short = end - start < min_frames
    if short.any():
        mid = iv[short].mean(axis=1) * rate
        # the min_frames centres nearest the midpoint: a block centred within half a frame of it
        first = np.floor(mid - offset - min_frames / 2 + 1).astype(np.int64)
        first = np.clip(first, 0, n - min_frames)
        start[short], end[short] = first, first + min_frames
    return np.stack([start, end], axis=1)


def _pool(x, starts, counts, reduce):
    """Pool frames ``starts[k] .. starts[k] + counts[k] - 1`` of x for each k; empty pools give 0."""
    n, d = starts.size, x.shape[1]
    total = int(counts.sum())
    # the frames of all pools one after the other, and the pool each belongs to
    offsets = np.cumsum(counts) - counts
    frames = np.arange(total) - np.repeat(offsets, counts) + np.repeat(starts, counts)
    owner = _index(np.repeat(np.arange(n), counts), x)
    gathered = x[_index(frames, x)]
    counts_t = torch.from_numpy(counts.astype(np.int64)).to(x.device)
    if reduce == "mean":
        sums = x.new_zeros(n, d).index_add(0, owner, gathered)
        return sums / counts_t.clamp_min(1).to(x)[:, None], counts_t
    if reduce == "max":
        # include_self=False: a pool's max is over its frames only; empty pools keep the zeros
        out = x.new_zeros(n, d).scatter_reduce(0, owner[:, None].expand(-1, d), gathered, "amax",
                                               include_self=False)
        return out, counts_t
    first = x[_index(np.minimum(starts, x.shape[0] - 1), x)]
    return torch.where(counts_t[:, None] > 0, first, torch.zeros_like(first)), counts_t


def pool_intervals(features, intervals, *, frame_rate=None, sample_rate=None, hop_length=None,
                   reduce="mean", min_frames=1, center=False):
    """Frame features pooled over each word or phone interval (the CMU Multimodal SDK's word clock).

    Parameters
    ----------
    features : np.ndarray or torch.Tensor [shape=(T, d)]
    intervals : array_like [shape=(N, 2)]
        ``(start, end)`` in seconds (e.g. :func:`alignment_intervals`).
    frame_rate : float, optional
        Frames per second of ``features``; or give ``sample_rate`` and ``hop_length``.
    reduce : {"mean", "max", "first"}
        Per feature: the mean or the maximum over the interval's frames, or its first
        frame.
    min_frames : int >= 0
        The floor on frames per interval (the rule is in :func:`interval_frames`):
        with the default 1, an interval shorter than a frame gets the frame containing
        its midpoint, so no pool is empty.
    center : bool
        The frame convention (:func:`interval_frames`); default: frame ``t`` spans
        ``[t / rate, (t + 1) / rate)``.

    Returns
    -------
    pooled : torch.Tensor [shape=(N, d)]
        Zeros for an interval with no frame (only possible with ``min_frames=0``).
    counts : torch.Tensor [shape=(N,), int64]
        Frames pooled for each interval.

    Raises
    ------
    ParameterError
        As :func:`interval_frames`, and for bad features or an unknown reduction.
    """
    check_option("reduce", reduce, POOL_REDUCTIONS)
    x = _as_features(features)
    spans = interval_frames(intervals, x.shape[0], frame_rate=frame_rate, sample_rate=sample_rate,
                            hop_length=hop_length, min_frames=min_frames, center=center)
    return _pool(x, spans[:, 0], spans[:, 1] - spans[:, 0], reduce)


def pool_durations(features, durations, *, reduce="mean"):
    """Frame features pooled over consecutive tokens of integer durations (FastPitch's per-phone pitch).

    The torch counterpart of :func:`align.tts.durations.token_average` (which it
    equals for ``reduce="mean"``), for durations from
    :meth:`align.Alignment.durations` or :func:`align.tts.durations.durations_from_intervals`.

    Parameters
    ----------
    features : np.ndarray or torch.Tensor [shape=(T, d)]
    durations : array_like [shape=(N,), int >= 0]
        Frames of each token, in order from frame 0; ``sum <= T`` (later frames are
        left out).
    reduce : {"mean", "max", "first"}

    Returns
    -------
    pooled : torch.Tensor [shape=(N, d)]
        Zeros for a token of 0 frames.
    counts : torch.Tensor [shape=(N,), int64]
        The durations.

    Raises
    ------
    ParameterError
        Empty or negative durations, durations summing past ``T``, bad features, an
        unknown reduction.
    """
    check_option("reduce", reduce, POOL_REDUCTIONS)
    x = _as_features(features)
    d = as_int_array(durations, "durations", ndim=1)
    if d.size == 0:
        raise ParameterError("durations is empty: give one frame count per token")
    if (d < 0).any():
        raise ParameterError(f"durations must be >= 0, found {int(d.min())}")
    if d.sum() > x.shape[0]:
        raise ParameterError(f"durations sum to {int(d.sum())} frames, but features has only "
                             f"{x.shape[0]}")
    return _pool(x, np.cumsum(d) - d, d, reduce)


def alignment_intervals(alignment, level="words"):
    """The labels and ``(start, end)`` seconds of an alignment's words or phones.

    Parameters
    ----------
    alignment : align.speech.results.Alignment
    level : {"words", "phones"}
        Words (labelled by their transcript text) or all phones of all words
        (labelled by their ARPAbet labels), in the alignment's order.

    Returns
    -------
    labels : list of str
    intervals : np.ndarray [shape=(n, 2), float64]
        Seconds; ``n`` may be 0 for an alignment with no words (or phones).

    Raises
    ------
    ParameterError
        If ``alignment`` has no ``words`` or ``level`` is unknown.
    """
    check_option("level", level, ("words", "phones"))
    words = getattr(alignment, "words", None)
    if words is None:
        raise ParameterError(f"alignment must be an align.Alignment (with .words), got "
                             f"{type(alignment).__name__}")
    if level == "words":
        spans, labels = list(words), [w.text for w in words]
    else:
        spans = [p for w in words for p in w.phones]
        labels = [p.label for p in spans]
    times = np.array([(s.start, s.end) for s in spans], dtype=np.float64).reshape(-1, 2)
    return labels, times


# --------------------------------------------------------------------------- masks


def lengths_to_mask(lengths, max_len=None):
    """A ``(B, max_len)`` bool mask, ``True`` on the first ``lengths[b]`` frames of item ``b``.

    Parameters
    ----------
    lengths : array_like or torch.Tensor [shape=(B,), int >= 0]
    max_len : int, optional
        Columns (default ``max(lengths)``); must be ``>= max(lengths)``.

    Returns
    -------
    torch.Tensor [shape=(B, max_len), bool]
        On the device of ``lengths`` when it is a tensor.
    """
    device = lengths.device if isinstance(lengths, torch.Tensor) else None
    n = as_int_array(lengths, "lengths", ndim=1)
    if (n < 0).any():
        raise ParameterError(f"lengths must be >= 0, found {int(n.min())}")
    longest = int(n.max()) if n.size else 0
    width = longest if max_len is None else check_positive_int("max_len", max_len, allow_zero=True)
    if width < longest:
        raise ParameterError(f"max_len = {width} is shorter than the longest length, {longest}")
    n = torch.from_numpy(n) if device is None else torch.from_numpy(n).to(device)
    return torch.arange(width, device=device)[None, :] < n[:, None]


def intervals_to_mask(intervals, n_frames, token_mask=None, frame_mask=None):
    """A ``(B, N, T)`` bool mask: ``True`` where frame ``t`` is inside token ``n``'s interval.

    Parameters
    ----------
    intervals : torch.Tensor [shape=(B, N, 2), int]
        ``[start, end)`` frame indices per token (:func:`interval_frames`, padded by
        :func:`collate`), ``0 <= start <= end <= n_frames``.
    n_frames : int
        ``T``.
    token_mask : torch.Tensor [shape=(B, N), bool], optional
        ``False`` for padded tokens (their rows are all ``False``).
    frame_mask : torch.Tensor [shape=(B, T), bool], optional
        ``False`` for padded frames.

    Returns
    -------
    torch.Tensor [shape=(B, N, T), bool]
    """
    if not isinstance(intervals, torch.Tensor):
        intervals = torch.as_tensor(as_int_array(intervals, "intervals", ndim=3))
    if intervals.ndim != 3 or intervals.shape[-1] != 2:
        raise ParameterError(f"intervals must have shape (B, N, 2) of [start, end) frame indices, got "
                             f"shape {tuple(intervals.shape)}")
    if intervals.dtype.is_floating_point or intervals.dtype.is_complex or intervals.dtype == torch.bool:
        raise ParameterError(f"intervals must hold integer frame indices, got dtype {intervals.dtype}")
    b, n = intervals.shape[:2]
    start, end = intervals[..., 0], intervals[..., 1]
    if bool(((start < 0) | (end < start) | (end > n_frames)).any()):
        raise ParameterError(f"intervals must satisfy 0 <= start <= end <= n_frames = {n_frames}")
    t = torch.arange(n_frames, device=intervals.device)
    inside = (t >= start[..., None]) & (t < end[..., None])
    if token_mask is not None:
        inside = inside & _check_mask(token_mask, (b, n), "token_mask")[..., None]
    if frame_mask is not None:
        inside = inside & _check_mask(frame_mask, (b, n_frames), "frame_mask")[:, None, :]
    return inside


def _check_mask(mask, shape, name):
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = getattr(mask, "dtype", type(mask).__name__)
        raise ParameterError(f"{name} must be a bool tensor, got {got}")
    if tuple(mask.shape) != tuple(shape):
        raise ParameterError(f"{name} must have shape {tuple(shape)}, got {tuple(mask.shape)}")
    return mask


class AttentionPool(nn.Module):
    """Attention pooling over each token's frames: a learned query, a masked softmax per interval.

    Head ``h`` scores frame ``t`` as ``q_h . k_h(x_t) / sqrt(d / n_heads)`` (one learned
    query per head, keys a linear map of the frames), takes a softmax over the frames
    inside each interval, and returns the weighted sum of the frames' own channels of
    that head. The values are the frames themselves, not a projection, so equal scores
    give exactly the mean pool of :func:`pool_intervals`: the module learns where in a
    word to look, not a new feature space.

    Parameters
    ----------
    d : int
        Feature size; ``n_heads`` must divide it.
    n_heads : int

    Notes
    -----
    ``forward(features, intervals, token_mask=None, frame_mask=None)``:

    - features : Tensor [shape=(B, T, d)]
    - intervals : Tensor [shape=(B, N, 2), int64], ``[start, end)`` frames per token
    - token_mask : Tensor [shape=(B, N), bool], optional: ``False`` for padded tokens
    - frame_mask : Tensor [shape=(B, T), bool], optional: ``False`` for padded frames

    returns Tensor [shape=(B, N, d)]; a padded token, or an interval with no valid
    frame, gives zeros. Vectorised through a ``(B, n_heads, N, T)`` weight tensor.
    """

    def __init__(self, d, n_heads=1):
        super().__init__()
        d = check_positive_int("d", d)
        n_heads = check_positive_int("n_heads", n_heads)
        if d % n_heads:
            raise ParameterError(f"n_heads = {n_heads} must divide d = {d}")
        self.d, self.n_heads, self.d_head = d, n_heads, d // n_heads
        self.key = nn.Linear(d, d)
        self.query = nn.Parameter(torch.randn(n_heads, self.d_head) * self.d_head ** -0.5)

    def forward(self, features, intervals, token_mask=None, frame_mask=None):
        if not isinstance(features, torch.Tensor) or features.ndim != 3 or features.shape[-1] != self.d:
            raise ParameterError(f"features must be a (B, T, {self.d}) tensor, got "
                                 f"{tuple(getattr(features, 'shape', ())) or type(features).__name__}")
        b, t, _ = features.shape
        if not isinstance(intervals, torch.Tensor) or intervals.ndim != 3 or intervals.shape[0] != b:
            raise ParameterError(f"intervals must be a (B={b}, N, 2) tensor, got "
                                 f"{tuple(getattr(intervals, 'shape', ())) or type(intervals).__name__}")
        inside = intervals_to_mask(intervals, t, token_mask, frame_mask)[:, None]  # (B, 1, N, T)
        h, c = self.n_heads, self.d_head
        keys = self.key(features).view(b, t, h, c)
        scores = torch.einsum("bthc,hc->bht", keys, self.query) / math.sqrt(c)
        # a large negative rather than -inf: a token with no frame gets a uniform softmax
        # (no NaN in the forward or backward pass), which the mask then zeroes
        scores = scores[:, :, None, :].masked_fill(~inside, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1) * inside.to(scores.dtype)  # (B, H, N, T)
        values = features.view(b, t, h, c).transpose(1, 2)  # (B, H, T, c)
        return (weights @ values).transpose(1, 2).reshape(b, -1, self.d)


# --------------------------------------------------------------------------- batches


@dataclass
class Batch:
    """A padded batch of multimodal items (:func:`collate`).

    Attributes
    ----------
    features : dict of str to Tensor [shape=(B, T_max_m, d_m)]
        Each modality padded to its longest item.
    lengths : dict of str to Tensor [shape=(B,), int64]
        Frames of each item.
    masks : dict of str to Tensor [shape=(B, T_max_m), bool]
        ``True`` on valid frames.
    extras : dict
        The other entries: stacked into a tensor (numbers, or tensors of one shape),
        else a list with one value per item.
    """

    features: dict
    lengths: dict
    masks: dict
    extras: dict = field(default_factory=dict)

    @property
    def labels(self):
        """``extras["label"]`` (or ``extras["labels"]``), None if the items had neither."""
        return self.extras.get("label", self.extras.get("labels"))

    def __len__(self):
        return len(next(iter(self.lengths.values()))) if self.lengths else 0

    def to(self, device):
        """A copy with every tensor moved to ``device``."""
        def move(d):
            return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in d.items()}

        return Batch(move(self.features), move(self.lengths), move(self.masks), move(self.extras))


def _is_stream(value):
    return isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 2


def _stream_tensor(value, name):
    """A stream as a tensor: integers stay int64 (frame intervals), other numbers become float."""
    x = value if isinstance(value, torch.Tensor) else None
    if x is None:
        if value.dtype.kind not in "biuf":
            raise ParameterError(f"{name} must hold numbers, got dtype {value.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(value))
    if x.dtype.is_complex:
        raise ParameterError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.dtype.is_floating_point:
        _check_finite_tensor(x, name)
    return x


def _stream_dtype(tensors):
    dtypes = {x.dtype for x in tensors}
    if all(not dt.is_floating_point and dt != torch.bool for dt in dtypes):
        return torch.int64
    return torch.float64 if dtypes == {torch.float64} else torch.float32


def _pad(tensors, dtype, pad_value):
    longest = max(x.shape[0] for x in tensors)
    out = tensors[0].new_full((len(tensors), longest, tensors[0].shape[1]), pad_value, dtype=dtype)
    for b, x in enumerate(tensors):
        out[b, : x.shape[0]] = x.to(dtype)
    return out


def _stack_extra(values):
    if all(isinstance(v, (bool, int, float, np.number, np.bool_)) for v in values):
        return torch.tensor([v.item() if isinstance(v, np.generic) else v for v in values])
    if all(isinstance(v, (torch.Tensor, np.ndarray)) for v in values):
        tensors = [torch.as_tensor(v) for v in values]
        if len({tuple(t.shape) for t in tensors}) == 1:
            return torch.stack(tensors)
    return list(values)


def collate(items, *, pad_value=0.0):
    """Pad a list of multimodal items of unequal lengths into one :class:`Batch`.

    Parameters
    ----------
    items : list of dict
        Each maps a modality name to its frames, a 2-D array or tensor ``(T_m, d_m)``
        (``T_m`` may differ between items and modalities, ``d_m`` may not differ
        between items), plus any other entries (a class label, an id): every 2-D
        array is a modality, everything else an extra. Integer streams stay int64
        (so ``(N, 2)`` frame intervals for :class:`AttentionPool` collate too); float
        streams become float32, or float64 when every item's is.
    pad_value : float
        The value of padded frames.

    Returns
    -------
    Batch
        ``features``, ``lengths``, ``masks`` per modality, and ``extras``: numbers
        stacked into a tensor (``batch.labels`` is ``extras["label"]``), tensors of
        one shape stacked, anything else a list.

    Raises
    ------
    ParameterError
        An empty list, an item that is not a dict, items with different keys or
        modalities, a feature size that differs between items, or NaN/inf features.
    """
    if isinstance(items, dict) or not hasattr(items, "__len__") or len(items) == 0:
        raise ParameterError("items must be a non-empty list of dicts (modality name -> (T, d) frames)")
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParameterError(f"items[{k}] must be a dict, got {type(item).__name__}")
    keys = list(items[0])
    for k, item in enumerate(items[1:], start=1):
        if set(item) != set(keys):
            missing, extra = sorted(set(keys) - set(item)), sorted(set(item) - set(keys))
            raise ParameterError(f"items[{k}] has different entries from items[0]: missing {missing}, "
                                 f"extra {extra}; every item needs the same modalities and extras")
    features, lengths, masks, extras = {}, {}, {}, {}
    for key in keys:
        values = [item[key] for item in items]
        streams = [_is_stream(v) for v in values]
        if any(streams) and not all(streams):
            k = streams.index(not streams[0])
            raise ParameterError(f"{key!r} is a (T, d) stream in some items but not in items[{k}] "
                                 f"({type(values[k]).__name__} of shape {getattr(values[k], 'shape', None)})")
        if not streams[0]:
            extras[key] = _stack_extra(values)
            continue
        tensors = [_stream_tensor(v, f"items[{k}][{key!r}]") for k, v in enumerate(values)]
        sizes = [x.shape[1] for x in tensors]
        if len(set(sizes)) > 1:
            k = next(k for k, s in enumerate(sizes) if s != sizes[0])
            raise ParameterError(f"modality {key!r} has {sizes[0]} features in items[0] but {sizes[k]} "
                                 f"in items[{k}]; every item's frames must have the same size")
        features[key] = _pad(tensors, _stream_dtype(tensors), pad_value)
        lengths[key] = torch.tensor([x.shape[0] for x in tensors], dtype=torch.int64,
                                    device=features[key].device)
        masks[key] = lengths_to_mask(lengths[key], features[key].shape[1])
    return Batch(features, lengths, masks, extras)
