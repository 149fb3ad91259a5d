"""The Sphinx MFCC front end, computed as PocketSphinx computes it (floating point).

:func:`sphinx_features` turns 16 kHz mono samples into the ``(T, 39)`` feature
frames that PocketSphinx's English acoustic model (``1s_c_d_dd``) was trained on:
13 cepstra, their deltas and double deltas, 100 frames per second.
:class:`FeatureParams` holds the front-end settings; ``FeatureParams.from_file``
reads a model's ``feat.params`` (``SphinxModel.load().feature_params`` does it
for the bundled model).

The pipeline, step by step (learnt from PocketSphinx 5's ``src/fe/fe_sigproc.c``,
``fe_interface.c``, ``fe_noise.c``, ``src/feat/feat.c`` and ``cmn.c``; no code
copied):

1. Scale: float samples in [-1, 1] are multiplied by 32768 (PocketSphinx reads
   16-bit integers; int16 input is used as is). No dither.
2. Frames: ``frame_size = int(wlen * rate + 0.5)`` (410 samples), ``shift =
   int(rate / frate + 0.5)`` (160). Frame ``t`` starts at sample ``160 t``. Full
   frames come first (``1 + (N - 410) // 160`` of them), then one last partial
   frame from the samples left over, zero padded (PocketSphinx's ``fe_end_utt``),
   so ``T = (N - 410) // 160 + 2`` for ``N >= 410`` and ``T = 1`` for shorter input.
3. Pre-emphasis ``y[n] = x[n] - 0.97 x[n-1]`` over the whole signal (``x[-1] = 0``),
   before the zero padding.
4. Hamming window of length 410, ``0.54 - 0.46 cos(2 pi i / 409)``; zero padded to
   the FFT size (the smallest power of two >= the frame, 512); power spectrum
   ``|X_k|^2`` for ``k = 0 .. 256`` (no normalisation).
5. Mel filter bank: mel(f) = 2595 log10(1 + f / 700); ``nfilt`` triangles equally
   spaced in mel between ``lowerf`` and ``upperf``, their edges rounded to DFT
   bins, unit area (height ``2 / (f_right - f_left)``), the Nyquist bin never used.
6. Optional spectral noise subtraction (``-remove_noise yes``, as in the en-us
   model): a per-filter recursive noise floor tracker with temporal masking and
   gain smoothing over +-4 filters (``fe_noise.c``), started from the first frame.
7. ``log(mel + 1e-4)``, then a DCT: ``transform="dct"`` (orthonormal DCT-II),
   ``"legacy"`` (the Sphinx-II scaling) or ``"htk"``; sine lifter ``1 + (L // 2)
   sin(pi i / L)`` (the integer division is PocketSphinx's).
8. Cepstral mean normalisation: ``"batch"`` subtracts the mean of the frames whose
   c0 is >= 0 (PocketSphinx skips "zero energy" frames when it sums); ``"live"``
   subtracts the initial ``cmninit`` vector from the frames with c0 >= 0, which is
   exactly what PocketSphinx does on one full utterance with ``-cmn live``;
   ``"none"`` does nothing.
9. ``1s_c_d_dd``: the cepstra padded with 3 copies of the first and the last frame,
   ``d[t] = c[t+2] - c[t-2]`` and ``dd[t] = (c[t+3] - c[t-1]) - (c[t+1] - c[t-3])``
   (no scaling), stacked as ``[c, d, dd]``.

Everything is computed in float64 and returned as float32, where PocketSphinx
mixes float32 and float64; the two agree to about 1e-4 on the cepstra.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit

from .._validation import as_float_array, check_finite, check_option, is_torch_tensor
from ..exceptions import ParameterError

__all__ = [
    "sphinx_features_stream",
    "sphinx_cepstra_stream",
    "FeatureParams",
    "sphinx_features",
    "sphinx_cepstra",
    "sphinx_dynamic_features",
    "mel_filterbank",
]

_TRANSFORMS = ("legacy", "dct", "htk")
_CMN = ("batch", "live", "none")
_FEATS = ("1s_c_d_dd",)
_AGC = ("none",)

# PocketSphinx's spectral noise subtraction constants (fe_noise.c).
_SMOOTH_WINDOW = 4
_LAMBDA_POWER = 0.7
_LAMBDA_A = 0.995
_LAMBDA_B = 0.5
_LAMBDA_T = 0.85
_MU_T = 0.2
_MAX_GAIN = 20.0
# Added before the log (fe_sigproc.c LOG_FLOOR).
_LOG_FLOOR = 1e-4


def _parse_bool(name, value):
    text = str(value).strip().lower()
    if text in ("yes", "true", "1", "y"):
        return True
    if text in ("no", "false", "0", "n"):
        return False
    raise ParameterError(f"feat.params option -{name} must be yes or no, got {value!r}")


@dataclass(frozen=True)
class FeatureParams:
    """Settings of the Sphinx front end (PocketSphinx's defaults unless noted).

    Attributes
    ----------
    sample_rate : int
        Input rate in Hz (``-samprate``, 16000).
    frame_rate : int
        Frames per second (``-frate``, 100).
    window_length : float
        Analysis window in seconds (``-wlen``, 0.025625 = 410 samples).
    nfft : int
        FFT size; 0 picks the smallest power of two >= the window (512).
    alpha : float
        Pre-emphasis coefficient (``-alpha``, 0.97).
    lowerf, upperf : float
        Edges of the mel filter bank in Hz (``-lowerf``/``-upperf``).
    nfilt : int
        Number of mel filters (``-nfilt``).
    ncep : int
        Number of cepstra (``-ncep``, 13).
    transform : {"legacy", "dct", "htk"}
        DCT variant (``-transform``).
    lifter : int
        Sine lifter length, 0 for none (``-lifter``).
    round_filters, unit_area, doublebw, remove_dc, remove_noise : bool
        Filter-bank and noise options of the same names.
    feat : str
        Dynamic feature type; only ``"1s_c_d_dd"`` is implemented.
    cmn : {"batch", "live", "none"}
        Cepstral mean normalisation. Default ``"batch"`` (PocketSphinx's own
        default is ``"live"``; the en-us ``feat.params`` says ``batch``).
    cmninit : tuple of float
        Initial mean for ``cmn="live"`` (``-cmninit``, 40,3,-1).
    agc : str
        Automatic gain control; only ``"none"`` is implemented.
    varnorm : bool
        Variance normalisation; only False is implemented.
    svspec : tuple of tuple of int or None
        Feature streams as dimension ranges (``-svspec 0-12/13-25/26-38``).
    model : str or None
        The ``-model`` line (``ptm``, ``cont``, ``semi``), informative.
    extra : dict
        Lines of ``feat.params`` this class does not know (kept, not used).
    """

    sample_rate: int = 16000
    frame_rate: int = 100
    window_length: float = 0.025625
    nfft: int = 0
    alpha: float = 0.97
    lowerf: float = 133.33334
    upperf: float = 6855.4976
    nfilt: int = 40
    ncep: int = 13
    transform: str = "legacy"
    lifter: int = 0
    round_filters: bool = True
    unit_area: bool = True
    doublebw: bool = False
    remove_dc: bool = False
    remove_noise: bool = False
    feat: str = "1s_c_d_dd"
    cmn: str = "batch"
    cmninit: tuple = (40.0, 3.0, -1.0)
    agc: str = "none"
    varnorm: bool = False
    svspec: tuple | None = None
    model: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    # --- derived sizes -------------------------------------------------
    @property
    def frame_size(self):
        """Samples per analysis frame (410 at 16 kHz)."""
        return int(self.window_length * self.sample_rate + 0.5)

    @property
    def frame_shift(self):
        """Samples between frame starts (160 at 16 kHz, 100 frames/s)."""
        return int(self.sample_rate / self.frame_rate + 0.5)

    @property
    def fft_size(self):
        """FFT length (``nfft``, or the smallest power of two >= ``frame_size``)."""
        if self.nfft:
            return int(self.nfft)
        n = 1
        while n < int(self.window_length * self.sample_rate):
            n <<= 1
        return n

    @property
    def n_features(self):
        """Width of one feature frame: 3 * ncep for ``1s_c_d_dd``."""
        return 3 * self.ncep

    def n_frames(self, n_samples):
        """Number of frames PocketSphinx makes from ``n_samples`` samples."""
        n_samples = int(n_samples)
        if n_samples <= 0:
            return 0
        if n_samples < self.frame_size:
            return 1
        return (n_samples - self.frame_size) // self.frame_shift + 2

    # --- parsing -------------------------------------------------------
    @classmethod
    def from_args(cls, args):
        """Build from a mapping of PocketSphinx option names (without ``-``) to strings.

        Raises
        ------
        ParameterError
            If a value cannot be parsed.
        """
        kw = {}
        extra = {}
        ints = {"samprate": "sample_rate", "frate": "frame_rate", "nfft": "nfft",
                "nfilt": "nfilt", "ncep": "ncep", "lifter": "lifter"}
        floats = {"wlen": "window_length", "alpha": "alpha", "lowerf": "lowerf",
                  "upperf": "upperf"}
        bools = {"round_filters": "round_filters", "unit_area": "unit_area",
                 "doublebw": "doublebw", "remove_dc": "remove_dc",
                 "remove_noise": "remove_noise", "varnorm": "varnorm"}
        strings = {"transform": "transform", "feat": "feat", "cmn": "cmn",
                   "agc": "agc", "model": "model"}
        for key, value in args.items():
            key = key.lstrip("-")
            try:
                if key in ints:
                    kw[ints[key]] = int(float(value))
                elif key in floats:
                    kw[floats[key]] = float(value)
                elif key in bools:
                    kw[bools[key]] = _parse_bool(key, value)
                elif key in strings:
                    kw[strings[key]] = str(value)
                elif key == "cmninit":
                    kw["cmninit"] = tuple(float(v) for v in str(value).split(","))
                elif key == "svspec":
                    streams = []
                    for part in str(value).split("/"):
                        dims = []
                        for piece in part.split(","):
                            if "-" in piece:
                                lo, hi = piece.split("-")
                                dims.extend(range(int(lo), int(hi) + 1))
                            else:
                                dims.append(int(piece))
                        streams.append(tuple(dims))
                    kw["svspec"] = tuple(streams)
                elif key == "dither":
                    # Dither adds random noise; we never dither (reproducible output).
                    extra[key] = value
                else:
                    extra[key] = value
            except ParameterError:
                raise
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"feat.params option -{key} has an unreadable value {value!r}"
                ) from exc
        return cls(**kw, extra=extra)

    @classmethod
    def from_file(cls, path):
        """Read a ``feat.params`` file (one ``-name value`` pair per line).

        Raises
        ------
        ParameterError
            If the file cannot be read or a line is malformed.
        """
        try:
            with open(os.fspath(path), encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ParameterError(f"cannot read feat.params file {path!s}: {exc}") from exc
        args = {}
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) != 2 or not parts[0].startswith("-"):
                raise ParameterError(
                    f"{path!s}, line {lineno}: expected '-name value', got {line!r}"
                )
            args[parts[0][1:]] = parts[1].strip()
        return cls.from_args(args)

    def replace(self, **changes):
        """Return a copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)


