"""Fast exact DTW distance (symmetric1, no path) for the CPU: wavefront kernels.

These are the distance-only fast paths that :mod:`align.dtw` dispatches to for
``step_pattern="symmetric1"``. They compute exactly the same recurrence as the
general kernels of :mod:`align.kernels.dtw`, in a different order (anti-diagonals),
so that the inner loop has no loop-carried dependency and LLVM vectorizes it
(AVX-512 ``vminpd``/``vminps`` on ``zmm`` registers where the CPU has them).

Recurrence (Sakoe & Chiba 1978, doi:10.1109/TASSP.1978.1163055, section II, the
symmetric form with unit weights, "symmetric1")::

    g(0, 0) = c(0, 0)
    g(i, j) = c(i, j) + min(g(i-1, j), g(i, j-1), g(i-1, j-1))

Boundary conditions: cells outside the grid, and cells outside the band
``lo[i] <= j <= hi[i]``, are ``+inf``. The result is ``g(N-1, M-1)`` as float64,
``+inf`` when no path stays inside the band. No path is returned, so no tie-break
rule is needed: ``min`` is symmetric and the value does not depend on which
predecessor wins.

Local costs ``c(i, j)`` (``metric_code``):

- ``0`` sqeuclidean ``sum_k (x[i,k] - y[j,k])**2``;
- ``1`` euclidean ``sqrt`` of that;
- ``2`` cityblock ``sum_k |x[i,k] - y[j,k]|``;
- ``3`` cosine ``1 - x.y / (|x| |y|)`` (only in :func:`sym1_nd`; every row must
  have a non-zero norm, which the API checks; see below).

For 1-D inputs euclidean and cityblock are both ``|x[i] - y[j]|``. Cosine is not
defined usefully for scalars (it is ``1 - sign(x) sign(y)``): :func:`sym1_1d` does
not take code 3; reshape to ``(N, 1)`` and call :func:`sym1_nd`.

Conventions against other libraries: with ``metric_code=0`` the result is the plain
sum of squared differences on the best path, as librosa, aeon and dtw-python
report; dtaidistance and tslearn report its square root
(``dtaidistance.dtw.distance_fast(x, y) == sqrt(sym1_1d(x, y, lo, hi, 0))``).

Precision: local costs and the accumulated table are computed in the inputs'
dtype (float32 inputs give a float32 wavefront, twice as many SIMD lanes; the
relative error of the sum is then of order ``1e-6 * sqrt(path length)``). Callers
who want float64 accumulation for float32 data pass float64 arrays. The BLAS
(``method=1``) variant of :func:`sym1_nd` computes the squared distance as
``|x|^2 + |y|^2 - 2 x.y`` (one matrix product per strip), clamped at 0. Its
absolute error per cell is below about ``(d + 2) * eps * (|x_i|^2 + |y_j|^2)``;
every cell whose value is at most ``GEMM_REFINE * (|x_i|^2 + |y_j|^2)``
(``1e-4`` for float64, ``1e-1`` for float32) is recomputed directly, so the
relative error of every cell, hence of the sum, is at most about
``(d + 2) * eps / GEMM_REFINE`` (``~1e-10`` for float64 at d = 40; observed
``~1e-15`` on random data) and identical rows give exactly 0. Cosine needs no
such refinement (its only cancellation, ``1 - cos``, is the same in both forms).
The direct form (``method=0``) has the rounding of a plain loop over features.

Layout of the computation (why it is fast)
------------------------------------------
The grid is cut into horizontal strips of ``H`` rows. Inside a strip the cells
are visited by anti-diagonals ``d = r + j`` (``r`` the row within the strip), keeping
the two previous anti-diagonals in small buffers indexed by ``r + 1``:

- the cell ``(r, j)`` reads ``prev1[r + 1]`` (left), ``prev1[r]`` (up) and
  ``prev2[r]`` (diagonal), all contiguous in ``r``;
- ``y`` is reversed once, so ``y[j] = y_rev[M - 1 - d + r]`` is contiguous in ``r``
  too: the inner loop is a plain streaming loop over five arrays;
- slot 0 of each buffer stands for row ``r = -1``, the last row of the previous
  strip, kept in one row buffer of length ``M`` that the strip overwrites in place
  with its own last row (a column is overwritten only after it was read);
- on every anti-diagonal the computed range ``[ra, rb]`` is bracketed by two
  ``+inf`` so that a later anti-diagonal never reads a stale value (the ranges
  move by at most one row per anti-diagonal because ``lo`` and ``hi`` are
  non-decreasing).

The working set of a strip (three buffers of ``H + 2`` values, ``H`` values of
``x`` and a sliding window of ``y``) stays in L1, and the full table is never
stored: memory is ``O(M + H)`` for :func:`sym1_1d`, plus a product block of
``min(H * M, GEMM_BLOCK_VALUES)`` values for the BLAS variant of
:func:`sym1_nd`. Inner loops index with unsigned offsets so that Numba emits no
negative-index wrap-around, which would otherwise stop LLVM from vectorizing
them.

Entry points (all ``@njit`` unless said; ``lo``, ``hi`` int64 ``(N,)`` inclusive
column bounds per row, both non-decreasing, ``0 <= lo``, ``hi < M``; a row with
``lo[i] > hi[i]`` is empty and makes the result ``inf``; full grid: ``lo = 0``,
``hi = M - 1``; bands from :func:`align.kernels.dtw_band.fill_band`, whose
Sakoe-Chiba and Itakura bands are non-decreasing; N, M >= 1)::

    sym1_1d(x, y, lo, hi, metric_code) -> float
        x (N,), y (M,), same dtype, float32 or float64, C-contiguous.
        metric_code in {0, 1, 2}.
    sym1_nd(x, y, lo, hi, metric_code, method=-1) -> float
        x (N, d), y (M, d), same dtype, float32 or float64, C-contiguous.
        metric_code in {0, 1, 2, 3}. method: 0 direct (exact form), 1 BLAS
        (codes 0, 1, 3; cityblock runs direct), -1 auto (BLAS when
        d >= GEMM_MIN_DIM, the metric allows it and M <= 131072).
    sym1_pairwise(X, x_offsets, Y, y_offsets, self_pairs, radius, metric_code, out)
        (plain Python dispatcher over two njit(parallel=True) drivers)
        X (TX,) or (TX, d) concatenated series, x_offsets int64 (nX + 1,);
        series a is X[x_offsets[a]:x_offsets[a+1]]. Y, y_offsets likewise.
        self_pairs: True means Y is X, only a < b is computed, mirrored, and
        the diagonal is set to 0. radius: int, -1 for no band, else the
        Sakoe-Chiba rule |i*(M-1) - j*(N-1)| <= radius*max(N-1, M-1).
        metric_code as sym1_1d (1-D data) or sym1_nd (2-D data, direct form).
        out (nX, nY) float64, written in place. prange over blocks of pairs;
        use numba.set_num_threads to choose the number of threads.

See Also
--------
align.kernels.dtw : the general kernels (all step patterns, paths, subsequence).
align.kernels.dtw_band : ``fill_band`` (the band rules) and feasibility.
"""

