import pytest

from align.exceptions import ParameterError
from align.io.ctm import ctm_text
from align.speech.results import Alignment, Word


def test_ctm_words(alignment, tmp_path):
    path = tmp_path / "a.ctm"
    alignment.save(path)
    assert path.read_text() == (
        "clip_one 1 0.100 0.400 Hello 0.900\n"
        "clip_one 1 1.000 0.800 $5 0.750\n"
    )


def test_ctm_phones_and_options(alignment):
    lines = ctm_text(alignment, phones=True, file_id="utt7", channel="A").splitlines()
    assert lines[0] == "utt7 A 0.100 0.100 HH"  # phone without score: no confidence field
    assert lines[3] == "utt7 A 0.400 0.100 OW 0.800"
    assert len(lines) == 12


def test_ctm_default_id_and_spaces():
    a = Alignment(words=[Word("New York", 0.0, 0.5, 1.0), Word(" ", 0.5, 0.6)], duration=1.0)
    assert ctm_text(a) == "utterance 1 0.000 0.500 New_York 1.000\n"


def test_ctm_bad_file_id(alignment):
    with pytest.raises(ParameterError, match=r"file_id must be non-empty without whitespace, got 'a b'"):
        ctm_text(alignment, file_id="a b")
