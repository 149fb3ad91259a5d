"""Synchronise recordings of one event by their sound (issue 12, point 4).

Several cameras or recorders capture the same event; each starts at its own
moment and runs on its own clock. :func:`sync` finds, for every recording, the
map from its time axis to the time axis of a reference recording::

    t_ref = offset + t * (1 + drift_ppm * 1e-6)

Sign convention. ``offset`` is the reference time (seconds) of the recording's
first sample: recording time ``t`` is heard at reference time ``t + offset``
(drift aside). A camera switched on 3.2 s *after* the reference has
``offset = +3.2`` (its 0 s is the reference's 3.2 s); one switched on 2 s
*before* the reference has ``offset = -2.0``. ``drift_ppm`` is how much faster
the recording's time runs than the reference's, in parts per million: a
recorder whose clock runs 0.05 % slow writes 0.05 % fewer samples per second,
so one of its seconds spans 1.0005 reference seconds: ``drift_ppm = +500``.
Equivalently: a recording made by resampling the reference by a factor ``r``
(``r`` times as many samples) has ``drift_ppm = (1 / r - 1) * 1e6``.

Method (coarse to fine; every step costs about linear time in the length):

1. Features at 50 frames per second (20 ms hop, a power-of-two Hann window of
   at least 30 ms: 512 samples at 16 kHz): log mel band energies (32 bands,
   80 Hz to 7.6 kHz, a per-band floor 30 dB under the band's mean power; for
   DTW, each band less its 3 s moving mean and scaled to unit variance) and the
   onset-strength envelope (the half-wave rectified frame-to-frame rise of the
   log bands, averaged over the bands, less its 1 s moving mean, clipped at 6
   robust sigmas and standardised). Differences of log energies do not see a
   fixed microphone response; the floor tames noise.
2. Coarse map by normalised cross-correlation (FFT) of the envelopes at
   25 frames per second over *every* lag with at least ``min_overlap`` seconds
   in common, so either recording may lie anywhere inside the other, or the two
   may only partly overlap. Each lag's score is its Pearson correlation over the
   overlap times the square root of the overlap length (a z-score, so short
   chance overlaps do not win). When the shorter recording exceeds 240 s it is
   cut into 120 s chunks, each chunk is correlated with the whole other
   recording, and the line (offset, drift) through the chunks' peaks that
   collects the most evidence is kept: a drift of 0.05 % shifts the end of a
   60-minute recording by 1.8 s, which would smear a single correlation peak.
   Then the whole shorter envelope, stretched by that drift, is correlated
   once more; the height of that peak over its side lobes (the peak-to-sidelobe
   ratio, PSR) gives the confidence.
3. Subsequence DTW (:func:`align.dtw` with ``subsequence=True``) of up to 24
   pieces of 6 s of the recording's normalised log-mel frames, each inside a
   band of +-1 s around where the coarse map puts it in the reference. The
   pieces' paths make :attr:`SyncResult.path`; a least-squares line with
   iterative outlier trimming through the path refines offset and drift.
4. Fine map: up to 32 windows of 1 s of the waveform, each on the loudest
   second of one of equal stretches of the overlap, are cross-correlated with
   the reference within +-40 ms of where step 3 puts them, by GCC-PHAT (the
   phase of the cross-spectrum only, 100 Hz to 6 kHz: the direct sound wins
   over reverberation and the microphone's response drops out). Each peak that
   stands 7 sidelobe standard deviations out gives one time pair (parabolic
   interpolation: sub-sample), and a trimmed least-squares line through them
   (outliers: over 2 ms off) gives offset and drift to a fraction of a
   millisecond and a few ppm. The drift is kept only when its standard error
   is under 25 ppm (about 10 s of overlap or more); otherwise the drift of
   step 3 stays (0 for overlaps under 60 s) and only the offset is refitted.

Confidence. ``confidence = 1 / (1 + exp(-(psr - 7) / 0.5))``: 0.5 at
``PSR = 7``, 0.02 at 5, 0.98 at 9. :data:`CONFIDENCE_THRESHOLD` (0.5, so
PSR 7) separates true pairs from unrelated recordings. Calibration on the
shared speech data (cathy prompts against other cathy prompts and FSDD
digits, 5 s to 30 minutes long, clean or with noise and another
microphone): the PSR of every unrelated pair tried (about 45) stayed under 4.9 (confidence
0.013 or less); true pairs with 10 dB SNR, telephone band, reverb and
0.05 % drift reach 11 for 10 s of overlap, 14 to 30 for 40 to 75 s, 85 for
60 minutes; 5 s of overlap gives about 7, the threshold itself, so shorter
overlaps cannot be told from chance (``tests/video/test_sync.py``). A result
under the threshold means "no reliable overlap found": its offset and drift
are only the best guess. :func:`sync` returns it all the same (so one
unrelated file does not lose the others' results) unless ``min_confidence``
is given: then it raises :class:`~align.exceptions.InfeasibleAlignmentError`.

Memory: the decoded audio (4 bytes a sample at ``sample_rate``; a mono
float32 array already at that rate is used as it is, without a copy) plus
about 300 bytes per 20 ms frame and per recording for the features, plus
blocks of 8192 frames for the spectra (about 40 MB per recording, two at a
time): two 60-minute recordings at 16 kHz need about 0.6 GB, 440 MB of it the
samples themselves. Time: two 60-minute recordings take about 3 to 5 s on two
cores, most of it the spectra (``benchmarks/bench_sync.py``).
"""

import json
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InfeasibleAlignmentError, ParameterError

__all__ = [
    "SyncResult",
    "sync",
    "sync_to_json",
    "ffmpeg_edit_list",
    "add_sync_command",
    "format_table",
    "normalized_xcorr",
    "CONFIDENCE_THRESHOLD",
]

#: a result whose confidence is under this found no reliable overlap
CONFIDENCE_THRESHOLD = 0.5
#: PSR at which the confidence is 0.5, and the logistic's scale
_PSR_MID = 7.0
_PSR_SCALE = 0.5

