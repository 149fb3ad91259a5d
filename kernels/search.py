"""Exact subsequence search under banded DTW: the UCR Suite's cascade, in Numba.

Paper: T. Rakthanmanon, B. Campana, A. Mueen, G. Batista, B. Westover, Q. Zhu,
J. Zakaria, E. Keogh, "Searching and Mining Trillions of Time Series
Subsequences under Dynamic Time Warping", KDD 2012,
DOI 10.1145/2339530.2339576, section 4: 4.1 (lower bounding, early
abandoning of LB_Keogh and of DTW with the cumulative bound) and 4.2 (early
abandoning z-normalisation, reordering, reversing the query/data role in
LB_Keogh, cascading lower bounds).
The streaming envelope is D. Lemire, "Faster retrieval with a two-pass
dynamic-time-warping lower bound", Pattern Recognition 42(9), 2009,
DOI 10.1016/j.patcog.2008.11.030 (the min/max deque of D. Lemire,
"Streaming maximum-minimum filter using no more than three comparisons per
element", arXiv cs/0610046).

What is computed
----------------
For a query ``q`` of length ``m`` (already z-normalised by the caller when
``znormalize`` is true) and every window ``w_s = series[s : s + m]``,
``s = 0 .. n - m``, the distance is

    d(s) = DTW_r(q, z(w_s))

with ``z(w) = (w - mean(w)) / std(w)`` (population std) and ``z(w) = 0`` when
the window is flat (all samples equal, or a spread whose variance underflows
to 0); ``z`` is the identity when
``znormalize`` is false.  ``DTW_r`` is the symmetric1 recurrence on the
Sakoe-Chiba band |i - j| <= r with squared Euclidean local cost:

    D[0, 0]  = c(0, 0)
    D[i, j]  = c(i, j) + min(D[i-1, j], D[i, j-1], D[i-1, j-1])   (|i - j| <= r)
    D[i, j]  = +inf outside the band or outside the matrix
    c(i, j)  = (a[i] - b[j]) ** 2,       d = D[m-1, m-1]

(the plain sum; ``sqrt(d)`` is what the UCR Suite prints).  ``min`` has no
tie-break issue because only the value is returned.

Matches are chosen greedily: sort all windows by ``(d(s), s)`` ascending
(ties go to the earlier start), take the first, then repeatedly the next one
whose start differs from every chosen start by at least ``max(exclusion, 1)``.

Why pruning stays exact for k non-overlapping matches
-----------------------------------------------------
Write ``D_k`` for the distance of the k-th greedy pick over *all* windows.
(1) The first k picks depend only on the windows whose key ``(d, s)`` is at
most the k-th pick's key: greedy scans in key order and stops there.  So if
``S`` is any set of windows, with exact distances, that contains every window
with ``d <= U`` for some ``U >= D_k``, greedy on ``S`` makes the same first
k picks (windows outside ``S`` have ``d > U >= D_k`` and come later).
(2) An upper bound ``U >= D_k`` from windows already computed: a pick blocks
the starts within ``e - 1`` of it (``e = max(exclusion, 1)``), an interval
of ``2e - 1`` starts, so it blocks at most one member of a set ``W`` whose
starts are pairwise at least ``2e - 1`` apart.  If ``|W| = k``, after any
``j - 1 < k`` picks some member of ``W`` is still free, so every greedy pick
up to the k-th has ``d <= max(W)``: ``D_k <= max d(W)``.
The scan keeps such a ``W`` ("slots": at most k computed windows, pairwise
``>= 2e - 1`` apart, updated so that ``max d(W)`` never increases) and
prunes a window only when a lower bound of its distance exceeds
``U = max d(W)`` (``U = inf`` until ``W`` has k members).  A pruned window
then has ``d > U_then >= U_final >= D_k``; every other window's distance is
stored exactly.  By (1), greedy on the stored windows with ``d <= U_final``
gives the brute-force answer.  If fewer than k picks exist at all, ``W``
never fills (k spaced windows would give k picks), nothing is pruned, and
greedy sees every window.

Floating point and compilation: this module is compiled WITHOUT
``FASTMATH`` (a deliberate exception to the house rule). The stored distance
of a window must be plain IEEE arithmetic, so that it depends only on the
window's samples (identical windows tie exactly and the earlier start wins,
as in the brute force) and so that the independent reference reproduces it
bit for bit. A callee without fastmath, compiled through a fastmath caller,
was observed to give FMA-contracted results (``dtw_band`` called from
``scan``: last-bit differences), so the whole module goes without; the cascade's loops exit early and do not
vectorise anyway (measured: no speed difference within noise).
The lower bounds use running statistics (below) whose z-values are within
about 1e-9 of the exact ones; a window is pruned only when a bound exceeds
``U + 1e-7 * (U + m)``, well above that error, so pruning can only get more
conservative, never drop a window whose distance is ``<= U``.

Lower bounds, in the order applied (each early-abandons against U)
----------------------------------------------------------------
- LB_Kim (hierarchical): a monotone path visits every shell
  ``max(i, j) = t`` and every shell ``max(m-1-i, m-1-j) = t``; the minimum
  cost over a shell bounds the cost of the path cell in it.  Shells t = 0, 1,
  2 from each end are disjoint for m >= 6 (t <= 1 for m >= 4, t = 0 for
  m >= 2), and only those are used.
- LB_Keogh on the query's envelope ``[L_q, U_q]`` (width r), visiting the
  candidate's samples in order of decreasing ``|q|`` (the paper's
  reordering).  Term j bounds the cheapest band cell in candidate row j.
- LB_Keogh reversed: the candidate's envelope, taken from the envelope of the
  raw series computed once in O(n) with Lemire's deque and z-normalised per
  window (z-normalisation is monotone).  Near the window's edges this series
  envelope can be wider than the window's own, which only loosens the bound.
- DTW with early abandoning: after row i, ``min_j D[i, j] + cb[i + 1]`` is a
  bound, where ``cb[i + 1]`` sums the LB_Keogh terms of rows ``i+1 .. m-1``.
  The larger of the two LB_Keogh values picks the bound, and DTW runs with
  that sequence on the rows (DTW with a symmetric band is symmetric, and the
  transposed recurrence gives bit-identical values).

Z-normalisation: for the bounds, running sums of ``x - c`` and ``(x - c)**2``
(``c`` the first sample of the window where the sums were last restarted),
restarted exactly every ``max(256, m)`` windows; the largest ``|x - c|`` seen
since the restart bounds their rounding error, and whenever that bound could
exceed 1e-9 of the window's variance (a spike that has left the window, a
nearly flat window) the window's statistics are recomputed exactly and the
sums restarted. For the DTW stage (about 0.1-1% of the windows on a random
walk) the window is z-normalised again with exact two-pass statistics.

Kernels do not validate; ``align.search`` does.
"""

