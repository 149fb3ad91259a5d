"""Tests for align.video.reader on videos written with PyAV (tests/video/conftest.py)
and on a real clip (tests/video/data/bigbuckbunny.mp4, CC BY 3.0 Blender Foundation)."""

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from align.exceptions import ParameterError
from align.video.reader import VideoInfo, frame_times, iter_frames, open_video, read_audio

pytest.importorskip("av")

from .conftest import CLICK, FPS, H, LENGTHS, W, shot_picture  # noqa: E402

CLIP = Path(__file__).resolve().parent / "data" / "bigbuckbunny.mp4"
N = sum(LENGTHS)


# --------------------------------------------------------------------------- open_video


def test_open_video_constant_rate(videos):
    info = open_video(videos["cuts"])
    assert isinstance(info, VideoInfo)
    assert (info.width, info.height) == (W, H)
    assert info.n_frames == N
    assert info.fps == pytest.approx(FPS)
    assert info.duration == pytest.approx(N / FPS)
    assert info.variable_frame_rate is False
    assert info.has_audio is False and info.audio_sample_rate is None and info.audio_channels is None
    assert info.start_time == 0.0
    assert info.path == str(videos["cuts"])


def test_open_video_variable_rate(videos):
    pts = videos["vfr_pts_ms"]
    info = open_video(videos["vfr"])
    assert info.variable_frame_rate is True
    assert info.n_frames == N
    # the last frame ends between its start and one longest interval later
    assert pts[-1] / 1000 < info.duration <= pts[-1] / 1000 + 0.080
    assert info.fps == pytest.approx(N / info.duration)


def test_open_video_without_scan_reads_the_header(videos):
    info = open_video(videos["cuts"], scan=False)
    assert (info.n_frames, info.width, info.height) == (N, W, H)
    assert info.duration == pytest.approx(N / FPS)
    # mkv has no frame count in its header: estimated from duration * rate
    assert open_video(videos["one"], scan=False).n_frames == 90


def test_open_video_audio_track(videos):
    info = open_video(videos["audio"])
    assert info.has_audio is True
    assert (info.audio_sample_rate, info.audio_channels) == (16000, 1)
    assert info.audio_start_time == 0.0
    assert info.n_frames == 50


# --------------------------------------------------------------------------- frame_times


@pytest.mark.parametrize("name", ["cuts", "one", "mpeg4", "bframes"])
def test_frame_times_constant_rate(videos, name):
    times = frame_times(videos[name])
    assert times.dtype == np.float64
    np.testing.assert_allclose(times, np.arange(times.size) / FPS, rtol=0, atol=1e-9)


def test_frame_times_variable_rate_are_the_written_timestamps(videos):
    times = frame_times(videos["vfr"])
    pts = videos["vfr_pts_ms"]
    assert times.shape == (N,)
    np.testing.assert_allclose(times, pts / 1000, rtol=0, atol=1e-9)
    # not index / fps: the intervals really vary
    assert np.ptp(np.diff(times)) > 0.05


@pytest.mark.parametrize("name", ["cuts", "vfr", "one", "mpeg4", "bframes"])
def test_frame_times_equal_the_decoded_times(videos, name):
    decoded = np.concatenate([t for t, _ in iter_frames(videos[name], size=(16, 12), block=50)])
    np.testing.assert_array_equal(frame_times(videos[name]), decoded)


def test_frame_times_accepts_a_video_info(videos):
    info = open_video(videos["cuts"])
    np.testing.assert_array_equal(frame_times(info), frame_times(videos["cuts"]))


# --------------------------------------------------------------------------- iter_frames


def test_iter_frames_blocks_and_pixels(videos):
    blocks = list(iter_frames(videos["cuts"], block=64))
    assert [f.shape for _, f in blocks] == [(64, H, W, 3), (64, H, W, 3), (N - 128, H, W, 3)]
    assert all(f.dtype == np.uint8 and t.shape == (f.shape[0],) for t, f in blocks)
    frames = np.concatenate([f for _, f in blocks])
    # RGB order and frame order: frame 0 is shot 0's first picture, frame 40 shot 1's first
    for index, (k, i) in {0: (0, 0), 39: (0, 39), 40: (1, 0), 64: (1, 24), 65: (2, 0), 154: (3, 29)}.items():
        err = np.abs(frames[index].astype(int) - shot_picture(k, i).astype(int)).mean()
        assert err < 6, (index, err)


def test_iter_frames_blocks_are_independent_arrays(videos):
    blocks = list(iter_frames(videos["cuts"], block=40))
    assert not np.shares_memory(blocks[0][1], blocks[1][1])
    # the first block still holds shot 0 after the reader went on to shot 1
    assert np.abs(blocks[0][1][0].astype(int) - shot_picture(0, 0).astype(int)).mean() < 6


