"""Soft-DTW on the GPU (numba-cuda): the kernels of :mod:`align.kernels.softdtw`, same signatures.

Recurrence, boundary conditions, band rule and paper: see
:mod:`align.kernels.softdtw` (Cuturi & Blondel 2017, doi:10.48550/arXiv.1703.01541,
Algorithms 1 and 2). The per-cell math is the same Python source
(:mod:`align.kernels._softdtw_steps`) compiled as CUDA device functions, with
the soft-min arguments in the same (diagonal, vertical, horizontal) order.

Three variants, all taking the CPU kernels' arguments (full row-major tables
``R`` and ``E`` of shape ``(B, N+1, M+1)``, of which only ``R[b, :n+1, :m+1]``
and ``E[b, 1:n+1, 1:m+1]`` are written), so each is a drop-in for the others.
:func:`launch` configures one; the API layer uses it with the default
``"wave"``.

Wave (register-tiled wavefront, after cuDTW++: Schmidt & Hundt, Euro-Par 2020,
LNCS 12247, doi:10.1007/978-3-030-57675-2_37): ``forward_wave(dtype)`` /
``backward_wave(dtype)``, built once per dtype. ``blockDim = (W, P)``:
``threadIdx.y`` picks one of ``P`` pairs of the block (pair
``blockIdx.x * P + threadIdx.y``, ``grid = ceil(B / P)``), ``threadIdx.x`` one of
its ``W`` lanes (``W, P`` = ``WAVE_LANES, WAVE_PAIRS`` of
:mod:`align.kernels._config`, read by :func:`launch`, never by the kernels).
A lane owns ``WAVE_ROWS = 8`` consecutive rows and keeps their current column
in eight named registers, so a step computes eight cells with no memory
traffic between them; lane ``l`` is one column behind lane ``l - 1`` (at step
``s`` it computes column ``s - l + 1``), and the value it needs from above (the
last row of lane ``l - 1``, one column earlier) goes through a
double-buffered slot of shared memory, one ``syncthreads()`` a step (cuDTW++
uses warp shuffles there; numba's CUDA simulator, which the tests run on, has
neither shuffles nor ``syncwarp``). A table taller than ``8 W`` rows is
swept in passes of ``8 W`` rows; the row that
joins two passes is read back from the output table itself (``R`` in the
forward, ``E``/``R``/cost in the backward, which runs the passes bottom-up
and the columns right to left). Why: the block-per-pair kernels below do one
``syncthreads()`` per anti-diagonal for one or two cells a thread, and every
neighbour goes through memory; here a barrier is paid per eight cells and
only the lane boundary crosses shared memory. Loop counts are uniform over a
block (from its largest pair), cells past a pair's ``(n, m)`` are computed
from clamped (in-bounds) loads but never written, and never feed a cell
inside: values flow down/right in the forward, and the backward gives its
successors the CPU kernel's ``has_*`` flags (``i < n``, ``j < m``). Each
lane still reads its cost and writes its results in the row-major tables,
eight rows apart per step and one element further along each row the next
step (the L1 cache is relied on to merge those into sectors). The next
column's loads are issued before the current column's arithmetic.
These kernels are checked under the simulator and compiled to PTX here, but
have not yet been timed on a GPU (goal: forward + backward of B = 512 pairs of
512 x 512, d = 13, float32, in <= 10 ms on an H200, where the block-per-pair
kernels take 23 ms).

Block per pair (the earlier variants; ``grid = B``, any block size): the
table is swept by anti-diagonals ``s = i + j``: every cell of a diagonal
depends only on the two previous diagonals (the next two, backward), so the
block's threads stride over the cells of the current diagonal and meet at
``cuda.syncthreads()`` before the next one.

- ``softdtw_forward`` / ``softdtw_backward`` (``"global"``) read the neighbours
  from the full tables in global memory. No size limit.
- ``forward_shared(dtype)`` / ``backward_shared(dtype)`` (``"shared"``) keep
  the three live diagonals in shared memory, indexed by row: the forward
  keeps ``R``, the backward ``R``, the cost and ``E`` (3 and 9 rows of
  ``N + 1`` values). Cells on an anti-diagonal are ``M`` apart in the tables,
  so every global access costs a whole 32-byte sector; these kernels make one
  global read of the cost per cell and one write (forward: ``R``; backward:
  one read of ``R``, one write of ``E``) instead of five or eleven. They need
  ``shared_bytes(kind, N, itemsize) <= SHARED_LIMIT`` (N <= ~1,300 float32
  rows for the backward); :func:`pick` chooses between the two.

Launch::

    launch("forward", B, N, dtype, stream)(D, len_x, len_y, gamma, radius, R, out)
    launch("backward", B, N, dtype, stream)(D, R, len_x, len_y, gamma, E)
    # which is, for the default variant:
    forward_wave(dtype)[ceil(B / P), (W, P), stream, wave_shared_bytes("forward", W, P, itemsize)](...)
    backward_wave(dtype)[ceil(B / P), (W, P), stream, wave_shared_bytes("backward", W, P, itemsize)](...)
    softdtw_forward[B, threads](D, len_x, len_y, gamma, radius, R, out)
    softdtw_backward[B, threads](D, R, len_x, len_y, gamma, E)
    forward_shared(dtype)[B, threads, stream, shared_bytes("forward", N, itemsize)](same args)
    backward_shared(dtype)[B, threads, stream, shared_bytes("backward", N, itemsize)](same args)
    cost_launch(B, N, M, stream)(x, y, len_x, len_y, metric, D)      # pairwise_cost, any grid

``gamma`` must be a scalar of the tables' dtype (``np.float32(g)`` for float32),
otherwise the float32 kernels would compute in float64.

See Also
--------
align.kernels.softdtw : the CPU kernels and the full description.
align.soft_dtw, align.SoftDTWLoss : the validating public entry points.
"""

