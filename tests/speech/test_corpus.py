"""align_corpus and `align corpus`: many files, worker processes, resume, failures."""

import shutil
from importlib import resources

import pytest

from align import ParameterError
from align.cli import main
from align.corpus import align_corpus, find_corpus

SAMPLE = resources.files("align") / "data" / "sample"


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "spk1").mkdir(parents=True)
    for stem, where in (("arctic_a0001_1592748574", root), ("arctic_a0005_1592748459", root / "spk1")):
        shutil.copy(SAMPLE / f"{stem}.flac", where / f"{stem}.flac")
        shutil.copy(SAMPLE / f"{stem}.txt", where / f"{stem}.lab")
    (root / "orphan.wav").write_bytes(b"no transcript: ignored")
    return root


def test_find_corpus(corpus):
    items = find_corpus(corpus)
    assert [i.audio.name for i in items] == ["arctic_a0001_1592748574.flac", "arctic_a0005_1592748459.flac"]
    assert all(i.transcript.suffix == ".lab" for i in items)


@pytest.mark.parametrize("jobs", [1, 2])
def test_align_corpus_writes_mirrored_outputs_and_resumes(corpus, tmp_path, jobs):
    out = tmp_path / "out"
    results = align_corpus(corpus, out, formats=(".TextGrid", ".json"), jobs=jobs)
    assert [r.status for r in results] == ["aligned", "aligned"]
    assert (out / "arctic_a0001_1592748574.TextGrid").is_file()
    assert (out / "spk1" / "arctic_a0005_1592748459.json").is_file()
    again = align_corpus(corpus, out, formats=(".TextGrid", ".json"), jobs=jobs)
    assert [r.status for r in again] == ["skipped", "skipped"]


def test_a_failing_file_does_not_stop_the_others(corpus, tmp_path):
    (corpus / "broken.wav").write_text("not audio at all")
    (corpus / "broken.txt").write_text("hello")
    results = align_corpus(corpus, tmp_path / "out", jobs=1)
    status = {r.item.audio.name: r.status for r in results}
    assert status["broken.wav"] == "failed" and list(status.values()).count("aligned") == 2
    failed = [r for r in results if r.status == "failed"][0]
    assert "ParameterError" in failed.error and "broken.wav" in failed.error


def test_cli_corpus(corpus, tmp_path, capsys):
    assert main(["corpus", str(corpus), "-o", str(tmp_path / "o"), "-f", ".json", "-j", "1", "-q"]) == 0
    assert "2 aligned, 0 skipped (outputs exist), 0 failed" in capsys.readouterr().out


def test_errors(tmp_path):
    with pytest.raises(ParameterError, match="is not a directory"):
        find_corpus(tmp_path / "missing")
    with pytest.raises(ParameterError, match="no audio file with a transcript"):
        find_corpus(tmp_path)
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ParameterError, match="jobs must be an integer >= 1, got 0"):
        align_corpus(tmp_path, tmp_path / "o", jobs=0)
    with pytest.raises(ParameterError):
        align_corpus(tmp_path, tmp_path / "o", formats=(".docx",))


def test_durations_per_file_and_manifest(corpus, tmp_path, capsys):
    import json

    import numpy as np

    from align.speech.results import Alignment
    from align.tts.durations import n_mel_frames

    out = tmp_path / "o"
    argv = ["corpus", str(corpus), "-o", str(out), "-f", ".json", "-j", "1", "-q", "--durations",
            "--sample-rate", "22050", "--hop-length", "256"]
    assert main(argv) == 0
    lines = (out / "durations.jsonl").read_text().splitlines()
    assert len(lines) == 2
    for line, stem in zip(lines, ("arctic_a0001_1592748574", "spk1/arctic_a0005_1592748459")):
        row = json.loads(line)
        assert row["audio"].endswith(stem.split("/")[-1] + ".flac")
        a = Alignment.load(out / f"{stem}.json")
        # the table is the alignment's own durations: sums to librosa's frame count of the audio
        assert row["n_frames"] == n_mel_frames(a.duration, 22050, 256) == sum(row["durations"])
        assert [t for t in row["tokens"] if t] == [p.label for p in a.phones]
        assert np.array_equal(row["durations"], a.durations(sample_rate=22050, hop_length=256))
    # a rerun skips both files and rebuilds the same manifest
    assert main(argv) == 0
    assert "0 aligned, 2 skipped" in capsys.readouterr().out
    assert (out / "durations.jsonl").read_text().splitlines() == lines
    assert main(argv[:-4]) == 2  # --durations without the mel settings
