"""Sphinx features and senone scoring on 60 s of real speech, one core.

Workload: the first CMU ARCTIC "cathy" prompts (``../shared/data/speech/cathy`` from the repository root,
16 kHz mono FLAC), taken in name order until they hold at least 60 s (20 files,
60.8 s, 6,088 frames). Each file is one utterance; the senones an aligner needs
for it are those of its transcript's triphones (pronunciations from the
``cmudict-en-us.dict`` shipped with pocketsphinx, context and word position
across word boundaries, ``SIL`` at both ends): 97 per file on average.

Groups (one per workload, ours beside the peers):

- ``acoustic-features-60s``: ``sphinx_features`` (MFCC + deltas, PocketSphinx's
  front end with noise removal and batch CMN) vs ``librosa.feature.mfcc`` +
  ``librosa.feature.delta`` (a comparable but not identical front end).
- ``acoustic-score-60s-utterance``: ``SphinxModel.score`` of each utterance's
  senones (exact, all 128 Gaussians).
- ``acoustic-score-60s-all``: every senone (5,126) of every frame, ours vs
  PocketSphinx decoding the same audio with ``-compallsen yes`` and a keyphrase
  search (its own features, top-4 Gaussian scoring and a light search).
- ``acoustic-pipeline-60s``: features + utterance scoring, the acoustic part of
  aligning 60 s of speech.

Each benchmark checks its result. ``extra_info["x_real_time"]`` is 60.8 s
divided by the mean time. Run::

    pytest benchmarks/bench_acoustic.py --benchmark-only --benchmark-disable-gc \
        --benchmark-columns=mean,stddev,rounds --benchmark-group-by=group

The numba thread count and the BLAS threads are set to 1 ("one core").
"""

import glob
import os
import re

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")
sf = pytest.importorskip("soundfile")

from tests.conftest import shared_data  # noqa: E402

#: in the shared folder beside the repository, found (skip, or fail in CI) as the tests find it
CATHY = "data/speech/cathy"
SECONDS = 60.0


@pytest.fixture(scope="module", autouse=True)
def one_core():
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    with threadpool_limits(1):
        yield
    numba.set_num_threads(before)


@pytest.fixture(scope="module")
def model():
    from align.acoustic.sphinx_model import SphinxModel

    return SphinxModel.load()


def _utterance_senones(model, text, lexicon):
    phones = [("SIL", "s")]
    for word in re.findall(r"[a-z']+", text.lower()):
        pron = lexicon.get(word)
        if not pron:
            continue
        n = len(pron)
        for i, p in enumerate(pron):
            phones.append((p, "s" if n == 1 else "b" if i == 0 else "e" if i == n - 1 else "i"))
    phones.append(("SIL", "s"))
    senones = set()
    for i, (p, pos) in enumerate(phones):
        left = phones[i - 1][0] if i else "SIL"
        right = phones[i + 1][0] if i + 1 < len(phones) else "SIL"
        senones.update(model.senones_for(p, left, right, pos).tolist())
    return np.array(sorted(senones), dtype=np.int64)


@pytest.fixture(scope="module")
def clips(model):
    import pocketsphinx

    lexicon = {}
    with open(os.path.join(pocketsphinx.get_model_path(), "en-us", "cmudict-en-us.dict")) as fh:
        for line in fh:
            word, *pron = line.split()
            lexicon.setdefault(word, pron)
    out, total = [], 0.0
    for path in sorted(glob.glob(os.path.join(shared_data(CATHY), "*.flac"))):
        x, rate = sf.read(path, dtype="float32")
        with open(path[:-5] + ".txt") as fh:
            text = fh.read()
        out.append((x, _utterance_senones(model, text, lexicon)))
        total += x.size / rate
        if total >= SECONDS:
            break
    return out, total


@pytest.fixture(scope="module")
def features(model, clips):
    from align.audio.features import sphinx_features

    return [sphinx_features(x, 16000, model.feature_params) for x, _ in clips[0]]


def _check_scores(model, feats, senones, scores):
    """Two frames of the first utterance against the float64 reference."""
    from tests.reference import gmm as ref

    expect = ref.senone_log_likelihoods(
        feats[:2], model.means.astype(np.float64), model.variances.astype(np.float64),
        model.mixture_weights, model.senone_codebook, senones)
    np.testing.assert_allclose(scores[:2], expect, rtol=1e-5, atol=1e-3)