import math

import numpy as np
from numba import get_num_threads, njit, prange

from ._config import FASTMATH
from .dtw_band import fill_band

__all__ = [
    "STRIP_ROWS",
    "STRIP_ROWS_ND",
    "GEMM_MIN_DIM",
    "GEMM_MIN_ROWS",
    "GEMM_BLOCK_VALUES",
    "GEMM_REFINE_F64",
    "GEMM_REFINE_F32",
    "sym1_1d",
    "sym1_nd",
    "sym1_pairwise",
]

#: rows per strip for the 1-D kernel (3 buffers of 514 float64 stay in L1)
STRIP_ROWS = 512
#: rows per strip for the BLAS variant (its product block is STRIP_ROWS_ND x M)
STRIP_ROWS_ND = 256
#: the BLAS variant's product block holds at most this many values (32 MiB in
#: float64): strips get fewer rows when M is large
GEMM_BLOCK_VALUES = 1 << 22
#: auto mode uses BLAS only when a strip can have at least this many rows
GEMM_MIN_ROWS = 32
#: below this feature dimension the direct cost beats a BLAS call per strip
GEMM_MIN_DIM = 8
#: the BLAS form recomputes directly every cell whose squared distance is at most
#: this fraction of |x|^2 + |y|^2 (float64 and float32 inputs)
GEMM_REFINE_F64 = 1e-4
GEMM_REFINE_F32 = 1e-1

_FM = set(FASTMATH)
# Options of every kernel here: no bounds checks (the loops are in range by
# construction) and numpy's error model (no ZeroDivisionError branch, which would
# keep the loops from vectorizing).
_OPTS = dict(cache=True, fastmath=_FM, boundscheck=False, error_model="numpy")

_U1 = np.uint64(1)


# ---------------------------------------------------------------------------
# Inner loops: one anti-diagonal. Offsets are uint64 on purpose (see module doc).
# ---------------------------------------------------------------------------


@njit(**_OPTS)
def _diag_1d_sq(x, yr, p1, p2, cur, ox, oy, o, cnt):
    for k in range(cnt):
        df = x[ox + k] - yr[oy + k]
        c = df * df
        a = p1[o + k + _U1]
        b = p1[o + k]
        e = p2[o + k]
        m = a if a < b else b
        m = m if m < e else e
        cur[o + k + _U1] = c + m