import numpy as np
from numba import njit


__all__ = [
    "BOUND_KIM",
    "BOUND_KEOGH",
    "BOUND_KEOGH_REVERSED",
    "BOUND_EARLY_ABANDON",
    "BOUND_ALL",
    "envelope",
    "dtw_band",
    "scan",
    "greedy_select",
]

# Bit flags for ``scan``'s ``bounds`` argument (the benchmark turns bounds off
# one by one; every combination gives the same result).
BOUND_KIM = 1
BOUND_KEOGH = 2
BOUND_KEOGH_REVERSED = 4
BOUND_EARLY_ABANDON = 8
BOUND_ALL = 15

# Counter slots written by ``scan`` into ``out_counts``.
COUNT_KIM = 0  # windows pruned by LB_Kim
COUNT_KEOGH = 1  # ... by LB_Keogh on the query envelope
COUNT_KEOGH_REVERSED = 2  # ... by LB_Keogh on the candidate envelope
COUNT_ABANDONED = 3  # DTW started and abandoned
COUNT_DTW = 4  # DTW computed to the end (distance stored)
N_COUNTS = 5

_EPS = 2.220446049250313e-16


@njit(cache=True)
def envelope(x, r, upper, lower):
    """Running max and min over ``x[max(0, i - r) : i + r + 1]``, in O(n).

    Parameters
    ----------
    x : np.ndarray [shape=(n,), float64]
    r : int
        Half-width, ``r >= 0``.
    upper, lower : np.ndarray [shape=(n,), float64]
        Outputs: ``upper[i] = max(x[i-r .. i+r])``, ``lower[i] = min(...)``,
        clipped to the array.

    Notes
    -----
    Two monotone deques of indices (Lemire 2006): the max deque keeps
    indices with decreasing values; each index enters and leaves once.
    """
    n = x.size
    # Ring buffers: a deque never holds more than 2r + 1 indices. head/tail
    # only grow; slot = counter & mask (capacity a power of two >= 2r + 2).
    cap = 1
    while cap < 2 * r + 2:
        cap *= 2
    mask = cap - 1
    qmax = np.empty(cap, dtype=np.int64)
    qmin = np.empty(cap, dtype=np.int64)
    hmax = 0
    tmax = 0  # deque = qmax[hmax .. tmax - 1] (mod cap)
    hmin = 0
    tmin = 0
    for i in range(n + r):
        if i < n:
            v = x[i]
            while tmax > hmax and x[qmax[(tmax - 1) & mask]] <= v:
                tmax -= 1
            qmax[tmax & mask] = i
            tmax += 1
            while tmin > hmin and x[qmin[(tmin - 1) & mask]] >= v:
                tmin -= 1
            qmin[tmin & mask] = i
            tmin += 1
        p = i - r  # output position whose window now ends at min(i, n - 1)
        if p >= 0:
            while qmax[hmax & mask] < p - r:
                hmax += 1
            while qmin[hmin & mask] < p - r:
                hmin += 1
            upper[p] = x[qmax[hmax & mask]]
            lower[p] = x[qmin[hmin & mask]]


