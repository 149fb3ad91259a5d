"""align.forced_align / merge_tokens / TokenSpan: torchaudio's contract, batching, errors."""

import importlib.util
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align import InfeasibleAlignmentError, ParameterError, TokenSpan, forced_align, merge_tokens
from tests.reference.ctc import collapse, ref_forced_align

try:
    import torch
except ImportError:  # the numpy tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make_inputs(rng, B=1, T=20, L=5, C=6, dtype=np.float32):
    lp = np.log(rng.dirichlet(np.ones(C), size=(B, T))).astype(dtype)
    tg = rng.integers(1, C, size=(B, L))
    return lp, tg


# ---------------------------------------------------------------- results


def test_public_names_resolve_to_align_ctc():
    import align.ctc

    assert align.forced_align is align.ctc.forced_align
    assert align.merge_tokens is align.ctc.merge_tokens
    assert align.TokenSpan is align.ctc.TokenSpan


@pytest.mark.parametrize("lp_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tg_dtype", [np.int32, np.int64])
def test_numpy_matches_reference_and_keeps_dtypes(rng, lp_dtype, tg_dtype):
    lp, tg = make_inputs(rng, B=1, T=30, L=8, dtype=lp_dtype)
    tg = tg.astype(tg_dtype)
    paths, scores = forced_align(lp, tg)
    assert isinstance(paths, np.ndarray) and isinstance(scores, np.ndarray)
    assert paths.dtype == tg_dtype and paths.shape == (1, 30)
    assert scores.dtype == lp_dtype and scores.shape == (1, 30)
    ref_path, ref_scores, _, _ = ref_forced_align(lp[0], tg[0], 0, "torchaudio")
    np.testing.assert_array_equal(paths[0], ref_path)
    np.testing.assert_array_equal(scores[0], ref_scores)


def test_scores_are_the_chosen_log_probs(rng):
    lp, tg = make_inputs(rng, B=3, T=25, L=6, C=7)
    paths, scores = forced_align(lp, tg)
    b, t = np.indices(paths.shape)
    np.testing.assert_array_equal(scores, lp[b, t, paths])


@needs_torch
def test_torch_in_torch_out(rng):
    lp, tg = make_inputs(rng, B=2, T=20, L=4)
    tp, ts = forced_align(torch.from_numpy(lp), torch.from_numpy(tg.astype(np.int32)))
    assert isinstance(tp, torch.Tensor) and isinstance(ts, torch.Tensor)
    assert tp.dtype == torch.int32 and ts.dtype == torch.float32
    assert tp.device == torch.device("cpu")
    np_paths, np_scores = forced_align(lp, tg)
    np.testing.assert_array_equal(tp.numpy(), np_paths)
    np.testing.assert_array_equal(ts.numpy(), np_scores)


@needs_torch
def test_torch_lengths_and_requires_grad(rng):
    lp, tg = make_inputs(rng, B=2, T=20, L=4)
    x = torch.from_numpy(lp).requires_grad_(True)
    tp, ts = forced_align(x, torch.from_numpy(tg), torch.tensor([20, 15]), torch.tensor([4, 3]))
    ref_path = ref_forced_align(lp[1, :15], tg[1, :3], 0, "torchaudio")[0]
    np.testing.assert_array_equal(tp[1, :15].numpy(), ref_path)
    assert not ts.requires_grad


@needs_torch
def test_float16_is_accumulated_in_float32_and_returned_as_float16(rng):
    lp, tg = make_inputs(rng, B=2, T=30, L=6, dtype=np.float16)
    paths, scores = forced_align(lp, tg)
    assert scores.dtype == np.float16
    ref_paths, _ = forced_align(lp.astype(np.float32), tg)
    np.testing.assert_array_equal(paths, ref_paths)
    b, t = np.indices(paths.shape)
    np.testing.assert_array_equal(scores, lp[b, t, paths])
    tp, ts = forced_align(torch.from_numpy(lp), torch.from_numpy(tg))
    assert ts.dtype == torch.float16


