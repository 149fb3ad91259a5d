"""Tests for align.video.shots: exact cut frames on videos with known cuts."""

from pathlib import Path

import numpy as np
import pytest

from align.exceptions import ParameterError
from align.video.reader import frame_times, iter_frames, open_video
from align.video.shots import Shot, detect_shots, shots_from_cuts

from .conftest import FADE_CUT, FADE_DARK, FADE_LIT, FPS, LENGTHS, cut_frames

scenedetect = pytest.importorskip("scenedetect")

CLIP = Path(__file__).resolve().parent / "data" / "bigbuckbunny.mp4"
N = sum(LENGTHS)
CUTS = cut_frames(LENGTHS)  # [40, 65, 125]


def check_cover(shots, n_frames, times, end):
    """Shots cover frames 0..n-1 once, in order, with times taken from the frames."""
    assert shots[0].start_frame == 0
    assert shots[-1].end_frame == n_frames - 1
    for a, b in zip(shots, shots[1:]):
        assert b.start_frame == a.end_frame + 1
        assert a.end == b.start
    for s in shots:
        assert s.start_frame <= s.end_frame
        assert s.start == times[s.start_frame]
        assert s.start < s.end
        assert s.n_frames == s.end_frame - s.start_frame + 1
    assert shots[-1].end == pytest.approx(end)
    assert sum(s.n_frames for s in shots) == n_frames


def starts(shots):
    return [s.start_frame for s in shots[1:]]


@pytest.mark.parametrize("detector", ["content", "adaptive"])
@pytest.mark.parametrize("name", ["cuts", "mpeg4", "bframes"])
def test_hard_cuts_exact_frames(videos, name, detector):
    shots = detect_shots(videos[name], detector=detector)
    assert starts(shots) == CUTS
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 39), (40, 64), (65, 124), (125, 154)]
    assert [s.start for s in shots] == [0.0, 40 / FPS, 65 / FPS, 125 / FPS]
    check_cover(shots, N, frame_times(videos[name]), N / FPS)


def test_variable_frame_rate_exact_frames_and_times(videos):
    pts = videos["vfr_pts_ms"]
    info = open_video(videos["vfr"])
    assert info.variable_frame_rate
    for detector in ("content", "adaptive"):
        shots = detect_shots(videos["vfr"], detector=detector)
        assert starts(shots) == CUTS
        # the cuts' times are the written timestamps, not frame / average fps
        assert [s.start for s in shots[1:]] == [pts[c] / 1000 for c in CUTS]
        check_cover(shots, N, frame_times(videos["vfr"]), info.duration + info.start_time)


def test_variable_frame_rate_agrees_with_scenedetect_by_timestamp(videos):
    # PySceneDetect numbers a frame round(pts * fps) on VFR (so its numbers are not
    # frame indices), but its cut *times* are right: mapped through our frame times
    # they land on our cut frames.
    times = frame_times(videos["vfr"])
    scenes = scenedetect.detect(str(videos["vfr"]), scenedetect.ContentDetector(), backend="pyav")
    theirs = [float(start.seconds) for start, _ in scenes[1:]]
    mapped = [int(np.argmin(np.abs(times - t))) for t in theirs]
    assert mapped == starts(detect_shots(videos["vfr"])) == CUTS


def test_agrees_with_scenedetect_default_on_constant_rate(videos):
    scenes = scenedetect.detect(str(videos["cuts"]), scenedetect.ContentDetector())
    assert [start.frame_num for start, _ in scenes[1:]] == starts(detect_shots(videos["cuts"])) == CUTS


def test_fade_through_black(videos):
    shots = detect_shots(videos["fade"], detector="threshold")
    # the cut lies half way through the dark stretch (frames FADE_DARK..FADE_LIT-1)
    assert starts(shots) == [FADE_CUT]
    assert FADE_DARK < FADE_CUT < FADE_LIT
    n = open_video(videos["fade"]).n_frames
    check_cover(shots, n, frame_times(videos["fade"]), n / FPS)
    # the threshold detector sees no hard cut where there is none
    assert detect_shots(videos["cuts"], detector="threshold") == [Shot(0, N - 1, 0.0, N / FPS)]


def test_no_cut_is_one_shot(videos):
    for detector in ("content", "adaptive", "threshold"):
        assert detect_shots(videos["one"], detector=detector) == [Shot(0, 89, 0.0, 90 / FPS)]


def test_threshold_and_min_shot_frames(videos):
    # a threshold above every frame difference: no cut
    assert starts(detect_shots(videos["cuts"], threshold=250)) == []
    # the 25-frame shot (frames 40..64) is too short for min_shot_frames=26: its cut goes
    assert starts(detect_shots(videos["cuts"], min_shot_frames=25)) == CUTS
    assert starts(detect_shots(videos["cuts"], min_shot_frames=26)) == [40, 125]
    for m in (30, 45, 61):
        shots = detect_shots(videos["cuts"], min_shot_frames=m)
        assert all(s.n_frames >= m for s in shots[:-1])
        assert set(starts(shots)) <= set(CUTS)
    # the first shot too: a cut closer than min_shot_frames to frame 0 is not made
    assert starts(detect_shots(videos["cuts"], min_shot_frames=41)) == [125]


@pytest.mark.parametrize("downscale", [None, 1, 2, 3.5])
def test_downscale_keeps_the_cuts(videos, downscale):
    assert starts(detect_shots(videos["cuts"], downscale=downscale)) == CUTS


def _bgr_frames(path):
    """Every frame of ``path`` as detect_shots hands it to the detector."""
    import av

    from align.video.reader import _decode
    from align.video.shots import _Converter

    convert = _Converter(av, None)
    return [convert(frame) for _, frame in _decode(av, str(path))]


