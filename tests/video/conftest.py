"""Small synthetic videos with known cuts, written with PyAV at test time.

Every shot is its own moving picture (a colour of its own, with stripes that
drift a pixel or two per frame, so consecutive frames within a shot differ a
little and frames across a cut differ a lot). The cut frames are therefore
known exactly: shot ``k`` starts at ``sum(lengths[:k])``.
"""

from fractions import Fraction

import numpy as np
import pytest

W, H = 160, 120
FPS = 25

#: (R, G, B) of each shot's picture: far apart in hue and brightness; no red, whose hue
#: wraps around 0 in OpenCV's HSV (noise would then look like motion)
PALETTE = [(230, 160, 40), (60, 200, 80), (40, 90, 220), (200, 60, 200), (40, 190, 200), (240, 230, 90),
           (120, 60, 200), (90, 160, 40)]


def shot_picture(k, i, w=W, h=H):
    """Frame ``i`` (counted within the shot) of shot ``k``: (h, w, 3) uint8."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    speed = 1.0 + 0.5 * (k % 3)
    period = 40.0 + 8 * k
    stripes = 0.85 + 0.15 * np.sin(2 * np.pi * (xx + yy * (k % 2) + speed * i) / period)
    base = np.asarray(PALETTE[k % len(PALETTE)], dtype=np.float32)
    return np.clip(stripes[..., None] * base, 0, 255).astype(np.uint8)


def cut_frames(lengths):
    """First frame of every shot after the first."""
    return list(np.cumsum(lengths)[:-1].astype(int))


def write_video(path, pictures, *, pts=None, time_base=Fraction(1, FPS), codec="libx264",
                audio=None, audio_rate=16000, options=None):
    """Encode ``pictures`` ((h, w, 3) uint8 each) to ``path``.

    ``pts`` (ints in ``time_base``) sets each frame's timestamp (variable frame
    rate); by default frame ``i`` is at ``i / FPS``. ``audio`` (float32 mono
    samples at ``audio_rate``) adds an AAC track.
    """
    import av

    pictures = list(pictures)
    h, w = pictures[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = options or {"preset": "ultrafast", "crf": "18"}  # ultrafast: no B-frames
        stream.codec_context.time_base = time_base
        astream = None
        if audio is not None:
            astream = out.add_stream("aac", rate=audio_rate, layout="mono")
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i if pts is None else int(pts[i])
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if astream is not None:
            data = np.ascontiguousarray(np.asarray(audio, dtype=np.float32)[None, :])
            aframe = av.AudioFrame.from_ndarray(data, format="fltp", layout="mono")
            aframe.sample_rate = audio_rate
            aframe.pts = 0  # so the encoder's priming gets a negative pts (an edit list)
            for packet in astream.encode(aframe):
                out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    return path


def shots_pictures(lengths):
    return [shot_picture(k, i) for k, n in enumerate(lengths) for i in range(n)]


#: sample (at 16 kHz) where the soundtrack's click starts: 0.5 s
CLICK = 8000

#: shot lengths of the hard-cut videos (cuts at 40, 65, 125)
LENGTHS = [40, 25, 60, 30]


def vfr_pts(n, seed=0):
    """Millisecond timestamps with intervals drawn from 20..80 ms (12.5 to 50 fps)."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(20, 81, size=n)
    return np.concatenate([[0], np.cumsum(steps)[:-1]]).astype(np.int64)


#: fade through black: shot 0, fade out, black, fade in, shot 1
FADE_OUT = [0.75, 0.5, 0.3]
FADE_IN = [0.3, 0.5, 0.75]
FADE_SHOT, FADE_BLACK = 30, 10
#: first black frame and first lit frame after the black
FADE_DARK = FADE_SHOT + len(FADE_OUT)
FADE_LIT = FADE_DARK + FADE_BLACK
#: ThresholdDetector (fade_bias 0) cuts half way from the first dark to the first lit frame
FADE_CUT = FADE_DARK + round((FADE_LIT - FADE_DARK) / 2)


def fade_pictures():
    """Shot 0, fade out, black, fade in, shot 1 (mean brightness about 75, dark frames 0)."""
    out = [shot_picture(0, i) for i in range(FADE_SHOT)]
    out += [(shot_picture(0, FADE_SHOT + j) * g).astype(np.uint8) for j, g in enumerate(FADE_OUT)]
    out += [np.zeros((H, W, 3), np.uint8) for _ in range(FADE_BLACK)]
    out += [(shot_picture(1, j) * g).astype(np.uint8) for j, g in enumerate(FADE_IN)]
    out += [shot_picture(1, len(FADE_IN) + i) for i in range(FADE_SHOT)]
    return out


@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    """Paths of the synthetic test videos (written once per session)."""
    av = pytest.importorskip("av")
    root = tmp_path_factory.mktemp("videos")
    paths = {}
    paths["cuts"] = write_video(root / "cuts.mp4", shots_pictures(LENGTHS))
    pts = vfr_pts(sum(LENGTHS))
    paths["vfr"] = write_video(root / "vfr.mp4", shots_pictures(LENGTHS), pts=pts,
                               time_base=Fraction(1, 1000))
    paths["vfr_pts_ms"] = pts
    paths["one"] = write_video(root / "one.mkv", shots_pictures([90]))
    paths["fade"] = write_video(root / "fade.mp4", fade_pictures())
    sr = 16000
    t = np.arange(int(2.0 * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    tone[CLICK : CLICK + 100] = 0.95  # a click at 0.5 s, to check the soundtrack's timing
    paths["audio_samples"] = tone.astype(np.float32)
    paths["audio"] = write_video(root / "audio.mp4", shots_pictures([50]), audio=paths["audio_samples"],
                                 audio_rate=sr)
    # B-frames: decoding order differs from presentation order
    paths["bframes"] = write_video(root / "bframes.mp4", shots_pictures(LENGTHS),
                                   options={"preset": "veryfast", "bf": "3", "crf": "20"})
    paths["mpeg4"] = write_video(root / "mpeg4.avi", shots_pictures(LENGTHS), codec="mpeg4")
    # an audio-only file, a file of noise, and a truncated mp4
    only_audio = root / "only_audio.m4a"
    with av.open(str(only_audio), "w") as out:
        astream = out.add_stream("aac", rate=sr, layout="mono")
        aframe = av.AudioFrame.from_ndarray(paths["audio_samples"][None, :], format="fltp", layout="mono")
        aframe.sample_rate = sr
        for packet in [*astream.encode(aframe), *astream.encode(None)]:
            out.mux(packet)
    paths["only_audio"] = only_audio
    noise = root / "noise.mp4"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    paths["noise"] = noise
    data = paths["cuts"].read_bytes()
    truncated = root / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    paths["truncated"] = truncated
    return paths
