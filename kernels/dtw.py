"""Exact DTW on the CPU: accumulated cost in two rows (distance) and many pairs at once.

Recurrence (Sakoe & Chiba 1978, doi:10.1109/TASSP.1978.1163055, section II; step
patterns and weights as in dtw-python, Giorgino 2009, doi:10.18637/jss.v031.i07,
section 3.2). With ``c(i, j)`` the local cost (see :mod:`align.kernels._steps`)::

    symmetric1: g(i,j) = min(g(i-1,j-1) + c, g(i-1,j) + c, g(i,j-1) + c)
    symmetric2: g(i,j) = min(g(i-1,j-1) + 2c, g(i-1,j) + c, g(i,j-1) + c)
    asymmetric: g(i,j) = min(g(i-1,j-1) + c, g(i-1,j) + c, g(i-1,j-2) + c)

Boundary conditions: ``g(0, 0) = c(0, 0)`` (weight 1 for every pattern, as dtw-python);
cells outside the grid or outside the band ``lo[i] <= j <= hi[i]`` are ``+inf``. The
distance is ``g(N-1, M-1)``. In subsequence mode every cell of row 0 is a start,
``g(0, j) = c(0, j)``, and the end is the column of the smallest ``g(N-1, j)`` (the
smallest such column on ties).

Tie-break: the candidates ``g(pred) + w*c`` are compared; on equality diagonal beats
vertical ``(i-1, j)`` beats the third step (horizontal ``(i, j-1)`` or skip
``(i-1, j-2)``). The rule lives once, in :func:`align.kernels._steps.choose`.

Storage: a row is kept in a buffer of length ``M + 2`` indexed by column + 2, so that
columns -2 and -1 read ``+inf`` without a bounds test; cells outside the band are
kept at ``+inf`` by wiping, before a buffer is reused, the range it last held.
Local costs are computed in the inputs' dtype (float32 stays float32) and accumulated
in float64.
"""

import numpy as np
from numba import njit, prange

from ._steps import (DTW_FASTMATH, METRIC_SQEUCLIDEAN, STEP_SYMMETRIC1, choose_cpu, end_cell_cpu,
                     local_cost_cpu)
from .dtw_band import fill_band

__all__ = [
    "cost_row",
    "row_generic",
    "row_values",
    "row_dirs",
    "row_track",
    "dtw_distance_rows",
    "dtw_pairwise_ragged",
    "dtw_batch",
]


@njit(cache=True, fastmath=DTW_FASTMATH)
def cost_row(x, i, y, a, b, metric, crow):
    """Local costs ``c(i, j)`` for ``j = a..b`` into ``crow[j]``, widened to float64.

    One compiled function used by every CPU kernel, so that all of them see
    bit-identical local costs. The 1-D case gets its own loops (they vectorise).
    """
    if x.shape[1] == 1:
        xi = x[i, 0]
        if metric == 0:
            for j in range(a, b + 1):
                diff = xi - y[j, 0]
                crow[j] = diff * diff
            return
        if metric == 1 or metric == 2:  # both are |x - y| for scalars
            for j in range(a, b + 1):
                crow[j] = abs(xi - y[j, 0])
            return
    for j in range(a, b + 1):
        crow[j] = local_cost_cpu(x, i, y, j, metric)


@njit(cache=True, fastmath=DTW_FASTMATH)
def row_generic(i, a, b, prev, cur, crow, step, subsequence, transposed, dirs, dpos, record):
    """Row ``i`` on columns ``a..b`` with the full rule (start cells, any pattern).

    ``prev``/``cur`` are indexed by column + 2; direction codes go to
    ``dirs[dpos + j - a]`` when ``record``.
    """
    for j in range(a, b + 1):
        c = crow[j]
        if i == 0 and (subsequence or j == 0):
            g = c
            code = 4
        else:
            if step == 2:
                third = prev[j]
            else:
                third = cur[j + 1]
            g, code = choose_cpu(step, transposed, prev[j + 1], prev[j + 2], third, c)
        cur[j + 2] = g
        if record:
            dirs[dpos + j - a] = code


