"""CPU CTC kernel against the full-table reference, the brute force and hand-made ties."""

import itertools

import numpy as np
import pytest

import inspect

from align.kernels.ctc import (
    TIE_OPTIMAL,
    TIE_TORCHAUDIO,
    ctc_align_batch,
    ctc_align_serial,
    ctc_band_cells,
    ctc_check_paths,
    ctc_find_invalid,
)
from tests.reference.ctc import brute_force, collapse, predecessors, ref_forced_align


RULES = {"optimal": TIE_OPTIMAL, "torchaudio": TIE_TORCHAUDIO}


def comp_align(log_probs, targets, input_lengths=None, target_lengths=None, blank=0, n_slots=2,
               serial=False, tie_break="optimal"):
    """Run the kernel with freshly sized workspaces (no validation: inputs are valid)."""
    log_probs = np.ascontiguousarray(log_probs)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    B, T, _ = log_probs.shape
    L = targets.shape[1]
    il = np.full(B, T, np.int64) if input_lengths is None else np.asarray(input_lengths, np.int64)
    tl = np.full(B, L, np.int64) if target_lengths is None else np.asarray(target_lengths, np.int64)
    cells = np.zeros(B, np.int64)
    repeats = np.zeros(B, np.int64)
    ctc_band_cells(targets, il, tl, cells, repeats)
    n_slots = max(1, min(n_slots, B))
    bp = np.full((n_slots, max(1, int(cells.max()))), 7, np.int8)  # garbage on purpose
    band = np.full((n_slots, max(1, T), 2), -5, np.int32)
    alpha = np.full((n_slots, 6, L + 1), 123.0, log_probs.dtype)
    paths = np.full((B, T), -9, np.int64)
    scores = np.full((B, T), 99.0, log_probs.dtype)
    logp = np.full(B, 99.0)
    run = ctc_align_serial if serial else ctc_align_batch
    run(log_probs, targets, il, tl, blank, RULES[tie_break], paths, scores, logp, bp, band, alpha)
    return paths, scores, logp


def random_case(rng, T, L, C, blank, dtype, ties=False, repeat_prob=0.3):
    labels = [c for c in range(C) if c != blank]
    tg = []
    for _ in range(L):
        if tg and rng.random() < repeat_prob:
            tg.append(tg[-1])
        else:
            tg.append(int(rng.choice(labels)))
    if ties:
        lp = rng.integers(-3, 1, size=(T, C)).astype(dtype)  # few distinct values: many ties
    else:
        lp = np.log(rng.dirichlet(np.ones(C), size=T)).astype(dtype)
    return lp, np.array(tg, dtype=np.int64)


def n_repeats(tg):
    return int(sum(tg[i] == tg[i - 1] for i in range(1, len(tg))))


@pytest.mark.parametrize("tie_break", ["optimal", "torchaudio"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "tied"])
def test_matches_reference(rng, dtype, ties, tie_break):
    checked = 0
    while checked < 60:
        C = int(rng.integers(2, 6))
        blank = int(rng.integers(0, C))
        L = int(rng.integers(0, 6))
        lp, tg = random_case(rng, int(rng.integers(1, 16)), L, C, blank, dtype, ties)
        T = lp.shape[0]
        if T < L + n_repeats(tg):
            continue
        ref_path, ref_scores, ref_total, _ = ref_forced_align(lp, tg, blank, tie_break)
        paths, scores, logp = comp_align(lp[None], tg[None].reshape(1, L), blank=blank,
                                         tie_break=tie_break)
        np.testing.assert_array_equal(paths[0], ref_path)
        np.testing.assert_array_equal(scores[0], ref_scores)
        assert scores.dtype == dtype
        assert logp[0] == ref_total
        checked += 1


@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "tied"])
def test_matches_brute_force(rng, ties):
    for T, L in itertools.product(range(1, 7), range(0, 4)):
        C = 4
        lp, tg = random_case(rng, T, L, C, 0, np.float64, ties, repeat_prob=0.4)
        best, optimal, n_paths = brute_force(lp, tg, 0)
        if T < L + n_repeats(tg):
            assert n_paths == 0
            continue
        assert n_paths > 0
        paths, scores, logp = comp_align(lp[None], tg.reshape(1, L))
        assert logp[0] == best
        assert tuple(paths[0]) in optimal
        assert collapse(paths[0].tolist(), 0) == tg.tolist()
        assert np.sum(scores[0]) == pytest.approx(best)
        # torchaudio's comparisons: a valid path, never better than the best
        ta_paths, _, ta_logp = comp_align(lp[None], tg.reshape(1, L), tie_break="torchaudio")
        assert collapse(ta_paths[0].tolist(), 0) == tg.tolist()
        assert ta_logp[0] <= best


