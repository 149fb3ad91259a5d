"""Integer frame durations from alignments: what FastSpeech 2 and FastPitch train on.

Every function here works on plain intervals ``(label, start, end)`` in seconds or on
integer arrays; :meth:`align.Alignment.durations` and :func:`durations_from_textgrid`
build the intervals.

The frame rule (documented once, used everywhere): frame ``f`` of a mel spectrogram
with hop ``h`` at sample rate ``sr`` is centred on sample ``f * h`` (librosa's
``center=True``), so a token spanning ``[start, end)`` seconds owns the frames whose
centres fall inside it. A boundary at ``t`` seconds becomes frame
``ceil(t * sr / h)``, the number of centres before it (a centre exactly on a
boundary goes to the later token; 1e-9 frames of slack absorb rounding), clamped to
``[0, n_frames]``; the first token starts at frame 0 and the last ends at
``n_frames``, so the durations sum to ``n_frames`` exactly, and the number of
frames is librosa's, ``1 + n_samples // h`` (``n_samples = round(duration * sr)``),
unless given.
"""

import math
from dataclasses import dataclass

import numpy as np

from .._tensors import like_input, torch_device
from .._validation import as_float_array, as_int_array, check_option, check_positive_int
from ..exceptions import ParameterError

__all__ = [
    "DurationTable",
    "DURATIONS_SUFFIX",
    "SILENCE_LABELS",
    "n_mel_frames",
    "durations_from_intervals",
    "durations_from_textgrid",
    "durations_to_path",
    "path_to_durations",
    "mel2ph",
    "token_average",
]

#: the per-utterance file ``align corpus --durations`` writes beside the other outputs
DURATIONS_SUFFIX = ".durations.json"

#: labels read as silence (ours, MFA's, Kaldi's, the empty gap)
SILENCE_LABELS = frozenset({"", "sil", "sp", "spn", "<sil>", "SIL", "silence"})


@dataclass(frozen=True)
class DurationTable:
    """Tokens and their integer frame durations.

    Attributes
    ----------
    tokens : list of str
        The token (phone or word) labels, silence tokens included unless merged.
    durations : np.ndarray [shape=(N,), int64]
        Frames of each token; ``durations.sum() == end_frame - start_frame``.
    start_frame, end_frame : int
        The frames the tokens cover (``0`` and ``n_frames`` unless
        ``silence="trim"`` cut the leading and trailing silence).
    n_frames : int
        Frames of the whole recording's mel spectrogram.
    """

    tokens: list
    durations: np.ndarray
    start_frame: int
    end_frame: int
    n_frames: int

    def to_dict(self):
        """A JSON-ready dict (the line format of ``durations.jsonl``)."""
        return {"tokens": list(self.tokens), "durations": [int(d) for d in self.durations],
                "start_frame": int(self.start_frame), "end_frame": int(self.end_frame),
                "n_frames": int(self.n_frames)}

    def save(self, path, **extra):
        """Write :meth:`to_dict` (and ``extra`` fields) as JSON, atomically."""
        import json

        from ..io._atomic import atomic_write_text

        atomic_write_text(path, json.dumps({**extra, **self.to_dict()}, ensure_ascii=False) + "\n")


def n_mel_frames(duration, sample_rate, hop_length):
    """Frames of a ``center=True`` STFT of ``duration`` seconds (librosa's count)."""
    n_samples = int(round(float(duration) * sample_rate))
    return 1 + n_samples // hop_length


def _frame_of(t, sample_rate, hop_length, n_frames):
    f = math.ceil(t * sample_rate / hop_length - 1e-9)
    return min(max(f, 0), n_frames)


def _fill_gaps(intervals, duration):
    """Intervals in time order with every gap (and the head and tail) filled by a silence token."""
    out = []
    t = 0.0
    for label, start, end in sorted(intervals, key=lambda iv: (iv[1], iv[2])):
        if start < t - 1e-9:
            raise ParameterError(f"intervals overlap: {label!r} starts at {start} before {t}")
        if start > t:
            out.append(("", t, start))
        out.append((str(label), float(start), float(end)))
        t = float(end)
    if duration is not None and duration > t:
        out.append(("", t, float(duration)))
    return out


def _steal(durations, min_frames):
    """Give every token ``min_frames``, taking frames one at a time from the longer neighbour."""
    d = durations.copy()
    if d.size * min_frames > d.sum():
        raise ParameterError(
            f"{d.size} tokens cannot all have {min_frames} frame(s) in {int(d.sum())} frames"
        )
    for i in np.flatnonzero(d < min_frames):
        while d[i] < min_frames:
            left = d[i - 1] if i > 0 else -1
            right = d[i + 1] if i + 1 < d.size else -1
            j = i - 1 if left >= right else i + 1
            if d[j] <= min_frames:  # both neighbours at the floor: take from the nearest donor
                donors = np.flatnonzero(d > min_frames)
                j = int(donors[np.argmin(np.abs(donors - i))])
                # frames move between neighbours only, so shift one along the way
                step = 1 if j > i else -1
                for k in range(j, i, -step):
                    d[k] -= 1
                    d[k - step] += 1
                continue
            d[j] -= 1
            d[i] += 1
    return d