def test_batch_with_lengths_equals_per_item_calls(rng):
    B, T, L, C = 6, 30, 7, 5
    lp, tg = make_inputs(rng, B=B, T=T, L=L, C=C)
    il = np.array([30, 12, 1, 25, 30, 0])
    tl = np.array([7, 3, 1, 0, 5, 0])
    # padding may hold anything: NaN frames, blanks and out-of-range ids in targets
    lp[1, 12:] = np.nan
    tg[1, 3:] = 0
    tg[4, 5:] = 99
    paths, scores = forced_align(lp, tg, il, tl)
    for b in range(B):
        if il[b] == 0:
            assert np.all(paths[b] == 0) and np.all(scores[b] == 0)
            continue
        p1, s1 = forced_align(lp[b:b + 1, : il[b]], tg[b:b + 1, : tl[b]])
        np.testing.assert_array_equal(paths[b, : il[b]], p1[0])
        np.testing.assert_array_equal(scores[b, : il[b]], s1[0])
        assert np.all(paths[b, il[b]:] == 0)  # padding frames: blank, score 0
        assert np.all(scores[b, il[b]:] == 0)


def test_padding_frames_use_the_blank_index(rng):
    lp, tg = make_inputs(rng, B=1, T=10, L=2, C=4)
    tg[:] = [[1, 2]]
    paths, scores = forced_align(lp, tg, [6], None, blank=3)
    assert np.all(paths[0, 6:] == 3) and np.all(scores[0, 6:] == 0)


def test_empty_targets_give_all_blank(rng):
    lp, _ = make_inputs(rng, B=2, T=5, C=3)
    paths, scores = forced_align(lp, np.zeros((2, 0), np.int64), blank=1)
    assert np.all(paths == 1)
    np.testing.assert_array_equal(scores, lp[:, :, 1])


def test_empty_batch(rng):
    paths, scores = forced_align(np.zeros((0, 7, 3), np.float32), np.zeros((0, 2), np.int32))
    assert paths.shape == (0, 7) and paths.dtype == np.int32
    assert scores.shape == (0, 7) and scores.dtype == np.float32


def test_minus_inf_log_probs_are_allowed(rng):
    lp, tg = make_inputs(rng, B=1, T=15, L=3, C=5)
    tg[:] = [[1, 2, 3]]
    lp[0, :, 4] = -np.inf  # a class the model never emits
    lp[0, 5, 0] = -np.inf
    paths, _ = forced_align(lp, tg)
    np.testing.assert_array_equal(paths[0], ref_forced_align(lp[0], tg[0], 0, "torchaudio")[0])


def test_large_batch_runs_in_parallel_slots(rng):
    lp, tg = make_inputs(rng, B=37, T=60, L=12, C=8)
    paths, _ = forced_align(lp, tg)
    for b in (0, 17, 36):
        np.testing.assert_array_equal(paths[b], ref_forced_align(lp[b], tg[b], 0, "torchaudio")[0])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_property_path_spells_targets_and_is_optimal(data):
    C = data.draw(st.integers(2, 5))
    blank = data.draw(st.integers(0, C - 1))
    labels = [c for c in range(C) if c != blank]
    tg = data.draw(st.lists(st.sampled_from(labels), min_size=0, max_size=5))
    R = sum(tg[i] == tg[i - 1] for i in range(1, len(tg)))
    T = data.draw(st.integers(max(1, len(tg) + R), 12))
    values = data.draw(st.lists(st.sampled_from([-3.0, -2.0, -1.0, -0.5, 0.0]),
                                min_size=T * C, max_size=T * C))
    lp = np.array(values).reshape(1, T, C)
    targets = np.array([tg], dtype=np.int64).reshape(1, len(tg))
    opt_paths, opt_scores = forced_align(lp, targets, blank=blank, tie_break="optimal")
    assert collapse(opt_paths[0].tolist(), blank) == tg
    ref_path, _, ref_total, _ = ref_forced_align(lp[0], tg, blank, "optimal")
    assert opt_scores[0].sum() == pytest.approx(ref_total)
    np.testing.assert_array_equal(opt_paths[0], ref_path)
    paths, scores = forced_align(lp, targets, blank=blank)  # torchaudio's comparisons
    assert collapse(paths[0].tolist(), blank) == tg
    np.testing.assert_array_equal(paths[0], ref_forced_align(lp[0], tg, blank, "torchaudio")[0])
    assert scores[0].sum() <= opt_scores[0].sum() + 1e-12