@njit(cache=True, fastmath=DTW_FASTMATH)
def row_values(a, b, prev, cur, crow, step):
    """Row ``i >= 1`` on columns ``a..b``, values only (no backpointers).

    Uses ``min(preds) + w*c``, which equals the minimum of the candidates exactly
    because float addition is monotone; the tie-break does not affect values.
    """
    if step == 0:
        h = cur[a + 1]
        for j in range(a, b + 1):
            d = prev[j + 1]
            v = prev[j + 2]
            best = d if d < v else v
            best = h if h < best else best
            h = best + crow[j]
            cur[j + 2] = h
    elif step == 1:
        h = cur[a + 1]
        for j in range(a, b + 1):
            c = crow[j]
            d = prev[j + 1] + 2.0 * c
            v = prev[j + 2] + c
            hh = h + c
            best = d if d < v else v
            h = hh if hh < best else best
            cur[j + 2] = h
    else:
        for j in range(a, b + 1):
            d = prev[j + 1]
            v = prev[j + 2]
            s = prev[j]
            best = d if d < v else v
            best = s if s < best else best
            cur[j + 2] = best + crow[j]


@njit(cache=True, fastmath=DTW_FASTMATH)
def row_dirs(a, b, prev, cur, crow, step, dirs, dpos):
    """Row ``i >= 1`` on columns ``a..b`` with backpointers (not transposed)."""
    if step == 0 or step == 1:
        # carry g(i, j-1) in a register instead of re-reading cur[j + 1]
        h = cur[a + 1]
        if step == 0:
            for j in range(a, b + 1):
                h, code = choose_cpu(0, False, prev[j + 1], prev[j + 2], h, crow[j])
                cur[j + 2] = h
                dirs[dpos + j - a] = code
        else:
            for j in range(a, b + 1):
                h, code = choose_cpu(1, False, prev[j + 1], prev[j + 2], h, crow[j])
                cur[j + 2] = h
                dirs[dpos + j - a] = code
    else:
        for j in range(a, b + 1):
            g, code = choose_cpu(2, False, prev[j + 1], prev[j + 2], prev[j], crow[j])
            cur[j + 2] = g
            dirs[dpos + j - a] = code


@njit(cache=True, fastmath=DTW_FASTMATH, inline="always")
def _values_codes(a, b, prev, cur, crow, codes, step, transposed):
    h = cur[a + 1]
    for j in range(a, b + 1):
        third = prev[j] if step == 2 else h
        g, code = choose_cpu(step, transposed, prev[j + 1], prev[j + 2], third, crow[j])
        h = g
        cur[j + 2] = g
        codes[j - a] = code


@njit(cache=True, fastmath=DTW_FASTMATH)
def row_track(a, b, prev, cur, crow, step, transposed, codes, lprev, lcur, sprev, scur):
    """Row ``i >= 1`` on columns ``a..b``, values plus the chosen predecessor's path
    length (``lprev``/``lcur``) and start column (``sprev``/``scur``).

    Two passes: values and direction codes (into ``codes[j - a]``), then lengths and
    starts with selects, not branches: the choice is data dependent, and
    mispredicted branches cost three times the whole update.
    """
    # literal step/transposed per call so the tie-break compiles to selects
    if step == 0:
        if transposed:
            _values_codes(a, b, prev, cur, crow, codes, 0, True)
        else:
            _values_codes(a, b, prev, cur, crow, codes, 0, False)
    elif step == 1:
        if transposed:
            _values_codes(a, b, prev, cur, crow, codes, 1, True)
        else:
            _values_codes(a, b, prev, cur, crow, codes, 1, False)
    else:
        _values_codes(a, b, prev, cur, crow, codes, 2, False)
    hl = lcur[a + 1]
    hs = scur[a + 1]
    for j in range(a, b + 1):
        c = codes[j - a]
        dl = lprev[j + 1]
        vl = lprev[j + 2]
        kl = lprev[j]
        ds = sprev[j + 1]
        vs = sprev[j + 2]
        ks = sprev[j]
        t = hl if c == 2 else kl
        ts = hs if c == 2 else ks
        hl = (dl if c == 0 else (vl if c == 1 else t)) + 1
        hs = ds if c == 0 else (vs if c == 1 else ts)
        lcur[j + 2] = hl
        scur[j + 2] = hs