_FRAME_RATE = 50  # feature frames per second
_COARSE_DECIM = 2  # coarse envelope: 25 frames per second
_N_MELS = 32
_BLOCK = 8192  # frames per spectrum block
_MIN_SECONDS = 2.0  # shortest recording accepted
_CHUNK_SECONDS = 120.0  # coarse chunks, used when the shorter recording exceeds 2 chunks
_MAX_DRIFT_PPM = 2000.0  # the chunk consensus looks for drifts up to 0.2 %
_PIECE_SECONDS = 6.0  # DTW pieces
_MAX_PIECES = 24
_BAND_SECONDS = 1.0  # each piece is searched within +-1 s of the coarse map
_DTW_SLOPE_SECONDS = 60.0  # the DTW path must span this much to fit a slope
_FINE_WINDOW = 1.0  # fine windows (seconds of waveform)
_FINE_SEARCH = 0.040  # searched within +-40 ms of the DTW map
_MAX_FINE = 32
_FINE_PSR = 7.0  # fine peaks weaker than this (peak-to-sidelobe) are dropped
_FINE_TOL = 0.002  # fine points farther than 2 ms from the line are outliers
_FINE_SLOPE_SE = 25e-6  # the fine line's drift is kept when its standard error is under 25 ppm
_FINE_TOL_FIXED = 0.010  # inlier tolerance of the offset-only fit (drift unknown)


@dataclass(frozen=True)
class SyncResult:
    """Where one recording lies on the reference's time axis.

    ``t_ref = offset + t * (1 + drift_ppm * 1e-6)`` maps the recording's time
    ``t`` (seconds from its first sample) to the reference's.

    Attributes
    ----------
    offset : float
        Reference time, in seconds, of the recording's first sample; positive
        when the recording starts after the reference (module notes).
    drift_ppm : float
        How much faster the recording's time runs than the reference's, in
        parts per million (one recording second spans ``1 + drift_ppm * 1e-6``
        reference seconds).
    confidence : float
        In [0, 1]; under :data:`CONFIDENCE_THRESHOLD` no reliable overlap was
        found and offset and drift are only the best guess.
    path : np.ndarray [shape=(K, 2), int64]
        DTW frame pairs ``(recording frame, reference frame)`` at
        ``frame_rate`` frames per second (frame ``k`` is centred on
        ``k / frame_rate + 0.016`` s at 16 kHz: 32 ms windows every 20 ms), from the pieces
        of step 3, in order. Empty ``(0, 2)`` for the reference itself and when
        no piece could be placed.
    name : str
        The file's name, or ``"recording <i>"`` for samples.
    overlap : tuple of float
        ``(start, end)``: the stretch of reference time both recordings cover.
        ``(nan, nan)`` when they do not overlap.
    duration : float
        The recording's length in seconds.
    sample_rate : int
        The rate the recording was analysed at (Hz).
    psr : float
        Peak-to-sidelobe ratio of the coarse correlation (``inf`` for the
        reference itself).
    inliers : float
        Fraction of the fine windows that agree with the fitted line within
        2 ms (0 when the fine step found nothing to rely on).
    frame_rate : float
        Frames per second of ``path``.
    source : str or None
        The path given, or None for samples.
    """

    offset: float
    drift_ppm: float
    confidence: float
    path: np.ndarray = field(repr=False)
    name: str = ""
    overlap: tuple = (math.nan, math.nan)
    duration: float = math.nan
    sample_rate: int = 0
    psr: float = math.nan
    inliers: float = 0.0
    frame_rate: float = float(_FRAME_RATE)
    source: str | None = None

    @property
    def reliable(self):
        """Whether ``confidence >= CONFIDENCE_THRESHOLD``."""
        return self.confidence >= CONFIDENCE_THRESHOLD

    def to_reference(self, t):
        """Reference time of recording time ``t`` (seconds; scalar or array)."""
        return self.offset + np.asarray(t, dtype=np.float64) * (1.0 + self.drift_ppm * 1e-6)

    def from_reference(self, t_ref):
        """Recording time of reference time ``t_ref`` (the inverse map)."""
        return (np.asarray(t_ref, dtype=np.float64) - self.offset) / (1.0 + self.drift_ppm * 1e-6)

    def to_dict(self, *, include_path=True):
        """Plain JSON-able data: every field, the path as a list of pairs."""
        d = {
            "name": self.name,
            "source": self.source,
            "offset": float(self.offset),
            "drift_ppm": float(self.drift_ppm),
            "confidence": float(self.confidence),
            "reliable": bool(self.reliable),
            "overlap": [None if not math.isfinite(v) else float(v) for v in self.overlap],
            "duration": float(self.duration),
            "sample_rate": int(self.sample_rate),
            "psr": None if not math.isfinite(self.psr) else float(self.psr),
            "inliers": float(self.inliers),
            "frame_rate": float(self.frame_rate),
        }
        if include_path:
            d["path"] = np.asarray(self.path).tolist()
        return d


# --------------------------------------------------------------------------- input


def _load(recordings, sample_rate):
    """Each recording -> (name, source, mono float32 samples at sample_rate)."""
    from .._validation import check_finite
    from ..audio.load import load_audio

    out = []
    for i, rec in enumerate(recordings):
        if isinstance(rec, (str, os.PathLike)):
            name, source = os.path.basename(os.fspath(rec)), os.fspath(rec)
        else:
            name, source = f"recording {i}", None
        if (isinstance(rec, tuple) and len(rec) == 2 and isinstance(rec[0], np.ndarray)
                and rec[0].ndim == 1 and rec[0].dtype == np.float32 and rec[0].flags.c_contiguous
                and len(rec[0]) and isinstance(rec[1], (int, np.integer)) and rec[1] == sample_rate):
            # mono float32 at the analysis rate: use it as it is (no copy of an hour of audio)
            y = rec[0]
        else:
            y, _ = load_audio(rec, sample_rate=sample_rate, mono=True)
        what = f"recording {i} ({name})"
        if len(y) < _MIN_SECONDS * sample_rate:
            raise ParameterError(
                f"{what} lasts {len(y) / sample_rate:.3f} s; sync needs at least "
                f"{_MIN_SECONDS:g} s of sound per recording"
            )
        lo, hi = float(y.min()), float(y.max())  # NaN and inf show here, without a copy
        if not (math.isfinite(lo) and math.isfinite(hi)):
            check_finite(y, f"the samples of recording {i}")
        peak = max(hi, -lo)
        if not peak > 1e-5:
            raise ParameterError(
                f"{what} is silent (peak amplitude {peak:.3g}); sync matches recordings "
                f"by their sound, so each needs some"
            )
        out.append((name, source, y))
    return out


