"""A 30-minute recording aligned in bounded memory (issue 4, item 7).

Builds one long recording from consecutive cathy utterances (0.3 s of silence
between them) and their prompts, aligns it with ``align_transcript`` (windows of
120 s), and reports wall time, x real time, peak resident memory, and how far
each word lands from where aligning its utterance alone puts it.

Run from the repository root::

    python benchmarks/long_audio.py --minutes 30
"""

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def main():
    import align

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--check", type=int, default=40, help="utterances to re-align alone for the comparison")
    args = parser.parse_args()

    files = sorted((SPEECH / "cathy").glob("*.flac"))
    gap = np.zeros(int(0.3 * 16000), dtype=np.float32)
    pieces, texts, offsets, total = [], [], [], 0
    for f in files:
        x, sr = sf.read(f, dtype="float32")
        assert sr == 16000
        offsets.append(total / 16000)
        pieces += [x, gap]
        texts.append(f.with_suffix(".txt").read_text().strip())
        total += len(x) + len(gap)
        if total >= args.minutes * 60 * 16000:
            break
    audio = np.concatenate(pieces)
    n_utt = len(texts)
    print(f"{n_utt} utterances, {len(audio) / 16000 / 60:.1f} min, {sum(len(t.split()) for t in texts)} words")

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result = align.align_transcript((audio, 16000), "\n".join(texts), progress=True)
    wall = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"aligned in {wall:.1f} s ({len(audio) / 16000 / wall:.0f}x real time, both cores), "
          f"peak RSS {rss1 / 1024:.0f} MiB (before: {rss0 / 1024:.0f} MiB; the audio alone is "
          f"{audio.nbytes / 2**20:.0f} MiB)")

    # each utterance aligned alone, shifted by its offset, against the long alignment
    diffs = []
    k = 0
    for u in range(min(args.check, n_utt)):
        alone = align.align_transcript((pieces[2 * u], 16000), texts[u])
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
