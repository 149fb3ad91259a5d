"""CTC forced alignment (Viterbi over the CTC topology), CPU kernels.

Compute only: no validation, no I/O, no torch. The validating entry point is
:func:`align.forced_align` (``align/ctc.py``).

Notation
--------
``T`` frames, ``L`` target labels ``l_0 .. l_{L-1}``, ``S = 2L + 1`` states of
the extended sequence ``z = (blank, l_0, blank, l_1, ..., l_{L-1}, blank)``:
even states ``s = 2k`` are blanks, odd states ``s = 2k + 1`` carry ``l_k``.
``y[t, c]`` is the log-probability of class ``c`` at frame ``t``.

Recurrence (max-product version of Graves et al. 2006, section 4.1)::

    alpha[0, s] = y[0, z_s]                        for s in {0, 1}
    alpha[t, s] = max(alpha[t-1, s],               # stay       (backpointer 0)
                      alpha[t-1, s-1],             # advance    (backpointer 1)
                      alpha[t-1, s-2] if skip(s))  # skip blank (backpointer 2)
                  + y[t, z_s]
    skip(s) = s odd and s >= 3 and l_{(s-1)/2} != l_{(s-3)/2}

Boundary conditions: paths start in state 0 or 1 and end in state ``S-1``
(final blank) or ``S-2`` (last label). A path exists iff ``T >= L + R`` with
``R`` the number of adjacent equal labels (each repeat forces a blank).

Tie-break rules (``tie_rule``), backpointers 0 = stay, 1 = advance, 2 = skip:

- ``TIE_OPTIMAL`` (0): the predecessor is always a maximum; among equal
  maxima prefer stay, then advance, then skip (advance only if strictly
  greater than stay, skip only if strictly greater than both).
- ``TIE_TORCHAUDIO`` (1): torchaudio's comparisons as they run in torchaudio
  2.11 (CPU and CUDA): skip if ``x2 > x1 and x2 > x0``, else advance if
  ``x1 > x0 and x1 > x2``, else stay. The two rules differ only when
  ``x1 == x2 > x0``: torchaudio then keeps the *stay*, a strictly smaller
  value, so its path can be worse than the best one (seen on torchaudio 2.11
  with tied emissions: log-score -5 where the best is -1).

Both end on the final blank only if its score is strictly greater than the
last label's; on a tie the path ends on the last label. Scores are
accumulated in the dtype of ``log_probs`` (float32 or float64) with the same
single addition per cell as torchaudio's CPU code, so with ``TIE_TORCHAUDIO``
float32 and float64 results are bit-identical to it.

Band: state ``s`` is live at frame ``t`` iff it is reachable from a start
state in ``t`` frames (``s <= hi_t``) and can still reach an end state in the
remaining ``T - 1 - t`` frames (``s >= lo_t``). Only ``[lo_t, hi_t]`` is
computed and stored (torchaudio's ``start``/``end``): one int8 backpointer per
live cell. ``lo_t`` and ``hi_t`` are nondecreasing in ``t``.

Memory layout inside a frame: the live blanks first, then the live labels
(``[blanks k = kb0..kb1 | labels k = kl0..kl1]``), so that both inner loops
read and write unit-stride arrays and vectorize.

Reference: A. Graves, S. Fernandez, F. Gomez, J. Schmidhuber, "Connectionist
Temporal Classification", ICML 2006, DOI 10.1145/1143844.1143891, section 4.1
(the extended label sequence and its transitions); Viterbi: G. D. Forney,
"The Viterbi algorithm", Proc. IEEE 61(3), 1973, DOI 10.1109/PROC.1973.9030.
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH
from ._ctc_steps import band_advance_cpu, ctc_cell, ctc_cell_cpu

# numba wants a set (not a frozenset) of flags
_FM = set(FASTMATH)

TIE_OPTIMAL = 0  # always a best path; ties: stay, then advance, then skip
TIE_TORCHAUDIO = 1  # torchaudio 2.x's comparisons, bit for bit (see the module docstring)

__all__ = [
    "TIE_OPTIMAL",
    "TIE_TORCHAUDIO",
    "ctc_choose",
    "ctc_band_cells",
    "ctc_align_batch",
    "ctc_align_serial",
    "ctc_find_invalid",
    "ctc_check_paths",
]


def ctc_choose(x0, x1, x2, optimal):
    """One cell's predecessor: ``(best score, move)`` with move 0 stay, 1 advance, 2 skip.

    :func:`align.kernels._ctc_steps.ctc_cell` (the single source of the rule,
    shared with the CUDA kernel) with ``optimal`` True for ``TIE_OPTIMAL`` and
    False for ``TIE_TORCHAUDIO``.
    """
    return ctc_cell(x0, x1, x2, 0 if optimal else 1)


ctc_choose_cpu = ctc_cell_cpu


@njit(cache=True, fastmath=_FM)
def _count_repeats(tgt, L):
    R = 0
    for k in range(1, L):
        if tgt[k] == tgt[k - 1]:
            R += 1
    return R


@njit(cache=True, fastmath=_FM)
def _band_walk(tgt, T, L, R, band, store):
    """Walk the live band ``[lo_t, hi_t]`` for t = 0..T-1; return the live cell count.

    ``e(s)``, the first frame at which state ``s`` is reachable, grows by
    ``d(s)`` from ``s-1`` to ``s``: 1 at a blank, 0 at a label that may be
    entered by a skip (or the first label), 1 at a repeated label.
    ``lt(s)``, the last frame from which ``s`` still reaches an end state,
    grows by ``g(s)`` from ``s`` to ``s+1``: 1 after a blank, 0 after a label
    followed by a different label (or the last label), 1 before a repeat.
    ``lt(0) = T - 1 - (L + R)``. If ``store``, ``band[t] = (lo_t, hi_t)``.
    Each frame's step is :func:`align.kernels._ctc_steps.band_advance`, which
    the CUDA kernel calls too.
    """
    hi = -1
    e_next = 0  # e(hi + 1)
    lo = 0
    lt_lo = T - 1 - (L + R)  # lt(lo)
    cells = 0
    for t in range(T):
        hi, e_next, lo, lt_lo = band_advance_cpu(tgt, L, t, hi, e_next, lo, lt_lo)
        if store:
            band[t, 0] = lo
            band[t, 1] = hi
        cells += hi - lo + 1
    return cells


@njit(cache=True, fastmath=_FM)
def ctc_band_cells(targets, input_lengths, target_lengths, out_cells, out_repeats):
    """Count the live band cells and the label repeats of every item.

    Parameters
    ----------
    targets : np.ndarray [shape=(B, L), int64]
        Target labels; only ``targets[b, :target_lengths[b]]`` is read.
    input_lengths : np.ndarray [shape=(B,), int64]
        Frames per item, ``0 <= input_lengths[b] <= T``.
    target_lengths : np.ndarray [shape=(B,), int64]
        Labels per item, ``0 <= target_lengths[b] <= L``.
    out_cells : np.ndarray [shape=(B,), int64]
        Output: live cells (one backpointer byte each) of item ``b``; 0 when
        the item is infeasible (``input_lengths[b] < target_lengths[b] + R_b``).
    out_repeats : np.ndarray [shape=(B,), int64]
        Output: ``R_b``, the number of adjacent equal labels of item ``b``.
    """
    B = targets.shape[0]
    dummy = np.empty((1, 2), dtype=np.int32)
    for b in range(B):
        T = input_lengths[b]
        L = target_lengths[b]
        tgt = targets[b]
        R = _count_repeats(tgt, L)
        out_repeats[b] = R
        if T < L + R or T == 0:
            out_cells[b] = 0
        else:
            out_cells[b] = _band_walk(tgt, T, L, R, dummy, False)


@njit(inline="always", cache=True, fastmath=_FM)
def _max_loops(Ab_p, Al_p, Ab_c, Al_c, pen, emit, bp, lpb, ninf, ukb0, ukl0, upos, unb, nb, nl,
               optimal):
    """One frame's blanks and labels: scores into ``Ab_c``/``Al_c``, moves into ``bp``."""
    one = np.uint64(1)
    rule = 0 if optimal else 1  # the tie_rule code of _ctc_steps
    for i in range(np.uint64(nb)):
        # A blank has no skip: ctc_choose(x0, x1, -inf, either rule) reduces to
        # "advance iff x1 > x0" (pinned by a test). Written out because LLVM
        # does not fold the -inf and this loop then runs ~15 % slower.
        k = ukb0 + i
        x0 = Ab_p[k]
        x1 = Al_p[k]
        c1 = x1 > x0
        Ab_c[k] = (x1 if c1 else x0) + lpb
        bp[upos + i] = 1 if c1 else 0
    for i in range(np.uint64(nl)):
        k = ukl0 + i
        v, move = ctc_choose_cpu(Al_p[k + one], Ab_p[k], Al_p[k] + pen[k], rule)
        Al_c[k + one] = v + emit[i]
        bp[upos + unb + i] = move