@njit(cache=True, fastmath=DTW_FASTMATH)
def _distance_core(x, y, lo, hi, metric, step, subsequence, transposed, track):
    """Two-row DP; returns (g_end, j_end, path_length, j_start).

    ``path_length`` and ``j_start`` follow the backpointers chosen by the tie-break
    rule (so they equal those of the path :mod:`align.kernels.dtw_path` returns);
    they are tracked only when ``track`` is True (else -1).
    """
    n = x.shape[0]
    m = y.shape[0]
    inf = np.inf
    prev = np.full(m + 2, inf)
    cur = np.full(m + 2, inf)
    crow = np.empty(m)
    if track:
        lprev = np.zeros(m + 2, dtype=np.int64)
        lcur = np.zeros(m + 2, dtype=np.int64)
        sprev = np.zeros(m + 2, dtype=np.int64)
        scur = np.zeros(m + 2, dtype=np.int64)
        codes = np.zeros(m, dtype=np.uint8)
    else:
        lprev = np.zeros(1, dtype=np.int64)
        lcur = lprev
        sprev = lprev
        scur = lprev
        codes = np.zeros(1, dtype=np.uint8)
    # range each buffer currently holds (to wipe before reuse)
    cur_a = 0
    cur_b = -1
    prev_a = 0
    prev_b = -1
    for i in range(n):
        for k in range(cur_a, cur_b + 1):
            cur[k + 2] = inf
        a = lo[i]
        b = hi[i]
        cost_row(x, i, y, a, b, metric, crow)
        if i == 0:
            row_generic(i, a, b, prev, cur, crow, step, subsequence, transposed, codes, a, track)
            if track:
                for j in range(a, b + 1):
                    if codes[j] == 4:
                        lcur[j + 2] = 1
                        scur[j + 2] = j
                    else:  # horizontal from (0, j-1)
                        lcur[j + 2] = lcur[j + 1] + 1
                        scur[j + 2] = scur[j + 1]
        elif track:
            row_track(a, b, prev, cur, crow, step, transposed, codes, lprev, lcur, sprev, scur)
        else:
            row_values(a, b, prev, cur, crow, step)
        cur_a = a
        cur_b = b
        prev, cur = cur, prev
        prev_a, cur_a = cur_a, prev_a
        prev_b, cur_b = cur_b, prev_b
        if track:
            lprev, lcur = lcur, lprev
            sprev, scur = scur, sprev
    # prev holds row n-1
    best, j_end = end_cell_cpu(prev, m, subsequence)
    if track:
        return best, j_end, lprev[j_end + 2], sprev[j_end + 2]
    return best, j_end, -1, -1


@njit(cache=True, fastmath=DTW_FASTMATH, nogil=True)  # nogil: dtw_batch runs pairs on threads
def dtw_distance_rows(x, y, lo, hi, metric, step, subsequence, transposed, track, out):
    """Accumulated cost at the end of the best path, in O(M) memory.

    Parameters
    ----------
    x : np.ndarray [shape=(N, d), float32 or float64, C-contiguous]
    y : np.ndarray [shape=(M, d), same dtype as x]
    lo, hi : np.ndarray [shape=(N,), int64]
        Band bounds from :func:`align.kernels.dtw_band.fill_band`.
    metric : int
        METRIC_* code from :mod:`align.kernels._steps`.
    step : int
        STEP_* code.
    subsequence : bool
        Free start in row 0 and free end in row N-1 (``lo, hi`` must span all columns).
    transposed : bool
        Tie-break for a symmetric problem solved with x and y swapped.
    track : bool
        Also follow the chosen backpointers' path length and start column.
    out : np.ndarray [shape=(4,), float64]
        Output: distance, end column, path length, start column (the last two are
        -1 unless ``track``).
    """
    g, j_end, length, j_start = _distance_core(
        x, y, lo, hi, metric, step, subsequence, transposed, track
    )
    out[0] = g
    out[1] = j_end
    out[2] = length
    out[3] = j_start


