"""The Drop-DTW kernels against the full-table reference, brute force, and each other."""

import itertools

import numpy as np
import pytest

from align.kernels import drop_dtw as kdd

from ..reference.drop_dtw import drop_dtw_brute_force, drop_dtw_reference, score

MODES = list(itertools.product((True, False), (True, False)))  # (contiguous, exclusive)


def run_cpu(C, d_seg, d_step, contiguous, exclusive):
    C = np.asarray(C, np.float64)[None]
    K, N = C.shape[1:]
    out = dict(out_cost=np.empty(1), out_labels=np.empty((1, N), np.int64),
               out_step_dropped=np.empty((1, K), np.uint8), out_path=np.empty((1, K + N, 2), np.int64),
               out_n_pairs=np.empty(1, np.int64))
    kdd.drop_dtw_batch(C, np.asarray(d_seg, np.float64)[None], np.asarray(d_step, np.float64)[None],
                       np.array([K]), np.array([N]), int(contiguous), int(exclusive), *out.values())
    n = out["out_n_pairs"][0]
    return (out["out_cost"][0], [tuple(p) for p in out["out_path"][0, :n]], out["out_labels"][0],
            out["out_step_dropped"][0])


def problem(rng, K, N, *, integers=False, drop_steps=True):
    if integers:  # ties everywhere: the tie-break rule is exercised
        C = rng.integers(0, 3, (K, N)).astype(float)
        d_seg = rng.integers(0, 3, N).astype(float)
        d_step = rng.integers(1, 4, K).astype(float) if drop_steps else np.full(K, np.inf)
    else:
        C = rng.random((K, N))
        d_seg = rng.random(N) * 0.6
        d_step = rng.random(K) * 2.0 if drop_steps else np.full(K, np.inf)
    return C, d_seg, d_step


@pytest.mark.parametrize("contiguous,exclusive", MODES)
def test_minimum_equals_brute_force_and_the_path_is_one_of_its_optima(contiguous, exclusive):
    rng = np.random.default_rng(1)
    for trial in range(60):
        K, N = rng.integers(1, 4), rng.integers(1, 6)
        C, d_seg, d_step = problem(rng, K, N, integers=trial % 2 == 0, drop_steps=trial % 3 != 0)
        best, winners = drop_dtw_brute_force(C, d_seg, d_step, contiguous=contiguous, exclusive=exclusive)
        cost, pairs, labels, dropped = run_cpu(C, d_seg, d_step, contiguous, exclusive)
        if np.isinf(best):
            assert np.isinf(cost)
            continue
        assert cost == pytest.approx(best, abs=1e-12), (trial, C, d_seg, d_step)
        assert pairs in winners
        # the outputs agree with each other
        for i in range(K):
            assert dropped[i] == (i not in {p[0] for p in pairs})
        for j in range(N):
            steps = [p[0] for p in pairs if p[1] == j]
            assert labels[j] == (min(steps) if steps else -1)


@pytest.mark.parametrize("contiguous,exclusive", MODES)
def test_same_cost_and_same_path_as_the_full_table_reference(contiguous, exclusive):
    rng = np.random.default_rng(2)
    for trial in range(40):
        K, N = rng.integers(1, 9), rng.integers(1, 30)
        C, d_seg, d_step = problem(rng, K, N, integers=trial % 2 == 0, drop_steps=trial % 4 != 0)
        ref_cost, ref_pairs = drop_dtw_reference(C, d_seg, d_step, contiguous=contiguous, exclusive=exclusive)
        cost, pairs, _, _ = run_cpu(C, d_seg, d_step, contiguous, exclusive)
        assert cost == ref_cost  # the same additions in the same order
        assert pairs == ref_pairs


def test_the_reported_cost_is_the_cost_of_the_reported_path():
    rng = np.random.default_rng(3)
    C, d_seg, d_step = problem(rng, 6, 40)
    cost, pairs, labels, dropped = run_cpu(C, d_seg, d_step, True, True)
    choice = [None if labels[j] < 0 else (labels[j], labels[j]) for j in range(40)]
    assert score(C, d_seg, d_step, choice) == pytest.approx(cost)


def test_infinite_drop_costs_forbid_drops_and_infeasible_gives_inf():
    # two steps that must both match, one segment, exclusive: impossible
    cost, _, _, _ = run_cpu(np.zeros((2, 1)), [np.inf], [np.inf, np.inf], True, True)
    assert np.isinf(cost)
    # the same, but a segment may serve both steps when not exclusive
    cost, pairs, _, _ = run_cpu(np.ones((2, 1)), [np.inf], [np.inf, np.inf], True, False)
    assert cost == 2.0 and pairs == [(0, 0), (1, 0)]


def test_float32_costs_give_the_float64_result_of_their_values():
    rng = np.random.default_rng(4)
    C, d_seg, d_step = problem(rng, 5, 25)
    C32 = C.astype(np.float32)
    a = run_cpu(C32, d_seg, d_step, True, True)
    b = run_cpu(C32.astype(np.float64), d_seg, d_step, True, True)
    assert a[0] == b[0] and a[1] == b[1]


@pytest.mark.cuda
def test_cuda_twin_equals_the_cpu_bit_for_bit_on_a_ragged_batch():
    from numba import cuda

    from align.kernels import drop_dtw_cuda

    rng = np.random.default_rng(5)
    shapes = [(1, 1), (3, 7), (5, 4), (2, 9), (4, 4)]
    B, Km, Nm = len(shapes), max(s[0] for s in shapes), max(s[1] for s in shapes)
    for contiguous, exclusive in MODES:
        cost = np.zeros((B, Km, Nm), np.float32)
        seg = np.zeros((B, Nm))
        step = np.zeros((B, Km))
        for b, (k, n) in enumerate(shapes):
            C, d_seg, d_step = problem(rng, k, n, integers=b % 2 == 0, drop_steps=b % 3 != 0)
            cost[b, :k, :n], seg[b, :n], step[b, :k] = C, d_seg, d_step
        ks, ns = np.array([s[0] for s in shapes]), np.array([s[1] for s in shapes])

        def outputs():
            return [np.zeros(B), np.zeros((B, Nm), np.int64), np.zeros((B, Km), np.uint8),
                    np.zeros((B, Km + Nm, 2), np.int64), np.zeros(B, np.int64)]

        cpu = outputs()
        kdd.drop_dtw_batch(cost, seg, step, ks, ns, int(contiguous), int(exclusive), *cpu)
        gpu = outputs()
        bp = np.zeros((B, Km + 1, Nm + 1), np.uint8)
        rows = np.zeros((B, 5, Nm + 1))
        drop_dtw_cuda.drop_dtw_batch[2, 3](cost, seg, step, ks, ns, int(contiguous), int(exclusive), *gpu, bp, rows)
        cuda.synchronize()
        for b, (k, n) in enumerate(shapes):
            assert gpu[0][b] == cpu[0][b]
            p = cpu[4][b]
            assert gpu[4][b] == p
            np.testing.assert_array_equal(gpu[3][b, :p], cpu[3][b, :p])
            np.testing.assert_array_equal(gpu[1][b, :n], cpu[1][b, :n])
            np.testing.assert_array_equal(gpu[2][b, :k], cpu[2][b, :k])