def test_iter_frames_size_scale_gray(videos):
    (t, f), *_ = iter_frames(videos["cuts"], size=(80, 30), block=10)
    assert f.shape == (10, 30, 80, 3)
    (t, f), *_ = iter_frames(videos["cuts"], scale=0.5, gray=True, block=10)
    assert f.shape == (10, H // 2, W // 2) and f.dtype == np.uint8
    # gray is luma: close to the Rec.601 weighting of the RGB picture
    rgb = shot_picture(0, 0)[::2, ::2].astype(float)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert np.abs(f[0].astype(float) - luma).mean() < 8


def test_iter_frames_memory_is_bounded_by_the_block(videos):
    block = 8
    frame_bytes = H * W * 3
    tracemalloc.start()
    try:
        n = 0
        for _, frames in iter_frames(videos["cuts"], block=block):
            n += frames.shape[0]
            del frames
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == N
    # the whole video would be N * frame_bytes (8.9 MB); a block is 0.46 MB
    assert peak < 4 * block * frame_bytes + 1_000_000, peak


def test_iter_frames_is_lazy_and_checks_arguments_at_once(videos):
    it = iter_frames(videos["cuts"], block=1)
    t, f = next(it)
    assert t.tolist() == [0.0] and f.shape == (1, H, W, 3)
    it.close()
    with pytest.raises(ParameterError, match="block"):
        iter_frames(videos["cuts"], block=0)
    with pytest.raises(ParameterError, match="not both"):
        iter_frames(videos["cuts"], size=(10, 10), scale=0.5)
    with pytest.raises(ParameterError, match="scale"):
        iter_frames(videos["cuts"], scale=-1)
    with pytest.raises(ParameterError, match="width, height"):
        iter_frames(videos["cuts"], size=(10, 10, 3))
    with pytest.raises(ParameterError, match="width"):
        iter_frames(videos["cuts"], size=(0, 10))


# --------------------------------------------------------------------------- read_audio


def test_read_audio_timing_and_rate(videos):
    y = read_audio(videos["audio"])
    assert y.dtype == np.float32 and y.ndim == 1
    # 2 s written; the AAC encoder pads the end to whole 1024-sample frames
    assert 32000 <= y.size <= 32000 + 2048
    # the click is where it was written: the encoder's priming was dropped
    assert abs(int(np.argmax(np.abs(y) > 0.8)) - CLICK) <= 16
    # 440 Hz tone
    spectrum = np.abs(np.fft.rfft(y[:8000]))
    assert np.fft.rfftfreq(8000, 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=2)
    y8 = read_audio(videos["audio"], sample_rate=8000)
    assert abs(y8.size - y.size / 2) <= 1
    assert abs(int(np.argmax(np.abs(y8) > 0.8)) - CLICK // 2) <= 8


def test_read_audio_without_an_audio_track(videos):
    with pytest.raises(ParameterError, match="no audio stream"):
        read_audio(videos["cuts"])


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [open_video, frame_times, lambda p: list(iter_frames(p)), read_audio])
def test_bad_files_raise_parameter_error(videos, tmp_path, fn):
    with pytest.raises(ParameterError, match="does not exist"):
        fn(tmp_path / "missing.mp4")
    with pytest.raises(ParameterError, match="directory"):
        fn(tmp_path)
    with pytest.raises(ParameterError, match="noise.mp4"):
        fn(videos["noise"])
    with pytest.raises(ParameterError, match="truncated.mp4"):
        fn(videos["truncated"])
    with pytest.raises(ParameterError, match="file path"):
        fn(123)


@pytest.mark.parametrize("fn", [open_video, frame_times, lambda p: list(iter_frames(p))])
def test_audio_only_file_has_no_video_stream(videos, fn):
    with pytest.raises(ParameterError, match="no video stream"):
        fn(videos["only_audio"])


def test_missing_pyav_says_how_to_install(videos, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ParameterError, match=r"pip install 'fusealign\[video\]'"):
        open_video(videos["cuts"])


# --------------------------------------------------------------------------- a real clip


def test_real_clip_info_times_and_audio():
    info = open_video(CLIP)
    assert (info.width, info.height, info.n_frames) == (1280, 720, 132)
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(132 / 25)
    assert not info.variable_frame_rate
    assert (info.has_audio, info.audio_sample_rate, info.audio_channels) == (True, 48000, 6)
    np.testing.assert_allclose(frame_times(CLIP), np.arange(132) / 25, rtol=0, atol=1e-9)
    y = read_audio(CLIP)
    assert y.dtype == np.float32
    # the soundtrack lasts as long as the picture, to within one AAC frame at 48 kHz
    assert abs(y.size / 16000 - info.duration) < 0.05
    # as loud as the track decoded directly with PyAV (channels averaged)
    import av

    with av.open(str(CLIP)) as container:
        raw = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).mean(axis=0)
    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    assert rms > 1e-3
    assert rms == pytest.approx(float(np.sqrt(np.mean(raw.astype(np.float64) ** 2))), rel=0.05)