def durations_from_intervals(intervals, *, sample_rate, hop_length, duration=None, n_frames=None,
                             silence="keep", min_frames=0, silence_labels=SILENCE_LABELS):
    """Integer frame durations of labelled intervals (the frame rule: module docstring).

    Parameters
    ----------
    intervals : iterable of (str, float, float)
        ``(label, start, end)`` in seconds, not overlapping. Gaps (and the head
        and tail up to ``duration``) become silence tokens labelled ``""``.
    sample_rate, hop_length : int
        Of the mel spectrogram the durations are for.
    duration : float, optional
        The recording's length in seconds (default: the last interval's end).
    n_frames : int, optional
        The mel length; default ``1 + round(duration * sample_rate) // hop_length``.
    silence : {"keep", "merge", "trim"}
        ``"keep"``: silence tokens are tokens. ``"merge"``: each silence's
        frames go to its neighbours (split at its middle frame; all of it to
        the one neighbour at the head or tail). ``"trim"``: leading and
        trailing silence is cut (``start_frame``, ``end_frame`` say where the
        tokens start and end), inner silence is kept, as FastSpeech 2's
        preprocessing does.
    min_frames : int
        Each token gets at least this many frames, taken one by one from its
        longer neighbour (0: tokens shorter than half a frame get 0 frames).
    silence_labels : set of str
        Labels that are silence.

    Returns
    -------
    DurationTable

    Raises
    ------
    ParameterError
        Bad arguments, overlapping intervals, or too few frames for ``min_frames``.
    """
    sample_rate = check_positive_int("sample_rate", sample_rate)
    hop_length = check_positive_int("hop_length", hop_length)
    min_frames = check_positive_int("min_frames", min_frames, allow_zero=True)
    check_option("silence", silence, ("keep", "merge", "trim"))
    intervals = list(intervals)
    for label, start, end in intervals:
        if not (np.isfinite(start) and np.isfinite(end) and 0 <= start <= end):
            raise ParameterError(f"interval {label!r} has start {start} and end {end}; need 0 <= start <= end")
    if duration is None:
        duration = max((end for _, _, end in intervals), default=0.0)
    if n_frames is None:
        n_frames = n_mel_frames(duration, sample_rate, hop_length)
    n_frames = check_positive_int("n_frames", n_frames)
    filled = _fill_gaps(intervals, duration)
    if not filled:
        raise ParameterError("no intervals to take durations from")
    bounds = [0] + [_frame_of(end, sample_rate, hop_length, n_frames) for _, _, end in filled[:-1]] + [n_frames]
    bounds = np.maximum.accumulate(np.array(bounds, np.int64))
    labels = [lab for lab, _, _ in filled]
    d = np.diff(bounds)
    is_sil = np.array([lab in silence_labels for lab in labels])
    start_frame, end_frame = 0, n_frames
    if silence == "trim":
        speech = np.flatnonzero(~is_sil)
        if speech.size == 0:
            raise ParameterError("every interval is silence; nothing is left after trimming")
        lo, hi = int(speech[0]), int(speech[-1]) + 1
        start_frame, end_frame = int(bounds[lo]), int(bounds[hi])
        labels, d = labels[lo:hi], d[lo:hi]
    elif silence == "merge":
        keep = []
        merged = d.copy()
        for i, sil in enumerate(is_sil):
            if not sil:
                continue
            left = next((j for j in range(i - 1, -1, -1) if not is_sil[j]), None)
            right = next((j for j in range(i + 1, len(labels)) if not is_sil[j]), None)
            if left is None and right is None:
                raise ParameterError("every interval is silence; nothing to merge it into")
            if left is None:
                merged[right] += merged[i]
            elif right is None:
                merged[left] += merged[i]
            else:
                half = merged[i] // 2
                merged[left] += half
                merged[right] += merged[i] - half
            merged[i] = 0
        keep = ~is_sil
        labels = [lab for lab, k in zip(labels, keep) if k]
        d = merged[keep]
    if min_frames:
        d = _steal(d, min_frames)
    return DurationTable(tokens=labels, durations=d.astype(np.int64), start_frame=start_frame,
                         end_frame=end_frame, n_frames=n_frames)


def durations_from_textgrid(path, *, sample_rate, hop_length, tier="phones", n_frames=None, **options):
    """:func:`durations_from_intervals` for one tier of a Praat TextGrid (MFA's or ours).

    Parameters
    ----------
    path : str or path-like
    sample_rate, hop_length, n_frames, **options
        As in :func:`durations_from_intervals` (``duration`` is the grid's end).
    tier : str
        The tier to read ("phones" or "words" in MFA's and our grids).

    Returns
    -------
    DurationTable
    """
    import os

    from praatio import textgrid

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ParameterError(f"TextGrid file {path!r} does not exist")
    try:
        tg = textgrid.openTextgrid(path, includeEmptyIntervals=False)
    except Exception as exc:  # praatio raises assorted errors on bad input
        raise ParameterError(f"{path!r} is not a readable TextGrid: {exc}") from exc
    if tier not in tg.tierNames:
        raise ParameterError(f"{path!r} has no {tier!r} tier; found tiers {list(tg.tierNames)}")
    entries = [(e.label, e.start, e.end) for e in tg.getTier(tier).entries]
    return durations_from_intervals(entries, sample_rate=sample_rate, hop_length=hop_length,
                                    duration=tg.maxTimestamp, n_frames=n_frames, **options)