@njit(cache=True)
def dtw_band(a, b, r, cb, threshold, prev, cur):
    """Banded symmetric1 DTW of equal-length ``a`` and ``b``, early-abandoning.

    Parameters
    ----------
    a, b : np.ndarray [shape=(m,), float64]
        ``a`` indexes the rows (i), ``b`` the columns (j).
    r : int
        Sakoe-Chiba half-width: cell (i, j) is allowed iff ``|i - j| <= r``.
    cb : np.ndarray [shape=(m + 1,), float64]
        ``cb[i]`` lower-bounds the cost of the path's cells in rows
        ``i .. m-1`` (zeros for plain DTW); ``cb[m]`` must be 0.
    threshold : float
        Abandon (return inf) as soon as ``min_j D[i, j] + cb[i + 1] >
        threshold``. Pass ``np.inf`` for the exact value in all cases.
    prev, cur : np.ndarray [shape=(m + 1,), float64]
        Scratch rows (overwritten).

    Returns
    -------
    float
        The sum of squared differences along the best banded path, or inf
        when it exceeds ``threshold`` (abandoned early or not).
    """
    m = a.size
    inf = np.inf
    # Slot j + 1 holds D[row, j]; slot 0 is D[row, -1] = inf except for the
    # virtual row -1 where D[-1, -1] = 0 seeds D[0, 0] = c(0, 0).
    for j in range(m + 1):
        prev[j] = inf
        cur[j] = inf
    prev[0] = 0.0
    for i in range(m):
        lo = i - r
        if lo < 0:
            lo = 0
        hi = i + r
        if hi > m - 1:
            hi = m - 1
        ai = a[i]
        left = inf  # D[i, lo - 1]
        cur[lo] = inf
        row_min = inf
        for j in range(lo, hi + 1):
            d = ai - b[j]
            best = prev[j + 1]  # D[i-1, j]; slot i+r+1 is never written: inf
            if prev[j] < best:  # D[i-1, j-1]
                best = prev[j]
            if left < best:
                best = left
            left = d * d + best
            cur[j + 1] = left
            if left < row_min:
                row_min = left
        if row_min + cb[i + 1] > threshold:
            return inf
        tmp = prev
        prev = cur
        cur = tmp
    if prev[m] > threshold:
        return inf
    return prev[m]


@njit(cache=True)
def _window_stats_exact(series, s, m):
    """Two-pass mean and 1/std of ``series[s:s+m]``; 1/std = 0 when flat."""
    lo = series[s]
    hi = series[s]
    total = 0.0
    for t in range(s, s + m):
        v = series[t]
        total += v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    if lo == hi:
        return lo, 0.0
    mean = total / m
    acc = 0.0
    for t in range(s, s + m):
        d = series[t] - mean
        acc += d * d
    var = acc / m
    if var <= 0.0:
        return mean, 0.0
    return mean, 1.0 / np.sqrt(var)


