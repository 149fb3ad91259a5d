"""Per-cell math shared by every DTW kernel (CPU now, CUDA later).

The functions here are plain Python so that the same source can be compiled
twice: ``njit(inline="always")`` for the CPU kernels (done below, the ``*_cpu``
names) and ``numba.cuda.jit(device=True)`` for the GPU kernels. The tie-break
rule therefore exists once, and CPU and GPU agree on it exactly.

Codes (module constants, plain ints, passed to kernels as arguments)
---------------------------------------------------------------------
Metrics (local cost ``c(i, j)`` between row ``x[i]`` and row ``y[j]``):

- ``METRIC_SQEUCLIDEAN = 0``: ``sum_k (x[i, k] - y[j, k])**2``
- ``METRIC_EUCLIDEAN = 1``: ``sqrt(sum_k (x[i, k] - y[j, k])**2)``
- ``METRIC_CITYBLOCK = 2``: ``sum_k |x[i, k] - y[j, k]|``
- ``METRIC_COSINE = 3``: ``1 - <x[i], y[j]> / (|x[i]| |y[j]|)`` (rows must be nonzero;
  the API layer checks this)

The local cost is computed in the dtype of the inputs (float32 stays float32);
accumulation happens in float64.

Step patterns (the names and weights of dtw-python, Giorgino 2009,
doi:10.18637/jss.v031.i07, section 3.2):

- ``STEP_SYMMETRIC1 = 0``: ``g(i,j) = min(g(i-1,j-1) + c, g(i-1,j) + c, g(i,j-1) + c)``
- ``STEP_SYMMETRIC2 = 1``: ``g(i,j) = min(g(i-1,j-1) + 2c, g(i-1,j) + c, g(i,j-1) + c)``
- ``STEP_ASYMMETRIC = 2``: ``g(i,j) = min(g(i-1,j-1) + c, g(i-1,j) + c, g(i-1,j-2) + c)``

Direction codes (what a backpointer table stores, one byte per cell):
``DIR_DIAG = 0`` (from ``(i-1, j-1)``), ``DIR_VERT = 1`` (from ``(i-1, j)``),
``DIR_HORZ = 2`` (from ``(i, j-1)``, symmetric patterns), ``DIR_SKIP = 3``
(from ``(i-1, j-2)``, asymmetric), ``DIR_START = 4`` (a path starts here).

Tie-break rule (everywhere, CPU and GPU, full table and checkpointed)
---------------------------------------------------------------------
The candidates are the accumulated costs *after* adding the step's weighted local
cost (``g(pred) + w * c``). The smallest wins; on exact equality the earlier one in
the order diagonal, vertical ``(i-1, j)``, third step (horizontal ``(i, j-1)`` or
skip ``(i-1, j-2)``) wins. With ``transposed=True`` (used when a symmetric problem
is solved with x and y swapped to save memory) vertical and horizontal trade
places in that order, so the swapped problem keeps the same backpointers.
"""

import math

from numba import njit

from ._config import FASTMATH

__all__ = [
    "METRIC_SQEUCLIDEAN",
    "METRIC_EUCLIDEAN",
    "METRIC_CITYBLOCK",
    "METRIC_COSINE",
    "METRIC_CODES",
    "STEP_SYMMETRIC1",
    "STEP_SYMMETRIC2",
    "STEP_ASYMMETRIC",
    "STEP_CODES",
    "DIR_DIAG",
    "DIR_VERT",
    "DIR_HORZ",
    "DIR_SKIP",
    "DIR_START",
    "DTW_FASTMATH",
    "local_cost",
    "choose",
    "local_cost_cpu",
    "choose_cpu",
]

METRIC_SQEUCLIDEAN = 0
METRIC_EUCLIDEAN = 1
METRIC_CITYBLOCK = 2
METRIC_COSINE = 3
#: option string -> code, in the order the API lists them
METRIC_CODES = {
    "sqeuclidean": METRIC_SQEUCLIDEAN,
    "euclidean": METRIC_EUCLIDEAN,
    "cityblock": METRIC_CITYBLOCK,
    "cosine": METRIC_COSINE,
}

