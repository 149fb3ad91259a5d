"""Exact DTW warping path in sub-quadratic memory by checkpointed rows.

Same recurrence, boundary conditions and tie-break as :mod:`align.kernels.dtw`
(stated there; the per-cell rule is :func:`align.kernels._steps.choose`).

Method: the row-checkpoint algorithm of Grice, Hughey & Speck (1997), "Reduced
space sequence alignment", CABIOS 13(1):45-53, doi:10.1093/bioinformatics/13.1.45,
(two levels of rows: ``O(M sqrt(N))`` space, about 1.5 forward passes of work).
Hirschberg (1975), doi:10.1145/360825.360861, solves the same problem by divide and
conquer in linear space; checkpointing was chosen because it reproduces the
full-table tie-break without any extra rule at the split points:

1. Forward pass over rows ``0..N-1`` in two row buffers. The row just before each block
   of ``block`` rows (rows ``b*block - 1``) is copied, band cells only, to ``ck_vals``.
2. Backtracking, last block first: the block's rows are recomputed from its checkpoint,
   restricted to the columns ``<= j`` where ``j`` is the column at which the path
   enters the block from below (a cell only depends on columns to its left), with one
   direction byte per cell; the path is then followed through the block.

The recomputation performs exactly the same float operations as the forward pass, so
the path is the one a full ``N x M`` backpointer table would give, ties included.
With ``block >= N`` there is one block: directions are recorded during the forward
pass and nothing is recomputed (the full-table path).

Peak memory (band width ``W`` cells per row, ``W = M`` without a band):
``8 * W * ceil(N / block)`` bytes of checkpoints + ``block * W`` direction bytes +
``2 * 8 * (M + 2)`` row bytes + ``16 * (N + M)`` path bytes. With
``block ~ sqrt(8 N)`` this is about ``2 * W * sqrt(8 N)`` bytes: 179 MB for
``N = M = 100000``.
"""

import numpy as np
from numba import njit

from ._steps import DTW_FASTMATH, end_cell_cpu
from .dtw import cost_row, row_dirs, row_generic, row_values

__all__ = ["dtw_path_checkpointed"]


@njit(cache=True, fastmath=DTW_FASTMATH)
def _fill_row(x, y, i, a, b, prev, cur, crow, metric, step, subsequence, dirs, dpos, record):
    """Compute row ``i`` on columns ``a..b`` into ``cur`` (column + 2 indexing)."""
    if b < a:
        return
    cost_row(x, i, y, a, b, metric, crow)
    if i == 0:
        row_generic(i, a, b, prev, cur, crow, step, subsequence, False, dirs, dpos, record)
    elif record:
        row_dirs(a, b, prev, cur, crow, step, dirs, dpos)
    else:
        row_values(a, b, prev, cur, crow, step)


