"""Independent references for soft-DTW and for exact 1-D DTW (no import from kernels/).

- :func:`soft_dtw_tables`: Algorithm 1 and Algorithm 2 of Cuturi & Blondel 2017
  (arXiv:1703.01541) as printed: plain loops over the full ``(N+2) x (M+2)``
  tables, ``-inf`` on the bottom/right border, ``R[N+1, M+1] = R[N, M]``.
- :func:`soft_dtw_bruteforce`: the definition itself, a soft-min over every
  monotone warping path: ``-gamma * log sum_paths exp(-cost(path) / gamma)``.
- :func:`dtw_1d`: exact symmetric1 DTW with the squared difference, cost in the
  inputs' dtype, sums in float64, plain loops over an ``(N+1) x (M+1)`` table.
"""

import math

import numpy as np

__all__ = ["in_band", "cost_matrix", "soft_dtw_tables", "soft_dtw_bruteforce", "dtw_1d"]


def in_band(i, j, n, m, radius):
    """The project's Sakoe-Chiba rule on 0-based cells (None: no band)."""
    if radius is None:
        return True
    return abs(i * (m - 1) - j * (n - 1)) <= radius * max(n - 1, m - 1)


def cost_matrix(x, y, metric="sqeuclidean"):
    """(N, M) costs between rows, in float64, by explicit loops."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    C = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        for j in range(len(y)):
            diff = x[i] - y[j]
            if metric == "sqeuclidean":
                C[i, j] = float(np.sum(diff * diff))
            elif metric == "euclidean":
                C[i, j] = math.sqrt(float(np.sum(diff * diff)))
            else:
                C[i, j] = float(np.sum(np.abs(diff)))
    return C


def _softmin(values, gamma):
    finite = [v for v in values if v != math.inf]
    if not finite:
        return math.inf
    lo = min(finite)
    return lo - gamma * math.log(sum(math.exp(-(v - lo) / gamma) for v in finite))


def soft_dtw_tables(C, gamma, radius=None):
    """Value, R table ((N+2, M+2)) and expected alignment E ((N, M)) for the cost ``C``."""
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    R = np.full((n + 2, m + 2), math.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if in_band(i - 1, j - 1, n, m, radius):
                R[i, j] = C[i - 1, j - 1] + _softmin([R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]], gamma)
    value = R[n, m]
    # Algorithm 2
    Cp = np.zeros((n + 2, m + 2))
    Cp[1 : n + 1, 1 : m + 1] = C
    R[:, m + 1] = -math.inf
    R[n + 1, :] = -math.inf
    R[n + 1, m + 1] = R[n, m]
    E = np.zeros((n + 2, m + 2))
    E[n + 1, m + 1] = 1.0
    for j in range(m, 0, -1):
        for i in range(n, 0, -1):
            if R[i, j] == math.inf:  # outside the band: never on a path
                continue

            def weight(ii, jj):
                if R[ii, jj] == math.inf:  # an unreachable successor
                    return 0.0
                return math.exp((R[ii, jj] - R[i, j] - Cp[ii, jj]) / gamma)

            E[i, j] = (
                E[i + 1, j] * weight(i + 1, j)
                + E[i, j + 1] * weight(i, j + 1)
                + E[i + 1, j + 1] * weight(i + 1, j + 1)
            )
    return value, R, E[1 : n + 1, 1 : m + 1]


def _paths(n, m):
    """Every monotone path from (0, 0) to (n-1, m-1) with steps (1,0), (0,1), (1,1)."""
    def walk(i, j, acc):
        if (i, j) == (n - 1, m - 1):
            yield acc
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            a, b = i + di, j + dj
            if a < n and b < m:
                yield from walk(a, b, acc + [(a, b)])

    yield from walk(0, 0, [(0, 0)])


def soft_dtw_bruteforce(C, gamma, radius=None):
    """``-gamma log sum_paths exp(-cost / gamma)`` over the paths inside the band (tiny sizes)."""
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    costs = [
        sum(C[i, j] for i, j in p)
        for p in _paths(n, m)
        if all(in_band(i, j, n, m, radius) for i, j in p)
    ]
    if not costs:
        return math.inf
    lo = min(costs)
    return lo - gamma * math.log(sum(math.exp(-(c - lo) / gamma) for c in costs))


def dtw_1d(x, y):
    """Exact DTW (symmetric1) of 1-D ``x, y``: sum of squared differences on the best path.

    The difference and its square are computed in the inputs' dtype (numpy
    scalars, so float32 stays float32), the sums in float64.
    """
    n, m = len(x), len(y)
    g = np.full((n + 1, m + 1), np.inf)
    g[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d = x[i - 1] - y[j - 1]
            g[i, j] = np.float64(d * d) + min(g[i - 1, j - 1], g[i - 1, j], g[i, j - 1])
    return float(g[n, m])
