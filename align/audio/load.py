"""Audio input: any file or array -> float32 samples at the rate the model wants.

:func:`load_audio` reads

- WAV, FLAC, OGG/Vorbis, AIFF and the other libsndfile formats with
  ``soundfile``;
- MP3, M4A/AAC, Opus, WebM, MP4 and anything else FFmpeg knows with PyAV
  (``av``), also used when libsndfile refuses a file;
- headerless 16-bit PCM (``.raw``, ``.pcm``) only with an explicit
  ``raw_sample_rate=`` (the file does not say its rate);
- ``(samples, sample_rate)`` tuples, where ``samples`` is a numpy array or a
  torch tensor.

Integer PCM is scaled to [-1, 1) (int16 / 32768 and so on), several channels are
averaged to one (``mono=True``), and the signal is resampled with
:func:`scipy.signal.resample_poly` at the exact rational ratio
``target / source`` reduced by their gcd (a Kaiser-windowed polyphase FIR,
beta 5). :func:`iter_audio_blocks` does the same in blocks for files too long to
hold in memory, and its output equals :func:`load_audio`'s sample for sample
(up to float rounding).
"""

import math
import os
from typing import NamedTuple

import numpy as np

from .._validation import check_finite, check_positive_int, is_torch_tensor
from ..exceptions import ParameterError

__all__ = ["load_audio", "iter_audio_blocks", "resample", "audio_info", "AudioInfo"]

# Extensions that go to PyAV first (libsndfile cannot read them, or reads them badly).
_AV_FIRST = {".mp3", ".m4a", ".mp4", ".aac", ".opus", ".webm", ".wma", ".mkv", ".mov", ".ac3", ".amr"}
_RAW = {".raw", ".pcm"}
_RAW_DTYPES = {"int16": "<i2", "int32": "<i4", "float32": "<f4", "uint8": "u1", "int8": "i1"}


# --------------------------------------------------------------------------- helpers


def _to_float(samples, name):
    """Scale integer PCM to [-1, 1); keep float32, convert float64 to float32."""
    kind = samples.dtype.kind
    if kind == "b":
        raise ParameterError(f"{name} must hold audio samples, got dtype bool")
    if kind == "u":
        bits = samples.dtype.itemsize * 8
        return ((samples.astype(np.float64) - 2 ** (bits - 1)) / 2 ** (bits - 1)).astype(np.float32)
    if kind == "i":
        bits = samples.dtype.itemsize * 8
        return (samples.astype(np.float64) / 2 ** (bits - 1)).astype(np.float32)
    if kind == "f":
        return samples.astype(np.float32, copy=False)
    raise ParameterError(f"{name} must hold audio samples (numbers), got dtype {samples.dtype}")


def _channels_first(samples, name):
    """(N,) -> (1, N); (N, C) or (C, N) -> (C, N): channels is the short axis."""
    if samples.ndim == 1:
        return samples[None, :]
    if samples.ndim != 2:
        raise ParameterError(
            f"{name} must have shape (n_samples,), (n_samples, n_channels) or "
            f"(n_channels, n_samples), got shape {samples.shape}"
        )
    rows, cols = samples.shape
    if rows <= 16 and rows < cols:
        return samples
    if cols <= 16 and cols < rows:
        return samples.T
    raise ParameterError(
        f"{name} has shape {samples.shape}: cannot tell channels from samples (the channel "
        f"axis must be the shorter one, with at most 16 channels); pass a 1-D array per channel"
    )


