"""The HMM tie rules written once (kernels/_hmm_steps.py), checked exhaustively on small cases.

Both compilations are checked where this machine can run them: the plain
Python source (what numba-cuda compiles for the device) and the CPU build.
"""

import itertools

import numpy as np
import pytest
from numba import njit

from align.kernels import _hmm_steps as steps


@njit(cache=False)
def _fold_cpu(cands, end):
    best, arg = -np.inf, -1
    for i in range(cands.shape[0]):
        if end:
            best, arg = steps.end_pick_cpu(best, arg, cands[i], i)
        else:
            best, arg = steps.viterbi_pick_cpu(best, arg, cands[i], i)
    return best, arg


def _fold_py(cands, end):
    pick = steps.end_pick if end else steps.viterbi_pick
    best, arg = -np.inf, -1
    for i, v in enumerate(cands):
        best, arg = pick(best, arg, v, i)
    return best, arg


VALUES = (-np.inf, -1.0, 0.0)


@pytest.mark.parametrize("fold", [_fold_py, _fold_cpu], ids=["python", "cpu"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_predecessor_pick_is_the_first_maximum(fold, n):
    for cands in itertools.product(VALUES, repeat=n):
        best, arg = fold(np.array(cands), False)
        # the first (lowest-index) maximum; index 0 when all are -inf
        want = int(np.argmax(cands))
        assert (best, arg) == (cands[want], want), cands


@pytest.mark.parametrize("fold", [_fold_py, _fold_cpu], ids=["python", "cpu"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_end_pick_is_the_first_finite_maximum_or_none(fold, n):
    for cands in itertools.product(VALUES, repeat=n):
        best, arg = fold(np.array(cands), True)
        if all(c == -np.inf for c in cands):
            assert (best, arg) == (-np.inf, -1), cands
        else:
            want = int(np.argmax(cands))
            assert (best, arg) == (cands[want], want), cands
