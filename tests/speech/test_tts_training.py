"""A phone model trained over several recordings (align.speech.tts_hmm.PhoneStats and
PhoneModel, align.speech.tts_training.train_phone_model, align_corpus(train_phone_model=True)).

Ground truth is espeak-ng's, as in test_tts_hmm: texts spoken by one voice, whose phone
events give every boundary, each started from boundaries moved at random. A model
trained on four of the texts must bring the boundaries of a fifth back at least as well
as the fifth's own model; the control, a model trained on the same recordings played
backwards (nothing right to learn), must leave them worse than they started.
"""

import json

import numpy as np
import pytest
import soundfile as sf

import align
from align.exceptions import ParameterError
from align.speech.results import Phone, Word
from align.speech.tts_align import _recording, hmm_features
from align.speech.tts_hmm import PhoneModel, PhoneStats, _estimate, _stats, phone_stats, realign_words
from align.text.espeak_synth import synthesize

from .test_tts_hmm import _moved, _phone_errors

TEXTS = ["The cat sat on the mat.",
         "The little cat sleeps on the red sofa while the rain falls softly.",
         "Later in the evening, the children come home and tell their mother about school.",
         "A quiet river runs past the old mill, where fishermen sit for hours in the sun.",
         "Nobody knew that the letter had been hidden under the kitchen table for years."]


def _spoken(text):
    rec = synthesize(text, language="en-us", rate=140, variant="m3")
    sr = rec.sample_rate
    words = [Word(text=text[w.char_start:w.char_end], start=w.start / sr, end=w.end / sr, score=1.0,
                  phones=[Phone(p.label, p.start / sr, p.end / sr) for p in w.phones])
             for w in rec.words if w.phones]
    return words, hmm_features(_recording((rec.samples, sr))[0]), rec


@pytest.fixture(scope="module")
def voice():
    return [_spoken(t) for t in TEXTS]


def _trained(starts, features, rounds=3):
    """Rounds of counting over the training texts, as train_phone_model runs them."""
    model = None
    for _ in range(rounds):
        model = sum(phone_stats(w, x, 100, model=model)[0] for w, x in zip(starts, features)).model(100)
    return model


def test_a_model_of_the_voice_brings_a_new_recordings_boundaries_back(voice):
    rng = np.random.default_rng(1)
    starts = [_moved(words, rng, 0.06) for words, _, _ in voice]
    model = _trained(starts[1:], [x for _, x, _ in voice[1:]])
    control = _trained(starts[1:], [x[::-1].copy() for _, x, _ in voice[1:]])
    truth, x, _ = voice[0]  # held out: not in the training texts
    before = _phone_errors(starts[0], truth)
    own = _phone_errors(realign_words(starts[0], x, 100), truth)
    pooled = _phone_errors(realign_words(starts[0], x, 100, model=model), truth)
    backwards = _phone_errors(realign_words(starts[0], x, 100, model=control), truth)
    # measured (seeds 0, 1, 2): mean error 27/24/27 ms before, own model 17/19/20, pooled 17/16/16,
    # control 125/161/127
    assert pooled.mean() <= before.mean() - 0.006, (before.mean(), pooled.mean())
    assert pooled.mean() <= own.mean() + 0.001, (own.mean(), pooled.mean())
    assert backwards.mean() > before.mean() + 0.02, (before.mean(), backwards.mean())


def test_statistics_of_two_files_give_the_estimate_of_their_frames_together():
    rng = np.random.default_rng(4)
    names = [("a", 0), ("a", 1), ("b", 0), ("<pause>", 0), ("c", 2)]
    x1, x2 = rng.normal(size=(120, 39)).astype(np.float32), rng.normal(1.0, 2.0, size=(80, 39)).astype(np.float32)
    k1 = rng.integers(0, 4, 120)  # file 1 never uses ("c", 2)
    k2 = rng.choice([0, 2, 4], 80)  # file 2 never uses ("a", 1) nor the pause
    s1 = _stats(x1, k1, names)
    s2 = _stats(x2, k2, names)
    assert ("c", 2) not in s1.keys and ("a", 1) not in s2.keys
    together = sum([s1, s2])
    model = together.model(100, shrink=2.0, var_floor=0.1)
    # the oracle: the single-file estimate on the frames of both files, keyed in the model's order
    at = {k: i for i, k in enumerate(model.keys)}
    keys = np.r_[[at[names[k]] for k in k1], [at[names[k]] for k in k2]]
    means, ivar = _estimate(np.vstack([x1, x2]), keys, len(model.keys), shrink=2.0, var_floor=0.1)
    np.testing.assert_allclose(model.means, means, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.ivar, ivar, rtol=1e-7)
    np.testing.assert_array_equal(model.counts, np.bincount(keys, minlength=len(model.keys)))
    assert (s2 + s1).keys == together.keys