def test_tight_length_T_equals_L_plus_R(rng):
    # T == L + R: a single path, blanks exactly between the repeats
    tg = np.array([1, 1, 2, 2, 2, 3])
    T = len(tg) + n_repeats(tg)
    lp = np.log(rng.dirichlet(np.ones(4), size=T))
    paths, _, _ = comp_align(lp[None], tg[None])
    np.testing.assert_array_equal(paths[0], [1, 0, 1, 2, 0, 2, 0, 2, 3])


# Tie-break rules. "optimal": a skip wins only if strictly greater than both the
# stay and the advance, the advance only if strictly greater than the stay.
# "torchaudio" (compute.cpp / compute.cu, as torchaudio 2.11 runs them): the skip
# and the advance each win only if strictly greater than both others, else the
# stay -- also when the advance and the skip tie above it. Both: at the last
# frame the final blank wins only if strictly greater than the last label.
def _lp(rows):
    return np.array(rows, dtype=np.float64)[None]


def test_tie_all_equal_prefers_stay_and_last_label():
    # every path scores 0: end on the last label, then stay there back to t=0
    paths, _, _ = comp_align(np.zeros((1, 4, 3)), np.array([[1]]))
    np.testing.assert_array_equal(paths[0], [1, 1, 1, 1])


def test_tie_advance_beats_skip():
    # targets (1, 2); at t=2 state "2" has stay=-5, advance(from blank)=-1, skip(from "1")=-1
    lp = _lp([[-1, 0, -9], [-1, -1, -5], [-9, -9, 0]])
    paths, _, logp = comp_align(lp, np.array([[1, 2]]))
    np.testing.assert_array_equal(paths[0], [1, 0, 2])  # the skip would give [1, 1, 2]
    assert logp[0] == -1


def test_torchaudio_rule_keeps_the_stay_when_advance_ties_skip():
    # the same case: torchaudio 2.11 (CPU and CUDA, seen on a GPU machine)
    # returns [1, 2, 2], a path of log-score -5 where the best is -1
    lp = _lp([[-1, 0, -9], [-1, -1, -5], [-9, -9, 0]])
    paths, _, logp = comp_align(lp, np.array([[1, 2]]), tie_break="torchaudio")
    np.testing.assert_array_equal(paths[0], [1, 2, 2])
    assert logp[0] == -5


def test_tie_stay_beats_skip():
    # targets (1, 2); at t=2 state "2": stay (from "2" at t=1) = skip (from "1") = -1 > advance
    lp = _lp([[-9, 0, -9], [-9, -1, -1], [-9, -9, 0]])
    paths, _, logp = comp_align(lp, np.array([[1, 2]]))
    np.testing.assert_array_equal(paths[0], [1, 2, 2])  # the skip would give [1, 1, 2]
    assert logp[0] == -1


def test_tie_stay_beats_advance():
    # targets (1,); state "1" at t=1: stay (from "1") = advance (from blank) = 0
    lp = _lp([[0, 0], [-9, 0]])
    paths, _, _ = comp_align(lp, np.array([[1]]))
    np.testing.assert_array_equal(paths[0], [1, 1])  # the advance would give [0, 1]


def test_tie_final_blank_vs_last_label():
    # both end states score -1: the path ends on the last label
    lp = _lp([[-9, 0], [-1, -1]])
    paths, _, _ = comp_align(lp, np.array([[1]]))
    np.testing.assert_array_equal(paths[0], [1, 1])
    # the final blank strictly better: the path ends on it
    lp = _lp([[-9, 0], [-0.5, -1]])
    paths, _, _ = comp_align(lp, np.array([[1]]))
    np.testing.assert_array_equal(paths[0], [1, 0])