# ---------------------------------------------------------------------------
# Building blocks (each usable alone; the tests check them one by one)
# ---------------------------------------------------------------------------


def _mel(f):
    return np.float32(2595.0 * math.log10(1.0 + float(f) / 700.0))


def _mel_inverse(m):
    return np.float32(700.0 * (10.0 ** (float(m) / 2595.0) - 1.0))


def mel_filterbank(params):
    """The Sphinx mel filter bank as a dense matrix.

    Parameters
    ----------
    params : FeatureParams

    Returns
    -------
    np.ndarray [shape=(nfilt, fft_size // 2 + 1), float64]
        Row ``i`` holds filter ``i``'s weights on the power-spectrum bins.

    Notes
    -----
    PocketSphinx computes the edges in float32; so do we, so that the rounding
    to DFT bins lands on the same bins.
    """
    nfft = params.fft_size
    nbins = nfft // 2 + 1
    rate = np.float32(params.sample_rate)
    melmin = _mel(params.lowerf)
    melmax = _mel(params.upperf)
    melbw = np.float32((melmax - melmin) / np.float32(params.nfilt + 1))
    if params.doublebw:
        melmin = np.float32(melmin - melbw)
        melmax = np.float32(melmax + melbw)
    fftfreq = np.float32(rate / np.float32(nfft))
    bank = np.zeros((params.nfilt, nbins), dtype=np.float64)
    step = 2 if params.doublebw else 1
    for i in range(params.nfilt):
        edges = []
        for j in range(3):
            f = _mel_inverse(np.float32(np.float32(i + j * step) * melbw + melmin))
            if params.round_filters:
                f = np.float32(int(f / fftfreq + np.float32(0.5)) * fftfreq)
            edges.append(f)
        left, centre, right = edges
        for k in range(nbins):
            hz = np.float32(k * fftfreq)
            if hz < left:
                continue
            if hz > right or k == nfft // 2:
                break
            lo = np.float32((hz - left) / (centre - left))
            hi = np.float32((right - hz) / (right - centre))
            if params.unit_area:
                lo = np.float32(lo * np.float32(2.0 / (right - left)))
                hi = np.float32(hi * np.float32(2.0 / (right - left)))
            bank[i, k] = min(lo, hi)
    return bank