import math

import numpy as np
from numba import config, cuda, from_dtype

from . import _softdtw_steps as _steps

__all__ = [
    "SHARED_LIMIT",
    "MAX_THREADS",
    "softmin3_gpu",
    "pairwise_cost",
    "cost_launch",
    "softdtw_forward",
    "softdtw_backward",
    "forward_shared",
    "backward_shared",
    "shared_bytes",
    "pick",
    "WAVE_ROWS",
    "WAVE_MAX_THREADS",
    "forward_wave",
    "backward_wave",
    "wave_shared_bytes",
    "VARIANTS",
    "launch_config",
    "launch",
]

#: dynamic shared memory a block may use without opting in (bytes)
SHARED_LIMIT = 48 * 1024

#: the largest block the kernels are compiled for. Launch bounds keep the
#: register count low enough for a 1,024-thread block (without them a build
#: that needs more than 64 registers per thread fails to launch with
#: CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES). The simulator's jit takes no bounds.
MAX_THREADS = 1024
_KERNEL_OPTS = {} if config.ENABLE_CUDASIM else {"launch_bounds": MAX_THREADS}

softmin3_gpu = cuda.jit(device=True)(_steps.softmin3)
_band_allows_gpu = cuda.jit(device=True)(_steps.band_allows)
_local_cost_gpu = cuda.jit(device=True)(_steps.local_cost)
_backward_value_gpu = cuda.jit(device=True)(_steps.backward_value)


@cuda.jit(**_KERNEL_OPTS)
def pairwise_cost(x, y, len_x, len_y, metric, D):
    """``D[b, i, j] = cost(x[b, i], y[b, j])`` inside the lengths; grid-stride loops over rows and columns.

    The grid's x dimension runs along the columns ``j`` (consecutive threads
    write consecutive cells) and its y dimension over the ``B * N`` rows, so the
    pair and row of a cell cost one integer division per row, not two per cell.
    Any grid is correct (a 1-D grid strides over the columns of every row);
    :func:`cost_launch` picks a 2-D one.
    """
    B = D.shape[0]
    N = D.shape[1]
    j0, r0 = cuda.grid(2)
    sj, sr = cuda.gridsize(2)
    for r in range(r0, B * N, sr):
        b = r // N
        i = r - b * N
        if i < len_x[b]:
            for j in range(j0, len_y[b], sj):
                D[b, i, j] = _local_cost_gpu(x, y, b, i, j, metric)