def test_default_is_torchaudio_rule_and_optimal_is_a_keyword():
    # advance and skip tie above the stay: torchaudio 2.11 keeps the stay
    lp = np.array([[[-1, 0, -9], [-1, -1, -5], [-9, -9, 0]]], dtype=np.float32)
    tg = np.array([[1, 2]])
    paths, scores = forced_align(lp, tg)
    assert paths[0].tolist() == [1, 2, 2] and scores[0].sum() == -5
    paths, scores = forced_align(lp, tg, tie_break="optimal")
    assert paths[0].tolist() == [1, 0, 2] and scores[0].sum() == -1


# ---------------------------------------------------------------- errors


def test_error_tie_break_option():
    with pytest.raises(ParameterError, match=r"tie_break='best' is not supported; use one of 'torchaudio', 'optimal'"):
        forced_align(np.zeros((1, 5, 3)), np.array([[1]]), tie_break="best")



def test_error_log_probs_not_3d():
    with pytest.raises(ParameterError, match=r"log_probs must be 3-D \(batch_size, input length, num classes\), got shape \(5, 3\)"):
        forced_align(np.zeros((5, 3)), np.array([[1]]))


def test_error_log_probs_dtype():
    with pytest.raises(ParameterError, match=r"log_probs must be float64, float32 or float16, got dtype int64"):
        forced_align(np.zeros((1, 5, 3), np.int64), np.array([[1]]))


@needs_torch
def test_error_log_probs_torch_dtype():
    with pytest.raises(ParameterError, match=r"log_probs must be float64 or float32 or float16, got dtype torch.bfloat16"):
        forced_align(torch.zeros((1, 5, 3), dtype=torch.bfloat16), torch.tensor([[1]]))


def test_error_targets_not_2d():
    with pytest.raises(ParameterError, match=r"targets must be 2-D \(batch_size, target length\), got shape \(2,\)"):
        forced_align(np.zeros((1, 5, 3)), np.array([1, 2]))


def test_error_targets_dtype():
    with pytest.raises(ParameterError, match=r"targets must be int32 or int64, got dtype float64"):
        forced_align(np.zeros((1, 5, 3)), np.array([[1.0, 2.0]]))


@needs_torch
def test_error_targets_torch_dtype():
    with pytest.raises(ParameterError, match=r"targets must be int32 or int64, got dtype torch.int16"):
        forced_align(torch.zeros((1, 5, 3)), torch.tensor([[1, 2]], dtype=torch.int16))


def test_error_batch_mismatch():
    with pytest.raises(ParameterError, match=r"same batch size, got 2 and 3"):
        forced_align(np.zeros((2, 5, 3)), np.ones((3, 2), np.int64))


@pytest.mark.parametrize("blank", [-1, 3])
def test_error_blank_out_of_range(blank):
    with pytest.raises(ParameterError, match=rf"blank must be within \[0, num classes\) = \[0, 3\), got {blank}"):
        forced_align(np.zeros((1, 5, 3)), np.array([[1]]), blank=blank)


def test_error_blank_not_integer():
    with pytest.raises(ParameterError, match=r"blank must be an integer class index, got 0.5"):
        forced_align(np.zeros((1, 5, 3)), np.array([[1]]), blank=0.5)


def test_error_blank_inside_targets():
    with pytest.raises(ParameterError, match=r"targets shouldn't contain the blank index 0: found at batch index 1, position 2"):
        forced_align(np.zeros((2, 9, 3)), np.array([[1, 2, 1], [2, 1, 0]]))