def _check_recordings(recordings, reference):
    if isinstance(recordings, (str, os.PathLike)) or (
        isinstance(recordings, tuple) and len(recordings) == 2
        and isinstance(recordings[1], (int, np.integer))
    ):
        raise ParameterError(
            "recordings must be a list of at least two recordings (paths or "
            "(samples, sample_rate) tuples), got a single recording"
        )
    try:
        recordings = list(recordings)
    except TypeError:
        raise ParameterError(
            f"recordings must be a list of paths or (samples, sample_rate) tuples, "
            f"got {type(recordings).__name__}"
        ) from None
    if len(recordings) < 2:
        raise ParameterError(
            f"sync needs at least two recordings to put on one time axis, got {len(recordings)}"
        )
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)):
        raise ParameterError(f"reference must be an index (int), got {reference!r}")
    if not -len(recordings) <= reference < len(recordings):
        raise ParameterError(
            f"reference={reference} is out of range for {len(recordings)} recordings; "
            f"use 0 to {len(recordings) - 1}"
        )
    return recordings, int(reference) % len(recordings)


# --------------------------------------------------------------------------- features


@dataclass
class _Features:
    logmel: np.ndarray  # (T, n_mels) float32, per band: 3 s moving mean removed, unit std
    env: np.ndarray  # (T,) float64 onset envelope, standardised
    energy: np.ndarray  # (T,) float32 frame power (sum over bands)


def _moving_mean(x, size, axis=0):
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(x, size=max(1, int(size)), axis=axis, mode="nearest")


def _frame_geometry(sr):
    """``(hop, win)``: 20 ms hop, a power-of-two window of at least 1.5 hops."""
    hop = sr // _FRAME_RATE
    return hop, 1 << math.ceil(math.log2(1.5 * hop))


def _features(y, sr, workers=2):
    """Log-mel bands, onset envelope and frame energy at 50 frames per second.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), float32]
    sr : int

    Returns
    -------
    _Features
        ``T = 1 + (n - win) // hop`` frames, ``hop = sr // 50``, ``win`` the
        power of two at or above ``1.5 hop`` (512 at 16 kHz); frame ``k`` is
        centred on ``(k hop + win / 2) / sr`` seconds.
    """
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    from ..audio.features import _rows_product, row_runs

    hop, win = _frame_geometry(sr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty low bands at coarse FFT resolution
        import librosa

        fb = librosa.filters.mel(sr=sr, n_fft=win, n_mels=_N_MELS, fmin=80.0,
                                 fmax=min(7600.0, sr / 2.0)).astype(np.float32)
    fb = fb[fb.sum(axis=1) > 0]
    bank = row_runs(fb)
    n_frames = 1 + (len(y) - win) // hop
    frames = sliding_window_view(y, win)[::hop][:n_frames]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)).astype(np.float32)
    mel = np.empty((n_frames, fb.shape[0]), dtype=np.float32)
    for s in range(0, n_frames, _BLOCK):
        spec = scipy.fft.rfft(frames[s:s + _BLOCK] * window, axis=1, workers=workers)
        power = spec.real ** 2
        power += spec.imag ** 2
        # not "power @ fb.T": BLAS's threads spin on after the call (1.27x slower in all)
        mel[s:s + _BLOCK] = _rows_product(power, bank)
    energy = mel.sum(axis=1)
    floor = 1e-3 * mel.mean(axis=0) + 1e-12
    logmel = np.log(mel + floor)
    del mel
    # onset strength: rises of the log bands (a fixed microphone response cancels)
    rise = np.empty(n_frames, dtype=np.float64)
    rise[0] = 0.0
    rise[1:] = np.maximum(np.diff(logmel, axis=0), 0.0).mean(axis=1)
    rise -= _moving_mean(rise, _FRAME_RATE)
    scale = 1.4826 * np.median(np.abs(rise)) + 1e-12
    np.clip(rise, -6 * scale, 6 * scale, out=rise)
    rise -= rise.mean()
    rise /= rise.std() + 1e-12
    # per-band normalisation for DTW
    logmel -= _moving_mean(logmel, 3 * _FRAME_RATE, axis=0)
    logmel /= logmel.std(axis=0) + 1e-6
    return _Features(np.ascontiguousarray(logmel, dtype=np.float32), rise, energy)


def _decimate(env, q):
    """Mean of each ``q`` consecutive frames: ``(T,) -> (T // q,)``."""
    n = len(env) // q
    return env[: n * q].reshape(n, q).mean(axis=1)


# --------------------------------------------------------------------------- coarse