@njit(**_OPTS)
def _diag_1d_abs(x, yr, p1, p2, cur, ox, oy, o, cnt):
    for k in range(cnt):
        c = abs(x[ox + k] - yr[oy + k])
        a = p1[o + k + _U1]
        b = p1[o + k]
        e = p2[o + k]
        m = a if a < b else b
        m = m if m < e else e
        cur[o + k + _U1] = c + m


@njit(**_OPTS)
def _diag_cost(cb, p1, p2, cur, o, cnt):
    # the local costs of the anti-diagonal are already in cb[0:cnt]
    for k in range(cnt):
        a = p1[o + k + _U1]
        b = p1[o + k]
        e = p2[o + k]
        m = a if a < b else b
        m = m if m < e else e
        cur[o + k + _U1] = cb[k] + m


@njit(**_OPTS)
def _cost_direct(xt, yrt, n, m, dim, metric, ox, oy, cnt, xn, yrn, cb):
    # xt (dim*n,) is x transposed, yrt (dim*m,) is y reversed then transposed:
    # feature k of the anti-diagonal's cells is contiguous in both. Features are
    # taken four at a time so that cb is loaded and stored once per four (the
    # loop is bound by loads); the sum is still accumulated in feature order.
    for t in range(cnt):
        cb[t] = 0
    k = 0
    while k + 4 <= dim:
        b0 = np.uint64(k * n) + ox
        b1 = b0 + np.uint64(n)
        b2 = b1 + np.uint64(n)
        b3 = b2 + np.uint64(n)
        c0 = np.uint64(k * m) + oy
        c1 = c0 + np.uint64(m)
        c2 = c1 + np.uint64(m)
        c3 = c2 + np.uint64(m)
        if metric == 2:
            for t in range(cnt):
                cb[t] = (cb[t] + abs(xt[b0 + t] - yrt[c0 + t]) + abs(xt[b1 + t] - yrt[c1 + t])
                         + abs(xt[b2 + t] - yrt[c2 + t]) + abs(xt[b3 + t] - yrt[c3 + t]))
        elif metric == 3:
            for t in range(cnt):
                cb[t] = (cb[t] + xt[b0 + t] * yrt[c0 + t] + xt[b1 + t] * yrt[c1 + t]
                         + xt[b2 + t] * yrt[c2 + t] + xt[b3 + t] * yrt[c3 + t])
        else:
            for t in range(cnt):
                d0 = xt[b0 + t] - yrt[c0 + t]
                d1 = xt[b1 + t] - yrt[c1 + t]
                d2 = xt[b2 + t] - yrt[c2 + t]
                d3 = xt[b3 + t] - yrt[c3 + t]
                cb[t] = cb[t] + d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3
        k += 4
    while k < dim:
        bx = np.uint64(k * n) + ox
        by = np.uint64(k * m) + oy
        if metric == 2:
            for t in range(cnt):
                cb[t] += abs(xt[bx + t] - yrt[by + t])
        elif metric == 3:
            for t in range(cnt):
                cb[t] += xt[bx + t] * yrt[by + t]
        else:
            for t in range(cnt):
                df = xt[bx + t] - yrt[by + t]
                cb[t] += df * df
        k += 1
    if metric == 1:
        for t in range(cnt):
            cb[t] = math.sqrt(cb[t])
    elif metric == 3:
        for t in range(cnt):
            cb[t] = 1.0 - cb[t] / (xn[ox + t] * yrn[oy + t])


@njit(**_OPTS)
def _min3(p1, p2, o):
    a = p1[o + _U1]
    b = p1[o]
    e = p2[o]
    m = a if a < b else b
    return m if m < e else e


