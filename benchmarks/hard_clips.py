"""Align every MFA test clip (laughter, cut-offs, whisper, falsetto, long silences).

Prints each clip's words with start, end and confidence, and any error. Run from the
repository root::

    python benchmarks/hard_clips.py [--plots DIR]
"""

import argparse
from pathlib import Path

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech" / "mfa" / "clips"


def main():
    import align

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", help="also draw each alignment to DIR/<clip>.png")
    args = parser.parse_args()
    rows = [line.rstrip("\n").split("\t") for line in (CLIPS / "transcripts.tsv").open()]
    failures = 0
    for name, *_, text in rows:  # no header line: the first row is a clip (mfa_cutoff)
        audio = CLIPS / (name if name.endswith(".flac") else name + ".flac")
        try:
            result = align.align_transcript(audio, text)
        except align.AlignError as exc:
            failures += 1
            print(f"{audio.name:28s} ERROR {exc}")
            continue
        words = " ".join(f"{w.text}[{w.start:.2f}-{w.end:.2f}|{w.score:.2f}]" for w in result.words)
        print(f"{audio.name:28s} {result.duration:5.1f}s {words}")
        if args.plots:
            from align.plot import plot_alignment

            Path(args.plots).mkdir(parents=True, exist_ok=True)
            plot_alignment(result, audio, Path(args.plots) / f"{audio.stem}.png")
    print(f"{len(rows)} clips, {failures} errors")


if __name__ == "__main__":
    main()