def normalized_xcorr(x, y, min_overlap=1):
    """Normalised cross-correlation over every lag, as z-scores (FFT, O(n log n)).

    For lag ``k`` (``y[n + k]`` goes with ``x[n]``) over the overlap ``O(k)`` of
    ``L(k)`` samples: ``z(k) = sum x[n] y[n+k] / sqrt(sum x[n]^2 sum y[n+k]^2)
    * sqrt(L(k))`` (sums over ``O(k)``; 0 where an energy is 0). The inputs
    should have zero mean (the onset envelopes do).

    Parameters
    ----------
    x : np.ndarray [shape=(nx,)]
    y : np.ndarray [shape=(ny,)]
    min_overlap : int >= 1
        Only lags with ``L(k) >= min_overlap`` are scored.

    Returns
    -------
    lags : np.ndarray [shape=(n_lags,), int64]
        From ``-(nx - min_overlap)`` to ``ny - min_overlap``.
    z : np.ndarray [shape=(n_lags,), float64]
    """
    import scipy.fft

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    nx, ny = len(x), len(y)
    min_overlap = int(min(max(1, min_overlap), nx, ny))
    n = scipy.fft.next_fast_len(nx + ny - 1, real=True)
    r = scipy.fft.irfft(np.conj(scipy.fft.rfft(x, n)) * scipy.fft.rfft(y, n), n)
    lags = np.arange(-(nx - min_overlap), ny - min_overlap + 1, dtype=np.int64)
    c = r[lags % n]
    lo = np.maximum(0, -lags)
    hi = np.minimum(nx, ny - lags)
    cx = np.concatenate(([0.0], np.cumsum(x * x)))
    cy = np.concatenate(([0.0], np.cumsum(y * y)))
    ex = cx[hi] - cx[lo]
    ey = cy[hi + lags] - cy[lo + lags]
    den = np.sqrt(np.maximum(ex * ey, 0.0))
    ok = den > 1e-9 * (cx[-1] * cy[-1]) ** 0.5 + 1e-300
    z = np.zeros(len(lags))
    z[ok] = c[ok] / den[ok] * np.sqrt(hi - lo)[ok]
    return lags, z


def _parabolic(v, i):
    """Sub-sample peak position near index ``i`` of ``v`` (a parabola through 3 points)."""
    if 0 < i < len(v) - 1:
        a, b, c = v[i - 1], v[i], v[i + 1]
        den = a - 2 * b + c
        if den < 0:
            return i + 0.5 * (a - c) / den
    return float(i)


def _psr(z, peak, exclude):
    """Peak-to-sidelobe ratio: (peak - mean) / std of ``z`` outside ``peak +- exclude``."""
    mask = np.ones(len(z), dtype=bool)
    mask[max(0, peak - exclude): peak + exclude + 1] = False
    side = z[mask]
    if len(side) < 10:
        return 0.0
    sd = side.std()
    return float((z[peak] - side.mean()) / sd) if sd > 0 else 0.0


def _chunk_line(x, y, chunk, min_drift):
    """Line ``y_idx - x_idx = k0 + (s - 1) x_idx`` through chunk peaks (drift-robust).

    ``x`` (the shorter envelope) is cut into chunks of ``chunk`` frames; each
    is correlated with all of ``y`` where it lies wholly inside ``y``.
    Returns the slope ``s`` of the best line, or 1.0 without evidence.
    """
    import scipy.fft

    nx, ny = len(x), len(y)
    n = scipy.fft.next_fast_len(ny + chunk, real=True)
    fy = scipy.fft.rfft(y, n)
    cy = np.concatenate(([0.0], np.cumsum(y * y)))
    starts = np.arange(0, nx - chunk + 1, chunk)
    profiles, peaks = [], []
    for ci, s0 in enumerate(starts):
        c = x[s0:s0 + chunk]
        ec = float(c @ c)
        m = ny - chunk + 1  # placements of the chunk wholly inside y
        if m < 1 or ec <= 0:
            profiles.append(np.zeros(1))
            continue
        r = scipy.fft.irfft(np.conj(scipy.fft.rfft(c, n)) * fy, n)[:m]
        ey = cy[chunk:chunk + m] - cy[:m]
        z = np.where(ey > 0, r / np.sqrt(np.maximum(ec * ey, 1e-300)) * math.sqrt(chunk), 0.0)
        profiles.append(z)
        top = np.argpartition(z, -64)[-64:] if len(z) > 64 else np.arange(len(z))
        top = top[np.argsort(z[top])[::-1]]
        kept = []
        for t in top:  # the 3 best peaks at least 1 s apart
            if all(abs(int(t) - k) > 25 for k in kept):
                kept.append(int(t))
            if len(kept) == 3:
                break
        centre = s0 + chunk / 2.0
        peaks += [(ci, centre, t - s0, z[t]) for t in kept]  # lag = y_idx - x_idx
    if len(starts) < 2 or not peaks:
        return 1.0
    if len(peaks) > 150:  # hours of audio: lines through the strongest peaks only
        peaks = sorted(peaks, key=lambda p: -p[3])[:150]
    ci_arr = np.array([p[0] for p in peaks])
    t_arr = np.array([p[1] for p in peaks])
    k_arr = np.array([p[2] for p in peaks], dtype=np.float64)
    # candidate lines through pairs of peaks of different chunks
    a, b = np.triu_indices(len(peaks), 1)
    keep = ci_arr[a] != ci_arr[b]
    a, b = a[keep], b[keep]
    slope_m1 = (k_arr[b] - k_arr[a]) / (t_arr[b] - t_arr[a])
    keep = np.abs(slope_m1) <= _MAX_DRIFT_PPM * 1e-6
    a, slope_m1 = a[keep], slope_m1[keep]
    k0 = k_arr[a] - slope_m1 * t_arr[a]
    k0 = np.concatenate((k0, k_arr))
    slope_m1 = np.concatenate((slope_m1, np.zeros(len(k_arr))))
    # score: each chunk's best z within +-2 frames of the line's lag there
    width = max(len(p) for p in profiles)
    table = np.full((len(starts), width + 4), -np.inf)
    for ci, p in enumerate(profiles):
        table[ci, 2:2 + len(p)] = p
    score = np.zeros(len(k0))
    for ci, s0 in enumerate(starts):
        centre = s0 + chunk / 2.0
        idx = np.rint(k0 + slope_m1 * centre + s0).astype(np.int64) + 2
        best = np.full(len(k0), -np.inf)
        for d in range(-2, 3):
            j = np.clip(idx + d, 0, width + 3)
            best = np.maximum(best, table[ci, j])
        score += np.maximum(best, 0.0)
    i = int(np.argmax(score))
    return 1.0 + float(slope_m1[i]) if abs(slope_m1[i]) >= min_drift else 1.0