# --- features ----------------------------------------------------------------


@pytest.mark.benchmark(group="acoustic-features-60s")
def test_features_ours(benchmark, model, clips):
    from align.audio.features import sphinx_features

    data, total = clips
    run = lambda: [sphinx_features(x, 16000, model.feature_params) for x, _ in data]  # noqa: E731
    out = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    n_frames = sum(model.feature_params.n_frames(x.size) for x, _ in data)
    assert sum(len(f) for f in out) == n_frames
    assert all(f.shape[1] == 39 and np.isfinite(f).all() for f in out)
    benchmark.extra_info["x_real_time"] = total / benchmark.stats.stats.mean


@pytest.mark.benchmark(group="acoustic-features-60s")
def test_features_librosa(benchmark, clips):
    librosa = pytest.importorskip("librosa")
    data, total = clips

    def run():
        res = []
        for x, _ in data:
            mfcc = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=13, n_fft=512, hop_length=160,
                                        win_length=410, n_mels=25, fmin=130, fmax=6800)
            res.append(np.vstack([mfcc, librosa.feature.delta(mfcc), librosa.feature.delta(mfcc, order=2)]))
        return res

    out = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert all(f.shape[0] == 39 and np.isfinite(f).all() for f in out)
    benchmark.extra_info["x_real_time"] = total / benchmark.stats.stats.mean


# --- scoring -----------------------------------------------------------------


@pytest.mark.benchmark(group="acoustic-score-60s-utterance")
def test_score_utterance_ours(benchmark, model, clips, features):
    data, total = clips
    run = lambda: [model.score(f, s) for f, (_, s) in zip(features, data)]  # noqa: E731
    out = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    _check_scores(model, features[0], data[0][1], out[0])
    benchmark.extra_info["x_real_time"] = total / benchmark.stats.stats.mean
    benchmark.extra_info["mean_senones_per_utterance"] = float(np.mean([len(s) for _, s in data]))


@pytest.mark.benchmark(group="acoustic-score-60s-all")
def test_score_all_ours(benchmark, model, clips, features):
    data, total = clips
    run = lambda: [model.score(f) for f in features]  # noqa: E731
    out = benchmark.pedantic(run, rounds=2, warmup_rounds=1)
    _check_scores(model, features[0], np.arange(model.n_senones), out[0])
    benchmark.extra_info["x_real_time"] = total / benchmark.stats.stats.mean


@pytest.mark.benchmark(group="acoustic-score-60s-all")
def test_score_all_pocketsphinx(benchmark, clips, tmp_path):
    import pocketsphinx as ps

    data, total = clips
    decoder = ps.Decoder(compallsen=True, loglevel="FATAL", pl_window=0, lm=None,
                         keyphrase="author", kws_threshold=1e-20)
    pcm = [np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes() for x, _ in data]

    def run():
        frames = 0
        for raw in pcm:
            decoder.start_utt()
            decoder.process_raw(raw, full_utt=True)
            decoder.end_utt()
            frames += decoder.n_frames()
        return frames

    frames = benchmark.pedantic(run, rounds=2, warmup_rounds=1)
    # PocketSphinx's frame counter runs one past our frame count per utterance.
    expected = sum((x.size - 410) // 160 + 2 for x, _ in data)
    assert 0 <= frames - expected <= len(data)
    benchmark.extra_info["x_real_time"] = total / benchmark.stats.stats.mean


# --- the acoustic part of the pipeline -------------------------------------------


@pytest.mark.benchmark(group="acoustic-pipeline-60s")
def test_pipeline_ours(benchmark, model, clips):
    from align.audio.features import sphinx_features

    data, total = clips

    def run():
        return [model.score(sphinx_features(x, 16000, model.feature_params), s) for x, s in data]

    out = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert sum(len(o) for o in out) == sum(model.feature_params.n_frames(x.size) for x, _ in data)
    assert all(np.isfinite(o).all() for o in out)
    benchmark.extra_info["x_real_time"] = total / benchmark.stats.stats.mean
