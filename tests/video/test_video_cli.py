"""The whole video chain on a real talk: an mp4 with cathy's speech and known cuts.

``align transcript talk.mp4 talk.txt -o talk.srt`` (the audio track through PyAV), ``align
subtitles`` (align, detect shots, cut broadcast-rule cues snapped to them) and ``align sync``
of the video against its own soundtrack recorded apart.
"""

import json

import numpy as np
import pytest

from align.cli import main

from ..conftest import shared_data
from .conftest import FPS, shots_pictures, write_video

NAMES = ["arctic_a0001_1592748574", "arctic_a0002_1592748530", "arctic_a0003_1592748500"]


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    import soundfile as sf

    pytest.importorskip("av")
    root = tmp_path_factory.mktemp("talk")
    cathy = shared_data("data/speech/cathy")
    pieces, texts = [], []
    for name in NAMES:
        y, sr = sf.read(cathy / f"{name}.flac", dtype="float32")
        pieces += [y, np.zeros(sr // 2, np.float32)]
        texts.append((cathy / f"{name}.txt").read_text().strip())
    audio = np.concatenate(pieces)
    seconds = audio.size / 16000
    n_frames = int(seconds * FPS)
    cuts = [n_frames // 3, 2 * n_frames // 3]
    lengths = [cuts[0], cuts[1] - cuts[0], n_frames - cuts[1]]
    video = write_video(root / "talk.mp4", shots_pictures(lengths), audio=audio, audio_rate=16000)
    text = root / "talk.txt"
    text.write_text(" ".join(texts))
    recorder = root / "recorder.wav"
    sf.write(recorder, np.concatenate([np.zeros(int(1.25 * 16000), np.float32), audio]), 16000)
    return video, text, recorder, cuts


def _srt_cues(path):
    blocks = [b for b in path.read_text().strip().split("\n\n") if b.strip()]
    cues = []
    for block in blocks:
        lines = block.splitlines()
        start, end = (sum(float(x) * f for x, f in zip(t.replace(",", ".").split(":"), (3600, 60, 1)))
                      for t in lines[1].split(" --> "))
        cues.append((start, end, lines[2:]))
    return cues


def test_align_transcript_reads_the_soundtrack_of_an_mp4(talk, tmp_path):
    video, text, _, _ = talk
    out = tmp_path / "talk.srt"
    assert main(["transcript", str(video), str(text), "-o", str(out), "-q"]) == 0
    cues = _srt_cues(out)
    assert cues and " ".join(" ".join(c[2]) for c in cues).split()[:3] == ["Author", "of", "the"]


def test_align_subtitles_cuts_cues_on_the_shots(talk, tmp_path, capsys):
    video, text, _, cuts = talk
    out = tmp_path / "talk.srt"
    assert main(["subtitles", str(video), str(text), "-o", str(out), "-q"]) == 0
    cues = _srt_cues(out)
    cut_times = [c / FPS for c in cuts]
    words = " ".join(" ".join(c[2]) for c in cues).split()
    assert words == text.read_text().split()  # every word once, in order
    for start, end, lines in cues:
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
        for cut in cut_times:
            assert not (start < cut - 1e-6 and end > cut + 1e-6), (start, end, cut)  # never across a cut


def test_align_sync_finds_the_recorder_offset(talk, tmp_path, capsys):
    video, _, recorder, _ = talk
    out = tmp_path / "sync.json"
    assert main(["sync", str(recorder), str(video), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    results = data["recordings"]
    video_result = results[-1]
    # the video's sound starts 1.25 s into the recorder's
    assert abs(video_result["offset"] - 1.25) < 0.01, video_result