def test_error_target_too_large():
    with pytest.raises(ParameterError, match=r"targets values must be in \[0, num classes\) = \[0, 3\), found 3 at batch index 0, position 1"):
        forced_align(np.zeros((1, 9, 3)), np.array([[1, 3]]))


def test_error_target_negative():
    with pytest.raises(ParameterError, match=r"targets values must be in \[0, num classes\) = \[0, 3\), found -2 at batch index 0, position 0"):
        forced_align(np.zeros((1, 9, 3)), np.array([[-2, 1]]))


def test_error_input_lengths_shape():
    with pytest.raises(ParameterError, match=r"input_lengths must be 1-D \(batch_size,\) = \(2,\), got shape \(3,\)"):
        forced_align(np.zeros((2, 9, 3)), np.ones((2, 1), np.int64), input_lengths=[9, 9, 9])


def test_error_input_lengths_out_of_range():
    with pytest.raises(ParameterError, match=r"input_lengths\[1\] = 10 is out of range \[0, T=9\]"):
        forced_align(np.zeros((2, 9, 3)), np.ones((2, 1), np.int64), input_lengths=[9, 10])


def test_error_target_lengths_out_of_range():
    with pytest.raises(ParameterError, match=r"target_lengths\[0\] = -1 is out of range \[0, L=1\]"):
        forced_align(np.zeros((2, 9, 3)), np.ones((2, 1), np.int64), target_lengths=[-1, 1])


def test_error_target_lengths_shape():
    with pytest.raises(ParameterError, match=r"target_lengths must be 1-D \(batch_size,\) = \(2,\), got shape \(\)"):
        forced_align(np.zeros((2, 9, 3)), np.ones((2, 1), np.int64), target_lengths=1)


def test_error_lengths_dtype():
    with pytest.raises(ParameterError, match=r"input_lengths must hold integers, got dtype float64"):
        forced_align(np.zeros((1, 9, 3)), np.ones((1, 1), np.int64), input_lengths=[9.0])


def test_error_nan_names_batch_and_frame():
    lp = np.zeros((2, 9, 3), np.float32)
    lp[1, 4, 2] = np.nan
    with pytest.raises(ParameterError, match=r"must not contain NaN or \+inf: found nan at batch index 1, frame 4, class 2"):
        forced_align(lp, np.ones((2, 1), np.int64))


def test_error_plus_inf():
    lp = np.zeros((1, 9, 3))
    lp[0, 7, 0] = np.inf
    with pytest.raises(ParameterError, match=r"found inf at batch index 0, frame 7, class 0"):
        forced_align(lp, np.ones((1, 1), np.int64))


def test_error_targets_too_long_names_batch_T_L_R():
    tg = np.array([[1, 2, 0, 0], [1, 1, 2, 2]])
    with pytest.raises(InfeasibleAlignmentError, match=r"targets length is too long for CTC at batch index 1: log_probs length T=5, targets length L=4, number of repeats R=2; need T >= L \+ R"):
        forced_align(np.zeros((2, 5, 3)), tg, target_lengths=[2, 4])


def test_error_every_path_impossible():
    lp = np.zeros((1, 4, 3))
    lp[0, :, 2] = -np.inf
    with pytest.raises(InfeasibleAlignmentError, match=r"every alignment of batch index 0 has probability zero"):
        forced_align(lp, np.array([[1, 2]]))


# ---------------------------------------------------------------- merge_tokens


def test_merge_tokens_hand_case():
    tokens = np.array([0, 3, 3, 0, 0, 5, 5, 5, 0, 3])
    scores = np.log(np.array([0.9, 0.5, 0.7, 0.9, 0.9, 0.8, 0.6, 0.4, 0.9, 1.0]))
    spans = merge_tokens(tokens, scores)
    assert [(s.token, s.start, s.end) for s in spans] == [(3, 1, 3), (5, 5, 8), (3, 9, 10)]
    assert spans[0].score == pytest.approx(np.mean(scores[1:3]))
    assert spans[1].score == pytest.approx(np.mean(scores[5:8]))
    assert [len(s) for s in spans] == [2, 3, 1]
    assert all(isinstance(s, TokenSpan) for s in spans)
    assert isinstance(spans[0].token, int) and isinstance(spans[0].score, float)


