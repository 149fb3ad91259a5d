"""DurationTTS: the length regulator, shapes, determinism, what it learns, checkpoints, the CLI.

The learning tests use synthetic data where the answer is known: a token's duration is a
function of its id, and its mel frames are a per-id template plus a ramp over the
token's frames, so only a model that knows where each token sits can fit them.
"""

import shutil

import numpy as np
import pytest
import torch

from align.exceptions import ParameterError
from align.fusion.tts_data import (PhoneVocabulary, collate_tts, text_to_phones, uniform_durations)
from align.fusion.tts_model import DurationTTS, durations_from_log, length_regulate
from align.fusion.tts_train import fit_tts, load_tts
from tests.conftest import shared_data

N_IDS, N_MELS = 8, 6
CATHY = "data/speech/cathy"
CATHY_FILES = ["arctic_a0001_1592748574", "arctic_a0002_1592748530", "arctic_a0003_1592748500",
               "arctic_a0004_1592748478"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # two-thread OpenMP barriers crawl on a busy two-core machine; these models are tiny
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _reference_regulate(h, durations, max_len):
    out = torch.zeros(h.shape[0], max_len, h.shape[2])
    lengths = []
    for b in range(h.shape[0]):
        frames = [h[b, k] for k in range(h.shape[1]) for _ in range(int(durations[b, k]))][:max_len]
        for t, v in enumerate(frames):
            out[b, t] = v
        lengths.append(len(frames))
    return out, torch.tensor(lengths)


def _synthetic(n_items, seed, *, shuffle_durations=False, max_tokens=10):
    """Items whose durations are ``1 + id % 4`` and whose mels follow the tokens (module docstring)."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(123).normal(size=(N_IDS + 2, N_MELS)).astype(np.float32)
    ramp = np.random.default_rng(321).normal(size=N_MELS).astype(np.float32)
    items = []
    for _ in range(n_items):
        n = int(rng.integers(4, max_tokens + 1))
        ids = rng.integers(2, N_IDS + 2, size=n)
        d = 1 + ids % 4
        if shuffle_durations:
            d = rng.integers(1, 5, size=n)
        mel = np.concatenate([templates[i] + 2 * np.linspace(0, 1, k)[:, None] * ramp for i, k in zip(ids, d)])
        items.append({"tokens": torch.as_tensor(ids), "durations": torch.as_tensor(d),
                      "mel": torch.as_tensor(mel, dtype=torch.float32)})
    return items


def _model(seed=0, **options):
    torch.manual_seed(seed)
    config = dict(d_model=32, n_encoder_layers=1, n_decoder_layers=1, n_heads=2, dropout=0.0)
    config.update(options)
    return DurationTTS(N_IDS + 2, N_MELS, **config)


def _train(model, batch, steps, *, lr=3e-3, durations=None):
    """Full-batch AdamW; returns the loss terms of every step."""
    durations = batch["durations"] if durations is None else durations
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        out = model(batch["tokens"], batch["token_lengths"], durations)
        terms = model.loss(out, batch["mels"], batch["mel_lengths"], durations, batch["token_lengths"])
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        history.append({k: float(v.detach()) for k, v in terms.items()})
    return history


# -- the length regulator ----------------------------------------------------------------


def test_length_regulate_matches_a_python_loop_with_zero_durations_and_padding():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 5, 4, generator=g)
    durations = torch.tensor([[2, 0, 3, 1, 0],   # a zero in the middle, padding after
                              [0, 0, 1, 0, 0],   # leading zeros
                              [1, 1, 1, 1, 4]])
    out, lengths = length_regulate(h, durations)
    ref, ref_lengths = _reference_regulate(h, durations, 8)
    assert out.shape == (3, 8, 4)
    assert torch.equal(lengths, ref_lengths) and lengths.tolist() == [6, 1, 8]
    assert torch.equal(out, ref)
    cut, cut_lengths = length_regulate(h, durations, max_len=5)
    ref_cut, _ = _reference_regulate(h, durations, 5)
    assert torch.equal(cut, ref_cut) and cut_lengths.tolist() == [5, 1, 5]
    # gradients reach exactly the tokens that own frames
    h.requires_grad_(True)
    length_regulate(h, durations)[0].sum().backward()
    assert torch.equal(h.grad[..., 0] != 0, durations > 0)


def test_uniform_durations_sum_exactly_and_differ_by_at_most_one():
    for n, frames in [(1, 7), (3, 10), (7, 23), (5, 5), (4, 2)]:
        d = uniform_durations(n, frames)
        assert d.dtype == np.int64 and d.sum() == frames and d.max() - d.min() <= 1
    with pytest.raises(ParameterError):
        uniform_durations(0, 3)


def test_predicted_durations_are_rounded_at_least_one_and_zero_on_padding():
    log_d = torch.log1p(torch.tensor([[0.2, 2.6, 4.4, 9.0]]))
    mask = torch.tensor([[True, True, True, False]])
    assert durations_from_log(log_d, mask).tolist() == [[1, 3, 4, 0]]
    assert durations_from_log(log_d, mask, scale=2.0).tolist() == [[1, 5, 9, 0]]


# -- shapes, determinism, the second stream -----------------------------------------------


def test_forward_backward_shapes_with_unequal_lengths():
    batch = collate_tts(_synthetic(3, 1))
    model = _model(dropout=0.1, n_encoder_layers=2, n_decoder_layers=2)
    out = model(batch["tokens"], batch["token_lengths"], batch["durations"])
    B, N = batch["tokens"].shape
    T = int(batch["mel_lengths"].max())
    assert out["mel"].shape == (B, T, N_MELS) and out["log_duration"].shape == (B, N)
    assert torch.equal(out["mel_lengths"], batch["mel_lengths"])
    pad = torch.arange(T)[None] >= batch["mel_lengths"][:, None]
    assert (out["mel"][pad] == 0).all()
    terms = model.loss(out, batch["mels"], batch["mel_lengths"], batch["durations"], batch["token_lengths"])
    assert set(terms) == {"mel", "duration", "total"}
    terms["total"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for name, p in model.named_parameters() if name != "embedding.weight")
    # inference: predicted durations, >= 1 frame a token, a different number of frames
    inf = model.infer(batch["tokens"], batch["token_lengths"])
    valid = torch.arange(N)[None] < batch["token_lengths"][:, None]
    assert (inf["durations"][valid] >= 1).all() and (inf["durations"][~valid] == 0).all()
    assert torch.equal(inf["mel_lengths"], inf["durations"].sum(1))
    assert model.training  # infer restores the mode


def test_padding_does_not_change_an_item():
    items = _synthetic(2, 2)
    alone = collate_tts(items[:1])
    together = collate_tts(items)
    model = _model(dropout=0.0).eval()
    a = model(alone["tokens"], alone["token_lengths"], alone["durations"])
    b = model(together["tokens"], together["token_lengths"], together["durations"])
    T = int(alone["mel_lengths"][0])
    assert torch.allclose(a["mel"][0, :T], b["mel"][0, :T], atol=1e-5)
    n = int(alone["token_lengths"][0])
    assert torch.allclose(a["log_duration"][0, :n], b["log_duration"][0, :n], atol=1e-5)


def test_a_fixed_seed_gives_the_same_model_and_the_same_step():
    batch = collate_tts(_synthetic(4, 3))
    runs = []
    for _ in range(2):
        model = _model(seed=7, dropout=0.2)
        torch.manual_seed(11)  # dropout
        runs.append((_train(model, batch, 3), torch.cat([p.detach().flatten() for p in model.parameters()])))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    other = _model(seed=8)
    assert not torch.equal(torch.cat([p.detach().flatten() for p in other.parameters()]), runs[0][1])


@pytest.mark.parametrize("fusion", ["concat", "cross_attention"])
@pytest.mark.parametrize("layer", [0, 2])
def test_second_stream_at_the_first_and_the_last_decoder_layer(fusion, layer):
    batch = collate_tts(_synthetic(3, 4))
    model = _model(n_decoder_layers=2, second_stream=3, fusion=fusion, fusion_layer=layer)
    g = torch.Generator().manual_seed(0)
    if fusion == "concat":  # frame-wise: the stream is on the mel clock (e.g. pitch and energy)
        extra = torch.randn(3, int(batch["mel_lengths"].max()), 3, generator=g)
        extra_lengths = batch["mel_lengths"]
    else:  # any clock (e.g. video at its own rate, or one speaker vector)
        extra, extra_lengths = torch.randn(3, 7, 3, generator=g), torch.tensor([7, 2, 5])
    out = model(batch["tokens"], batch["token_lengths"], batch["durations"], extra, extra_lengths)
    terms = model.loss(out, batch["mels"], batch["mel_lengths"], batch["durations"], batch["token_lengths"])
    terms["total"].backward()
    assert model.extra_proj.weight.grad.abs().sum() > 0
    assert torch.isfinite(out["mel"]).all()
    # the stream changes the output
    again = model(batch["tokens"], batch["token_lengths"], batch["durations"], extra * 3, extra_lengths)
    assert not torch.allclose(again["mel"], out["mel"])
    if fusion == "cross_attention":
        assert model.infer(batch["tokens"], batch["token_lengths"], extra, extra_lengths)["mel"].shape[0] == 3
    else:  # off the mel clock: the operator refuses
        with pytest.raises(ParameterError, match="frame by frame"):
            model(batch["tokens"], batch["token_lengths"], batch["durations"], extra[:, :-1], extra_lengths - 1)


# -- what it learns ------------------------------------------------------------------------


def _duration_fit(shuffle):
    train = collate_tts(_synthetic(32, 5, shuffle_durations=shuffle))
    held_out = collate_tts(_synthetic(16, 6, shuffle_durations=shuffle))
    model = _model(seed=1, n_decoder_layers=0)
    history = _train(model, train, 120, lr=5e-3)
    model.eval()
    log_d = model(held_out["tokens"], held_out["token_lengths"], held_out["durations"])["log_duration"]
    valid = torch.arange(held_out["tokens"].shape[1])[None] < held_out["token_lengths"][:, None]
    pred, true = log_d[valid].detach().numpy(), np.log1p(held_out["durations"][valid].numpy())
    return history, float(np.corrcoef(pred, true)[0, 1]), float(np.mean((pred - true) ** 2))


def test_the_duration_predictor_learns_durations_that_follow_the_tokens_and_not_shuffled_ones():
    history, corr, mse = _duration_fit(shuffle=False)
    assert history[-1]["duration"] < 0.2 * history[0]["duration"]
    assert corr > 0.9, corr
    # control: the same durations, no longer a function of the token
    history_c, corr_c, mse_c = _duration_fit(shuffle=True)
    assert abs(corr_c) < 0.4, corr_c
    assert mse_c > 3 * mse, (mse, mse_c)


def test_true_durations_beat_uniform_ones_on_held_out_items():
    train = collate_tts(_synthetic(96, 7))
    held_out = collate_tts(_synthetic(16, 8))
    uniform = [torch.as_tensor(uniform_durations(int(n), int(t)))
               for n, t in zip(train["token_lengths"], train["mel_lengths"])]
    uniform = torch.nn.utils.rnn.pad_sequence(uniform, batch_first=True)
    errors = {}
    for source, durations in (("aligned", train["durations"]), ("uniform", uniform)):
        model = _model(seed=2)
        history = _train(model, train, 150, lr=1e-2, durations=durations)
        assert history[-1]["mel"] < 0.6 * history[0]["mel"], (source, history[0], history[-1])
        model.eval()
        # frame by frame on held-out items, teacher-forced with the true durations
        out = model(held_out["tokens"], held_out["token_lengths"], held_out["durations"])
        terms = model.loss(out, held_out["mels"], held_out["mel_lengths"], held_out["durations"],
                           held_out["token_lengths"])
        errors[source] = float(terms["mel"].detach())
    assert errors["aligned"] < 0.6 * errors["uniform"], errors


# -- checkpoints -----------------------------------------------------------------------------


def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path):
    data = _synthetic(10, 9)
    options = dict(batch_size=4, lr=3e-3, seed=3, progress=False, checkpoint_every=3, warmup_steps=2)
    straight = fit_tts(_model(seed=4, dropout=0.2), data, tmp_path / "straight.pt", steps=6, **options)
    first = fit_tts(_model(seed=4, dropout=0.2), data, tmp_path / "resumed.pt", steps=3, **options)
    assert first["step"] == 3 and (tmp_path / "resumed.pt").is_file()
    model = _model(seed=99, dropout=0.2)  # a fresh process: the checkpoint brings the weights back
    resumed = fit_tts(model, data, tmp_path / "resumed.pt", steps=6, **options)
    assert resumed["resumed_from"] == 3
    assert resumed["history"] == straight["history"]
    a = torch.load(tmp_path / "straight.pt", weights_only=False)["model_state"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, a[name]), name
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file
    with pytest.raises(ParameterError, match="config"):
        fit_tts(_model(d_model=16), data, tmp_path / "resumed.pt", steps=7, **options)


# -- errors -----------------------------------------------------------------------------------


def test_bad_input_raises_parameter_error():
    batch = collate_tts(_synthetic(2, 10))
    model = _model()
    tokens, lengths, durations = batch["tokens"], batch["token_lengths"], batch["durations"]
    with pytest.raises(ParameterError, match="token ids"):
        model(tokens.masked_fill(tokens == tokens[0, 0], N_IDS + 5), lengths, durations)
    with pytest.raises(ParameterError, match="token ids"):
        model(tokens - 10, lengths, durations)
    with pytest.raises(ParameterError, match="token_lengths"):
        model(tokens, torch.tensor([0, 1]), durations)
    with pytest.raises(ParameterError, match=">= 0"):
        model(tokens, lengths, -durations)
    with pytest.raises(ParameterError, match="shape"):
        model(tokens, lengths, durations[:, :-1])
    with pytest.raises(ParameterError, match="integer"):
        model(tokens, lengths, durations.float())
    with pytest.raises(ParameterError, match="second stream"):
        model(tokens, lengths, durations, torch.zeros(2, 3, 4))
    out = model(tokens, lengths, durations)
    with pytest.raises(ParameterError, match="sum to"):
        model.loss(out, batch["mels"], batch["mel_lengths"] + 1, durations, lengths)
    with pytest.raises(ParameterError, match="mel_target"):
        model.loss(out, batch["mels"][:, :3], batch["mel_lengths"], durations, lengths)
    items = _synthetic(2, 11)
    items[1]["durations"] = items[1]["durations"] + 1
    with pytest.raises(ParameterError, match="durations sum to"):
        collate_tts(items)
    with pytest.raises(ParameterError):
        DurationTTS(10, 4, d_model=30, n_heads=4)
    with pytest.raises(ParameterError):
        DurationTTS(10, 4, second_stream=3, fusion="nope")
    with pytest.raises(ParameterError):
        DurationTTS(10, 4, second_stream=3, fusion_layer=3, n_decoder_layers=2)
    with pytest.raises(ParameterError, match="not in the vocabulary"):
        PhoneVocabulary(["AA", "B"]).encode(["AA", "ZZ"])


# -- the command line on real recordings ------------------------------------------------------


def test_cli_trains_on_real_recordings_and_speaks(tmp_path, capsys):
    import soundfile as sf

    from align.cli import main

    source = shared_data(CATHY)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in CATHY_FILES:
        for suffix in (".flac", ".txt"):
            shutil.copy(source / (name + suffix), corpus / (name + suffix))
    model = tmp_path / "model.pt"
    argv = ["tts", "train", str(corpus), "-o", str(model), "--steps", "4", "--batch-size", "2",
            "--d-model", "32", "--layers", "1", "--checkpoint-every", "2", "-j", "1", "-q"]
    assert main(argv) == 0
    assert "trained 4 steps on 4 utterances" in capsys.readouterr().out
    tables = sorted((tmp_path / "model.durations").glob("*.durations.json"))
    assert len(tables) == len(CATHY_FILES)
    trained = load_tts(model)
    assert trained.step == 4 and len(trained.history) == 4
    # the synthesis front end gives the aligner's phone inventory
    for name in CATHY_FILES:
        phones = text_to_phones((corpus / (name + ".txt")).read_text())
        assert set(phones) <= set(trained.vocabulary.tokens), set(phones) - set(trained.vocabulary.tokens)
    wav = tmp_path / "out.wav"
    assert main(["tts", "say", str(model), "Author of the danger trail.", "-o", str(wav)]) == 0
    samples, rate = sf.read(wav)
    assert rate == 16000 and samples.size > 0 and np.isfinite(samples).all()
    assert "wrote" in capsys.readouterr().out
    # a resumed run goes on from the checkpoint
    assert main(argv[:6] + ["6"] + argv[7:]) == 0
    assert load_tts(model).step == 6
    # bad input: one line, exit 2
    assert main(["tts", "say", str(tmp_path / "missing.pt"), "hello", "-o", str(wav)]) == 2
    assert "no TTS checkpoint" in capsys.readouterr().err
