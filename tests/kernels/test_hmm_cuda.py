"""CUDA HMM Viterbi (run under numba's CUDA simulator here) against the CPU kernels.

Paths and scores must be identical, ties included (integer-valued emissions
and transitions), on banded and general CSR graphs, several graphs per
batch, ragged lengths and block sizes that divide neither S nor T.

On a GPU machine the same tests run on the device with
``NUMBA_ENABLE_CUDASIM=0 python -m pytest tests/kernels/test_ctc_cuda.py
tests/kernels/test_hmm_cuda.py`` (all passed on an H200, 18 s).
"""

import numpy as np
import pytest

from align.hmm import decode_cuda as fac
from align.hmm import HMMGraph
from align.kernels import hmm as kh
from align.kernels import hmm_cuda

# no device: a skip, or a failure where a GPU is required (tests/conftest.py: cuda_action)
pytestmark = pytest.mark.cuda


def cpu_band(E, g):
    T = E.shape[0]
    path = np.empty(T, np.int64)
    lo, hi = g._band(T)
    if (lo > hi).any():  # the API raises here; the GPU reports "no path"
        return np.full(T, -1), -np.inf
    bp = np.empty((T, g.n_states), np.uint8)
    score = kh.viterbi_band(E, g.emission_index, g._band_trans, g.log_initial, g.log_final,
                            lo, hi, bp, path)
    return path, score


def cpu_csr(E, g):
    T = E.shape[0]
    path = np.empty(T, np.int64)
    bp = np.empty((T, g.n_states), np.int32)
    score = kh.viterbi_csr(E, g.emission_index, g.pred_ptr, g.pred_state, g.pred_logp,
                           g.log_initial, g.log_final, bp, path)
    return path, score


def check(Es, graphs, method, threads, **kw):
    paths, loglik = fac.viterbi_batch_cuda(Es, graphs, method=method, threads_per_block=threads,
                                           **kw)
    paths, loglik = paths.copy_to_host(), loglik.copy_to_host()
    glist = graphs if isinstance(graphs, list) else [graphs] * len(Es)
    ref = cpu_band if method == "band" else cpu_csr
    for u, (E, g) in enumerate(zip(Es, glist)):
        T = E.shape[0]
        want_path, want = ref(np.asarray(E, np.float64), g)
        assert paths[u, :T].tolist() == want_path.tolist(), u
        assert (paths[u, T:] == -1).all()
        assert loglik[u].tobytes() == np.float64(want).tobytes(), (u, loglik[u], want)
    return paths, loglik


def chains():
    g1 = HMMGraph.left_to_right(5, self_loop_logp=-1.0, advance_logp=-1.0, skip_logp=-1.0,
                                emission_index=[0, 1, 2, 1, 0])
    g2 = HMMGraph.left_to_right(4, self_loop_logp=-1.0, advance_logp=0.0)
    g3 = HMMGraph.left_to_right(3, self_loop_logp=-np.inf, advance_logp=0.0)  # no self-loops
    return g1, g2, g3


@pytest.mark.parametrize("method", ["band", "csr"])
def test_chains_with_ties_match_cpu(rng, method):
    g1, g2, g3 = chains()
    Es = [rng.integers(-2, 1, size=(T, 4)).astype(np.float32) for T in (7, 3, 9, 2)]
    check(Es, [g1, g2, g1, g3], method, 2)


def test_general_graph_with_ties(rng):
    S = 5
    lt = rng.integers(-2, 1, size=(S, S)).astype(float)
    lt[rng.random((S, S)) < 0.3] = -np.inf
    g = HMMGraph.from_dense(np.array([0.0, 0.0, -1.0, -np.inf, 0.0]), lt,
                            np.array([0.0, -1.0, 0.0, 0.0, -np.inf]))
    assert g.band_width is None
    Es = [rng.integers(-2, 1, size=(T, S)).astype(np.float64) for T in (6, 1, 4)]
    check(Es, g, "auto", 3)


def test_padded_input_with_lengths_and_global_scratch(rng, monkeypatch):
    monkeypatch.setattr(hmm_cuda, "SHARED_DELTA_BYTES", 0)
    g1, _, _ = chains()
    E = rng.integers(-2, 1, size=(3, 6, 3)).astype(np.float64)
    lengths = np.array([6, 4, 5])
    paths, _ = fac.viterbi_batch_cuda(E, g1, lengths=lengths, threads_per_block=3)
    check([E[u, :lengths[u]] for u in range(3)], g1, "band", 3)
    assert paths.copy_to_host()[1, 4:].tolist() == [-1, -1]


def test_no_path_gives_minus_inf_and_minus_one():
    g = HMMGraph.left_to_right(4, self_loop_logp=-np.inf, advance_logp=0.0)  # needs T == 4
    Es = [np.zeros((3, 4)), np.zeros((4, 4)), np.zeros((5, 4))]
    for method in ("band", "csr"):
        paths, loglik = check(Es, g, method, 2)
        assert loglik.tolist() == [-np.inf, 0.0, -np.inf]
        assert paths[0].tolist() == [-1] * 5
        assert paths[1, :4].tolist() == [0, 1, 2, 3]


def test_mixed_float32_float64_list(rng):
    g1, g2, _ = chains()
    Es = [rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(6, 4))]
    check(Es, [g1, g2], "band", 4)