def _dct_matrix(params):
    """(nfilt, ncep) matrix ``M`` with ``cepstra = logmel @ M`` for ``params.transform``."""
    n = params.nfilt
    j = np.arange(n)[:, None] + 0.5
    i = np.arange(params.ncep)[None, :]
    cos = np.cos(np.pi / n * i * j)
    if params.transform == "legacy":
        beta = np.full((n, 1), 2.0)
        beta[0] = 1.0
        mat = cos * beta / (2.0 * n)
        # c0: the first filter counts half, the rest once, divided by n.
        mat[:, 0] = 1.0 / n
        mat[0, 0] = 0.5 / n
    elif params.transform == "dct":
        mat = cos * math.sqrt(2.0 / n)
        mat[:, 0] = math.sqrt(1.0 / n)
    else:  # htk
        mat = cos * math.sqrt(2.0 / n)
        mat[:, 0] = math.sqrt(2.0 / n)
    return mat


@functools.lru_cache(maxsize=8)
def _cached_filterbank(params):
    # Building the bank costs more than filtering a short utterance: keep it.
    bank = mel_filterbank(params)
    bank.flags.writeable = False
    return bank


@functools.lru_cache(maxsize=8)
def _cached_dct(params):
    mat = _dct_matrix(params)
    mat.flags.writeable = False
    return mat