@njit(**_OPTS)
def _diag_gemm(blk, hs, jlo, r0, d, cnt, xx, yyr, i0, m, metric, refine, x2, y2, p1, p2, cur):
    """One anti-diagonal of the BLAS variant.

    blk (w*hs,) holds ``y[jlo + q] . x[i0 + r]`` at ``q*hs + r``, so the cell
    (r, d - r) is at ``(d - r - jlo)*hs + r``: a stride of -(hs - 1) along the
    anti-diagonal (a gather within a few pages). Squared distances come from
    ``|x|^2 + |y|^2 - 2 x.y`` clamped at 0; cells where that is at most
    ``refine * (|x|^2 + |y|^2)`` (where cancellation could matter) are counted
    without a branch (the loop stays vectorized) and, if any, recomputed
    directly in a second, scalar pass over the anti-diagonal.
    """
    base = np.uint64((d - r0 - jlo) * hs + r0)
    step = np.uint64(hs - 1)
    ox = np.uint64(i0 + r0)
    oy = np.uint64(m - 1 - d + r0)
    o = np.uint64(r0)
    n = np.uint64(cnt)
    if metric == 3:
        for t in range(n):
            c = 1.0 - blk[base - t * step] / (xx[ox + t] * yyr[oy + t])
            cur[o + t + _U1] = c + _min3(p1, p2, o + t)
        return
    nsmall = 0
    if metric == 1:
        for t in range(n):
            dot = blk[base - t * step]
            nrm = xx[ox + t] + yyr[oy + t]
            v = nrm - (dot + dot)
            v = v if v > 0 else 0
            nsmall += 1 if v <= refine * nrm else 0
            cur[o + t + _U1] = math.sqrt(v) + _min3(p1, p2, o + t)
    else:
        for t in range(n):
            dot = blk[base - t * step]
            nrm = xx[ox + t] + yyr[oy + t]
            v = nrm - (dot + dot)
            v = v if v > 0 else 0
            nsmall += 1 if v <= refine * nrm else 0
            cur[o + t + _U1] = v + _min3(p1, p2, o + t)
    if nsmall == 0:
        return
    dim = x2.shape[1]
    for t in range(n):
        dot = blk[base - t * step]
        nrm = xx[ox + t] + yyr[oy + t]
        v = nrm - (dot + dot)
        v = v if v > 0 else 0
        if v <= refine * nrm:
            i = i0 + r0 + np.int64(t)
            j = d - r0 - np.int64(t)
            acc = x2[i, 0] - x2[i, 0]
            for k in range(dim):
                df = x2[i, k] - y2[j, k]
                acc += df * df
            c = math.sqrt(acc) if metric == 1 else acc
            cur[o + t + _U1] = c + _min3(p1, p2, o + t)


# ---------------------------------------------------------------------------
# Strip drivers
# ---------------------------------------------------------------------------


@njit(**_OPTS)
def _boundary(rowbuf, i0, plo, phi, j):
    """g(i0 - 1, j): the last row of the previous strip (or the virtual start)."""
    if i0 == 0:
        return 0.0 if j == -1 else np.inf
    if j >= plo and j <= phi:
        return rowbuf[j]
    return np.inf


@njit(**_OPTS)
def _strip_start(lo, hi, i0, hs, rowbuf, p2, p1, cur):
    """Reset the three anti-diagonal buffers for the strip of rows i0..i0+hs-1.

    Returns the strip's first and last anti-diagonal and the band of the row
    above it (``i0 - 1``), which bounds what may be read from rowbuf.
    """
    inf = np.inf
    dstart = lo[i0]
    dend = hs - 1 + hi[i0 + hs - 1]
    for k in range(hs + 2):
        p2[k] = inf
        p1[k] = inf
        cur[k] = inf
    plo = lo[i0 - 1] if i0 > 0 else 0
    phi = hi[i0 - 1] if i0 > 0 else -1
    p2[0] = _boundary(rowbuf, i0, plo, phi, dstart - 1)
    p1[0] = _boundary(rowbuf, i0, plo, phi, dstart)
    return dstart, dend, plo, phi


@njit(**_OPTS)
def _advance(lo, hi, i0, hs, d, ra, rb):
    """Rows ra..rb of the strip that anti-diagonal d crosses inside the band."""
    while rb + 1 < hs and rb + 1 + lo[i0 + rb + 1] <= d:
        rb += 1
    while ra < hs and ra + hi[i0 + ra] < d:
        ra += 1
    return ra, rb


@njit(**_OPTS)
def _strip_diag_end(rowbuf, cur, i0, hs, d, ra, rb, plo, phi):
    """Close anti-diagonal d: bracket its range with +inf (see the module doc),
    load the next boundary value, and hand the strip's last row to rowbuf."""
    cur[ra] = np.inf
    cur[rb + 2] = np.inf
    cur[0] = _boundary(rowbuf, i0, plo, phi, d + 1)
    if rb == hs - 1 and ra <= rb:
        rowbuf[d - hs + 1] = cur[hs]


@njit(**_OPTS)
def _end_value(lo, hi, rowbuf):
    n = lo.shape[0]
    m = rowbuf.shape[0]
    if lo[n - 1] <= m - 1 and m - 1 <= hi[n - 1]:
        return np.float64(rowbuf[m - 1])
    return np.inf


# The three walkers below share the strip and anti-diagonal bookkeeping above and
# differ only in how an anti-diagonal's local costs are obtained. They are three
# functions, not one with a mode switch, so that each compiled specialization
# holds only its own vectorized loops (this halves the compile time).


