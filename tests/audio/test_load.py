"""Tests for align.audio.load on real recordings (tests/data/fsdd, the bundled cathy sample)."""

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from align.audio.load import audio_info, iter_audio_blocks, load_audio, resample
from align.exceptions import ParameterError

ROOT = Path(__file__).resolve().parents[2]
DIGIT = ROOT / "tests" / "data" / "fsdd" / "0_george_0.flac"  # 8 kHz, CC BY-SA 4.0
CATHY = ROOT / "align" / "data" / "sample" / "arctic_a0005_1592748459.flac"  # 16 kHz, CC0


def _encode(samples, sr, path, codec, layout="mono"):
    """Write a file with PyAV (used to make mp3/m4a/ogg test files at test time)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sr, layout=layout)
        data = np.ascontiguousarray(np.atleast_2d(samples).astype(np.float32))
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout=layout)
        frame.sample_rate = sr
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_flac_native_rate():
    y, sr = load_audio(CATHY, sample_rate=None)
    ref, ref_sr = sf.read(CATHY, dtype="float32")
    assert sr == ref_sr == 16000 and y.dtype == np.float32 and y.shape == ref.shape
    np.testing.assert_array_equal(y, ref)


def test_resampled_8k_to_16k_matches_resample_poly():
    from scipy.signal import resample_poly

    y, sr = load_audio(DIGIT)
    raw, raw_sr = sf.read(DIGIT, dtype="float32")
    assert raw_sr == 8000 and sr == 16000
    assert y.shape == (2 * raw.shape[0],)
    np.testing.assert_allclose(y, resample_poly(raw, 2, 1), atol=1e-6)


def test_resampling_keeps_a_tone():
    sr_in, f = 44100, 440.0
    t = np.arange(sr_in) / sr_in
    y, sr = load_audio((np.sin(2 * np.pi * f * t).astype(np.float32), sr_in))
    assert sr == 16000 and y.shape == (16000,)
    ref = np.sin(2 * np.pi * f * np.arange(16000) / 16000)
    # away from the edges the polyphase filter reproduces the tone closely
    np.testing.assert_allclose(y[500:-500], ref[500:-500], atol=2e-3)


def test_resample_output_length():
    x = np.zeros((2, 1001), dtype=np.float32)
    assert resample(x, 44100, 16000).shape == (2, math.ceil(1001 * 16000 / 44100))
    assert resample(x, 16000, 16000) is x


def test_int16_scaled_and_stereo_mixed():
    left = np.full(800, 16384, dtype=np.int16)   # 0.5
    right = np.full(800, -32768, dtype=np.int16)  # -1.0
    y, sr = load_audio((np.stack([left, right], axis=1), 8000), sample_rate=None)
    assert sr == 8000 and y.shape == (800,)
    np.testing.assert_allclose(y, -0.25)
    both, _ = load_audio((np.stack([left, right]), 8000), sample_rate=None, mono=False)
    assert both.shape == (2, 800)
    np.testing.assert_allclose(both[0], 0.5)
    np.testing.assert_allclose(both[1], -1.0)


@pytest.mark.parametrize(
    "dtype, value, expected",
    [(np.uint8, 192, 0.5), (np.int8, -64, -0.5), (np.int32, 2**30, 0.5), (np.float64, 0.25, 0.25)],
)
def test_pcm_scaling(dtype, value, expected):
    y, _ = load_audio((np.full(10, value, dtype=dtype), 16000))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected)


def test_torch_tensor():
    torch = pytest.importorskip("torch")
    wav = torch.zeros(2, 4000)
    wav[0] = 1.0
    y, sr = load_audio((wav, 8000))
    assert sr == 16000 and y.shape == (8000,)
    np.testing.assert_allclose(y[1000:-1000], 0.5, atol=1e-3)
    y2, _ = load_audio(wav, input_sample_rate=16000)
    np.testing.assert_allclose(y2, 0.5)


def test_wav_int16_file(tmp_path):
    y, _ = load_audio(DIGIT, sample_rate=None)
    path = tmp_path / "d.wav"
    sf.write(path, y, 8000, subtype="PCM_16")
    back, sr = load_audio(path, sample_rate=None)
    assert sr == 8000
    np.testing.assert_allclose(back, y, atol=1 / 32768)


@pytest.mark.parametrize("ext, codec", [(".mp3", "libmp3lame"), (".m4a", "aac"), (".ogg", "libopus")])
def test_compressed_formats(tmp_path, ext, codec):
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    y, _ = load_audio(CATHY)
    path = tmp_path / ("c" + ext)
    try:
        _encode(y, 16000, path, codec)
    except Exception as exc:  # an encoder that rejects the settings is not what we test
        pytest.skip(f"cannot encode {ext} here: {exc}")
    back, sr = load_audio(path)
    assert sr == 16000 and back.dtype == np.float32
    # lossy codecs add encoder delay and padding: compare loudness and length only
    assert abs(back.shape[0] - y.shape[0]) < 0.1 * 16000
    assert abs(np.sqrt(np.mean(back**2)) - np.sqrt(np.mean(y**2))) < 0.2 * np.sqrt(np.mean(y**2))


def test_stereo_mp3_resampled(tmp_path):
    import av

    if "libmp3lame" not in av.codecs_available:
        pytest.skip("no mp3 encoder")
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 300 * t)]) * 0.5
    path = tmp_path / "s.mp3"
    _encode(stereo, 44100, path, "libmp3lame", layout="stereo")
    info = audio_info(path)
    assert info.sample_rate == 44100 and info.channels == 2
    y, sr = load_audio(path)
    assert sr == 16000 and y.ndim == 1 and abs(y.shape[0] - 16000) < 1600


def test_raw_needs_rate(tmp_path):
    path = tmp_path / "x.raw"
    (np.arange(100, dtype="<i2") * 100).tofile(path)
    with pytest.raises(ParameterError, match=r"'.*x.raw' is headerless raw PCM, which does not record "
                                              r"its sample rate; pass raw_sample_rate="):
        load_audio(path)
    y, sr = load_audio(path, raw_sample_rate=16000)
    assert sr == 16000
    np.testing.assert_allclose(y, np.arange(100) * 100 / 32768)


def test_raw_stereo_and_dtype(tmp_path):
    path = tmp_path / "x.pcm"
    np.array([[1000, 3000]] * 50, dtype="<i2").tofile(path)
    y, _ = load_audio(path, raw_sample_rate=8000, raw_channels=2, sample_rate=None)
    np.testing.assert_allclose(y, 2000 / 32768)
    with pytest.raises(ParameterError, match=r"raw_dtype='int24' is not supported"):
        load_audio(path, raw_sample_rate=8000, raw_dtype="int24")


def test_missing_file(tmp_path):
    with pytest.raises(ParameterError, match=r"audio file '.*nope.wav' does not exist; check the path"):
        load_audio(tmp_path / "nope.wav")


def test_directory(tmp_path):
    with pytest.raises(ParameterError, match=r"audio file '.*' is a directory"):
        load_audio(tmp_path)


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio at all\n" * 20)
    with pytest.raises(ParameterError, match=r"cannot read '.*notes.wav' as audio \(.*\); expected a wav") as info:
        load_audio(path)
    assert info.value.__cause__ is not None


def test_empty_audio():
    with pytest.raises(ParameterError, match=r"audio samples holds no samples; expected at least one"):
        load_audio((np.zeros(0, dtype=np.float32), 16000))


def test_nan_in_samples():
    x = np.zeros(100, dtype=np.float32)
    x[7] = np.nan
    with pytest.raises(ParameterError, match=r"audio samples must be finite, found nan at index \(0, 7\)"):
        load_audio((x, 16000))


def test_bad_tuple():
    with pytest.raises(ParameterError, match=r"an audio tuple must be \(samples, sample_rate\), got a tuple of length 3"):
        load_audio((np.zeros(10), 16000, 1))


def test_bad_rate():
    with pytest.raises(ParameterError, match=r"sample rate of the audio must be >= 1, got 0"):
        load_audio((np.zeros(10), 0))
    with pytest.raises(ParameterError, match=r"sample_rate must be an integer, got 16000.0"):
        load_audio((np.zeros(10), 16000), sample_rate=16000.0)


def test_bare_array_needs_rate():
    with pytest.raises(ParameterError, match=r"a bare array of samples has no sample rate"):
        load_audio(np.zeros(10))


def test_wrong_type():
    with pytest.raises(ParameterError, match=r"audio must be a file path or \(samples, sample_rate\), got int"):
        load_audio(5)


def test_bad_shapes():
    with pytest.raises(ParameterError, match=r"must have shape \(n_samples,\).*got shape \(2, 2, 2\)"):
        load_audio((np.zeros((2, 2, 2)), 16000))
    with pytest.raises(ParameterError, match=r"has shape \(20, 20\): cannot tell channels from samples"):
        load_audio((np.zeros((20, 20)), 16000))
    with pytest.raises(ParameterError, match=r"audio samples must hold audio samples \(numbers\), got dtype <U1"):
        load_audio((np.array(["a", "b"]), 16000))


def test_audio_info():
    info = audio_info(DIGIT)
    assert info.sample_rate == 8000 and info.channels == 1
    assert info.n_samples == sf.info(DIGIT).frames
    with pytest.raises(ParameterError, match=r"audio file '.*none.flac' does not exist"):
        audio_info(DIGIT.with_name("none.flac"))


# --- streaming


@pytest.mark.parametrize("src_sr, dst_sr", [(8000, 16000), (44100, 16000), (16000, 16000), (16000, 22050)])
@pytest.mark.parametrize("block", [0.05, 0.31, 10.0])
def test_blocks_equal_whole_file(tmp_path, rng, src_sr, dst_sr, block):
    x = (rng.standard_normal((2, int(0.7 * src_sr))) * 0.1).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, x.T, src_sr, subtype="FLOAT")
    whole, _ = load_audio(path, sample_rate=dst_sr)
    blocks = list(iter_audio_blocks(path, sample_rate=dst_sr, block_duration=block))
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    if block < 0.7:
        assert len(blocks) > 1
    joined = np.concatenate(blocks)
    assert joined.shape == whole.shape
    np.testing.assert_allclose(joined, whole, atol=1e-6)


def test_blocks_stereo_and_raw(tmp_path):
    path = tmp_path / "x.raw"
    data = (np.arange(8000 * 2) % 200 - 100).astype("<i2")
    data.tofile(path)
    whole, _ = load_audio(path, raw_sample_rate=8000, raw_channels=2, mono=False)
    blocks = list(iter_audio_blocks(path, raw_sample_rate=8000, raw_channels=2, mono=False, block_duration=0.1))
    assert blocks[0].shape[0] == 2
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), whole, atol=1e-6)


def test_blocks_compressed(tmp_path):
    import av

    if "libopus" not in av.codecs_available:
        pytest.skip("no opus encoder")
    y, _ = load_audio(DIGIT, sample_rate=None)
    path = tmp_path / "d.ogg"
    _encode(y, 8000, path, "libopus")
    whole, _ = load_audio(path)
    joined = np.concatenate(list(iter_audio_blocks(path, block_duration=0.05)))
    np.testing.assert_allclose(joined, whole, atol=1e-6)


def test_blocks_errors(tmp_path):
    with pytest.raises(ParameterError, match=r"block_duration must be a positive number of seconds, got 0"):
        next(iter_audio_blocks(DIGIT, block_duration=0))
    with pytest.raises(ParameterError, match=r"audio file '.*nope.flac' does not exist"):
        next(iter_audio_blocks(tmp_path / "nope.flac"))
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(ParameterError, match=r"cannot read '.*bad.flac' as audio \(.*no audio frames"):
        next(iter_audio_blocks(bad))
    with pytest.raises(ParameterError, match=r"cannot read '.*bad.flac' as audio \(.*no audio frames"):
        load_audio(bad)
