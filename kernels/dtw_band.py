"""Global constraints (bands) for DTW as per-row column bounds, and their feasibility.

A band is given as two int64 arrays ``lo, hi`` of shape ``(N,)``: row ``i`` of the
``N x M`` grid may use the columns ``lo[i] <= j <= hi[i]`` (inclusive). A row with
``lo[i] > hi[i]`` is empty. Every DTW kernel (this package's and ``dtw_fast``'s)
takes ``lo, hi`` and so handles the three windows the same way.

Window rules (0-based ``i`` in ``[0, N)``, ``j`` in ``[0, M)``)
--------------------------------------------------------------
- ``WINDOW_NONE = 0``: every cell.
- ``WINDOW_SAKOE_CHIBA = 1`` (Sakoe & Chiba 1978, doi:10.1109/TASSP.1978.1163055,
  section IV): cell ``(i, j)`` is allowed iff
  ``|i*(M-1) - j*(N-1)| <= radius * max(N-1, M-1)``, in exact integer arithmetic.
  The band follows the straight line from corner ``(0, 0)`` to corner
  ``(N-1, M-1)``; its half-width is ``radius`` cells measured along the longer
  sequence. For ``N == M`` this is ``|i - j| <= radius``. If ``N == 1`` or ``M == 1``
  every cell is allowed.
- ``WINDOW_ITAKURA = 2`` (Itakura 1975, doi:10.1109/TASSP.1975.1162641, section III):
  the parallelogram with slopes ``s = max_slope`` and ``1/s`` from both corners, in
  coordinates normalised to the unit square (``u = i/(N-1)``, ``v = j/(M-1)``):
  ``v <= s*u``, ``u <= s*v``, ``1-v <= s*(1-u)``, ``1-u <= s*(1-v)``. Multiplied out
  with ``A = j*(N-1)``, ``B = i*(M-1)``, ``P = (N-1)*(M-1)``:
  ``A <= s*B``, ``B <= s*A``, ``P-A <= s*(P-B)``, ``P-B <= s*(P-A)`` (evaluated in
  float64 with a relative tolerance of 1e-12 so that cells on the boundary are in).
  For ``N == M`` this is the classical parallelogram ``i/s <= j <= s*i`` (and the
  same from the far corner). If ``N == 1`` or ``M == 1`` every cell is allowed.

Both rules are symmetric: swapping ``x`` and ``y`` (``N`` and ``M``) transposes the band.
"""

import math

import numpy as np
from numba import njit

from ._steps import DTW_FASTMATH


__all__ = [
    "WINDOW_NONE",
    "WINDOW_SAKOE_CHIBA",
    "WINDOW_ITAKURA",
    "WINDOW_CODES",
    "fill_band",
    "band_is_feasible",
]

WINDOW_NONE = 0
WINDOW_SAKOE_CHIBA = 1
WINDOW_ITAKURA = 2
#: option -> code (``None`` is the default, no band)
WINDOW_CODES = {None: WINDOW_NONE, "sakoe_chiba": WINDOW_SAKOE_CHIBA, "itakura": WINDOW_ITAKURA}


@njit(cache=True, fastmath=DTW_FASTMATH)
def _itakura_ok(i, j, n, m, s):
    a = float(j * (n - 1))
    b = float(i * (m - 1))
    p = float((n - 1) * (m - 1))
    tol = 1e-12 * (p + 1.0)
    return (
        a <= s * b + tol
        and b <= s * a + tol
        and p - a <= s * (p - b) + tol
        and p - b <= s * (p - a) + tol
    )


@njit(cache=True, fastmath=DTW_FASTMATH, nogil=True)
def fill_band(n, m, window, radius, max_slope, lo, hi):
    """Fill the per-row inclusive column bounds of a band.

    Parameters
    ----------
    n, m : int
        Lengths of x (rows) and y (columns), both >= 1.
    window : int
        WINDOW_NONE, WINDOW_SAKOE_CHIBA or WINDOW_ITAKURA.
    radius : int
        Sakoe-Chiba radius (>= 0); ignored by the other windows.
    max_slope : float
        Itakura slope (> 1); ignored by the other windows.
    lo, hi : np.ndarray [shape=(n,), int64]
        Output: row ``i`` may use columns ``lo[i]..hi[i]``; ``lo[i] > hi[i]`` means
        the row is empty.
    """
    if window == 0 or n == 1 or m == 1:
        for i in range(n):
            lo[i] = 0
            hi[i] = m - 1
        return
    if window == 1:
        big = n - 1 if n > m else m - 1
        r = radius * big
        for i in range(n):
            t = i * (m - 1)
            # j*(n-1) in [t - r, t + r]; // is floor division on ints
            a = -((r - t) // (n - 1))  # ceil((t - r) / (n - 1))
            b = (t + r) // (n - 1)
            lo[i] = a if a > 0 else 0
            hi[i] = b if b < m - 1 else m - 1
        return
    # Itakura: estimate the bounds in floating point, then settle them with the
    # exact per-cell predicate so the band does not depend on rounding.
    s = max_slope
    scale = (m - 1) / (n - 1)
    for i in range(n):
        u = float(i)
        est_lo = max(u / s, (n - 1) - s * ((n - 1) - u)) * scale
        est_hi = min(u * s, (n - 1) - ((n - 1) - u) / s) * scale
        a = int(math.floor(est_lo))
        b = int(math.ceil(est_hi))
        a = min(max(a, 0), m - 1)
        b = min(max(b, 0), m - 1)
        # move a to the first allowed column, b to the last
        while a > 0 and _itakura_ok(i, a - 1, n, m, s):
            a -= 1
        while a <= b and not _itakura_ok(i, a, n, m, s):
            a += 1
        while b < m - 1 and _itakura_ok(i, b + 1, n, m, s):
            b += 1
        while b >= a and not _itakura_ok(i, b, n, m, s):
            b -= 1
        if a > b:
            lo[i] = 1
            hi[i] = 0
        else:
            lo[i] = a
            hi[i] = b


@njit(cache=True, fastmath=DTW_FASTMATH)
def band_is_feasible(lo, hi, m, step, subsequence):
    """Whether a path from the start to the end exists inside the band.

    Propagates the interval of reachable columns row by row (reachable sets are
    intervals for all three step patterns).

    Parameters
    ----------
    lo, hi : np.ndarray [shape=(n,), int64]
        The band (see :func:`fill_band`).
    m : int
        Number of columns.
    step : int
        STEP_* code (0 symmetric1, 1 symmetric2, 2 asymmetric).
    subsequence : bool
        Free start anywhere in row 0 and free end anywhere in the last row.

    Returns
    -------
    bool
    """
    n = lo.shape[0]
    # row 0
    if subsequence:
        a = lo[0]
        b = hi[0]
    else:
        if lo[0] > 0 or hi[0] < 0:
            return False
        a = 0
        b = 0 if step == 2 else hi[0]
    if a > b:
        return False
    for i in range(1, n):
        if step == 2:
            na = max(a, lo[i])
            nb = min(b + 2, hi[i])
        else:
            # enter row i by a vertical or diagonal step, then walk right
            na = max(a, lo[i])
            if na > min(b + 1, hi[i]):
                return False
            nb = hi[i]
        if na > nb:
            return False
        a = na
        b = nb
    if subsequence:
        return True
    return a <= m - 1 <= b


def band_bounds(n, m, window, radius, max_slope):
    """Convenience wrapper: allocate ``lo, hi`` and call :func:`fill_band`."""
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    fill_band(n, m, window, int(radius), float(max_slope), lo, hi)
    return lo, hi