def row_runs(matrix):
    """``(rows, first, stop)`` for :func:`_rows_product`: each row's run of non-zero columns.

    Parameters
    ----------
    matrix : np.ndarray [shape=(M, K)]
        Row ``m`` is non-zero only on columns ``first[m] .. stop[m] - 1`` (an
        all-zero row gets ``0 .. -1``, no columns).

    Returns
    -------
    tuple of (np.ndarray [shape=(M, K)], np.ndarray [shape=(M,), int64], np.ndarray [shape=(M,), int64])
    """
    rows = np.ascontiguousarray(matrix)
    nonzero = rows != 0
    any_nonzero = nonzero.any(axis=1)
    first = np.where(any_nonzero, nonzero.argmax(axis=1), 0)
    stop = np.where(any_nonzero, rows.shape[1] - nonzero[:, ::-1].argmax(axis=1), 0)
    return rows, first.astype(np.int64), stop.astype(np.int64)


@functools.lru_cache(maxsize=8)
def _cached_products(params):
    """The filterbank and the DCT as (rows, first, stop) for :func:`_rows_product`.

    A filter is non-zero on one run of FFT bins: ``first[m] .. stop[m] - 1``.
    """
    return row_runs(_cached_filterbank(params)), row_runs(_cached_dct(params).T)


@njit(cache=True)
def _rows_product_kernel(x, rows, first, stop, out):  # pragma: no cover - compiled
    for t in range(x.shape[0]):
        xt = x[t]
        for m in range(rows.shape[0]):
            w = rows[m]
            acc = 0.0
            for k in range(first[m], stop[m]):
                acc += xt[k] * w[k]
            out[t, m] = acc


def _rows_product(x, product):
    """``x @ rows.T`` over each row's non-zero run, compiled: (T, K) -> (T, M) float64.

    ``product`` is :func:`row_runs` of ``rows`` (M, K).

    Not ``@``: that is a BLAS call, and OpenBLAS's threads, woken for it, spin
    on after it returns and take the cores from Numba's threads. With them,
    aligning 300 cathy files on two cores took twice the wall time (11.3-12.0
    s against 5.8-5.9 s with BLAS on one thread) and twice the CPU. The mel
    filters are also sparse (a filter spans a few bins), so this does a
    tenth of the dense product's work.
    """
    rows, first, stop = product
    out = np.empty((x.shape[0], rows.shape[0]))
    # float32 inputs stay float32 (the sums are float64 either way)
    x = np.ascontiguousarray(x) if x.dtype in (np.float32, np.float64) else np.asarray(x, np.float64)
    _rows_product_kernel(x, rows, first, stop, out)
    return out


