"""Shot boundaries: PySceneDetect's detectors fed by our own PyAV decoding.

:func:`detect_shots` decodes the video once, with PyAV, converts each frame
to BGR at the size PySceneDetect's ``SceneManager`` would process (one
bilinear swscale pass, where PySceneDetect converts at full size and then
calls ``cv2.resize``), and hands the frames to a PySceneDetect detector
(``scenedetect``, the ``video`` extra):

- ``"content"``: :class:`scenedetect.ContentDetector`, hard cuts: the mean
  change of hue, saturation and luma between consecutive frames (HSV) goes
  over ``threshold`` (default 27, on a 0-255 scale). With scenedetect 0.7 on,
  its score is computed by :class:`_ContentScore` (the same score to the last
  bit, summed by OpenCV, twice as fast) and its cut rule is PySceneDetect's own
  ``FlashFilter``.
- ``"adaptive"``: :class:`scenedetect.AdaptiveDetector`, hard cuts where that
  change stands out from its rolling average (``threshold`` = ratio, default 3);
  steadier under fast camera motion.
- ``"threshold"``: :class:`scenedetect.ThresholdDetector`, fades to and from
  black: the frame's mean intensity falls below / rises above ``threshold``
  (default 12); the cut is placed half way through the dark stretch.

Frames are numbered in the order the decoder outputs them (presentation
order), so the numbers
are PyAV's and :func:`align.video.reader.frame_times`'s, also on variable frame
rate video: PySceneDetect's own backends number a frame ``round(pts * fps)``,
which on variable-rate video skips and repeats numbers; here the detector is
given the frame's index, and times come from the frames' timestamps.

A cut at frame ``c`` means frame ``c`` is the first frame of a new shot.
"""

import inspect
import queue
import threading
from typing import NamedTuple

import numpy as np

from .._validation import check_option, check_positive_int
from ..exceptions import ParameterError
from .reader import INSTALL_HINT, _check_path, _decode, _import_av

__all__ = ["Shot", "detect_shots", "DETECTORS"]

#: detector name -> (scenedetect class name, its threshold argument, default threshold)
DETECTORS = {
    "content": ("ContentDetector", "threshold", 27.0),
    "adaptive": ("AdaptiveDetector", "adaptive_threshold", 3.0),
    "threshold": ("ThresholdDetector", "threshold", 12.0),
}

#: as PySceneDetect's SceneManager: frames wider than this are downscaled to about this width
AUTO_DOWNSCALE_WIDTH = 256

#: frames the decoding thread may run ahead of the detector (PySceneDetect uses 4 too)
QUEUE = 4


class Shot(NamedTuple):
    """One shot: frames ``start_frame`` to ``end_frame`` (both included).

    ``start`` is the presentation time of ``start_frame`` and ``end`` that of the
    next shot's first frame (for the last shot: the end of the video's last
    frame), in seconds, so consecutive shots share their boundary times.
    """

    start_frame: int
    end_frame: int
    start: float
    end: float

    @property
    def n_frames(self):
        """Number of frames in the shot, ``end_frame - start_frame + 1``."""
        return self.end_frame - self.start_frame + 1


def _import_scenedetect():
    try:
        import scenedetect
    except ImportError as exc:
        raise ParameterError(f"shot detection needs PySceneDetect (scenedetect) and OpenCV, which "
                             f"did not import ({exc}); {INSTALL_HINT}") from exc
    return scenedetect


def _make_detector(scenedetect, detector, threshold, min_shot_frames):
    if not isinstance(detector, str):
        if not hasattr(detector, "process_frame"):
            raise ParameterError(
                f"detector must be one of {', '.join(map(repr, DETECTORS))} or a scenedetect "
                f"SceneDetector instance, got {type(detector).__name__}"
            )
        if threshold is not None:
            raise ParameterError("threshold= applies to a detector given by name; set it on the "
                                 "SceneDetector instance instead")
        return detector
    check_option("detector", detector, tuple(DETECTORS))
    cls_name, arg, default = DETECTORS[detector]
    if threshold is None:
        threshold = default
    elif isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
        raise ParameterError(f"threshold must be a positive number, got {threshold!r}")
    if detector == "content" and _ContentScore.available(scenedetect):
        return _ContentScore(scenedetect, float(threshold), min_shot_frames)
    return getattr(scenedetect, cls_name)(**{arg: float(threshold), "min_scene_len": min_shot_frames})