@pytest.mark.parametrize("tie_break", ["optimal", "torchaudio"])
@pytest.mark.parametrize("rows, tg", [
    ([[-1, 0, -9], [-1, -1, -5], [-9, -9, 0]], [1, 2]),
    ([[-9, 0, -9], [-9, -1, -1], [-9, -9, 0]], [1, 2]),
    ([[0, 0], [-9, 0]], [1]),
    ([[-9, 0], [-1, -1]], [1]),
    ([[0.0] * 3] * 4, [1]),
])
def test_hand_ties_match_reference(rows, tg, tie_break):
    lp = np.array(rows, dtype=np.float64)
    paths, _, _ = comp_align(lp[None], np.array([tg]), tie_break=tie_break)
    np.testing.assert_array_equal(paths[0], ref_forced_align(lp, tg, 0, tie_break)[0])


def test_float32_and_float64_agree_on_separated_scores(rng):
    lp64 = np.log(rng.dirichlet(np.ones(6) * 0.3, size=(3, 40)))
    tg = np.array([[1, 2, 3, 4], [5, 5, 1, 2], [3, 1, 3, 1]])
    p32, s32, l32 = comp_align(lp64.astype(np.float32), tg)
    p64, s64, l64 = comp_align(lp64, tg)
    np.testing.assert_array_equal(p32, p64)
    np.testing.assert_allclose(s32, s64, rtol=1e-6)
    np.testing.assert_allclose(l32, l64, rtol=1e-5)


@pytest.mark.parametrize("serial", [False, True], ids=["parallel", "serial"])
@pytest.mark.parametrize("n_slots", [1, 2, 3, 8])
def test_batch_with_lengths_equals_items(rng, n_slots, serial):
    tie_break = "torchaudio" if serial else "optimal"
    B, T, L, C = 7, 25, 6, 5
    lp = np.log(rng.dirichlet(np.ones(C), size=(B, T))).astype(np.float32)
    tg = rng.integers(1, C, size=(B, L))
    il = np.array([25, 1, 20, 13, 0, 7, 25])
    tl = np.array([6, 1, 4, 0, 0, 3, 2])
    lp[1, 1:] = np.nan  # padding frames are never read
    paths, scores, logp = comp_align(lp, tg, il, tl, n_slots=n_slots, serial=serial,
                                     tie_break=tie_break)
    for b in range(B):
        tb, lb = il[b], tl[b]
        ref_path, ref_scores, ref_total, _ = ref_forced_align(lp[b, :tb], tg[b, :lb], 0, tie_break)
        np.testing.assert_array_equal(paths[b, :tb], ref_path)
        np.testing.assert_array_equal(scores[b, :tb], ref_scores)
        assert np.all(paths[b, tb:] == 0) and np.all(scores[b, tb:] == 0)
        assert logp[b] == pytest.approx(ref_total) if tb else logp[b] == 0


def test_band_cells_equal_live_states(rng):
    # live cells = states reachable from a start state in t frames AND able to
    # reach an end state by T-1, computed here from the predecessor lists
    for _ in range(40):
        L = int(rng.integers(0, 6))
        _, tg = random_case(rng, 1, L, 4, 0, np.float64, repeat_prob=0.5)
        R = n_repeats(tg)
        T = L + R + int(rng.integers(0, 6))
        if T == 0:
            continue
        S = 2 * L + 1
        fwd = np.zeros((T, S), bool)
        fwd[0, : min(2, S)] = True
        for t in range(1, T):
            for s in range(S):
                fwd[t, s] = any(fwd[t - 1, p] for p, _ in predecessors(s, tg.tolist()))
        bwd = np.zeros((T, S), bool)
        bwd[T - 1, max(0, S - 2):] = True
        for t in range(T - 2, -1, -1):
            for s in range(S):
                bwd[t, s] = any(bwd[t + 1, n] for n in range(S)
                                if s in [p for p, _ in predecessors(n, tg.tolist())])
        cells = np.zeros(1, np.int64)
        repeats = np.zeros(1, np.int64)
        ctc_band_cells(tg.reshape(1, L), np.array([T]), np.array([L]), cells, repeats)
        assert repeats[0] == R
        assert cells[0] == np.sum(fwd & bwd)


def test_band_cells_zero_when_infeasible():
    cells = np.zeros(1, np.int64)
    repeats = np.zeros(1, np.int64)
    ctc_band_cells(np.array([[1, 1, 1]]), np.array([4]), np.array([3]), cells, repeats)
    assert repeats[0] == 2 and cells[0] == 0