STEP_SYMMETRIC1 = 0
STEP_SYMMETRIC2 = 1
STEP_ASYMMETRIC = 2
#: option string -> code
STEP_CODES = {
    "symmetric1": STEP_SYMMETRIC1,
    "symmetric2": STEP_SYMMETRIC2,
    "asymmetric": STEP_ASYMMETRIC,
}

DIR_DIAG = 0
DIR_VERT = 1
DIR_HORZ = 2
DIR_SKIP = 3
DIR_START = 4


def local_cost(x, i, y, j, metric):
    """Local cost between ``x[i]`` and ``y[j]`` (2-D arrays ``(N, d)``, ``(M, d)``).

    Computed in the inputs' dtype; the caller widens it to float64.
    """
    d = x.shape[1]
    if metric == 0 or metric == 1:  # sqeuclidean, euclidean
        diff = x[i, 0] - y[j, 0]
        s = diff * diff
        for k in range(1, d):
            diff = x[i, k] - y[j, k]
            s += diff * diff
        if metric == 1:
            return math.sqrt(s)
        return s
    if metric == 2:  # cityblock
        s = abs(x[i, 0] - y[j, 0])
        for k in range(1, d):
            s += abs(x[i, k] - y[j, k])
        return s
    # cosine
    dot = x[i, 0] * y[j, 0]
    nx = x[i, 0] * x[i, 0]
    ny = y[j, 0] * y[j, 0]
    for k in range(1, d):
        dot += x[i, k] * y[j, k]
        nx += x[i, k] * x[i, k]
        ny += y[j, k] * y[j, k]
    return 1.0 - dot / (math.sqrt(nx) * math.sqrt(ny))


def choose(step, transposed, g_diag, g_vert, g_third, c):
    """Best candidate for one cell and its direction code (see the tie-break rule).

    Parameters
    ----------
    step : int
        STEP_* code.
    transposed : bool
        Swap the preference between vertical and horizontal (symmetric patterns).
    g_diag, g_vert, g_third : float
        Accumulated cost at ``(i-1, j-1)``, ``(i-1, j)`` and at the third
        predecessor (``(i, j-1)`` for symmetric patterns, ``(i-1, j-2)`` for asymmetric);
        ``inf`` where unreachable.
    c : float
        The local cost at ``(i, j)``, float64.

    Returns
    -------
    (float, int)
        ``g(i, j)`` and the DIR_* code of the chosen predecessor.
    """
    if step == 1:
        best = g_diag + 2.0 * c
    else:
        best = g_diag + c
    code = 0
    vert = g_vert + c
    third = g_third + c
    third_code = 3 if step == 2 else 2
    if transposed:
        if third < best:
            best = third
            code = third_code
        if vert < best:
            best = vert
            code = 1
    else:
        if vert < best:
            best = vert
            code = 1
        if third < best:
            best = third
            code = third_code
    return best, code


#: The fastmath flags of every DTW kernel: the project's FASTMATH without the flags
#: that let LLVM round differently depending on where a function is inlined
#: (contract: a*b + c fused into one FMA; reassoc: sums reordered; arcp, afn:
#: approximate division and functions). With them, the same cost could round
#: differently in the full-table, checkpointed, two-row and parallel pairwise
#: kernels, and their distances and tie-breaks would no longer agree bit for bit.
DTW_FASTMATH = set(FASTMATH) - {"contract", "reassoc", "arcp", "afn"}

local_cost_cpu = njit(inline="always", cache=True, fastmath=DTW_FASTMATH)(local_cost)
choose_cpu = njit(inline="always", cache=True, fastmath=DTW_FASTMATH)(choose)


def end_cell(last_row, m, subsequence):
    """Where the best path ends in the last row: ``(best, j_end)``.

    ``last_row`` is a two-row buffer padded by 2 (column ``j`` at ``j + 2``).
    Full alignment ends at ``m - 1``; subsequence mode at the leftmost minimum.
    """
    if subsequence:
        j_end = 0
        best = last_row[2]
        for j in range(1, m):
            if last_row[j + 2] < best:
                best = last_row[j + 2]
                j_end = j
        return best, j_end
    return last_row[m + 1], m - 1


end_cell_cpu = njit(inline="always", cache=True, fastmath=DTW_FASTMATH)(end_cell)
