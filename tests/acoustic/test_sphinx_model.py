"""SphinxModel: reading the pocketsphinx en-us model, triphone back-off, senone scoring."""

import glob
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")

from align.acoustic import sphinx_model as SM  # noqa: E402
from align.acoustic.sphinx_model import SphinxModel, default_model_path  # noqa: E402
from align.audio.features import sphinx_features  # noqa: E402
from align.exceptions import BackendUnavailableError, ParameterError  # noqa: E402
from tests.conftest import shared_data  # noqa: E402
from tests.reference import gmm as ref  # noqa: E402

DATA = "data/speech/pocketsphinx"  # in the shared folder (tests.conftest.shared_data)


@pytest.fixture(scope="module")
def librivox():
    """PocketSphinx's LibriVox utterances with its own alignments (json)."""
    return str(shared_data(f"{DATA}/librivox"))


@pytest.fixture(scope="module")
def model():
    return SphinxModel.load()


@pytest.fixture(scope="module")
def goforward(model):
    x = np.fromfile(shared_data(f"{DATA}/misc/goforward.raw"), dtype="<i2")
    return x, sphinx_features(x, 16000, model.feature_params)


@pytest.fixture
def model_copy(tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(default_model_path(), dst)
    return dst


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def test_counts_match_mdef_header(model):
    with open(os.path.join(model.path, "mdef"), "rb") as fh:
        data = fh.read()
    assert data[:4] == b"BMDF"
    (desc_len,) = struct.unpack_from("<i", data, 8)
    n_ci, n_phone, n_emit, n_ci_sen, n_sen, n_tmat, n_sseq = struct.unpack_from("<7i", data, 12 + desc_len)
    assert len(model.ciphones) == n_ci == 42
    assert model.n_phones == n_phone == 42 + 137053
    assert model.n_emit_state == n_emit == 3
    assert model.n_ci_senones == n_ci_sen == 126
    assert model.n_senones == n_sen == 5126
    assert model.log_transitions.shape == (n_tmat, 3, 4)
    # PocketSphinx reports 29324 distinct senone sequences for this model.
    assert len({tuple(s) for s in model.phone_senones.tolist()}) == n_sseq == 29324
    assert model.phone_senones.max() == n_sen - 1
    # CI phones own the first senones, three each, in order.
    np.testing.assert_array_equal(model.phone_senones[:42].reshape(-1), np.arange(126))


def test_phones_and_fillers(model):
    assert list(model.ciphones) == sorted(model.ciphones)
    assert model.ciphones[model.silence] == "SIL"
    fillers = {p for p, f in zip(model.ciphones, model.filler) if f}
    assert fillers == {"SIL", "+NSN+", "+SPN+"}
    assert model.noise_words["<sil>"] == ("SIL",) and model.noise_words["[NOISE]"] == ("+NSN+",)
    assert {p for ph in model.noise_words.values() for p in ph} <= set(model.ciphones)
    assert model.phone_name(model.phone_for("AH", "B", "T", "i")) == "AH(B,T) i"
    assert model.phone_name(model.phone_id("AH")) == "AH"


def test_gaussians(model):
    assert model.means.shape == model.variances.shape == (42, 3, 128, 13)
    assert model.means.dtype == model.variances.dtype == np.float32
    assert model.variances.min() >= np.float32(1e-4)
    raw = SM._read_gaussians(os.path.join(model.path, "variances"), True)
    # PocketSphinx logs "222 variance values floored" for this model.
    assert int((raw < np.float32(1e-4)).sum()) == 222
    # PTM: one codebook per CI phone; every senone's codebook is its base phone.
    for p in (model.phone_for("AH", "B", "T", "i"), model.phone_id("S"), 5000):
        assert (model.senone_codebook[model.phone_senones[p]] == model.phone_base[p]).all()


def test_mixture_weights_sum_to_one(model):
    w = model.mixture_weights.astype(np.float64)
    assert w.shape == (5126, 3, 128) and model.mixture_weights.dtype == np.float32
    sums = w.sum(axis=2)
    # Quantisation keeps the low end of each 0.1024-nat bin: sums lie in [e^-0.1024, 1].
    assert sums.min() > math.exp(-0.1024) - 1e-6 and sums.max() <= 1.0 + 1e-6
    renorm = SphinxModel.load(renormalize_weights=True)
    np.testing.assert_allclose(renorm.mixture_weights.astype(np.float64).sum(axis=2), 1.0, atol=1e-5)


def test_transitions(model):
    p = np.exp(model.log_transitions)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    # Left to right: from state i only to i (loop) and i + 1 (next or exit).
    for i in range(3):
        assert np.isneginf(model.log_transitions[:, i, :i]).all()
        assert np.isneginf(model.log_transitions[:, i, i + 2:]).all()
        assert np.isfinite(model.log_transitions[:, i, i:i + 2]).all()
    assert model.tmat_for("AH") == model.phone_tmat[model.phone_id("AH")]


def test_feature_params(model):
    fp = model.feature_params
    assert (fp.nfilt, fp.lowerf, fp.upperf, fp.transform, fp.lifter) == (25, 130.0, 6800.0, "dct", 22)
    assert fp.remove_noise and fp.cmn == "batch" and fp.model == "ptm"


def test_checksums_are_verified(model_copy):
    path = model_copy / "means"
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01  # flip one bit of one mean
    path.write_bytes(bytes(data))
    with pytest.raises(ParameterError, match=r"means: checksum mismatch \(file damaged\)"):
        SphinxModel.load(model_copy)
    SphinxModel.load(model_copy, verify_checksums=False)  # readable without the check


def test_checksum_function():
    words = np.array([1, 2, 0xFFFFFFFF, 12345], dtype=np.uint32)
    total = 0
    for w in words.tolist():
        total = (((total << 20) | (total >> 12)) + w) & 0xFFFFFFFF
    assert SM._s3_checksum(words) == total


def _write_text_mdef(model, path):
    lines = ["0.3", f"{len(model.ciphones)} n_base", f"{model.n_phones - 42} n_tri",
             f"{model.n_phones * 4} n_state_map", f"{model.n_senones} n_tied_state",
             f"{model.n_ci_senones} n_tied_ci_state", f"{model.log_transitions.shape[0]} n_tied_tmat",
             "#", "# base lft rt p attrib tmat ... state id's ..."]
    names = model.ciphones
    for p in range(model.n_phones):
        b = names[model.phone_base[p]]
        if p < 42:
            ctx = f"{b} - - - {'filler' if model.filler[p] else 'n/a'}"
        else:
            ctx = (f"{b} {names[model.phone_left[p]]} {names[model.phone_right[p]]} "
                   f"{'ibes'[model.phone_position[p]]} n/a")
        states = " ".join(str(s) for s in model.phone_senones[p])
        lines.append(f"{ctx} {model.phone_tmat[p]} {states} N")
    path.write_text("\n".join(lines) + "\n")


def test_text_mdef_reads_the_same(model, model_copy):
    _write_text_mdef(model, model_copy / "mdef")
    other = SphinxModel.load(model_copy)
    assert other.ciphones == model.ciphones
    for name in ("phone_base", "phone_left", "phone_right", "phone_position", "phone_senones",
                 "phone_tmat", "senone_codebook", "filler"):
        np.testing.assert_array_equal(getattr(other, name), getattr(model, name), err_msg=name)


def test_float_mixture_weights_file(model_copy, rng):
    """A mixture_weights file is floored, normalised and quantised like PocketSphinx does."""
    n_sen, n_feat, n_comp = 5126, 3, 128
    w = rng.dirichlet(np.full(n_comp, 0.3), size=(n_sen, n_feat)).astype(np.float32)
    w[0, 0, :5] = 0.0
    body = struct.pack("<4i", n_sen, n_feat, n_comp, w.size) + w.astype("<f4").tobytes()
    (model_copy / "mixture_weights").write_bytes(b"s3\nversion 1.0\nendhdr\n"
                                                 + struct.pack("<I", 0x11223344) + body)
    os.remove(model_copy / "sendump")
    m = SphinxModel.load(model_copy)
    p = np.maximum(w.astype(np.float64) / w.astype(np.float64).sum(2, keepdims=True), 1e-7)
    p /= p.sum(2, keepdims=True)
    q = np.array([-(int(math.log(v) / math.log(1.0001)) >> 10) for v in p[:3].reshape(-1)])
    expect = np.exp(-np.minimum(q, 159) * 1024 * math.log(1.0001)).reshape(3, n_feat, n_comp)
    np.testing.assert_allclose(m.mixture_weights[:3], expect, rtol=1e-6)


def test_four_bit_clustered_sendump(model_copy, rng):
    """sendump with a 16-entry cluster codebook and two senones per byte (even = low nibble)."""
    n_sen, n_feat, n_den = 5126, 3, 128
    codebook = np.sort(rng.choice(np.arange(1, 200), 16, replace=False)).astype(np.uint8)
    ids = rng.integers(0, 16, (n_feat, n_den, n_sen)).astype(np.uint8)
    packed = np.zeros((n_feat, n_den, (n_sen + 1) // 2), np.uint8)
    packed |= ids[:, :, 0::2]
    packed[:, :, : n_sen // 2] |= ids[:, :, 1::2] << 4

    def s(text):
        raw = text.encode() + b"\0"
        return struct.pack("<i", len(raw)) + raw

    blob = (s("title") + s("header") + s("feature_count 3") + s("mixture_count 128")
            + s("model_count 5126") + s("cluster_count 16") + s("cluster_bits 4")
            + struct.pack("<i", 0) + codebook.tobytes() + packed.tobytes())
    (model_copy / "sendump").write_bytes(blob)
    m = SphinxModel.load(model_copy)
    q = codebook[ids].transpose(2, 0, 1).astype(np.float64)
    np.testing.assert_allclose(m.mixture_weights, np.exp(-q * 1024 * math.log(1.0001)), rtol=1e-6)


# ---------------------------------------------------------------------------
# Triphones and back-off
# ---------------------------------------------------------------------------


def test_senones_equal_pocketsphinx_alignments(model, librivox):
    """The senones PocketSphinx's own aligner used (state.json) are ours, phone by phone."""
    n = 0
    for fn in sorted(glob.glob(os.path.join(librivox, "*.state.json"))):
        seq = []
        for word in json.load(open(fn))["w"]:
            phones = word["w"]
            for i, ph in enumerate(phones):
                pos = "s" if len(phones) == 1 else "b" if i == 0 else "e" if i == len(phones) - 1 else "i"
                seq.append((ph["t"], pos, [int(st["t"]) for st in ph["w"]]))
        for i, (phone, pos, senones) in enumerate(seq):
            left = seq[i - 1][0] if i else "SIL"
            right = seq[i + 1][0] if i + 1 < len(seq) else "SIL"
            assert model.senones_for(phone, left, right, pos).tolist() == senones, (fn, i, phone)
            n += 1
    assert n == 265


def _present(model):
    table = model._triphone_table
    return table >= 0


def test_exact_triphone(model):
    p = model.phone_for("AH", "B", "T", "i")
    assert p >= 42
    assert (model.ciphones[model.phone_base[p]], model.ciphones[model.phone_left[p]],
            model.ciphones[model.phone_right[p]], model.phone_position[p]) == ("AH", "B", "T", 0)
    np.testing.assert_array_equal(model.senones_for("AH", "B", "T", "i"), model.phone_senones[p])
    assert model.phone_for(model.phone_id("AH"), model.phone_id("B"), model.phone_id("T"), 0) == p


def test_backoff_to_ci_phone(model):
    present = _present(model)
    # a (base, left, right) that exists in no word position, with non-filler phones
    fill = set(np.flatnonzero(model.filler))
    sil = model.silence
    for b in range(42):
        for l in range(42):
            for r in range(42):
                if {b, l, r} & fill or present[:, b, l, r].any() or present[:, b, sil, sil].any():
                    continue
                assert model.phone_for(b, l, r, "i") == b
                np.testing.assert_array_equal(model.senones_for(b, l, r, "i"), model.phone_senones[b])
                return
    pytest.fail("no missing triphone found")


def test_backoff_to_other_word_position(model):
    present = _present(model)
    b, l, r = next(zip(*np.nonzero(present[0] & ~present[1] & ~present[2] & ~present[3])))
    assert model.phone_for(int(b), int(l), int(r), "b") == model._triphone_table[0, b, l, r]


def test_backoff_to_silence_context(model):
    present = _present(model)
    sil = model.silence
    # word-initial phone whose left context is missing everywhere but whose SIL-left version exists
    cand = np.argwhere(~present.any(axis=0) & present[1][:, [sil], :].repeat(42, axis=1))
    b, l, r = (int(v) for v in cand[0])
    assert model.phone_for(b, l, r, "b") == model._triphone_table[1, b, sil, r]


def test_filler_context_reads_as_silence(model):
    assert model.phone_for("AH", "+NSN+", "T", "b") == model.phone_for("AH", "SIL", "T", "b")
    assert model.phone_for("AH", "B", "+SPN+", "e") == model.phone_for("AH", "B", "SIL", "e")


def test_unknown_context_gives_ci_phone(model):
    assert model.phone_for("AH") == model.phone_id("AH")
    assert model.phone_for("AH", "B", -1, "i") == model.phone_id("AH")


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------


def test_score_matches_reference_on_real_features(model, goforward):
    _, feats = goforward
    frames = feats[100:104]
    senones = np.array([0, 5, 97, 1000, 2500, 5125])
    comp = model.score(frames, senones)
    means = model.means.astype(np.float64)
    var = model.variances.astype(np.float64)
    expect = ref.senone_log_likelihoods(frames, means, var, model.mixture_weights,
                                        model.senone_codebook, senones)
    np.testing.assert_allclose(comp, expect, rtol=1e-5, atol=1e-3)


def test_score_matches_reference_on_random_features(model, rng):
    x = (rng.standard_normal((3, 39)) * 5).astype(np.float32)
    senones = rng.choice(model.n_senones, 5, replace=False)
    expect = ref.senone_log_likelihoods(x, model.means.astype(np.float64),
                                        model.variances.astype(np.float64),
                                        model.mixture_weights, model.senone_codebook, senones)
    np.testing.assert_allclose(model.score(x, senones), expect, rtol=1e-5, atol=1e-3)


def test_score_all_equals_subsets(model, goforward):
    _, feats = goforward
    full = model.score(feats[:50])
    assert full.shape == (50, 5126) and full.dtype == np.float32
    sub = np.array([4000, 3, 3, 126, 42])
    np.testing.assert_array_equal(model.score(feats[:50], sub), full[:, sub])
    assert model.score(feats[:50], []).shape == (50, 0)


def _pocketsphinx_senone_scores(x, tmp_path):
    import pocketsphinx as ps

    d = ps.Decoder(senlogdir=str(tmp_path), compallsen=True, loglevel="FATAL", pl_window=0,
                   lm=None, keyphrase="go forward", kws_threshold=1e-20)
    d.start_utt()
    d.process_raw(x.tobytes(), full_utt=True)
    d.end_utt()
    raw = (tmp_path / "000000000.sen").read_bytes()
    start = raw.index(b"endhdr\n") + 7 + 4
    rows = np.frombuffer(raw[start:], "<i2").reshape(-1, 5127)
    assert (rows[:, 0] == 5126).all()
    # PocketSphinx: positive costs relative to the best senone, in 1024 log(1.0001) units.
    return -rows[:, 1:].astype(np.float64) * 1024 * math.log(1.0001)


def test_scores_agree_with_pocketsphinx(model, goforward, tmp_path):
    """PocketSphinx scores with its top-4 Gaussians and 0.1-nat quantisation; we are exact."""
    x, feats = goforward
    theirs = _pocketsphinx_senone_scores(x, tmp_path)
    ours = model.score(feats).astype(np.float64)
    assert theirs.shape == ours.shape
    ours -= ours.max(axis=1, keepdims=True)
    corr = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(theirs, ours)])
    assert np.median(corr) > 0.95
    best = theirs.argmax(axis=1)
    rank = (ours > ours[np.arange(len(best)), best][:, None]).sum(axis=1)
    assert (rank == 0).mean() > 0.6  # measured 0.81
    assert (rank < 10).mean() > 0.95  # measured 1.0


def test_ci_phone_frame_accuracy(model, librivox):
    """The best CI phone by our scores matches PocketSphinx's phone alignment far above chance."""
    import soundfile as sf

    ci_senones = model.phone_senones[:42].reshape(-1)
    hits = total = 0
    for fn in sorted(glob.glob(os.path.join(librivox, "*.phone.json"))):
        x, rate = sf.read(fn.replace(".phone.json", ".wav"), dtype="int16")
        feats = sphinx_features(x, rate, model.feature_params)
        best = model.score(feats, ci_senones).reshape(len(feats), 42, 3).max(axis=2).argmax(axis=1)
        for word in json.load(open(fn))["w"]:
            for ph in word["w"]:
                b = int(round(ph["b"] * 100))
                e = b + int(round(ph["d"] * 100))
                hits += int((best[b:e] == model.phone_id(ph["t"])).sum())
                total += e - b
    assert total == 2468
    # measured 0.453 (chance 1/42 = 0.024)
    assert hits / total > 0.35


# ---------------------------------------------------------------------------
# Errors: one test per message
# ---------------------------------------------------------------------------


def test_missing_pocketsphinx(monkeypatch):
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install pocketsphinx"):
        SphinxModel.load()


def test_missing_directory(tmp_path):
    with pytest.raises(ParameterError, match=r"acoustic model directory .*nowhere' does not exist"):
        SphinxModel.load(tmp_path / "nowhere")


def test_missing_file(model_copy):
    os.remove(model_copy / "means")
    with pytest.raises(ParameterError, match=r"acoustic model file 'means' is missing"):
        SphinxModel.load(model_copy)


def test_missing_weights(model_copy):
    os.remove(model_copy / "sendump")
    with pytest.raises(ParameterError, match=r"has neither 'sendump' nor 'mixture_weights'"):
        SphinxModel.load(model_copy)


@pytest.mark.parametrize("content, match", [
    (b"hello", r"variances: not a Sphinx-3 binary file"),
    (b"s3\nversion 1.0\n", r"variances: header has no 'endhdr' line"),
    (b"s3\nendhdr\n\x01\x02\x03\x04", r"variances: bad byte-order marker 0x04030201"),
])
def test_bad_binary_files(model_copy, content, match):
    (model_copy / "variances").write_bytes(content)
    with pytest.raises(ParameterError, match=match):
        SphinxModel.load(model_copy)


def test_truncated_gaussians(model_copy):
    path = model_copy / "variances"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ParameterError, match=r"variances: truncated or malformed file \(buffer is smaller"):
        SphinxModel.load(model_copy)


def test_unknown_phone(model):
    with pytest.raises(ParameterError, match=r"phone 'QQ' is not in the acoustic model; it has \+NSN\+"):
        model.senones_for("QQ", "B", "T", "i")


@pytest.mark.parametrize("kwargs, match", [
    ({"base": None}, r"base must be a phone, got None"),
    ({"left": 99}, r"left must be a phone name or a CI phone id in \[0, 42\)"),
    ({"position": "x"}, r"position='x' is not a word position; use one of 'i'"),
    ({"position": 7}, r"position must be 'i', 'b', 'e', 's' or 0-3, got 7"),
])
def test_phone_for_errors(model, kwargs, match):
    args = {"base": "AH", "left": "B", "right": "T", "position": "i", **kwargs}
    with pytest.raises(ParameterError, match=match):
        model.phone_for(**args)


def test_score_errors(model):
    with pytest.raises(ParameterError, match=r"features must have shape \(T, 39\) \(sphinx_features output\), got \(4, 13\)"):
        model.score(np.zeros((4, 13)))
    with pytest.raises(ParameterError, match=r"features must be finite, found nan"):
        model.score(np.full((2, 39), np.nan))
    with pytest.raises(ParameterError, match=r"senones must be ids in \[0, 5126\), found 5126"):
        model.score(np.zeros((2, 39)), [0, 5126])
    with pytest.raises(ParameterError, match=r"features gave non-finite senone scores"):
        model.score(np.full((2, 39), 3e38, dtype=np.float32), [0])


# --- malformed model files: one test per message ---------------------------------


def _s3_bytes(ints, floats, *, checksum=True, extra=b""):
    """A Sphinx-3 binary file: header, magic, int32s, float32s, optional checksum."""
    body = np.asarray(ints, "<i4").tobytes() + np.asarray(floats, "<f4").tobytes()
    head = b"s3\nversion 1.0\n" + (b"chksum0 yes\n" if checksum else b"") + b"endhdr\n"
    out = head + struct.pack("<I", 0x11223344) + body
    if checksum:
        out += struct.pack("<I", SM._s3_checksum(np.frombuffer(body, "<u4")))
    return out + extra


def _gauss_file(model, which="means", **kw):
    arr = getattr(model, which) if which == "means" else SM._read_gaussians(
        os.path.join(model.path, "variances"), False)
    C, F_, K_, D = arr.shape
    ints = [kw.get("n_mgau", C), F_, kw.get("n_density", K_), *kw.get("veclen", [D] * F_),
            kw.get("count", arr.size)]
    return _s3_bytes(ints, arr.reshape(-1)[: kw.get("n_values", arr.size)],
                     checksum=kw.get("checksum", True), extra=kw.get("extra", b""))


def _mdef_offsets(data):
    (desc_len,) = struct.unpack_from("<i", data, 8)
    head = 12 + desc_len
    n_ci, n_phone, _, _, _, _, _, _, n_tree, _ = struct.unpack_from("<10i", data, head)
    pos = head + 40
    for _ in range(n_ci):
        pos = data.index(b"\0", pos) + 1
    pos = head + 40 + ((pos - head - 40 + 3) & ~3)
    return head, pos + 8 * n_tree + 12 * n_phone  # header, sseq size field


def _patch_int(path, offset, value):
    data = bytearray(path.read_bytes())
    struct.pack_into("<i", data, offset, value)
    path.write_bytes(bytes(data))


def test_gaussian_count_mismatch(model, model_copy):
    (model_copy / "means").write_bytes(_gauss_file(model, count=model.means.size + 1))
    with pytest.raises(ParameterError, match=r"means: 209665 values do not match 42 x 128 x 39"):
        SphinxModel.load(model_copy)


def test_unequal_streams(model, model_copy):
    (model_copy / "means").write_bytes(_gauss_file(model, veclen=[12, 13, 14]))
    with pytest.raises(ParameterError, match=r"feature streams of unequal length \[12, 13, 14\]"):
        SphinxModel.load(model_copy)


def test_trailing_bytes_with_checksum(model, model_copy):
    (model_copy / "means").write_bytes(_gauss_file(model, extra=b"\0\0\0\0"))
    with pytest.raises(ParameterError, match=r"expected a 4-byte checksum after the data, found 8 bytes"):
        SphinxModel.load(model_copy)


def test_trailing_bytes_without_checksum(model, model_copy):
    (model_copy / "means").write_bytes(_gauss_file(model, checksum=False, extra=b"\0\0\0\0"))
    with pytest.raises(ParameterError, match=r"means: 4 unexpected bytes after the data"):
        SphinxModel.load(model_copy)


def test_means_and_variances_differ(model, model_copy):
    (model_copy / "variances").write_bytes(
        _gauss_file(model, "variances", n_density=64, count=42 * 64 * 39, n_values=42 * 64 * 39))
    with pytest.raises(ParameterError, match=r"means \(42, 3, 128, 13\) and variances \(42, 3, 64, 13\) differ"):
        SphinxModel.load(model_copy)


def test_codebook_count_fits_no_model_type(model, model_copy):
    n = 2 * 128 * 39
    (model_copy / "means").write_bytes(_gauss_file(model, n_mgau=2, count=n, n_values=n))
    (model_copy / "variances").write_bytes(_gauss_file(model, "variances", n_mgau=2, count=n, n_values=n))
    with pytest.raises(ParameterError, match=r"2 codebooks fit neither PTM \(42\), semi \(1\) nor continuous"):
        SphinxModel.load(model_copy)


def test_tmat_errors(model_copy):
    path = model_copy / "transition_matrices"
    counts = SM._read_tmat(str(path), False).astype(np.float32)
    path.write_bytes(_s3_bytes([42, 3, 3, 42 * 9], counts[:, :, :3].reshape(-1)))
    with pytest.raises(ParameterError, match=r"bad transition matrix header 42 x 3 x 3 \(378\)"):
        SphinxModel.load(model_copy)
    raw = bytearray(_s3_bytes([42, 3, 4, 42 * 12], counts.reshape(-1)))
    raw[-10] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(ParameterError, match=r"transition_matrices: checksum mismatch"):
        SphinxModel.load(model_copy)


def test_mixture_weight_file_errors(model_copy):
    os.remove(model_copy / "sendump")
    path = model_copy / "mixture_weights"
    w = np.full((5126, 3, 128), 1 / 128, np.float32)
    path.write_bytes(_s3_bytes([5126, 3, 128, w.size + 1], w.reshape(-1)))
    with pytest.raises(ParameterError, match=r"bad mixture weight header 5126 x 3 x 128 \(1968385\)"):
        SphinxModel.load(model_copy)
    raw = bytearray(_s3_bytes([5126, 3, 128, w.size], w.reshape(-1)))
    raw[-10] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(ParameterError, match=r"mixture_weights: checksum mismatch"):
        SphinxModel.load(model_copy)
    w = w[:100]
    path.write_bytes(_s3_bytes([100, 3, 128, w.size], w.reshape(-1)))
    with pytest.raises(ParameterError, match=r"mixture weights of shape \(100, 3, 128\), expected \(5126, 3, 128\)"):
        SphinxModel.load(model_copy)


def test_sendump_errors(model_copy):
    path = model_copy / "sendump"
    original = path.read_bytes()
    _patch_int(path, 0, 0)
    with pytest.raises(ParameterError, match=r"sendump: sendump title length out of range"):
        SphinxModel.load(model_copy)
    path.write_bytes(original)
    # the row/column counts follow the zero-length string that ends the header
    pos = 0
    while True:
        (n,) = struct.unpack_from("<i", original, pos)
        pos += 4 + n
        if n == 0:
            break
    _patch_int(path, pos + 4, 5000)
    with pytest.raises(ParameterError, match=r"sendump is 128 x 5000, expected 128 x 5126"):
        SphinxModel.load(model_copy)


def test_mdef_errors(model_copy):
    path = model_copy / "mdef"
    original = path.read_bytes()
    path.write_bytes(b"BM")
    with pytest.raises(ParameterError, match=r"mdef: file too short"):
        SphinxModel.load(model_copy)
    path.write_text("0.1\nsomething else\n")
    with pytest.raises(ParameterError, match=r"mdef: unknown mdef format"):
        SphinxModel.load(model_copy)
    head, sseq_field = _mdef_offsets(original)
    path.write_bytes(original)
    _patch_int(path, head + 8, 0)  # n_emit_state = 0: heterogeneous topologies
    with pytest.raises(ParameterError, match=r"phones with different numbers of states are not supported"):
        SphinxModel.load(model_copy)
    path.write_bytes(original)
    _patch_int(path, sseq_field, 12)
    with pytest.raises(ParameterError, match=r"senone sequence table has 12 entries, expected 87972"):
        SphinxModel.load(model_copy)
    path.write_bytes(original)
    _patch_int(path, head + 16, 5127)  # one senone more than any phone uses
    with pytest.raises(ParameterError, match=r"model: some senones are used by no phone"):
        SphinxModel.load(model_copy)


def test_feature_streams_must_fit(model_copy):
    path = model_copy / "feat.params"
    text = path.read_text()
    path.write_text(text.replace("-svspec 0-12/13-25/26-38", "-svspec 0-11/12-25/26-38"))
    with pytest.raises(ParameterError, match=r"are not contiguous blocks"):
        SphinxModel.load(model_copy)
    path.write_text(text.replace("-svspec 0-12/13-25/26-38\n", "") + "-ncep 12\n")
    with pytest.raises(ParameterError, match=r"Gaussians of 3 x 13 dims do not fit 36-dim features"):
        SphinxModel.load(model_copy)
