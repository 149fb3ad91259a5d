"""viterbi's backend choice: CUDA (here under numba's simulator) equals CPU exactly."""

import numpy as np
import pytest

import align
import align._backend
from align import BackendUnavailableError, HMMGraph, ParameterError
from align.hmm import viterbi_batch
from align.kernels import _config


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 4)


def _graphs(rng):
    banded = HMMGraph.left_to_right(5)
    dense = HMMGraph.from_dense(np.log(rng.dirichlet(np.ones(3))), np.log(rng.dirichlet(np.ones(3), 3)))
    return banded, dense


@pytest.mark.parametrize("which", [0, 1], ids=["banded", "dense"])
def test_cuda_equals_cpu_with_ties(rng, small_blocks, which):
    graph = _graphs(rng)[which]
    # integer-valued emissions create ties; lengths differ per utterance
    items = [-rng.integers(0, 3, size=(T, graph.n_columns)).astype(np.float64) for T in (9, 6, 11)]
    cpu = viterbi_batch(items, graph, backend="cpu")
    gpu = viterbi_batch(items, graph, backend="cuda")
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a.path, b.path)
        assert a.log_likelihood == b.log_likelihood


def test_single_viterbi_cuda(rng, small_blocks):
    graph = HMMGraph.left_to_right(4)
    E = rng.normal(size=(10, 4))
    assert np.array_equal(align.viterbi(E, graph, backend="cuda").path, align.viterbi(E, graph).path)


def test_cuda_unavailable(monkeypatch):
    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match="backend='cuda' was requested"):
        align.viterbi(np.zeros((4, 2)), HMMGraph.left_to_right(2), backend="cuda")


def test_unknown_backend():
    with pytest.raises(ParameterError, match="backend='gpu' is not supported"):
        viterbi_batch([np.zeros((4, 2))], HMMGraph.left_to_right(2), backend="gpu")