def _lifter_weights(params):
    if not params.lifter:
        return None
    i = np.arange(params.ncep)
    # PocketSphinx divides the integer lifter length by 2 in integer arithmetic.
    return 1.0 + (params.lifter // 2) * np.sin(i * np.pi / params.lifter)


@njit(cache=True)
def _window_frames(seg, has_prev, prev, alpha, size, shift, window, out):  # pragma: no cover - compiled
    """out[t, :size] = pre-emphasised seg[t * shift:][:size] * window, zeros after (to the FFT size).

    ``seg`` holds a block's samples (float64); past its end the signal is zero
    (the last, partial frame). Pre-emphasis ``y[j] = seg[j] - alpha * seg[j-1]``,
    with ``prev`` before ``seg[0]`` (none: ``y[0] = seg[0]``). No fastmath: the
    products and differences are those of the numpy path, bit for bit.
    """
    n = seg.shape[0]
    for t in range(out.shape[0]):
        row = out[t]
        base = t * shift
        for i in range(size):
            j = base + i
            if j >= n:
                y = 0.0
            elif alpha == 0.0:
                y = seg[j]
            elif j > 0:
                y = seg[j] - alpha * seg[j - 1]
            elif has_prev:
                y = seg[0] - alpha * prev
            else:
                y = seg[0]
            row[i] = y * window[i]
        for i in range(size, row.shape[0]):
            row[i] = 0.0


@njit(cache=True)
def _remove_noise(mel):  # pragma: no cover - compiled; covered under NUMBA_DISABLE_JIT
    """Spectral noise subtraction of fe_noise.c, in place on ``mel`` (T, F) float64.

    Per filter, a smoothed power ``P`` (lambda 0.7), a lower envelope ``N`` of it
    (rise 0.995, fall 0.5), the signal ``S = max(P - N, 1)``, a floor envelope of
    ``S``, temporal masking (peak decay 0.85, masked to 0.2 x peak), a gain
    ``S / P`` clipped to [1/20, 20], and the gain averaged over +-4 filters
    multiplies the mel spectrum. State starts from the first frame.
    """
    T, F = mel.shape
    power = np.empty(F)
    noise = np.empty(F)
    floor = np.empty(F)
    peak = np.empty(F)
    signal = np.empty(F)
    gain = np.empty(F)
    for t in range(T):
        if t == 0:
            for i in range(F):
                power[i] = mel[0, i]
                noise[i] = mel[0, i] / 20.0
                floor[i] = mel[0, i] / 20.0
                peak[i] = 0.0
        for i in range(F):
            power[i] = 0.7 * power[i] + 0.3 * mel[t, i]
            if power[i] >= noise[i]:
                noise[i] = 0.995 * noise[i] + 0.005 * power[i]
            else:
                noise[i] = 0.5 * noise[i] + 0.5 * power[i]
            s = power[i] - noise[i]
            if s < 1.0:
                s = 1.0
            if s >= floor[i]:
                floor[i] = 0.995 * floor[i] + 0.005 * s
            else:
                floor[i] = 0.5 * floor[i] + 0.5 * s
            cur = s
            peak[i] *= 0.85
            if s < 0.85 * peak[i]:
                s = peak[i] * 0.2
            if cur > peak[i]:
                peak[i] = cur
            if s < floor[i]:
                s = floor[i]
            signal[i] = s
            if s < 20.0 * power[i]:
                g = s / power[i]
            else:
                g = 20.0
            if g < 1.0 / 20.0:
                g = 1.0 / 20.0
            gain[i] = g
        for i in range(F):
            lo = i - 4 if i - 4 > 0 else 0
            hi = i + 4 if i + 4 < F - 1 else F - 1
            acc = 0.0
            for j in range(lo, hi + 1):
                acc += gain[j]
            mel[t, i] = mel[t, i] * (acc / (hi - lo + 1))


def _check_params(params):
    if params is None:
        return FeatureParams()
    if not isinstance(params, FeatureParams):
        raise ParameterError(
            f"params must be a FeatureParams (e.g. SphinxModel.load().feature_params), "
            f"got {type(params).__name__}"
        )
    check_option("params.transform", params.transform, _TRANSFORMS)
    check_option("params.feat", params.feat, _FEATS)
    check_option("params.agc", params.agc, _AGC)
    check_option("params.cmn", params.cmn, _CMN)
    if params.varnorm:
        raise ParameterError("params.varnorm=True is not supported; use varnorm=False")
    if params.upperf > params.sample_rate / 2 + 1.0:
        raise ParameterError(
            f"params.upperf={params.upperf} is above the Nyquist frequency "
            f"{params.sample_rate / 2}; lower it"
        )
    return params


def _coerce_samples(samples, sample_rate, params):
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer, float)):
        raise ParameterError(f"sample_rate must be a number in Hz, got {sample_rate!r}")
    if sample_rate != params.sample_rate:
        raise ParameterError(
            f"sample_rate={sample_rate} Hz but the front end expects "
            f"{params.sample_rate} Hz; resample first (align.audio.load resamples "
            f"to the model's rate)"
        )
    if is_torch_tensor(samples):
        samples = samples.detach().cpu().numpy()
    arr = np.asarray(samples)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ParameterError(
            f"samples must be mono, shape (n_samples,), got shape {arr.shape}; "
            f"average the channels first, e.g. samples.mean(axis=1)"
        )
    # The samples stay in their own precision here (float32 for decoded audio:
    # a 30-minute recording is 115 MB, not 230); each block of frames is widened
    # to float64 in _power_spectrum. Scaling by 2**15 is exact in either type.
    if arr.dtype == np.int16:
        # Already on PocketSphinx's scale.
        x = arr.astype(np.float32)
    else:
        x = as_float_array(arr, "samples", ndim=1)
        check_finite(x, "samples")
        # Float audio is in [-1, 1]; PocketSphinx sees 16-bit integers. Samples so far
        # outside that range that they overflow become inf here, and are reported later as
        # "far outside [-1, 1]" (an align error), so numpy's overflow warning is not shown
        with np.errstate(over="ignore"):
            x = x * x.dtype.type(32768.0)
    if x.size == 0:
        raise ParameterError("samples is empty; need at least one sample of audio")
    return x


