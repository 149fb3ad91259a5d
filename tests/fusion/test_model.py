"""FusionClassifier and its operators: shapes, masking, determinism, errors, and what it learns."""

import itertools

import pytest
import torch
from torch.nn import functional as F

from align.exceptions import ParameterError
from align.fusion.model import FUSIONS, FusionClassifier, count_parameters
from align.fusion.operators import ATTENTION, FRAMEWISE, OPERATORS, build_fusion

N_LAYERS = 3
INPUTS = {"audio": 6, "video": 5}


def _batch(seed, *, same_clock, batch=4):
    """Random features; unequal lengths per item, and per modality unless ``same_clock``."""
    g = torch.Generator().manual_seed(seed)
    t_audio, t_video = 11, (11 if same_clock else 7)
    features = {"audio": torch.randn(batch, t_audio, 6, generator=g),
                "video": torch.randn(batch, t_video, 5, generator=g)}
    audio_len = torch.tensor([11, 9, 4, 1][:batch])
    video_len = audio_len.clone() if same_clock else torch.tensor([7, 2, 5, 1][:batch])
    return features, {"audio": audio_len, "video": video_len}


def _model(fusion, layer, seed=0, **options):
    torch.manual_seed(seed)
    return FusionClassifier(INPUTS, 3, d_model=16, n_layers=N_LAYERS, n_heads=2, fusion=fusion,
                            fusion_layer=layer, **options)


@pytest.mark.parametrize("fusion,layer", list(itertools.product(FUSIONS, range(N_LAYERS + 1))))
def test_every_operator_at_every_layer_runs_forward_and_backward(fusion, layer):
    # Frame-wise operators below the top need one clock; above it (late) any lengths do.
    same_clock = fusion in FRAMEWISE and layer < N_LAYERS
    features, lengths = _batch(1, same_clock=same_clock)
    model = _model(fusion, layer, aux_weight=0.3, representation="coordinated", modality_dropout=0.2)
    terms = model.loss(features, lengths, torch.tensor([0, 1, 2, 1]))
    assert set(terms) == {"classification", "aux", "contrastive", "total"}
    terms["total"].backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # every encoder's first projection learns from the loss
    assert all(model.fronts[m].proj.weight.grad.abs().sum() > 0 for m in INPUTS)
    model.eval()
    assert model(features, lengths).shape == (4, 3)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_fixed_seed_gives_the_same_model_and_the_same_training_step(fusion):
    features, lengths = _batch(2, same_clock=True)
    labels = torch.tensor([0, 2, 1, 1])
    outputs = []
    for _ in range(2):
        model = _model(fusion, 1, seed=5, modality_dropout=0.5)
        torch.manual_seed(9)  # dropout and modality dropout draw from here
        model.loss(features, lengths, labels)["total"].backward()
        outputs.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert torch.equal(outputs[0], outputs[1])