def test_a_model_saves_loads_and_refuses_other_files(tmp_path):
    rng = np.random.default_rng(5)
    stats = _stats(rng.normal(size=(50, 39)), rng.integers(0, 3, 50), [("@", 0), ("@", 1), ("<pause>", 0)])
    model = stats.model(100, info={"files": 1, "language": "fr"})
    path = tmp_path / "m.npz"
    model.save(path)
    back = PhoneModel.load(path)
    assert back.keys == model.keys and back.info == model.info and back.frame_rate == 100
    np.testing.assert_array_equal(back.means, model.means)
    np.testing.assert_array_equal(back.ivar, model.ivar)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left behind
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="cannot read the phone model"):
        PhoneModel.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ParameterError, match="cannot read the phone model"):
        PhoneModel.load(tmp_path / "other.npz")
    with pytest.raises(ParameterError, match="needs at least two frames"):
        PhoneStats((), np.zeros(0), np.zeros((0, 39)), np.zeros((0, 39))).model(100)
    with pytest.raises(ParameterError, match="frames a second"):
        realign_words([Word("a", 0.0, 0.1, 1.0, [Phone("@", 0.0, 0.1)])], np.zeros((40, 39), np.float32), 200,
                      model=model)


def test_train_phone_model_over_recordings_and_align_with_it(voice, tmp_path):
    pairs = [((rec.samples, rec.sample_rate), text) for text, (_, _, rec) in zip(TEXTS[1:], voice[1:])]
    silence = (np.zeros(1600, np.float32), 16000)  # 0.1 s for a long sentence: refused, listed
    model = align.train_phone_model(pairs + [(silence, TEXTS[2])], jobs=1, rounds=2)
    assert model.info["files"] == 4 and model.info["rounds"] == 2 and len(model.info["failed"]) == 1
    assert "InfeasibleAlignmentError" in model.info["failed"][0][1]
    assert ("<pause>", 0) in model.keys and model.means.shape == (len(model.keys), 39)
    truth, _, rec = voice[0]
    got = align.align_transcript((rec.samples, rec.sample_rate), TEXTS[0], method="tts", phone_model=model)
    assert got.metadata["hmm_passes"] == 1 and [w.text for w in got.words] == TEXTS[0].strip(".").split()
    # espeak-ng speaks "on the" as one word: the truth has the words with phones of their own
    spoken = iter(w for w in got.words if w.phones)
    errors = np.array([abs(next(a for a in spoken if a.text == b.text).start - b.start) for b in truth])
    assert np.median(errors) <= 0.03, errors
    path = tmp_path / "voice.npz"
    model.save(path)
    again = align.align_transcript((rec.samples, rec.sample_rate), TEXTS[0], method="tts", phone_model=str(path))
    assert [w.text for w in again.words] == [w.text for w in got.words]
    with pytest.raises(ParameterError, match="rounds"):
        align.train_phone_model(pairs, rounds=0)
    with pytest.raises(ParameterError, match="no file of the corpus"):
        align.train_phone_model([(silence, TEXTS[2])], jobs=1)
    with pytest.raises(ParameterError, match="cannot read the phone model"):
        align.align_transcript((rec.samples, rec.sample_rate), TEXTS[0], method="tts",
                               phone_model=str(tmp_path / "missing.npz"))


