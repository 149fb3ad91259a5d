"""Shot detection: ``align.video.detect_shots`` against PySceneDetect's own ``detect``.

One generated video, about 60 s of 320x240 at 25 fps (H.264, written with PyAV
to a temporary folder), with hard cuts at known frames. Timed in one run, each
best of ``--repeat`` (the three take turns):

- ``align.video.detect_shots(path)`` (PyAV decoding in a thread; BGR
  conversion and the downscale to 256 px in one swscale pass; PySceneDetect's
  ContentDetector score summed by OpenCV, ``align.video.shots._ContentScore``);
- ``scenedetect.detect(path, ContentDetector())``, its default (OpenCV backend);
- the same with ``backend="pyav"``.

Prints a markdown table of seconds and the ratio to PySceneDetect's default,
and whether the cut frames agree (with the known cuts and between the tools).
Memory: detect_shots holds at most 4 + 1 decoded frames at full size (4 queued
by the decoding thread, one being converted; yuv420p: ``1.5 * h * w`` bytes,
115 KB here), two BGR frames at the processing size (the one being scored and
the detector's previous one: 256x192x3 = 147 KB each) and the decoder's
reference frames, never the whole video.

Run: ``python benchmarks/bench_shots.py [--seconds 60] [--repeat 3] [--size 320x240] [--memory]``.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _picture(k, i, w, h, yy, xx):
    palette = [(230, 160, 40), (60, 200, 80), (40, 90, 220), (200, 60, 200), (40, 190, 200),
               (240, 230, 90), (120, 60, 200), (90, 160, 40)]  # no red: its hue wraps around 0
    period = 40.0 + 8 * (k % 5)
    stripes = 0.85 + 0.15 * np.sin(2 * np.pi * (xx + yy * (k % 2) + (1 + 0.5 * (k % 3)) * i) / period)
    return np.clip(stripes[..., None] * np.asarray(palette[k % len(palette)], np.float32), 0, 255
                   ).astype(np.uint8)


def write_clip(path, seconds=60.0, fps=25, size=(320, 240), seed=0):
    """Write the test clip; return its true cut frames."""
    import av

    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    lengths = []
    while sum(lengths) < n:
        lengths.append(int(rng.integers(2 * fps, 6 * fps)))
    lengths[-1] -= sum(lengths) - n
    if lengths[-1] < 15:
        lengths[-2] += lengths.pop()
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for k, length in enumerate(lengths):
            for i in range(length):
                frame = av.VideoFrame.from_ndarray(_picture(k, i, w, h, yy, xx), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return [int(c) for c in np.cumsum(lengths)[:-1]]


def _best_interleaved(fns, repeat):
    """Best time of each function, the functions taking turns (fair under shared CPUs)."""
    best = [np.inf] * len(fns)
    results = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            results[i] = fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best, results


#: run in a fresh process: RSS after the imports and a warm-up on a 1 s clip, then the peak
#: (VmHWM) over the whole detect_shots call on the clip
_CHILD = """
import sys
from align.video.shots import detect_shots
def status(key):
    return int([s for s in open("/proc/self/status") if s.startswith(key)][0].split()[1]) / 1024
detect_shots(sys.argv[2])
before = status("VmRSS")
shots = detect_shots(sys.argv[1])
print(before, status("VmHWM"), ",".join(str(s.start_frame) for s in shots[1:]))
"""


def peak_memory(path, truth):
    """detect_shots's peak RSS over its warm start, measured in a fresh process."""
    import subprocess
    import sys

    warm = Path(path).with_name("warm.mp4")
    write_clip(warm, 1.0)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(warm)], check=True,
                         capture_output=True, text=True).stdout.split()
    before, peak = float(out[0]), float(out[1])
    cuts = [int(c) for c in out[2].split(",")] if len(out) > 2 else []
    return (f"peak RSS of detect_shots in a fresh process: {peak:.0f} MiB, {peak - before:+.0f} MiB "
            f"over the warm process before the call ({before:.0f} MiB); cuts == known: {cuts == truth}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the generated clip")
    parser.add_argument("--memory", action="store_true",
                        help="also run detect_shots in a fresh process and print its peak RSS")
    args = parser.parse_args(argv)
    size = tuple(int(n) for n in args.size.lower().split("x"))

    import scenedetect

    from align.video.reader import open_video
    from align.video.shots import detect_shots

    scenedetect.init_logger(log_level=40)  # errors only
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        truth = write_clip(path, args.seconds, size=size)
        info = open_video(path)

        def ours():
            return [s.start_frame for s in detect_shots(path)][1:]

        def theirs(backend):
            scenes = scenedetect.detect(str(path), scenedetect.ContentDetector(), backend=backend)
            return [start.frame_num for start, _ in scenes][1:]

        # warm-up: imports, cv2 and FFmpeg initialisation
        detect_shots(path, min_shot_frames=15)
        names = ["align.video.detect_shots",
                 "scenedetect.detect, ContentDetector (opencv backend, default)",
                 'scenedetect.detect, ContentDetector, backend="pyav"']
        seconds, cuts = _best_interleaved([ours, lambda: theirs("opencv"), lambda: theirs("pyav")],
                                          args.repeat)
        rows = list(zip(names, seconds, cuts))
        memory_row = peak_memory(path, truth) if args.memory else None

    base = rows[1][1]
    print(f"{info.n_frames} frames, {info.width}x{info.height}, {info.fps:g} fps, "
          f"{len(truth)} cuts; best of {args.repeat}\n")
    print("| method | seconds | ratio to scenedetect default | cuts == known cuts |")
    print("|---|---:|---:|---|")
    for name, seconds, cuts in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f} | {cuts == truth} |")
    print(f"\ncuts agree between all three: {rows[0][2] == rows[1][2] == rows[2][2]}")
    if args.memory:
        print(memory_row)
    decoded = info.width * info.height * 1.5
    w = 256 if info.width >= 256 else info.width
    h = round(info.height * w / info.width)
    print(f"memory of detect_shots at any length: at most 5 decoded {info.width}x{info.height} "
          f"frames ({decoded / 1e3:.0f} KB each in yuv420p) + 2 {w}x{h}x3 BGR frames "
          f"({w * h * 3 / 1e3:.0f} KB each) + the decoder's reference frames")


if __name__ == "__main__":
    main()
