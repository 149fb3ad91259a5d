"""The Sphinx front end against a plain-loop reference and against PocketSphinx itself."""

import math
import os

import numpy as np
import pytest

from align.audio import features as F
from align.audio.features import FeatureParams, sphinx_cepstra, sphinx_features
from align.exceptions import ParameterError
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def goforward_path():
    """PocketSphinx's "go forward ten meters" (16 kHz s16le raw) in the shared data."""
    return shared_data("data/speech/pocketsphinx/misc/goforward.raw")


# The en-us model's feat.params, written out so these tests do not need pocketsphinx.
EN_US = FeatureParams(lowerf=130.0, upperf=6800.0, nfilt=25, transform="dct", lifter=22,
                      remove_noise=True, cmn="batch")


# ---------------------------------------------------------------------------
# Plain-loop reference of the PocketSphinx front end (float64, one frame at a time)
# ---------------------------------------------------------------------------


def ref_filterbank(p):
    nfft = 512
    df = p.sample_rate / nfft

    def mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    def inv(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    lo, hi = mel(p.lowerf), mel(p.upperf)
    bw = (hi - lo) / (p.nfilt + 1)
    bank = np.zeros((p.nfilt, nfft // 2 + 1))
    for i in range(p.nfilt):
        left, centre, right = (int(inv(lo + (i + j) * bw) / df + 0.5) * df for j in range(3))
        for k in range(nfft // 2):  # the Nyquist bin is never part of a filter
            hz = k * df
            if left <= hz <= right:
                up = (hz - left) / (centre - left)
                down = (right - hz) / (right - centre)
                bank[i, k] = min(up, down) * 2.0 / (right - left)
    return bank


def ref_noise_removal(mel):
    """fe_noise.c's spectral subtraction, written from its description with lists."""
    T, nf = mel.shape
    out = mel.copy()
    power = list(mel[0])
    noise = [v / 20.0 for v in mel[0]]
    floor = [v / 20.0 for v in mel[0]]
    peak = [0.0] * nf
    for t in range(T):
        gain = []
        for i in range(nf):
            power[i] = 0.7 * power[i] + 0.3 * mel[t, i]
            lam = 0.995 if power[i] >= noise[i] else 0.5
            noise[i] = lam * noise[i] + (1 - lam) * power[i]
            sig = max(power[i] - noise[i], 1.0)
            lam = 0.995 if sig >= floor[i] else 0.5
            floor[i] = lam * floor[i] + (1 - lam) * sig
            before = sig
            peak[i] = 0.85 * peak[i]
            if sig < 0.85 * peak[i]:
                sig = 0.2 * peak[i]
            peak[i] = max(peak[i], before)
            sig = max(sig, floor[i])
            g = sig / power[i] if sig < 20.0 * power[i] else 20.0
            gain.append(max(g, 1.0 / 20.0))
        for i in range(nf):
            near = gain[max(i - 4, 0): min(i + 4, nf - 1) + 1]
            out[t, i] = mel[t, i] * sum(near) / len(near)
    return out


def ref_cepstra(x, p):
    """x on the int16 scale (float64). Returns (T, ncep)."""
    size, shift, nfft = 410, 160, 512
    N = len(x)
    T = 1 if N < size else (N - size) // shift + 2
    pre = np.array([x[n] - (p.alpha * x[n - 1] if n else 0.0) for n in range(N)])
    window = np.array([0.54 - 0.46 * math.cos(2 * math.pi * i / (size - 1)) for i in range(size)])
    k = np.arange(nfft // 2 + 1)[:, None]
    n = np.arange(size)[None, :]
    cos_m = np.cos(2 * np.pi * k * n / nfft)
    sin_m = np.sin(2 * np.pi * k * n / nfft)
    bank = ref_filterbank(p)
    mels = []
    for t in range(T):
        seg = np.zeros(size)
        chunk = pre[t * shift: t * shift + size]
        seg[: len(chunk)] = chunk
        seg = seg * window
        power = (cos_m @ seg) ** 2 + (sin_m @ seg) ** 2  # the DFT from its definition
        mels.append(bank @ power)
    mel = np.array(mels)
    if p.remove_noise:
        mel = ref_noise_removal(mel)
    nf = p.nfilt
    ceps = np.zeros((T, p.ncep))
    for t in range(T):
        logmel = [math.log(v + 1e-4) for v in mel[t]]
        for i in range(p.ncep):
            acc = sum(logmel[j] * math.cos(math.pi * i * (j + 0.5) / nf) for j in range(nf))
            if p.transform == "dct":
                ceps[t, i] = acc * math.sqrt((1.0 if i == 0 else 2.0) / nf)
            elif p.transform == "htk":
                ceps[t, i] = acc * math.sqrt(2.0 / nf)
            else:  # legacy: filter 0 counts half in every coefficient
                ceps[t, i] = (acc - 0.5 * logmel[0]) / nf if i == 0 else \
                    sum(logmel[j] * math.cos(math.pi * i * (j + 0.5) / nf) * (1.0 if j == 0 else 2.0)
                        for j in range(nf)) / (2 * nf)
            if p.lifter:
                ceps[t, i] *= 1 + (p.lifter // 2) * math.sin(i * math.pi / p.lifter)
    return ceps


def ref_features(ceps):
    T = len(ceps)
    use = ceps[ceps[:, 0] >= 0] if (ceps[:, 0] >= 0).any() else ceps
    c = ceps - use.mean(axis=0)

    def at(t):
        return c[min(max(t, 0), T - 1)]

    rows = []
    for t in range(T):
        d = at(t + 2) - at(t - 2)
        dd = (at(t + 3) - at(t - 1)) - (at(t + 1) - at(t - 3))
        rows.append(np.concatenate([c[t], d, dd]))
    return np.array(rows)


@pytest.fixture
def speechy(rng):
    """0.4 s of a decaying chirp plus noise, as int16."""
    t = np.arange(6400) / 16000
    y = 8000 * np.sin(2 * np.pi * (200 + 1500 * t) * t) * np.exp(-2 * t)
    y += rng.normal(0, 300, t.size)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------------------
# Step by step against the reference
# ---------------------------------------------------------------------------


def test_filterbank_matches_reference():
    np.testing.assert_allclose(F.mel_filterbank(EN_US), ref_filterbank(EN_US), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("params", [FeatureParams(), FeatureParams(nfilt=25, doublebw=True)])
def test_sparse_products_equal_the_dense_ones(rng, params):
    # the filterbank and the DCT are applied over each row's non-zero run, compiled (no BLAS)
    bank, dct = F._cached_products(params)
    dense_bank, dense_dct = F._cached_filterbank(params), F._cached_dct(params)
    for m in range(dense_bank.shape[0]):  # the run holds every non-zero weight, and no more
        nz = np.flatnonzero(dense_bank[m])
        assert (bank[1][m], bank[2][m]) == ((nz[0], nz[-1] + 1) if nz.size else (0, 0))
    power = rng.random((37, dense_bank.shape[1]))
    np.testing.assert_allclose(F._rows_product(power, bank), power @ dense_bank.T, rtol=1e-12)
    logmel = rng.standard_normal((37, dense_bank.shape[0]))
    np.testing.assert_allclose(F._rows_product(logmel, dct), logmel @ dense_dct, rtol=1e-12, atol=1e-12)


def test_row_runs_of_a_matrix_with_an_empty_row(rng):
    m = np.zeros((4, 9))
    m[0, 2:5] = 1.0
    m[2, 0] = 2.0
    m[3, 3:9] = rng.random(6)
    rows, first, stop = F.row_runs(m)
    assert first.tolist() == [2, 0, 0, 3] and stop.tolist() == [5, 0, 1, 9]
    x = rng.standard_normal((5, 9)).astype(np.float32)  # float32 in, float64 sums out
    got = F._rows_product(x, (rows, first, stop))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, x.astype(np.float64) @ m.T, rtol=1e-6)


def test_filterbank_unit_area_triangles():
    bank = F.mel_filterbank(EN_US)
    assert bank.shape == (25, 257)
    assert (bank >= 0).all() and (bank[:, -1] == 0).all()
    # each row rises then falls (one peak)
    for row in bank:
        nz = row[row > 0]
        top = int(np.argmax(nz))
        assert (np.diff(nz[: top + 1]) >= 0).all() and (np.diff(nz[top:]) <= 0).all()


@pytest.mark.parametrize("transform", ["dct", "legacy", "htk"])
@pytest.mark.parametrize("remove_noise", [False, True])
def test_cepstra_match_reference(speechy, transform, remove_noise):
    p = EN_US.replace(transform=transform, remove_noise=remove_noise)
    comp = sphinx_cepstra(speechy, 16000, p)
    expect = ref_cepstra(speechy.astype(np.float64), p)
    assert comp.shape == expect.shape == (39, 13)
    np.testing.assert_allclose(comp, expect, rtol=1e-4, atol=2e-3)


def test_odd_lifter_uses_integer_half(speechy):
    p = EN_US.replace(lifter=21, remove_noise=False)
    np.testing.assert_allclose(sphinx_cepstra(speechy, 16000, p),
                               ref_cepstra(speechy.astype(np.float64), p), rtol=1e-4, atol=2e-3)


def test_features_match_reference(speechy):
    comp = sphinx_features(speechy, 16000, EN_US)
    expect = ref_features(ref_cepstra(speechy.astype(np.float64), EN_US))
    assert comp.dtype == np.float32 and comp.shape == (39, 39)
    np.testing.assert_allclose(comp, expect, rtol=1e-4, atol=3e-3)


@pytest.mark.parametrize("n", [1, 200, 409, 410, 569, 570, 571, 1000])
def test_frame_count_and_short_input(rng, n):
    x = rng.normal(0, 0.1, n)
    expect = 1 if n < 410 else (n - 410) // 160 + 2
    assert EN_US.n_frames(n) == expect
    feats = sphinx_features(x, 16000, EN_US)
    assert feats.shape == (expect, 39)
    np.testing.assert_allclose(sphinx_cepstra(x, 16000, EN_US),
                               ref_cepstra(x * 32768, EN_US), rtol=1e-4, atol=2e-3)


def test_float_int16_and_torch_inputs_agree(speechy):
    torch = pytest.importorskip("torch")
    a = sphinx_features(speechy, 16000, EN_US)
    b = sphinx_features(speechy.astype(np.float32) / 32768, 16000, EN_US)
    c = sphinx_features(torch.from_numpy(speechy.astype(np.float64) / 32768), 16000, EN_US)
    d = sphinx_features(speechy[:, None] / 32768.0, 16000, EN_US)  # (n, 1) is mono too
    np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_array_equal(b, c)
    np.testing.assert_allclose(a, d, atol=1e-4)


def test_cmn_variants(speechy):
    ceps = sphinx_cepstra(speechy, 16000, EN_US).astype(np.float64)
    none = sphinx_features(speechy, 16000, EN_US, cmn="none")
    np.testing.assert_allclose(none[:, :13], ceps, atol=1e-4)
    batch = sphinx_features(speechy, 16000, EN_US)
    voiced = ceps[:, 0] >= 0
    np.testing.assert_allclose(batch[:, :13], ceps - ceps[voiced].mean(0), atol=1e-3)
    live = sphinx_features(speechy, 16000, EN_US, cmn="live")
    init = np.zeros(13)
    init[:3] = [40, 3, -1]
    np.testing.assert_allclose(live[:, :13], np.where(voiced[:, None], ceps - init, ceps), atol=1e-4)


def test_silence_falls_back_to_mean_of_all_frames():
    feats = sphinx_features(np.zeros(2000), 16000, EN_US)
    assert np.isfinite(feats).all()
    np.testing.assert_allclose(feats[:, :13].mean(0), 0, atol=1e-4)


def test_deltas_of_a_ramp():
    ceps = np.tile(np.arange(10.0)[:, None], (1, 13))
    out = F.sphinx_dynamic_features(ceps, EN_US)
    # interior: d = 4 per frame step, dd = 0
    np.testing.assert_allclose(out[3:-3, 13:26], 4.0)
    np.testing.assert_allclose(out[3:-3, 26:], 0.0)
    # edges repeat the first frame: d[0] = c[2] - c[0]
    assert out[0, 13] == 2.0 and out[0, 26] == (3 - 0) - (1 - 0)


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def test_feat_params_file(tmp_path):
    path = tmp_path / "feat.params"
    path.write_text("-lowerf 130\n-upperf 6800\n-nfilt 25\n-transform dct\n-lifter 22\n"
                    "-feat 1s_c_d_dd\n-svspec 0-12/13-25/26-38\n-agc none\n-cmn batch\n"
                    "-varnorm no\n-model ptm\n-remove_noise yes\n-dither yes\n-foo bar\n\n# c\n")
    p = FeatureParams.from_file(path)
    assert p == EN_US.replace(svspec=p.svspec, model="ptm")
    assert p.svspec == (tuple(range(13)), tuple(range(13, 26)), tuple(range(26, 39)))
    assert p.extra == {"dither": "yes", "foo": "bar"}
    assert (p.frame_size, p.frame_shift, p.fft_size, p.n_features) == (410, 160, 512, 39)
    assert FeatureParams(nfft=1024).fft_size == 1024


def test_against_model_feat_params():
    pytest.importorskip("pocketsphinx")
    from align.acoustic.sphinx_model import default_model_path
    p = FeatureParams.from_file(os.path.join(default_model_path(), "feat.params"))
    assert p.replace(svspec=None, model=None) == EN_US


# ---------------------------------------------------------------------------
# Against PocketSphinx's own front end (its -mfclogdir dump)
# ---------------------------------------------------------------------------


def _pocketsphinx_cepstra(samples, tmp_path):
    ps = pytest.importorskip("pocketsphinx")
    d = ps.Decoder(mfclogdir=str(tmp_path), loglevel="FATAL", lm=None,
                   keyphrase="go forward", kws_threshold=1e-20, pl_window=0)
    d.start_utt()
    d.process_raw(samples.astype("<i2").tobytes(), full_utt=True)
    d.end_utt()
    raw = (tmp_path / "000000000.mfc").read_bytes()
    return np.frombuffer(raw[4:], ">f4").reshape(-1, 13)


def test_cepstra_equal_pocketsphinx(tmp_path, goforward_path):
    x = np.fromfile(goforward_path, dtype="<i2")
    expect = _pocketsphinx_cepstra(x, tmp_path)
    from align.acoustic.sphinx_model import default_model_path
    p = FeatureParams.from_file(os.path.join(default_model_path(), "feat.params"))
    comp = sphinx_cepstra(x, 16000, p)
    assert comp.shape == expect.shape == (278, 13)
    np.testing.assert_allclose(comp, expect, atol=1e-3)


def test_short_input_frames_equal_pocketsphinx(tmp_path, goforward_path):
    x = np.fromfile(goforward_path, dtype="<i2")[8000:8000 + 1234]
    expect = _pocketsphinx_cepstra(x, tmp_path)
    comp = sphinx_cepstra(x, 16000, EN_US)
    assert comp.shape == expect.shape == (EN_US.n_frames(1234), 13)
    np.testing.assert_allclose(comp, expect, atol=1e-3)


# ---------------------------------------------------------------------------
# Errors: one test per message
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, match", [
    ("-remove_noise maybe\n", r"-remove_noise must be yes or no, got 'maybe'"),
    ("-nfilt many\n", r"-nfilt has an unreadable value 'many'"),
    ("lowerf 130\n", r"line 1: expected '-name value', got 'lowerf 130'"),
])
def test_feat_params_errors(tmp_path, text, match):
    path = tmp_path / "feat.params"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match):
        FeatureParams.from_file(path)


def test_feat_params_missing_file(tmp_path):
    with pytest.raises(ParameterError, match=r"cannot read feat.params file .*nope"):
        FeatureParams.from_file(tmp_path / "nope")


@pytest.mark.parametrize("params, match", [
    ({"transform": "fft"}, r"params.transform='fft' is not supported; use one of 'legacy', 'dct', 'htk'"),
    ({"feat": "s2_4x"}, r"params.feat='s2_4x' is not supported; use one of '1s_c_d_dd'"),
    ({"agc": "max"}, r"params.agc='max' is not supported; use one of 'none'"),
    ({"cmn": "prior"}, r"params.cmn='prior' is not supported; use one of 'batch', 'live', 'none'"),
    ({"varnorm": True}, r"params.varnorm=True is not supported; use varnorm=False"),
    ({"upperf": 9000.0}, r"params.upperf=9000.0 is above the Nyquist frequency 8000.0"),
])
def test_param_errors(params, match):
    with pytest.raises(ParameterError, match=match):
        sphinx_features(np.zeros(1000), 16000, EN_US.replace(**params))


def test_params_type_error():
    with pytest.raises(ParameterError, match=r"params must be a FeatureParams .* got dict"):
        sphinx_features(np.zeros(1000), 16000, {"nfilt": 25})


@pytest.mark.parametrize("samples, rate, match", [
    (np.zeros(1000), "16k", r"sample_rate must be a number in Hz, got '16k'"),
    (np.zeros(1000), 8000, r"sample_rate=8000 Hz but the front end expects 16000 Hz; resample first"),
    (np.zeros((1000, 2)), 16000, r"samples must be mono, shape \(n_samples,\), got shape \(1000, 2\)"),
    (np.array(["a", "b"]), 16000, r"samples must hold real numbers, got dtype <U1"),
    (np.array([0.0, np.nan]), 16000, r"samples must be finite, found nan at index 1"),
    (np.zeros(0), 16000, r"samples is empty; need at least one sample"),
])
def test_sample_errors(samples, rate, match):
    with pytest.raises(ParameterError, match=match):
        sphinx_features(samples, rate, EN_US)


def test_cmn_option_error():
    with pytest.raises(ParameterError, match=r"cmn='prior' is not supported; use one of"):
        sphinx_features(np.zeros(1000), 16000, EN_US, cmn="prior")


def test_empty_cepstra_error():
    with pytest.raises(ParameterError, match=r"cepstra has no frames; need at least one"):
        F.sphinx_dynamic_features(np.zeros((0, 13)), EN_US)


def test_spectrum_blocks_do_not_change_features(monkeypatch):
    # long recordings are framed block by block (bounded memory): any block size
    # must give the same features as one block
    from align.audio import features as F

    x = np.random.default_rng(7).standard_normal(16000 * 3).astype(np.float32) * 0.1
    params = F.FeatureParams(remove_noise=True)
    whole = F.sphinx_features(x, 16000, params)
    monkeypatch.setattr(F, "_SPECTRUM_BLOCK", 37)
    np.testing.assert_array_equal(F.sphinx_features(x, 16000, params), whole)


@pytest.mark.parametrize("block", [1, 159, 160, 411, 4000, 10**6])
def test_streamed_features_equal_whole(block):
    # the streaming front end (bounded memory for long files) gives exactly the
    # features of the whole signal, whatever the block size
    from align.audio import features as F

    x = (np.random.default_rng(3).standard_normal(16000 * 2 + 77) * 0.1).astype(np.float32)
    params = F.FeatureParams(remove_noise=True)
    whole = F.sphinx_features(x, 16000, params)
    blocks = [x[i:i + block] for i in range(0, x.size, block)]
    streamed, n = F.sphinx_features_stream(blocks, 16000, params)
    assert n == x.size
    np.testing.assert_array_equal(streamed, whole)


@pytest.mark.parametrize("remove_noise", [False, True])
@pytest.mark.parametrize("block", [159, 4000])
def test_streamed_cepstra_equal_whole(monkeypatch, remove_noise, block):
    # without noise removal the stream turns each block of frames into cepstra at once
    # (only the float32 cepstra are held); that must not change a single value
    from align.audio import features as F

    x = (np.random.default_rng(5).standard_normal(16000 * 2 + 77) * 0.1).astype(np.float32)
    params = F.FeatureParams(nfilt=40, ncep=40, transform="dct", lifter=0, remove_noise=remove_noise)
    whole = F.sphinx_cepstra(x, 16000, params)
    monkeypatch.setattr(F, "_SPECTRUM_BLOCK", 37)  # many spectrum blocks per audio block
    streamed, n = F.sphinx_cepstra_stream([x[i:i + block] for i in range(0, x.size, block)], 16000, params)
    assert n == x.size and streamed.dtype == np.float32 and streamed.shape == whole.shape
    np.testing.assert_array_equal(streamed, whole)
    with pytest.raises(ParameterError, match="samples is empty"):
        F.sphinx_cepstra_stream([], 16000, params)
    # two filter banks from one read and one power spectrum per frame: each exactly its own
    other = F.FeatureParams(nfilt=25, ncep=13, lowerf=130.0, upperf=6800.0, transform="dct", lifter=22)
    both, n2 = F.sphinx_cepstra_stream(iter([x[i:i + block] for i in range(0, x.size, block)]), 16000,
                                       [params, other])
    assert n2 == x.size and len(both) == 2
    np.testing.assert_array_equal(both[0], whole)
    np.testing.assert_array_equal(both[1], F.sphinx_cepstra(x, 16000, other))


def test_streamed_cepstra_sets_must_share_the_framing():
    from align.audio import features as F

    x = np.zeros(4000, dtype=np.float32)
    with pytest.raises(ParameterError, match="must agree on frame_rate, alpha"):
        F.sphinx_cepstra_stream([x], 16000, [F.FeatureParams(), F.FeatureParams(frame_rate=200, alpha=0.9)])
    with pytest.raises(ParameterError, match="params is an empty sequence"):
        F.sphinx_cepstra_stream([x], 16000, [])


def test_streamed_features_short_and_empty():
    from align.audio import features as F

    x = np.linspace(-0.1, 0.1, 300).astype(np.float32)  # shorter than one frame
    np.testing.assert_array_equal(F.sphinx_features_stream([x[:100], x[100:]], 16000)[0],
                                  F.sphinx_features(x, 16000))
    with pytest.raises(ParameterError, match="samples is empty; need at least one sample of audio"):
        F.sphinx_features_stream([], 16000)


def _power_spectrum_numpy(x, params, t0, t1, offset=0, before=None):
    """The framing of _power_spectrum written with numpy ops only (the compiled pass's oracle)."""
    size, shift, nfft = params.frame_size, params.frame_shift, params.fft_size
    a, b = t0 * shift - offset, shift * (t1 - 1) + size - offset
    seg = x[a:min(b, x.size)].astype(np.float64)
    prev = float(x[a - 1]) if a > 0 else (None if before is None else float(before))
    y = seg.copy()
    if params.alpha != 0.0:
        y[0] = seg[0] if prev is None else seg[0] - params.alpha * prev
        y[1:] = seg[1:] - params.alpha * seg[:-1]
    padded = np.zeros(b - a)
    padded[: y.size] = y
    frames = np.lib.stride_tricks.sliding_window_view(padded, size)[::shift]
    spec = np.fft.rfft(frames * F._hamming(size), n=nfft, axis=1)
    return spec.real**2 + spec.imag**2


@pytest.mark.parametrize("alpha", [0.97, 0.0])
@pytest.mark.parametrize("where", ["whole", "a later block", "a block after history"])
def test_compiled_framing_equals_the_numpy_one(rng, alpha, where):
    params = FeatureParams(alpha=alpha)
    x = (rng.standard_normal(5000) * 3000).astype(np.float32)
    T = params.n_frames(x.size)
    t0, offset, before = {"whole": (0, 0, None), "a later block": (7, 0, None),
                          "a block after history": (7, 7 * params.frame_shift, 123.0)}[where]
    xs = x[offset:]
    got = F._power_spectrum(xs, params, t0, T, offset=offset, before=before)
    want = _power_spectrum_numpy(xs, params, t0, T, offset=offset, before=before)
    np.testing.assert_array_equal(got, want)  # the same products, bit for bit; the last frame padded


def test_power_of_equals_the_plain_expression():
    from align.audio import features as F

    spec = np.fft.rfft(np.random.default_rng(9).standard_normal((33, 512)), axis=1)
    np.testing.assert_array_equal(F._power_of(spec), spec.real**2 + spec.imag**2)
