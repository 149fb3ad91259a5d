"""Per-cell math of CTC forced alignment, shared by the CPU and CUDA kernels.

Plain Python, so that one source compiles twice: ``njit(inline="always")``
for the CPU (the ``*_cpu`` names below) and ``numba.cuda.jit(device=True)``
for the GPU (:mod:`align.kernels.ctc_cuda`). The tie-break rule therefore
lives in one place.

Recurrence and notation: see :mod:`align.kernels.ctc` (Graves et al. 2006,
DOI 10.1145/1143844.1143891, section 4.1, max-product form). For state ``s``
of the extended sequence at frame ``t``::

    alpha[t, s] = max(stay, advance, skip) + y[t, z_s]
    stay = alpha[t-1, s], advance = alpha[t-1, s-1], skip = alpha[t-1, s-2] + pen

with ``pen = 0`` where the skip is allowed (``s`` a label different from the
previous label) and ``-inf`` otherwise; blanks pass ``skip = -inf``.

Tie-break rules (``tie_rule``, the codes of :mod:`align.kernels.ctc`):

- ``TIE_OPTIMAL`` (0): the predecessor is always a maximum; among equal
  maxima prefer stay, then advance, then skip (the advance only if strictly
  greater than the stay, the skip only if strictly greater than both).
- ``TIE_TORCHAUDIO`` (1): torchaudio 2.x's comparisons: skip if it beats both
  others strictly, else advance if it beats both others strictly, else stay
  (on ``advance == skip > stay`` this keeps the smaller stay).

Either way the path ends on the final blank only if its score is strictly
greater than the last label's.

:mod:`align.kernels.ctc` (CPU) and :mod:`align.kernels.ctc_cuda` (GPU) both
call :func:`ctc_cell`, so the rule exists once; both walk the live band of
states frame by frame with :func:`band_advance`.
"""

from numba import njit

__all__ = ["TIE_OPTIMAL", "TIE_TORCHAUDIO", "CODE_STAY", "CODE_ADVANCE", "CODE_SKIP",
           "ctc_cell", "ctc_end_on_blank", "band_advance", "ctc_cell_cpu",
           "ctc_end_on_blank_cpu", "band_advance_cpu"]

#: tie rules, the values of :mod:`align.kernels.ctc` (a test checks they agree)
TIE_OPTIMAL = 0
TIE_TORCHAUDIO = 1

#: backpointer codes: how far back the predecessor state is (``s - code``)
CODE_STAY = 0
CODE_ADVANCE = 1
CODE_SKIP = 2


def ctc_cell(stay, advance, skip, tie_rule):
    """The chosen predecessor of one cell under ``tie_rule``.

    Parameters
    ----------
    stay, advance, skip : float
        ``alpha[t-1, s]``, ``alpha[t-1, s-1]`` and ``alpha[t-1, s-2] + pen``
        (``-inf`` where the move does not exist), all of one dtype.
    tie_rule : int
        ``TIE_OPTIMAL`` or ``TIE_TORCHAUDIO``.

    Returns
    -------
    (float, int)
        The chosen value (before the emission is added; same dtype as the
        inputs; the maximum under ``TIE_OPTIMAL``) and its backpointer code:
        0 stay, 1 advance, 2 skip.
    """
    # Branch-free (bitwise & |), so that the CPU loops calling it vectorize.
    optimal = tie_rule == 0
    c1 = (advance > stay) & (optimal | (advance > skip))
    v = advance if c1 else stay
    c2 = (skip > v) & (optimal | (skip > advance))
    return (skip if c2 else v), (2 if c2 else (1 if c1 else 0))


def ctc_end_on_blank(last_blank, last_label):
    """True if the path ends on the final blank: only when strictly better than the last label."""
    return last_blank > last_label


def band_advance(tgt, L, t, hi, e_next, lo, lt_lo):
    """Advance the live band ``[lo, hi]`` to frame ``t`` (one step of the band walk).

    ``e_next`` is the first frame at which state ``hi + 1`` is reachable,
    ``lt_lo`` the last frame from which state ``lo`` still reaches an end
    state; start with ``hi = -1, e_next = 0, lo = 0, lt_lo = T - 1 - (L + R)``.
    Returns the new ``(hi, e_next, lo, lt_lo)``.
    """
    S = 2 * L + 1
    while hi + 1 < S and e_next <= t:
        hi += 1
        s1 = hi + 1
        if s1 < S:
            if s1 % 2 == 0:
                e_next += 1
            else:
                k = s1 // 2
                if k > 0 and tgt[k] == tgt[k - 1]:
                    e_next += 1
    while lt_lo < t:
        if lo % 2 == 0:
            lt_lo += 1
        else:
            k = lo // 2
            if k < L - 1 and tgt[k + 1] == tgt[k]:
                lt_lo += 1
        lo += 1
    return hi, e_next, lo, lt_lo


ctc_cell_cpu = njit(inline="always")(ctc_cell)
ctc_end_on_blank_cpu = njit(inline="always")(ctc_end_on_blank)
band_advance_cpu = njit(inline="always")(band_advance)
