"""Integer frame durations for a whole corpus from its alignments (issue 10's bar: 1,600 cathy
utterances in under a second).

Reads every ``.TextGrid`` our aligner wrote for a corpus (``align corpus CORPUS -o OUT``),
then times, separately:

1. loading the files into :class:`align.Alignment` objects (praatio's parser; not part of
   the duration computation, reported for scale);
2. ``Alignment.durations(sample_rate=22050, hop_length=256)`` for every utterance (the
   figure the bar is about), checked to sum to each mel length;
3. ``durations_from_textgrid`` (parse and durations in one call), for comparison.

    python -m align corpus ../shared/data/speech/cathy -o /tmp/cathy_aligned
    python benchmarks/bench_durations.py /tmp/cathy_aligned
"""

import sys
import time
from pathlib import Path

import align
from align.tts.durations import durations_from_textgrid, n_mel_frames

SR, HOP = 22050, 256


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), sorted(times)[len(times) // 2], out


def main(folder):
    files = sorted(Path(folder).rglob("*.TextGrid"))
    if not files:
        raise SystemExit(f"no .TextGrid files under {folder}; run `align corpus` first")
    t_load, _, alignments = best_of(lambda: [align.Alignment.load(f) for f in files], repeats=1)

    def all_durations():
        return [a.durations(sample_rate=SR, hop_length=HOP) for a in alignments]

    best, median, durations = best_of(all_durations)
    for a, d in zip(alignments, durations):
        assert int(d.sum()) == n_mel_frames(a.duration, SR, HOP)
    t_tg, _, _ = best_of(lambda: [durations_from_textgrid(f, sample_rate=SR, hop_length=HOP) for f in files],
                         repeats=1)
    n_tokens = sum(len(d) for d in durations)
    print(f"{len(files)} utterances, {n_tokens:,} tokens, sample rate {SR}, hop {HOP}\n")
    print("| step | seconds |\n|---|---:|")
    print(f"| load the TextGrids into Alignment objects | {t_load:.2f} |")
    print(f"| Alignment.durations for every utterance (best of 5; median {median:.3f}) | {best:.3f} |")
    print(f"| durations_from_textgrid (parse + durations) | {t_tg:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cathy_aligned")