def test_align_corpus_trains_saves_and_reuses_the_model(voice, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, (text, (_, _, rec)) in enumerate(zip(TEXTS, voice)):
        sf.write(corpus / f"u{i}.wav", rec.samples, rec.sample_rate)
        (corpus / f"u{i}.txt").write_text(text)
    out = tmp_path / "out"
    results = align.align_corpus(corpus, out, formats=[".json"], jobs=1, method="tts", train_phone_model=True)
    assert [r.status for r in results] == ["aligned"] * len(TEXTS)
    saved = out / "phone_model.npz"
    assert PhoneModel.load(saved).info["files"] == len(TEXTS)
    meta = json.loads((out / "u0.json").read_text())
    assert "phone_model" in json.dumps(meta)
    stamp = saved.stat().st_mtime_ns
    (out / "u1.json").unlink()  # a resumed run: the saved model is reused, not trained again
    results = align.align_corpus(corpus, out, formats=[".json"], jobs=1, method="tts", train_phone_model=True)
    assert [r.status for r in results].count("aligned") == 1 and saved.stat().st_mtime_ns == stamp
    with pytest.raises(ParameterError, match="TTS\\+DTW method"):
        align.align_corpus(corpus, tmp_path / "en", jobs=1, train_phone_model=True)
    with pytest.raises(ParameterError, match="not both"):
        align.align_corpus(corpus, out, jobs=1, method="tts", train_phone_model=True, phone_model=str(saved))
    with pytest.raises(ParameterError, match="cannot read the phone model"):  # once, before any file
        align.align_corpus(corpus, tmp_path / "other", jobs=1, method="tts", phone_model=str(tmp_path / "no.npz"))
    assert not (tmp_path / "other").exists()
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ParameterError, match="is a file"):
        align.align_corpus(corpus, tmp_path / "a_file", jobs=1, method="tts", train_phone_model=True)


def test_the_corpus_command_trains_a_model(voice, tmp_path):
    from align.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, (text, (_, _, rec)) in enumerate(zip(TEXTS[:2], voice[:2])):
        sf.write(corpus / f"u{i}.wav", rec.samples, rec.sample_rate)
        (corpus / f"u{i}.txt").write_text(text)
    out = tmp_path / "out"
    assert main(["corpus", str(corpus), "-o", str(out), "-j", "1", "-q", "--method", "tts",
                 "--train-phone-model"]) == 0
    assert (out / "phone_model.npz").is_file() and (out / "u1.TextGrid").is_file()
    got = tmp_path / "u0.json"
    assert main(["transcript", str(corpus / "u0.wav"), str(corpus / "u0.txt"), "-o", str(got), "-q",
                 "--method", "tts", "--phone-model", str(out / "phone_model.npz")]) == 0
    assert json.loads(got.read_text())["metadata"]["hmm_passes"] == 1


def test_one_model_per_speaker_folder(voice, tmp_path):
    # two voices in two folders (MFA's layout: a speaker per first-level sub-folder)
    corpus = tmp_path / "corpus"
    for speaker, variant in (("anna", "f2"), ("bert", "m3")):
        (corpus / speaker / "chapter1").mkdir(parents=True)
        for i, text in enumerate(TEXTS[:3]):
            rec = synthesize(text, language="en-us", rate=140, variant=variant)
            sf.write(corpus / speaker / "chapter1" / f"u{i}.wav", rec.samples, rec.sample_rate)
            (corpus / speaker / "chapter1" / f"u{i}.txt").write_text(text)
    out = tmp_path / "out"
    results = align.align_corpus(corpus, out, formats=[".json"], jobs=1, method="tts", train_phone_model="folder")
    assert [r.status for r in results] == ["aligned"] * 6
    a, b = PhoneModel.load(out / "anna" / "phone_model.npz"), PhoneModel.load(out / "bert" / "phone_model.npz")
    assert a.info["files"] == b.info["files"] == 3 and not (out / "phone_model.npz").exists()
    assert not np.allclose(a.means[:5], b.means[:5])  # two voices, two models
    for speaker in ("anna", "bert"):
        meta = json.loads((out / speaker / "chapter1" / "u0.json").read_text())["metadata"]
        assert meta["phone_model"] == str(out / speaker / "phone_model.npz")
    with pytest.raises(ParameterError, match="'folder'"):
        align.align_corpus(corpus, out, jobs=1, method="tts", train_phone_model="speaker")
