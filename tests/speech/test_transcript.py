"""align_transcript end to end on the bundled real speech.

The peer is PocketSphinx's own aligner (same acoustic model, its own decoder),
run here on the same audio; its boundaries are a peer's answer, not ground truth.
"""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import align
from align import InfeasibleAlignmentError, ParameterError

SAMPLE = resources.files("align") / "data" / "sample"
A0001 = SAMPLE / "arctic_a0001_1592748574.flac"
A0005 = SAMPLE / "arctic_a0005_1592748459.flac"
TEXT_0001 = "Author of the danger trail, Philip Steels, etc."


@pytest.fixture(scope="module")
def a0001():
    return align.align_transcript(A0001, TEXT_0001)


def _pocketsphinx_words(path, words):
    from pocketsphinx import Decoder

    samples, sr = sf.read(str(path), dtype="int16")
    decoder = Decoder(lm=None, loglevel="ERROR")
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(samples.tobytes(), full_utt=True)
    decoder.end_utt()
    return [(s.word.split("(")[0], s.start_frame / 100, (s.end_frame + 1) / 100)
            for s in decoder.seg() if not s.word.startswith(("<", "["))]


def test_words_keep_written_text_and_order(a0001):
    assert [w.text for w in a0001.words] == ["Author", "of", "the", "danger", "trail",
                                             "Philip", "Steels", "etc."]
    assert a0001.words[-1].spoken == "et cetera"
    starts = [w.start for w in a0001.words]
    assert starts == sorted(starts)
    for w in a0001.words:
        assert 0 <= w.start < w.end <= a0001.duration
        # phones tile the word exactly
        assert w.phones[0].start == w.start and w.phones[-1].end == w.end
        for p, q in zip(w.phones, w.phones[1:]):
            assert p.end == q.start
        assert all(p.end - p.start >= 0.03 - 1e-9 for p in w.phones)  # 3 states x 10 ms


def test_phones_are_the_dictionary_pronunciation(a0001):
    assert [p.label for p in a0001.words[3].phones] == ["D", "EY", "N", "JH", "ER"]


def test_agrees_with_pocketsphinx_aligner(a0001):
    spoken = " ".join(w.spoken or w.text.lower() for w in a0001.words).split()
    theirs = _pocketsphinx_words(A0001, spoken)
    assert [t[0] for t in theirs] == spoken
    diffs = []
    for w in a0001.words:
        if w.spoken is None:  # one spoken word: compare it with the peer's
            _, b, e = theirs[spoken.index(w.text.lower())]
            diffs += [abs(w.start - b), abs(w.end - e)]
    diffs = np.array(diffs)
    assert np.median(diffs) <= 0.02
    assert np.mean(diffs <= 0.02) >= 0.75


def test_pause_goes_to_silence_not_into_a_word(a0001):
    # "trail, Philip": PocketSphinx puts a 0.25 s silence there; so must we
    trail, philip = a0001.words[4], a0001.words[5]
    assert philip.start - trail.end >= 0.15


def test_inserted_silence_is_never_swallowed():
    samples, sr = sf.read(str(A0001), dtype="float32")
    cut = int(0.66 * sr)  # between "the" and "danger"
    padded = np.concatenate([samples[:cut], np.zeros(sr, dtype=np.float32), samples[cut:]])
    result = align.align_transcript((padded, sr), TEXT_0001)
    the, danger = result.words[2], result.words[3]
    assert danger.start - the.end >= 0.9


def test_wrong_word_gets_low_confidence(a0001):
    wrong = align.align_transcript(A0001, "Author of the banana trail, Philip Steels, etc.")
    assert wrong.words[3].text == "banana"
    assert wrong.words[3].score < 0.3
    right = [w.score for i, w in enumerate(a0001.words)]
    assert min(right) > 0.6


def test_unrelated_transcript_is_flagged():
    result = align.align_transcript(A0001, "The quick brown fox jumps over the lazy dog.")
    assert np.median([w.score for w in result.words]) < 0.3


def test_missing_word_audio_is_not_stretched_into_neighbour(a0001):
    # the transcript lacks "etc.": "Steels" must not grow over its 0.5 s of audio
    result = align.align_transcript(A0001, "Author of the danger trail, Philip Steels.")
    steels = result.words[-1]
    assert abs(steels.end - a0001.words[6].end) < 0.05


def test_unknown_word_never_fails():
    result = align.align_transcript(A0005, "Will we ever zorblax it.")
    assert "zorblax" in result.unknown_words
    assert [w.text for w in result.words] == ["Will", "we", "ever", "zorblax", "it"]


def test_long_audio_in_windows_matches_short_alignments():
    # 12 copies of a 2 s utterance with 0.4 s gaps, aligned with 10 s windows
    samples, sr = sf.read(str(A0005), dtype="float32")
    text = (SAMPLE / "arctic_a0005_1592748459.txt").read_text().strip()
    single = align.align_transcript(A0005, text)
    gap = np.zeros(int(0.4 * sr), dtype=np.float32)
    n = 12
    long_audio = np.concatenate([np.concatenate([samples, gap]) for _ in range(n)])
    result = align.align_transcript((long_audio, sr), " ".join([text] * n), window=10.0)
    assert len(result.words) == n * len(single.words)
    period = (len(samples) + len(gap)) / sr
    for k in range(n):
        for a, b in zip(result.words[k * len(single.words):(k + 1) * len(single.words)], single.words):
            assert abs(a.start - (b.start + k * period)) <= 0.03
            assert abs(a.end - (b.end + k * period)) <= 0.03