class _ContentScore:
    """PySceneDetect's ``ContentDetector`` (default weights, no edges), its score summed by OpenCV.

    The same frame score to the last bit: OpenCV's HSV planes, and for each
    plane the mean absolute difference from the previous frame, as an exact
    integer sum over the pixels (``cv2.norm(..., NORM_L1)`` instead of
    ContentDetector's int32 copies of both planes), the three means averaged
    in ContentDetector's order; the cut decision is PySceneDetect's own
    ``FlashFilter`` (merge mode, ``min_scene_len``). Measured on the frames of
    benchmarks/bench_shots.py: 0.09 against 0.19 ms a 256x192 frame.
    ``tests/video/test_shots.py`` checks the scores equal ContentDetector's.
    """

    def __init__(self, scenedetect, threshold, min_scene_len):
        import cv2

        flash = scenedetect.detector.FlashFilter
        self._cv2 = cv2
        self._threshold = threshold
        self._filter = flash(mode=flash.Mode.MERGE, length=min_scene_len)
        self._previous = None

    @staticmethod
    def available(scenedetect):
        """Whether this scenedetect has the FlashFilter and timecode interface (0.7 on)."""
        detector = getattr(scenedetect, "detector", None)
        return (hasattr(detector, "FlashFilter")
                and "frame_num" not in inspect.signature(scenedetect.ContentDetector.process_frame).parameters)

    def score(self, image):
        """ContentDetector's ``content_val`` of ``image`` (BGR, uint8) against the previous one."""
        cv2 = self._cv2
        planes = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
        previous, self._previous = self._previous, planes
        if previous is None:
            return 0.0
        n = float(image.shape[0] * image.shape[1])
        hue, sat, lum = (cv2.norm(a, b, cv2.NORM_L1) / n for a, b in zip(planes, previous))
        # ContentDetector: sum(component * weight) / sum(|weight|) with weights (1, 1, 1, 0),
        # which is this sum, in this order, to the last bit
        return (hue + sat + lum) / 3.0

    def process_frame(self, timecode, frame_img):
        return self._filter.filter(timecode, self.score(frame_img) >= self._threshold)

    def post_process(self, timecode):
        return []


def _processing_size(width, height, downscale):
    """Frame size handed to the detector: ``downscale=None`` follows PySceneDetect's rule."""
    if downscale is None:
        factor = width / AUTO_DOWNSCALE_WIDTH if width >= AUTO_DOWNSCALE_WIDTH else 1.0
    else:
        if isinstance(downscale, bool) or not isinstance(downscale, (int, float)) or not downscale >= 1:
            raise ParameterError(f"downscale must be a number >= 1 (1: full size) or None (automatic), "
                                 f"got {downscale!r}")
        factor = float(downscale)
    if factor <= 1.0:
        return width, height
    return max(1, round(width / factor)), max(1, round(height / factor))


def _frame_end(t, frame, previous):
    """Where a frame stops showing: its duration if known, else one more interval."""
    duration = getattr(frame, "duration", None)
    if duration and frame.time_base is not None:
        return t + float(duration * frame.time_base)
    if previous is not None and t > previous:
        return t + (t - previous)
    return t


def _timed_frames(av, path, meta):
    """Yield ``(time, end, av.VideoFrame)`` for every frame."""
    previous = None
    for t, frame in _decode(av, path, meta):
        yield t, max(_frame_end(t, frame, previous), t), frame
        previous = t


class _Converter:
    """Decoded frames to BGR at the processing size, in one swscale pass.

    One pass from the decoder's pixels to BGR at the processing size
    (bilinear, as PySceneDetect's ``cv2.resize``) where PySceneDetect converts
    at full size and then resizes: on the 60 s 320x240 clip of
    benchmarks/bench_shots.py, 0.26 s for decoding and converting every frame
    against 0.52 s. One reformatter for the whole video (``frame.to_ndarray()``
    builds a new swscale context for every frame, several times slower).
    """

    def __init__(self, av, downscale):
        self._reformat = av.video.reformatter.VideoReformatter().reformat
        self._downscale = downscale
        self._size = None

    def __call__(self, frame):
        if self._size is None:
            self._size = _processing_size(frame.width, frame.height, self._downscale)
        if self._size == (frame.width, frame.height):
            return self._reformat(frame, format="bgr24").to_ndarray()
        width, height = self._size
        return self._reformat(frame, format="bgr24", width=width, height=height,
                              interpolation="BILINEAR").to_ndarray()


def _in_thread(items, name):
    """Iterate ``items`` in a background thread, at most QUEUE items ahead; yield them here.

    An error in the thread is raised here; leaving the loop early stops the
    thread, which then closes ``items`` (so that a stage fed by another
    ``_in_thread`` stops that one's thread too).
    """
    out = queue.Queue(maxsize=QUEUE)
    stop = threading.Event()
    done = object()

    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(exc)
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put(done)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _prepared_frames(av, path, downscale):
    """Yield ``(time, end, BGR image at the processing size, header fps)`` for every frame.

    Three stages, each in its own thread, as a pipeline: decoding (FFmpeg,
    with its own frame threads), the conversion to BGR at the processing size
    (swscale, which releases the GIL) and, in the caller's thread, the
    detector; at most QUEUE frames wait between two stages. Measured on a 120 s
    320x240 clip (medians of 7, two cores): 0.72 s, against 0.88 s with the
    conversion in the detector's thread and 0.94 s for PySceneDetect's default;
    with the conversion in the decoding thread instead, that thread was the
    slowest stage.
    """
    meta = {}
    to_bgr = _Converter(av, downscale)
    decoded = _in_thread(_timed_frames(av, path, meta), "align-detect-shots-decode")
    converted = ((t, end, to_bgr(frame)) for t, end, frame in decoded)
    for t, end, image in _in_thread(converted, "align-detect-shots-convert"):
        yield t, end, image, meta.get("fps")


