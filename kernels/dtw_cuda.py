"""Exact DTW of many pairs on the GPU (numba-cuda): distances, and paths.

Recurrence (Sakoe & Chiba 1978, doi:10.1109/TASSP.1978.1163055, section II),
step pattern symmetric1::

    g(0, 0) = c(0, 0)
    g(i, j) = c(i, j) + min(g(i-1, j-1), g(i-1, j), g(i, j-1))

with ``g = +inf`` outside the table; the distance is ``g(n-1, m-1)``. The local
cost ``c`` is the squared difference ``(x_i - y_j)**2`` for 1-D sequences, and
for feature sequences ``x (B, N, d)`` the CPU's
:func:`align.kernels._steps.local_cost` for sqeuclidean, euclidean or cityblock
(features summed in index order). With sqeuclidean the distance is the plain
sum of squared differences along the best path (what librosa, aeon and
dtw-python report; dtaidistance and tslearn report its square root).

Same values and paths as the CPU, bit for bit. The cost is computed in the
inputs' dtype and accumulated in float64, as on the CPU. ``min`` is exact, and
``min_k (g_k + c) == c + min_k g_k`` in floating point (rounding is monotone),
so the value kernels (no tie-break needed) agree with the path kernels. Each
square is written ``fma(d, d, +0)``: NVVM would otherwise fuse the product into
the sum after it (one rounding fewer than the CPU, whose DTW kernels compile
without contraction); a fused multiply-add is never fused again. The path
builds choose each cell's predecessor with :func:`align.kernels._steps.choose`,
the tie-break every DTW kernel shares (diagonal, then vertical, then
horizontal), and store it as one byte a cell; :func:`dtw_traceback` walks the
bytes back.

Kernels (all the wave builds share one source, :func:`_make_wave`):

- :data:`dtw_wave` (what the API launches for 1-D distances): W threads per pair
  sweep a wavefront, eight rows per thread in registers, the lane boundary
  through shared memory; see its docstring.
- :data:`dtw_wave_shfl`: the same with warp shuffles instead of shared memory
  (W = 32).
- :data:`dtw_wave_path`: ``dtw_wave`` that also writes direction bytes.
- :func:`feature_wave` ``(dtype, metric, path)``: the builds for feature
  sequences and the other metrics (the rows are read from ``x[b]``, ``y[b]``).
- :func:`dtw_traceback`: the paths, one thread a pair.
- :func:`dtw_batch`: one thread per pair, distances only, described below.

On an H200 :func:`dtw_batch` ran B = 16,384, N = M = 256 in 4.5 ms
(``benchmarks/results/gpu.md``); the wave kernels were written afterwards, to
give that batch W times as many threads, and have been checked only under the
CUDA simulator (and compiled for sm_90) so far: ``benchmarks/gpu/run.py`` times
them side by side.

Layout of :func:`dtw_batch`: one thread per pair (``b = cuda.grid(1)``), for the "many short pairs"
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

    dtw_batch[ceil(B / threads), threads](x, y, len_x, len_y, out, work)
    dtw_wave[ceil(B / P), (W, P), stream, wave_shared_bytes(W, P)](x, y, len_x, len_y, out, dirs, work)
    feature_wave(dtype, metric, path)[same launch as dtw_wave](x3, y3, len_x, len_y, out, dirs, work)
    dtw_traceback[ceil(B / threads), threads](dirs, len_x, len_y, path, path_len)

See Also
--------
align.kernels.dtw : the CPU kernels (ragged pairs, every option).
align.dtw_pairwise, align.dtw_batch : the public entry points (via align._cuda).
"""

import math

import numpy as np
from numba import cuda, float64, from_dtype

from . import _steps

__all__ = [
    "dtw_batch",
    "dtw_wave",
    "dtw_wave_shfl",
    "dtw_wave_path",
    "feature_wave",
    "dtw_traceback",
    "STRIP",
    "wave_shared_bytes",
]

#: rows per strip (the number of register-held cells per column)
STRIP = 8

#: every lane of a warp takes part in the shuffles of dtw_wave_shfl
_FULL_WARP = 0xFFFFFFFF

# the tie-break of every DTW kernel (CPU and GPU), compiled for the device
_choose = cuda.jit(device=True)(_steps.choose)


