"""Soft-DTW on the GPU (numba-cuda): the kernels of :mod:`align.kernels.softdtw`, same signatures.

Recurrence, boundary conditions, band rule and paper: see
:mod:`align.kernels.softdtw` (Cuturi & Blondel 2017, doi:10.48550/arXiv.1703.01541,
Algorithms 1 and 2). The per-cell math is the same Python source
(:mod:`align.kernels._softdtw_steps`) compiled as CUDA device functions, with
the soft-min arguments in the same (diagonal, vertical, horizontal) order.

Layout: one block per pair (``grid = B``). The table is swept by anti-diagonals
``s = i + j``: every cell of a diagonal depends only on the two previous
diagonals, so the block's threads stride over the cells of the current diagonal
(a loop, so any length works whatever the block size) and meet at
``cuda.syncthreads()`` before the next one. ``R`` and ``E`` live in global memory
(the backward needs all of ``R``; at N = M = 4,096 a table is 64 MiB in float32),
which keeps the kernel free of size limits; the diagonals just written are hot in
L2. The block size is a launch argument chosen by the API layer (small under
the simulator so that tiny inputs take several strides).

Launch::

    softdtw_forward[B, threads](D, len_x, len_y, gamma, radius, R, out)
    softdtw_backward[B, threads](D, R, len_x, len_y, gamma, E)
    pairwise_cost[blocks, threads](x, y, len_x, len_y, metric, D)   # any grid

``gamma`` must be a scalar of the tables' dtype (``np.float32(g)`` for float32),
otherwise the float32 kernels would compute in float64.

See Also
--------
align.kernels.softdtw : the CPU kernels and the full description.
align.soft_dtw, align.SoftDTWLoss : the validating public entry points.
"""

import math

from numba import cuda

from . import _softdtw_steps as _steps

__all__ = [
    "softmin3_gpu",
    "pairwise_cost",
    "softdtw_forward",
    "softdtw_backward",
]

softmin3_gpu = cuda.jit(device=True)(_steps.softmin3)
_band_allows_gpu = cuda.jit(device=True)(_steps.band_allows)
_local_cost_gpu = cuda.jit(device=True)(_steps.local_cost)
_backward_cell_gpu = cuda.jit(device=True)(_steps.backward_cell)


@cuda.jit
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


@cuda.jit
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


@cuda.jit
def softdtw_backward(D, R, len_x, len_y, gamma, E):
    """Algorithm 2 for pair ``blockIdx.x``; see :func:`align.kernels.softdtw.softdtw_backward`."""
    b = cuda.blockIdx.x
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n = len_x[b]
    m = len_y[b]
    for s in range(n + m, 1, -1):
        lo = s - m
        if lo < 1:
            lo = 1
        hi = s - 1
        if hi > n:
            hi = n
        for i in range(lo + t, hi + 1, nt):
            j = s - i
            E[b, i, j] = _backward_cell_gpu(D, R, E, b, i, j, n, m, gamma)
        cuda.syncthreads()
