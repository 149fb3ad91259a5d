import dataclasses

import pytest

from align.exceptions import ParameterError
from align.speech.results import Alignment, Phone, Word


def test_phones_property_and_silences(alignment):
    assert [p.label for p in alignment.phones][:4] == ["HH", "AH", "L", "OW"]
    assert alignment.silences() == [(0.0, 0.10), (0.50, 1.00), (1.80, 2.0)]
    assert alignment.silences(min_duration=0.3) == [(0.50, 1.00)]


def test_frozen(alignment):
    with pytest.raises(dataclasses.FrozenInstanceError):
        alignment.words[0].start = 3.0
    moved = alignment.replace(duration=3.0)
    assert moved.duration == 3.0 and alignment.duration == 2.0


def test_to_dict_round_trip(alignment):
    back = Alignment.from_dict(alignment.to_dict())
    assert back == alignment
    assert back.words[1].spoken == "five dollars"


def test_numbers_are_coerced():
    w = Word("a", 1, 2, score=1)
    assert isinstance(w.start, float) and isinstance(w.score, float)


def test_word_end_before_start():
    with pytest.raises(ParameterError, match=r"Word 'a' ends before it starts: start=2.0, end=1.0"):
        Word("a", 2.0, 1.0)


def test_phone_end_before_start():
    with pytest.raises(ParameterError, match=r"Phone 'AH' ends before it starts"):
        Phone("AH", 2.0, 1.0)


def test_time_not_a_number():
    with pytest.raises(ParameterError, match=r"Word.start must be a number of seconds, got 'x'"):
        Word("a", "x", 1.0)


def test_time_not_finite():
    with pytest.raises(ParameterError, match=r"Phone.end must be finite, got inf"):
        Phone("AH", 0.0, float("inf"))


def test_score_out_of_range():
    with pytest.raises(ParameterError, match=r"Word.score must be in \[0, 1\] or None, got 1.5"):
        Word("a", 0.0, 1.0, score=1.5)


def test_score_not_a_number():
    with pytest.raises(ParameterError, match=r"Phone.score must be a number in \[0, 1\] or None"):
        Phone("AH", 0.0, 1.0, score="high")


def test_word_phones_type():
    with pytest.raises(ParameterError, match=r"Word.phones must hold Phone objects, got tuple"):
        Word("a", 0.0, 1.0, phones=[("AH", 0.0, 1.0)])


def test_alignment_words_type():
    with pytest.raises(ParameterError, match=r"Alignment.words must hold Word objects, got str"):
        Alignment(words=["a"], duration=1.0)


def test_alignment_negative_duration():
    with pytest.raises(ParameterError, match=r"Alignment.duration must be >= 0, got -1.0"):
        Alignment(words=[], duration=-1.0)