@needs_torch
def test_merge_tokens_torch_matches_torch_mean_and_other_blank():
    tokens = torch.tensor([2, 1, 1, 2, 0, 0, 2])
    scores = torch.tensor([-0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7])
    spans = merge_tokens(tokens, scores, blank=2)
    assert [(s.token, s.start, s.end) for s in spans] == [(1, 1, 3), (0, 4, 6)]
    assert spans[0].score == scores[1:3].mean().item()


def test_merge_tokens_edges():
    assert merge_tokens(np.array([], np.int64), np.array([])) == []
    assert merge_tokens(np.array([0, 0]), np.array([-1.0, -1.0])) == []
    spans = merge_tokens(np.array([4]), np.array([-2.0]))
    assert [(s.token, s.start, s.end, s.score) for s in spans] == [(4, 0, 1, -2.0)]


def test_merge_tokens_round_trip_with_forced_align(rng):
    lp, tg = make_inputs(rng, B=1, T=40, L=9, C=6)
    paths, scores = forced_align(lp, tg)
    spans = merge_tokens(paths[0], scores[0])
    # one span per target, except adjacent repeats (which are separated by a blank)
    assert [s.token for s in spans] == tg[0].tolist()
    assert all(s.end > s.start for s in spans)


def test_merge_tokens_error_not_1d():
    with pytest.raises(ParameterError, match=r"`tokens` and `scores` must be 1-D, got shapes \(1, 3\) and \(3,\)"):
        merge_tokens(np.zeros((1, 3), np.int64), np.zeros(3))


def test_merge_tokens_error_length_mismatch():
    with pytest.raises(ParameterError, match=r"`tokens` and `scores` must be the same length, got 3 and 2"):
        merge_tokens(np.zeros(3, np.int64), np.zeros(2))


def test_merge_tokens_error_float_tokens():
    with pytest.raises(ParameterError, match=r"`tokens` must hold integers, got dtype float64"):
        merge_tokens(np.zeros(3), np.zeros(3))


# ------------------------------------------- the GPU comparison script's helpers


def _load_compare_script():
    path = ROOT / "benchmarks" / "gpu" / "torchaudio_compare.py"
    spec = importlib.util.spec_from_file_location("torchaudio_compare", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # must not need torchaudio at import time
    return module


@needs_torch
def test_compare_script_random_case_is_feasible_and_tied():
    mod = _load_compare_script()
    gen = torch.Generator().manual_seed(0)
    for ties in (False, True):
        lp, tg = mod.random_case(gen, T=50, L=12, C=8, ties=ties, dtype=torch.float32)
        assert lp.shape == (1, 50, 8) and tg.shape == (1, 12)
        assert tg.dtype == torch.int32 and not (tg == 0).any()
        R = int((tg[0, 1:] == tg[0, :-1]).sum())
        assert 50 >= 12 + R
        if ties:
            assert len(torch.unique(lp)) <= 4


@needs_torch
def test_compare_script_hand_cases_are_valid():
    mod = _load_compare_script()
    for name, lp, tg, expected_ta, expected_opt in mod.hand_tie_cases():
        assert forced_align(lp, tg)[0][0].tolist() == expected_ta, name
        assert forced_align(lp, tg, tie_break="optimal")[0][0].tolist() == expected_opt, name
        ref_ta = ref_forced_align(lp[0].numpy(), tg[0].tolist(), 0, "torchaudio")[0]
        assert expected_ta == ref_ta.tolist(), name


@needs_torch
def test_compare_script_summary():
    mod = _load_compare_script()
    a = torch.tensor([[0, 1, 1, 0], [0, 2, 0, 0]])
    b = torch.tensor([[0, 1, 1, 0], [0, 2, 2, 0]])
    assert mod.count_mismatches(a, b) == (1, 1)
    assert mod.count_mismatches(a, a) == (0, 0)
