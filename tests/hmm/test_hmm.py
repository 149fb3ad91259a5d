"""align.viterbi / align.forward_backward / align.HMMGraph: peers, builders, properties, errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import align
from align.hmm import decode as H
from align.hmm import HMMGraph
from tests.reference.hmm import graph_arrays, path_score, ref_forward_backward, ref_viterbi

NEG = -np.inf

# ---------------------------------------------------------------- hmmlearn


def _gaussian_model(rng, n, zero_trans=False):
    hmm = pytest.importorskip("hmmlearn.hmm")
    m = hmm.GaussianHMM(n_components=n, covariance_type="diag", init_params="", params="")
    start = rng.random(n) + 0.1
    trans = rng.random((n, n)) + 0.05
    if zero_trans:
        trans[np.tril_indices(n, -1)] = 0.0  # left-to-right: some -inf edges
    m.startprob_ = start / start.sum()
    m.transmat_ = trans / trans.sum(1, keepdims=True)
    m.means_ = rng.normal(size=(n, 2)) * 2
    m.covars_ = rng.random((n, 2)) + 0.5
    return m


@pytest.mark.parametrize("zero_trans", [False, True], ids=["dense", "upper-triangular"])
def test_matches_hmmlearn_gaussian(rng, zero_trans):
    m = _gaussian_model(rng, 4, zero_trans)
    X = rng.normal(size=(60, 2)) * 2
    with np.errstate(divide="ignore"):
        g = HMMGraph.from_dense(np.log(m.startprob_), np.log(m.transmat_))
    framelogprob = m._compute_log_likelihood(X)
    logprob, states = m.decode(X, algorithm="viterbi")
    r = align.viterbi(framelogprob, g)
    np.testing.assert_array_equal(r.path, states)
    assert r.log_likelihood == pytest.approx(logprob, rel=1e-10)
    if zero_trans:
        assert g.n_edges == 10 and g.band_width == 3  # i -> j only for j >= i: banded
    r_csr = align.viterbi(framelogprob, g, method="csr")
    np.testing.assert_array_equal(r_csr.path, states)
    p = align.forward_backward(framelogprob, g)
    np.testing.assert_allclose(p.posteriors, m.predict_proba(X), atol=1e-8)
    assert p.log_likelihood == pytest.approx(m.score(X), rel=1e-10)


def test_matches_hmmlearn_categorical(rng):
    hmm = pytest.importorskip("hmmlearn.hmm")
    n, n_sym = 3, 5
    m = hmm.CategoricalHMM(n_components=n, init_params="", params="")
    m.n_features = n_sym
    m.startprob_ = np.array([0.6, 0.3, 0.1])
    m.transmat_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    ep = rng.random((n, n_sym)) + 0.1
    m.emissionprob_ = ep / ep.sum(1, keepdims=True)
    X = rng.integers(0, n_sym, (80, 1))
    g = HMMGraph.from_dense(np.log(m.startprob_), np.log(m.transmat_))
    # the graph reads one column per symbol-state pair: a tied-emission layout
    log_emis = np.log(m.emissionprob_.T[X[:, 0]])  # (T, n)
    logprob, states = m.decode(X, algorithm="viterbi")
    r = align.viterbi(log_emis, g)
    np.testing.assert_array_equal(r.path, states)
    assert r.log_likelihood == pytest.approx(logprob, rel=1e-10)
    p = align.forward_backward(log_emis, g)
    np.testing.assert_allclose(p.posteriors, m.predict_proba(X), atol=1e-8)
    assert p.log_likelihood == pytest.approx(m.score(X), rel=1e-10)


# ---------------------------------------------------------------- API behaviour


def test_public_names_resolve():
    assert align.HMMGraph is HMMGraph
    assert align.viterbi is H.viterbi and align.forward_backward is H.forward_backward
    assert align.ViterbiResult is H.ViterbiResult and align.PosteriorResult is H.PosteriorResult


def test_float32_and_float64_agree(rng):
    g = HMMGraph.from_tokens([1, 0, 2], 3, skip=True)
    E64 = np.log(rng.random((40, 9)))
    E32 = E64.astype(np.float32)
    r64 = align.viterbi(E64, g)
    r32 = align.viterbi(E32, g)
    # float32 inputs are widened exactly, so the float32 run is the float64 run on E32
    ref_path, ref_score, _ = ref_viterbi(E32.astype(np.float64), *graph_arrays(g))
    np.testing.assert_array_equal(r32.path, ref_path)
    assert r32.log_likelihood == pytest.approx(ref_score, rel=1e-12)
    assert r32.log_likelihood == pytest.approx(r64.log_likelihood, rel=1e-5)
    p32 = align.forward_backward(E32, g)
    p64 = align.forward_backward(E64, g)
    np.testing.assert_allclose(p32.posteriors, p64.posteriors, atol=1e-4)


def test_torch_input(rng):
    torch = pytest.importorskip("torch")
    g = HMMGraph.left_to_right(4)
    E = np.log(rng.random((10, 4)))
    r = align.viterbi(torch.from_numpy(E), g)
    want = align.viterbi(E, g)
    # torch in, torch out (int64 on the input's device); numpy in, numpy out
    assert isinstance(r.path, torch.Tensor) and r.path.dtype == torch.int64
    assert isinstance(want.path, np.ndarray)
    np.testing.assert_array_equal(r.path.numpy(), want.path)
    assert r.log_likelihood == want.log_likelihood
    from align.hmm import path_segments

    segs = path_segments(r.path)
    np.testing.assert_array_equal(segs[1], path_segments(want.path)[1])


def test_torch_input_batch_and_posteriors(rng):
    torch = pytest.importorskip("torch")
    g = HMMGraph.left_to_right(4)
    Es = [np.log(rng.random((T, 4))) for T in (10, 6)]
    mixed = [torch.from_numpy(Es[0]), Es[1]]  # each result follows its own input
    got = align.viterbi_batch(mixed, g)
    assert isinstance(got[0].path, torch.Tensor) and isinstance(got[1].path, np.ndarray)
    for r, e in zip(got, Es):
        np.testing.assert_array_equal(np.asarray(r.path), align.viterbi(e, g).path)
    fb = align.forward_backward(torch.from_numpy(Es[0]), g)
    assert isinstance(fb.posteriors, torch.Tensor) and fb.posteriors.dtype == torch.float64
    np.testing.assert_allclose(fb.posteriors.numpy(), align.forward_backward(Es[0], g).posteriors)
    fbb = align.forward_backward_batch(mixed, g)
    assert isinstance(fbb[0].posteriors, torch.Tensor) and isinstance(fbb[1].posteriors, np.ndarray)
    np.testing.assert_allclose(fbb[0].posteriors.numpy(), fb.posteriors.numpy())


@pytest.mark.parametrize("method", ["band", "csr"])
def test_methods_and_memory_modes_agree(rng, method):
    g = HMMGraph.from_tokens([0, "|", 1, 2, "|", 3], 3, word_separator="|", optional_silence=4,
                             skip=True)
    E = (-rng.integers(0, 3, (70, 15))).astype(np.float64)  # ties everywhere
    full = align.viterbi(E, g, method=method, memory="full")
    ref_path, ref_score, _ = ref_viterbi(E, *graph_arrays(g))
    np.testing.assert_array_equal(full.path, ref_path)
    assert full.log_likelihood == ref_score
    if method == "band":
        for k in (1, 5, 69, 500, None):
            ck = align.viterbi(E, g, memory="checkpoint", checkpoint_every=k)
            np.testing.assert_array_equal(ck.path, full.path)
            assert ck.log_likelihood == full.log_likelihood


def test_auto_memory_switches_to_checkpointing(rng, monkeypatch):
    g = HMMGraph.left_to_right(6)
    E = np.log(rng.random((50, 6)))
    full = align.viterbi(E, g, memory="full")
    calls = []
    real = H._kernels().viterbi_band_checkpointed

    def spy(*args):
        calls.append(args[7])
        return real(*args)

    monkeypatch.setattr(H, "FULL_TABLE_LIMIT_BYTES", 100)
    monkeypatch.setattr(H._kernels(), "viterbi_band_checkpointed", spy)
    r = align.viterbi(E, g)
    assert calls == [20]  # ceil(sqrt(8 * 50))
    np.testing.assert_array_equal(r.path, full.path)


def test_forward_backward_example_and_properties(rng):
    g = HMMGraph.from_tokens([0, 1], 2)
    E = np.log(rng.random((9, 4)))
    p = align.forward_backward(E, g)
    np.testing.assert_allclose(p.posteriors.sum(1), 1.0, atol=1e-12)
    ref_post, ref_logz = ref_forward_backward(E, *graph_arrays(g))
    np.testing.assert_allclose(p.posteriors, ref_post, atol=1e-12)
    assert p.log_likelihood == pytest.approx(ref_logz)
    assert p.log_likelihood >= align.viterbi(E, g).log_likelihood


def test_forward_backward_methods_agree(rng):
    g = HMMGraph.from_tokens([0, "|", 1, 2], 2, word_separator="|", optional_silence=3)
    E = np.log(rng.random((30, 8))).astype(np.float32)
    band = align.forward_backward(E, g, method="band")
    csr = align.forward_backward(E, g, method="csr")
    np.testing.assert_allclose(band.posteriors, csr.posteriors, atol=1e-12)
    assert band.log_likelihood == pytest.approx(csr.log_likelihood, rel=1e-12)
    dense = HMMGraph.from_dense(np.log([0.5, 0.5]), np.log([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(align.ParameterError, match=r"method='band' needs a left-to-right graph"):
        align.forward_backward(np.zeros((3, 2)), dense, method="band")
    g3 = HMMGraph.left_to_right(3, self_loop_logp=NEG)  # exactly 3 frames: empty band at T=4
    with pytest.raises(align.InfeasibleAlignmentError, match=r"over T=4 frames"):
        align.forward_backward(np.zeros((4, 3)), g3)
    with pytest.raises(align.InfeasibleAlignmentError, match=r"over T=4 frames"):
        align.viterbi(np.zeros((4, 3)), g3)


def test_batch_equals_single(rng):
    g1 = HMMGraph.from_tokens([0, 1, 2], 3)
    g2 = HMMGraph.from_dense(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]))
    Es = [np.log(rng.random((T, 9))) for T in (12, 30, 9)]
    for method in ("auto", "csr"):
        rs = H.viterbi_batch(Es, g1, method=method)
        for E, r in zip(Es, rs):
            single = align.viterbi(E, g1)
            np.testing.assert_array_equal(r.path, single.path)
            assert r.log_likelihood == single.log_likelihood
    mixed = H.viterbi_batch(Es[:2], [g1, g2])  # g2 is not banded: CSR for all
    np.testing.assert_array_equal(mixed[1].path, align.viterbi(Es[1], g2).path)
    ps = H.forward_backward_batch([Es[0], Es[1][:, :2].astype(np.float32)], [g1, g2])
    np.testing.assert_allclose(ps[0].posteriors, align.forward_backward(Es[0], g1).posteriors)
    np.testing.assert_allclose(ps[1].posteriors,
                               align.forward_backward(Es[1][:, :2].astype(np.float32), g2).posteriors)


def test_batch_mixed_band_widths(rng):
    graphs = [HMMGraph.from_tokens([0, 1], 3, skip=True), HMMGraph.left_to_right(6),
              HMMGraph.from_tokens([1, "|", 0], 2, word_separator="|", optional_silence=2)]
    assert [g.band_width for g in graphs] == [2, 1, 3]
    Es = [(-rng.integers(0, 3, (T, 6))).astype(np.float64) for T in (9, 14, 11)]
    rs = H.viterbi_batch(Es, graphs)
    for E, g, r in zip(Es, graphs, rs):
        ref_path, ref_score, _ = ref_viterbi(E, *graph_arrays(g))
        np.testing.assert_array_equal(r.path, ref_path)
        assert r.log_likelihood == ref_score


def test_batch_errors_ignore_and_raise(rng):
    g = HMMGraph.left_to_right(3, self_loop_logp=NEG)  # exactly 3 frames
    Es = [np.zeros((3, 3)), np.zeros((4, 3))]
    with pytest.raises(align.InfeasibleAlignmentError, match=r"over T=4 frames for utterance 1"):
        H.viterbi_batch(Es, g)
    rs = H.viterbi_batch(Es, g, errors="ignore")
    assert rs[0].path.tolist() == [0, 1, 2]
    assert rs[1].log_likelihood == -np.inf and (rs[1].path == -1).all()
    ps = H.forward_backward_batch(Es, g, errors="ignore")
    assert ps[1].log_likelihood == -np.inf and (ps[1].posteriors == 0).all()
    with pytest.raises(align.InfeasibleAlignmentError, match=r"for utterance 1"):
        H.forward_backward_batch(Es, g)
    rs = H.viterbi_batch([np.zeros((2, 3))], g, errors="ignore")  # shorter than min_frames
    assert rs[0].log_likelihood == -np.inf


# ---------------------------------------------------------------- builders


def test_left_to_right_structure():
    g = HMMGraph.left_to_right(4, self_loop_logp=-1.0, advance_logp=-2.0, skip_logp=-3.0)
    src, dst, lp = g.edges()
    edges = {(int(a), int(b)): float(c) for a, b, c in zip(src, dst, lp)}
    assert edges[(0, 0)] == -1.0 and edges[(0, 1)] == -2.0 and edges[(1, 3)] == -3.0
    assert len(edges) == 4 + 3 + 2
    assert g.log_initial.tolist() == [0.0, NEG, NEG, NEG]
    assert g.log_final.tolist() == [NEG, NEG, NEG, 0.0]
    assert g.band_width == 2 and g.min_frames == 3
    assert HMMGraph.left_to_right(4).min_frames == 4
    assert g.emission_index.tolist() == [0, 1, 2, 3]
    # CSR by destination, predecessors ascending
    assert g.pred_ptr.tolist() == [0, 1, 3, 6, 9]
    assert g.pred_state.tolist() == [0, 0, 1, 0, 1, 2, 1, 2, 3]
    assert "left-to-right, w=2" in repr(g)


def test_path_segments_on_an_alignment():
    g = HMMGraph.from_tokens([4, 4, "|", 2], 2, word_separator="|", optional_silence=0)
    E = np.full((9, 10), -5.0)
    for t, c in enumerate([8, 9, 9, 8, 9, 0, 1, 4, 5]):
        E[t, c] = 0.0
    r = align.viterbi(E, g)
    tok, a, b = H.path_segments(g.token_of_state[r.path])
    assert tok.tolist() == [0, 1, 2, 3] and a.tolist() == [0, 3, 5, 7] and b.tolist() == [3, 5, 7, 9]
    lab, a, b = H.path_segments(g.labels[r.path])
    assert lab.tolist() == [4, 0, 2] and a.tolist() == [0, 5, 7]  # repeated token 4 merges
    v, a, b = H.path_segments(np.zeros(0, np.int64))
    assert v.size == a.size == b.size == 0
    with pytest.raises(align.ParameterError, match=r"labels must be one-dimensional, got shape \(2, 2\)"):
        H.path_segments(np.zeros((2, 2)))


def test_graph_pickles_and_arrays_are_read_only(rng):
    import pickle

    g = HMMGraph.from_tokens([0, 1], 2, skip=True)
    E = np.log(rng.random((7, 4)))
    before = align.viterbi(E, g)
    g2 = pickle.loads(pickle.dumps(g))
    after = align.viterbi(E, g2)
    np.testing.assert_array_equal(after.path, before.path)
    assert after.log_likelihood == before.log_likelihood
    for name in ("emission_index", "log_initial", "log_final", "pred_ptr", "pred_state",
                 "pred_logp", "token_of_state"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(g, name)[0] = 0


def test_band_helpers():
    g = HMMGraph.left_to_right(4, self_loop_logp=-1.0, advance_logp=-2.0)
    trans = g.band_transitions()
    assert trans.tolist() == [[-1.0] * 4, [NEG, -2.0, -2.0, -2.0]]
    lo, hi = g.state_bounds(6)
    # reachable: s <= t; co-reachable: 3 - s <= 5 - t
    assert hi.tolist() == [0, 1, 2, 3, 3, 3] and lo.tolist() == [0, 0, 0, 1, 2, 3]
    assert HMMGraph.from_dense(np.zeros(2), np.zeros((2, 2))).band_transitions() is None
    with pytest.raises(align.ParameterError, match=r"T must be >= 1, got 0"):
        g.state_bounds(0)


def test_from_dense_drops_impossible_edges():
    with np.errstate(divide="ignore"):
        g = HMMGraph.from_dense(np.log([1.0, 0.0]), np.log([[0.5, 0.5], [0.0, 1.0]]))
    assert g.n_edges == 3 and g.band_width == 1
    assert g.log_final.tolist() == [0.0, 0.0]


def test_from_tokens_columns_and_bookkeeping():
    g = HMMGraph.from_tokens([3, "|", 5], 3, word_separator="|", optional_silence=0)
    assert g.emission_index.tolist() == [9, 10, 11, 0, 1, 2, 15, 16, 17]
    assert g.token_of_state.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert g.labels.tolist() == [3, 3, 3, 0, 0, 0, 5, 5, 5]
    src, dst, _ = g.edges()
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert {(2, 3), (5, 6), (2, 6)} <= pairs  # into silence, out of it, and past it
    assert g.min_frames == 6 and g.band_width == 4
    # without silence the separator makes no states
    g2 = HMMGraph.from_tokens([3, "|", 5], 2, word_separator="|")
    assert g2.n_states == 4 and g2.token_of_state.tolist() == [0, 0, 2, 2]
    # columns: base offsets or explicit lists
    g3 = HMMGraph.from_tokens(["a", "b"], 2, columns={"a": 10, "b": [1, 7]})
    assert g3.emission_index.tolist() == [10, 11, 1, 7]
    assert g3.labels.tolist() == ["a", "a", "b", "b"]
    # skip edges inside a token only
    g4 = HMMGraph.from_tokens([0, 1], 3, skip=True)
    src, dst, _ = g4.edges()
    skips = {(a, b) for a, b in zip(src.tolist(), dst.tolist()) if b - a == 2}
    assert skips == {(0, 2), (3, 5)}
    assert g4.min_frames == 4


def test_optional_silence_is_used_only_when_it_helps():
    g = HMMGraph.from_tokens([0, "|", 1], 1, word_separator="|", optional_silence=2)
    # frames: word 0, silence, word 1  vs  word 0, word 0, word 1
    E = np.log(np.array([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9], [0.05, 0.9, 0.05]]))
    assert align.viterbi(E, g).path.tolist() == [0, 1, 2]
    E2 = np.log(np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05]]))
    assert align.viterbi(E2, g).path.tolist() == [0, 0, 2]
    assert align.viterbi(E2[[0, 2]], g).path.tolist() == [0, 2]


def test_concatenate_semantics():
    a = HMMGraph.left_to_right(2, final_logp=-1.0, labels=["a1", "a2"])
    b = HMMGraph.left_to_right(1)
    c = HMMGraph([0, 1], [0, 1], [0, 1], [0.0, 0.0], [-2.0, -3.0], [0.0, 0.0])
    g = HMMGraph.concatenate([a, b, c], optional=[False, True, False])
    assert g.n_states == 5 and g.token_of_state.tolist() == [0, 0, 1, 2, 2]
    src, dst, lp = g.edges()
    edges = {(int(x), int(y)): float(z) for x, y, z in zip(src, dst, lp)}
    assert edges[(1, 2)] == -1.0  # a's exit + b's entry
    assert edges[(1, 3)] == -3.0 and edges[(1, 4)] == -4.0  # past optional b into c
    assert edges[(2, 3)] == -2.0 and edges[(2, 4)] == -3.0
    assert g.log_initial.tolist() == [0.0, NEG, NEG, NEG, NEG]
    assert g.log_final.tolist() == [NEG, NEG, NEG, 0.0, 0.0]
    assert g.labels.tolist() == ["a1", "a2", None, None, None]
    # an optional first piece: both it and the next one may start
    g2 = HMMGraph.concatenate([b, a], optional=[True, False])
    assert g2.log_initial.tolist() == [0.0, 0.0, NEG]


# ---------------------------------------------------------------- properties


@st.composite
def problems(draw):
    S = draw(st.integers(1, 5))
    T = draw(st.integers(1, 8))
    K = draw(st.integers(1, 3))
    col = draw(st.lists(st.integers(0, K - 1), min_size=S, max_size=S))
    pairs = draw(st.sets(st.tuples(st.integers(0, S - 1), st.integers(0, S - 1)), max_size=S * S))
    logp_val = st.floats(-5, 0, allow_nan=False)
    pairs = sorted(pairs)
    logp = [draw(logp_val) for _ in pairs]
    init = [draw(st.one_of(st.just(-np.inf), logp_val)) for _ in range(S)]
    final = [draw(st.one_of(st.just(-np.inf), logp_val)) for _ in range(S)]
    init[draw(st.integers(0, S - 1))] = 0.0
    final[draw(st.integers(0, S - 1))] = 0.0
    E = np.array(draw(st.lists(st.lists(st.floats(-10, 0, allow_nan=False), min_size=K,
                                         max_size=K), min_size=T, max_size=T)))
    src = [p[0] for p in pairs]
    dst = [p[1] for p in pairs]
    return E, HMMGraph(col, np.array(src, np.int64), np.array(dst, np.int64), logp, init, final)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_properties(problem):
    E, g = problem
    try:
        v = align.viterbi(E, g)
    except align.InfeasibleAlignmentError:
        with pytest.raises(align.InfeasibleAlignmentError):
            align.forward_backward(E, g)
        assert ref_viterbi(E, *graph_arrays(g))[0] is None
        return
    arrays = graph_arrays(g)
    # the Viterbi score is the score along its own path
    assert path_score(E, *arrays, v.path) == pytest.approx(v.log_likelihood, rel=1e-12, abs=1e-12)
    ref_path, ref_score, _ = ref_viterbi(E, *arrays)
    np.testing.assert_array_equal(v.path, ref_path)
    p = align.forward_backward(E, g)
    np.testing.assert_allclose(p.posteriors.sum(1), 1.0, atol=1e-9)
    assert p.log_likelihood >= v.log_likelihood - 1e-12
    # the Viterbi path only visits states with positive posterior
    assert (p.posteriors[np.arange(len(v.path)), v.path] > 0).all()


@st.composite
def banded_problems(draw):
    S = draw(st.integers(1, 8))
    w = draw(st.integers(0, 3))
    T = draw(st.integers(1, 25))
    K = draw(st.integers(1, 4))
    small = st.integers(-2, 0).map(float)  # small integers: ties everywhere
    src, dst, logp = [], [], []
    for s in range(S):
        for j in range(min(w, s) + 1):
            if draw(st.booleans()) or j == 1:
                src.append(s - j)
                dst.append(s)
                logp.append(draw(small))
    init = [0.0] + [draw(st.one_of(st.just(-np.inf), small)) for _ in range(S - 1)]
    final = [draw(st.one_of(st.just(-np.inf), small)) for _ in range(S - 1)] + [0.0]
    col = draw(st.lists(st.integers(0, K - 1), min_size=S, max_size=S))
    E = np.array(draw(st.lists(st.lists(small, min_size=K, max_size=K), min_size=T,
                               max_size=T)))
    k = draw(st.integers(1, 30))
    return E, HMMGraph(col, src, dst, logp, init, final), k


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banded_problems())
def test_banded_kernels_agree_with_csr_and_reference(problem):
    E, g, k = problem
    runs = []
    for kwargs in (dict(method="csr"), dict(method="band", memory="full"),
                   dict(method="band", memory="checkpoint", checkpoint_every=k)):
        try:
            runs.append(align.viterbi(E, g, **kwargs))
        except align.InfeasibleAlignmentError:
            runs.append(None)
    ref_path, ref_score, _ = ref_viterbi(E, *graph_arrays(g))
    for r in runs:
        if ref_path is None:
            assert r is None
        else:
            np.testing.assert_array_equal(r.path, ref_path)
            assert r.log_likelihood == ref_score
    if ref_path is not None:
        fb_band = align.forward_backward(E, g, method="band")
        fb_csr = align.forward_backward(E, g, method="csr")
        np.testing.assert_allclose(fb_band.posteriors, fb_csr.posteriors, atol=1e-12)


# ---------------------------------------------------------------- errors (one per message)

G = HMMGraph.left_to_right(3)


@pytest.mark.parametrize(
    "E, exc, match",
    [
        (np.zeros(3), align.ParameterError, r"log_emissions must have 2 dimension\(s\), got shape \(3,\)"),
        (np.zeros((0, 3)), align.ParameterError, r"log_emissions has no frames \(shape \(0, 3\)\); need T >= 1"),
        (np.array([[0, 0, 0], [0, np.nan, 0]]), align.ParameterError,
         r"log_emissions must not contain NaN, found NaN at frame 1, column 1"),
        (np.array([[0, 0, np.inf]] * 3), align.ParameterError,
         r"must not contain \+inf, found \+inf at frame 0, column 2"),
        (np.zeros((5, 2)), align.ParameterError,
         r"log_emissions has K=2 columns but the graph reads emission columns up to 2; need K >= 3"),
        (np.zeros((2, 3)), align.InfeasibleAlignmentError,
         r"T=2 frames is too short: the graph needs at least 3 frames"),
        (np.array([["a"]]), align.ParameterError, r"log_emissions must hold real numbers"),
    ],
)
def test_emission_errors(E, exc, match):
    with pytest.raises(exc, match=match):
        align.viterbi(E, G)
    with pytest.raises(exc, match=match):
        align.forward_backward(E, G)


def test_no_finite_path_error():
    g = HMMGraph.left_to_right(2, self_loop_logp=NEG)
    with pytest.raises(align.InfeasibleAlignmentError,
                       match=r"no path through the graph has a finite score over T=3 frames"):
        align.viterbi(np.zeros((3, 2)), g)
    with pytest.raises(align.InfeasibleAlignmentError, match=r"over T=3 frames"):
        align.viterbi(np.zeros((3, 2)), g, method="csr")
    E = np.array([[0.0, 0.0], [NEG, NEG]])
    with pytest.raises(align.InfeasibleAlignmentError, match=r"over T=2 frames"):
        align.viterbi(E, g, memory="checkpoint")
    with pytest.raises(align.InfeasibleAlignmentError, match=r"over T=2 frames"):
        align.forward_backward(E, g)


def test_unreachable_final_error():
    g = HMMGraph([0, 0], [0], [0], [0.0], [0.0, NEG], [NEG, 0.0])
    assert g.min_frames == 0
    with pytest.raises(align.InfeasibleAlignmentError,
                       match=r"no final state of the graph can be reached from an initial state"):
        align.viterbi(np.zeros((4, 1)), g)


def test_option_errors():
    E = np.zeros((4, 3))
    with pytest.raises(align.ParameterError, match=r"graph must be an HMMGraph, got list"):
        align.viterbi(E, [1, 2])
    with pytest.raises(align.ParameterError, match=r"method='fast' is not supported"):
        align.viterbi(E, G, method="fast")
    with pytest.raises(align.ParameterError, match=r"memory='tiny' is not supported"):
        align.viterbi(E, G, memory="tiny")
    with pytest.raises(align.ParameterError, match=r"checkpoint_every must be >= 1, got 0"):
        align.viterbi(E, G, memory="checkpoint", checkpoint_every=0)
    dense = HMMGraph.from_dense(np.log([0.5, 0.5]), np.log([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(align.ParameterError,
                       match=r"method='band' needs a left-to-right graph .* edges going backwards"):
        align.viterbi(np.zeros((3, 2)), dense, method="band")
    wide = HMMGraph([0, 0], [0, 1], [1, 1], [0.0, 0.0], [0.0, NEG], [NEG, 0.0])
    wide40 = HMMGraph.concatenate([wide] + [HMMGraph.left_to_right(1)] * 39,
                                  optional=[False] + [True] * 39)
    with pytest.raises(align.ParameterError, match=r"w=39; use method='csr'"):
        align.viterbi(np.zeros((3, 1)), wide40, method="band")
    assert align.viterbi(np.zeros((3, 1)), wide40).path.tolist() == [0, 1, 1]  # ties: lowest
    with pytest.raises(align.ParameterError, match=r"memory='checkpoint' needs method='band'"):
        align.viterbi(np.zeros((3, 2)), dense, memory="checkpoint")
    with pytest.raises(align.ParameterError, match=r"errors='skip' is not supported"):
        H.viterbi_batch([E], G, errors="skip")
    with pytest.raises(align.ParameterError,
                       match=r"graphs must be one HMMGraph or one per utterance \(2\), got 1"):
        H.viterbi_batch([E, E], [G])
    with pytest.raises(align.ParameterError, match=r"log_emissions_list is empty"):
        H.viterbi_batch([], G)
    with pytest.raises(align.ParameterError, match=r"graphs\[0\] must be an HMMGraph, got str"):
        H.forward_backward_batch([E], ["g"])
    with pytest.raises(align.ParameterError, match=r"log_emissions_list\[1\] has no frames"):
        H.viterbi_batch([E, np.zeros((0, 3))], G)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(emission_index=[]), r"the graph needs at least one state, got emission_index of length 0"),
        (dict(emission_index=[0, -1]), r"emission_index must be >= 0, found -1 at state 1"),
        (dict(edges_logp=[0.0]), r"edges_src, edges_dst and edges_logp must have the same length, got 2, 2 and 1"),
        (dict(edges_src=[0, 2]), r"edges_src must hold state indices in \[0, 2\), found 2 at edge 1"),
        (dict(edges_dst=[-1, 1]), r"edges_dst must hold state indices in \[0, 2\), found -1 at edge 0"),
        (dict(edges_logp=[0.0, np.nan]), r"edges_logp must not contain NaN, found NaN at edge 1"),
        (dict(edges_logp=[0.5, 0.0]), r"edges_logp must hold log probabilities <= 0 \(or -inf\), found 0.5 at edge 0"),
        (dict(edges_src=[0, 0], edges_dst=[1, 1]), r"duplicate edge 0 -> 1 \(edges 0 and 1\)"),
        (dict(log_initial=[0.0]), r"log_initial must have shape \(S,\)=\(2,\), got \(1,\)"),
        (dict(log_final=[NEG, NEG]), r"log_final allows no state \(all -inf\); at least one final state is needed"),
        (dict(log_initial=[np.inf, 0.0]), r"log_initial must hold log probabilities <= 0 \(or -inf\), found inf at state 0"),
        (dict(labels=["a"]), r"labels must have one entry per state \(2\), got 1"),
        (dict(token_of_state=[0]), r"token_of_state must have shape \(S,\)=\(2,\), got \(1,\)"),
        (dict(edges_src=[0.5, 1]), r"edges_src must hold integers"),
    ],
)
def test_graph_errors(kwargs, match):
    args = dict(emission_index=[0, 1], edges_src=[0, 0], edges_dst=[0, 1], edges_logp=[0.0, 0.0],
                log_initial=[0.0, NEG], log_final=[NEG, 0.0])
    args.update(kwargs)
    with pytest.raises(align.ParameterError, match=match):
        HMMGraph(**args)


def test_builder_errors():
    with pytest.raises(align.ParameterError, match=r"log_trans.shape=\(2, 3\), must be \(n_states, n_states\)=\(2, 2\)"):
        HMMGraph.from_dense(np.zeros(2), np.zeros((2, 3)))
    with pytest.raises(align.ParameterError, match=r"log_trans must not contain NaN"):
        HMMGraph.from_dense(np.zeros(2), np.full((2, 2), np.nan))
    with pytest.raises(align.ParameterError, match=r"n_states must be >= 1, got 0"):
        HMMGraph.left_to_right(0)
    with pytest.raises(align.ParameterError, match=r"concatenate needs at least one piece"):
        HMMGraph.concatenate([])
    with pytest.raises(align.ParameterError, match=r"pieces\[1\] must be an HMMGraph, got int"):
        HMMGraph.concatenate([G, 3])
    with pytest.raises(align.ParameterError, match=r"optional must have one flag per piece \(1\), got 2"):
        HMMGraph.concatenate([G], optional=[True, False])
    with pytest.raises(align.ParameterError, match=r"token 'a' is not a non-negative int; pass columns="):
        HMMGraph.from_tokens(["a"])
    with pytest.raises(align.ParameterError, match=r"token 'b' has no entry in columns"):
        HMMGraph.from_tokens(["b"], columns={"a": 0})
    with pytest.raises(align.ParameterError, match=r"columns\['a'\] must list n_states_per_token=3 columns, got 2"):
        HMMGraph.from_tokens(["a"], columns={"a": [0, 1]})
    with pytest.raises(align.ParameterError, match=r"tokens must contain at least one token besides separators"):
        HMMGraph.from_tokens(["|"], word_separator="|", optional_silence=0)


def test_forward_backward_takes_backend_and_refuses_cuda_it_lacks():
    g = HMMGraph.left_to_right(3, self_loop_logp=-0.5, advance_logp=-1.0)
    E = np.log(np.full((6, 3), 1 / 3))
    cpu = align.forward_backward(E, g, backend="cpu")
    np.testing.assert_array_equal(cpu.posteriors, align.forward_backward(E, g).posteriors)
    assert align.forward_backward_batch([E, E], g, backend="cpu")[1].log_likelihood == cpu.log_likelihood
    with pytest.raises(align.BackendUnavailableError, match="forward_backward has no CUDA kernel yet"):
        align.forward_backward(E, g, backend="cuda")
    with pytest.raises(align.BackendUnavailableError, match="forward_backward_batch has no CUDA kernel"):
        align.forward_backward_batch([E], g, backend="cuda")
    with pytest.raises(align.ParameterError, match="backend='gpu' is not supported"):
        align.forward_backward(E, g, backend="gpu")


@pytest.mark.parametrize("memory", ["full", "checkpoint"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("where", ["band", "corner", "extra column", "late frame"])
def test_banded_viterbi_refuses_nan_and_inf_wherever_they_are(memory, bad, where):
    # The banded kernels check the cells they read as they go; the corners outside the
    # band and columns no state reads are checked apart: a bad cell anywhere is an error.
    S, T = 6, 40
    graph = align.HMMGraph.left_to_right(S)
    E = np.log(np.random.default_rng(0).dirichlet(np.ones(S + 1), size=T))
    if where != "extra column":
        E = E[:, :S]
    t, k = {"band": (17, 3), "corner": (0, S - 1), "extra column": (9, S), "late frame": (T - 1, 0)}[where]
    E[t, k] = bad
    word = "NaN" if np.isnan(bad) else r"\+inf"
    with pytest.raises(align.ParameterError, match=f"must not contain {word}, found {word} at frame {t}, column {k}"):
        align.viterbi(E, graph, memory=memory, checkpoint_every=7)
    E[t, k] = -np.inf  # -inf is allowed: the same call aligns
    assert align.viterbi(E, graph, memory=memory, checkpoint_every=7).path[-1] == S - 1