@njit(cache=True)
def znormalize_window(x, start, m, out):
    """``out[:] = (x[start:start+m] - mean) / std``, or zeros when flat.

    Parameters
    ----------
    x : np.ndarray [shape=(n,), float64]
    start, m : int
        The window ``x[start : start + m]``.
    out : np.ndarray [shape=(m,), float64]
        Output.

    Notes
    -----
    ``mean = (sum of x, left to right) / m``; ``std = sqrt((sum of
    (x - mean)**2, left to right) / m)`` (population std); each value is
    ``(x - mean) / std``. Flat means all samples equal, or ``std == 0`` after
    rounding (a spread that underflows); then ``out`` is all zeros.
    """
    lo = x[start]
    hi = x[start]
    for j in range(m):
        v = x[start + j]
        out[j] = v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    if lo == hi:
        for j in range(m):
            out[j] = 0.0
        return
    total = 0.0
    for j in range(m):
        total += out[j]
    mean = total / m
    acc = 0.0
    for j in range(m):
        d = out[j] - mean
        acc += d * d
    std = np.sqrt(acc / m)
    if std == 0.0:
        for j in range(m):
            out[j] = 0.0
        return
    for j in range(m):
        out[j] = (out[j] - mean) / std


# The front and back shells below are written out cell by cell, not looped:
# LB_Kim runs on every candidate window and stops at the first shell above the
# threshold, so it is written without loops or index arrays (kept for speed).
@njit(cache=True)
def _lb_kim(series, s, m, q, mean, inv_std, threshold):
    """Hierarchical LB_Kim on first/last shells; stops once above threshold."""
    x0 = (series[s] - mean) * inv_std
    d = x0 - q[0]
    lb = d * d
    if m == 1:
        return lb
    y0 = (series[s + m - 1] - mean) * inv_std
    d = y0 - q[m - 1]
    lb += d * d
    if lb > threshold or m < 4:
        return lb
    # shell t = 1 at the front: cells (0,1), (1,0), (1,1)
    x1 = (series[s + 1] - mean) * inv_std
    d = x1 - q[0]
    best = d * d
    d = x0 - q[1]
    best = min(best, d * d)
    d = x1 - q[1]
    best = min(best, d * d)
    lb += best
    if lb > threshold:
        return lb
    # shell t = 1 at the back
    y1 = (series[s + m - 2] - mean) * inv_std
    d = y1 - q[m - 1]
    best = d * d
    d = y0 - q[m - 2]
    best = min(best, d * d)
    d = y1 - q[m - 2]
    best = min(best, d * d)
    lb += best
    if lb > threshold or m < 6:
        return lb
    # shell t = 2 at the front: (0,2), (1,2), (2,2), (2,1), (2,0)
    x2 = (series[s + 2] - mean) * inv_std
    d = x0 - q[2]
    best = d * d
    d = x1 - q[2]
    best = min(best, d * d)
    d = x2 - q[2]
    best = min(best, d * d)
    d = x2 - q[1]
    best = min(best, d * d)
    d = x2 - q[0]
    best = min(best, d * d)
    lb += best
    if lb > threshold:
        return lb
    # shell t = 2 at the back
    y2 = (series[s + m - 3] - mean) * inv_std
    d = y0 - q[m - 3]
    best = d * d
    d = y1 - q[m - 3]
    best = min(best, d * d)
    d = y2 - q[m - 3]
    best = min(best, d * d)
    d = y2 - q[m - 2]
    best = min(best, d * d)
    d = y2 - q[m - 1]
    best = min(best, d * d)
    lb += best
    return lb


