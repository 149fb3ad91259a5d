"""A 30-minute recording aligned in bounded memory (issue 4, item 7).

Builds one long recording from consecutive cathy utterances (0.3 s of silence
between them) and their prompts, writes it to a FLAC file, aligns the file with
``align_transcript`` in a fresh process (60 s windows), and reports wall time,
x real time, the memory the alignment added to the process's peak RSS, and how
far each word lands from where aligning its utterance alone puts it.

Run from the repository root::

    python benchmarks/long_audio.py --minutes 30
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def main():
    import align

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--no-adaptation", action="store_true", help="align without speaker adaptation")
    parser.add_argument("--check", type=int, default=40, help="utterances to re-align alone for the comparison")
    args = parser.parse_args()

    files = sorted((SPEECH / "cathy").glob("*.flac"))
    gap = np.zeros(int(0.3 * 16000), dtype=np.float32)
    pieces, texts, total = [], [], 0
    for f in files:
        x, sr = sf.read(f, dtype="float32")
        assert sr == 16000
        pieces += [x, gap]
        texts.append(f.with_suffix(".txt").read_text().strip())
        total += len(x) + len(gap)
        if total >= args.minutes * 60 * 16000:
            break
    lengths = [len(p) for p in pieces[::2]]
    n_utt = len(texts)
    seconds = total / 16000
    path = Path(tempfile.mkdtemp()) / "long.flac"
    with sf.SoundFile(path, "w", samplerate=16000, channels=1, subtype="PCM_16") as out:
        for p in pieces:
            out.write(p)
    del pieces
    print(f"{n_utt} utterances, {seconds / 60:.1f} min, {sum(len(t.split()) for t in texts)} words, "
          f"written to {path}")

    # a fresh process measures the aligner alone: its peak RSS, minus what
    # importing and warming up cost, is what aligning the file needs
    code = f"""
import resource, time, align
align.align_transcript({str(SPEECH / "cathy" / "arctic_a0001_1592748574.flac")!r}, "Author of the danger trail, Philip Steels, etc.")
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
result = align.align_transcript({str(path)!r}, open({str(path.with_suffix(".txt"))!r}).read(), progress=True,
                               speaker_adaptation={not args.no_adaptation})
wall = time.perf_counter() - t0
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result.save({str(path.with_suffix(".json"))!r})
print(f"aligned in {{wall:.1f}} s ({seconds:.0f} s of audio: {{{seconds} / wall:.0f}}x real time, both cores), "
      f"peak RSS {{rss1 / 1024:.0f}} MiB ({{rss0 / 1024:.0f}} MiB after import and warm-up: "
      f"the alignment added {{(rss1 - rss0) / 1024:.0f}} MiB)")
"""
    path.with_suffix(".txt").write_text("\n".join(texts))
    subprocess.run([sys.executable, "-c", code], check=True)
    result = align.Alignment.load(path.with_suffix(".json"))
    offsets = np.cumsum([0] + [n + len(gap) for n in lengths])[:-1] / 16000
    pieces = [sf.read(f, dtype="float32")[0] for f in files[:min(args.check, n_utt)]]

    # each utterance aligned alone, shifted by its offset, against the long alignment
    diffs = []
    k = 0
    for u in range(min(args.check, n_utt)):
        alone = align.align_transcript((pieces[u], 16000), texts[u], speaker_adaptation=not args.no_adaptation)
        for w in alone.words:
            while k < len(result.words) and result.words[k].start < offsets[u] + w.start - 1.0:
                k += 1
            if k < len(result.words) and result.words[k].text == w.text:
                diffs += [abs(result.words[k].start - offsets[u] - w.start),
                          abs(result.words[k].end - offsets[u] - w.end)]
                k += 1
    diffs = np.array(diffs)
    print(f"first {min(args.check, n_utt)} utterances: {diffs.size} boundaries compared with aligning "
          f"each alone: median {1000 * np.median(diffs):.0f} ms, within 20 ms {100 * np.mean(diffs <= 0.02):.1f}%, "
          f"max {1000 * diffs.max():.0f} ms")
    low = [w for w in result.words if w.score < 0.2]
    print(f"words with confidence < 0.2: {len(low)} of {len(result.words)}")


if __name__ == "__main__":
    main()