def cost_launch(B, N, M, stream=0):
    """:func:`pairwise_cost` configured for ``(B, N, M)`` tables: ``cost_launch(...)(x, y, len_x, len_y, metric, D)``.

    Blocks of ``(32, 8)`` threads (32 columns of 8 rows), read from
    ``THREADS_PER_BLOCK`` when that is smaller (the simulator's tests shrink
    it); the grid covers the columns once and the rows up to the 65,535 blocks
    a y dimension allows (grid-stride beyond).
    """
    from . import _config

    threads = max(1, min(int(_config.THREADS_PER_BLOCK), MAX_THREADS))
    cols = min(32, threads)
    rows = max(1, min(8, threads // cols))
    grid = (max(1, (M + cols - 1) // cols), max(1, min(65535, (B * N + rows - 1) // rows)))
    return pairwise_cost[grid, (cols, rows), stream]


@cuda.jit(**_KERNEL_OPTS)
def softdtw_forward(D, len_x, len_y, gamma, radius, R, out):
    """Algorithm 1 for pair ``blockIdx.x``; see :func:`align.kernels.softdtw.softdtw_forward`."""
    b = cuda.blockIdx.x
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n = len_x[b]
    m = len_y[b]
    for k in range(t + 1, m + 1, nt):
        R[b, 0, k] = math.inf
    for k in range(t + 1, n + 1, nt):
        R[b, k, 0] = math.inf
    if t == 0:
        R[b, 0, 0] = 0.0
    cuda.syncthreads()
    for s in range(2, n + m + 1):
        lo = s - m
        if lo < 1:
            lo = 1
        hi = s - 1
        if hi > n:
            hi = n
        for i in range(lo + t, hi + 1, nt):
            j = s - i
            if _band_allows_gpu(i - 1, j - 1, n, m, radius):
                R[b, i, j] = D[b, i - 1, j - 1] + softmin3_gpu(
                    R[b, i - 1, j - 1], R[b, i - 1, j], R[b, i, j - 1], gamma
                )
            else:
                R[b, i, j] = math.inf
        cuda.syncthreads()
    if t == 0:
        out[b] = R[b, n, m]


@cuda.jit(**_KERNEL_OPTS)
def softdtw_backward(D, R, len_x, len_y, gamma, E):
    """Algorithm 2 for pair ``blockIdx.x``; see :func:`align.kernels.softdtw.softdtw_backward`."""
    b = cuda.blockIdx.x
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n = len_x[b]
    m = len_y[b]
    if t == 0:
        E[b, n, m] = 1.0
    cuda.syncthreads()
    for s in range(n + m - 1, 1, -1):
        lo = s - m
        if lo < 1:
            lo = 1
        hi = s - 1
        if hi > n:
            hi = n
        for i in range(lo + t, hi + 1, nt):
            j = s - i
            r = R[b, i, j]
            hv = i < n
            hh = j < m
            hd = hv and hh
            # successors outside the table get placeholders (r), never read
            E[b, i, j] = _backward_value_gpu(
                r,
                gamma,
                hv,
                E[b, i + 1, j] if hv else r,
                R[b, i + 1, j] if hv else r,
                D[b, i, j - 1] if hv else r,
                hh,
                E[b, i, j + 1] if hh else r,
                R[b, i, j + 1] if hh else r,
                D[b, i - 1, j] if hh else r,
                hd,
                E[b, i + 1, j + 1] if hd else r,
                R[b, i + 1, j + 1] if hd else r,
                D[b, i, j] if hd else r,
            )
        cuda.syncthreads()


def shared_bytes(kind, n_rows, itemsize):
    """Dynamic shared memory of the shared-memory kernels for tables of ``n_rows + 1`` rows.

    ``kind`` is ``"forward"`` (3 diagonals of R) or ``"backward"`` (3 each of R, cost, E).
    """
    per_diagonal = (n_rows + 1) * itemsize
    return (3 if kind == "forward" else 9) * per_diagonal


def pick(kind, n_rows, dtype):
    """The kernel to launch and its dynamic shared memory: the shared variant when it fits.

    Returns
    -------
    (kernel, nbytes)
        ``nbytes`` is 0 for the global-memory kernel.
    """
    dtype = np.dtype(dtype)
    nbytes = shared_bytes(kind, n_rows, dtype.itemsize)
    if nbytes <= SHARED_LIMIT:
        return (forward_shared if kind == "forward" else backward_shared)(dtype), nbytes
    return (softdtw_forward if kind == "forward" else softdtw_backward), 0


_BUILDS = {}


def _build_once(make, dtype):
    # shared arrays and typed constants need the element type at compile time:
    # each factory builds one kernel per dtype, kept here
    key = (make, np.dtype(dtype))
    if key not in _BUILDS:
        _BUILDS[key] = make(from_dtype(np.dtype(dtype)))
    return _BUILDS[key]


def forward_shared(dtype):
    """The shared-memory forward kernel for ``dtype`` (built once per dtype)."""
    return _build_once(_make_forward_shared, dtype)


def backward_shared(dtype):
    """The shared-memory backward kernel for ``dtype`` (built once per dtype)."""
    return _build_once(_make_backward_shared, dtype)


def _make_forward_shared(nbtype):
    # shared arrays need their element type at compile time: one kernel per dtype
    @cuda.jit(**_KERNEL_OPTS)
    def softdtw_forward_shared(D, len_x, len_y, gamma, radius, R, out):
        """Algorithm 1 for pair ``blockIdx.x`` with the live diagonals in shared memory.

        ``buf[(s % 3) * L + i]`` holds ``R[i, s - i]``, borders included (``L = N + 1``).
        """
        buf = cuda.shared.array(0, nbtype)
        b = cuda.blockIdx.x
        t = cuda.threadIdx.x
        nt = cuda.blockDim.x
        n = len_x[b]
        m = len_y[b]
        L = R.shape[1]
        for k in range(t + 1, m + 1, nt):
            R[b, 0, k] = math.inf
        for k in range(t + 1, n + 1, nt):
            R[b, k, 0] = math.inf
        if t == 0:
            R[b, 0, 0] = 0.0
            buf[0] = 0.0  # diagonal 0: (0, 0)
            buf[L] = math.inf  # diagonal 1: (0, 1)
            buf[L + 1] = math.inf  # and (1, 0)
        cuda.syncthreads()
        for s in range(2, n + m + 1):
            cur = (s % 3) * L
            p1 = ((s - 1) % 3) * L
            p2 = ((s - 2) % 3) * L
            if t == 0 and s <= m:
                buf[cur] = math.inf  # border cell (0, s)
            if t == 0 and s <= n:
                buf[cur + s] = math.inf  # border cell (s, 0)
            lo = s - m
            if lo < 1:
                lo = 1
            hi = s - 1
            if hi > n:
                hi = n
            for i in range(lo + t, hi + 1, nt):
                j = s - i
                if _band_allows_gpu(i - 1, j - 1, n, m, radius):
                    buf[cur + i] = D[b, i - 1, j - 1] + softmin3_gpu(
                        buf[p2 + i - 1], buf[p1 + i - 1], buf[p1 + i], gamma
                    )
                else:
                    buf[cur + i] = math.inf
                R[b, i, j] = buf[cur + i]
            cuda.syncthreads()
        if t == 0:
            out[b] = R[b, n, m]

    return softdtw_forward_shared


def _make_backward_shared(nbtype):
    @cuda.jit(**_KERNEL_OPTS)
    def softdtw_backward_shared(D, R, len_x, len_y, gamma, E):
        """Algorithm 2 for pair ``blockIdx.x`` with the live diagonals in shared memory.

        Three regions of ``3 L`` values: R, the cost ``C[i, j] = D[i-1, j-1]`` and E,
        each with ``[(s % 3) * L + i]`` holding cell ``(i, s - i)``.
        """
        buf = cuda.shared.array(0, nbtype)
        b = cuda.blockIdx.x
        t = cuda.threadIdx.x
        nt = cuda.blockDim.x
        n = len_x[b]
        m = len_y[b]
        L = R.shape[1]
        oc = 3 * L  # cost region
        oe = 6 * L  # E region
        s = n + m
        if t == 0:
            cur = (s % 3) * L
            buf[cur + n] = R[b, n, m]
            buf[oc + cur + n] = D[b, n - 1, m - 1]
            buf[oe + cur + n] = 1.0
            E[b, n, m] = 1.0
        cuda.syncthreads()
        for s in range(n + m - 1, 1, -1):
            cur = (s % 3) * L
            p1 = ((s + 1) % 3) * L
            p2 = ((s + 2) % 3) * L
            lo = s - m
            if lo < 1:
                lo = 1
            hi = s - 1
            if hi > n:
                hi = n
            for i in range(lo + t, hi + 1, nt):
                j = s - i
                r = R[b, i, j]
                hv = i < n
                hh = j < m
                hd = hv and hh
                # vertical (i+1, j) and horizontal (i, j+1) are on diagonal s+1,
                # the diagonal successor (i+1, j+1) on s+2; outside: placeholders
                e = _backward_value_gpu(
                    r,
                    gamma,
                    hv,
                    buf[oe + p1 + i + 1] if hv else r,
                    buf[p1 + i + 1] if hv else r,
                    buf[oc + p1 + i + 1] if hv else r,
                    hh,
                    buf[oe + p1 + i] if hh else r,
                    buf[p1 + i] if hh else r,
                    buf[oc + p1 + i] if hh else r,
                    hd,
                    buf[oe + p2 + i + 1] if hd else r,
                    buf[p2 + i + 1] if hd else r,
                    buf[oc + p2 + i + 1] if hd else r,
                )
                buf[cur + i] = r
                buf[oc + cur + i] = D[b, i - 1, j - 1]
                buf[oe + cur + i] = e
                E[b, i, j] = e
            cuda.syncthreads()

    return softdtw_backward_shared


# ----------------------------------------------------------------------------
# Register-tiled wavefront kernels ("wave" variant)

#: table rows a lane of the wave kernels owns (eight named registers per column)
WAVE_ROWS = 8

#: the largest block the wave kernels are compiled for (``WAVE_LANES * WAVE_PAIRS``
#: must not exceed it). 256 threads leave the compiler up to 255 registers a
#: thread, room for the backward's ~60 live values without spills.
WAVE_MAX_THREADS = 256
_WAVE_OPTS = {} if config.ENABLE_CUDASIM else {"launch_bounds": WAVE_MAX_THREADS}


def wave_shared_bytes(kind, lanes, pairs, itemsize):
    """Dynamic shared memory of a wave kernel block: the double-buffered lane exchange.

    The forward passes one value a lane per step (``R`` of its last row), the
    backward three (``E``, ``R`` and the cost of its first row); two buffers,
    by step parity.
    """
    return (2 if kind == "forward" else 6) * lanes * pairs * itemsize


@cuda.jit(device=True)
def _col8(A, b, i, ilim, j):
    # A[b, i + k, j] for k = 0..7 with the row clamped to ilim: rows past a pair's
    # length (and past the table) read a valid cell whose value nothing uses
    return (
        A[b, min(i, ilim), j],
        A[b, min(i + 1, ilim), j],
        A[b, min(i + 2, ilim), j],
        A[b, min(i + 3, ilim), j],
        A[b, min(i + 4, ilim), j],
        A[b, min(i + 5, ilim), j],
        A[b, min(i + 6, ilim), j],
        A[b, min(i + 7, ilim), j],
    )


@cuda.jit(device=True)
def _forward_cell(c, diag, up, left, i, j, n, m, gamma, radius, inf):
    # R[i, j] (1-based table indices) from its cost and (diagonal, vertical, horizontal)
    # predecessors, exactly as forward_pair computes it
    if _band_allows_gpu(i - 1, j - 1, n, m, radius):
        return c + softmin3_gpu(diag, up, left, gamma)
    return inf


@cuda.jit(device=True)
def _backward_cell(r, i, j, n, m, gamma, one, e_v, r_v, c_v, e_h, r_h, c_h, e_d, r_d, c_d):
    # E[i, j] from the (vertical, horizontal, diagonal) successors, as backward_pair:
    # the same has_* flags, so values past (n, m) are never read
    if i == n and j == m:
        return one
    hv = i < n
    hh = j < m
    return _backward_value_gpu(r, gamma, hv, e_v, r_v, c_v, hh, e_h, r_h, c_h, hv and hh, e_d, r_d, c_d)


def forward_wave(dtype):
    """The register-tiled wavefront forward kernel for ``dtype`` (built once per dtype)."""
    return _build_once(_make_forward_wave, dtype)


def backward_wave(dtype):
    """The register-tiled wavefront backward kernel for ``dtype`` (built once per dtype)."""
    return _build_once(_make_backward_wave, dtype)


def _make_forward_wave(nbtype):
    @cuda.jit(**_WAVE_OPTS)
    def softdtw_forward_wave(D, len_x, len_y, gamma, radius, R, out):
        """Algorithm 1, ``blockDim.y`` pairs a block, ``blockDim.x`` lanes a pair, 8 rows a lane.

        Pass ``p`` covers table rows ``p * 8W + 1 .. (p + 1) * 8W``; lane ``l`` owns
        rows ``i0 .. i0 + 7`` with ``i0 = p * 8W + 8 l + 1`` and at step ``s``
        computes column ``j = s - l + 1`` of them. The row above (``R[i0 - 1, j]``)
        comes from lane ``l - 1``'s last row, written to shared memory at step
        ``s - 1`` (buffer ``(s - 1) % 2``); lane 0 reads it from the ``R`` table
        (row ``p * 8W``, written by the previous pass; row 0 is the border).
        The diagonal ``R[i0 - 1, j - 1]`` is the previous step's value above.
        """
        buf = cuda.shared.array(0, nbtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        W = cuda.blockDim.x
        P = cuda.blockDim.y
        B = D.shape[0]
        b = cuda.blockIdx.x * P + ty
        valid = b < B
        bl = min(b, B - 1)  # loads of a padding slot read pair B - 1 (clamped, unused)
        nlo = len_x[bl]
        mlo = len_y[bl]
        n = nlo if valid else 0  # a padding slot has no cell: it computes and writes nothing
        m = mlo if valid else 0
        # block-uniform loop counts: every thread meets every syncthreads
        nmax = 0
        mmax = 0
        for q in range(P):
            bq = cuda.blockIdx.x * P + q
            if bq < B:
                nmax = max(nmax, len_x[bq])
                mmax = max(mmax, len_y[bq])
        zero = gamma - gamma  # typed constants: a float32 kernel stays float32
        inf = nbtype(math.inf)
        if valid:
            for k in range(tx, m + 1, W):
                R[b, 0, k] = inf if k > 0 else zero
            for k in range(tx + 1, n + 1, W):
                R[b, k, 0] = inf
        cuda.syncthreads()
        rpp = WAVE_ROWS * W
        half = P * W
        slot = ty * W + tx
        nsteps = mmax + W - 1
        for p in range((nmax + rpp - 1) // rpp):
            top = p * rpp
            i0 = top + WAVE_ROWS * tx + 1
            rows_in = i0 <= n
            topc = min(top, nlo)
            # column 0 of the lane's rows, and R[i0 - 1, 0] (R[0, 0] = 0 for the very first row)
            r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = inf
            diag = zero if (p == 0 and tx == 0) else inf
            # prefetch the first column's costs (and lane 0's value above)
            jc = min(max(-tx, 0), mlo - 1)
            c0, c1, c2, c3, c4, c5, c6, c7 = _col8(D, bl, i0 - 1, nlo - 1, jc)
            upn = inf
            if tx == 0:
                upn = R[bl, topc, 1]
            for s in range(nsteps):
                j = s - tx + 1
                a0, a1, a2, a3, a4, a5, a6, a7 = c0, c1, c2, c3, c4, c5, c6, c7
                up = upn
                # issue the next column's loads before this column's arithmetic
                jc = min(max(j, 0), mlo - 1)
                c0, c1, c2, c3, c4, c5, c6, c7 = _col8(D, bl, i0 - 1, nlo - 1, jc)
                if tx == 0:
                    upn = R[bl, topc, min(max(j + 1, 0), mlo)]
                else:
                    up = buf[((s + 1) & 1) * half + slot - 1]
                if rows_in and j >= 1 and j <= m:
                    # eight named registers, written out (as the backward pass below): a
                    # local array with a computed index spills to local memory (duplicate kept
                    # for speed; the cell rule itself is _forward_cell, written once)
                    n0 = _forward_cell(a0, diag, up, r0, i0, j, n, m, gamma, radius, inf)
                    n1 = _forward_cell(a1, r0, n0, r1, i0 + 1, j, n, m, gamma, radius, inf)
                    n2 = _forward_cell(a2, r1, n1, r2, i0 + 2, j, n, m, gamma, radius, inf)
                    n3 = _forward_cell(a3, r2, n2, r3, i0 + 3, j, n, m, gamma, radius, inf)
                    n4 = _forward_cell(a4, r3, n3, r4, i0 + 4, j, n, m, gamma, radius, inf)
                    n5 = _forward_cell(a5, r4, n4, r5, i0 + 5, j, n, m, gamma, radius, inf)
                    n6 = _forward_cell(a6, r5, n5, r6, i0 + 6, j, n, m, gamma, radius, inf)
                    n7 = _forward_cell(a7, r6, n6, r7, i0 + 7, j, n, m, gamma, radius, inf)
                    buf[(s & 1) * half + slot] = n7
                    R[b, i0, j] = n0
                    if i0 + 1 <= n:
                        R[b, i0 + 1, j] = n1
                    if i0 + 2 <= n:
                        R[b, i0 + 2, j] = n2
                    if i0 + 3 <= n:
                        R[b, i0 + 3, j] = n3
                    if i0 + 4 <= n:
                        R[b, i0 + 4, j] = n4
                    if i0 + 5 <= n:
                        R[b, i0 + 5, j] = n5
                    if i0 + 6 <= n:
                        R[b, i0 + 6, j] = n6
                    if i0 + 7 <= n:
                        R[b, i0 + 7, j] = n7
                    r0, r1, r2, r3, r4, r5, r6, r7 = n0, n1, n2, n3, n4, n5, n6, n7
                    diag = up
                cuda.syncthreads()
        cuda.syncthreads()
        if tx == 0 and valid:
            out[b] = R[b, n, m]

    return softdtw_forward_wave


def _make_backward_wave(nbtype):
    @cuda.jit(**_WAVE_OPTS)
    def softdtw_backward_wave(D, R, len_x, len_y, gamma, E):
        """Algorithm 2, laid out as :func:`forward_wave` and run in reverse.

        Passes from the bottom one up; lane ``l`` computes column
        ``j = m - s + (W - 1 - l)`` of its rows at step ``s``, bottom row first,
        so lane ``W - 1`` leads. The successors below its last row are lane
        ``l + 1``'s first row (``E``, ``R`` and cost at column ``j``, exchanged
        through shared memory at step ``s - 1``; at column ``j + 1``, kept from
        the previous step); for lane ``W - 1`` they are row ``(p + 1) 8W + 1`` of
        the tables, written by the previous (lower) pass. The horizontal
        successors are the lane's own previous column, kept in registers.
        """
        buf = cuda.shared.array(0, nbtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        W = cuda.blockDim.x
        P = cuda.blockDim.y
        B = D.shape[0]
        b = cuda.blockIdx.x * P + ty
        valid = b < B
        bl = min(b, B - 1)
        nlo = len_x[bl]
        mlo = len_y[bl]
        n = nlo if valid else 0
        m = mlo if valid else 0
        nmax = 0
        mmax = 0
        for q in range(P):
            bq = cuda.blockIdx.x * P + q
            if bq < B:
                nmax = max(nmax, len_x[bq])
                mmax = max(mmax, len_y[bq])
        zero = gamma - gamma
        one = gamma / gamma
        inf = nbtype(math.inf)
        rpp = WAVE_ROWS * W
        half = P * W
        slot = ty * W + tx
        last = W - 1
        nsteps = mmax + W - 1
        npass = (nmax + rpp - 1) // rpp
        for pp in range(npass):
            p = npass - 1 - pp
            top = p * rpp
            i0 = top + WAVE_ROWS * tx + 1
            rows_in = i0 <= n
            rb = top + rpp + 1  # the row below the pass (lane W - 1's successors)
            below = tx == last and rb <= n
            # column m + 1 (outside the table): placeholders, never read
            pe0 = pe1 = pe2 = pe3 = pe4 = pe5 = pe6 = pe7 = zero
            pr0 = pr1 = pr2 = pr3 = pr4 = pr5 = pr6 = pr7 = inf
            pc0 = pc1 = pc2 = pc3 = pc4 = pc5 = pc6 = pc7 = zero
            de = xen = zero
            dr = xrn = inf
            dc = xcn = zero
            # prefetch the lane's first column
            jr = min(max(m + last - tx, 1), mlo)
            q0, q1, q2, q3, q4, q5, q6, q7 = _col8(R, bl, i0, nlo, jr)
            g0, g1, g2, g3, g4, g5, g6, g7 = _col8(D, bl, i0 - 1, nlo - 1, jr - 1)
            if below:
                xen = E[b, rb, jr]
                xrn = R[b, rb, jr]
                xcn = D[b, rb - 1, jr - 1]
            for s in range(nsteps):
                j = m - s + last - tx
                r0, r1, r2, r3, r4, r5, r6, r7 = q0, q1, q2, q3, q4, q5, q6, q7
                c0, c1, c2, c3, c4, c5, c6, c7 = g0, g1, g2, g3, g4, g5, g6, g7
                xe = xen
                xr = xrn
                xc = xcn
                # issue the next column's loads before this column's arithmetic
                jr = min(max(j - 1, 1), mlo)
                q0, q1, q2, q3, q4, q5, q6, q7 = _col8(R, bl, i0, nlo, jr)
                g0, g1, g2, g3, g4, g5, g6, g7 = _col8(D, bl, i0 - 1, nlo - 1, jr - 1)
                if tx == last:
                    if below:
                        xen = E[b, rb, jr]
                        xrn = R[b, rb, jr]
                        xcn = D[b, rb - 1, jr - 1]
                else:
                    o = ((s + 1) & 1) * 3 * half + slot + 1
                    xe = buf[o]
                    xr = buf[o + half]
                    xc = buf[o + 2 * half]
                if rows_in and j >= 1 and j <= m:
                    # bottom-up: (vertical, horizontal, diagonal) successors
                    # unrolled over the eight registers like the forward pass (speed: no spill)
                    e7 = _backward_cell(r7, i0 + 7, j, n, m, gamma, one, xe, xr, xc, pe7, pr7, pc7, de, dr, dc)
                    e6 = _backward_cell(r6, i0 + 6, j, n, m, gamma, one, e7, r7, c7, pe6, pr6, pc6, pe7, pr7, pc7)
                    e5 = _backward_cell(r5, i0 + 5, j, n, m, gamma, one, e6, r6, c6, pe5, pr5, pc5, pe6, pr6, pc6)
                    e4 = _backward_cell(r4, i0 + 4, j, n, m, gamma, one, e5, r5, c5, pe4, pr4, pc4, pe5, pr5, pc5)
                    e3 = _backward_cell(r3, i0 + 3, j, n, m, gamma, one, e4, r4, c4, pe3, pr3, pc3, pe4, pr4, pc4)
                    e2 = _backward_cell(r2, i0 + 2, j, n, m, gamma, one, e3, r3, c3, pe2, pr2, pc2, pe3, pr3, pc3)
                    e1 = _backward_cell(r1, i0 + 1, j, n, m, gamma, one, e2, r2, c2, pe1, pr1, pc1, pe2, pr2, pc2)
                    e0 = _backward_cell(r0, i0, j, n, m, gamma, one, e1, r1, c1, pe0, pr0, pc0, pe1, pr1, pc1)
                    o = (s & 1) * 3 * half + slot
                    buf[o] = e0
                    buf[o + half] = r0
                    buf[o + 2 * half] = c0
                    E[b, i0, j] = e0
                    if i0 + 1 <= n:
                        E[b, i0 + 1, j] = e1
                    if i0 + 2 <= n:
                        E[b, i0 + 2, j] = e2
                    if i0 + 3 <= n:
                        E[b, i0 + 3, j] = e3
                    if i0 + 4 <= n:
                        E[b, i0 + 4, j] = e4
                    if i0 + 5 <= n:
                        E[b, i0 + 5, j] = e5
                    if i0 + 6 <= n:
                        E[b, i0 + 6, j] = e6
                    if i0 + 7 <= n:
                        E[b, i0 + 7, j] = e7
                    pe0, pe1, pe2, pe3, pe4, pe5, pe6, pe7 = e0, e1, e2, e3, e4, e5, e6, e7
                    pr0, pr1, pr2, pr3, pr4, pr5, pr6, pr7 = r0, r1, r2, r3, r4, r5, r6, r7
                    pc0, pc1, pc2, pc3, pc4, pc5, pc6, pc7 = c0, c1, c2, c3, c4, c5, c6, c7
                    de = xe
                    dr = xr
                    dc = xc
                cuda.syncthreads()

    return softdtw_backward_wave


VARIANTS = ("wave", "shared", "global")


def launch_config(kind, B, N, dtype, variant=None):
    """The kernel and launch shape :func:`launch` uses: ``(kernel, grid, block, shared_bytes)``.

    Parameters as in :func:`launch`. ``grid`` is an int, ``block`` an int or a
    ``(lanes, pairs)`` tuple.
    """
    from . import _config

    if kind not in ("forward", "backward"):
        raise ValueError(f"kind must be 'forward' or 'backward', got {kind!r}")
    dtype = np.dtype(dtype)
    if variant is None or variant == "wave":
        lanes, pairs = int(_config.WAVE_LANES), int(_config.WAVE_PAIRS)
        if lanes < 1 or pairs < 1 or lanes * pairs > WAVE_MAX_THREADS:
            raise ValueError(f"WAVE_LANES * WAVE_PAIRS must be in 1..{WAVE_MAX_THREADS}, got {lanes} * {pairs}")
        kernel = (forward_wave if kind == "forward" else backward_wave)(dtype)
        nbytes = wave_shared_bytes(kind, lanes, pairs, dtype.itemsize)
        return kernel, (B + pairs - 1) // pairs, (lanes, pairs), nbytes
    threads = min(int(_config.THREADS_PER_BLOCK), MAX_THREADS)
    if variant == "shared":
        nbytes = shared_bytes(kind, N, dtype.itemsize)
        if nbytes > SHARED_LIMIT:
            raise ValueError(f"the shared variant needs {nbytes} bytes of shared memory for N={N}, over {SHARED_LIMIT}")
        return (forward_shared if kind == "forward" else backward_shared)(dtype), B, threads, nbytes
    if variant == "global":
        return (softdtw_forward if kind == "forward" else softdtw_backward), B, threads, 0
    raise ValueError(f"variant must be one of {VARIANTS} or None, got {variant!r}")


def launch(kind, B, N, dtype, stream=0, variant=None):
    """The configured kernel for a batch: ``launch(...)(same args as the CPU kernel)``.

    Parameters
    ----------
    kind : {"forward", "backward"}
    B : int
        Number of pairs (>= 1).
    N : int
        Rows of the tables less one (``D.shape[1]``); sizes the shared variant.
    dtype : np.dtype
        float32 or float64, the tables' dtype.
    stream : numba stream or 0
    variant : {None, "wave", "shared", "global"}
        ``None`` or ``"wave"``: :func:`forward_wave` / :func:`backward_wave`,
        ``WAVE_LANES`` lanes a pair and ``WAVE_PAIRS`` pairs a block (read now
        from :mod:`align.kernels._config`). ``"shared"``: the shared-memory
        diagonals kernels (``ValueError`` if they do not fit, see :func:`pick`
        to choose between the two older variants); ``"global"``: the
        global-memory ones. Both older variants run one block of
        ``THREADS_PER_BLOCK`` threads (at most ``MAX_THREADS``) a pair.

    Returns
    -------
    numba kernel, configured: ``kernel[grid, block, stream, shared_bytes]``.

    Raises
    ------
    ValueError
        Unknown ``kind`` or ``variant``, a wave block over ``WAVE_MAX_THREADS``
        threads, or a shared variant that does not fit ``SHARED_LIMIT``.
    """
    kernel, grid, block, nbytes = launch_config(kind, B, N, dtype, variant)
    return kernel[grid, block, stream, nbytes]
