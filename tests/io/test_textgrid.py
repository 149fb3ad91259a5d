import pytest
from praatio import textgrid

from align.exceptions import ParameterError
from align.io.textgrid import read_textgrid, write_textgrid
from align.speech.results import Alignment, Phone, Word


def _tiers(path):
    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=True)
    return tg, {name: [(e.start, e.end, e.label) for e in tg.getTier(name).entries]
                for name in tg.tierNames}


def test_read_back_with_praatio(alignment, tmp_path):
    path = tmp_path / "a.TextGrid"
    alignment.save(path)
    tg, tiers = _tiers(path)
    assert list(tg.tierNames) == ["words", "phones"]
    assert tg.minTimestamp == 0.0 and tg.maxTimestamp == 2.0
    # gaps filled with empty intervals, so the tier covers [0, duration] exactly
    assert tiers["words"] == [(0.0, 0.1, ""), (0.1, 0.5, "Hello"), (0.5, 1.0, ""),
                              (1.0, 1.8, "$5"), (1.8, 2.0, "")]
    labels = [lab for _, _, lab in tiers["phones"] if lab]
    assert labels == ["HH", "AH", "L", "OW", "F", "AY", "V", "D", "AA", "L", "ER", "Z"]
    for name in tiers:
        ends = [e for _, e, _ in tiers[name]]
        starts = [s for s, _, _ in tiers[name]]
        assert starts[1:] == ends[:-1]


def test_round_trip_with_reader(alignment, tmp_path):
    path = tmp_path / "a.TextGrid"
    write_textgrid(alignment, path, format="short_textgrid")
    doc = read_textgrid(path)
    assert [w["text"] for w in doc["words"]] == ["Hello", "$5"]
    back = Alignment.from_dict(doc)
    assert [w.text for w in back.words] == ["Hello", "$5"]
    assert [(w.start, w.end) for w in back.words] == [(w.start, w.end) for w in alignment.words]
    assert [len(w.phones) for w in back.words] == [4, 8]
    assert [(p.label, p.start, p.end) for p in back.phones] == [
        (p.label, p.start, p.end) for p in alignment.phones]
    assert back.duration == alignment.duration


def test_times_clamped_and_overlaps_fixed(tmp_path):
    a = Alignment(
        words=[Word("a", 0.0, 1.0000001, phones=[Phone("AH", 0.0, 1.0000001)]),
               Word("b", 1.0, 2.5, phones=[Phone("B", 1.0, 2.5)]),
               Word("c", 3.0, 3.5)],  # entirely past the end: dropped
        duration=2.0,
    )
    path = tmp_path / "a.TextGrid"
    write_textgrid(a, path)
    _, tiers = _tiers(path)
    assert tiers["words"] == [(0.0, 1.0000001, "a"), (1.0000001, 2.0, "b")]
    assert tiers["phones"][-1] == (1.0000001, 2.0, "B")


def test_without_phones_tier(alignment, tmp_path):
    path = tmp_path / "a.TextGrid"
    alignment.save(path, phones=False)
    tg, _ = _tiers(path)
    assert list(tg.tierNames) == ["words"]


def test_bad_format(alignment, tmp_path):
    with pytest.raises(ParameterError, match=r"format='praat' is not supported for TextGrid"):
        write_textgrid(alignment, tmp_path / "a.TextGrid", format="praat")


def test_zero_duration(tmp_path):
    with pytest.raises(ParameterError, match=r"cannot write a TextGrid for an alignment of duration 0.0"):
        write_textgrid(Alignment(words=[], duration=0.0), tmp_path / "a.TextGrid")


def test_read_missing(tmp_path):
    with pytest.raises(ParameterError, match=r"TextGrid file '.*x.TextGrid' does not exist"):
        read_textgrid(tmp_path / "x.TextGrid")


def test_read_garbage(tmp_path):
    path = tmp_path / "x.TextGrid"
    path.write_text("garbage")
    with pytest.raises(ParameterError, match=r"'.*x.TextGrid' is not a readable TextGrid"):
        read_textgrid(path)


def test_read_without_words_tier(tmp_path):
    tg = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=1.0)
    tg.addTier(textgrid.IntervalTier("other", [(0.0, 1.0, "x")], 0.0, 1.0))
    path = tmp_path / "x.TextGrid"
    tg.save(str(path), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(ParameterError, match=r"has no 'words' tier; found tiers \['other'\]"):
        read_textgrid(path)