def test_save_all_formats(a0001, tmp_path):
    for ext in (".TextGrid", ".json", ".srt", ".vtt", ".ctm"):
        a0001.save(tmp_path / f"out{ext}")
        assert (tmp_path / f"out{ext}").stat().st_size > 0
    back = align.Alignment.load(tmp_path / "out.json")
    assert [w.text for w in back.words] == [w.text for w in a0001.words]


def test_transcript_from_file(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("Will we ever forget it.\n")
    result = align.align_transcript(A0005, p)
    assert len(result.words) == 5


def test_error_empty_transcript():
    with pytest.raises(ParameterError, match="the transcript has no words to align"):
        align.align_transcript(A0005, " ... ")


def test_error_language():
    with pytest.raises(ParameterError, match=r"language='fr': method='acoustic' has an English model only"):
        align.align_transcript(A0005, "oui", language="fr", method="acoustic")
    # the default routes other languages to espeak-ng + DTW, which names the closest codes
    with pytest.raises(ParameterError, match=r"'fr'"):
        align.align_transcript(A0005, "oui", language="fra")


def test_error_window():
    with pytest.raises(ParameterError, match=r"window must be a number of seconds >= 10, got 1"):
        align.align_transcript(A0005, "will", window=1)


def test_error_audio_too_short_for_transcript():
    samples = np.zeros(1600, dtype=np.float32)  # 0.1 s
    with pytest.raises(InfeasibleAlignmentError, match=r"the audio is too short for the transcript: \d+ frames"):
        align.align_transcript((samples, 16000), "will we ever forget it")


def test_error_transcript_type():
    with pytest.raises(ParameterError, match="transcript must be text or a path to a text file, got int"):
        align.align_transcript(A0005, 42)


def test_error_not_audio(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(ParameterError, match="notes.wav"):
        align.align_transcript(bad, "will")


MFA = Path(__file__).resolve().parents[1] / "data" / "mfa"


def test_laughter_markup_takes_the_laughter():
    # "[laughter] montreal [laughter] forced [laughter] aligner [laughter]": the
    # bracketed markup is aligned with a filler and takes the non-speech around
    # the words, so no word is stretched over a laugh
    result = align.align_transcript(
        MFA / "mfa_laughter.flac", "[laughter] montreal [laughter] forced [laughter] aligner [laughter]")
    texts = [w.text for w in result.words]
    assert texts == ["[laughter]", "montreal", "[laughter]", "forced", "[laughter]", "aligner", "[laughter]"]
    for w in result.words:
        if w.text == "[laughter]":
            assert w.end - w.start > 1.0
            assert [p.label for p in w.phones][0] in ("+NSN+", "+SPN+", "SIL", "+GARBAGE+")
        else:
            assert w.end - w.start < 1.2
            assert w.score > 0.5  # "aligner": 0.68 unadapted, 0.59 adapted, at the same place
    assert not any(u.startswith("[") for u in result.unknown_words)  # markup is not a word


def test_whisper_aligns():
    result = align.align_transcript(MFA / "mfa_whisper.flac", "montreal forced aligner")
    assert [w.text for w in result.words] == ["montreal", "forced", "aligner"]
    assert 0.3 < result.words[0].start and result.words[-1].end < result.duration


def test_multiword_token_split_at_a_pause():
    # "Will-we" is one written token of two spoken words; with a second of
    # silence between them it must not become one Word spanning the pause
    samples, sr = sf.read(str(A0005), dtype="float32")
    plain = align.align_transcript(A0005, "Will we ever forget it.")
    cut = int(plain.words[0].end * sr)
    padded = np.concatenate([samples[:cut], np.zeros(sr, dtype=np.float32), samples[cut:]])
    result = align.align_transcript((padded, sr), "Will-we ever forget it.")
    assert [w.text for w in result.words][:2] == ["will", "we"]
    for w in result.words:
        assert not (w.start < plain.words[0].end + 0.5 < w.end)
    together = align.align_transcript(A0005, "Will-we ever forget it.")
    assert together.words[0].text == "Will-we" and together.words[0].spoken == "will we"


def test_long_audio_widens_a_window_that_cannot_hold_its_words(monkeypatch):
    # if a window's words do not fit, the window doubles and the same words are retried
    import align.speech.transcript as tr

    samples, sr = sf.read(str(A0005), dtype="float32")
    text = (SAMPLE / "arctic_a0005_1592748459.txt").read_text().strip()
    audio = np.concatenate([np.concatenate([samples, np.zeros(int(0.4 * sr), np.float32)])] * 16)
    real = tr._align_window
    spans = []

    def flaky(model, features, prons, **kw):
        spans.append(features.shape[0])
        if len(spans) == 1:
            raise InfeasibleAlignmentError("pretend the first window cannot hold its words")
        return real(model, features, prons, **kw)

    monkeypatch.setattr(tr, "_align_window", flaky)
    result = align.align_transcript((audio, sr), " ".join([text] * 16), window=10.0)
    assert len(result.words) == 16 * 5
    # the retry covers twice the frames (or up to the end), the next window is back to normal
    assert spans[1] > spans[0] and spans[2] <= spans[0]