def _power_spectrum(x, params, t0=0, t1=None, offset=0, before=None):
    """(t1 - t0, fft_size // 2 + 1) power spectra of frames t0..t1-1, pre-emphasised and windowed.

    Frames are computed block by block by the caller, so only the samples of
    this block are copied (a 30-minute recording in one go would need several
    GB of frame and spectrum buffers). ``x`` holds the signal's samples from
    index ``offset`` on (streaming), ``before`` the sample at ``offset - 1``;
    samples past the end of ``x`` are zeros (the last, partial frame).
    """
    size, shift, nfft = params.frame_size, params.frame_shift, params.fft_size
    T = params.n_frames(x.size)
    t1 = T if t1 is None else t1
    a = t0 * shift - offset
    b = shift * (t1 - 1) + size - offset
    seg = x[a:min(b, x.size)].astype(np.float64)
    prev = float(x[a - 1]) if a > 0 else (None if before is None else float(before))
    if not params.remove_dc and size <= nfft and t1 > t0:
        # framed, pre-emphasised, windowed and zero-padded to the FFT size in one compiled
        # pass: the same arithmetic as below (bit for bit), without its four full copies
        frames = np.empty((t1 - t0, nfft), dtype=np.float64)
        _window_frames(seg, prev is not None, 0.0 if prev is None else prev, float(params.alpha),
                       size, shift, _hamming(size), frames)
        return _power_of(np.fft.rfft(frames, axis=1))
    if params.alpha != 0.0:
        y = np.empty_like(seg)
        # the first sample of the signal is kept as is; later blocks use their history
        y[0] = seg[0] if prev is None else seg[0] - params.alpha * prev
        y[1:] = seg[1:] - params.alpha * seg[:-1]
    else:
        y = seg
    padded = np.zeros(b - a, dtype=np.float64)
    padded[: y.size] = y
    frames = np.lib.stride_tricks.sliding_window_view(padded, size)[::shift]
    if params.remove_dc:
        # Only the real samples of a frame count in its mean; the zero padding of
        # the last frame is not data. (PocketSphinx averages over the whole frame
        # buffer; with remove_dc off, as in every shipped model, this never runs.)
        frames = frames - frames.mean(axis=1, keepdims=True)
    return _power_of(np.fft.rfft(frames * _hamming(size), n=nfft, axis=1))


def _power_of(spec):
    """``spec.real**2 + spec.imag**2`` bit for bit, with one temporary instead of two
    (7.5 against 11.8 ms for 8192 frames of 257 bins)."""
    power = np.square(spec.real)
    power += np.square(spec.imag)
    return power


@functools.lru_cache(maxsize=8)
def _hamming(size):
    n = np.arange(size)
    window = 0.54 - 0.46 * np.cos(2.0 * np.pi * n / (size - 1.0))
    window.flags.writeable = False
    return window


#: frames per block of the spectrum stage (bounded memory for long recordings)
_SPECTRUM_BLOCK = 8192


def sphinx_cepstra(samples, sample_rate, params=None):
    """Sphinx MFCCs before mean normalisation, as PocketSphinx's front end makes them.

    Parameters
    ----------
    samples : np.ndarray [shape=(n_samples,)] or torch.Tensor
        Mono audio: floats in [-1, 1] (scaled by 32768) or int16.
    sample_rate : int
        Must equal ``params.sample_rate`` (16000 for the English model).
    params : FeatureParams or None
        Front-end settings; None means PocketSphinx's defaults. Use
        ``SphinxModel.load().feature_params`` for the English model.

    Returns
    -------
    np.ndarray [shape=(T, ncep), float32]
        ``T = params.n_frames(n_samples)``; frame ``t`` starts at sample
        ``t * frame_shift``.

    Raises
    ------
    ParameterError
        If the audio is not mono, not finite, empty, or at another rate.
    """
    params = _check_params(params)
    x = _coerce_samples(samples, sample_rate, params)
    bank = _cached_products(params)[0]
    T = params.n_frames(x.size)
    mel = np.empty((T, bank[0].shape[0]))
    for t0 in range(0, T, _SPECTRUM_BLOCK):
        t1 = min(T, t0 + _SPECTRUM_BLOCK)
        mel[t0:t1] = _rows_product(_power_spectrum(x, params, t0, t1), bank)
    return _cepstra_from_mel(mel, params)


def _cepstra_from_mel(mel, params):
    """Noise removal, log, DCT and lifter: (T, nfilt) mel energies to (T, ncep) float32."""
    if params.remove_noise:
        mel = np.ascontiguousarray(mel)
        _remove_noise(mel)
    logmel = np.log(mel + _LOG_FLOOR)
    cep = _rows_product(logmel, _cached_products(params)[1])
    lifter = _lifter_weights(params)
    if lifter is not None:
        cep *= lifter
    return cep.astype(np.float32)


