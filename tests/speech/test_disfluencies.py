"""Filled pauses, cut-off words and MFA's angle-bracket markup in a transcript (issue 13).

The real-audio checks read MFA's conversational test recording (``cold_corpus3``)
and its clip of cut-off words, with MFA's own TextGrid as the peer's answer.
"""

import numpy as np
import pytest

import align
from align.acoustic.graph import build_utterance_graph
from align.acoustic.hesitations import HESITATIONS, hesitation_variants, is_hesitation
from align.speech.transcript import _model, cutoff_target, markup_pronunciation, partial_variants
from tests.conftest import shared_data


def mfa(relpath):
    return shared_data(f"data/speech/mfa/{relpath}")


def test_hesitation_variants_hear_the_vowel_as_speech_noise_and_keep_the_nasal():
    known = set(_model().ciphones)
    assert hesitation_variants("um", known) == [["AH", "M"], ["+SPN+", "M"]]
    assert hesitation_variants("uh", known) == [["AH"], ["+SPN+"]]
    assert hesitation_variants("mm", known) == [["M"]]          # no vowel: nothing to hear as noise
    assert hesitation_variants("uh", {"AH"}) == [["AH"]]        # a model without +SPN+
    assert hesitation_variants("under", known) is None
    assert all(is_hesitation(w) for w in HESITATIONS) and not is_hesitation("a")


def _gap_labels(graph):
    return {graph.units[u] for u, w in zip(graph.state_unit, graph.state_word) if w == -1}


def test_no_speech_noise_offered_beside_a_hesitation_only():
    model = _model()
    words = [[["S", "OW"]], [["AH", "M"], ["+SPN+", "M"]], [["Y", "EH", "S"]]]
    plain = build_utterance_graph(model, words)
    hesitant = build_utterance_graph(model, words, hesitations=[False, True, False])
    assert "+SPN+" in _gap_labels(plain)
    # the three gaps touching "um" (before, after; the edges stay) lose +SPN+
    n_spn = lambda g: sum(1 for u, w, k in zip(g.state_unit, g.state_word, g.state_in_unit)  # noqa: E731
                          if w == -1 and k == 0 and g.units[u] == "+SPN+")
    assert n_spn(plain) == 4 and n_spn(hesitant) == 2
    with pytest.raises(align.ParameterError, match="hesitations"):
        build_utterance_graph(model, words, hesitations=[True])


def test_a_held_um_takes_its_hum_not_50_ms():
    # MFA: "um" 6.52-7.11 s and "i" 7.21 s; before hesitations were modelled the
    # word got 6.48-6.54 s and +SPN+ in the gap took the rest.
    text = (mfa("corpus/cold_corpus3.lab")).read_text()
    result = align.align_transcript(mfa("corpus/cold_corpus3.wav"), text)
    ums = [w for w in result.words if w.text == "um"]
    first = ums[0]
    assert abs(first.start - 6.52) <= 0.05
    assert first.end - first.start >= 0.3
    nxt = result.words[result.words.index(first) + 1]
    assert nxt.text == "i" and abs(nxt.start - 7.21) <= 0.1


def test_cutoff_tokens_name_their_word():
    assert cutoff_target("<cutoff-montreal>") == "montreal"
    assert cutoff_target("mon-") == "mon"
    assert cutoff_target("I-") == "i"
    assert cutoff_target("twenty-one") is None and cutoff_target("montreal") is None
    assert markup_pronunciation("<cutoff-montreal>") is None
    assert markup_pronunciation("<vocnoise>")[0] == ["+NSN+"]
    assert markup_pronunciation("<unk>")[0] == ["+SPN+"]


def test_partial_variants_are_every_leading_part():
    assert partial_variants([["M", "AH", "N"], ["M", "AA", "N"]]) == [
        ["M"], ["M", "AH"], ["M", "AH", "N"], ["M", "AA"], ["M", "AA", "N"]]


