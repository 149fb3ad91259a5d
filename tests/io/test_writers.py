import os

import pytest

from align.exceptions import ParameterError
from align.io import _atomic
from align.io.writers import format_for_path, read_document, save_alignment
from align.speech.results import Alignment


@pytest.mark.parametrize("name, kind", [("x.TextGrid", "textgrid"), ("x.textgrid", "textgrid"),
                                        ("x.JSON", "json"), ("x.srt", "srt"), ("x.vtt", "vtt"),
                                        ("x.ctm", "ctm")])
def test_dispatch(name, kind):
    assert format_for_path(name) == kind


def test_every_format_writes_what_it_was_given(alignment, tmp_path):
    for ext in (".TextGrid", ".json", ".srt", ".vtt", ".ctm"):
        alignment.save(tmp_path / ("out" + ext))
    assert sorted(os.listdir(tmp_path)) == ["out.TextGrid", "out.ctm", "out.json", "out.srt", "out.vtt"]
    # each file holds the words and their times, read back by its own rules
    assert Alignment.load(tmp_path / "out.json") == alignment
    grid = Alignment.load(tmp_path / "out.TextGrid")
    assert [(w.text, w.start, w.end) for w in grid.words] == [(w.text, w.start, w.end) for w in alignment.words]
    srt = (tmp_path / "out.srt").read_text().splitlines()
    assert srt[:3] == ["1", "00:00:00,100 --> 00:00:01,800", "Hello $5"]
    vtt = (tmp_path / "out.vtt").read_text().splitlines()
    assert vtt[0] == "WEBVTT" and "00:00:00.100 --> 00:00:01.800" in vtt and "Hello $5" in vtt
    ctm = [line.split() for line in (tmp_path / "out.ctm").read_text().splitlines()]
    assert [(c[4], float(c[2]), float(c[3])) for c in ctm] == [("Hello", 0.1, 0.4), ("$5", 1.0, 0.8)]


def test_format_override(alignment, tmp_path):
    path = tmp_path / "subs.txt"
    save_alignment(alignment, path, format="vtt")
    assert path.read_text().startswith("WEBVTT\n")


def test_unknown_extension(alignment, tmp_path):
    with pytest.raises(ParameterError, match=r"extension '.wav'; use one of \.TextGrid, \.json, "
                                              r"\.srt, \.vtt, \.ctm or pass format="):
        alignment.save(tmp_path / "x.wav")


def test_no_extension(alignment, tmp_path):
    with pytest.raises(ParameterError, match=r"from its extension '\(none\)'"):
        alignment.save(tmp_path / "x")


def test_unknown_format(alignment, tmp_path):
    with pytest.raises(ParameterError, match=r"format='xml' is not supported; use one of 'textgrid'"):
        save_alignment(alignment, tmp_path / "x.json", format="xml")


def test_load_unsupported(tmp_path):
    with pytest.raises(ParameterError, match=r"reading supports .json and .TextGrid"):
        read_document(tmp_path / "x.srt")
    with pytest.raises(ParameterError, match=r"reading supports .json and .TextGrid"):
        Alignment.load(tmp_path / "x.srt")


def test_missing_directory(alignment, tmp_path):
    with pytest.raises(ParameterError, match=r"the directory '.*nodir' does not exist"):
        alignment.save(tmp_path / "nodir" / "x.json")


def test_path_is_directory(alignment, tmp_path):
    (tmp_path / "d.json").mkdir()
    with pytest.raises(ParameterError, match=r"'.*d.json': it is a directory"):
        alignment.save(tmp_path / "d.json")


def test_atomic_open_mode(tmp_path):
    with pytest.raises(ParameterError, match=r"mode='a' is not supported; use 'w' or 'wb'"):
        with _atomic.atomic_open(tmp_path / "x", "a"):
            pass


# --- atomicity: a failure mid-write keeps the old file and leaves no temp file behind


@pytest.mark.parametrize("ext", [".json", ".srt", ".vtt", ".ctm", ".TextGrid"])
def test_failed_replace_keeps_old_file(alignment, tmp_path, monkeypatch, ext):
    path = tmp_path / ("out" + ext)
    path.write_text("old contents")

    def boom(src, dst):
        assert os.path.getsize(src) > 0  # the new data were fully written to the temp file
        raise OSError("disk on fire")

    monkeypatch.setattr(_atomic.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        alignment.save(path)
    assert path.read_text() == "old contents"
    assert os.listdir(tmp_path) == [path.name]


def test_crash_mid_write_keeps_old_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old contents")
    with pytest.raises(RuntimeError, match="crash"):
        with _atomic.atomic_open(path) as fh:
            fh.write("half of the new")
            fh.flush()
            raise RuntimeError("crash")
    assert path.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["out.json"]


def test_crash_inside_praatio_keeps_old_file(alignment, tmp_path, monkeypatch):
    from praatio.data_classes import textgrid as tg_module

    def half_save(self, fn, **kwargs):
        with open(fn, "w") as fh:
            fh.write('File type = "ooTextFile"\n')
        raise KeyboardInterrupt

    monkeypatch.setattr(tg_module.Textgrid, "save", half_save)
    path = tmp_path / "out.TextGrid"
    path.write_text("old contents")
    with pytest.raises(KeyboardInterrupt):
        alignment.save(path)
    assert path.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["out.TextGrid"]


def test_new_file_permissions_follow_umask(alignment, tmp_path):
    path = tmp_path / "a.json"
    alignment.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_bytes_and_text_helpers(tmp_path):
    _atomic.atomic_write_bytes(tmp_path / "b", b"\x00\x01")
    _atomic.atomic_write_text(tmp_path / "t", "a\r\nb")
    assert (tmp_path / "b").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t").read_bytes() == b"a\r\nb"


def test_replacing_keeps_the_old_mode(alignment, tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    path.chmod(0o600)
    alignment.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("{")
