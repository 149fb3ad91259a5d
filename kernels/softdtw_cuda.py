"""Soft-DTW on the GPU (numba-cuda): the kernels of :mod:`align.kernels.softdtw`, same signatures.

Recurrence, boundary conditions, band rule and paper: see
:mod:`align.kernels.softdtw` (Cuturi & Blondel 2017, doi:10.48550/arXiv.1703.01541,
Algorithms 1 and 2). The per-cell math is the same Python source
(:mod:`align.kernels._softdtw_steps`) compiled as CUDA device functions, with
the soft-min arguments in the same (diagonal, vertical, horizontal) order.

Layout: one block per pair (``grid = B``). The table is swept by anti-diagonals
``s = i + j``: every cell of a diagonal depends only on the two previous
diagonals (the next two, backward), so the block's threads stride over the
cells of the current diagonal (a loop, so any length works whatever the block
size) and meet at ``cuda.syncthreads()`` before the next one.

Two variants with the same arguments:

- ``softdtw_forward`` / ``softdtw_backward`` read the neighbours from the full
  tables in global memory. No size limit.
- ``forward_shared(dtype)`` / ``backward_shared(dtype)`` (kernels built once per
  dtype) keep the three live diagonals in shared memory, indexed by row: the
  forward keeps ``R``, the backward ``R``, the cost and ``E`` (3 and 9 rows of
  ``N + 1`` values). Cells on an anti-diagonal are ``M`` apart in the tables, so
  every global access costs a whole 32-byte sector; these kernels make one
  global read of the cost per cell and one write (forward: ``R``; backward: one
  read of ``R``, one write of ``E``) instead of five or eleven. They need
  ``shared_bytes(kind, N, itemsize) <= SHARED_LIMIT`` (N <= ~1,300 float32 rows
  for the backward); :func:`pick` chooses. ``R`` is still written in full
  (the backward needs all of it).

The block size is a launch argument chosen by the API layer (small under
the simulator so that tiny inputs take several strides).

Launch::

    softdtw_forward[B, threads](D, len_x, len_y, gamma, radius, R, out)
    softdtw_backward[B, threads](D, R, len_x, len_y, gamma, E)
    forward_shared(dtype)[B, threads, stream, shared_bytes("forward", N, itemsize)](same args)
    backward_shared(dtype)[B, threads, stream, shared_bytes("backward", N, itemsize)](same args)
    pairwise_cost[blocks, threads](x, y, len_x, len_y, metric, D)   # any grid

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
    "softdtw_forward",
    "softdtw_backward",
    "forward_shared",
    "backward_shared",
    "shared_bytes",
    "pick",
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
    """``D[b, i, j] = cost(x[b, i], y[b, j])`` inside the lengths; a grid-stride loop over cells."""
    B = D.shape[0]
    N = D.shape[1]
    M = D.shape[2]
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for flat in range(start, B * N * M, stride):
        b = flat // (N * M)
        rest = flat - b * (N * M)
        i = rest // M
        j = rest - i * M
        if i < len_x[b] and j < len_y[b]:
            D[b, i, j] = _local_cost_gpu(x, y, b, i, j, metric)


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


_SHARED = {}


def forward_shared(dtype):
    """The shared-memory forward kernel for ``dtype`` (built once per dtype)."""
    key = ("forward", np.dtype(dtype))
    if key not in _SHARED:
        _SHARED[key] = _make_forward_shared(from_dtype(np.dtype(dtype)))
    return _SHARED[key]


def backward_shared(dtype):
    """The shared-memory backward kernel for ``dtype`` (built once per dtype)."""
    key = ("backward", np.dtype(dtype))
    if key not in _SHARED:
        _SHARED[key] = _make_backward_shared(from_dtype(np.dtype(dtype)))
    return _SHARED[key]


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
