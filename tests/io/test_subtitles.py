import pytest

from align.exceptions import ParameterError
from align.io.subtitles import format_timestamp, group_words, srt_text, vtt_text
from align.speech.results import Alignment, Word


def _words(spec):
    return [Word(t, s, e) for t, s, e in spec]


def test_srt_exact(alignment, tmp_path):
    path = tmp_path / "a.srt"
    alignment.save(path)
    # the 0.5 s pause is below max_gap (1 s), so both words share one cue
    assert path.read_text(encoding="utf-8") == "1\n00:00:00,100 --> 00:00:01,800\nHello $5\n"


def test_srt_per_word(alignment):
    assert srt_text(alignment, per_word=True) == (
        "1\n00:00:00,100 --> 00:00:00,500\nHello\n\n"
        "2\n00:00:01,000 --> 00:00:01,800\n$5\n"
    )


def test_vtt_exact_and_escaped(tmp_path):
    a = Alignment(words=_words([("<b>", 0.0, 0.25), ("&", 0.25, 0.5)]), duration=1.0)
    path = tmp_path / "a.vtt"
    a.save(path, per_word=True)
    assert path.read_text(encoding="utf-8") == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:00.250\n&lt;b&gt;\n\n"
        "00:00:00.250 --> 00:00:00.500\n&amp;\n"
    )


def test_timestamp_format():
    assert format_timestamp(3725.0456) == "01:02:05,046"
    assert format_timestamp(59.9996, ".") == "00:01:00.000"
    assert format_timestamp(-0.1) == "00:00:00,000"


def test_group_by_chars():
    words = _words([(f"w{i:02d}", i * 0.3, i * 0.3 + 0.2) for i in range(20)])
    cues = group_words(words, max_chars=11)  # "w00 w01 w02" is 11 characters
    assert [c[2] for c in cues[:2]] == ["w00 w01 w02", "w03 w04 w05"]
    assert all(len(c[2]) <= 11 for c in cues)
    assert " ".join(c[2] for c in cues) == " ".join(w.text for w in words)


def test_group_by_duration():
    words = _words([("a", i * 1.0, i * 1.0 + 0.9) for i in range(12)])
    cues = group_words(words, max_duration=5.0)
    assert all(end - start <= 5.0 for start, end, _ in cues)
    assert cues[0] == (0.0, 4.9, "a a a a a")


def test_group_by_gap():
    words = _words([("a", 0.0, 0.5), ("b", 0.6, 1.0), ("c", 2.5, 3.0)])
    assert [c[2] for c in group_words(words, max_gap=1.0)] == ["a b", "c"]
    assert [c[2] for c in group_words(words, max_gap=2.0)] == ["a b c"]


def test_long_word_gets_own_cue():
    words = _words([("a", 0.0, 0.1), ("x" * 50, 0.1, 0.2), ("b", 0.2, 0.3)])
    assert [c[2] for c in group_words(words)] == ["a", "x" * 50, "b"]


def test_empty_words_skipped_and_empty_file(tmp_path):
    assert group_words(_words([(" ", 0.0, 0.1)])) == []
    path = tmp_path / "e.vtt"
    Alignment(words=[], duration=1.0).save(path)
    assert path.read_text() == "WEBVTT\n"


def test_cue_clamped_to_duration():
    a = Alignment(words=_words([("a", 0.5, 1.5)]), duration=1.0)
    assert "00:00:00,500 --> 00:00:01,000" in srt_text(a)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_chars": 0}, r"max_chars must be a positive integer, got 0"),
        ({"max_duration": 0}, r"max_duration must be > 0 seconds, got 0"),
        ({"max_gap": -1}, r"max_gap must be >= 0 seconds, got -1"),
    ],
)
def test_bad_limits(alignment, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        vtt_text(alignment, **kwargs)


def test_whitespace_inside_a_word_collapsed():
    a = Alignment(words=_words([("two\n\nlines", 0.0, 0.5)]), duration=1.0)
    assert srt_text(a) == "1\n00:00:00,000 --> 00:00:00,500\ntwo lines\n"
