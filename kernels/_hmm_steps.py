"""Per-cell rules of HMM Viterbi, shared by the CPU and CUDA kernels.

Plain Python, so that one source compiles twice: ``njit(inline="always")``
for the CPU (the ``*_cpu`` names below, used by :mod:`align.kernels.hmm`) and
``numba.cuda.jit(device=True)`` for the GPU (:mod:`align.kernels.hmm_cuda`).
The tie-break rule of :mod:`align.kernels.hmm` therefore lives in one place:
on equal scores the lowest predecessor index wins, and at the last frame the
lowest final state index wins.

The banded CPU frame step (``align.kernels.hmm._band_step``) applies the same
rule as branch-free selects (``v_lower if not v_higher > v_lower``), written
out for one, two and any number of predecessors so that its loops vectorise;
its tests compare it with the CSR kernel, which calls :func:`viterbi_pick`.
"""

from numba import njit

__all__ = ["viterbi_pick", "end_pick", "viterbi_pick_cpu", "end_pick_cpu"]


def viterbi_pick(best, arg, v, cand):
    """Offer predecessor ``cand`` with score ``v``; return the new ``(best, arg)``.

    Parameters
    ----------
    best : float
        The best score kept so far (ignored while ``arg < 0``).
    arg : int
        What was kept so far, ``-1`` for nothing yet.
    v : float
        The candidate's score, ``-inf`` included: the first candidate is
        kept even at ``-inf``, so every cell has a back-pointer.
    cand : int
        What to keep if the candidate wins (a state or an offset).

    Notes
    -----
    Candidates must be offered in ascending predecessor index; a later one
    replaces the kept one only when strictly greater, so the lowest index
    wins ties.
    """
    if arg < 0 or v > best:
        return v, cand
    return best, arg


def end_pick(best, arg, v, cand):
    """Offer end state ``cand`` with score ``v + final``; strictly greater wins.

    Start from ``(-inf, -1)`` and offer states in ascending order: the lowest
    state wins ties, and ``arg`` stays ``-1`` when every score is ``-inf``
    (no complete path).
    """
    if v > best:
        return v, cand
    return best, arg


viterbi_pick_cpu = njit(inline="always", cache=True)(viterbi_pick)
end_pick_cpu = njit(inline="always", cache=True)(end_pick)
