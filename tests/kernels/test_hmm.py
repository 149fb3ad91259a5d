"""align.kernels.hmm against the full-table reference and the brute-force oracle."""

import numpy as np
import pytest

from align.hmm import HMMGraph
from align.kernels import hmm as K
from tests.reference.hmm import (
    brute_force,
    graph_arrays,
    path_score,
    ref_forward_backward,
    ref_viterbi,
)

# ---------------------------------------------------------------- generators


def random_graph(rng, S, n_cols, *, p_edge=0.4, integer=False):
    """Any topology (backward edges included), a few initial and final states."""
    src, dst = np.nonzero(rng.random((S, S)) < p_edge)
    logp = -rng.integers(0, 3, src.size).astype(float) if integer else np.log(rng.random(src.size))
    init = np.where(rng.random(S) < 0.5, -rng.integers(0, 2, S).astype(float), -np.inf)
    final = np.where(rng.random(S) < 0.5, -rng.integers(0, 2, S).astype(float), -np.inf)
    init[rng.integers(S)] = 0.0
    final[rng.integers(S)] = 0.0
    return HMMGraph(rng.integers(0, n_cols, S), src, dst, logp, init, final)


def random_ltr(rng, S, w, n_cols=None, *, integer=False, p_extra=0.5):
    """Left-to-right: self-loop and s-1 -> s mostly present, other spans up to w at random."""
    src, dst = [], []
    for s in range(S):
        for j in range(0, w + 1):
            if s - j < 0:
                continue
            keep = rng.random() < (0.9 if j <= 1 else p_extra)
            if j == w and s - w >= 0 and w > 1 and s == S - 1:
                keep = True  # make sure the span really is w
            if keep:
                src.append(s - j)
                dst.append(s)
    src, dst = np.array(src, np.int64), np.array(dst, np.int64)
    logp = -rng.integers(0, 3, src.size).astype(float) if integer else np.log(rng.random(src.size))
    init = np.full(S, -np.inf)
    init[0] = 0.0
    if S > 2 and rng.random() < 0.5:
        init[1] = -1.0
    final = np.full(S, -np.inf)
    final[-1] = 0.0
    if S > 2 and rng.random() < 0.5:
        final[-2] = -1.0
    col = np.arange(S) if n_cols is None else rng.integers(0, n_cols, S)
    return HMMGraph(col, src, dst, logp, init, final)


def emissions(rng, T, n_cols, *, integer=False, dtype=np.float64):
    if integer:
        return (-rng.integers(0, 3, (T, n_cols))).astype(dtype)
    return np.log(rng.random((T, n_cols))).astype(dtype)


# ---------------------------------------------------------------- runners


def run_csr(E, g):
    T, S = E.shape[0], g.n_states
    path = np.empty(T, np.int64)
    bp = np.empty((T, S), np.int32)
    k = g._k  # the writable arrays the API passes (read-only ones compile again)
    score = K.viterbi_csr(E, k.col, k.pred_ptr, k.pred_state, k.pred_logp, k.init, k.final,
                          bp, path)
    return path, score


def full_band(T, S):
    return np.zeros(T, np.int64), np.full(T, S - 1, np.int64)


def run_band(E, g, lo=None, hi=None):
    T, S = E.shape[0], g.n_states
    if lo is None:
        lo, hi = g._band(T)
    path = np.empty(T, np.int64)
    bp = np.empty((T, S), np.uint8)
    score = K.viterbi_band(E, g._k.col, g._band_trans, g._k.init, g._k.final, lo, hi, bp, path)
    return path, score


def run_ckpt(E, g, k, lo=None, hi=None):
    T, S = E.shape[0], g.n_states
    if lo is None:
        lo, hi = g._band(T)
    trans = g._band_trans
    path = np.empty(T, np.int64)
    n_ckpt = (T - 2) // k + 1 if T > 1 else 0
    ckpt = np.empty((n_ckpt, S + trans.shape[0] - 1))
    seg = np.empty((k, S), np.uint8)
    score = K.viterbi_band_checkpointed(E, g._k.col, trans, g._k.init, g._k.final, lo, hi, k,
                                        ckpt, seg, path)
    return path, score


