"""Soft-DTW on the CPU: value (forward) and gradient (backward) for batches of pairs.

Soft-DTW replaces the minimum of DTW by the smoothed minimum
``softmin_gamma(a) = -gamma * log(sum_k exp(-a_k / gamma))``, which makes the
alignment cost differentiable. Cuturi & Blondel, "Soft-DTW: a Differentiable
Loss Function for Time-Series", ICML 2017, PMLR 70:894-903
(doi:10.48550/arXiv.1703.01541), Algorithm 1 (forward) and Algorithm 2
(backward); the divergence built on it is from Blondel, Mensch & Vert,
"Differentiable Divergences Between Time Series", AISTATS 2021
(doi:10.48550/arXiv.2010.08354), section 3.

Recurrence (1-based ``i = 1..n``, ``j = 1..m``; ``C[i, j] = D[i-1, j-1]`` the cost)::

    R[0, 0] = 0,   R[i, 0] = R[0, j] = +inf
    R[i, j] = C[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])

The value is ``R[n, m]``. Cells outside the Sakoe-Chiba band
``|(i-1)(m-1) - (j-1)(n-1)| <= radius * max(n-1, m-1)`` are ``+inf``
(unreachable); ``radius < 0`` means no band.

Backward (Algorithm 2): ``E[i, j] = dR[n, m] / dR[i, j]`` by the reverse recursion
``E[i, j] = E[i+1, j] a + E[i, j+1] b + E[i+1, j+1] c`` with
``a = exp((R[i+1, j] - R[i, j] - C[i+1, j]) / gamma)`` and likewise ``b, c``;
``E[n, m] = 1``; successors outside the table (the paper's ``-inf`` border) and
unreachable ones contribute 0. ``E[i, j]`` is also ``dR[n, m] / dC[i, j]``, the
expected alignment matrix, from which :func:`cost_grad` forms the gradient with
respect to the inputs through the cost's Jacobian (squared Euclidean:
``2 (x_i - y_j)``).

Tie-break: none is needed; the smoothed minimum is symmetric in its arguments.
For bit-for-bit agreement with the GPU the three arguments are always passed in
the order (diagonal, vertical, horizontal) and the per-cell math lives once, in
:mod:`align.kernels._softdtw_steps`.

Storage: ``R`` and ``E`` are full ``(B, N+1, M+1)`` tables (the backward needs
all of ``R``); only the top-left ``(n+1) x (m+1)`` block of pair ``b`` is
written. ``E`` must be zero-filled by the caller if the padding is read.
Everything is computed in the dtype of ``D`` (float32 or float64); pass
``gamma`` as a scalar of that dtype.

See Also
--------
align.kernels.softdtw_cuda : the same kernels for numba-cuda, same signatures.
align.soft_dtw, align.SoftDTWLoss : the validating public entry points.
"""

import math

from numba import njit, prange

from . import _softdtw_steps as _steps
from ._config import FASTMATH

__all__ = [
    "METRIC_SQEUCLIDEAN",
    "METRIC_EUCLIDEAN",
    "METRIC_CITYBLOCK",
    "softmin3_cpu",
    "pairwise_cost",
    "cost_pair",
    "softdtw_forward",
    "softdtw_backward",
    "forward_pair",
    "backward_pair",
    "cost_grad",
]

METRIC_SQEUCLIDEAN = _steps.METRIC_SQEUCLIDEAN
METRIC_EUCLIDEAN = _steps.METRIC_EUCLIDEAN
METRIC_CITYBLOCK = _steps.METRIC_CITYBLOCK

_FM = set(FASTMATH)
softmin3_cpu = njit(inline="always", fastmath=_FM)(_steps.softmin3)
_band_allows_cpu = njit(inline="always")(_steps.band_allows)
_local_cost_cpu = njit(inline="always", fastmath=_FM)(_steps.local_cost)
_backward_value_cpu = njit(inline="always", fastmath=_FM)(_steps.backward_value)


@njit(cache=True, fastmath=_FM, parallel=True)
def pairwise_cost(x, y, len_x, len_y, metric, D):
    """Cost matrices ``D[b, i, j] = cost(x[b, i], y[b, j])`` for ``i < len_x[b], j < len_y[b]``.

    Parameters
    ----------
    x : np.ndarray [shape=(B, N, d), float32 or float64]
    y : np.ndarray [shape=(B, M, d), same dtype as x]
    len_x, len_y : np.ndarray [shape=(B,), int64]
        Valid lengths, ``1 <= len_x[b] <= N``, ``1 <= len_y[b] <= M``.
    metric : int
        0 squared Euclidean, 1 Euclidean, 2 city block.
    D : np.ndarray [shape=(B, N, M), dtype of x]
        Output; entries past the lengths are left untouched.
    """
    for b in prange(x.shape[0]):
        cost_pair(x, y, b, len_x[b], len_y[b], metric, D[b])


@njit(cache=True, fastmath=_FM)
def cost_pair(x, y, b, n, m, metric, Db):
    """Serial :func:`pairwise_cost` for pair ``b`` into its ``(N, M)`` slice ``Db``."""
    for i in range(n):
        for j in range(m):
            Db[i, j] = _local_cost_cpu(x, y, b, i, j, metric)