@pytest.mark.parametrize("fusion,layer", [(f, k) for f in FUSIONS for k in (0, 1, N_LAYERS)])
def test_padding_never_changes_an_items_logits(fusion, layer):
    same_clock = fusion in FRAMEWISE and layer < N_LAYERS
    features, lengths = _batch(3, same_clock=same_clock)
    model = _model(fusion, layer).eval()
    with torch.no_grad():
        before = model(features, lengths)
        padded = {m: torch.cat([x, 100 * torch.randn(x.shape[0], 5, x.shape[2])], dim=1)
                  for m, x in features.items()}
        after = model(padded, lengths)
    torch.testing.assert_close(after, before, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("fusion", FRAMEWISE)
@pytest.mark.parametrize("layer", [0, 1])
def test_framewise_fusion_refuses_streams_on_different_clocks(fusion, layer):
    features, lengths = _batch(4, same_clock=False)
    with pytest.raises(ParameterError, match="frame by frame.*not on the clock"):
        _model(fusion, layer)(features, lengths)
    # the same lengths padded differently are refused too: the valid frames must agree
    features, lengths = _batch(4, same_clock=True)
    lengths["video"] = lengths["video"].flip(0)
    with pytest.raises(ParameterError, match="not on the clock"):
        _model(fusion, layer)(features, lengths)


@pytest.mark.parametrize("fusion", ATTENTION)
def test_attention_fusion_takes_streams_of_any_length(fusion):
    features, lengths = _batch(4, same_clock=False)
    assert _model(fusion, 1)(features, lengths).shape == (4, 3)


# -- operators, one by one ----------------------------------------------------------------------


def _streams(seed, lengths=(5, 3), t=(5, 5), d=8):
    g = torch.Generator().manual_seed(seed)
    names = ["a", "b"]
    streams = {n: torch.randn(len(lengths), ti, d, generator=g) for n, ti in zip(names, t)}
    masks = {n: torch.arange(ti)[None, :] < torch.tensor(lengths)[:, None] for n, ti in zip(names, t)}
    return streams, masks


def test_sum_and_weighted_sum_are_what_they_say():
    streams, masks = _streams(0)
    out, mask = build_fusion("sum", ["a", "b"], 8)(streams, masks)
    torch.testing.assert_close(out, streams["a"] + streams["b"])
    assert torch.equal(mask, masks["a"])
    op = build_fusion("weighted_sum", ["a", "b"], 8)
    with torch.no_grad():
        op.logits.copy_(torch.tensor([0.0, torch.log(torch.tensor(3.0))]))
    out, _ = op(streams, masks)
    torch.testing.assert_close(out, 0.25 * streams["a"] + 0.75 * streams["b"])


def test_concat_and_mlp_see_the_concatenated_frame():
    streams, masks = _streams(1)
    op = build_fusion("concat", ["a", "b"], 8)
    out, _ = op(streams, masks)
    cat = torch.cat([streams["a"], streams["b"]], dim=-1)
    torch.testing.assert_close(out, cat @ op.proj.weight.T + op.proj.bias)
    op = build_fusion("mlp", ["a", "b"], 8)
    torch.testing.assert_close(op(streams, masks)[0], op.mlp(cat))


def test_film_starts_as_the_identity_and_gated_is_a_convex_mix():
    streams, masks = _streams(2)
    film = build_fusion("film", ["a", "b"], 8)
    torch.testing.assert_close(film(streams, masks)[0], streams["a"])
    gated = build_fusion("gated", ["a", "b"], 8)
    out, _ = gated(streams, masks)
    h = [torch.tanh(f(streams[m])) for f, m in zip(gated.values, "ab")]
    # the gates by hand: a softmax over the two modalities, per frame and feature
    logits = gated.gate(torch.cat([streams["a"], streams["b"]], -1)).unflatten(-1, (2, 8))
    z = logits.softmax(-2)
    torch.testing.assert_close(out, z[..., 0, :] * h[0] + z[..., 1, :] * h[1])


@pytest.mark.parametrize("name", ATTENTION)
def test_attention_operators_ignore_padded_frames_of_every_stream(name):
    streams, masks = _streams(3, lengths=(4, 2), t=(6, 9))
    op = build_fusion(name, ["a", "b"], 8, n_heads=2).eval()
    out, mask = op(streams, masks)
    assert out.shape == (2, 6, 8) and torch.equal(mask, masks["a"])
    noisy = {n: torch.where(masks[n][..., None], x, 1e3 * torch.randn_like(x)) for n, x in streams.items()}
    out_noisy, _ = op(noisy, masks)
    valid = masks["a"][..., None]
    torch.testing.assert_close(out_noisy * valid, out * valid)


def test_cross_attention_reads_the_other_stream_and_bottleneck_passes_through_its_tokens():
    streams, masks = _streams(4, lengths=(5, 5), t=(5, 7))
    for name in ATTENTION:
        op = build_fusion(name, ["a", "b"], 8, n_heads=2).eval()
        out, _ = op(streams, masks)
        changed = dict(streams, b=streams["b"] + 1.0)
        assert not torch.allclose(op(changed, masks)[0], out), name


def test_unknown_operator_and_bad_streams_are_parameter_errors():
    with pytest.raises(ParameterError, match="unknown fusion operator 'avg'.*concat"):
        build_fusion("avg", ["a", "b"], 8)
    with pytest.raises(ParameterError, match="two distinct modalities"):
        build_fusion("sum", ["a"], 8)
    with pytest.raises(ParameterError, match="must divide"):
        build_fusion("cross_attention", ["a", "b"], 10, n_heads=4)
    streams, masks = _streams(5)
    with pytest.raises(ParameterError, match="built for modalities"):
        build_fusion("sum", ["a", "c"], 8)(streams, masks)
    with pytest.raises(ParameterError, match=r"must be \(B=2, T, 4\)"):
        build_fusion("sum", ["a", "b"], 4)(streams, masks)
    assert set(OPERATORS) | {"decision"} == set(FUSIONS)


def test_model_inputs_are_checked_with_clear_errors():
    features, lengths = _batch(6, same_clock=True)
    model = _model("concat", 1)
    with pytest.raises(ParameterError, match="unknown fusion 'avg'"):
        _model("avg", 1)
    with pytest.raises(ParameterError, match="fusion_layer must lie in 0..n_layers=3"):
        _model("concat", 4)
    with pytest.raises(ParameterError, match="inputs must map modality names"):
        FusionClassifier({}, 2)
    with pytest.raises(ParameterError, match=r"features\['video'\] must be a tensor \(B, T, 5\)"):
        model(dict(features, video=features["video"][..., :4]), lengths)
    with pytest.raises(ParameterError, match=r"lengths\['audio'\] must lie in 1..11"):
        model(features, dict(lengths, audio=torch.tensor([12, 1, 1, 1])))
    with pytest.raises(ParameterError, match="NaN"):
        model(dict(features, audio=features["audio"].clone().fill_(float("nan"))), lengths)
    with pytest.raises(ParameterError, match="built for modalities"):
        model({"audio": features["audio"]}, lengths)
    with pytest.raises(ParameterError, match=r"labels must be \(B=4,\)"):
        model.loss(features, lengths, torch.tensor([0, 1]))


def test_modality_dropout_zeroes_whole_modalities_in_training_only():
    model = _model("concat", 1, modality_dropout=0.6)
    streams = {m: torch.ones(200, 3, 16) for m in INPUTS}
    torch.manual_seed(0)
    dropped = model._drop_modalities(streams)
    zero = {m: (x == 0).all(dim=(1, 2)) for m, x in dropped.items()}
    assert not (zero["audio"] & zero["video"]).any()  # never both
    rate = (zero["audio"] | zero["video"]).float().mean()
    assert 0.45 < rate < 0.75
    assert all(((x == 0) | (x == 1)).all() for x in dropped.values())  # whole items, nothing partial
    model.eval()
    assert model._drop_modalities(streams) is streams


def test_contrastive_term_is_symmetric_info_nce():
    features, lengths = _batch(7, same_clock=True)
    model = _model("sum", 1, representation="coordinated", temperature=0.5).eval()
    term = model.loss(features, lengths, torch.tensor([0, 1, 2, 0]))["contrastive"]
    z = model.embeddings(features, lengths)
    assert torch.allclose(z["audio"].norm(dim=1), torch.ones(4))
    logits = z["audio"] @ z["video"].T / 0.5
    target = torch.arange(4)
    expected = -(logits.log_softmax(1).diag().mean() + logits.log_softmax(0).diag().mean()) / 2
    torch.testing.assert_close(term, expected)
    torch.testing.assert_close(term, (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2)


# -- what it learns ---------------------------------------------------------------------------


def _binding_data(n, seed, *, control):
    """Two noise streams on one clock; label 1 when the second copies the first frame by frame.

    Each stream alone is white noise either way, so only a model that compares the streams
    frame by frame can tell the classes apart. The control labels a property of one stream
    alone (the sign of the audio stream's mean), which late fusion sees as well.
    """
    g = torch.Generator().manual_seed(seed)
    audio = torch.randn(n, 12, 4, generator=g)
    labels = torch.randint(2, (n,), generator=g)
    other = torch.randn(n, 12, 4, generator=g)
    if control:
        audio = audio + (2 * labels[:, None, None] - 1) * 0.7
        video = other
    else:
        video = torch.where(labels[:, None, None].bool(), audio + 0.3 * other, other)
    lengths = torch.full((n,), 12)
    return {"audio": audio, "video": video}, {"audio": lengths, "video": lengths}, labels


def _accuracy_after_training(fusion, layer, *, control, steps=120, seed=0):
    torch.manual_seed(seed)
    model = FusionClassifier({"audio": 4, "video": 4}, 2, d_model=16, n_layers=2, n_heads=2,
                             fusion=fusion, fusion_layer=layer, dropout=0.0)
    features, lengths, labels = _binding_data(256, seed, control=control)
    test_features, test_lengths, test_labels = _binding_data(256, seed + 100, control=control)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for step in range(steps):
        idx = torch.randint(256, (32,))
        loss = model.loss({m: x[idx] for m, x in features.items()}, {m: x[idx] for m, x in lengths.items()},
                          labels[idx])["total"]
        first = loss.item() if first is None else first
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(test_features, test_lengths).argmax(1)
    return float((predicted == test_labels).float().mean()), first, loss.item()


def test_intermediate_fusion_learns_a_binding_task_that_late_fusion_cannot():
    intermediate, first, last = _accuracy_after_training("concat", 1, control=False)
    late, _, _ = _accuracy_after_training("decision", 2, control=False)
    assert last < first
    assert intermediate > 0.85, intermediate
    assert late < 0.65, late  # the streams alone carry no information: chance, give or take
    # control: the label is in one stream alone, so late fusion learns it as well
    intermediate_c, _, _ = _accuracy_after_training("concat", 1, control=True)
    late_c, _, _ = _accuracy_after_training("decision", 2, control=True)
    assert intermediate_c > 0.85 and late_c > 0.85, (intermediate_c, late_c)


def test_one_modality_is_the_unimodal_baseline_of_the_same_parts():
    torch.manual_seed(0)
    model = FusionClassifier({"audio": 6}, 3, d_model=16, n_layers=2, n_heads=2, fusion="concat", fusion_layer=1)
    features, lengths = _batch(8, same_clock=True)
    assert model.fusion == "decision" and list(model.heads) == ["audio"]
    model.eval()
    logits = model({"audio": features["audio"]}, {"audio": lengths["audio"]})
    with torch.no_grad():
        mask = torch.arange(11)[None, :] < lengths["audio"][:, None]
        h = model.encoders["audio"](model.fronts["audio"](features["audio"], mask), mask)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(logits, model.heads["audio"](pooled))


def test_count_parameters_counts_trainable_tensors():
    model = _model("sum", 1)
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())
    model.head.weight.requires_grad_(False)
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) - model.head.weight.numel()