@njit(**_OPTS)
def _wavefront_1d(x, yr, lo, hi, metric, h, rowbuf, p2, p1, cur):
    """g(N-1, M-1) for 1-D x (N,) and y reversed yr (M,), strips of h rows.

    rowbuf (M,), p2/p1/cur (h + 2,): scratch in the accumulation dtype.
    """
    n = lo.shape[0]
    m = rowbuf.shape[0]
    for i0 in range(0, n, h):
        hs = min(h, n - i0)
        dstart, dend, plo, phi = _strip_start(lo, hi, i0, hs, rowbuf, p2, p1, cur)
        if dstart > dend:
            return np.inf
        ra = 0
        rb = -1
        for d in range(dstart, dend + 1):
            ra, rb = _advance(lo, hi, i0, hs, d, ra, rb)
            if rb >= ra:
                o = np.uint64(ra)
                ox = np.uint64(i0 + ra)
                oy = np.uint64(m - 1 - d + ra)
                uc = np.uint64(rb + 1 - ra)
                if metric == 0:
                    _diag_1d_sq(x, yr, p1, p2, cur, ox, oy, o, uc)
                else:
                    _diag_1d_abs(x, yr, p1, p2, cur, ox, oy, o, uc)
            _strip_diag_end(rowbuf, cur, i0, hs, d, ra, rb, plo, phi)
            p2, p1, cur = p1, cur, p2
    return _end_value(lo, hi, rowbuf)


# _wavefront_1d, _wavefront_direct and _wavefront_gemm walk the same strips and
# differ in how a diagonal's costs are made; each is written out so that its
# inner loop is specialised to its cost kind and vectorises: a duplicate kept
# for compiled speed.
@njit(**_OPTS)
def _wavefront_direct(xt, yrt, dim, xn, yrn, lo, hi, metric, h, rowbuf, p2, p1, cur, cb):
    """g(N-1, M-1) for n-D data, direct local costs, strips of h rows.

    xt (d*N,) x transposed, yrt (d*M,) y reversed then transposed, xn/yrn the
    norms (cosine only, y's reversed), cb (h,) scratch for one anti-diagonal.
    """
    n = lo.shape[0]
    m = rowbuf.shape[0]
    for i0 in range(0, n, h):
        hs = min(h, n - i0)
        dstart, dend, plo, phi = _strip_start(lo, hi, i0, hs, rowbuf, p2, p1, cur)
        if dstart > dend:
            return np.inf
        ra = 0
        rb = -1
        for d in range(dstart, dend + 1):
            ra, rb = _advance(lo, hi, i0, hs, d, ra, rb)
            if rb >= ra:
                o = np.uint64(ra)
                ox = np.uint64(i0 + ra)
                oy = np.uint64(m - 1 - d + ra)
                uc = np.uint64(rb + 1 - ra)
                _cost_direct(xt, yrt, n, m, dim, metric, ox, oy, uc, xn, yrn, cb)
                _diag_cost(cb, p1, p2, cur, o, uc)
            _strip_diag_end(rowbuf, cur, i0, hs, d, ra, rb, plo, phi)
            p2, p1, cur = p1, cur, p2
    return _end_value(lo, hi, rowbuf)


@njit(**_OPTS)
def _wavefront_gemm(x, y, xn, yrn, lo, hi, metric, h, refine, rowbuf, p2, p1, cur, blk):
    """g(N-1, M-1) for n-D data, local costs from one BLAS product per strip.

    x (N, d), y (M, d); xn = |x|^2 (|x| for cosine), yrn the same of y
    reversed; blk (h*M,) scratch for the product; refine: see _diag_gemm.
    """
    n = lo.shape[0]
    m = rowbuf.shape[0]
    for i0 in range(0, n, h):
        hs = min(h, n - i0)
        dstart, dend, plo, phi = _strip_start(lo, hi, i0, hs, rowbuf, p2, p1, cur)
        if dstart > dend:
            return np.inf
        # one product for the strip's columns jlo..jlo+w-1, laid out (w, hs)
        jlo = lo[i0]
        w = hi[i0 + hs - 1] - jlo + 1
        out = blk[: hs * w].reshape((w, hs))
        np.dot(y[jlo:jlo + w], x[i0:i0 + hs].T, out)
        ra = 0
        rb = -1
        for d in range(dstart, dend + 1):
            ra, rb = _advance(lo, hi, i0, hs, d, ra, rb)
            if rb >= ra:
                _diag_gemm(blk, hs, jlo, ra, d, rb + 1 - ra, xn, yrn, i0, m, metric, refine,
                           x, y, p1, p2, cur)
            _strip_diag_end(rowbuf, cur, i0, hs, d, ra, rb, plo, phi)
            p2, p1, cur = p1, cur, p2
    return _end_value(lo, hi, rowbuf)


