"""Video input: container facts, frame times, frames in blocks, the audio track.

PyAV (``av``, the ``video`` extra) decodes. Every time is a frame's
presentation timestamp, ``pts * time_base`` in seconds, so variable frame rate
video gets its real times, not ``index / fps``. Frames are numbered ``0, 1, ...``
in presentation order, the order the decoder outputs them.

- :func:`open_video` -> :class:`VideoInfo`: size, duration, frame count and rate,
  whether the rate varies, the audio track. With ``scan=True`` (the default) the
  packets are read once (demuxed, not decoded: fast) so the count, duration and
  rate are exact and not what the header claims.
- :func:`frame_times`: ``(n_frames,)`` seconds, from the packets' timestamps
  (no decoding), equal to the decoded frames' times.
- :func:`iter_frames`: ``(times, frames)`` blocks of at most ``block`` frames,
  scaled and converted by FFmpeg (swscale) while decoding, in bounded memory.
- :func:`read_audio`: the audio track as float32 mono at ``sample_rate``, through
  :func:`align.audio.load.load_audio` (which reads containers with PyAV).

A missing file, a file FFmpeg cannot read, a file without a video stream and a
stream that decodes to nothing raise :class:`~align.exceptions.ParameterError`
naming the path, never a PyAV exception.
"""

import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._validation import check_positive_int
from ..exceptions import ParameterError

__all__ = ["VideoInfo", "open_video", "frame_times", "iter_frames", "read_audio"]

INSTALL_HINT = "install the video extra: pip install 'fusealign[video]'"


# --------------------------------------------------------------------------- helpers


def _import_av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the extra is installed in the test env
        raise ParameterError(f"reading video needs PyAV (av), which is missing; {INSTALL_HINT}") from exc
    return av


def _check_path(path):
    if isinstance(path, VideoInfo):
        path = path.path
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"a video must be given as a file path, got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ParameterError(f"video file {path!r} does not exist; check the path")
    if os.path.isdir(path):
        raise ParameterError(f"video file {path!r} is a directory; give a file")
    return path


def _open_container(av, path):
    try:
        return av.open(path)
    except Exception as exc:  # av.error.InvalidDataError, PermissionError, ...
        raise ParameterError(
            f"cannot open {path!r} as a video ({type(exc).__name__}: {exc}); expected a file "
            f"FFmpeg can read (mp4, mkv, webm, mov, avi, ...)"
        ) from exc


def _video_stream(container, path):
    streams = container.streams.video
    if not streams:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise ParameterError(f"{path!r} has no video stream (streams: {', '.join(kinds)})")
    return streams[0]


def _fraction(value):
    """PyAV rationals (Fraction or AVRational) -> Fraction; None or 0 -> None."""
    if not value:
        return None
    return Fraction(value.numerator, value.denominator)


def _seconds(pts, tb):
    """Integer timestamps -> float64 seconds, rounded once (``pts * num / den``).

    Decoded frames go through the same arithmetic, so packet and frame times
    agree to the bit.
    """
    pts = np.asarray(pts, dtype=np.int64)
    if tb is None:
        return pts.astype(np.float64)
    return (pts * tb.numerator).astype(np.float64) / float(tb.denominator)