def _cmn(cep, params, cmn):
    cep = cep.astype(np.float64)
    if cmn == "none":
        return cep
    voiced = cep[:, 0] >= 0.0
    if cmn == "batch":
        # PocketSphinx skips frames with c0 < 0 when it sums; with none left it
        # would divide by zero, so we fall back to every frame.
        rows = cep[voiced] if voiced.any() else cep
        return cep - rows.mean(axis=0)
    init = np.zeros(cep.shape[1])
    values = np.asarray(params.cmninit, dtype=np.float64)[: cep.shape[1]]
    init[: values.size] = values
    # One full utterance through cmn_live: the running mean is only updated
    # after the block, so every frame with c0 >= 0 loses the initial mean and
    # the others are left as they are.
    out = cep.copy()
    out[voiced] -= init
    return out


def sphinx_dynamic_features(cepstra, params=None):
    """Stack cepstra with their Sphinx deltas and double deltas (``1s_c_d_dd``).

    Parameters
    ----------
    cepstra : np.ndarray [shape=(T, ncep)]
        Mean-normalised cepstra.
    params : FeatureParams or None

    Returns
    -------
    np.ndarray [shape=(T, 3 * ncep), float32]
        ``[c[t], c[t+2] - c[t-2], (c[t+3] - c[t-1]) - (c[t+1] - c[t-3])]`` with the
        first and last frames repeated 3 times beyond the edges.

    Raises
    ------
    ParameterError
        If ``cepstra`` is not a non-empty 2-D array.
    """
    params = _check_params(params)
    cep = as_float_array(cepstra, "cepstra", ndim=2, dtype=np.float64)
    if cep.shape[0] == 0:
        raise ParameterError("cepstra has no frames; need at least one")
    T = cep.shape[0]
    win = 3
    pad = np.concatenate([np.repeat(cep[:1], win, 0), cep, np.repeat(cep[-1:], win, 0)])
    c = pad[win : win + T]
    d = pad[win + 2 : win + 2 + T] - pad[win - 2 : win - 2 + T]
    dd = (pad[win + 3 : win + 3 + T] - pad[win - 1 : win - 1 + T]) - (
        pad[win + 1 : win + 1 + T] - pad[win - 3 : win - 3 + T]
    )
    return np.concatenate([c, d, dd], axis=1).astype(np.float32)


def sphinx_features(samples, sample_rate, params=None, *, cmn=None):
    """Sphinx features ``[MFCC, delta, double delta]`` for PocketSphinx's acoustic models.

    Parameters
    ----------
    samples : np.ndarray [shape=(n_samples,)] or torch.Tensor
        Mono audio: floats in [-1, 1] (scaled by 32768, PocketSphinx reads 16-bit
        integers) or int16.
    sample_rate : int
        Must equal ``params.sample_rate`` (16000 for the English model); resample
        first otherwise (``align.audio.load`` does).
    params : FeatureParams or None
        Front-end settings; None means PocketSphinx's defaults. For the English
        model pass ``SphinxModel.load().feature_params`` (read from its
        ``feat.params``).
    cmn : {None, "batch", "live", "none"}
        Overrides ``params.cmn``.

    Returns
    -------
    np.ndarray [shape=(T, 3 * ncep), float32]
        One row per 10 ms frame; ``T = params.n_frames(n_samples)``, frame ``t``
        covers samples ``[t * 160, t * 160 + 410)``. Columns 0-12 are the cepstra,
        13-25 the deltas, 26-38 the double deltas (the model's three streams).

    Raises
    ------
    ParameterError
        If the audio is not mono, not finite, empty, at another rate, or an option
        is not supported.

    See Also
    --------
    sphinx_cepstra : the cepstra before normalisation.
    align.acoustic.sphinx_model.SphinxModel.score : senone log-likelihoods.

    Examples
    --------
    >>> import numpy as np
    >>> from align.audio.features import sphinx_features, FeatureParams
    >>> x = np.random.default_rng(0).standard_normal(16000) * 0.1
    >>> sphinx_features(x, 16000, FeatureParams(nfilt=25, transform="dct")).shape
    (99, 39)
    """
    params = _check_params(params)
    cmn = params.cmn if cmn is None else check_option("cmn", cmn, _CMN)
    cep = sphinx_cepstra(samples, sample_rate, params)
    return sphinx_dynamic_features(_cmn(cep, params, cmn), params)