@pytest.mark.parametrize("name", ["cuts", "bframes", "fade", "clip"])
def test_content_scores_and_cuts_equal_content_detector(videos, name):
    # the fast content scorer against PySceneDetect's own ContentDetector, frame by frame:
    # the same score to the last bit and the same cut decisions, on generated cuts, a fade
    # (scores that move a little every frame) and the real clip
    from align.video.shots import _ContentScore

    if not _ContentScore.available(scenedetect):
        pytest.skip("this scenedetect has no FlashFilter; ContentDetector itself is used")
    frames = _bgr_frames(CLIP if name == "clip" else videos[name])
    for threshold, min_len in ((27.0, 15), (5.0, 3), (1.0, 0)):
        scorer = _ContentScore(scenedetect, threshold, min_len)
        ours = _ContentScore(scenedetect, threshold, min_len)
        theirs = scenedetect.ContentDetector(threshold=threshold, min_scene_len=min_len)
        our_cuts, their_cuts, scores = [], [], []
        for i, image in enumerate(frames):
            stamp = scenedetect.FrameTimecode(i, float(FPS))
            our_cuts += ours.process_frame(stamp, image)
            their_cuts += theirs.process_frame(stamp, image)
            scores.append(scorer.score(image))
            assert scores[-1] == theirs._frame_score, (name, i)
        assert [c.frame_num for c in our_cuts] == [c.frame_num for c in their_cuts]
        assert max(scores) > 0  # the frames did differ
        if name == "cuts":
            assert [c.frame_num for c in our_cuts] == CUTS or threshold < 27


def test_detector_instance(videos):
    det = scenedetect.ContentDetector(threshold=20, min_scene_len=5)
    assert starts(detect_shots(videos["cuts"], detector=det)) == CUTS


def test_a_failing_detector_stops_the_decoding_thread(videos):
    import threading

    class Failing(scenedetect.SceneDetector):
        def process_frame(self, timecode, frame_img):
            if timecode.frame_num == 10:
                raise RuntimeError("detector broke")
            return []

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="detector broke"):
        detect_shots(videos["cuts"], detector=Failing())
    assert threading.active_count() == before


def test_shot_is_a_named_tuple():
    s = Shot(3, 7, 0.12, 0.32)
    assert s._fields == ("start_frame", "end_frame", "start", "end")
    assert (s.start_frame, s.end_frame, s.start, s.end, s.n_frames) == (3, 7, 0.12, 0.32, 5)


def test_shots_from_cuts_cover_every_frame():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        times = np.cumsum(rng.uniform(0.01, 0.1, n))
        cuts = list(rng.integers(-3, n + 3, size=int(rng.integers(0, 8))))
        shots = shots_from_cuts(cuts, times, times[-1] + 0.05)
        check_cover(shots, n, times, times[-1] + 0.05)
        assert starts(shots) == sorted({int(c) for c in cuts if 0 < c < n})


# --------------------------------------------------------------------------- errors


def test_bad_arguments(videos, tmp_path):
    path = videos["cuts"]
    with pytest.raises(ParameterError, match="detector"):
        detect_shots(path, detector="histogramm")
    with pytest.raises(ParameterError, match="detector"):
        detect_shots(path, detector=42)
    with pytest.raises(ParameterError, match="threshold"):
        detect_shots(path, detector=scenedetect.ContentDetector(), threshold=10)
    with pytest.raises(ParameterError, match="threshold"):
        detect_shots(path, threshold=-1)
    with pytest.raises(ParameterError, match="downscale"):
        detect_shots(path, downscale=0.5)
    with pytest.raises(ParameterError, match="min_shot_frames"):
        detect_shots(path, min_shot_frames=-1)
    with pytest.raises(ParameterError, match="does not exist"):
        detect_shots(tmp_path / "missing.mp4")
    with pytest.raises(ParameterError, match="no video stream"):
        detect_shots(videos["only_audio"])
    with pytest.raises(ParameterError, match="noise.mp4"):
        detect_shots(videos["noise"])


def test_missing_scenedetect_says_how_to_install(videos, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "scenedetect", None)
    with pytest.raises(ParameterError, match=r"pip install 'fusealign\[video\]'"):
        detect_shots(videos["cuts"])


# --------------------------------------------------------------------------- a real clip


def _spikes(path):
    """Frames whose mean absolute change (gray, numpy) is over twice both neighbours'.

    An independent hard-cut finder: a cut is one big change between two quieter ones.
    """
    frames = np.concatenate([f for _, f in iter_frames(path, scale=0.25, gray=True)]).astype(np.float32)
    d = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))  # d[i]: frame i -> i + 1
    padded = np.concatenate([[d[1]], d, [d[-2]]])
    spike = (d > 2 * padded[:-2]) & (d > 2 * padded[2:]) & (d > 10)
    return [int(i) + 1 for i in np.flatnonzero(spike)]


def test_independent_spike_check_finds_the_known_cuts(videos):
    # the check used on the real clip below does find cuts where there are some
    assert _spikes(videos["cuts"]) == CUTS


def test_real_clip_shots():
    info = open_video(CLIP)
    times = frame_times(CLIP)
    shots = detect_shots(CLIP)
    check_cover(shots, info.n_frames, times, info.duration)
    for s in shots:
        assert 0.0 <= s.start < s.end <= info.duration + 1e-9
    # by inspection and by the independent check: this excerpt has no hard cut
    assert _spikes(CLIP) == []
    assert shots == [Shot(0, 131, 0.0, info.duration)]