def _nominal_fps(stream):
    """The rate the header declares (for numbering only), or None."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        rate = _fraction(rate)
        if rate is not None and rate > 0:
            return float(rate)
    return None


def _scan_packets(av, path):
    """Demux (not decode) the first video stream: sorted pts seconds and the end time.

    Packets FFmpeg marks as discarded (edit-list priming) or that carry no data
    are not frames and are left out.
    """
    with _open_container(av, path) as container:
        stream = _video_stream(container, path)
        tb = _fraction(stream.time_base)
        pts, ends, missing = [], [], 0
        try:
            for packet in container.demux(stream):
                if not packet.size or packet.is_discard:
                    continue
                if packet.pts is None:
                    missing += 1
                    continue
                pts.append(packet.pts)
                if packet.duration:
                    ends.append(packet.pts + packet.duration)
        except av.error.FFmpegError as exc:
            raise ParameterError(
                f"cannot read the packets of {path!r} ({type(exc).__name__}: {exc})"
            ) from exc
        if missing:
            return None  # timestamps unknown: the caller decodes instead
        pts = np.sort(np.asarray(pts, dtype=np.int64))
        times = _seconds(pts, tb)
        end = float(_seconds(np.asarray([max(ends)]), tb)[0]) if ends else None
        return times, end


def _decoded_times(av, path):
    """Presentation times of the decoded frames (for files whose packets carry no pts)."""
    times = [t for t, _ in _decode(av, path)]
    return np.asarray(times, dtype=np.float64), None


def _end_time(times, end, nominal):
    """Where the last frame stops: its packet's end, else one more interval."""
    if end is not None and end > times[-1]:
        return float(end)
    if times.size >= 2:
        return float(times[-1] + (times[-1] - times[-2]))
    return float(times[-1] + (1.0 / nominal if nominal else 0.0))


def _is_variable(times, tick):
    """Whether the frame intervals differ by more than timestamp rounding."""
    if times.size < 3:
        return False
    d = np.diff(times)
    return bool(np.ptp(d) > 2 * tick + 0.01 * float(np.median(d)))


