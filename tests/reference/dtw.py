"""Independent DTW references: a plain full-matrix DP and a brute-force path oracle.

Nothing here imports from ``kernels/``. The full DP is written the textbook way: an
``(N+1) x (M+2)`` accumulated-cost matrix padded with ``inf`` (one row on top, two
columns on the left so the asymmetric step ``(i-1, j-2)`` needs no test), filled by a
double loop, with a separate backpointer matrix.

Conventions (the same as the engine's contract):

- local cost: sqeuclidean, euclidean, cityblock, cosine between rows;
- step patterns as dtw-python: symmetric1 (weights 1, 1, 1), symmetric2 (diagonal
  weight 2), asymmetric (steps (1,0), (1,1), (1,2), weight 1); the start cell has
  weight 1;
- ties: candidates ``g(pred) + w*c`` are compared; equal values prefer diagonal, then
  vertical (i-1, j), then the third step;
- subsequence: every cell of row 0 is a start (no predecessor), the end is the
  leftmost minimum of the last row;
- bands: Sakoe-Chiba ``|i*(M-1) - j*(N-1)| <= r*max(N-1, M-1)``; Itakura parallelogram
  with slopes s and 1/s from both corners in unit-square coordinates.
"""

import math

import numpy as np

INF = float("inf")

STEPS = {
    # name: list of (di, dj, weight) in tie-break order
    "symmetric1": [(1, 1, 1.0), (1, 0, 1.0), (0, 1, 1.0)],
    "symmetric2": [(1, 1, 2.0), (1, 0, 1.0), (0, 1, 1.0)],
    "asymmetric": [(1, 1, 1.0), (1, 0, 1.0), (1, 2, 1.0)],
}


def local_cost(a, b, metric):
    """Local cost between two feature vectors (computed in their dtype)."""
    a = np.atleast_1d(a)
    b = np.atleast_1d(b)
    if metric == "sqeuclidean":
        return float(np.sum((a - b) ** 2))
    if metric == "euclidean":
        return float(np.sqrt(np.sum((a - b) ** 2)))
    if metric == "cityblock":
        return float(np.sum(np.abs(a - b)))
    if metric == "cosine":
        return float(1.0 - np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    raise ValueError(metric)


def cost_matrix(x, y, metric="sqeuclidean"):
    """All local costs, shape (N, M), float64."""
    return np.array([[local_cost(a, b, metric) for b in y] for a in x], dtype=np.float64)


def in_band(i, j, n, m, window=None, radius=None, max_slope=None):
    """Whether cell (i, j) is allowed by the window."""
    if window is None or n == 1 or m == 1:
        return True
    if window == "sakoe_chiba":
        return abs(i * (m - 1) - j * (n - 1)) <= radius * max(n - 1, m - 1)
    if window == "itakura":
        s = max_slope
        u = i / (n - 1)
        v = j / (m - 1)
        eps = 1e-9
        return (
            v <= s * u + eps
            and u <= s * v + eps
            and 1 - v <= s * (1 - u) + eps
            and 1 - u <= s * (1 - v) + eps
        )
    raise ValueError(window)


def dtw_full(x, y, *, metric="sqeuclidean", step_pattern="symmetric1", window=None,
             radius=None, max_slope=None, subsequence=False):
    """Full-matrix DTW.

    Returns
    -------
    distance : float
        ``inf`` if no path exists.
    path : list of (int, int) or None
    D : np.ndarray, shape (N, M)
        Accumulated costs (inf outside the band / unreachable).
    """
    C = cost_matrix(x, y, metric)
    n, m = C.shape
    steps = STEPS[step_pattern]
    D = np.full((n + 1, m + 2), INF)
    B = np.full((n + 1, m + 2), -1, dtype=int)  # index into steps, or 9 = start
    for i in range(n):
        for j in range(m):
            if not in_band(i, j, n, m, window, radius, max_slope):
                continue
            c = C[i, j]
            if i == 0 and (subsequence or j == 0):
                D[i + 1, j + 2] = c
                B[i + 1, j + 2] = 9
                continue
            best = INF
            arg = -1
            for k, (di, dj, w) in enumerate(steps):
                cand = D[i + 1 - di, j + 2 - dj] + w * c
                if cand < best:
                    best = cand
                    arg = k
            D[i + 1, j + 2] = best
            B[i + 1, j + 2] = arg
    last = D[n, 2:]
    if subsequence:
        j_end = int(np.argmin(last))  # leftmost minimum
    else:
        j_end = m - 1
    dist = float(last[j_end])
    if not math.isfinite(dist):
        return INF, None, D[1:, 2:]
    path = []
    i, j = n - 1, j_end
    while True:
        path.append((i, j))
        k = B[i + 1, j + 2]
        if k == 9:
            break
        di, dj, _ = steps[k]
        i -= di
        j -= dj
    return dist, path[::-1], D[1:, 2:]


def path_cost(C, path, step_pattern="symmetric1"):
    """Weighted sum of local costs along a path (start cell weight 1)."""
    total = C[path[0]]
    weights = {(di, dj): w for di, dj, w in STEPS[step_pattern]}
    for (i0, j0), (i1, j1) in zip(path[:-1], path[1:]):
        total += weights[(i1 - i0, j1 - j0)] * C[i1, j1]
    return float(total)


def all_paths(n, m, step_pattern, *, subsequence=False, allowed=None):
    """Every admissible path (list of cells) for tiny n, m (brute force)."""
    moves = [(di, dj) for di, dj, _ in STEPS[step_pattern]]
    starts = [(0, j) for j in range(m)] if subsequence else [(0, 0)]
    out = []

    def ok(i, j):
        return 0 <= i < n and 0 <= j < m and (allowed is None or allowed(i, j))

    def walk(p):
        i, j = p[-1]
        if i == n - 1 and (subsequence or j == m - 1):
            out.append(list(p))
        for di, dj in moves:
            a, b = i + di, j + dj
            # in subsequence mode row 0 holds only starts, so no step stays in row 0
            if subsequence and a == 0:
                continue
            if ok(a, b):
                p.append((a, b))
                walk(p)
                p.pop()

    for s in starts:
        if ok(*s):
            walk([s])
    return out


def dtw_brute_force(x, y, *, metric="sqeuclidean", step_pattern="symmetric1", window=None,
                    radius=None, max_slope=None, subsequence=False):
    """Minimum weighted path cost over every admissible path (n, m <= 5 or so)."""
    C = cost_matrix(x, y, metric)
    n, m = C.shape

    def allowed(i, j):
        return in_band(i, j, n, m, window, radius, max_slope)

    paths = all_paths(n, m, step_pattern, subsequence=subsequence, allowed=allowed)
    if not paths:
        return INF
    return min(path_cost(C, p, step_pattern) for p in paths)


def count_paths(n, m, step_pattern):
    """Number of full paths (used to check the enumerator itself)."""
    return len(all_paths(n, m, step_pattern))


__all__ = [
    "cost_matrix",
    "in_band",
    "dtw_full",
    "path_cost",
    "all_paths",
    "dtw_brute_force",
    "count_paths",
]