def resample(samples, orig_sr, target_sr):
    """Resample along the last axis with a polyphase filter at the exact gcd ratio.

    Parameters
    ----------
    samples : np.ndarray [shape=(..., n), float32]
    orig_sr, target_sr : int

    Returns
    -------
    np.ndarray [shape=(..., ceil(n * target_sr / orig_sr)), float32]
    """
    orig_sr, target_sr = int(orig_sr), int(target_sr)
    if orig_sr == target_sr:
        return samples
    from scipy.signal import resample_poly

    g = math.gcd(orig_sr, target_sr)
    out = resample_poly(samples, target_sr // g, orig_sr // g, axis=-1)
    return np.ascontiguousarray(out, dtype=np.float32)


def _finish(samples, sr, sample_rate, mono, name):
    """(C, N) float32 at sr -> the requested layout and rate."""
    if samples.shape[-1] == 0:
        raise ParameterError(f"{name} holds no samples; expected at least one")
    check_finite(samples, name)
    if mono:
        samples = samples.mean(axis=0)
    if sample_rate is not None and sample_rate != sr:
        samples = resample(samples, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(samples, dtype=np.float32), int(sr)


def _check_path(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ParameterError(f"audio file {path!r} does not exist; check the path")
    if os.path.isdir(path):
        raise ParameterError(f"audio file {path!r} is a directory; give a file")
    if not os.access(path, os.R_OK):
        raise ParameterError(f"audio file {path!r} is not readable (permission denied); check its permissions")
    if os.path.getsize(path) == 0:
        raise ParameterError(f"audio file {path!r} is empty (0 bytes)")
    return path


# --------------------------------------------------------------------------- readers


def _read_soundfile(path):
    import soundfile as sf

    data, sr = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(sr)


def _av_audio_stream(container, path):
    streams = [s for s in container.streams if s.type == "audio"]
    if not streams:
        raise ParameterError(f"{path!r} has no audio stream")
    return streams[0]


def _av_frames(path):
    """Yield (C, n) float32 chunks and the rate of the first audio stream via PyAV."""
    import av

    with av.open(path) as container:
        stream = _av_audio_stream(container, path)
        # planar float, same layout and rate as the source: no FFmpeg resampling
        resampler = av.AudioResampler(format="fltp")
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray(), int(out.sample_rate)
        for out in resampler.resample(None):
            yield out.to_ndarray(), int(out.sample_rate)


def _read_av(path):
    chunks, sr = [], None
    for chunk, rate in _av_frames(path):
        chunks.append(chunk)
        sr = rate
    if not chunks:
        # FFmpeg opens some garbage without complaint and decodes nothing
        raise ValueError("no audio frames could be decoded")
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32), sr


def _read_raw(path, raw_sample_rate, raw_dtype, raw_channels):
    if raw_dtype not in _RAW_DTYPES:
        raise ParameterError(
            f"raw_dtype={raw_dtype!r} is not supported; use one of {', '.join(map(repr, _RAW_DTYPES))}"
        )
    data = np.fromfile(path, dtype=_RAW_DTYPES[raw_dtype])
    usable = data.size - data.size % raw_channels
    data = data[:usable].reshape(-1, raw_channels).T
    return _to_float(data, f"raw audio file {path!r}"), raw_sample_rate


def _read_file(path, raw_sample_rate, raw_dtype, raw_channels):
    """(C, N) float32 and the file's rate; library errors become ParameterError."""
    path = _check_path(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in _RAW or raw_sample_rate is not None:
        if raw_sample_rate is None:
            raise ParameterError(
                f"{path!r} is headerless raw PCM, which does not record its sample rate; "
                f"pass raw_sample_rate= (and raw_dtype=, raw_channels= if not 16-bit mono)"
            )
        raw_sample_rate = check_positive_int("raw_sample_rate", raw_sample_rate)
        raw_channels = check_positive_int("raw_channels", raw_channels)
        return _read_raw(path, raw_sample_rate, raw_dtype, raw_channels)
    readers = [_read_av, _read_soundfile] if ext in _AV_FIRST else [_read_soundfile, _read_av]
    errors = []
    for reader in readers:
        try:
            return reader(path)
        except ParameterError:
            raise
        except ImportError as exc:
            errors.append(exc)
        except Exception as exc:  # soundfile.LibsndfileError, av.error.*, RuntimeError
            errors.append(exc)
    reasons = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
    raise ParameterError(
        f"cannot read {path!r} as audio ({reasons}); expected a wav, flac, ogg, mp3 or m4a "
        f"file, or raw PCM with raw_sample_rate="
    ) from errors[-1]


# --------------------------------------------------------------------------- public


def load_audio(
    source,
    *,
    sample_rate=16000,
    mono=True,
    input_sample_rate=None,
    raw_sample_rate=None,
    raw_dtype="int16",
    raw_channels=1,
):
    """Load audio from a file or an array, as float32 at ``sample_rate``.

    Parameters
    ----------
    source : str, os.PathLike, (array_like or torch.Tensor, int) tuple, or array
        A file path; a ``(samples, sample_rate)`` pair; or a bare array/tensor
        together with ``input_sample_rate=``. Arrays may be ``(n,)``,
        ``(n, channels)`` or ``(channels, n)`` (the channel axis is the shorter
        one), integer PCM or float.
    sample_rate : int or None
        Output rate in Hz; None keeps the source's rate.
    mono : bool
        Average the channels to one. With ``mono=False`` the result has shape
        ``(channels, n)``.
    input_sample_rate : int or None
        The rate of a bare array or tensor ``source``.
    raw_sample_rate : int or None
        The rate of a headerless PCM file (``.raw``, ``.pcm``); required for them.
    raw_dtype : {"int16", "int32", "float32", "uint8", "int8"}
        Sample type of a raw file (little-endian).
    raw_channels : int
        Interleaved channels of a raw file.

    Returns
    -------
    samples : np.ndarray [shape=(n,) or (channels, n), float32]
    sample_rate : int

    Raises
    ------
    ParameterError
        If the file is missing or is not audio (the message names the path and
        the decoders' reasons), the array has a bad shape, dtype or non-finite
        values, or holds no samples, or a raw file comes without its rate.

    Examples
    --------
    >>> import numpy as np
    >>> y, sr = load_audio((np.zeros(8000, dtype=np.int16), 8000))
    >>> y.shape, y.dtype, sr
    ((16000,), dtype('float32'), 16000)
    """
    if sample_rate is not None:
        sample_rate = check_positive_int("sample_rate", sample_rate)
    if isinstance(source, (str, os.PathLike)):
        samples, sr = _read_file(source, raw_sample_rate, raw_dtype, raw_channels)
        name = f"audio file {os.fspath(source)!r}"
    else:
        if isinstance(source, tuple):
            if len(source) != 2:
                raise ParameterError(
                    f"an audio tuple must be (samples, sample_rate), got a tuple of length {len(source)}"
                )
            source, sr = source
        elif isinstance(source, np.ndarray) or is_torch_tensor(source) or isinstance(source, list):
            if input_sample_rate is None:
                raise ParameterError(
                    "a bare array of samples has no sample rate; pass (samples, sample_rate) "
                    "or input_sample_rate="
                )
            sr = input_sample_rate
        else:
            raise ParameterError(
                f"audio must be a file path or (samples, sample_rate), got {type(source).__name__}"
            )
        sr = check_positive_int("sample rate of the audio", sr)
        if is_torch_tensor(source):
            source = source.detach().cpu().numpy()
        name = "audio samples"
        arr = np.asarray(source)
        samples = _to_float(_channels_first(arr, name), name)
    return _finish(samples, sr, sample_rate, mono, name)


class AudioInfo(NamedTuple):
    """What a file's header says: rate (Hz), channels, length (None if unknown)."""

    sample_rate: int
    channels: int
    n_samples: int | None
    duration: float | None


def audio_info(path):
    """Rate, channels and length of an audio file, read from its header.

    Returns
    -------
    AudioInfo
        ``n_samples`` and ``duration`` may be None for streams that do not
        record their length.

    Raises
    ------
    ParameterError
        If the file is missing or not audio.
    """
    path = _check_path(path)
    try:
        import soundfile as sf

        info = sf.info(path)
        return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames),
                         info.frames / info.samplerate)
    except Exception as first:
        try:
            import av

            with av.open(path) as container:
                stream = _av_audio_stream(container, path)
                duration = None
                if stream.duration is not None and stream.time_base is not None:
                    duration = float(stream.duration * stream.time_base)
                elif container.duration is not None:
                    duration = container.duration / 1_000_000
                n = None if duration is None else int(round(duration * stream.rate))
                return AudioInfo(int(stream.rate), int(stream.channels), n, duration)
        except ParameterError:
            raise
        except Exception as exc:
            raise ParameterError(
                f"cannot read {path!r} as audio ({type(first).__name__}: {first}; "
                f"{type(exc).__name__}: {exc})"
            ) from exc


def _native_chunks(path, block, raw_sample_rate, raw_dtype, raw_channels):
    """Yield ((C, n) float32, rate) chunks of a file without reading it whole."""
    path = _check_path(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in _RAW or raw_sample_rate is not None:
        # raw files are memory-mapped, so slicing them reads only the slice
        if raw_sample_rate is None:
            _read_file(path, None, raw_dtype, raw_channels)  # raises the usual message
        raw_sample_rate = check_positive_int("raw_sample_rate", raw_sample_rate)
        raw_channels = check_positive_int("raw_channels", raw_channels)
        if raw_dtype not in _RAW_DTYPES:
            _read_raw(path, raw_sample_rate, raw_dtype, raw_channels)  # raises
        data = np.memmap(path, dtype=_RAW_DTYPES[raw_dtype], mode="r")
        usable = data.size - data.size % raw_channels
        step = block * raw_channels
        for i in range(0, usable, step):
            chunk = np.asarray(data[i : min(i + step, usable)]).reshape(-1, raw_channels).T
            yield _to_float(chunk, f"raw audio file {path!r}"), raw_sample_rate
        return
    first_error = None
    if ext not in _AV_FIRST:
        try:
            import soundfile as sf

            fh = sf.SoundFile(path)
        except Exception as exc:
            fh, first_error = None, exc
        if fh is not None:
            with fh:
                sr = int(fh.samplerate)
                done = 0
                blocks = fh.blocks(blocksize=block, dtype="float32", always_2d=True)
                while True:
                    try:
                        chunk = next(blocks)
                    except StopIteration:
                        break
                    except Exception as exc:  # soundfile.LibsndfileError: truncated or corrupt data
                        raise ParameterError(
                            f"cannot read {path!r} as audio: it is truncated or corrupt (decoding failed in the "
                            f"block after {done / sr:.2f} s; {type(exc).__name__}: {exc}); re-encode or replace "
                            "the file") from exc
                    done += chunk.shape[0]
                    yield np.ascontiguousarray(chunk.T), sr
            return
    decoded = False
    try:
        for chunk, rate in _av_frames(path):
            decoded = True
            yield chunk, rate
        if not decoded:
            raise ValueError("no audio frames could be decoded")
    except ParameterError:
        raise
    except Exception as exc:
        errors = [e for e in (first_error, exc) if e is not None]
        reasons = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        raise ParameterError(f"cannot read {path!r} as audio ({reasons})") from exc


def iter_audio_blocks(
    path,
    *,
    block_duration=30.0,
    sample_rate=16000,
    mono=True,
    raw_sample_rate=None,
    raw_dtype="int16",
    raw_channels=1,
):
    """Stream a long file in blocks of about ``block_duration`` seconds, resampled.

    Memory stays bounded by a few blocks whatever the file's length. The
    concatenated blocks equal :func:`load_audio`'s output (same filter, same
    phase): each block is resampled with enough neighbouring input on both
    sides for the filter, and the margins are cut off again.

    Parameters
    ----------
    path : str or os.PathLike
    block_duration : float
        Seconds of output per block (the last block may be shorter).
    sample_rate, mono, raw_sample_rate, raw_dtype, raw_channels
        As in :func:`load_audio`.

    Yields
    ------
    np.ndarray [shape=(n,) or (channels, n), float32]
        Consecutive blocks at ``sample_rate`` (or the file's rate if None).

    Raises
    ------
    ParameterError
        As :func:`load_audio`, and for a non-positive ``block_duration``.
    """
    if not (isinstance(block_duration, (int, float)) and block_duration > 0):
        raise ParameterError(f"block_duration must be a positive number of seconds, got {block_duration!r}")
    if sample_rate is not None:
        sample_rate = check_positive_int("sample_rate", sample_rate)
    # Native-rate chunks of about one block; the rate is known after the first.
    info_rate = None
    buffer = None  # (C, m) input samples not yet consumed, starting at global index buf_start
    buf_start = 0
    pos = 0  # global index of the next input sample to turn into output
    up = down = step = margin = None
    name = f"audio file {os.fspath(path)!r}"
    seen_any = False

    def emit(final):
        nonlocal buffer, buf_start, pos
        out = []
        while True:
            available_end = buf_start + buffer.shape[1]
            if not final and available_end < pos + step + margin:
                break
            if pos >= available_end:
                break
            left = min(margin, pos)
            seg_start = pos - left
            seg_end = available_end if final else pos + step + margin
            seg = buffer[:, seg_start - buf_start : seg_end - buf_start]
            check_finite(seg, name)
            if mono:
                seg = seg.mean(axis=0, keepdims=True)
            y = resample(seg, info_rate, target) if target != info_rate else seg
            o0 = left * up // down
            if final and seg_end == available_end and pos + step >= available_end:
                block_out = y[:, o0:]
                pos = available_end
            else:
                block_out = y[:, o0 : o0 + step * up // down]
                pos += step
            out.append(block_out[0] if mono else np.ascontiguousarray(block_out))
            # drop input that no later block needs as left context
            keep_from = max(pos - margin, buf_start)
            buffer = buffer[:, keep_from - buf_start :]
            buf_start = keep_from
            if final and pos >= available_end:
                break
        return out

    target = None
    pending, pending_len = [], 0
    for chunk, rate in _native_chunks(path, 65536, raw_sample_rate, raw_dtype, raw_channels):
        if info_rate is None:
            info_rate = rate
            target = sample_rate if sample_rate is not None else rate
            g = math.gcd(info_rate, target)
            up, down = target // g, info_rate // g
            # resample_poly's filter reaches 10 * max(up, down) upsampled samples each way
            reach = math.ceil(10 * max(up, down) / up) + 1
            margin = math.ceil(reach / down) * down
            step = max(down, int(round(block_duration * info_rate / down)) * down)
            buffer = np.zeros((chunk.shape[0], 0), dtype=np.float32)
        if chunk.shape[1] == 0:
            continue
        seen_any = True
        # Collect decoder frames (often ~1k samples each) and join them only when a
        # block can be emitted: joining per frame would copy the buffer each time.
        pending.append(chunk.astype(np.float32, copy=False))
        pending_len += chunk.shape[1]
        if buf_start + buffer.shape[1] + pending_len >= pos + step + margin:
            buffer = np.concatenate([buffer, *pending], axis=1)
            pending, pending_len = [], 0
            yield from emit(final=False)
    if not seen_any:
        raise ParameterError(f"{name} holds no samples (empty, or truncated before its first audio frame); "
                             "expected at least one")
    buffer = np.concatenate([buffer, *pending], axis=1)
    yield from emit(final=True)
