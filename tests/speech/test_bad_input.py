"""The bad-input catalogue of issue 13: every case is an align error naming the file, or a warning.

Truncated and corrupt files of several formats, a file that is not audio, 0 bytes, a
directory, an unreadable file; audio that holds no speech (digital silence, steady noise,
tones) is reported in ``metadata["warnings"]`` and by ``align transcript`` (exit code 3
under ``--strict``); low-confidence words are listed at the end of a CLI run.
"""

import os
import shutil
import warnings

import numpy as np
import pytest

import align
from align.cli import main
from align.exceptions import ParameterError

from ..conftest import shared_data

CATHY = "arctic_a0001_1592748574"
TEXT = "Author of the danger trail, Philip Steels, etc."


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """A real recording as FLAC, WAV and OGG, with its transcript."""
    import soundfile as sf

    folder = tmp_path_factory.mktemp("speech")
    y, sr = sf.read(shared_data("data/speech/cathy") / f"{CATHY}.flac", dtype="float32")
    paths = {}
    for ext, fmt in ((".flac", "FLAC"), (".wav", "WAV"), (".ogg", "OGG")):
        paths[ext] = folder / f"speech{ext}"
        sf.write(paths[ext], y, sr, format=fmt)
    return paths, y, sr


def _align_error(path):
    with pytest.raises(ParameterError) as info:
        align.align_transcript(path, TEXT)
    message = str(info.value)
    assert os.path.basename(path) in message, message  # the message names the file
    return message


@pytest.mark.parametrize("ext", [".flac", ".wav", ".ogg"])
def test_a_file_cut_short_is_an_align_error(speech, tmp_path, ext):
    paths, _, _ = speech
    data = paths[ext].read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 3])
    try:
        result = align.align_transcript(cut, TEXT)
    except ParameterError as exc:
        assert "cut" in str(exc)
        assert "truncated" in str(exc) or "cannot read" in str(exc), exc
    else:
        # some decoders stop cleanly at the cut: then the audio is simply shorter
        assert result.duration < len(speech[1]) / speech[2]


def test_a_flac_cut_mid_frame_names_the_time_where_it_broke(speech, tmp_path):
    # the case from the issue: `head -c 20000 file.flac > cut.flac`
    cut = tmp_path / "cut.flac"
    cut.write_bytes(speech[0][".flac"].read_bytes()[:20000])
    message = _align_error(cut)
    assert "truncated or corrupt" in message and "re-encode or replace" in message


@pytest.mark.parametrize("ext", [".flac", ".wav", ".ogg"])
@pytest.mark.parametrize("seed", [0, 1])
def test_garbage_in_the_middle_is_an_align_error_or_decodes(speech, tmp_path, ext, seed):
    data = bytearray(speech[0][ext].read_bytes())
    middle = len(data) // 2
    data[middle: middle + 4000] = np.random.default_rng(seed).bytes(4000)
    bad = tmp_path / f"garbled{ext}"
    bad.write_bytes(bytes(data))
    try:
        align.align_transcript(bad, TEXT)
    except ParameterError as exc:
        assert "garbled" in str(exc)
    # no other exception type may escape (a library's own error would fail the test here)


def test_a_file_that_is_not_audio(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("these are not samples\n")
    assert "cannot read" in _align_error(bad)


def test_an_empty_file(tmp_path):
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    assert "is empty (0 bytes)" in _align_error(empty)


def test_a_directory_and_a_missing_file(tmp_path):
    assert "is a directory" in _align_error(tmp_path)
    assert "does not exist" in _align_error(tmp_path / "missing.wav")


def test_an_unreadable_file(speech, tmp_path, monkeypatch):
    # root reads any file, so the permission test asks the check itself
    locked = tmp_path / "locked.flac"
    shutil.copy(speech[0][".flac"], locked)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(locked) else real_access(p, mode))
    assert "permission denied" in _align_error(locked)


def _write(tmp_path, name, y, sr=16000):
    import soundfile as sf

    path = tmp_path / name
    sf.write(path, y.astype(np.float32), sr)
    return path


def _no_speech_cases(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 5) / 16000
    notes = 440 * 2 ** (rng.integers(0, 12, 20) / 12)
    phase = 2 * np.pi * np.cumsum(np.repeat(notes, t.size // 20 + 1)[: t.size]) / 16000
    return {"silence": _write(tmp_path, "silence.wav", np.zeros(t.size)),
            "noise": _write(tmp_path, "noise.wav", 0.1 * rng.standard_normal(t.size)),
            "tones": _write(tmp_path, "tones.wav", 0.2 * (np.sin(phase) + 0.5 * np.sin(2 * phase)))}


def test_audio_with_no_speech_is_reported_and_speech_is_not(speech, tmp_path):
    cases = _no_speech_cases(tmp_path)
    expected = {"silence": "the audio is silent", "noise": "steady signal", "tones": "median word confidence"}
    for name, path in cases.items():
        warnings = align.align_transcript(path, TEXT).metadata["warnings"]
        assert len(warnings) == 1 and warnings[0].startswith("no speech") and expected[name] in warnings[0], warnings
    # the control: real speech, and a short 8 kHz digit (the lowest confidences seen on speech)
    assert align.align_transcript(speech[0][".flac"], TEXT).metadata["warnings"] == []
    digit = shared_data("data/speech/fsdd") / "0_george_0.flac"
    assert align.align_transcript(digit, "zero").metadata["warnings"] == []


def test_cli_warns_lists_doubtful_words_and_fails_under_strict(speech, tmp_path, capsys):
    silence = _no_speech_cases(tmp_path)["silence"]
    text = tmp_path / "text.txt"
    text.write_text(TEXT)
    out = tmp_path / "out.json"
    assert main(["transcript", str(silence), str(text), "-o", str(out), "-q"]) == 0
    assert "align: warning:" in capsys.readouterr().err and out.exists()
    assert main(["transcript", str(silence), str(text), "-o", str(out), "-q", "--strict"]) == 3
    capsys.readouterr()
    # real speech under --strict: exit 0, and doubtful words listed only below the threshold asked for
    assert main(["transcript", str(speech[0][".flac"]), str(text), "-o", str(out), "-q", "--strict",
                 "--min-confidence", "1.01"]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err and "word(s) with confidence below 1.01" in err
    assert main(["transcript", str(speech[0][".flac"]), str(text), "-o", str(out), "-q",
                 "--min-confidence", "0.0"]) == 0
    assert "confidence below" not in capsys.readouterr().err


def test_samples_far_outside_the_audio_range_are_an_align_error(tmp_path):
    # what a garbled Ogg Vorbis file can decode to: finite samples whose spectrum overflows
    x = np.random.default_rng(0).standard_normal(32000).astype(np.float32)
    x[10000:10100] = 1e36
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the align error alone, no numpy overflow warning beside it
        with pytest.raises(ParameterError, match=r"far outside \[-1, 1\] \(corrupt data\?\)"):
            align.align_transcript((x, 16000), TEXT)