@njit(**_OPTS)
def _sym1_1d_into(x, yr, lo, hi, metric, rowbuf, p2, p1, cur):
    return _wavefront_1d(x, yr, lo, hi, metric, p2.shape[0] - 2, rowbuf, p2, p1, cur)


@njit(**_OPTS, nogil=True)
def sym1_1d(x, y, lo, hi, metric_code):
    """Symmetric1 DTW distance of two 1-D series (see the module docstring).

    Parameters
    ----------
    x : np.ndarray [shape=(N,), float32 or float64]
    y : np.ndarray [shape=(M,), same dtype as x]
    lo, hi : np.ndarray [shape=(N,), int64]
        Inclusive allowed columns of each row (non-decreasing).
    metric_code : int
        0 sqeuclidean, 1 euclidean, 2 cityblock (1 and 2 are both ``|x - y|``).

    Returns
    -------
    float
        ``g(N-1, M-1)``; ``inf`` when no path stays in the band.
    """
    m = y.shape[0]
    h = min(STRIP_ROWS, x.shape[0])
    yr = y[::-1].copy()
    rowbuf = np.full(m, np.inf, dtype=x.dtype)
    bufs = np.full((3, h + 2), np.inf, dtype=x.dtype)
    return _sym1_1d_into(x, yr, lo, hi, metric_code, rowbuf, bufs[0], bufs[1], bufs[2])


@njit(**_OPTS)
def _nd_prepare_direct(x, y, metric):
    n, dim = x.shape
    m = y.shape[0]
    xt = np.ascontiguousarray(x.T).reshape(n * dim)
    yrt = np.ascontiguousarray(y[::-1].T).reshape(m * dim)
    if metric == 3:
        xn = np.sqrt((x * x).sum(axis=1))
        yrn = np.sqrt((y[::-1] * y[::-1]).sum(axis=1))
    else:
        xn = np.empty(1, dtype=x.dtype)
        yrn = xn
    return xt, yrt, xn, yrn


@njit(**_OPTS)
def _sym1_nd_direct_into(xt, yrt, dim, xn, yrn, lo, hi, metric, rowbuf, p2, p1, cur, cb):
    return _wavefront_direct(xt, yrt, dim, xn, yrn, lo, hi, metric, p2.shape[0] - 2,
                             rowbuf, p2, p1, cur, cb)