def shots_from_cuts(cuts, times, end):
    """Shots covering frames ``0 .. len(times) - 1`` once, split at ``cuts``.

    Parameters
    ----------
    cuts : sequence of int
        First frames of new shots; out-of-range and repeated values are dropped.
    times : np.ndarray [shape=(n_frames,), float64]
        Presentation time of each frame in seconds.
    end : float
        End of the last frame in seconds.

    Returns
    -------
    list of Shot
    """
    n = len(times)
    bounds = sorted({int(c) for c in cuts if 0 < int(c) < n})
    starts = [0, *bounds]
    stops = [*bounds, n]
    return [Shot(a, b - 1, float(times[a]), float(times[b]) if b < n else float(end))
            for a, b in zip(starts, stops)]


def detect_shots(video, *, detector="content", threshold=None, min_shot_frames=15, downscale=None):
    """Split a video into shots at its cuts (or fades), frame-accurately.

    The video is decoded once, in a background thread; a second one converts
    each frame to BGR and scales it to the processing size in one pass
    (FFmpeg's swscale, bilinear); the detector scores it in the calling
    thread, and it is dropped. Each thread runs at most ``QUEUE`` (4) frames
    ahead of the next. Memory stays at a few frames whatever the length: up to
    4 + 1 decoded frames at full size (queued and being converted; a
    ``yuv420p`` frame is ``1.5 * height * width`` bytes), up to 4 + 2 BGR
    frames at the processing size (queued, being scored and the detector's
    previous one; AdaptiveDetector keeps a few scores, not frames) and the
    decoder's reference frames.

    Parameters
    ----------
    video : str or os.PathLike or VideoInfo
    detector : {"content", "adaptive", "threshold"} or scenedetect.SceneDetector
        See the module docstring; ``"threshold"`` is the one for fades through
        black. A SceneDetector instance is used as it is (then leave
        ``threshold`` None; its own ``min_scene_len`` applies); detectors keep
        state, so give a fresh one to every call.
    threshold : float or None
        The detector's threshold (content: 27, adaptive: 3.0, threshold: 12 by
        default). Lower finds more cuts.
    min_shot_frames : int
        Shortest shot in frames: a cut closer than this to the previous one (or
        to the first frame) is not made.
    downscale : float or None
        Divide width and height by this before detection (1: full size). None
        follows PySceneDetect: frames at least 256 px wide are brought to about
        256 px wide.

    Returns
    -------
    list of Shot
        In order; together they cover every frame exactly once:
        ``shots[0].start_frame == 0``, ``shots[i + 1].start_frame ==
        shots[i].end_frame + 1``, ``shots[-1].end_frame == n_frames - 1``. A video
        without a cut is one shot.

    Raises
    ------
    ParameterError
        For a missing or unreadable file, one without a video stream or one
        whose decoding fails, a bad option, or a missing ``av``/``scenedetect``.

    Examples
    --------
    >>> shots = detect_shots("film.mp4")  # doctest: +SKIP
    >>> [(s.start_frame, s.end_frame) for s in shots]  # doctest: +SKIP
    [(0, 74), (75, 199), (200, 312)]
    """
    av = _import_av()
    scenedetect = _import_scenedetect()
    path = _check_path(video)
    min_shot_frames = check_positive_int("min_shot_frames", min_shot_frames, allow_zero=True)
    det = _make_detector(scenedetect, detector, threshold, min_shot_frames)
    if downscale is not None:
        _processing_size(1, 1, downscale)  # validate before decoding anything
    # scenedetect >= 0.7 passes FrameTimecodes, 0.6 passes plain frame numbers
    wants_timecode = "frame_num" not in inspect.signature(det.process_frame).parameters
    FrameTimecode = scenedetect.FrameTimecode

    times, cuts = [], []
    end = stamp = None
    fps = None
    for index, (t, t_end, image, rate) in enumerate(_prepared_frames(av, path, downscale)):
        if fps is None:
            fps = rate or 25.0
        stamp = FrameTimecode(index, fps) if wants_timecode else index
        cuts.extend(det.process_frame(stamp, image))
        times.append(t)
        end = t_end
    cuts.extend(det.post_process(stamp))
    cut_frames = [c.frame_num if wants_timecode else int(c) for c in cuts]
    times = np.asarray(times, dtype=np.float64)
    return shots_from_cuts(cut_frames, times, max(end, float(times[-1])))