def durations_to_path(durations, n_frames=None):
    """The 0/1 alignment matrix of integer durations: (N, n_frames), one token per frame, in order.

    Parameters
    ----------
    durations : array_like [shape=(N,), int]
        Frames per token, >= 0.
    n_frames : int, optional
        Columns (default ``durations.sum()``; more columns are left 0).

    Returns
    -------
    np.ndarray or torch.Tensor [shape=(N, n_frames), float32]
        ``path[k, t] == 1`` when frame ``t`` is token ``k``'s (the layout of
        :func:`align.maximum_path`'s ``"text_mel"``); a tensor on ``durations``'
        device when it is one.
    """
    d = _durations(durations)
    total = int(d.sum())
    n = total if n_frames is None else check_positive_int("n_frames", n_frames, allow_zero=True)
    if n < total:
        raise ParameterError(f"durations sum to {total} frames, more than n_frames = {n}")
    path = np.zeros((d.size, n), np.float32)
    path[np.repeat(np.arange(d.size), d), np.arange(total)] = 1
    return like_input(path, torch_device(durations))


def path_to_durations(path):
    """Frames per token of a 0/1 monotone path (N, T) (:func:`align.maximum_path`'s output).

    Returns
    -------
    np.ndarray or torch.Tensor [shape=(N,), int64]
        A tensor on ``path``'s device when it is one.

    Raises
    ------
    ParameterError
        If a frame has no token or two, or the tokens are not in order.
    """
    p = as_float_array(path, "path", ndim=2)
    on = p != 0
    if not np.isin(p, (0, 1)).all():
        raise ParameterError("path must hold only 0 and 1")
    per_frame = on.sum(axis=0)
    used = per_frame > 0
    if used.any() and (per_frame[used] != 1).any():
        raise ParameterError("path has a frame with more than one token")
    owner = on.argmax(axis=0)[used]
    if (np.diff(owner) < 0).any():
        raise ParameterError("path is not monotone: a frame goes back to an earlier token")
    return like_input(on.sum(axis=1).astype(np.int64), torch_device(path))


def mel2ph(durations, n_frames=None):
    """The token of each frame, 1-based with 0 for padding (FastSpeech 2's ``mel2ph``).

    Returns
    -------
    np.ndarray or torch.Tensor [shape=(n_frames,), int64]
        A tensor on ``durations``' device when it is one.
    """
    d = _durations(durations)
    total = int(d.sum())
    n = total if n_frames is None else check_positive_int("n_frames", n_frames, allow_zero=True)
    if n < total:
        raise ParameterError(f"durations sum to {total} frames, more than n_frames = {n}")
    out = np.zeros(n, np.int64)
    out[:total] = np.repeat(np.arange(1, d.size + 1), d)
    return like_input(out, torch_device(durations))


def token_average(frame_features, durations, *, ignore_zeros=False):
    """Frame features averaged over each token's frames (FastPitch's pitch and energy per phone).

    Parameters
    ----------
    frame_features : array_like [shape=(T,) or (T, d)]
        One value (or vector) per frame; ``T >= durations.sum()``.
    durations : array_like [shape=(N,), int]
    ignore_zeros : bool
        Leave 0 values out of each mean (unvoiced frames of a pitch track, as
        FastPitch does); a token with no non-zero frame gets 0.

    Returns
    -------
    np.ndarray or torch.Tensor [shape=(N,) or (N, d), float64]
        0 for a token of 0 frames; a tensor on the first tensor input's device.
    """
    x = as_float_array(frame_features, "frame_features", ndim=(1, 2)).astype(np.float64)
    d = _durations(durations)
    total = int(d.sum())
    if x.shape[0] < total:
        raise ParameterError(f"frame_features has {x.shape[0]} frames, durations need {total}")
    x = x[:total]
    x2 = x.reshape(total, -1)
    weight = (x2 != 0).astype(np.float64) if ignore_zeros else np.ones_like(x2)
    starts = np.concatenate([[0], np.cumsum(d)[:-1]]).astype(np.int64)
    nonempty = d > 0
    sums = np.zeros((d.size, x2.shape[1]))
    counts = np.zeros((d.size, x2.shape[1]))
    if total:
        sums[nonempty] = np.add.reduceat(x2 * weight, starts[nonempty], axis=0)
        counts[nonempty] = np.add.reduceat(weight, starts[nonempty], axis=0)
    out = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return like_input(out[:, 0] if x.ndim == 1 else out, torch_device(frame_features, durations))


def _durations(durations):
    d = as_int_array(durations, "durations")
    if (d < 0).any():
        raise ParameterError(f"durations must be >= 0, found {int(d[d < 0][0])}")
    return d
