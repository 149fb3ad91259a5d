"""Per-cell math of Drop-DTW, shared by the CPU and CUDA kernels.

Plain Python, compiled twice: ``njit(inline="always")`` here (the ``*_cpu``
names) and ``numba.cuda.jit(device=True)`` in :mod:`align.kernels.drop_dtw_cuda`,
so the tie-break rule exists once and both backends agree bit for bit.

The recurrence (module docstring of :mod:`align.kernels.drop_dtw`) keeps three
tables over steps ``i = 0..K`` and segments ``j = 0..N`` (1-based cells, row
and column 0 are the empty prefixes):

- ``O[i, j]``: segment ``j`` is matched and step ``i`` is the last step it matches;
- ``G[i, j]``: step ``i`` has matched and is still open, segment ``j`` is dropped;
- ``F[i, j]``: steps ``1..i`` and segments ``1..j`` are all decided (the answer is ``F[K, N]``).

Codes, packed into one byte per cell (``O | G << 2 | F << 3``):

- ``O``: ``O_START = 0`` (from ``F[i-1, j-1]``: step ``i`` begins at segment ``j``),
  ``O_CONTINUE = 1`` (from ``O[i, j-1]``), ``O_RESUME = 2`` (from ``G[i, j-1]``, only when
  not ``contiguous``), ``O_SHARED = 3`` (from ``O[i-1, j]``: segment ``j`` also matches
  step ``i-1``, only when not ``exclusive``);
- ``G``: ``G_FROM_MATCH = 0`` (from ``O[i, j-1]``), ``G_FROM_HOLD = 1`` (from ``G[i, j-1]``);
- ``F``: ``F_CLOSE = 0`` (``O[i, j]``), ``F_DROP_SEGMENT = 1`` (``F[i, j-1] + d_seg[j]``),
  ``F_DROP_STEP = 2`` (``F[i-1, j] + d_step[i]``).

Tie-break rule: the candidates are compared after their costs are added; the
smallest wins and on exact equality the earlier code wins (the order above).
"""

from numba import njit

__all__ = ["O_START", "O_CONTINUE", "O_RESUME", "O_SHARED", "G_FROM_MATCH", "G_FROM_HOLD", "F_CLOSE",
           "F_DROP_SEGMENT", "F_DROP_STEP", "match_cell", "hold_cell", "done_cell", "pack", "match_cell_cpu",
           "hold_cell_cpu", "done_cell_cpu", "pack_cpu", "walk_back", "walk_back_cpu"]

O_START = 0
O_CONTINUE = 1
O_RESUME = 2
O_SHARED = 3
G_FROM_MATCH = 0
G_FROM_HOLD = 1
F_CLOSE = 0
F_DROP_SEGMENT = 1
F_DROP_STEP = 2


def match_cell(c, f_diag, o_left, g_left, o_up, contiguous, exclusive):
    """``O[i, j]`` and its code from ``c = C[i, j]`` and the four predecessors."""
    best = f_diag
    code = 0
    if o_left < best:
        best = o_left
        code = 1
    if contiguous == 0 and g_left < best:
        best = g_left
        code = 2
    if exclusive == 0 and o_up < best:
        best = o_up
        code = 3
    return best + c, code


def hold_cell(d_seg, o_left, g_left):
    """``G[i, j]`` and its code: segment ``j`` dropped while step ``i`` stays open."""
    if g_left < o_left:
        return g_left + d_seg, 1
    return o_left + d_seg, 0


def done_cell(o_here, f_left, d_seg, f_up, d_step):
    """``F[i, j]`` and its code: close step ``i`` at ``j``, drop segment ``j`` or drop step ``i``."""
    best = o_here
    code = 0
    drop_segment = f_left + d_seg
    if drop_segment < best:
        best = drop_segment
        code = 1
    drop_step = f_up + d_step
    if drop_step < best:
        best = drop_step
        code = 2
    return best, code


def walk_back(bp, n_steps, n_segs, labels, step_dropped, path):
    """Follow the back-pointers from ``F[K, N]``; returns the number of matched pairs.

    Writes ``labels[j]`` (0-based step of segment ``j``, the lowest when it
    matches several; -1 when dropped), ``step_dropped[i]`` (1 or 0) and the
    matched (step, segment) pairs in increasing order into ``path[:P]``.
    """
    for j in range(n_segs):
        labels[j] = -1
    for i in range(n_steps):
        step_dropped[i] = 0
    i = n_steps
    j = n_segs
    state = 2  # 0: O, 1: G, 2: F
    n = 0
    while i > 0 or j > 0:
        code = bp[i, j]
        if state == 2:
            f = (code >> 3) & 3
            if i == 0:
                f = 1
            elif j == 0:
                f = 2
            if f == 0:
                state = 0
            elif f == 1:
                j -= 1
            else:
                step_dropped[i - 1] = 1
                i -= 1
        elif state == 0:
            labels[j - 1] = i - 1
            path[n, 0] = i - 1
            path[n, 1] = j - 1
            n += 1
            o = code & 3
            if o == 0:
                i -= 1
                j -= 1
                state = 2
            elif o == 1:
                j -= 1
            elif o == 2:
                j -= 1
                state = 1
            else:
                i -= 1
        else:
            g = (code >> 2) & 1
            j -= 1
            if g == 0:
                state = 0
    # the pairs were found last first
    for k in range(n // 2):
        a0 = path[k, 0]
        a1 = path[k, 1]
        path[k, 0] = path[n - 1 - k, 0]
        path[k, 1] = path[n - 1 - k, 1]
        path[n - 1 - k, 0] = a0
        path[n - 1 - k, 1] = a1
    return n


def pack(o_code, g_code, f_code):
    """One byte of back-pointers for a cell."""
    return o_code | (g_code << 2) | (f_code << 3)


match_cell_cpu = njit(inline="always", cache=True)(match_cell)
hold_cell_cpu = njit(inline="always", cache=True)(hold_cell)
done_cell_cpu = njit(inline="always", cache=True)(done_cell)
pack_cpu = njit(inline="always", cache=True)(pack)
walk_back_cpu = njit(cache=True)(walk_back)
