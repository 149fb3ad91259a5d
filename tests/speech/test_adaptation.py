"""Speaker adaptation in align_transcript: closer to known word times on a voice the model never heard."""

import re

import numpy as np

import align
from tests.conftest import shared_data


def _espeak_truth(text):
    """espeak-ng speech of ``text`` and each single-word event's start (s), by word index."""
    from align.text.espeak_synth import synthesize

    synth = synthesize(text, language="en-us", rate=175)
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    starts = {}
    for w in synth.words:
        inside = [k for k, (a, b) in enumerate(spans) if a < w.char_end and w.char_start < b]
        if len(inside) == 1 and w.end > w.start:
            starts[inside[0]] = w.start / synth.sample_rate
    return synth, starts


def _distinct_prompts(step, count):
    seen, texts = set(), []
    for path in sorted(shared_data("data/speech/cathy").glob("*.txt")):
        text = " ".join(path.read_text().split())
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts[::step][:count]


def test_adaptation_brings_word_starts_closer_to_espeak_timings():
    errors = {True: [], False: []}
    for text in _distinct_prompts(8, 60):
        synth, truth = _espeak_truth(text)
        for adapt in (True, False):
            result = align.align_transcript((synth.samples, synth.sample_rate), text, speaker_adaptation=adapt)
            assert len(result.words) == len(text.split())
            errors[adapt] += [abs(result.words[k].start - t) for k, t in truth.items()]
    adapted, plain = np.mean(errors[True]), np.mean(errors[False])
    # the control must lose: without adaptation the mean start error is larger
    assert adapted < 0.95 * plain, (adapted, plain)


def test_a_recording_too_short_to_adapt_is_aligned_in_one_pass(monkeypatch):
    """Under MIN_ADAPTATION_FRAMES frames the map would be the identity: no first pass, same result."""
    from align.acoustic.adapt import MIN_ADAPTATION_FRAMES
    from align.speech import transcript as tr

    synth_short, _ = _espeak_truth("The birch canoe slid on the smooth planks.")
    synth_long, _ = _espeak_truth("The birch canoe slid on the smooth planks. Glue the sheet to the dark "
                                  "blue background. It is easy to tell the depth of a well.")
    calls = []
    real_decode = tr._decode
    monkeypatch.setattr(tr, "_decode", lambda *a, **k: calls.append(k.get("stride", 1)) or real_decode(*a, **k))
    for synth, text, passes in [
        (synth_short, "The birch canoe slid on the smooth planks.", 1),
        (synth_long, "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
                     "background. It is easy to tell the depth of a well.", 2),
    ]:
        frames = len(synth.samples) * 100 // synth.sample_rate
        assert (frames < MIN_ADAPTATION_FRAMES) == (passes == 1)
        calls.clear()
        adapted = align.align_transcript((synth.samples, synth.sample_rate), text)
        assert len(calls) == passes
        plain = align.align_transcript((synth.samples, synth.sample_rate), text, speaker_adaptation=False)
        if passes == 1:  # the identity map: the same words at the same times
            assert [(w.start, w.end) for w in adapted.words] == [(w.start, w.end) for w in plain.words]