def run_fb(E, g):
    post = np.empty((E.shape[0], g.n_states))
    logz = K.forward_backward_csr(E, *g._kernel_arrays(), post)
    return post, logz


# ---------------------------------------------------------------- Viterbi


@pytest.mark.parametrize("integer", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_viterbi_csr_matches_reference(rng, integer, dtype):
    for _ in range(12):
        S = int(rng.integers(1, 9))
        n_cols = int(rng.integers(1, 6))
        g = random_graph(rng, S, n_cols, integer=integer)
        E = emissions(rng, int(rng.integers(1, 12)), n_cols, integer=integer, dtype=dtype)
        ref_path, ref_score, _ = ref_viterbi(E, *graph_arrays(g))
        path, score = run_csr(E, g)
        if ref_path is None:
            assert score == -np.inf and (path == -1).all()
            continue
        np.testing.assert_array_equal(path, ref_path)
        assert score == pytest.approx(ref_score, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("w", [0, 1, 2, 3, 6])
@pytest.mark.parametrize("integer", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("shared_cols", [False, True], ids=["ident", "gather"])
def test_viterbi_band_matches_reference(rng, w, integer, shared_cols):
    for _ in range(8):
        S = int(rng.integers(max(w, 1), 10))
        n_cols = 4 if shared_cols else None
        g = random_ltr(rng, S, w, n_cols, integer=integer)
        assert g.band_width is not None and g.band_width <= w
        E = emissions(rng, int(rng.integers(1, 14)), n_cols or S, integer=integer)
        ref_path, ref_score, _ = ref_viterbi(E, *graph_arrays(g))
        T = E.shape[0]
        for lo, hi in [g._band(T), full_band(T, S)]:
            if (lo > hi).any():
                assert ref_path is None
                continue
            path, score = run_band(E, g, lo, hi)
            if ref_path is None:
                assert score == -np.inf and (path == -1).all()
                continue
            np.testing.assert_array_equal(path, ref_path)
            assert score == pytest.approx(ref_score, rel=1e-12, abs=1e-12)


def test_band_and_csr_agree_on_large_tied_chain(rng):
    # integer emissions on a long chain: many ties, every rule must coincide
    g = random_ltr(rng, 40, 2, 5, integer=True)
    E = emissions(rng, 300, 5, integer=True)
    p_band, s_band = run_band(E, g)
    p_csr, s_csr = run_csr(E, g)
    np.testing.assert_array_equal(p_band, p_csr)
    assert s_band == s_csr


def test_tie_break_lowest_predecessor_wins():
    # two routes of equal score into state 2 at the last frame: from 0 (skip) and from 1
    g = HMMGraph([0, 0, 0], [0, 0, 1, 1, 2], [1, 2, 1, 2, 2], np.zeros(5),
                 [0.0, -np.inf, -np.inf], [-np.inf, -np.inf, 0.0])
    E = np.zeros((3, 1))
    for run in (run_csr, run_band):
        path, score = run(E, g)
        # at t=2 state 2's predecessors 0 (never live at t=1), 1 and 2 tie; lowest live wins
        assert path.tolist() == [0, 1, 2]
        assert score == 0.0
    # at the last frame, equal final scores: the lowest final state wins
    g = HMMGraph([0, 0], [0, 0], [0, 1], [0.0, 0.0], [0.0, -np.inf], [0.0, 0.0])
    for run in (run_csr, run_band):
        assert run(np.zeros((2, 1)), g)[0].tolist() == [0, 0]


@pytest.mark.parametrize("k", [1, 2, 3, 7, 29, 30, 31, 100])
@pytest.mark.parametrize("w", [1, 2, 4])
def test_checkpointed_equals_full_table(rng, k, w):
    g = random_ltr(rng, 12, w, 4, integer=True)
    for T in (1, 2, 30, 31):
        E = emissions(rng, T, 4, integer=True)
        lo, hi = g._band(T)
        if (lo > hi).any():
            continue
        full = run_band(E, g, lo, hi)
        ck = run_ckpt(E, g, k, lo, hi)
        np.testing.assert_array_equal(ck[0], full[0])
        assert ck[1] == full[1]


def test_checkpointed_no_path():
    g = HMMGraph.left_to_right(3, self_loop_logp=-np.inf)  # exactly 3 frames
    E = np.zeros((5, 3))
    path, score = run_ckpt(E, g, 2, *full_band(5, 3))
    assert score == -np.inf and (path == -1).all()


# ---------------------------------------------------------------- forward-backward


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_backward_matches_reference(rng, dtype):
    for _ in range(12):
        S = int(rng.integers(1, 8))
        n_cols = int(rng.integers(1, 5))
        g = random_graph(rng, S, n_cols)
        E = emissions(rng, int(rng.integers(1, 10)), n_cols, dtype=dtype)
        ref_post, ref_logz = ref_forward_backward(E, *graph_arrays(g))
        post, logz = run_fb(E, g)
        if ref_logz == -np.inf:
            assert logz == -np.inf and (post == 0).all()
            continue
        assert logz == pytest.approx(ref_logz, rel=1e-12)
        np.testing.assert_allclose(post, ref_post, atol=1e-12)


def run_fb_band(E, g, lo=None, hi=None):
    if lo is None:
        lo, hi = g._band(E.shape[0])
    post = np.empty((E.shape[0], g.n_states))
    logz = K.forward_backward_band(E, g._k.col, g._band_trans, g._k.init, g._k.final, lo, hi,
                                   post)
    return post, logz


@pytest.mark.parametrize("w", [0, 1, 2, 4])
@pytest.mark.parametrize("shared_cols", [False, True], ids=["ident", "gather"])
def test_forward_backward_band_matches_reference(rng, w, shared_cols):
    for _ in range(10):
        S = int(rng.integers(max(w, 1), 9))
        n_cols = 3 if shared_cols else None
        g = random_ltr(rng, S, w, n_cols)
        T = int(rng.integers(1, 13))
        E = emissions(rng, T, n_cols or S)
        if rng.random() < 0.2:
            E[rng.integers(T), :] = -np.inf  # a dead frame: no path
        ref_post, ref_logz = ref_forward_backward(E, *graph_arrays(g))
        for lo, hi in [g._band(T), full_band(T, S)]:
            if (lo > hi).any():
                assert ref_logz == -np.inf
                continue
            post, logz = run_fb_band(E, g, lo, hi)
            if ref_logz == -np.inf:
                assert logz == -np.inf and (post == 0).all()
                continue
            assert logz == pytest.approx(ref_logz, rel=1e-12)
            np.testing.assert_allclose(post, ref_post, atol=1e-12)


def test_forward_backward_band_equals_csr_on_forced_alignment(rng):
    g = HMMGraph.from_tokens(rng.integers(0, 5, 20), 3, skip=True)
    E = emissions(rng, 80, 15)
    post_b, z_b = run_fb_band(E, g)
    post_c, z_c = run_fb(E, g)
    assert z_b == pytest.approx(z_c, rel=1e-12)
    np.testing.assert_allclose(post_b, post_c, atol=1e-12)


# ---------------------------------------------------------------- brute force


def test_all_kernels_match_brute_force(rng):
    for trial in range(40):
        S = int(rng.integers(1, 4))
        T = int(rng.integers(1, 7))
        n_cols = int(rng.integers(1, 4))
        g = random_graph(rng, S, n_cols, p_edge=0.6)
        E = emissions(rng, T, n_cols)
        arrays = graph_arrays(g)
        best, best_paths, logz, post = brute_force(E, *arrays)
        path, score = run_csr(E, g)
        fb_post, fb_logz = run_fb(E, g)
        if best == -np.inf:
            assert score == -np.inf and fb_logz == -np.inf
            continue
        assert score == pytest.approx(best, rel=1e-12)
        assert tuple(path.tolist()) in best_paths
        assert path_score(E, *arrays, path) == pytest.approx(score, rel=1e-12)
        assert fb_logz == pytest.approx(logz, rel=1e-12)
        np.testing.assert_allclose(fb_post, post, atol=1e-12)


def test_band_kernels_match_brute_force(rng):
    for trial in range(30):
        S = int(rng.integers(1, 4))
        T = int(rng.integers(1, 7))
        g = random_ltr(rng, S, 2, 3)
        E = emissions(rng, T, 3)
        best, best_paths, _, _ = brute_force(E, *graph_arrays(g))
        lo, hi = g._band(T)
        if (lo > hi).any():
            assert best == -np.inf
            continue
        for path, score in (run_band(E, g, lo, hi), run_ckpt(E, g, 2, lo, hi)):
            if best == -np.inf:
                assert score == -np.inf
                continue
            assert score == pytest.approx(best, rel=1e-12)
            assert tuple(path.tolist()) in best_paths


# ---------------------------------------------------------------- helpers and batch


def test_min_steps_is_breadth_first():
    # 0 -> 1 -> 2 -> 3 and a shortcut 0 -> 3 that is -inf (ignored)
    ptr = np.array([0, 2, 3, 4, 4])
    nbr = np.array([1, 3, 2, 3])
    logp = np.array([0.0, -np.inf, 0.0, 0.0])
    src = np.array([True, False, False, False])
    assert K.min_steps(ptr, nbr, logp, src).tolist() == [0, 1, 2, 3]
    src = np.array([False, False, True, False])
    assert K.min_steps(ptr, nbr, logp, src).tolist() == [-1, -1, 0, 1]


def _stack_one(g):
    k = g._k
    return (k.col, k.pred_ptr, k.pred_state, k.pred_logp, k.init, k.final,
            np.array([0, g.n_states]), np.array([0, g.n_states + 1]), np.array([0, g.n_edges]))


def test_batch_kernels_equal_single_calls(rng):
    g = random_ltr(rng, 7, 2, 3)
    Es = [emissions(rng, T, 3) for T in (7, 12, 20)]
    t_off = np.array([0, 7, 19, 39])
    E = np.concatenate(Es)
    Es = [E[t_off[u]:t_off[u + 1]] for u in range(3)]
    graph_of = np.zeros(3, np.int64)
    col, ptr, ps, pl, init, final, s_off, p_off, e_off = _stack_one(g)
    path = np.empty(39, np.int64)
    ll = np.empty(3)
    K.viterbi_csr_batch(E, t_off, graph_of, (col, init, final, s_off), (ptr, ps, pl, p_off, e_off),
                        path, ll)
    lo = np.concatenate([g._band(len(e))[0] for e in Es])
    hi = np.concatenate([g._band(len(e))[1] for e in Es])
    path_b = np.empty(39, np.int64)
    ll_b = np.empty(3)
    K.viterbi_band_batch(E, t_off, graph_of, (col, init, final, s_off), g._band_trans, path_b, ll_b,
                         lo, hi)
    post = np.empty(39 * 7)
    ll_f = np.empty(3)
    K.forward_backward_csr_batch(E, t_off, graph_of, (col, init, final, s_off), (ptr, ps, pl, p_off, e_off),
                                 (g.succ_ptr, g.succ_state, g.succ_logp), post, t_off * 7, ll_f)
    for u, e in enumerate(Es):
        p1, s1 = run_csr(e, g)
        np.testing.assert_array_equal(path[t_off[u]:t_off[u + 1]], p1)
        np.testing.assert_array_equal(path_b[t_off[u]:t_off[u + 1]], p1)
        assert ll[u] == s1 and ll_b[u] == s1
        fp, fl = run_fb(e, g)
        np.testing.assert_array_equal(post[t_off[u] * 7:t_off[u + 1] * 7].reshape(-1, 7), fp)
        assert ll_f[u] == fl