@njit(cache=True, fastmath=DTW_FASTMATH, parallel=True)
def dtw_pairwise_ragged(
    xbuf, xoff, ybuf, yoff, pair_i, pair_j, metric, step, window, radius, max_slope,
    subsequence, out
):
    """DTW distances of many pairs of ragged sequences, ``prange`` over the pairs.

    Parameters
    ----------
    xbuf : np.ndarray [shape=(sum of lengths, d), float32 or float64]
        The sequences of X concatenated; sequence ``k`` is ``xbuf[xoff[k]:xoff[k+1]]``.
    xoff : np.ndarray [shape=(len(X) + 1,), int64]
    ybuf, yoff : the same for Y (may be the same arrays as X's).
    pair_i, pair_j : np.ndarray [shape=(P,), int64]
        Pair ``p`` is ``(X[pair_i[p]], Y[pair_j[p]])``.
    metric, step, window : int
        METRIC_*, STEP_*, WINDOW_* codes.
    radius : int
        Sakoe-Chiba radius (ignored unless ``window`` is Sakoe-Chiba).
    max_slope : float
        Itakura slope (ignored unless ``window`` is Itakura).
    subsequence : bool
        X's sequence found anywhere inside Y's (``window`` must be none).
    out : np.ndarray [shape=(P,), float64]
        Output distances (``inf`` where the band admits no path).
    """
    for p in prange(pair_i.shape[0]):
        a = xbuf[xoff[pair_i[p]]:xoff[pair_i[p] + 1]]
        b = ybuf[yoff[pair_j[p]]:yoff[pair_j[p] + 1]]
        n = a.shape[0]
        m = b.shape[0]
        # rows along the shorter sequence when the pattern allows the swap
        if step != 2 and not subsequence and m > n:
            a, b = b, a
            n, m = m, n
        lo = np.empty(n, dtype=np.int64)
        hi = np.empty(n, dtype=np.int64)
        fill_band(n, m, window, radius, max_slope, lo, hi)
        g, _, _, _ = _distance_core(a, b, lo, hi, metric, step, subsequence, False, False)
        out[p] = g


@njit(cache=True, fastmath=DTW_FASTMATH, parallel=True)
def dtw_batch(x, y, len_x, len_y, out):
    """DTW distance of every pair ``(x[b, :len_x[b]], y[b, :len_y[b]])``: the CPU twin of
    :func:`align.kernels.dtw_cuda.dtw_batch`.

    The same arguments in the same order as the CUDA kernel, less its trailing
    scratch (``work``), and the same values bit for bit: symmetric1, squared
    difference computed in the inputs' dtype, accumulated in float64, no band.
    Pairs run in parallel (``prange``).

    Parameters
    ----------
    x : np.ndarray [shape=(B, N), float32 or float64]
    y : np.ndarray [shape=(B, M), same dtype as x]
    len_x, len_y : np.ndarray [shape=(B,), int64]
        Valid lengths, ``1 <= len_x[b] <= N``, ``1 <= len_y[b] <= M``.
    out : np.ndarray [shape=(B,), float64]
        Output distances.
    """
    for b in prange(x.shape[0]):
        n = len_x[b]
        m = len_y[b]
        lo = np.zeros(n, np.int64)
        hi = np.full(n, m - 1, np.int64)
        xb = np.ascontiguousarray(x[b, :n]).reshape((n, 1))
        yb = np.ascontiguousarray(y[b, :m]).reshape((m, 1))
        out[b] = _distance_core(xb, yb, lo, hi, METRIC_SQEUCLIDEAN, STEP_SYMMETRIC1,
                                False, False, False)[0]
