"""Drop-DTW: monotone alignment of steps to segments that may drop segments and steps (CPU).

Dvornik, Hadji, Derpanis, Garg, Jepson, "Drop-DTW: Aligning Common Signal Between
Sequences While Dropping Outliers", NeurIPS 2021 (arXiv:2108.11996), section 3 and
algorithm 1, with both sides droppable as its section 3.3 allows.

The problem. ``C`` (K, N) holds the cost of matching step ``i`` (a text, a
row) with segment ``j`` (a column, e.g. a video clip). Every segment is either
matched or dropped (cost ``d_seg[j]``: background); every step is either
matched to at least one segment or dropped (cost ``d_step[i]``: absent; ``inf``
forbids it). The matched pairs form a monotone path: in a DTW path on the kept
elements, a step may match several segments in a row (horizontal) and, unless
``exclusive``, a segment several steps in a row (vertical). With
``contiguous`` a step's segments have no dropped segment between them. The
cost is the sum of the matched pairs' ``C`` plus the drop costs; the kernel
finds the minimum and one path that reaches it.

Recurrence (1-based ``i = 0..K``, ``j = 0..N``; tables and codes in
:mod:`align.kernels._drop_dtw_steps`)::

    F[0, 0] = 0;  F[0, j] = F[0, j-1] + d_seg[j];  F[i, 0] = F[i-1, 0] + d_step[i]
    O[i, 0] = O[0, j] = G[i, 0] = G[0, j] = inf
    O[i, j] = C[i, j] + min(F[i-1, j-1], O[i, j-1], G[i, j-1] (not contiguous),
                            O[i-1, j] (not exclusive))
    G[i, j] = d_seg[j] + min(O[i, j-1], G[i, j-1])
    F[i, j] = min(O[i, j], F[i, j-1] + d_seg[j], F[i-1, j] + d_step[i])

``F[K, N]`` is the answer. Ties: the earlier candidate in the order written
wins. Sums are float64 whatever the input dtype. ``inf`` means unreachable
(an ``inf`` drop cost forbids that drop); the API refuses NaN and ``+-inf`` in ``C``.

Memory: per item two rows of each table (``5 (N + 1)`` float64) and one byte
of back-pointers per cell, ``(K + 1)(N + 1)``.

See Also
--------
align.kernels.drop_dtw_cuda : the CUDA twin (the same arguments, then scratch).
align.drop_dtw : the validating entry point.
"""

import numpy as np
from numba import njit, prange

from ._drop_dtw_steps import done_cell_cpu, hold_cell_cpu, match_cell_cpu, pack_cpu, walk_back_cpu

__all__ = ["drop_dtw_batch", "drop_dtw_one"]


@njit(cache=True, boundscheck=False)
def drop_dtw_one(C, d_seg, d_step, n_steps, n_segs, contiguous, exclusive, bp, rows):
    """Fill ``bp`` (K+1, N+1) for one item and return ``F[K, N]``.

    ``rows`` (5, N+1) float64 scratch: previous F and O, current F, O and G.
    """
    inf = np.inf
    f_prev = rows[0]
    o_prev = rows[1]
    f_cur = rows[2]
    o_cur = rows[3]
    g_cur = rows[4]
    f_prev[0] = 0.0
    o_prev[0] = inf
    for j in range(1, n_segs + 1):
        f_prev[j] = f_prev[j - 1] + d_seg[j - 1]
        o_prev[j] = inf
    for i in range(1, n_steps + 1):
        f_cur[0] = f_prev[0] + d_step[i - 1]
        o_cur[0] = inf
        g_cur[0] = inf
        ds = d_step[i - 1]
        for j in range(1, n_segs + 1):
            dj = d_seg[j - 1]
            o, oc = match_cell_cpu(np.float64(C[i - 1, j - 1]), f_prev[j - 1], o_cur[j - 1], g_cur[j - 1],
                                   o_prev[j], contiguous, exclusive)
            g, gc = hold_cell_cpu(dj, o_cur[j - 1], g_cur[j - 1])
            f, fc = done_cell_cpu(o, f_cur[j - 1], dj, f_prev[j], ds)
            o_cur[j] = o
            g_cur[j] = g
            f_cur[j] = f
            bp[i, j] = pack_cpu(oc, gc, fc)
        for j in range(n_segs + 1):
            f_prev[j] = f_cur[j]
            o_prev[j] = o_cur[j]
    return f_prev[n_segs]


@njit(cache=True, parallel=True, boundscheck=False)
def drop_dtw_batch(cost, seg_drop, step_drop, n_steps, n_segs, contiguous, exclusive, out_cost, out_labels,
                   out_step_dropped, out_path, out_n_pairs):
    """Drop-DTW of every item of a padded batch, items in parallel.

    Parameters
    ----------
    cost : float32 or float64 array (B, K_max, N_max)
        ``C`` of each item in its top-left corner.
    seg_drop : float64 array (B, N_max)
        Drop cost of each segment (``inf``: must match).
    step_drop : float64 array (B, K_max)
        Drop cost of each step (``inf``: must match).
    n_steps, n_segs : int64 arrays (B,)
        Each item's K and N (each >= 1).
    contiguous, exclusive : int
        1 or 0 (module docstring).
    out_cost : float64 array (B,)
        ``F[K, N]`` (``inf`` when no alignment is allowed; the other outputs are then unspecified).
    out_labels : int64 array (B, N_max)
        0-based step of each segment (the lowest one when it matches several), -1 when dropped.
    out_step_dropped : uint8 array (B, K_max)
        1 where the step is dropped.
    out_path : int64 array (B, K_max + N_max, 2)
        The matched (step, segment) pairs in increasing order in ``[:P]``.
    out_n_pairs : int64 array (B,)
        ``P`` of each item.
    """
    for b in prange(cost.shape[0]):
        k = n_steps[b]
        n = n_segs[b]
        bp = np.zeros((k + 1, n + 1), np.uint8)
        rows = np.empty((5, n + 1), np.float64)
        total = drop_dtw_one(cost[b], seg_drop[b], step_drop[b], k, n, contiguous, exclusive, bp, rows)
        out_cost[b] = total
        if total < np.inf:
            out_n_pairs[b] = walk_back_cpu(bp, k, n, out_labels[b], out_step_dropped[b], out_path[b])
        else:
            out_n_pairs[b] = 0