def sphinx_features_stream(blocks, sample_rate, params=None, *, cmn=None):
    """:func:`sphinx_features` of a signal that arrives in blocks (bounded memory).

    Only the samples of the frames not yet computed are kept (one frame's
    worth plus the block being read), so a recording of any length is
    processed without holding it: the memory is the output, about 16 KB per
    second of audio, plus the cepstra of :func:`sphinx_cepstra_stream` (batch
    CMN needs every frame).

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n_k,)]
        Consecutive mono blocks at ``sample_rate`` (e.g.
        :func:`align.audio.load.iter_audio_blocks`), floats in [-1, 1] or int16.
    sample_rate : int
    params : FeatureParams or None
    cmn : {None, "batch", "live", "none"}

    Returns
    -------
    features : np.ndarray [shape=(T, 3 * ncep), float32]
        Exactly :func:`sphinx_features` of the concatenated blocks.
    n_samples : int
        Samples read.

    Raises
    ------
    ParameterError
        As :func:`sphinx_features`; also when no samples arrive.
    """
    params = _check_params(params)
    cmn = params.cmn if cmn is None else check_option("cmn", cmn, _CMN)
    cep, n_samples = sphinx_cepstra_stream(blocks, sample_rate, params)
    return sphinx_dynamic_features(_cmn(cep, params, cmn), params), n_samples


#: the settings the power spectra depend on; the rest (filter bank, DCT, lifter) may differ
#: between the parameter sets of one :func:`sphinx_cepstra_stream` call
_FRAMING = ("sample_rate", "frame_rate", "window_length", "nfft", "alpha", "remove_dc")


def sphinx_cepstra_stream(blocks, sample_rate, params=None):
    """:func:`sphinx_cepstra` of a signal that arrives in blocks (bounded memory).

    Only the samples of the frames not yet computed are kept. Without noise removal
    every frame's cepstra depend on that frame alone, so each block of frames is
    turned into cepstra at once and the memory is the (T, ncep) float32 output;
    with ``remove_noise`` (whose state runs over all frames) the (T, nfilt) mel
    energies are held until the end, as in :func:`sphinx_cepstra`.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n_k,)]
        As :func:`sphinx_features_stream`.
    sample_rate : int
    params : FeatureParams, sequence of FeatureParams, or None
        A sequence gives the cepstra of every set from one read of ``blocks`` and one
        power spectrum per frame (for example two filter banks); the sets must agree
        on the framing (sample rate, frame rate, window, FFT size, pre-emphasis, DC
        removal).

    Returns
    -------
    cepstra : np.ndarray [shape=(T, ncep), float32], or a list of them
        Exactly :func:`sphinx_cepstra` of the concatenated blocks; a list, in the
        order of ``params``, when ``params`` is a sequence.
    n_samples : int
        Samples read.

    Raises
    ------
    ParameterError
        As :func:`sphinx_cepstra`; also when no samples arrive, or when the sets of
        a sequence differ in their framing.
    """
    several = isinstance(params, (list, tuple))
    sets = [_check_params(q) for q in params] if several else [_check_params(params)]
    if not sets:
        raise ParameterError("params is an empty sequence; give at least one FeatureParams")
    for q in sets[1:]:
        differ = [k for k in _FRAMING if getattr(q, k) != getattr(sets[0], k)]
        if differ:
            raise ParameterError(
                f"the parameter sets share one power spectrum per frame, so they must agree on "
                f"{', '.join(differ)}; align them or call sphinx_cepstra_stream once per set"
            )
    params = sets[0]
    banks = [_cached_products(q)[0] for q in sets]
    size, shift = params.frame_size, params.frame_shift
    per_block = [not q.remove_noise for q in sets]  # cepstra block by block: the same rows, less memory
    rows = [[] for _ in sets]

    def add(spectrum):
        for k, q in enumerate(sets):
            mel = _rows_product(spectrum, banks[k])
            rows[k].append(_cepstra_from_mel(mel, q) if per_block[k] else mel)

    pending = np.empty(0, dtype=np.float32)
    offset = 0          # global index of pending[0]; always the start of frame t_next
    before = None       # the sample at offset - 1 (pre-emphasis history)
    t_next = 0
    n_samples = 0
    for block in blocks:
        x = _coerce_samples(block, sample_rate, params)
        n_samples += x.size
        pending = np.concatenate([pending, x]) if pending.size else x
        end = offset + pending.size
        if end < size:
            continue
        t_stop = (end - size) // shift + 1  # frames that lie wholly in the samples so far
        for t0 in range(t_next, t_stop, _SPECTRUM_BLOCK):
            add(_power_spectrum(pending, params, t0, min(t_stop, t0 + _SPECTRUM_BLOCK), offset, before))
        if t_stop > t_next:
            cut = t_stop * shift - offset
            before = pending[cut - 1]
            pending = pending[cut:]
            offset, t_next = t_stop * shift, t_stop
    if n_samples == 0:
        raise ParameterError("samples is empty; need at least one sample of audio")
    T = params.n_frames(n_samples)
    if T > t_next:  # the frames that reach past the end, zero-padded
        add(_power_spectrum(pending, params, t_next, T, offset, before))
    out = []
    for k, q in enumerate(sets):
        whole = np.concatenate(rows[k]) if len(rows[k]) > 1 else rows[k][0]
        rows[k] = None
        out.append(whole if per_block[k] else _cepstra_from_mel(whole, q))
    return (out if several else out[0]), n_samples
