"""Subtitle rules on real speech: how many cues can keep the reading speed?

Aligns the first ``--minutes`` of the cathy corpus (real read speech, one
speaker, files taken in name order and laid end to end, so the pauses between
them are the files' own silences) with ``align.align_transcript``, puts the
transcripts' punctuation back, and cuts the words into cues with
``align.subtitles`` at 25 fps, against shot changes drawn every 2-9 s (one
draw per seed, the same rule as the synthetic 10-minute test in
``tests/video/test_subtitles.py``). For each reading-speed limit it prints the
rules broken per seed, counted by the test suite's independent checker, and
whether every broken rule was reported in the cues' ``violations``.

It also prints the bound that no cueing can beat: the words' characters
(spaces and punctuation counted, as Netflix counts them) over the whole
recording, less the minimum gap between cues. When that
exceeds ``max_cps``, some cue must break the reading speed unless the text is
condensed, which a verbatim subtitler does not do.

Run: ``python benchmarks/eval_subtitles.py [--minutes 10] [--seeds 10]``.
"""

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import align  # noqa: E402
from align.video.subtitles import CueWord, with_transcript_punctuation  # noqa: E402
from tests.video.test_subtitles import broken_rules  # noqa: E402

CATHY = ROOT.parent / "shared" / "data" / "speech" / "cathy"


def aligned_words(minutes):
    """Words ``(text, start, end)`` of the first ``minutes`` of cathy, and the audio's length (s)."""
    words, offset, texts = [], 0.0, []
    for path in sorted(CATHY.glob("*.flac")):
        text = " ".join(path.with_suffix(".txt").read_text(encoding="utf-8").split())
        texts.append(text)
        result = align.align_transcript(str(path), text)
        words += [CueWord(w.text, round(offset + w.start, 3), round(offset + w.end, 3))
                  for w in result.words]
        offset += soundfile.info(str(path)).duration
        if offset >= 60 * minutes:
            break
    words = with_transcript_punctuation(words, " ".join(texts))
    return [(w.text, w.start, w.end) for w in words], offset, len(texts)


def shot_changes(seed, end):
    rng = np.random.default_rng(seed)
    cuts, t = [], 0.0
    while True:
        t += rng.uniform(2, 9)
        if t > end:
            return cuts
        cuts.append(round(t * 25) / 25)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cps", type=float, nargs="+", default=[17.0, 18.0, 19.0, 20.0])
    args = parser.parse_args()

    t0 = time.perf_counter()
    words, end, n_files = aligned_words(args.minutes)
    chars = sum(len(w[0]) for w in words) + len(words) - 1
    print(f"cathy: {n_files} files, {end:.0f} s, {len(words)} words, {chars} characters; "
          f"aligned in {time.perf_counter() - t0:.1f} s")

    print("\n| max_cps | cues (median) | rules broken per seed | kinds (all seeds) | all reported | "
          "bound: characters / (recording - gaps) |")
    print("|---:|---:|---|---|---|---:|")
    for max_cps in args.cps:
        per_seed, kinds, n_cues, reported = [], Counter(), [], True
        for seed in range(args.seeds):
            cuts = shot_changes(seed, end)
            cues = align.subtitles(words, fps=25, shots=cuts, max_cps=max_cps)
            broken = broken_rules(cues, fps=25, cuts=cuts, max_cps=max_cps)
            per_seed.append(len(broken))
            kinds.update(key for _, key in broken)
            n_cues.append(len(cues))
            said = {(k, v.split()[0].rstrip(":")) for k, cue in enumerate(cues) for v in cue.violations}
            reported &= set(broken) <= said
            # the most time the cues can have: the whole recording less a 2-frame gap between cues
            bound = chars / (end - (len(cues) - 1) * 2 / 25)
        print(f"| {max_cps:.0f} | {int(np.median(n_cues))} | {', '.join(map(str, per_seed))} | "
              f"{dict(kinds)} | {'yes' if reported else 'NO'} | {bound:.2f} cps |")


if __name__ == "__main__":
    main()