def test_cutoff_words_take_part_of_their_word_and_never_read_cutoff_aloud():
    text = (mfa("clips/transcripts.tsv")).read_text().splitlines()[0].split("\t")[1]
    assert text.startswith("<cutoff-montreal>")
    result = align.align_transcript(mfa("clips/mfa_cutoff.flac"), text)
    assert [w.text for w in result.words] == text.split()
    montreal = ["M", "AH", "N", "T", "R", "IY", "AO", "L"]
    for w in result.words:
        labels = [p.label for p in w.phones]
        if w.text == "<cutoff-montreal>":
            assert labels == montreal[:len(labels)]
        assert "K" not in labels  # "cutoff" (K AH T AO F) is not read aloud
    first = result.words[0]
    assert first.end - first.start < result.words[1].end - result.words[1].start


def test_a_trailing_hyphen_is_a_cutoff_and_angle_markup_is_non_speech():
    from align.speech.transcript import _lexicon, _pronounce, _spoken_words

    lexicon = _lexicon()
    tokens, words, _ = _spoken_words("I- I said <vocnoise> mon- montreal", lexicon)
    assert words == ["i-", "i", "said", "<vocnoise>", "mon-", "montreal"]
    prons, _ = _pronounce(words, lexicon, set(_model().ciphones))
    assert prons[0] == [["AY"]]
    assert prons[3][0] == ["+NSN+"]
    assert ["M"] in prons[4] and all(v[0] == "M" for v in prons[4])
    assert np.all([len(v) >= 1 for v in prons[4]])


@pytest.mark.parametrize("after_word", [1, 2])
def test_a_real_cough_marked_in_the_transcript_is_taken_by_the_garbage_model(after_word, monkeypatch):
    # MFA's cold_corpus3 coughs at 16.95-17.75 s; spliced into the bundled sample
    # after a word and marked "[cough]", it must not move the words: no filler
    # (SIL, +NSN+, +SPN+) fits a cough, so without the garbage model the words
    # next to it were stretched over it by 0.5-0.6 s.
    from importlib import resources

    import soundfile as sf

    import align.speech.transcript as transcript

    wav = resources.files("align") / "data" / "sample" / "arctic_a0001_1592748574.flac"
    text = (resources.files("align") / "data" / "sample" / "arctic_a0001_1592748574.txt").read_text()
    samples, sr = sf.read(str(wav), dtype="float32")
    cough, cough_sr = sf.read(str(mfa("corpus/cold_corpus3.wav")), dtype="float32")
    assert cough_sr == sr
    cough = cough[int(16.95 * sr):int(17.75 * sr)]
    plain = align.align_transcript((samples, sr), text, speaker_adaptation=False)
    cut = int(round(plain.words[after_word].end * sr))
    spliced = np.concatenate([samples[:cut], cough, samples[cut:]])
    words = text.split()
    marked = " ".join(words[:after_word + 1] + ["[cough]"] + words[after_word + 1:])

    def worst_shift(adapt=True):
        result = align.align_transcript((spliced, sr), marked, speaker_adaptation=adapt)
        kept = [w for w in result.words if w.text != "[cough]"]
        shift = [len(cough) / sr if i > after_word else 0.0 for i in range(len(kept))]
        return max(max(abs(w.start - p.start - s), abs(w.end - p.end - s))
                   for w, p, s in zip(kept, plain.words, shift))

    assert worst_shift() <= 0.05
    # the garbage model alone (speaker adaptation, which also helps here, off) and its control
    assert worst_shift(adapt=False) <= 0.05
    monkeypatch.setattr(transcript, "GARBAGE_PENALTY", np.inf)  # the control: no garbage model
    assert worst_shift(adapt=False) > 0.3


def test_mfa_hesitant_word_markup_is_the_word_itself():
    from align.speech.transcript import hesitant_target

    assert hesitant_target("<hes-forced>") == "forced" and hesitant_target("forced") is None
    assert markup_pronunciation("<hes-forced>") is None
    # mfa_internalsil: three words said hesitantly, long silences between them; as
    # non-speech markup the middle one took 0.76-8.53 s
    result = align.align_transcript(mfa("clips/mfa_internalsil.flac"),
                                    "<hes-montreal> <hes-forced> <hes-aligner>")
    forced = result.words[1]
    assert [p.label for p in forced.phones] == ["F", "AO", "R", "S", "T"]
    assert forced.end - forced.start < 2.0
    assert result.words[0].end < forced.start and forced.end < result.words[2].start  # pauses between
