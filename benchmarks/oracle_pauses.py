"""How much of the aligner's difference from MFA is its pause decisions? An oracle.

Aligns MFA's two conversational recordings (the hesitation files of
``eval_transcript.py``) twice: as ``align transcript`` does, and with every gap
between two words told whether MFA put a pause there (a gap in MFA's words tier
longer than 5 ms: the pause is then forced; otherwise none is allowed;
``build_utterance_graph(pauses=...)``). Everything else is the same. If the
oracle row is far from the bar too, the pauses are not what stands between.

Run from the repository root::

    python benchmarks/oracle_pauses.py
"""

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import eval_transcript as E  # noqa: E402


def mfa_pauses(grid):
    """True/False per gap between MFA's consecutive words (markup included)."""
    from praatio import textgrid

    tg = textgrid.openTextgrid(str(grid), includeEmptyIntervals=False)
    words = [e for e in tg.getTier("words").entries if e.label.strip()]
    return [words[i + 1].start - words[i].end > 0.005 for i in range(len(words) - 1)]


def _oracle(build, pauses, grid, model, pronunciations, **options):
    """build_utterance_graph with MFA's pauses and/or MFA's phones (as its only variant) where given."""
    if grid is not None:
        theirs = mfa_pronunciations(grid, set(model.ciphones))
        if len(theirs) != len(pronunciations):
            raise RuntimeError(f"{len(theirs)} MFA words for {len(pronunciations)} spoken words")
        # filled pauses keep ours: their +SPN+ variant is the hesitation model, not a pronunciation
        pronunciations = [[t] if t and not any("+SPN+" in v for v in p) else p
                          for t, p in zip(theirs, pronunciations)]
    return build(model, pronunciations, pauses=pauses, **options)


def mfa_pronunciations(grid, known):
    """MFA's own phones of each word (stress marks dropped), None for markup or a phone we lack."""
    import re

    from praatio import textgrid

    tg = textgrid.openTextgrid(str(grid), includeEmptyIntervals=False)
    words = [e for e in tg.getTier("words").entries if e.label.strip()]
    phones = tg.getTier("phones").entries
    out = []
    for w in words:
        inside = [re.sub(r"\d", "", p.label) for p in phones if w.start - 1e-6 <= p.start and p.end <= w.end + 1e-6]
        out.append(inside if inside and all(p in known for p in inside) else None)
    return out


def main():
    import align
    import align.acoustic.graph as graph

    build = graph.build_utterance_graph
    rows = {"as align transcript does": (False, False), "MFA's pauses given": (True, False),
            "MFA's pronunciations given": (False, True), "both given": (True, True)}
    pairs = {row: [] for row in rows}
    for name, audio, grid in E.MFA_FILES:
        if name not in E.HESITATION_FILES:
            continue
        reference, text = E.mfa_reference(E.MFA / grid), E.mfa_transcript(E.MFA / grid)
        for row, (give_pauses, give_phones) in rows.items():
            # the transcript aligner imports the builder when it aligns a window (60 s: each
            # file is one), so this stands in for it there
            graph.build_utterance_graph = functools.partial(
                _oracle, build, mfa_pauses(E.MFA / grid) if give_pauses else None,
                E.MFA / grid if give_phones else None)
            try:
                result = align.align_transcript(E.MFA / audio, text)
            finally:
                graph.build_utterance_graph = build
            pairs[row] += E.boundary_pairs(E.ours(result), reference)
    print("| hesitation files (252 boundaries) | mean ms | median ms | within 20 ms | over 100 ms |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        s = E.summarize(pairs[row])
        print(f"| {row} | {s['mean_ms']:.1f} | {s['median_ms']:.1f} | {100 * s['within_20']:.1f}% | {s['over_100']} |")


if __name__ == "__main__":
    main()