def _coarse(fx, fy, min_overlap_s):
    """Coarse map ``y_frame = k + s * x_frame`` (50 Hz frames) and its PSR.

    Parameters
    ----------
    fx, fy : _Features
        ``x`` is the shorter recording.

    Returns
    -------
    k : float, s : float, psr : float
    """
    rate = _FRAME_RATE / _COARSE_DECIM
    x = _decimate(fx.env, _COARSE_DECIM)
    y = _decimate(fy.env, _COARSE_DECIM)
    chunk = int(_CHUNK_SECONDS * rate)
    s = 1.0
    if len(x) > 2 * chunk:
        s = _chunk_line(x, y, chunk, min_drift=1.0 / (len(x) * 4))
    if s != 1.0:  # stretch x by s so one correlation sees one peak
        u = np.arange(int(len(x) * s))
        xs = np.interp(u / s, np.arange(len(x)), x)
    else:
        xs = x
    minov = int(min(min_overlap_s * rate, len(xs), len(y)))
    lags, z = normalized_xcorr(xs, y, minov)
    p = int(np.argmax(z))
    psr = _psr(z, p, exclude=int(rate))
    k_c = lags[0] + _parabolic(z, p)  # y_c[u + k_c] ~ x_c[u / s]
    # coarse index m covers 50 Hz frames q m and q m + 1: x50 = q x_c + (q-1)/2
    q, h = _COARSE_DECIM, (_COARSE_DECIM - 1) / 2.0
    k = q * k_c + h * (1.0 - s)
    return k, s, psr


# --------------------------------------------------------------------------- dtw


