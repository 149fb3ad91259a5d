import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from align.exceptions import ParameterError  # noqa: E402
from align.plot import plot_alignment  # noqa: E402
from align.speech.results import Alignment, Phone, Word  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "align" / "data" / "sample" / "arctic_a0005_1592748459.flac"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def alignment():
    # rough hand-made timings for "Will we ever forget it." (1.64 s)
    spec = [("Will", 0.12, 0.38, ["W", "IH", "L"]), ("we", 0.39, 0.66, ["W", "IY"]),
            ("ever", 0.67, 0.94, ["EH", "V", "ER"]), ("forget", 0.95, 1.22, ["F", "ER", "G", "EH", "T"]),
            ("it.", 1.23, 1.50, ["IH", "T"])]
    words = []
    for text, s, e, labels in spec:
        d = (e - s) / len(labels)
        words.append(Word(text, s, e, 0.9, [Phone(p, s + i * d, s + (i + 1) * d) for i, p in enumerate(labels)]))
    return Alignment(words, 1.6388, 16000, audio_path=str(SAMPLE))


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_writes_valid_png(alignment, tmp_path):
    path = tmp_path / "a.png"
    fig = plot_alignment(alignment, SAMPLE, path, dpi=80)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 80), round(h_in * 80))
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # not a blank canvas
    assert os.listdir(tmp_path) == ["a.png"]


def test_figure_contents(alignment):
    fig = plot_alignment(alignment)  # audio from alignment.audio_path, nothing saved
    assert len(fig.axes) == 3
    texts = _texts(fig)
    for word in ("Will", "we", "ever", "forget", "it."):
        assert word in texts
    assert "IH" in texts and "W" in texts
    assert fig._suptitle.get_text() == SAMPLE.name
    wave, spec, tier = fig.axes
    assert len(spec.images) == 1
    # 2 word edges per word, on all three panels
    assert len(wave.lines) == 10 and len(wave.collections) == 1  # 26k samples: envelope
    assert tier.get_xlim() == pytest.approx((0.0, 1.6388), abs=1e-3)


def test_without_phones_and_zoom(alignment):
    fig = plot_alignment(alignment, SAMPLE, phones=False, start=0.3, end=1.0, title="zoom")
    texts = _texts(fig)
    assert "IH" not in texts
    assert "it." not in texts and "Will" in texts and "forget" in texts  # partly visible words are drawn
    assert fig.axes[2].get_xlim() == pytest.approx((0.3, 1.0))
    assert fig._suptitle.get_text() == "zoom"


def test_array_input_long_audio(rng):
    sr = 8000
    samples = (rng.standard_normal(sr * 12) * 0.1).astype(np.float32)
    words = [Word(f"w{i}", i + 0.1, i + 0.9, None, [Phone("AH", i + 0.1, i + 0.9)]) for i in range(12)]
    fig = plot_alignment(Alignment(words, 12.0), (samples, sr))
    assert len(fig.axes[0].collections) == 1  # min/max envelope instead of 96k-point line
    assert fig.get_size_inches()[0] == pytest.approx(24.0)


def test_failed_save_keeps_old_png(alignment, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    path = tmp_path / "a.png"
    path.write_bytes(b"old")

    def broken(self, fh, **kwargs):
        fh.write(PNG_MAGIC)
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        plot_alignment(alignment, SAMPLE, path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.png"]


def test_needs_audio():
    with pytest.raises(ParameterError, match=r"plot_alignment needs the audio: pass audio="):
        plot_alignment(Alignment([], 1.0))


def test_bad_range(alignment):
    with pytest.raises(ParameterError, match=r"0 <= start < end, got start=1.0, end=0.5"):
        plot_alignment(alignment, SAMPLE, start=1.0, end=0.5)


def test_bad_audio(alignment, tmp_path):
    with pytest.raises(ParameterError, match=r"audio file '.*missing.wav' does not exist"):
        plot_alignment(alignment, tmp_path / "missing.wav")


def test_pyplot_state_untouched(alignment):
    import matplotlib

    backend = matplotlib.get_backend()
    plot_alignment(alignment)
    assert matplotlib.get_backend() == backend


def test_long_recording_spectrogram_is_bounded(rng):
    sr = 8000
    samples = (rng.standard_normal(sr * 60) * 0.1).astype(np.float32)
    fig = plot_alignment(Alignment([Word("a", 1.0, 2.0)], 60.0), (samples, sr), phones=False)
    columns = fig.axes[1].images[0].get_array().shape[1]
    assert 3000 < columns <= 4000  # 6000 frames at a 10 ms hop, capped
    assert fig.get_size_inches()[0] == pytest.approx(40.0)
