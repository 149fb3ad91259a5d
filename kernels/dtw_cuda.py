"""Exact DTW distances of many 1-D pairs on the GPU (numba-cuda).

Recurrence (Sakoe & Chiba 1978, doi:10.1109/TASSP.1978.1163055, section II),
step pattern symmetric1, local cost the squared difference ``c(i, j) = (x_i - y_j)**2``::

    g(0, 0) = c(0, 0)
    g(i, j) = c(i, j) + min(g(i-1, j-1), g(i-1, j), g(i, j-1))

with ``g = +inf`` outside the table; the distance is ``g(n-1, m-1)``, the plain sum
of squared differences along the best path (what librosa, aeon and dtw-python
report; dtaidistance and tslearn report its square root). Only the value is
computed, so no tie-break is needed; ``min`` is exact, and
``min_k (g_k + c) == c + min_k g_k`` in floating point (rounding is monotone), so
the value is the one the CPU kernels of :mod:`align.kernels.dtw` compute. As
there, the local cost is computed in the inputs' dtype and accumulated in float64.

Layout: one thread per pair (``b = cuda.grid(1)``), for the "many short pairs"
workload (B = 16,384, N = M = 256). A thread sweeps its table in strips of
eight rows. The eight current cells of a column live in registers (eight named
variables: local arrays with a computed index would spill to local memory),
so a column costs eight cells of arithmetic, one load of ``y[b, j]`` and one
load plus one store of the row that joins two strips. That row lives in the
scratch array ``work`` laid out ``(M, B)``: thread ``b`` touches ``work[j, b]``,
so a warp's 32 accesses fall in one 256-byte segment (coalesced) at every
step. The next column's loads are issued before the current column is
computed, to hide their latency behind arithmetic. No shared memory, no warp
shuffles, no synchronisation: any length works, and the kernel runs under the
CUDA simulator exactly as on a device. It needs enough pairs to fill the GPU
(a few thousand); few long pairs are better served by the CPU kernels.

The first strip reads the ``+inf`` row ``work[:, b]`` is filled with at the
start (the ``g(-1, j)`` boundary); column 0 takes vertical steps only.
Rows past ``n - 1`` in the last strip repeat ``x[b, n-1]``: they compute
finite values that nothing reads.

Launch::

    dtw_batch[ceil(B / threads), threads](x, y, len_x, len_y, work, out)

See Also
--------
align.kernels.dtw : the CPU kernels (ragged pairs, every option).
align.dtw_pairwise : the public entry point.
"""

import math

from numba import cuda, float64

__all__ = ["dtw_batch", "STRIP"]

#: rows per strip (the number of register-held cells per column)
STRIP = 8


@cuda.jit(device=True)
def _sq(a, b):
    # the cost in the inputs' dtype, widened for the float64 accumulation
    d = a - b
    return float64(d * d)


@cuda.jit(device=True)
def _min3(diag, left, up):
    # diag and left come from the previous column; up is the fresh value, last,
    # so that only one comparison waits on the critical chain
    best = diag if diag < left else left
    return up if up < best else best


@cuda.jit
def dtw_batch(x, y, len_x, len_y, work, out):
    """DTW distance of every pair ``(x[b, :len_x[b]], y[b, :len_y[b]])``.

    Parameters
    ----------
    x : device array [shape=(B, N), float32 or float64]
    y : device array [shape=(B, M), same dtype as x]
    len_x, len_y : device array [shape=(B,), int64]
        Valid lengths, ``1 <= len_x[b] <= N``, ``1 <= len_y[b] <= M``.
    work : device array [shape=(M, B), float64]
        Scratch (its content on entry does not matter).
    out : device array [shape=(B,), float64]
        Output distances.
    """
    b = cuda.grid(1)
    if b >= x.shape[0]:
        return
    n = len_x[b]
    m = len_y[b]
    for j in range(m):
        work[j, b] = math.inf
    last = n - 1
    for i0 in range(0, n, STRIP):
        x0 = x[b, i0]
        x1 = x[b, min(i0 + 1, last)]
        x2 = x[b, min(i0 + 2, last)]
        x3 = x[b, min(i0 + 3, last)]
        x4 = x[b, min(i0 + 4, last)]
        x5 = x[b, min(i0 + 5, last)]
        x6 = x[b, min(i0 + 6, last)]
        x7 = x[b, min(i0 + 7, last)]
        # column 0: vertical steps only
        yj = y[b, 0]
        up = work[0, b]
        if i0 == 0:
            r0 = _sq(x0, yj)
        else:
            r0 = _sq(x0, yj) + up
        r1 = _sq(x1, yj) + r0
        r2 = _sq(x2, yj) + r1
        r3 = _sq(x3, yj) + r2
        r4 = _sq(x4, yj) + r3
        r5 = _sq(x5, yj) + r4
        r6 = _sq(x6, yj) + r5
        r7 = _sq(x7, yj) + r6
        work[0, b] = r7
        diag = up
        jn = min(1, m - 1)
        yn = y[b, jn]
        upn = work[jn, b]
        for j in range(1, m):
            yj = yn
            up = upn
            # prefetch the next column (the last column re-reads itself)
            jn = min(j + 1, m - 1)
            yn = y[b, jn]
            upn = work[jn, b]
            n0 = _sq(x0, yj) + _min3(diag, r0, up)
            n1 = _sq(x1, yj) + _min3(r0, r1, n0)
            n2 = _sq(x2, yj) + _min3(r1, r2, n1)
            n3 = _sq(x3, yj) + _min3(r2, r3, n2)
            n4 = _sq(x4, yj) + _min3(r3, r4, n3)
            n5 = _sq(x5, yj) + _min3(r4, r5, n4)
            n6 = _sq(x6, yj) + _min3(r5, r6, n5)
            n7 = _sq(x7, yj) + _min3(r6, r7, n6)
            r0 = n0
            r1 = n1
            r2 = n2
            r3 = n3
            r4 = n4
            r5 = n5
            r6 = n6
            r7 = n7
            work[j, b] = r7
            diag = up
        if last < i0 + STRIP:
            k = last - i0
            res = r0
            if k == 1:
                res = r1
            elif k == 2:
                res = r2
            elif k == 3:
                res = r3
            elif k == 4:
                res = r4
            elif k == 5:
                res = r5
            elif k == 6:
                res = r6
            elif k == 7:
                res = r7
            out[b] = res