@njit(cache=True, fastmath=DTW_FASTMATH, nogil=True)  # nogil: dtw_batch runs pairs on threads
def dtw_path_checkpointed(x, y, lo, hi, metric, step, subsequence, block, path, scratch):
    """Exact DTW path and distance with checkpointed rows.

    Parameters
    ----------
    x : np.ndarray [shape=(N, d), float32 or float64, C-contiguous]
    y : np.ndarray [shape=(M, d), same dtype]
    lo, hi : np.ndarray [shape=(N,), int64]
        Band bounds (:func:`align.kernels.dtw_band.fill_band`); the API has checked
        that a path exists.
    metric, step : int
        METRIC_* and STEP_* codes (:mod:`align.kernels._steps`).
    subsequence : bool
        Free start in row 0 and free end in row N-1.
    block : int
        Rows per block (>= 1); ``block >= N`` means one block (full table).
    path : np.ndarray [shape=(N + M - 1, 2), int64]
        Output: the path from its end backwards in ``path[:K]``.
    scratch : tuple (ck_off, ck_vals, row_a, row_b, crow, dirs)
        The work arrays below, one tuple (15 positional arguments were hard to
        call right):
    ck_off : np.ndarray [shape=(ceil(N / block) + 1,), int64]
        Offsets into ``ck_vals``: the checkpoint of block ``b >= 1`` (row ``b*block-1``,
        columns ``lo..hi``) is ``ck_vals[ck_off[b]:ck_off[b+1]]``.
    ck_vals : np.ndarray [shape=(ck_off[-1],), float64]
        Scratch for the checkpoints.
    row_a, row_b : np.ndarray [shape=(M + 2,), float64]
        Scratch row buffers.
    crow : np.ndarray [shape=(M,), float64]
        Scratch for one row of local costs.
    dirs : np.ndarray [shape=(>= the most band cells in one block,), uint8]
        Scratch for the direction bytes of one block.

    Returns
    -------
    (float, int)
        The distance ``g`` at the end cell, and ``K``, the number of path cells.
    """
    ck_off, ck_vals, row_a, row_b, crow, dirs = scratch
    n = x.shape[0]
    m = y.shape[0]
    inf = np.inf
    nblocks = (n + block - 1) // block
    one_block = nblocks == 1
    row_a[:] = inf
    row_b[:] = inf
    prev = row_a
    cur = row_b
    cur_a = 0
    cur_b = -1
    prev_a = 0
    prev_b = -1
    dpos = 0
    # ---- forward pass
    for i in range(n):
        for k in range(cur_a, cur_b + 1):
            cur[k + 2] = inf
        a = lo[i]
        b = hi[i]
        _fill_row(x, y, i, a, b, prev, cur, crow, metric, step, subsequence, dirs, dpos, one_block)
        if one_block and b >= a:
            dpos += b - a + 1
        if (i + 1) % block == 0 and i + 1 < n:
            kb = (i + 1) // block
            off = ck_off[kb]
            for j in range(a, b + 1):
                ck_vals[off + j - a] = cur[j + 2]
        cur_a = a
        cur_b = b
        prev, cur = cur, prev
        prev_a, cur_a = cur_a, prev_a
        prev_b, cur_b = cur_b, prev_b
    # ---- end cell
    best, j_end = end_cell_cpu(prev, m, subsequence)
    # ---- backtracking, block by block
    k = 0
    i = n - 1
    j = j_end
    done = False
    for blk in range(nblocks - 1, -1, -1):
        r0 = blk * block
        r1 = min(n, r0 + block) - 1
        if not one_block:
            # recompute rows r0..r1 on columns <= j, recording directions: the forward
            # pass's row loop again, with direction bytes; a duplicate kept so that the
            # forward pass carries no direction writes (the cell rule is _steps', once)
            row_a[:] = inf
            row_b[:] = inf
            prev = row_a
            cur = row_b
            cur_a = 0
            cur_b = -1
            prev_a = 0
            prev_b = -1
            if blk > 0:
                r = r0 - 1
                off = ck_off[blk]
                top = min(hi[r], j)
                for jj in range(lo[r], top + 1):
                    prev[jj + 2] = ck_vals[off + jj - lo[r]]
                prev_a = lo[r]
                prev_b = top
            dpos = 0
            for ii in range(r0, r1 + 1):
                for kk in range(cur_a, cur_b + 1):
                    cur[kk + 2] = inf
                a = lo[ii]
                b = min(hi[ii], j)
                _fill_row(x, y, ii, a, b, prev, cur, crow, metric, step, subsequence, dirs,
                          dpos, True)
                if b >= a:
                    dpos += b - a + 1
                cur_a = a
                cur_b = b
                prev, cur = cur, prev
                prev_a, cur_a = cur_a, prev_a
                prev_b, cur_b = cur_b, prev_b
        # direction offset of each row of the block (same widths as when recorded)
        offs = np.empty(r1 - r0 + 2, dtype=np.int64)
        offs[0] = 0
        for ii in range(r0, r1 + 1):
            b = hi[ii] if one_block else min(hi[ii], j)
            w = b - lo[ii] + 1
            offs[ii - r0 + 1] = offs[ii - r0] + (w if w > 0 else 0)
        while i >= r0:
            path[k, 0] = i
            path[k, 1] = j
            k += 1
            code = dirs[offs[i - r0] + j - lo[i]]
            if code == 4:
                done = True
                break
            elif code == 0:
                i -= 1
                j -= 1
            elif code == 1:
                i -= 1
            elif code == 2:
                j -= 1
            else:
                i -= 1
                j -= 2
        if done:
            break
    return best, k