@njit(**_OPTS, nogil=True)
def sym1_nd(x, y, lo, hi, metric_code, method=-1):
    """Symmetric1 DTW distance of two multivariate series (see the module docstring).

    Parameters
    ----------
    x : np.ndarray [shape=(N, d), float32 or float64, C-contiguous]
    y : np.ndarray [shape=(M, d), same dtype as x, C-contiguous]
    lo, hi : np.ndarray [shape=(N,), int64]
        Inclusive allowed columns of each row (non-decreasing).
    metric_code : int
        0 sqeuclidean, 1 euclidean, 2 cityblock, 3 cosine.
    method : int
        0 direct (exact form), 1 BLAS (``|x|^2 + |y|^2 - 2 x.y``, codes 0, 1, 3;
        see the precision note; cityblock always runs the direct form), -1 auto:
        BLAS when ``d >= GEMM_MIN_DIM``, the metric is not cityblock and a strip
        of ``GEMM_MIN_ROWS`` rows fits the ``GEMM_BLOCK_VALUES`` budget
        (``M <= 131072``).

    Notes
    -----
    Memory: ``O(M)`` for the direct form; the BLAS form adds a product block of
    at most ``min(STRIP_ROWS_ND * M, GEMM_BLOCK_VALUES)`` values (32 MiB).

    Returns
    -------
    float
        ``g(N-1, M-1)``; ``inf`` when no path stays in the band.
    """
    n, dim = x.shape
    m = y.shape[0]
    h = max(1, min(STRIP_ROWS_ND, n, GEMM_BLOCK_VALUES // m))
    use_gemm = method == 1 or (
        method == -1 and dim >= GEMM_MIN_DIM and (h >= GEMM_MIN_ROWS or h == n))
    if metric_code == 2:
        use_gemm = False
    if use_gemm:
        xn = (x * x).sum(axis=1)
        yn = (y[::-1] * y[::-1]).sum(axis=1)  # reversed, as y in the 1-D kernel
        if metric_code == 3:
            xn = np.sqrt(xn)
            yn = np.sqrt(yn)
        rowbuf = np.full(m, np.inf, dtype=x.dtype)
        bufs = np.full((3, h + 2), np.inf, dtype=x.dtype)
        blk = np.empty(h * m, dtype=x.dtype)
        refine = GEMM_REFINE_F32 if x.itemsize == 4 else GEMM_REFINE_F64
        return _wavefront_gemm(x, y, xn, yn, lo, hi, metric_code, h, refine,
                               rowbuf, bufs[0], bufs[1], bufs[2], blk)
    h = min(STRIP_ROWS, n)
    xt, yrt, xn, yrn = _nd_prepare_direct(x, y, metric_code)
    rowbuf = np.full(m, np.inf, dtype=x.dtype)
    bufs = np.full((3, h + 2), np.inf, dtype=x.dtype)
    cb = np.empty(h, dtype=x.dtype)
    return _sym1_nd_direct_into(xt, yrt, dim, xn, yrn, lo, hi, metric_code, rowbuf,
                                bufs[0], bufs[1], bufs[2], cb)


# ---------------------------------------------------------------------------
# Many pairs
# ---------------------------------------------------------------------------


@njit(**_OPTS)
def _pair_list(nx, ny, self_pairs):
    if self_pairs:
        npairs = nx * (nx - 1) // 2
    else:
        npairs = nx * ny
    pa = np.empty(npairs, dtype=np.int64)
    pb = np.empty(npairs, dtype=np.int64)
    p = 0
    for a in range(nx):
        for b in range(a + 1 if self_pairs else 0, ny):
            pa[p] = a
            pb[p] = b
            p += 1
    return pa, pb


@njit(**_OPTS)
def _max_len(offsets):
    best = 0
    for k in range(offsets.shape[0] - 1):
        best = max(best, offsets[k + 1] - offsets[k])
    return best


@njit(**_OPTS)
def _pair_band(n, m, radius, lo, hi):
    if radius < 0:
        fill_band(n, m, 0, 0, 1.0, lo, hi)
    else:
        fill_band(n, m, 1, radius, 1.0, lo, hi)


@njit(cache=True, fastmath=_FM, boundscheck=False, error_model="numpy", parallel=True)
def _pairwise_1d(X, x_offsets, Y, y_offsets, self_pairs, radius, metric_code, out, nchunks):
    nx = x_offsets.shape[0] - 1
    ny = y_offsets.shape[0] - 1
    pa, pb = _pair_list(nx, ny, self_pairs)
    npairs = pa.shape[0]
    ty = Y.shape[0]
    # every series of Y reversed at once: series b is yr_all[ty - end : ty - start]
    yr_all = Y[::-1].copy()
    maxn = _max_len(x_offsets)
    maxm = _max_len(y_offsets)
    h = max(1, min(STRIP_ROWS, maxn))
    nblocks = min(npairs, nchunks)
    for blk in prange(nblocks):
        # per-block scratch, reused by every pair of the block
        lo = np.empty(maxn, dtype=np.int64)
        hi = np.empty(maxn, dtype=np.int64)
        rowbuf = np.empty(maxm, dtype=X.dtype)
        bufs = np.empty((3, h + 2), dtype=X.dtype)
        for p in range(blk * npairs // nblocks, (blk + 1) * npairs // nblocks):
            a = pa[p]
            b = pb[p]
            n = x_offsets[a + 1] - x_offsets[a]
            m = y_offsets[b + 1] - y_offsets[b]
            _pair_band(n, m, radius, lo[:n], hi[:n])
            val = _sym1_1d_into(
                X[x_offsets[a]:x_offsets[a + 1]],
                yr_all[ty - y_offsets[b + 1]:ty - y_offsets[b]],
                lo[:n], hi[:n], metric_code, rowbuf[:m],
                bufs[0, : min(h, n) + 2], bufs[1, : min(h, n) + 2], bufs[2, : min(h, n) + 2],
            )
            out[a, b] = val
            if self_pairs:
                out[b, a] = val
    if self_pairs:
        for a in range(nx):
            out[a, a] = 0.0


@njit(cache=True, fastmath=_FM, boundscheck=False, error_model="numpy", parallel=True)
def _pairwise_nd(X, x_offsets, Y, y_offsets, self_pairs, radius, metric_code, out, nchunks):
    nx = x_offsets.shape[0] - 1
    ny = y_offsets.shape[0] - 1
    dim = X.shape[1]
    pa, pb = _pair_list(nx, ny, self_pairs)
    npairs = pa.shape[0]
    # every series transposed (x) or reversed and transposed (y), laid end to
    # end: series a starts at dim * offsets[a]
    xt_all = np.empty(X.shape[0] * dim, dtype=X.dtype)
    xn_all = np.ones(X.shape[0], dtype=X.dtype)
    for a in range(nx):
        s0 = x_offsets[a]
        n = x_offsets[a + 1] - s0
        for k in range(dim):
            for i in range(n):
                xt_all[dim * s0 + k * n + i] = X[s0 + i, k]
        if metric_code == 3:
            for i in range(n):
                xn_all[s0 + i] = np.sqrt((X[s0 + i] * X[s0 + i]).sum())
    yrt_all = np.empty(Y.shape[0] * dim, dtype=Y.dtype)
    yrn_all = np.ones(Y.shape[0], dtype=Y.dtype)
    for b in range(ny):
        s0 = y_offsets[b]
        m = y_offsets[b + 1] - s0
        for k in range(dim):
            for j in range(m):
                yrt_all[dim * s0 + k * m + j] = Y[s0 + m - 1 - j, k]
        if metric_code == 3:
            for j in range(m):
                yrn_all[s0 + j] = np.sqrt((Y[s0 + m - 1 - j] * Y[s0 + m - 1 - j]).sum())
    maxn = _max_len(x_offsets)
    maxm = _max_len(y_offsets)
    h = max(1, min(STRIP_ROWS, maxn))
    nblocks = min(npairs, nchunks)
    for blk in prange(nblocks):
        lo = np.empty(maxn, dtype=np.int64)
        hi = np.empty(maxn, dtype=np.int64)
        rowbuf = np.empty(maxm, dtype=X.dtype)
        bufs = np.empty((3, h + 2), dtype=X.dtype)
        cb = np.empty(h, dtype=X.dtype)
        for p in range(blk * npairs // nblocks, (blk + 1) * npairs // nblocks):
            a = pa[p]
            b = pb[p]
            sa = x_offsets[a]
            sb = y_offsets[b]
            n = x_offsets[a + 1] - sa
            m = y_offsets[b + 1] - sb
            _pair_band(n, m, radius, lo[:n], hi[:n])
            hh = min(h, n)
            val = _sym1_nd_direct_into(
                xt_all[dim * sa:dim * (sa + n)], yrt_all[dim * sb:dim * (sb + m)], dim,
                xn_all[sa:sa + n], yrn_all[sb:sb + m], lo[:n], hi[:n], metric_code,
                rowbuf[:m], bufs[0, : hh + 2], bufs[1, : hh + 2], bufs[2, : hh + 2], cb[:hh],
            )
            out[a, b] = val
            if self_pairs:
                out[b, a] = val
    if self_pairs:
        for a in range(nx):
            out[a, a] = 0.0


def sym1_pairwise(X, x_offsets, Y, y_offsets, self_pairs, radius, metric_code, out):
    """Symmetric1 DTW distances of many ragged series, in parallel.

    Parameters
    ----------
    X : np.ndarray [shape=(TX,) or (TX, d), float32 or float64, C-contiguous]
        The series of the first set, end to end.
    x_offsets : np.ndarray [shape=(nX + 1,), int64]
        Series ``a`` is ``X[x_offsets[a]:x_offsets[a + 1]]`` (length >= 1).
    Y, y_offsets : as X, x_offsets (same dtype and ndim as X)
        The second set. Ignored when ``self_pairs`` (pass X, x_offsets again).
    self_pairs : bool
        True: distances within X; only ``a < b`` is computed and mirrored, the
        diagonal is set to 0 (the value of the diagonal path, exact for codes
        0-2, and the rounding-free value for cosine).
    radius : int
        Sakoe-Chiba radius by the rule ``|i*(M-1) - j*(N-1)| <= radius*max(N-1, M-1)``
        (``align.kernels.dtw_band.fill_band``), or -1 for no band.
    metric_code : int
        As :func:`sym1_1d` for 1-D data, :func:`sym1_nd` (direct form) for 2-D.
    out : np.ndarray [shape=(nX, nY), float64]
        Written in place: ``out[a, b]`` is the distance (``inf`` when the band
        admits no path).

    Notes
    -----
    ``prange`` over ``4 * numba.get_num_threads()`` blocks of pairs; each block
    owns its scratch buffers. The number of threads is ``numba.set_num_threads``'s.
    """
    if self_pairs:
        Y, y_offsets = X, x_offsets
    # read here, not inside the jitted driver: a call to get_num_threads() there
    # keeps Numba from caching it
    nchunks = 4 * get_num_threads()
    if X.ndim == 1:
        _pairwise_1d(X, x_offsets, Y, y_offsets, bool(self_pairs), int(radius),
                     int(metric_code), out, nchunks)
    else:
        _pairwise_nd(X, x_offsets, Y, y_offsets, bool(self_pairs), int(radius),
                     int(metric_code), out, nchunks)
    return out
