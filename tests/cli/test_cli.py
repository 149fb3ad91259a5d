"""The ``align`` command: parse, call the API, write outputs; errors exit 2."""

import json
from importlib import resources

import pytest

from align.cli import main

SAMPLE = resources.files("align") / "data" / "sample"
A0005 = SAMPLE / "arctic_a0005_1592748459.flac"


def test_transcript_writes_every_output(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("Will we ever forget it.")
    outs = [tmp_path / "a.TextGrid", tmp_path / "a.json", tmp_path / "a.srt"]
    argv = ["transcript", str(A0005), str(text), "--plot", str(tmp_path / "a.png")]
    for o in outs:
        argv += ["-o", str(o)]
    assert main(argv) == 0
    for o in outs:
        assert o.stat().st_size > 0
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "a.json").read_text())
    assert [w["text"] for w in data["words"]] == ["Will", "we", "ever", "forget", "it"]
    assert "forget" in capsys.readouterr().out


def test_demo_writes_textgrid_json_png(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    stems = sorted(p.stem for p in SAMPLE.glob("*.flac"))
    for stem in stems:
        for ext in (".TextGrid", ".json", ".png"):
            assert (tmp_path / f"{stem}{ext}").is_file()
    assert "wrote TextGrid, JSON and PNG files" in capsys.readouterr().out


def test_align_error_is_one_line_and_exit_2(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("")
    assert main(["transcript", str(A0005), str(text), "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("align: error: the transcript has no words to align")
    assert err.count("\n") == 1


def test_unknown_output_extension_exit_2(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("Will we ever forget it.")
    assert main(["transcript", str(A0005), str(text), "-o", str(tmp_path / "x.docx")]) == 2
    assert "align: error:" in capsys.readouterr().err


def test_cache_clear(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache" / "kernels"
    cache.mkdir(parents=True)
    for name in ("dtw.f-1.py311.nbi", "dtw.f-1.py311.1.nbc", "keep.txt"):
        (cache / name).write_bytes(b"x")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["cache", "clear"]) == 0
    assert "removed 2 cached kernel file(s)" in capsys.readouterr().out
    assert [p.name for p in cache.iterdir()] == ["keep.txt"]


def test_missing_subcommand_is_usage_error():
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