@njit(cache=True, fastmath=_FM)
def _align_item(lp, tgt, T, L, blank, tie_rule, path, scores, bp, band, alpha):
    """Align one item; write ``path[:T]``, ``scores[:T]``; return the path's log-score.

    ``bp`` (int8, >= live cells), ``band`` (int32, (>= T, 2)) and ``alpha``
    ((6, >= L + 1), dtype of ``lp``) are scratch. Returns -inf (and writes a
    blank path with score 0) when every path has probability zero.
    """
    # rows of alpha: 0/1 blanks at t-1 / t, 2/3 labels (shifted by one: label k
    # at index k + 1, index 0 is a -inf sentinel for "label -1"), 4 skip
    # penalty (0 or -inf), 5 the frame's emissions of the live labels
    for r in range(4):
        for k in range(L + 1):
            alpha[r, k] = -np.inf
    alpha[4, L] = 0  # pen[L] is never read as a penalty: it holds a typed zero
    ninf = alpha[0, 0]
    zero = alpha[4, L]
    Ab_p = alpha[0]
    Ab_c = alpha[1]
    Al_p = alpha[2]
    Al_c = alpha[3]
    pen = alpha[4]
    emit = alpha[5]
    pen[0] = ninf
    for k in range(1, L):
        pen[k] = ninf if tgt[k] == tgt[k - 1] else zero

    if T == 0:
        return zero  # an empty item (L == 0 too: the caller checked T >= L + R)
    R = _count_repeats(tgt, L)
    if T < L + R:
        # no path at all (the API rejects this before calling the kernel)
        for t in range(T):
            path[t] = blank
            scores[t] = zero
        return ninf
    _band_walk(tgt, T, L, R, band, True)
    optimal = tie_rule == TIE_OPTIMAL
    pos = 0
    for t in range(T):
        lo = band[t, 0]
        hi = band[t, 1]
        kb0 = (lo + 1) // 2
        kb1 = hi // 2
        kl0 = lo // 2
        kl1 = (hi - 1) // 2
        nb = kb1 - kb0 + 1
        if t == 0:
            if lo == 0:
                Ab_c[0] = lp[0, blank]
            if L > 0:
                Al_c[1] = lp[0, tgt[0]]
            for i in range(hi - lo + 1):
                bp[pos + i] = 0
        else:
            # Unsigned indices: Numba then emits no negative-index wraparound
            # selects and LLVM vectorizes the two max loops (array views would
            # cost two atomic refcount updates each, per frame). The gather of
            # the labels' emissions has its own loop so that it does not block
            # the vectorization of the max loops.
            lpb = lp[t, blank]
            nl = kl1 - kl0 + 1
            ukb0 = np.uint64(kb0)
            ukl0 = np.uint64(kl0)
            upos = np.uint64(pos)
            unb = np.uint64(nb)
            for i in range(np.uint64(nl)):
                emit[i] = lp[t, np.uint64(tgt[ukl0 + i])]
            # the rule as a literal in each branch: LLVM then folds it away
            if optimal:
                _max_loops(Ab_p, Al_p, Ab_c, Al_c, pen, emit, bp, lpb, ninf, ukb0, ukl0,
                           upos, unb, nb, nl, True)
            else:
                _max_loops(Ab_p, Al_p, Ab_c, Al_c, pen, emit, bp, lpb, ninf, ukb0, ukl0,
                           upos, unb, nb, nl, False)
        pos += hi - lo + 1
        Ab_p, Ab_c = Ab_c, Ab_p
        Al_p, Al_c = Al_c, Al_p

    # end state: the final blank only if strictly better than the last label
    last_blank = Ab_p[L]
    last_label = Al_p[L]
    if last_blank > last_label:
        s = 2 * L
        total = last_blank
    else:
        s = 2 * L - 1
        total = last_label
    if not total > ninf:
        for t in range(T):
            path[t] = blank
            scores[t] = zero
        return total

    for t in range(T - 1, -1, -1):
        lab = blank if s % 2 == 0 else tgt[s // 2]
        path[t] = lab
        scores[t] = lp[t, lab]
        lo = band[t, 0]
        hi = band[t, 1]
        pos -= hi - lo + 1
        if t > 0:
            k = s // 2
            if s % 2 == 0:
                idx = k - (lo + 1) // 2
            else:
                nb = hi // 2 - (lo + 1) // 2 + 1
                idx = nb + k - lo // 2
            s -= bp[pos + idx]
    return total


@njit(cache=True, fastmath=_FM, parallel=True)
def ctc_align_batch(log_probs, targets, input_lengths, target_lengths, blank, tie_rule,
                    out_paths, out_scores, out_logp, bp, band, alpha):
    """Viterbi CTC alignment of a batch; items run in parallel, one workspace slot per worker.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(B, T, C), float32 or float64, C-contiguous]
        Log-probabilities (any real values; no NaN, no +inf in live frames).
        Scores accumulate in this dtype.
    targets : np.ndarray [shape=(B, L), int64]
        Labels in ``[0, C)``, none equal to ``blank``; only
        ``targets[b, :target_lengths[b]]`` is read.
    input_lengths : np.ndarray [shape=(B,), int64]
        Frames of item ``b``, ``0 <= input_lengths[b] <= T``.
    target_lengths : np.ndarray [shape=(B,), int64]
        Labels of item ``b``; the caller guarantees
        ``input_lengths[b] >= target_lengths[b] + R_b``.
    blank : int
        The blank class, ``0 <= blank < C``.
    tie_rule : int
        ``TIE_OPTIMAL`` (0) or ``TIE_TORCHAUDIO`` (1); see the module docstring.
    out_paths : np.ndarray [shape=(B, T), int64]
        Output: the label of every frame; ``blank`` past ``input_lengths[b]``.
    out_scores : np.ndarray [shape=(B, T), dtype of log_probs]
        Output: ``log_probs[b, t, out_paths[b, t]]``; 0 past ``input_lengths[b]``.
    out_logp : np.ndarray [shape=(B,), float64]
        Output: the best path's total log-score (``-inf`` when every path has
        probability zero; the path is then all blank with scores 0).
    bp : np.ndarray [shape=(n_slots, W), int8]
        Backpointer workspace; ``W >= max_b ctc_band_cells[b]``. Slot ``j``
        serves items ``j, j + n_slots, j + 2 n_slots, ...``; ``n_slots`` is
        ``bp.shape[0]`` (the number of workers).
    band : np.ndarray [shape=(n_slots, T, 2), int32]
        Workspace: the live band ``(lo_t, hi_t)`` per frame of the slot's item.
    alpha : np.ndarray [shape=(n_slots, 6, L + 1), dtype of log_probs]
        Workspace: two frames of scores for blanks and labels, the skip
        penalties and one frame's gathered label emissions.

    Notes
    -----
    Peak memory: ``n_slots * (max_b cells_b + 8 T + 6 (L + 1) itemsize)``
    bytes beyond the inputs and outputs, with ``cells_b <= T_b (2 L_b + 1)``
    (for T = 30,000 and L = 5,000: about 300 MB per slot).

    See Also
    --------
    align.forced_align : the validating public entry point.
    ctc_align_serial : the same on the calling thread.
    ctc_band_cells : sizes the ``bp`` workspace.
    """
    for j in prange(bp.shape[0]):
        _align_slot(j, log_probs, targets, input_lengths, target_lengths, blank, tie_rule,
                    out_paths, out_scores, out_logp, bp, band, alpha)


@njit(cache=True, fastmath=_FM)
def ctc_align_serial(log_probs, targets, input_lengths, target_lengths, blank, tie_rule,
                     out_paths, out_scores, out_logp, bp, band, alpha):
    """:func:`ctc_align_batch` on the calling thread alone (same arguments and results).

    For one slot (a single item or a single thread) it skips the parallel
    launch, whose cost shows on busy machines where a woken worker thread
    waits for a core.
    """
    for j in range(bp.shape[0]):
        _align_slot(j, log_probs, targets, input_lengths, target_lengths, blank, tie_rule,
                    out_paths, out_scores, out_logp, bp, band, alpha)


@njit(cache=True, fastmath=_FM)
def _align_slot(j, log_probs, targets, input_lengths, target_lengths, blank, tie_rule,
                out_paths, out_scores, out_logp, bp, band, alpha):
    """Align items ``j, j + n_slots, ...`` with workspace slot ``j``; pad their tails."""
    B = log_probs.shape[0]
    Tmax = log_probs.shape[1]
    n_slots = bp.shape[0]
    for b in range(j, B, n_slots):
        T = input_lengths[b]
        L = target_lengths[b]
        out_logp[b] = _align_item(log_probs[b], targets[b], T, L, blank, tie_rule, out_paths[b],
                                  out_scores[b], bp[j], band[j], alpha[j])
        for t in range(T, Tmax):
            out_paths[b, t] = blank
            out_scores[b, t] = 0


@njit(cache=True, fastmath=_FM)
def ctc_find_invalid(log_probs, input_lengths, out_index):
    """Locate the first NaN or +inf in the live frames of every item.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(B, T, C), float32 or float64, C-contiguous]
    input_lengths : np.ndarray [shape=(B,), int64]
        Only frames ``t < input_lengths[b]`` are scanned.
    out_index : np.ndarray [shape=(B,), int64]
        Output: ``t * C + c`` of the first NaN or +inf of item ``b``, or -1.
    """
    B = log_probs.shape[0]
    C = log_probs.shape[2]
    block = np.uint64(1024)
    T = log_probs.shape[1]
    for b in range(B):
        out_index[b] = -1
        flat = log_probs[b].reshape(T * C)  # a view: log_probs is C-contiguous
        n = np.uint64(input_lengths[b] * C)
        # blocks with a branch-free count, so that the scan vectorizes; unsigned
        # indices spare Numba's negative-index checks
        start = np.uint64(0)
        while start < n:
            stop = min(start + block, n)
            bad = 0
            for i in range(start, stop):
                # false exactly for NaN and +inf; -inf (log 0) is valid
                bad += 0 if flat[i] < np.inf else 1
            if bad:
                for i in range(start, stop):
                    if not flat[i] < np.inf:
                        out_index[b] = i
                        break
                break
            start = stop


@njit(cache=True, fastmath=_FM)
def ctc_check_paths(paths, targets, input_lengths, target_lengths, blank, out_ok):
    """Post-condition: does every live path collapse to its targets?

    ``out_ok[b]`` is True iff ``paths[b, :input_lengths[b]]`` with runs merged
    and blanks dropped equals ``targets[b, :target_lengths[b]]``, and every
    frame past ``input_lengths[b]`` is ``blank``.
    """
    B, T = paths.shape
    for b in range(B):
        ok = True
        k = 0
        L = target_lengths[b]
        prev = -1
        for t in range(input_lengths[b]):
            lab = paths[b, t]
            if lab != blank and lab != prev:
                if k >= L or targets[b, k] != lab:
                    ok = False
                    break
                k += 1
            prev = lab
        if k != L:
            ok = False
        for t in range(input_lengths[b], T):
            if paths[b, t] != blank:
                ok = False
        out_ok[b] = ok