def test_empty_targets_give_all_blank(rng):
    lp = np.log(rng.dirichlet(np.ones(3), size=(1, 5)))
    paths, scores, logp = comp_align(lp, np.zeros((1, 0), np.int64), blank=2)
    np.testing.assert_array_equal(paths[0], [2] * 5)
    np.testing.assert_array_equal(scores[0], lp[0, :, 2])
    assert logp[0] == pytest.approx(lp[0, :, 2].sum())


def test_all_paths_impossible_returns_minus_inf():
    lp = np.zeros((1, 3, 3))
    lp[0, :, 2] = -np.inf  # label 2 can never be emitted
    paths, scores, logp = comp_align(lp, np.array([[1, 2]]))
    assert logp[0] == -np.inf
    assert np.all(paths == 0) and np.all(scores == 0)


def test_minus_inf_off_the_best_path_is_harmless(rng):
    lp = np.log(rng.dirichlet(np.ones(4), size=12))
    lp[3:6, 0] = -np.inf  # no blank at frames 3..5
    tg = [1, 2, 2, 3]
    paths, _, logp = comp_align(lp[None], np.array([tg]))
    ref_path, _, ref_total, _ = ref_forced_align(lp, tg, 0)
    np.testing.assert_array_equal(paths[0], ref_path)
    assert logp[0] == ref_total
    assert np.all(paths[0, 3:6] != 0)


def test_find_invalid_scans_live_frames_only():
    lp = np.zeros((3, 2000, 3), np.float32)
    lp[0, 1500, 2] = np.nan
    lp[1, 10, 1] = -np.inf  # valid
    lp[2, 1999, 0] = np.inf  # past input_lengths[2]
    out = np.empty(3, np.int64)
    ctc_find_invalid(lp, np.array([2000, 2000, 1999]), out)
    np.testing.assert_array_equal(out, [1500 * 3 + 2, -1, -1])
    ctc_find_invalid(lp, np.array([2000, 2000, 2000]), out)
    assert out[2] == 1999 * 3


def test_check_paths_rejects_wrong_paths():
    tg = np.array([[1, 1, 2], [1, 1, 2]])
    paths = np.array([[1, 0, 1, 2, 0], [1, 1, 1, 2, 0]])  # the second merges the repeat
    ok = np.empty(2, np.bool_)
    ctc_check_paths(paths, tg, np.array([5, 5]), np.array([3, 3]), 0, ok)
    np.testing.assert_array_equal(ok, [True, False])
    ctc_check_paths(paths, tg, np.array([4, 5]), np.array([3, 3]), 0, ok)  # frame 4 is padding
    np.testing.assert_array_equal(ok, [True, False])
    paths[0, 4] = 3
    ctc_check_paths(paths, tg, np.array([4, 5]), np.array([3, 3]), 0, ok)
    assert not ok[0]


def test_serial_and_parallel_drivers_share_one_signature():
    assert (inspect.signature(ctc_align_serial.py_func)
            == inspect.signature(ctc_align_batch.py_func))


@pytest.mark.parametrize("x0, x1, x2, optimal_move, torchaudio_move", [
    (0.0, -1.0, -2.0, 0, 0),
    (-1.0, 0.0, -2.0, 1, 1),
    (-2.0, -1.0, 0.0, 2, 2),
    (0.0, 0.0, 0.0, 0, 0),
    (0.0, 0.0, -1.0, 0, 0),
    (0.0, -1.0, 0.0, 0, 0),
    (-1.0, 0.0, 0.0, 1, 0),  # the one difference: torchaudio keeps the worse stay
    (-np.inf, -np.inf, -np.inf, 0, 0),
])
def test_choose_table(x0, x1, x2, optimal_move, torchaudio_move):
    from align.kernels.ctc import ctc_choose

    for optimal, move in ((True, optimal_move), (False, torchaudio_move)):
        value, got = ctc_choose(x0, x1, x2, optimal)
        assert got == move
        assert value == (x0, x1, x2)[move]


@pytest.mark.parametrize("optimal", [True, False])
def test_choose_without_skip_is_advance_iff_strictly_greater(optimal):
    # the kernel's blank loop writes this special case out (no skip predecessor)
    from align.kernels.ctc import ctc_choose

    for x0, x1 in itertools.product([-np.inf, -2.0, -1.0, 0.0], repeat=2):
        value, move = ctc_choose(x0, x1, -np.inf, optimal)
        assert move == (1 if x1 > x0 else 0)
        assert value == max(x0, x1)
