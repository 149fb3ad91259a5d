"""The whole cathy corpus through the CLI, as a user runs it (issue 14).

``align corpus CORPUS -o OUT -f .json -j 2 --method tts`` once with each file's own HMM
and once with ``--train-phone-model``, then every word boundary of the 1,620 files against
the acoustic-model aligner (the fraction within 25 / 50 / 100 ms). The corpus is a folder
of links under ``--work`` (default /tmp/tts_corpus_cathy), the outputs beside it.
Run: ``python benchmarks/tts_corpus_cathy.py``.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CATHY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech" / "cathy"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/tts_corpus_cathy")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    import align

    work = Path(args.work)
    corpus = work / "corpus"
    files = sorted(CATHY.glob("*.flac"))
    if not corpus.exists():
        corpus.mkdir(parents=True)
        for f in files:
            (corpus / f.name).symlink_to(f)
            (corpus / f.with_suffix(".txt").name).symlink_to(f.with_suffix(".txt"))
    command = str(Path(sys.executable).with_name("align"))
    runs = {"each file's own model": [], "model of the corpus": ["--train-phone-model"]}
    outputs = {}
    for name, flags in runs.items():
        out = work / ("out_trained" if flags else "out_own")
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        done = subprocess.run([command, "corpus", str(corpus), "-o", str(out), "-f", ".json", "-j", str(args.jobs),
                               "-q", "--method", "tts", *flags], capture_output=True, text=True, check=True)
        print(f"{name}: {done.stdout.strip()} ({time.perf_counter() - t:.0f} s)")
        outputs[name] = out
    errors = {name: [] for name in runs}
    skipped, seconds = 0, 0.0
    for f in files:
        reference = align.align_transcript(f, f.with_suffix(".txt").read_text()).words
        for name, out in outputs.items():
            got = json.loads((out / (f.stem + ".json")).read_text())
            seconds += got["duration"] if name == "model of the corpus" else 0.0
            words = got["words"]
            if len(words) != len(reference):
                skipped += 1
                continue
            for a, b in zip(words, reference):
                errors[name] += [abs(a["start"] - b.start), abs(a["end"] - b.end)]
    print(f"{len(files)} files, {seconds / 60:.1f} min of audio, {skipped} file alignments skipped (word counts differ)")
    for name, e in errors.items():
        e = np.round(np.array(e), 6)  # both on a 10 ms grid: an error of exactly 50 ms counts as within
        print(f"  {name}: {e.size} boundaries within 25 / 50 / 100 ms of the acoustic aligner: "
              + " / ".join(f"{100 * np.mean(e <= ms / 1000):.1f}%" for ms in (25, 50, 100)))


if __name__ == "__main__":
    main()