def _fit_line(x, y, tol, slope=None, n_iter=6):
    """Least-squares ``y = a + b x`` with iterative trimming of points off by > tol.

    Parameters
    ----------
    x, y : np.ndarray [shape=(n,)]
    tol : float
        Points farther than this from the final line are outliers (earlier
        rounds trim at ``max(tol, 3 sigma)``, sigma from the median absolute
        deviation).
    slope : float or None
        Fix ``b`` and fit only ``a`` (the median of ``y - b x`` over inliers).

    Returns
    -------
    a, b : float
    inliers : np.ndarray [shape=(n,), bool]
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mask = np.ones(len(x), dtype=bool)
    b = 1.0 if slope is None else float(slope)
    a = float(np.median(y - b * x))
    for it in range(n_iter):
        if mask.sum() < 2:
            break
        xm, ym = x[mask], y[mask]
        xc = xm.mean()
        sxx = float(((xm - xc) ** 2).sum())
        if slope is not None:
            b, a = float(slope), float(np.median(ym - slope * xm))
        elif sxx > 0 and np.ptp(xm) > 0:
            b = float(((xm - xc) * (ym - ym.mean())).sum() / sxx)
            a = float(ym.mean() - b * xc)
        else:
            b, a = 1.0, float(np.median(ym - xm))
        res = y - (a + b * x)
        spread = 1.4826 * np.median(np.abs(res[mask] - np.median(res[mask])))
        limit = max(tol, 3.0 * spread) if it < n_iter - 2 else tol
        new = np.abs(res) <= limit
        if new.sum() < 2:
            break
        mask = new
    return a, b, mask


def _slope_error(x, y, a, b):
    """Standard error of the slope ``b`` of the line ``y = a + b x`` (inf if undetermined)."""
    if len(x) < 3:
        return math.inf
    res = y - (a + b * x)
    sxx = float(((x - x.mean()) ** 2).sum())
    if sxx <= 0:
        return math.inf
    sigma = math.sqrt(float(res @ res) / (len(x) - 2))
    return max(sigma, 1e-5) / math.sqrt(sxx)  # timing noise of at least 10 us per point


def _dtw_path(fr, ff, k, s):
    """Subsequence-DTW pieces of ``fr`` inside bands of ``ff`` around ``j = k + s i``.

    Returns the path ``(K, 2)`` int64 of (recording frame, reference frame).
    """
    from ..sequence.dtw import dtw

    nr, nf = len(fr.logmel), len(ff.logmel)
    band = int(_BAND_SECONDS * _FRAME_RATE)
    piece = int(_PIECE_SECONDS * _FRAME_RATE)
    # recording frames whose predicted reference frame lies inside the reference
    i_lo = max(0, math.ceil((0 - k) / s))
    i_hi = min(nr, math.floor((nf - 1 - k) / s) + 1)
    if i_hi - i_lo < 10:
        return np.zeros((0, 2), dtype=np.int64)
    piece = min(piece, i_hi - i_lo)
    n_pieces = int(min(_MAX_PIECES, max(1, (i_hi - i_lo) // piece)))
    starts = np.linspace(i_lo, i_hi - piece, n_pieces).astype(np.int64) if n_pieces > 1 else [i_lo]
    paths = []
    for i0 in starts:
        i0 = int(i0)
        i1 = i0 + piece
        j0 = int(math.floor(k + s * i0)) - band
        j1 = int(math.ceil(k + s * (i1 - 1))) + band + 1
        j0c, j1c = max(0, j0), min(nf, j1)
        if j1c - j0c < 2:
            continue
        r = dtw(fr.logmel[i0:i1], ff.logmel[j0c:j1c], subsequence=True)
        p = np.asarray(r.path, dtype=np.int64).copy()
        p[:, 0] += i0
        p[:, 1] += j0c
        paths.append(p)
    if not paths:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(paths)


# --------------------------------------------------------------------------- fine


def _fine(rec, ref, sr, offset, slope, ov_rec, energy):
    """Waveform cross-correlation of short windows along the overlap.

    Parameters
    ----------
    rec, ref : np.ndarray [shape=(n,), float32]
    offset, slope : float
        The current map ``t_ref = offset + slope * t``.
    ov_rec : (float, float)
        The overlap in recording seconds.
    energy : np.ndarray [shape=(T,)]
        The recording's frame energies (50 Hz), to place windows on loud parts.

    Returns
    -------
    t_rec, t_ref : np.ndarray [shape=(n_points,), float64]
        Window centres and where they were found in the reference.
    """
    import scipy.fft

    w = int(_FINE_WINDOW * sr)
    srch = int(_FINE_SEARCH * sr)
    t0, t1 = ov_rec[0] + _FINE_SEARCH * 2, ov_rec[1] - _FINE_WINDOW - _FINE_SEARCH * 2
    if t1 - t0 < 0:
        return np.zeros(0), np.zeros(0), 0
    n_win = int(min(_MAX_FINE, max(1, (t1 - t0) // _FINE_WINDOW)))
    edges = np.linspace(t0, t1, n_win + 1)
    # loudness of each 1 s window start (frames of 20 ms)
    wf = int(_FINE_WINDOW * _FRAME_RATE)
    cs = np.concatenate(([0.0], np.cumsum(np.log(energy.astype(np.float64) + 1e-12))))
    n = scipy.fft.next_fast_len(w + 2 * srch + w, real=True)
    freq = np.fft.rfftfreq(n, 1.0 / sr)
    band = ((freq >= 100.0) & (freq <= min(6000.0, 0.45 * sr))).astype(np.float64)
    t_rec, t_ref, tried = [], [], 0
    for a, b in zip(edges[:-1], edges[1:]):
        fa, fb_ = int(a * _FRAME_RATE), max(int(a * _FRAME_RATE) + 1, int(b * _FRAME_RATE))
        fb_ = min(fb_, len(energy) - wf)
        if fb_ <= fa:
            continue
        loud = cs[fa + wf:fb_ + wf] - cs[fa:fb_]
        start = (fa + int(np.argmax(loud))) * (sr // _FRAME_RATE)
        x = rec[start:start + w].astype(np.float64)
        centre = (start + w / 2.0) / sr
        pred = offset + slope * (start / sr)  # reference time of the window's start
        p0 = int(round(pred * sr)) - srch
        if p0 < 0 or p0 + w + 2 * srch > len(ref):
            continue
        yv = ref[p0:p0 + w + 2 * srch].astype(np.float64)
        tried += 1
        x -= x.mean()
        yv -= yv.mean()
        # GCC-PHAT: the cross-spectrum's phase only, 100 Hz to 6 kHz (robust to the
        # microphone's response and to reverberation: the direct sound wins)
        g = np.conj(scipy.fft.rfft(x, n)) * scipy.fft.rfft(yv, n)
        g *= band / (np.abs(g) + 1e-30)
        r = scipy.fft.irfft(g, n)[:2 * srch + 1]
        m = int(np.argmax(r))
        if m == 0 or m == 2 * srch:
            continue
        side = np.concatenate((r[:max(0, m - 20)], r[m + 21:]))
        sd = side.std()
        if not sd > 0 or (r[m] - side.mean()) / sd < _FINE_PSR:
            continue
        mm = _parabolic(r, m)
        t_rec.append(centre)
        t_ref.append((p0 + mm + w / 2.0) / sr)
    return np.asarray(t_rec), np.asarray(t_ref), tried


# --------------------------------------------------------------------------- one pair


def _confidence(psr):
    return float(1.0 / (1.0 + math.exp(-(psr - _PSR_MID) / _PSR_SCALE)))


def _overlap(offset, slope, dur_rec, dur_ref):
    start = max(0.0, offset)
    end = min(dur_ref, offset + slope * dur_rec)
    return (start, end) if end > start else (math.nan, math.nan)


def _sync_pair(rec, frec, ref, fref, sr, min_overlap):
    """Map of one recording onto the reference: (offset, slope, psr, path, inliers)."""
    centre0 = _frame_geometry(sr)[1] / 2.0 / sr  # frame k is centred on centre0 + k / 50 s
    nr, nf = len(frec.env), len(fref.env)
    if nr <= nf:
        k, s, psr = _coarse(frec, fref, min_overlap)  # ref = k + s rec
    else:
        k2, s2, psr = _coarse(fref, frec, min_overlap)  # rec = k2 + s2 ref
        s, k = 1.0 / s2, -k2 / s2
    path = _dtw_path(frec, fref, k, s)
    if len(path) >= 20:
        if np.ptp(path[:, 0]) >= _DTW_SLOPE_SECONDS * _FRAME_RATE:
            a, b, mask = _fit_line(path[:, 0], path[:, 1], tol=2.0)
        else:  # too short to tell a slope from the path's jitter: the intercept only
            a, b, mask = _fit_line(path[:, 0], path[:, 1], tol=2.0, slope=s)
        if mask.mean() > 0.3 and abs(a + (b - s) * np.median(path[:, 0]) - k) < 2 * _BAND_SECONDS * _FRAME_RATE \
                and abs(b - 1) < 2 * _MAX_DRIFT_PPM * 1e-6:
            k, s = a, b
    # frames -> seconds: t = centre0 + frame / F on both sides
    slope = s
    offset = centre0 + k / _FRAME_RATE - slope * centre0
    dur_rec, dur_ref = len(rec) / sr, len(ref) / sr
    inliers = 0.0
    ov = _overlap(offset, slope, dur_rec, dur_ref)
    if math.isfinite(ov[0]):
        ov_rec = ((ov[0] - offset) / slope, (ov[1] - offset) / slope)
        t_rec, t_ref, tried = _fine(rec, ref, sr, offset, slope, ov_rec, frec.energy)
        if len(t_rec) >= 2:
            a, b, mask = _fit_line(t_rec, t_ref, tol=_FINE_TOL)
            good = int(mask.sum())
            se = _slope_error(t_rec[mask], t_ref[mask], a, b)
            if good >= 4 and se <= _FINE_SLOPE_SE and abs(b - 1) < 2 * _MAX_DRIFT_PPM * 1e-6:
                offset, slope = a, b
            else:  # too few points or too short a span for the slope: the offset only
                a, b, mask = _fit_line(t_rec, t_ref, tol=_FINE_TOL_FIXED, slope=slope)
                good = int(mask.sum())
                if good >= 2:
                    offset = a
            inliers = float(good / max(tried, 1)) if good >= 2 else 0.0
    return offset, slope, psr, path, inliers


# --------------------------------------------------------------------------- public


def sync(recordings, *, reference=0, sample_rate=16000, min_overlap=5.0, min_confidence=None):
    """Put recordings of one event on the time axis of one of them, by their sound.

    Parameters
    ----------
    recordings : sequence of (str or os.PathLike or (array_like, int))
        At least two: audio or video files (read by
        :func:`align.audio.load.load_audio`, which decodes containers with PyAV),
        or ``(samples, sample_rate)`` pairs (samples ``(n,)``, ``(n, channels)``
        or ``(channels, n)``; channels are averaged).
    reference : int
        Index of the recording whose time axis the others are mapped onto.
    sample_rate : int
        Rate, in Hz, the sound is analysed at (every recording is resampled to
        it); 16000 keeps speech and gives 62.5 us samples for the fine step.
    min_overlap : float
        Seconds two recordings must have in common for a lag to be considered
        (capped at the shorter length).
    min_confidence : float or None
        When given, a recording whose confidence is under it raises
        :class:`~align.exceptions.InfeasibleAlignmentError` instead of being
        returned with a low confidence.

    Returns
    -------
    list of SyncResult
        One per recording, in the input order; the reference's has offset 0,
        drift 0, confidence 1 and an empty path. For each other recording,
        ``t_ref = offset + t * (1 + drift_ppm * 1e-6)`` (module notes for the
        signs); ``confidence < CONFIDENCE_THRESHOLD`` means no reliable overlap
        was found.

    Raises
    ------
    ParameterError
        Fewer than two recordings, ``reference`` out of range, a recording
        shorter than 2 s or silent, an unreadable file, bad samples.
    InfeasibleAlignmentError
        Only with ``min_confidence``: a recording under it.

    Notes
    -----
    Time and memory grow linearly with the total length (module notes): two
    60-minute recordings take a few seconds on two cores
    (``benchmarks/bench_sync.py``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> sr = 8000
    >>> env = np.repeat(rng.random(300) > 0.6, sr // 10)       # 30 s of bursts
    >>> a = (rng.standard_normal(len(env)) * env).astype(np.float32)
    >>> b = a[int(3.25 * sr):int(23.25 * sr)]                  # starts 3.25 s into a
    >>> ra, rb = sync([(a, sr), (b, sr)], sample_rate=sr)
    >>> round(rb.offset, 3), rb.confidence > 0.5
    (3.25, True)
    """
    recordings, reference = _check_recordings(recordings, reference)
    from .._validation import check_positive_int

    sample_rate = check_positive_int("sample_rate", sample_rate)
    if sample_rate < 4000 or sample_rate % _FRAME_RATE:
        raise ParameterError(
            f"sample_rate must be a multiple of {_FRAME_RATE} Hz (20 ms frames) and at least "
            f"4000 Hz, got {sample_rate}; 16000 suits speech"
        )
    try:
        min_overlap = float(min_overlap)
    except (TypeError, ValueError):
        raise ParameterError(f"min_overlap must be a number of seconds, got {min_overlap!r}") from None
    if not min_overlap > 0:
        raise ParameterError(f"min_overlap must be > 0 seconds, got {min_overlap!r}")
    if min_confidence is not None:
        try:
            ok = 0.0 <= float(min_confidence) <= 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(f"min_confidence must be in [0, 1] or None, got {min_confidence!r}")
    loaded = _load(recordings, sample_rate)
    if len(loaded) > 1 and (os.cpu_count() or 1) > 1:  # numpy and the FFTs release the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as pool:
            feats = list(pool.map(lambda rec: _features(rec[2], sample_rate, workers=1), loaded))
    else:
        feats = [_features(y, sample_rate) for _, _, y in loaded]
    name_r, src_r, ref = loaded[reference]
    fref = feats[reference]
    results = []
    for i, ((name, source, y), f) in enumerate(zip(loaded, feats)):
        dur = len(y) / sample_rate
        if i == reference:
            results.append(SyncResult(0.0, 0.0, 1.0, np.zeros((0, 2), dtype=np.int64), name=name,
                                       overlap=(0.0, dur), duration=dur, sample_rate=sample_rate,
                                       psr=math.inf, inliers=1.0, source=source))
            continue
        offset, slope, psr, path, inliers = _sync_pair(y, f, ref, fref, sample_rate, min_overlap)
        conf = _confidence(psr)
        res = SyncResult(float(offset), float((slope - 1.0) * 1e6), conf, path, name=name,
                         overlap=_overlap(offset, slope, dur, len(ref) / sample_rate),
                         duration=dur, sample_rate=sample_rate, psr=float(psr),
                         inliers=float(inliers), source=source)
        if min_confidence is not None and conf < float(min_confidence):
            raise InfeasibleAlignmentError(
                f"recording {i} ({name}) does not reliably overlap the reference ({name_r}): "
                f"confidence {conf:.3f} < min_confidence={float(min_confidence):g} "
                f"(peak-to-sidelobe ratio {psr:.1f}); check that both recorded the same event, "
                f"or lower min_confidence"
            )
        results.append(res)
    return results


# --------------------------------------------------------------------------- output


def sync_to_json(results, path, *, include_path=True):
    """Write sync results as JSON, atomically (:mod:`align.io._atomic`).

    Parameters
    ----------
    results : list of SyncResult
    path : str or os.PathLike
    include_path : bool
        Write each DTW path (lists of frame pairs) too.

    The file holds ``{"convention": ..., "threshold": ..., "recordings": [...]}``
    with one :meth:`SyncResult.to_dict` per recording.
    """
    from ..io._atomic import atomic_write_text

    results = _check_results(results)
    doc = {
        "convention": "t_ref = offset + t * (1 + drift_ppm * 1e-6); offset > 0: the recording "
                      "starts after the reference",
        "threshold": CONFIDENCE_THRESHOLD,
        "recordings": [r.to_dict(include_path=include_path) for r in results],
    }
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")


def _check_results(results):
    results = list(results)
    if not results or not all(isinstance(r, SyncResult) for r in results):
        raise ParameterError("results must be a non-empty list of SyncResult (what sync returns)")
    return results


def ffmpeg_edit_list(results, *, output="synced.mkv", inputs=None, drift="atempo", video=False,
                     min_drift_ppm=1.0, reliable_only=True):
    """The ``ffmpeg`` command line that applies a sync: all inputs on one timeline.

    Each input is delayed with ``-itsoffset`` so that the earliest recording
    starts at 0 (shift ``offset_i - min(offsets)``, the reference included);
    drift is undone on each audio track with ``atempo=1/(1+d)`` (or
    ``asetrate=sr/(1+d),aresample=sr``, which also shifts the pitch), and with
    ``setpts`` on video when ``video=True``; ``d = drift_ppm * 1e-6``, applied
    where ``|drift_ppm| >= min_drift_ppm``. Every track is mapped into
    ``output``.

    Parameters
    ----------
    results : list of SyncResult
    output : str
    inputs : list of str or None
        File names to use (needed for recordings given as samples); default
        each result's ``source``.
    drift : {"atempo", "asetrate"}
    video : bool
        Map each input's first video stream too (re-timed for drift).
    min_drift_ppm : float
    reliable_only : bool
        Leave out the recordings under :data:`CONFIDENCE_THRESHOLD` (their
        offsets are guesses).

    Returns
    -------
    list of str
        The argument vector, ``"ffmpeg"`` first (``subprocess.run(args)``).

    Examples
    --------
    >>> r = [SyncResult(0.0, 0.0, 1.0, np.zeros((0, 2)), source="a.wav", sample_rate=16000),
    ...      SyncResult(-2.5, 500.0, 0.9, np.zeros((0, 2)), source="b.wav", sample_rate=16000)]
    >>> " ".join(ffmpeg_edit_list(r))
    'ffmpeg -itsoffset 2.500000 -i a.wav -itsoffset 0.000000 -i b.wav -filter_complex [1:a:0]atempo=0.999500250[a1] -map 0:a:0 -map [a1] synced.mkv'
    """
    results = _check_results(results)
    if drift not in ("atempo", "asetrate"):
        raise ParameterError(f"drift must be 'atempo' or 'asetrate', got {drift!r}")
    if inputs is None:
        inputs = [r.source for r in results]
    inputs = list(inputs)
    if len(inputs) != len(results) or any(not p for p in inputs):
        raise ParameterError(
            "ffmpeg needs a file name for every result: pass inputs=[...] for recordings "
            "given as samples (one name per result)"
        )
    if reliable_only:
        kept = [(r, p) for r, p in zip(results, inputs) if r.reliable]
        if not kept:
            raise ParameterError("no result is reliable (confidence >= "
                                 f"{CONFIDENCE_THRESHOLD}); nothing to put on one timeline")
        results, inputs = [k[0] for k in kept], [k[1] for k in kept]
    base = min(r.offset for r in results)
    args, filters, maps = ["ffmpeg"], [], []
    for i, (r, p) in enumerate(zip(results, inputs)):
        args += ["-itsoffset", f"{r.offset - base:.6f}", "-i", os.fspath(p)]
        d = r.drift_ppm * 1e-6
        if abs(r.drift_ppm) >= min_drift_ppm:
            if drift == "atempo":
                filters.append(f"[{i}:a:0]atempo={1.0 / (1.0 + d):.9f}[a{i}]")
            else:
                sr = int(r.sample_rate)
                filters.append(f"[{i}:a:0]asetrate={sr / (1.0 + d):.6f},aresample={sr}[a{i}]")
            maps += ["-map", f"[a{i}]"]
        else:
            maps += ["-map", f"{i}:a:0"]
        if video:
            if abs(r.drift_ppm) >= min_drift_ppm:
                filters.append(f"[{i}:v:0]setpts=(PTS-STARTPTS)*{1.0 + d:.9f}+STARTPTS[v{i}]")
                maps += ["-map", f"[v{i}]"]
            else:
                maps += ["-map", f"{i}:v:0"]
    if filters:
        args += ["-filter_complex", ";".join(filters)]
    return args + maps + [os.fspath(output)]


# --------------------------------------------------------------------------- cli


def format_table(results):
    """A plain-text table of sync results (one line per recording)."""
    lines = [f"{'recording':<28}{'offset s':>12}{'drift ppm':>11}{'conf':>7}  overlap (reference s)"]
    for r in results:
        ov = "none" if not math.isfinite(r.overlap[0]) else f"{r.overlap[0]:.3f} - {r.overlap[1]:.3f}"
        flag = "" if r.reliable else "  (no reliable overlap)"
        lines.append(f"{r.name[:27]:<28}{r.offset:>12.4f}{round(r.drift_ppm, 1) + 0.0:>11.1f}{r.confidence:>7.2f}  {ov}{flag}")
    return "\n".join(lines)


def _cmd_sync(args):
    """Handler of ``align sync``: sync, print the table, write JSON if asked."""
    import sys

    if len(args.recordings) < 2:
        raise ParameterError(
            f"align sync needs at least two recordings, got {len(args.recordings)}"
        )
    results = sync(args.recordings, reference=args.reference, sample_rate=args.sample_rate)
    print(format_table(results))
    if args.output:
        sync_to_json(results, args.output)
        print(f"wrote {args.output}")
    if args.ffmpeg:
        import shlex

        print(" ".join(shlex.quote(a) for a in ffmpeg_edit_list(results)))
    if not all(r.reliable for r in results):
        print("align sync: some recordings found no reliable overlap (confidence < "
              f"{CONFIDENCE_THRESHOLD}); their offsets are guesses", file=sys.stderr)
    return 0


def add_sync_command(subparsers):
    """Add ``sync A B [C ...] [-o sync.json] [--reference I]`` to an argparse subparsers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The new subcommand's parser (its handler is set as ``func``).
    """
    p = subparsers.add_parser("sync", help="synchronise recordings of one event by their sound")
    p.add_argument("recordings", nargs="+", help="audio or video files (at least two)")
    p.add_argument("-o", "--output", help="write the results as JSON to this file")
    p.add_argument("-r", "--reference", type=int, default=0,
                   help="index of the reference recording (default 0, the first)")
    p.add_argument("--sample-rate", type=int, default=16000, help="analysis rate in Hz (default 16000)")
    p.add_argument("--ffmpeg", action="store_true", help="print the ffmpeg command that applies the sync")
    p.set_defaults(func=_cmd_sync)
    return p