@njit(cache=True)
def scan(q, series, r, k, exclusion, znormalize, bounds, s_upper, s_lower, out_dist, out_counts):
    """Distances of every window that can matter for the k best matches.

    Parameters
    ----------
    q : np.ndarray [shape=(m,), float64]
        The query, already z-normalised when ``znormalize`` (flat -> zeros).
    series : np.ndarray [shape=(n,), float64], ``n >= m``
    r : int
        Band half-width, ``0 <= r < m``.
    k : int
        Number of matches wanted, ``k >= 1``.
    exclusion : int
        Two starts conflict iff they differ by less than ``max(exclusion, 1)``.
    znormalize : bool
    bounds : int
        OR of the ``BOUND_*`` flags; ``BOUND_ALL`` in normal use.
    s_upper, s_lower : np.ndarray [shape=(n,), float64]
        Scratch for the series envelope (overwritten).
    out_dist : np.ndarray [shape=(n - m + 1,), float64]
        Output: the exact distance of every window whose DTW was completed,
        +inf for windows pruned (whose distance exceeds the returned bound).
    out_counts : np.ndarray [shape=(N_COUNTS,), int64]
        Output: how many windows each stage removed (see ``COUNT_*``).

    Returns
    -------
    float
        ``U``: an upper bound on the k-th greedy match's distance (inf when
        fewer than k spaced windows were seen). Every window with distance
        ``<= U`` has its exact distance in ``out_dist``.
    """
    n = series.size
    m = q.size
    n_win = n - m + 1
    inf = np.inf
    use_kim = (bounds & BOUND_KIM) != 0
    use_keogh = (bounds & BOUND_KEOGH) != 0
    use_keogh2 = (bounds & BOUND_KEOGH_REVERSED) != 0
    use_ea = (bounds & BOUND_EARLY_ABANDON) != 0

    for c in range(out_counts.size):
        out_counts[c] = 0

    # Query envelope, and the query's samples ordered by decreasing |q|
    # (stable, so equal magnitudes keep index order).
    q_upper = np.empty(m)
    q_lower = np.empty(m)
    envelope(q, r, q_upper, q_lower)
    order = np.argsort(-np.abs(q), kind="mergesort")
    q_ord = np.empty(m)
    qu_ord = np.empty(m)
    ql_ord = np.empty(m)
    for t in range(m):
        q_ord[t] = q[order[t]]
        qu_ord[t] = q_upper[order[t]]
        ql_ord[t] = q_lower[order[t]]
    if use_keogh2:
        envelope(series, r, s_upper, s_lower)

    cz = np.empty(m)  # z-normalised candidate
    cb1 = np.zeros(m)  # LB_Keogh terms per candidate sample
    cb2 = np.zeros(m)  # reversed LB_Keogh terms per query sample
    cb = np.zeros(m + 1)  # suffix sums used by DTW (cb[m] = 0)
    zero_cb = np.zeros(m + 1)
    prev = np.empty(m + 1)
    cur = np.empty(m + 1)

    e = max(exclusion, 1)
    spacing = max(2 * e - 1, 1)
    slot_s = np.empty(k, dtype=np.int64)
    slot_d = np.empty(k)
    n_slots = 0
    last = -1  # index of the slot with the largest start
    U = inf
    thr = inf

    block = max(256, m)
    s_restart = 0
    amax = 0.0
    c0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for s in range(n_win):
        out_dist[s] = inf
        # ---- mean and 1/std of the window -------------------------------
        if znormalize:
            if s - s_restart >= block:
                s_restart = s  # periodic exact restart
            if s == s_restart:
                c0 = series[s]
                s1 = 0.0
                s2 = 0.0
                amax = 0.0
                for t in range(s, s + m):
                    d = series[t] - c0
                    s1 += d
                    s2 += d * d
                    if abs(d) > amax:
                        amax = abs(d)
            else:
                d_out = series[s - 1] - c0
                d_in = series[s + m - 1] - c0
                s1 += d_in - d_out
                s2 += d_in * d_in - d_out * d_out
                if abs(d_in) > amax:
                    amax = abs(d_in)
            mu = s1 / m
            var = s2 / m - mu * mu
            # Rounding error of the sliding sums after u updates is at most
            # about u * eps * amax**2 (amax: largest |x - c0| seen since the
            # restart, which may have left the window), plus the cancellation
            # in s2/m - mu**2. Use the running values only while that keeps
            # var to 1e-9 relative (hence z to ~1e-9 absolute, which the
            # pruning tolerance absorbs); otherwise restart exactly here.
            u = s - s_restart + m
            if var > 0.0 and (6.0 * u + 4.0 * m) * _EPS * amax * amax <= 1e-9 * m * var:
                mean = c0 + mu
                inv_std = 1.0 / np.sqrt(var)
            else:
                mean, inv_std = _window_stats_exact(series, s, m)
                s_restart = s + 1  # re-anchor the sums at the next window
        else:
            mean = 0.0
            inv_std = 1.0

        # ---- LB_Kim --------------------------------------------------------
        if use_kim and thr < inf:
            if _lb_kim(series, s, m, q, mean, inv_std, thr) > thr:
                out_counts[COUNT_KIM] += 1
                continue

        # ---- LB_Keogh, query envelope, reordered ----------------------------
        lb1 = 0.0
        if use_keogh:
            for t in range(m):
                j = order[t]
                x = (series[s + j] - mean) * inv_std
                d = 0.0
                if x > qu_ord[t]:
                    d = x - qu_ord[t]
                    d = d * d
                elif x < ql_ord[t]:
                    d = x - ql_ord[t]
                    d = d * d
                cb1[j] = d
                lb1 += d
                if lb1 > thr:
                    break
            if lb1 > thr:
                out_counts[COUNT_KEOGH] += 1
                continue

        # The candidate for DTW, with exact two-pass statistics (see
        # znormalize_window); the bounds above and below use the running ones.
        if znormalize:
            znormalize_window(series, s, m, cz)
        else:
            for j in range(m):
                cz[j] = series[s + j]

        # ---- LB_Keogh reversed: candidate envelope vs query ------------------
        lb2 = 0.0
        if use_keogh2:
            for t in range(m):
                i = order[t]
                uu = (s_upper[s + i] - mean) * inv_std
                ll = (s_lower[s + i] - mean) * inv_std
                qi = q_ord[t]
                d = 0.0
                if qi > uu:
                    d = qi - uu
                    d = d * d
                elif qi < ll:
                    d = qi - ll
                    d = d * d
                cb2[i] = d
                lb2 += d
                if lb2 > thr:
                    break
            if lb2 > thr:
                out_counts[COUNT_KEOGH_REVERSED] += 1
                continue

        # ---- DTW, early-abandoning with the cumulative bound -----------------
        if use_ea and thr < inf:
            if use_keogh and (lb1 >= lb2 or not use_keogh2):
                cb[m] = 0.0
                for j in range(m - 1, -1, -1):
                    cb[j] = cb[j + 1] + cb1[j]
                dist = dtw_band(cz, q, r, cb, thr, prev, cur)
            elif use_keogh2:
                cb[m] = 0.0
                for j in range(m - 1, -1, -1):
                    cb[j] = cb[j + 1] + cb2[j]
                dist = dtw_band(q, cz, r, cb, thr, prev, cur)
            else:
                dist = dtw_band(cz, q, r, zero_cb, thr, prev, cur)
        else:
            dist = dtw_band(cz, q, r, zero_cb, inf, prev, cur)
        if dist == inf:  # abandoned (only with early abandoning)
            out_counts[COUNT_ABANDONED] += 1
            continue
        out_dist[s] = dist
        out_counts[COUNT_DTW] += 1

        # ---- keep k pairwise-spaced windows; U = their largest distance -------
        if n_slots > 0 and s - slot_s[last] < spacing:
            if dist < slot_d[last]:
                slot_s[last] = s
                slot_d[last] = dist
        elif n_slots < k:
            slot_s[n_slots] = s
            slot_d[n_slots] = dist
            last = n_slots
            n_slots += 1
        else:
            worst = 0
            for t in range(1, k):
                if slot_d[t] > slot_d[worst]:
                    worst = t
            if dist < slot_d[worst]:
                slot_s[worst] = s
                slot_d[worst] = dist
                last = worst
        if n_slots == k:
            U = slot_d[0]
            for t in range(1, k):
                if slot_d[t] > U:
                    U = slot_d[t]
            thr = U + 1e-7 * (U + m)
    return U


