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
    if decoder.hyp() is None:  # PocketSphinx found no alignment
        raise RuntimeError("no alignment found")
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


def mfa_files():
    """(audio, transcript, MFA's word intervals) for the MFA test files with TextGrids."""
    from praatio import textgrid

    folder = SPEECH / "mfa"
    pairs = [(folder / "corpus" / "cold_corpus.wav", folder / "corpus" / "cold_corpus.TextGrid",
              folder / "corpus" / "cold_corpus.lab"),
             (folder / "corpus" / "cold_corpus3.wav", folder / "corpus" / "cold_corpus3.TextGrid",
              folder / "corpus" / "cold_corpus3.lab")]
    for wav, grid, lab in pairs:
        tg = textgrid.openTextgrid(str(grid), includeEmptyIntervals=False)
        tier = tg.getTier("words")
        words = [(e.label.lower(), e.start, e.end) for e in tier.entries if e.label.strip()]
        yield wav, lab.read_text().strip(), words


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

    # 2. MFA's TextGrids (a third aligner): ours and PocketSphinx's, each against MFA's
    decoder = Decoder(lm=None, loglevel="ERROR")
    ours_d, theirs_d = [], []
    for wav, text, mfa_words in mfa_files():
        alignment = align.align_transcript(wav, text)
        ours_d += boundary_differences(_ours(alignment), mfa_words)
        samples, sr = sf.read(wav, dtype="int16")
        spoken = " ".join(w.spoken or w.text.lower() for w in alignment.words).split()
        try:
            theirs_d += boundary_differences(pocketsphinx_align(samples, spoken, decoder), mfa_words)
        except RuntimeError as exc:
            print(f"PocketSphinx refused {wav.name}: {exc}")
    for name, d in (("fusealign", ours_d), ("PocketSphinx", theirs_d)):
        d = np.array(d)
        if d.size:
            print(f"MFA corpus TextGrids vs {name}: {d.size} boundaries, median |diff| "
                  f"{1000 * np.median(d):.1f} ms, mean {1000 * np.mean(d):.1f} ms, "
                  f"within 20 ms {100 * np.mean(d <= 0.020):.1f}%")

    # 3. cathy: PocketSphinx's aligner run here, and the speed of both
    files = sorted((SPEECH / "cathy").glob("*.flac"))
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)  # one core, like PocketSphinx
    threadpool_limits(1)      # BLAS too (its idle threads would spin and count as CPU time)
    align.align_transcript(files[0], files[0].with_suffix(".txt").read_text())  # compile first
    if args.cathy:
        files = files[: args.cathy]
    diffs, audio_s, ours_s, theirs_s = [], 0.0, 0.0, 0.0
    for flac in files:
        text = flac.with_suffix(".txt").read_text().strip()
        samples, sr = sf.read(flac, dtype="int16")
        audio_s += len(samples) / sr
        t0 = time.process_time()
        alignment = align.align_transcript(flac, text)
        ours_s += time.process_time() - t0
        spoken = " ".join(w.spoken or w.text.lower() for w in alignment.words).split()
        try:
            t0 = time.process_time()
            theirs = pocketsphinx_align(samples, spoken, decoder)
            theirs_s += time.process_time() - t0
        except RuntimeError:
            continue  # a word PocketSphinx's dictionary lacks
        diffs += boundary_differences(_ours(alignment), theirs)
    diffs = np.array(diffs)
    print(f"cathy ({len(files)} files, {audio_s / 60:.1f} min): {len(diffs)} boundaries, median |diff| "
          f"{1000 * np.median(diffs):.1f} ms, within 20 ms {100 * np.mean(diffs <= 0.020):.1f}%")
    print(f"speed (CPU time, one thread): fusealign {audio_s / ours_s:.0f}x real time, PocketSphinx aligner {audio_s / theirs_s:.0f}x real time")


if __name__ == "__main__":
    main()