@njit(cache=True, fastmath=_FM)
def forward_pair(D, n, m, gamma, radius, R):
    """Algorithm 1 for one pair: fills ``R[:n+1, :m+1]`` and returns ``R[n, m]``.

    ``D`` is ``(N, M)``, ``R`` is ``(N+1, M+1)``; the other arguments as in
    :func:`softdtw_forward`. Serial; the batch driver calls it once per pair
    (and the API layer directly for a single pair, which spares the parallel
    launch).
    """
    R[0, 0] = 0.0
    for j in range(1, m + 1):
        R[0, j] = math.inf
    for i in range(1, n + 1):
        R[i, 0] = math.inf
        for j in range(1, m + 1):
            if _band_allows_cpu(i - 1, j - 1, n, m, radius):
                R[i, j] = D[i - 1, j - 1] + softmin3_cpu(R[i - 1, j - 1], R[i - 1, j], R[i, j - 1], gamma)
            else:
                R[i, j] = math.inf
    return R[n, m]


@njit(cache=True, fastmath=_FM, parallel=True)
def softdtw_forward(D, len_x, len_y, gamma, radius, R, out):
    """Soft-DTW tables and values of a batch (Algorithm 1), ``prange`` over pairs.

    Parameters
    ----------
    D : np.ndarray [shape=(B, N, M), float32 or float64]
        Cost matrices.
    len_x, len_y : np.ndarray [shape=(B,), int64]
        Valid lengths ``n = len_x[b]``, ``m = len_y[b]`` (>= 1).
    gamma : scalar of D's dtype
        Smoothing (> 0).
    radius : int
        Sakoe-Chiba radius, or -1 for no band.
    R : np.ndarray [shape=(B, N+1, M+1), dtype of D]
        Output table; ``R[b, :n+1, :m+1]`` is written.
    out : np.ndarray [shape=(B,), dtype of D]
        Output values ``R[b, n, m]`` (``+inf`` if the band admits no path).
    """
    for b in prange(D.shape[0]):
        out[b] = forward_pair(D[b], len_x[b], len_y[b], gamma, radius, R[b])


@njit(cache=True, fastmath=_FM)
def backward_pair(D, R, n, m, gamma, E):
    """Algorithm 2 for one pair: fills ``E[1:n+1, 1:m+1]`` (2-D views, as :func:`forward_pair`)."""
    E[n, m] = 1.0
    for i in range(n, 0, -1):
        for j in range(m, 0, -1):
            if i == n and j == m:
                continue
            r = R[i, j]
            hv = i < n
            hh = j < m
            hd = hv and hh
            # successors outside the table get placeholders (r), never read
            E[i, j] = _backward_value_cpu(
                r,
                gamma,
                hv,
                E[i + 1, j] if hv else r,
                R[i + 1, j] if hv else r,
                D[i, j - 1] if hv else r,
                hh,
                E[i, j + 1] if hh else r,
                R[i, j + 1] if hh else r,
                D[i - 1, j] if hh else r,
                hd,
                E[i + 1, j + 1] if hd else r,
                R[i + 1, j + 1] if hd else r,
                D[i, j] if hd else r,
            )


@njit(cache=True, fastmath=_FM, parallel=True)
def softdtw_backward(D, R, len_x, len_y, gamma, E):
    """Expected alignment matrices ``E = dR[n, m] / dC`` (Algorithm 2), ``prange`` over pairs.

    Parameters
    ----------
    D : np.ndarray [shape=(B, N, M), float32 or float64]
        The cost matrices given to :func:`softdtw_forward`.
    R : np.ndarray [shape=(B, N+1, M+1)]
        The tables filled by :func:`softdtw_forward`.
    len_x, len_y : np.ndarray [shape=(B,), int64]
    gamma : scalar of D's dtype
    E : np.ndarray [shape=(B, N+1, M+1), dtype of D]
        Output; ``E[b, 1:n+1, 1:m+1]`` is written (``E[b, i, j]`` is the weight of
        cost cell ``(i-1, j-1)``). Zero-fill it first if the rest is read.
    """
    for b in prange(D.shape[0]):
        backward_pair(D[b], R[b], len_x[b], len_y[b], gamma, E[b])


@njit(cache=True, fastmath=_FM, parallel=True)
def cost_grad(x, y, D, len_x, len_y, metric, E, gx, gy):
    """Gradients of ``sum_ij E[i+1, j+1] cost(x_i, y_j)`` with respect to x and y.

    Parameters
    ----------
    x, y, len_x, len_y, metric : as in :func:`pairwise_cost`.
    D : np.ndarray [shape=(B, N, M)]
        The costs (the Euclidean metric divides by them).
    E : np.ndarray [shape=(B, N+1, M+1)]
        From :func:`softdtw_backward`.
    gx : np.ndarray [shape=(B, N, d), dtype of x]
        Output gradient for x (rows past ``len_x[b]`` are set to 0).
    gy : np.ndarray [shape=(B, M, d), dtype of x]
        Output gradient for y (rows past ``len_y[b]`` are set to 0).

    Notes
    -----
    Jacobians: squared Euclidean ``2 (x_i - y_j)``; Euclidean
    ``(x_i - y_j) / |x_i - y_j|`` (0 where the distance is 0, a subgradient);
    city block ``sign(x_i - y_j)``. The y gradient is the negative of each term.
    """
    for b in prange(x.shape[0]):
        gx[b, :, :] = 0.0
        gy[b, :, :] = 0.0
        for i in range(len_x[b]):
            for j in range(len_y[b]):
                e = E[b, i + 1, j + 1]
                if e == 0.0:
                    continue
                if metric == 1:
                    if D[b, i, j] == 0.0:
                        continue
                    scale = e / D[b, i, j]
                elif metric == 0:
                    scale = 2.0 * e
                else:
                    scale = e
                for k in range(x.shape[2]):
                    diff = x[b, i, k] - y[b, j, k]
                    if metric == 2:
                        if diff > 0.0:
                            g = scale
                        elif diff < 0.0:
                            g = -scale
                        else:
                            g = 0.0 * scale
                    else:
                        g = scale * diff
                    gx[b, i, k] += g
                    gy[b, j, k] -= g
