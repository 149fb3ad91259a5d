"""Compare align_transcript with PocketSphinx's own aligner, and time both.

Two peers' answers (none of them human-made):
- PocketSphinx's JSON alignments shipped with its test audio
  (../shared/data/speech/pocketsphinx/librivox/*.json);
- the ``pocketsphinx`` package's aligner run here on cathy utterances.

For each word both aligners place, the start and end boundaries are compared:
the report gives the median absolute difference and the share within 20 ms,
and the speed of each aligner as a multiple of real time on one core.

Run from the repository root::

    python benchmarks/eval_transcript.py --cathy 200
"""

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def _clean(word):
    return re.sub(r"\(\d+\)$", "", word.lower())


def pocketsphinx_align(samples_int16, words, decoder):
    """Word (text, start, end) triples in seconds from PocketSphinx's aligner."""
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(samples_int16.tobytes(), full_utt=True)
    decoder.end_utt()
    out = []
    for seg in decoder.seg():
        w = _clean(seg.word)
        if w.startswith("<") or w.startswith("["):
            continue
        out.append((w, seg.start_frame / 100.0, (seg.end_frame + 1) / 100.0))
    return out


def boundary_differences(ours, theirs):
    """Absolute start and end differences (s) for words matched in order."""
    diffs = []
    j = 0
    for text, start, end in ours:
        # walk the peer's words in order; skip ones that do not match
        k = j
        while k < len(theirs) and theirs[k][0] != text:
            k += 1
        if k == len(theirs):
            continue
        diffs.append(abs(start - theirs[k][1]))
        diffs.append(abs(end - theirs[k][2]))
        j = k + 1
    return diffs


def _ours(alignment):
    return [(w.text.lower(), w.start, w.end) for w in alignment.words]


def librivox_files():
    folder = SPEECH / "pocketsphinx" / "librivox"
    for js in sorted(folder.glob("*[0-9].json")):
        ref = json.loads(js.read_text())
        words = [(_clean(w["t"]), w["b"], w["b"] + w["d"]) for w in ref["w"] if not w["t"].startswith("<")]
        yield js.with_suffix(".wav"), ref["t"], words


def main():
    import soundfile as sf
    from pocketsphinx import Decoder

    import align

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cathy", type=int, default=100, help="number of cathy utterances (0 for all)")
    args = parser.parse_args()

    # 1. the shipped PocketSphinx JSON alignments
    diffs = []
    for wav, text, ref_words in librivox_files():
        alignment = align.align_transcript(wav, text)
        diffs += boundary_differences(_ours(alignment), ref_words)
    diffs = np.array(diffs)
    print(f"librivox (PocketSphinx JSON): {len(diffs)} boundaries, median |diff| "
          f"{1000 * np.median(diffs):.1f} ms, within 20 ms {100 * np.mean(diffs <= 0.020):.1f}%")

    # 2. cathy: PocketSphinx's aligner run here, and the speed of both
    files = sorted((SPEECH / "cathy").glob("*.flac"))
    if args.cathy:
        files = files[: args.cathy]
    decoder = Decoder(lm=None, loglevel="ERROR")
    diffs, audio_s, ours_s, theirs_s = [], 0.0, 0.0, 0.0
    for flac in files:
        text = flac.with_suffix(".txt").read_text().strip()
        samples, sr = sf.read(flac, dtype="int16")
        audio_s += len(samples) / sr
        t0 = time.perf_counter()
        alignment = align.align_transcript(flac, text)
        ours_s += time.perf_counter() - t0
        words = [w.text.lower() for w in alignment.words]
        try:
            t0 = time.perf_counter()
            theirs = pocketsphinx_align(samples, words, decoder)
            theirs_s += time.perf_counter() - t0
        except RuntimeError:
            continue  # a word PocketSphinx's dictionary lacks
        diffs += boundary_differences(_ours(alignment), theirs)
    diffs = np.array(diffs)
    print(f"cathy ({len(files)} files, {audio_s / 60:.1f} min): {len(diffs)} boundaries, median |diff| "
          f"{1000 * np.median(diffs):.1f} ms, within 20 ms {100 * np.mean(diffs <= 0.020):.1f}%")
    print(f"speed: fusealign {audio_s / ours_s:.0f}x real time, PocketSphinx aligner {audio_s / theirs_s:.0f}x real time")


if __name__ == "__main__":
    main()
