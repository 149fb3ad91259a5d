"""Two 60-minute recordings synchronised by their sound (issue 12, point 4).

Workload: CMU ARCTIC "cathy" prompts (``../shared/data/speech/cathy``, 16 kHz
mono FLAC) in name order with 0.3 s of silence between them, tiled to
60 minutes plus 13 s. Recording A is its first 60 minutes. Recording B is the
same event from another device: it starts 12.3 s into A, its clock runs
0.05 % fast (the audio is resampled by 2001/2000, so it lasts 60 minutes too),
it hears through a telephone-band microphone (2nd-order Butterworth
300-3400 Hz) with a short room reverb, and white noise at 10 dB SNR.
The truth: ``offset = 12.3 s``, ``drift_ppm = (2000/2001 - 1) * 1e6 = -499.75``.

Reported, in one run on this machine:

- ``align.sync``: wall time (after a warm-up call that compiles the DTW
  kernels; the compile time is printed apart), the peak of traced memory
  (:mod:`tracemalloc`, a second call) beyond the two input arrays, the
  process's peak RSS, the offset error and the drift error, and the error of
  the map at the start and at the end of the overlap;
- the baseline that align-videos-by-sound and syncstart use: one offset from an
  FFT cross-correlation of the first 60 s of both recordings' waveforms (at
  8 kHz), no drift; its error at the start and at the end of the overlap.

Run from the repository root (two cores)::

    python benchmarks/bench_sync.py [--minutes 60]
"""

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEECH = ROOT.parent / "shared" / "data" / "speech"
SR = 16000
OFFSET = 12.3
RATIO = 2001 / 2000  # B has this many times as many samples for the same sound
DRIFT_PPM = (1.0 / RATIO - 1.0) * 1e6


def _event(seconds):
    import soundfile as sf

    files = sorted((SPEECH / "cathy").glob("*.flac"))
    if not files:
        raise SystemExit(f"no cathy recordings under {SPEECH / 'cathy'}")
    gap = np.zeros(int(0.3 * SR), dtype=np.float32)
    pieces, total, i = [], 0, 0
    while total < seconds * SR:
        x, sr = sf.read(files[i % len(files)], dtype="float32")
        assert sr == SR
        pieces += [x, gap]
        total += len(x) + len(gap)
        i += 1
    return np.concatenate(pieces)[: int(seconds * SR)]


def _room(x, rng):
    from scipy import signal

    b, a = signal.butter(2, [300, 3400], btype="band", fs=SR)
    y = signal.lfilter(b, a, x)
    n = int(0.2 * SR)
    tail = rng.standard_normal(n - 1) * np.exp(-np.arange(1, n) / (0.03 * SR))
    h = np.concatenate(([1.0], tail / np.sqrt(np.sum(tail ** 2))))  # direct-to-reverberant 0 dB
    return signal.oaconvolve(y, h)[: len(x)]


def build(minutes, seed=0):
    """Recordings A and B (float32 at 16 kHz) and the truth (offset, drift_ppm)."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * SR)
    base = _event(minutes * 60 + OFFSET + 1.0)
    a = base[:n]
    src = base[int(OFFSET * SR): int(OFFSET * SR) + int(np.ceil(n / RATIO)) + 10]
    b = signal.resample_poly(src, 2001, 2000)[:n]
    b = _room(b, rng)
    b += rng.standard_normal(len(b)) * np.sqrt(np.mean(b ** 2) / 10.0)  # 10 dB SNR
    return a, b.astype(np.float32), (OFFSET, DRIFT_PPM)


def baseline(a, b, seconds=60.0, rate=8000):
    """syncstart-style: one offset from the FFT cross-correlation of the first ``seconds``."""
    import scipy.fft
    from scipy import signal

    q = SR // rate
    x = signal.resample_poly(a[: int(seconds * SR)], 1, q)
    y = signal.resample_poly(b[: int(seconds * SR)], 1, q)
    n = scipy.fft.next_fast_len(len(x) + len(y), real=True)
    r = scipy.fft.irfft(scipy.fft.rfft(x, n) * np.conj(scipy.fft.rfft(y, n)), n)
    k = int(np.argmax(r))
    lag = k if k < n // 2 else k - n  # a[n + lag] ~ b[n]
    return lag / rate


def _map_errors(offset, drift_ppm, truth, t_end):
    """Errors (s) of the map at recording time 0 and t_end."""
    o, d = truth
    f = lambda t, oo, dd: oo + t * (1 + dd * 1e-6)  # noqa: E731
    return f(0.0, offset, drift_ppm) - f(0.0, o, d), f(t_end, offset, drift_ppm) - f(t_end, o, d)


def main():
    import align
    from align.video.sync import sync

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3, help="timed calls (the best is reported)")
    args = parser.parse_args()
    sync_fn = getattr(align, "sync", sync)

    t = time.perf_counter()
    a, b, truth = build(args.minutes)
    print(f"built 2 x {len(a) / SR / 60:.1f} min at {SR} Hz in {time.perf_counter() - t:.1f} s "
          f"(truth: offset {truth[0]} s, drift {truth[1]:.2f} ppm)")

    rng = np.random.default_rng(1)
    t = time.perf_counter()
    warm = _event(40.0)
    sync_fn([(warm, SR), (warm[SR * 5: SR * 30] + 0.01 * rng.standard_normal(SR * 25).astype(np.float32), SR)])
    print(f"warm-up call (numba compile or cache load included): {time.perf_counter() - t:.2f} s")

    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        ra, rb = sync_fn([(a, SR), (b, SR)])
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    sync_fn([(a, SR), (b, SR)])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)

    t = time.perf_counter()
    base_offset = baseline(a, b)
    t_base = time.perf_counter() - t

    t_end = rb.overlap[1] and (rb.overlap[1] - rb.offset) / (1 + rb.drift_ppm * 1e-6)
    e0, e1 = _map_errors(rb.offset, rb.drift_ppm, truth, t_end)
    b0, b1 = _map_errors(base_offset, 0.0, truth, t_end)
    inputs_mb = (a.nbytes + b.nbytes) / 2 ** 20
    print()
    print(f"| method | time s | offset error ms | drift error ppm | error at start ms | error at end ({t_end / 60:.1f} min) ms | confidence |")
    print("|---|---|---|---|---|---|---|")
    print(f"| align.sync | {min(times):.2f} (best of {args.repeat}; mean {np.mean(times):.2f}) | "
          f"{(rb.offset - truth[0]) * 1e3:.2f} | {rb.drift_ppm - truth[1]:.2f} | {e0 * 1e3:.2f} | {e1 * 1e3:.2f} | "
          f"{rb.confidence:.3f} (PSR {rb.psr:.1f}) |")
    print(f"| one-offset FFT xcorr (first 60 s, 8 kHz) | {t_base:.2f} | {(base_offset - truth[0]) * 1e3:.2f} | "
          f"{-truth[1]:.2f} (none fitted) | {b0 * 1e3:.2f} | {b1 * 1e3:.2f} | - |")
    print()
    print(f"memory: traced peak during sync {peak / 2 ** 20:.0f} MiB (inputs {inputs_mb:.0f} MiB, not counted: "
          f"already allocated); process peak RSS {rss:.0f} MiB")
    ok = abs(rb.offset - truth[0]) < 0.010 and abs(rb.drift_ppm - truth[1]) < 20 and rb.reliable
    print("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