@njit(cache=True)
def greedy_select(dist, threshold, k, exclusion, out_starts):
    """Greedy non-overlapping k best windows among those with ``dist <= threshold``.

    Parameters
    ----------
    dist : np.ndarray [shape=(n_windows,), float64]
        Distances; windows above ``threshold`` (e.g. +inf) are ignored.
    threshold : float
    k : int
    exclusion : int
        Starts ``s, t`` conflict iff ``|s - t| < max(exclusion, 1)``.
    out_starts : np.ndarray [shape=(k,), int64]
        Output: chosen starts, best first; ties in distance go to the
        earlier start.

    Returns
    -------
    int
        The number of windows chosen (``<= k``; fewer when no other window
        fits).
    """
    e = max(exclusion, 1)
    cand = np.nonzero(dist <= threshold)[0]
    vals = np.empty(cand.size)
    for t in range(cand.size):
        vals[t] = dist[cand[t]]
    # Stable sort: candidates are in increasing start, so ties keep it.
    rank = np.argsort(vals, kind="mergesort")
    count = 0
    for t in range(rank.size):
        s = cand[rank[t]]
        free = True
        for c in range(count):
            if abs(s - out_starts[c]) < e:
                free = False
                break
        if free:
            out_starts[count] = s
            count += 1
            if count == k:
                break
    return count