def _decode(av, path, meta=None):
    """Yield ``(time, av.VideoFrame)`` for every frame of the first video stream, in order.

    ``meta``, a dict, receives ``"fps"`` (the header's rate) before the first frame.
    """
    with _open_container(av, path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        last = None
        nominal = _nominal_fps(stream)
        if meta is not None:
            meta["fps"] = nominal
        step = 1.0 / (nominal or 25.0)
        n = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and frame.time_base:
                    t = frame.pts * frame.time_base.numerator / frame.time_base.denominator
                else:  # no timestamp: one nominal interval after the last frame
                    t = 0.0 if last is None else last + step
                last = t
                n += 1
                yield t, frame
        except av.error.FFmpegError as exc:
            raise ParameterError(
                f"cannot decode {path!r} after {n} frames ({type(exc).__name__}: {exc}); "
                f"the file may be corrupt or truncated"
            ) from exc
        if n == 0:
            raise ParameterError(f"{path!r} has a video stream but no frame could be decoded; "
                                 f"the file may be corrupt or empty")


# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`open_video` found out about a video file.

    Attributes
    ----------
    path : str
    duration : float
        Seconds from the first frame's start to the last frame's end (with
        ``scan=False``: the header's duration).
    width, height : int
        Frame size in pixels, as decoded (before any display rotation).
    fps : float
        Average frame rate, ``n_frames / (end - start)`` (with ``scan=False``:
        the header's average rate).
    n_frames : int
        Number of frames (with ``scan=False``: the header's count, or an estimate
        ``round(duration * fps)`` where the header has none, as in mkv/webm).
    variable_frame_rate : bool
        Whether the frame intervals differ by more than timestamp rounding
        (always False with ``scan=False``: the header cannot tell).
    has_audio : bool
    audio_sample_rate, audio_channels : int or None
        Of the first audio stream; None without one.
    start_time : float
        Presentation time of the first frame in seconds (usually 0).
    audio_start_time : float or None
        Presentation time of the first audio sample that :func:`read_audio`
        returns (usually 0); the soundtrack's offset from the frames is
        ``audio_start_time - start_time``.
    """

    path: str
    duration: float
    width: int
    height: int
    fps: float
    n_frames: int
    variable_frame_rate: bool
    has_audio: bool
    audio_sample_rate: int | None
    audio_channels: int | None
    start_time: float = 0.0
    audio_start_time: float | None = None


def open_video(path, *, scan=True):
    """Read a video file's facts: size, duration, frames, rate, audio.

    Parameters
    ----------
    path : str or os.PathLike
    scan : bool
        Read every packet (demux, no decoding: about as fast as reading the
        file) so that ``n_frames``, ``duration``, ``fps`` and
        ``variable_frame_rate`` are exact. ``False`` trusts the header only.

    Returns
    -------
    VideoInfo

    Raises
    ------
    ParameterError
        If the file is missing, is not a video FFmpeg can read, has no video
        stream, or PyAV is not installed.

    Examples
    --------
    >>> info = open_video("clip.mp4")  # doctest: +SKIP
    >>> info.width, info.height, info.fps, info.n_frames  # doctest: +SKIP
    (320, 240, 25.0, 1500)
    """
    av = _import_av()
    path = _check_path(path)
    with _open_container(av, path) as container:
        stream = _video_stream(container, path)
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        nominal = _nominal_fps(stream)
        tb = _fraction(stream.time_base)
        header_frames = int(stream.frames or 0)
        if stream.duration is not None and tb is not None:
            header_duration = float(stream.duration * tb)
        elif container.duration is not None:
            header_duration = container.duration / 1_000_000
        else:
            header_duration = None
        start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
        audio = container.streams.audio
        has_audio = bool(audio)
        audio_rate = int(audio[0].codec_context.sample_rate) if has_audio else None
        audio_channels = int(audio[0].codec_context.channels) if has_audio else None
        audio_start = None
        if has_audio:
            atb = _fraction(audio[0].time_base)
            audio_start = float(audio[0].start_time * atb) if audio[0].start_time is not None and atb else 0.0
    if scan:
        scanned = _scan_packets(av, path)
        if scanned is None:
            times, end = _decoded_times(av, path)
        else:
            times, end = scanned
        if times.size == 0:
            raise ParameterError(f"{path!r} has a video stream without frames")
        stop = _end_time(times, end, nominal)
        duration = stop - float(times[0])
        n_frames = int(times.size)
        fps = n_frames / duration if duration > 0 else (nominal or 0.0)
        variable = _is_variable(times, float(tb) if tb else 0.0)
        start = float(times[0])
    else:
        duration = header_duration if header_duration is not None else 0.0
        fps = nominal or 0.0
        n_frames = header_frames or int(round(duration * fps))
        variable = False
    return VideoInfo(path=path, duration=float(duration), width=width, height=height, fps=float(fps),
                     n_frames=n_frames, variable_frame_rate=variable, has_audio=has_audio,
                     audio_sample_rate=audio_rate, audio_channels=audio_channels, start_time=start,
                     audio_start_time=audio_start)


def frame_times(path):
    """Presentation time of every frame, in seconds, in presentation order.

    Read from the packets' timestamps (``pts * time_base``) without decoding;
    for the rare file whose packets carry no timestamps the frames are decoded.
    Variable frame rate video gets its real, uneven times.

    Parameters
    ----------
    path : str or os.PathLike or VideoInfo

    Returns
    -------
    np.ndarray [shape=(n_frames,), float64]
        Increasing seconds; ``times[0]`` is the stream's start (usually 0).

    Raises
    ------
    ParameterError
        As :func:`open_video`.
    """
    av = _import_av()
    path = _check_path(path)
    scanned = _scan_packets(av, path)
    times = _decoded_times(av, path)[0] if scanned is None else scanned[0]
    if times.size == 0:
        raise ParameterError(f"{path!r} has a video stream without frames")
    return times


def _output_size(width, height, size, scale):
    if size is not None and scale is not None:
        raise ParameterError("give size=(width, height) or scale=, not both")
    if size is not None:
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ParameterError(f"size must be a (width, height) pair, got {size!r}")
        w = check_positive_int("size[0] (width)", size[0])
        h = check_positive_int("size[1] (height)", size[1])
        return w, h
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ParameterError(f"scale must be a positive number, got {scale!r}")
        return max(1, int(round(width * scale))), max(1, int(round(height * scale)))
    return width, height


def iter_frames(path, *, size=None, scale=None, gray=False, block=256):
    """Decode a video block by block: ``(times, frames)`` of at most ``block`` frames.

    Scaling and colour conversion happen in FFmpeg (swscale, bilinear) as each
    frame is decoded. Each block is a new array (keeping one does not pin the
    others), so the reader itself holds at most one block,
    ``block * height * width * 3`` bytes (``* 1`` with ``gray=True``) at the
    output size, plus the decoder's few reference frames, whatever the
    video's length.

    Parameters
    ----------
    path : str or os.PathLike or VideoInfo
    size : (int, int) or None
        Output ``(width, height)`` in pixels. None: the first frame's size
        (later frames of another size are scaled to it).
    scale : float or None
        Output size as a factor of the video's size (rounded, at least 1 px);
        exclusive with ``size``.
    gray : bool
        Luma only (``(k, h, w)``) instead of RGB (``(k, h, w, 3)``).
    block : int
        Frames per block (the last block may be shorter).

    Yields
    ------
    times : np.ndarray [shape=(k,), float64]
        Presentation times in seconds (as :func:`frame_times`).
    frames : np.ndarray [shape=(k, h, w, 3) or (k, h, w), uint8]
        RGB (or gray) frames, ``1 <= k <= block``.

    Raises
    ------
    ParameterError
        As :func:`open_video`; for a bad ``size``, ``scale`` or ``block``; and
        when decoding fails part way (the message says after how many frames).
    """
    av = _import_av()
    path = _check_path(path)
    block = check_positive_int("block", block)
    # sizes are checked before the first frame so that a bad argument fails at once
    _output_size(1, 1, size, scale)
    return _iter_blocks(av, path, size, scale, "gray" if gray else "rgb24", block)


def _iter_blocks(av, path, size, scale, fmt, block, interpolation="BILINEAR"):
    # one reformatter for the whole video: frame.to_ndarray(width=...) would build
    # a new swscale context for every frame, several times slower
    convert = av.video.reformatter.VideoReformatter().reformat
    out = times = None
    k = 0
    width = height = None
    for t, frame in _decode(av, path):
        if width is None:
            width, height = _output_size(frame.width, frame.height, size, scale)
        image = convert(frame, width=width, height=height, format=fmt,
                        interpolation=interpolation).to_ndarray()
        if out is None:
            out = np.empty((block, *image.shape), dtype=np.uint8)
            times = np.empty(block, dtype=np.float64)
        out[k] = image
        times[k] = t
        k += 1
        if k == block:
            yield times, out
            out = times = None
            k = 0
    if k:
        # views of the last, partly filled block: no copy, still within one block
        yield times[:k], out[:k]


def read_audio(path, sample_rate=16000):
    """The video's (first) audio track as float32 mono at ``sample_rate``.

    Decoded with PyAV and resampled by :func:`align.audio.load.load_audio`
    (polyphase filter at the exact rational ratio); channels are averaged.

    Parameters
    ----------
    path : str or os.PathLike or VideoInfo
    sample_rate : int or None
        Output rate in Hz; None keeps the track's rate.

    Returns
    -------
    np.ndarray [shape=(n_samples,), float32]
        Sample 0 is at :attr:`VideoInfo.audio_start_time`. Encoder priming that
        the file marks (an mp4 edit list) is dropped by the decoder; the
        encoder's padding after the end is kept.

    Raises
    ------
    ParameterError
        If the file is missing or unreadable, or has no audio stream.
    """
    from ..audio.load import load_audio

    _import_av()
    path = _check_path(path)
    info = open_video(path, scan=False)
    if not info.has_audio:
        raise ParameterError(f"{path!r} has no audio stream; there is no soundtrack to read")
    samples, _ = load_audio(path, sample_rate=sample_rate, mono=True)
    return samples
