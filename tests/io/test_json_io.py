import json

import pytest

from align.exceptions import ParameterError
from align.io.json_io import FORMAT, VERSION, check_document, read_json, write_json
from align.speech.results import Alignment


def test_round_trip_through_file(alignment, tmp_path):
    path = tmp_path / "a.json"
    alignment.save(path)
    assert read_json(path) == alignment.to_dict()  # io reads plain documents
    assert Alignment.load(path) == alignment
    assert Alignment.from_dict(read_json(path)) == alignment


def test_schema(alignment, tmp_path):
    path = tmp_path / "a.json"
    write_json(alignment, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == FORMAT == "fusealign.alignment"
    assert doc["version"] == VERSION == 1
    assert set(doc) == {"format", "version", "duration", "sample_rate", "audio_path",
                        "unknown_words", "metadata", "words"}
    w = doc["words"][1]
    assert w == {**w, "text": "$5", "start": 1.0, "end": 1.8, "score": 0.75, "spoken": "five dollars"}
    assert "spoken" not in doc["words"][0]
    assert doc["words"][0]["phones"][3] == {"label": "OW", "start": 0.4, "end": 0.5, "score": 0.8}


def test_non_ascii_text_kept(tmp_path):
    from align.speech.results import Word

    a = Alignment(words=[Word("café", 0.0, 0.5)], duration=1.0)
    path = tmp_path / "a.json"
    write_json(a, path, indent=None)
    text = path.read_text(encoding="utf-8")
    assert "café" in text and text.count("\n") == 1
    assert read_json(path)["words"][0]["text"] == "café"
    assert Alignment.load(path).words[0].text == "café"


def test_wrong_format():
    with pytest.raises(ParameterError, match=r"not a fusealign alignment document: expected format "
                                              r"'fusealign.alignment', got 'other'"):
        check_document({"format": "other"})
    with pytest.raises(ParameterError, match=r"not a fusealign alignment document"):
        Alignment.from_dict({"format": "other"})


def test_newer_version(alignment):
    doc = alignment.to_dict()
    doc["version"] = 2
    with pytest.raises(ParameterError, match=r"version 2 is not supported; this reader knows versions 1..1"):
        Alignment.from_dict(doc)


def test_missing_field(alignment):
    doc = alignment.to_dict()
    del doc["words"]
    with pytest.raises(ParameterError, match=r"malformed alignment document: missing or bad field 'words'"):
        check_document(doc)


def test_malformed_word(alignment):
    doc = alignment.to_dict()
    del doc["words"][0]["start"]
    with pytest.raises(ParameterError, match=r"malformed alignment document: missing or bad field 'start'"):
        Alignment.from_dict(doc)


def test_writes_a_document_as_is(alignment, tmp_path):
    path = tmp_path / "a.json"
    write_json(alignment.to_dict(), path)
    assert Alignment.load(path) == alignment


def test_read_missing_file(tmp_path):
    with pytest.raises(ParameterError, match=r"alignment file '.*nope.json' does not exist"):
        read_json(tmp_path / "nope.json")


def test_read_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ParameterError, match=r"'.*bad.json' is not a JSON file"):
        read_json(path)
