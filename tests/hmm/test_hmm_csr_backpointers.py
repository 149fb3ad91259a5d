"""The CSR Viterbi stores each back-pointer as the predecessor's place in its row:
1 byte while no state has more than 255 predecessors, 4 bytes beyond."""

import numpy as np
import pytest

import align
from align import HMMGraph
from tests.reference.hmm import graph_arrays, ref_viterbi


@pytest.mark.parametrize("S", [40, 300], ids=["uint8-table", "int32-table"])
def test_csr_viterbi_matches_reference(rng, S):
    log_start = np.log(rng.dirichlet(np.ones(S)))
    log_trans = np.log(rng.dirichlet(np.ones(S), S))
    graph = HMMGraph.from_dense(log_start, log_trans)
    assert int(np.diff(graph.pred_ptr).max()) == S
    E = rng.normal(size=(12, S))
    got = align.viterbi(E, graph, method="csr")
    want = ref_viterbi(E, *graph_arrays(graph))
    np.testing.assert_array_equal(got.path, want[0])
    assert got.log_likelihood == pytest.approx(want[1], rel=1e-12)