@cuda.jit(device=True)
def _square(d):
    # d * d rounded once, as the CPU kernels round it: written as fma(d, d, +0)
    # because NVVM would otherwise fuse the product into the add that follows
    # (one rounding fewer than the CPU, whose DTW kernels compile without
    # contraction), and a fused multiply-add is never fused again
    return cuda.fma(d, d, d - d)


@cuda.jit(device=True)
def _sq(a, b):
    # the cost in the inputs' dtype, widened for the float64 accumulation
    return float64(_square(a - b))


@cuda.jit(device=True)
def _pick8(k, r0, r1, r2, r3, r4, r5, r6, r7):
    # register k of eight named ones (a local array with a computed index would spill)
    if k == 0:
        return r0
    if k == 1:
        return r1
    if k == 2:
        return r2
    if k == 3:
        return r3
    if k == 4:
        return r4
    if k == 5:
        return r5
    if k == 6:
        return r6
    return r7


@cuda.jit(device=True)
def _min3(diag, left, up):
    # diag and left come from the previous column; up is the fresh value, last,
    # so that only one comparison waits on the critical chain
    best = diag if diag < left else left
    return up if up < best else best


@cuda.jit
def dtw_batch(x, y, len_x, len_y, out, work):
    """DTW distance of every pair ``(x[b, :len_x[b]], y[b, :len_y[b]])``.

    Parameters
    ----------
    x : device array [shape=(B, N), float32 or float64]
    y : device array [shape=(B, M), same dtype as x]
    len_x, len_y : device array [shape=(B,), int64]
        Valid lengths, ``1 <= len_x[b] <= N``, ``1 <= len_y[b] <= M``.
    out : device array [shape=(B,), float64]
        Output distances.
    work : device array [shape=(M, B), float64]
        Scratch (its content on entry does not matter).
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
            out[b] = _pick8(last - i0, r0, r1, r2, r3, r4, r5, r6, r7)


def wave_shared_bytes(lanes, pairs):
    """Dynamic shared memory of :func:`dtw_wave` for ``blockDim = (lanes, pairs)``: two float64 per thread."""
    return 2 * 8 * lanes * pairs


def _make_wave(shuffle, path, cost):
    # one source for every build: ``shuffle`` and ``path`` are compile-time
    # constants, so each build keeps only its own branches; ``cost`` is the local
    # cost device function, cost(x, y, b, i, j, x_i, y_j) (the 1-D builds use the
    # register-held x_i, y_j; the feature builds read rows i and j of x[b], y[b])
    @cuda.jit
    def dtw_wave(x, y, len_x, len_y, out, dirs, work):
        """DTW distance of every pair, several threads per pair sweeping a wavefront.

        Same recurrence, arguments and results as :func:`dtw_batch` (values
        bit-identical: ``min`` is exact and every cell adds one cost to one minimum).

        Layout: ``blockDim = (W, P)``; ``threadIdx.y`` picks one of the block's P
        pairs (``b = blockIdx.x * P + threadIdx.y``) and ``threadIdx.x`` is the lane
        ``l`` of that pair. Lane ``l`` owns eight consecutive rows (eight named
        register variables, as in :func:`dtw_batch`); the W lanes cover a pass of
        ``8 W`` rows and longer ``x`` takes several passes. At step ``s`` of a pass
        lane ``l`` computes column ``j = s - l`` of its rows: the wavefront that
        cuDTW++ (Schmidt & Hundt, Euro-Par 2020, doi:10.1007/978-3-030-57675-2_37) runs on
        warp shuffles. The cell above a lane's first row is the last row of lane
        ``l - 1`` one step earlier; it goes through shared memory, double-buffered
        by step parity so that one ``cuda.syncthreads()`` per step orders it (the
        CUDA simulator has no warp shuffles, and this way the kernel it tests is
        the one a device runs). ``dtw_wave_shfl``, built from the same source,
        hands the value over with ``cuda.shfl_up_sync`` instead, as cuDTW++
        does: no barrier and no shared memory, but ``W`` must be 32 (a pair is
        one warp) and the simulator runs it only with the test suite's stand-in
        for the shuffle. Lane 0 reads the row above the pass from ``work``,
        where the last lane of the previous pass wrote it ``W - 1`` steps after
        lane 0 read the same column, so one buffer serves every pass.

        Why: one thread per pair (:func:`dtw_batch`) gives a 16k-pair batch only a
        few warps per SM, so every load and every step of the add-min chain waits
        in full; here the same batch runs W times as many threads, the eight-row
        columns of different lanes are independent work for the scheduler, and a
        table of up to ``8 W`` rows never leaves registers and shared memory.

        Every thread of a block runs the same number of steps (barriers), so the
        loops run to the block's longest pair; cells past a pair's own lengths read
        clamped inputs, compute values that nothing valid reads, and are not
        written. Threads past the batch's end (``b >= B``) compute pair ``B - 1``
        and write nothing.

        Parameters
        ----------
        x, y, len_x, len_y, out : as in :func:`dtw_batch`.
        dirs : device array [shape=(B, N, M), uint8]
            ``dtw_wave_path`` writes the direction code of every cell inside the
            lengths (the tie-break of :func:`align.kernels._steps.choose`:
            diagonal, then vertical, then horizontal); the other builds never
            touch it and take any uint8 array, e.g. ``(1, 1, 1)``.
        work : device array [shape=(M, B), float64]
            The row joining two passes (read only when ``max(len_x) > 8 W``).

        Launch::

            dtw_wave[ceil(B / P), (W, P), stream, 16 * W * P](x, y, len_x, len_y, out, dirs, work)
            dtw_wave_shfl[ceil(B / P), (32, P), stream](x, y, len_x, len_y, out, dirs, work)
            dtw_wave_path[ceil(B / P), (W, P), stream, 16 * W * P](x, y, len_x, len_y, out, dirs, work)
            dtw_traceback[ceil(B / threads), threads, stream](dirs, len_x, len_y, path, path_len)

        (``dtw_wave``'s dynamic shared memory is two float64 values per thread).
        """
        # the lane/pair bookkeeping of a warp-wavefront kernel, as in softdtw_cuda's wave
        # kernels: each kernel keeps its own copy, inlined into its loop (a shared helper
        # returning six indices would cost registers the kernel has not got)
        exch = cuda.shared.array(0, float64)
        W = cuda.blockDim.x
        P = cuda.blockDim.y
        lane = cuda.threadIdx.x
        slot = cuda.threadIdx.y
        B = x.shape[0]
        b_raw = cuda.blockIdx.x * P + slot
        b = min(b_raw, B - 1)
        n = len_x[b]
        m = len_y[b]
        # the block's longest pair sets the loop counts (every thread meets every barrier)
        n_blk = 1
        m_blk = 1
        for q in range(P):
            bq = cuda.blockIdx.x * P + q
            if bq < B:
                n_blk = max(n_blk, len_x[bq])
                m_blk = max(m_blk, len_y[bq])
        rows_per_pass = STRIP * W
        half = W * P  # one parity's half of the exchange buffer
        me = slot * W + lane
        last = n - 1
        # the lane that holds row n-1, in which pass and register
        out_pass = last // rows_per_pass
        out_lane = (last - out_pass * rows_per_pass) // STRIP
        out_k = last % STRIP
        n_pass = (n_blk + rows_per_pass - 1) // rows_per_pass
        for p in range(n_pass):
            i0 = p * rows_per_pass + lane * STRIP
            # the lane's rows, clamped to the pair's last (rows past it compute unused values)
            k0 = min(i0, last)
            k1 = min(i0 + 1, last)
            k2 = min(i0 + 2, last)
            k3 = min(i0 + 3, last)
            k4 = min(i0 + 4, last)
            k5 = min(i0 + 5, last)
            k6 = min(i0 + 6, last)
            k7 = min(i0 + 7, last)
            x0 = x[b, k0]
            x1 = x[b, k1]
            x2 = x[b, k2]
            x3 = x[b, k3]
            x4 = x[b, k4]
            x5 = x[b, k5]
            x6 = x[b, k6]
            x7 = x[b, k7]
            # left neighbours of column 0: outside the table
            r0 = math.inf
            r1 = math.inf
            r2 = math.inf
            r3 = math.inf
            r4 = math.inf
            r5 = math.inf
            r6 = math.inf
            r7 = math.inf
            # the diagonal of column 0; g(0, 0) = c(0, 0) + 0
            diag = 0.0 if i0 == 0 else math.inf
            # prefetch of step 0's inputs (lane 0 only has a column at step 0)
            jn = 0
            yn = y[b, 0]
            upn = math.inf
            if lane == 0 and p > 0:
                upn = work[0, b]
            for s in range(m_blk + W - 1):
                j = s - lane
                yj = yn
                jc = jn  # this step's column, clamped to the pair's last
                up_top = upn
                # the next step's column: its y value, and for lane 0 the row above the pass
                jn = min(max(j + 1, 0), m - 1)
                yn = y[b, jn]
                if lane == 0 and p > 0 and s + 1 < m_blk:
                    upn = work[s + 1, b]
                parity = s % 2
                if shuffle:
                    # every lane takes part (a shuffle needs the whole warp): lane l gets
                    # lane l-1's last row, computed in the previous step
                    from_left = cuda.shfl_up_sync(_FULL_WARP, r7, 1)
                else:
                    from_left = exch[(1 - parity) * half + me - 1] if lane > 0 else up_top
                up = up_top if lane == 0 else from_left
                if j >= 0 and j < m_blk:
                    if path:
                        # the shared tie-break on (diagonal, vertical, horizontal); the
                        # value is the same as below (rounding is monotone)
                        n0, d0 = _choose(0, False, diag, up, r0, cost(x, y, b, k0, jc, x0, yj))
                        n1, d1 = _choose(0, False, r0, n0, r1, cost(x, y, b, k1, jc, x1, yj))
                        n2, d2 = _choose(0, False, r1, n1, r2, cost(x, y, b, k2, jc, x2, yj))
                        n3, d3 = _choose(0, False, r2, n2, r3, cost(x, y, b, k3, jc, x3, yj))
                        n4, d4 = _choose(0, False, r3, n3, r4, cost(x, y, b, k4, jc, x4, yj))
                        n5, d5 = _choose(0, False, r4, n4, r5, cost(x, y, b, k5, jc, x5, yj))
                        n6, d6 = _choose(0, False, r5, n5, r6, cost(x, y, b, k6, jc, x6, yj))
                        n7, d7 = _choose(0, False, r6, n6, r7, cost(x, y, b, k7, jc, x7, yj))
                        if b_raw < B and j < m:
                            i = i0
                            if i < n:
                                dirs[b, i, j] = d0
                            if i + 1 < n:
                                dirs[b, i + 1, j] = d1
                            if i + 2 < n:
                                dirs[b, i + 2, j] = d2
                            if i + 3 < n:
                                dirs[b, i + 3, j] = d3
                            if i + 4 < n:
                                dirs[b, i + 4, j] = d4
                            if i + 5 < n:
                                dirs[b, i + 5, j] = d5
                            if i + 6 < n:
                                dirs[b, i + 6, j] = d6
                            if i + 7 < n:
                                dirs[b, i + 7, j] = d7
                    else:
                        n0 = cost(x, y, b, k0, jc, x0, yj) + _min3(diag, r0, up)
                        n1 = cost(x, y, b, k1, jc, x1, yj) + _min3(r0, r1, n0)
                        n2 = cost(x, y, b, k2, jc, x2, yj) + _min3(r1, r2, n1)
                        n3 = cost(x, y, b, k3, jc, x3, yj) + _min3(r2, r3, n2)
                        n4 = cost(x, y, b, k4, jc, x4, yj) + _min3(r3, r4, n3)
                        n5 = cost(x, y, b, k5, jc, x5, yj) + _min3(r4, r5, n4)
                        n6 = cost(x, y, b, k6, jc, x6, yj) + _min3(r5, r6, n5)
                        n7 = cost(x, y, b, k7, jc, x7, yj) + _min3(r6, r7, n6)
                    r0 = n0
                    r1 = n1
                    r2 = n2
                    r3 = n3
                    r4 = n4
                    r5 = n5
                    r6 = n6
                    r7 = n7
                    diag = up
                    if not shuffle:
                        exch[parity * half + me] = r7
                    if b_raw < B and lane == W - 1 and p + 1 < n_pass:
                        work[j, b] = r7
                    if b_raw < B and p == out_pass and lane == out_lane and j == m - 1:
                        out[b] = _pick8(out_k, r0, r1, r2, r3, r4, r5, r6, r7)
                if not shuffle:
                    cuda.syncthreads()
            if shuffle:
                # the last lane's work[] writes, read by lane 0 in the next pass
                cuda.syncwarp(_FULL_WARP)

    return dtw_wave


@cuda.jit(device=True)
def _cost_1d(x, y, b, i, j, xi, yj):
    # 1-D builds: the squared difference of the register-held samples
    return _sq(xi, yj)


#: shared-memory hand-off, one barrier a step (any W; the kernel the API launches)
dtw_wave = _make_wave(False, False, _cost_1d)
#: warp-shuffle hand-off, no barrier (W = 32 exactly; one warp a pair)
dtw_wave_shfl = _make_wave(True, False, _cost_1d)
#: dtw_wave that also writes every cell's direction code to ``dirs`` (for dtw_traceback)
dtw_wave_path = _make_wave(False, True, _cost_1d)


def _make_feature_cost(dtype, metric):
    # the CPU's _steps.local_cost for metric 0, 1 or 2: same order, same roundings
    as_input = from_dtype(np.dtype(dtype))  # the simulator's math.sqrt returns a Python float

    @cuda.jit(device=True)
    def cost(x, y, b, i, j, xi, yj):
        diff = x[b, i, 0] - y[b, j, 0]
        if metric == 2:
            s = abs(diff)
        else:
            s = _square(diff)
        for k in range(1, x.shape[2]):
            diff = x[b, i, k] - y[b, j, k]
            if metric == 2:
                s += abs(diff)
            else:
                s += _square(diff)
        if metric == 1:
            s = as_input(math.sqrt(s))
        return float64(s)

    return cost


_FEATURE_BUILDS = {}


def feature_wave(dtype, metric, path=False):
    """The wave kernel for feature sequences ``x (B, N, d)``, ``y (B, M, d)`` (built once per case).

    Same layout, arguments and launch as :data:`dtw_wave` (``path=True``: as
    :data:`dtw_wave_path`); the local cost of a cell is
    :func:`align.kernels._steps.local_cost` for ``metric`` 0 (sqeuclidean),
    1 (euclidean) or 2 (cityblock), summed over the features in the same order
    and with the same roundings as the CPU kernels, read from ``x[b]`` and
    ``y[b]`` (L1-cached) instead of registers.
    """
    key = (np.dtype(dtype), int(metric), bool(path))
    if metric not in (0, 1, 2):
        raise ValueError(f"metric code must be 0, 1 or 2, got {metric!r}")
    if key not in _FEATURE_BUILDS:
        _FEATURE_BUILDS[key] = _make_wave(False, bool(path), _make_feature_cost(dtype, int(metric)))
    return _FEATURE_BUILDS[key]


@cuda.jit
def dtw_traceback(dirs, len_x, len_y, path, path_len):
    """Walk every pair's direction codes back from ``(n-1, m-1)`` to ``(0, 0)``; one thread a pair.

    Parameters
    ----------
    dirs : device array [shape=(B, N, M), uint8]
        Direction codes written by :data:`dtw_wave_path` (``DIR_DIAG`` 0,
        ``DIR_VERT`` 1, ``DIR_HORZ`` 2 of :mod:`align.kernels._steps`).
    len_x, len_y : device array [shape=(B,), int64]
    path : device array [shape=(B, N + M - 1, 2), int64]
        Output: pair ``b``'s path from its END, ``path[b, :path_len[b]]`` is
        ``(n-1, m-1), ..., (0, 0)`` (the caller reverses it).
    path_len : device array [shape=(B,), int64]
        Output: the number of cells on each path.

    The walk is serial (each step needs the previous one's cell), so a thread
    takes a pair; it reads ``N + M`` bytes at most, a small part of what the
    sweep wrote.
    """
    b = cuda.grid(1)
    if b >= dirs.shape[0]:
        return
    i = len_x[b] - 1
    j = len_y[b] - 1
    k = 0
    while True:
        path[b, k, 0] = i
        path[b, k, 1] = j
        k += 1
        if i == 0 and j == 0:
            break
        code = dirs[b, i, j]
        if code == 0:
            i -= 1
            j -= 1
        elif code == 1:
            i -= 1
        else:
            j -= 1
    path_len[b] = k
