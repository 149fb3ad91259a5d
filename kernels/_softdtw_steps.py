"""Per-cell math of soft-DTW, written once and compiled for both targets.

The functions here are plain Python. :mod:`align.kernels.softdtw` compiles them
with ``njit(inline="always")`` (the ``*_cpu`` names there) and
:mod:`align.kernels.softdtw_cuda` with ``numba.cuda.jit(device=True)`` (the
``*_gpu`` names there), so the CPU and the GPU evaluate the same expressions in
the same order.

They use only arithmetic, comparisons and ``math.exp``/``math.log`` on the
argument types, so a float32 table stays float32 on the GPU (no float64
constant sneaks into an expression: "unreachable" is returned as the input
``+inf`` itself, never as ``math.inf``).
"""

import math

__all__ = [
    "METRIC_SQEUCLIDEAN",
    "METRIC_EUCLIDEAN",
    "METRIC_CITYBLOCK",
    "softmin3",
    "backward_cell",
    "band_allows",
    "local_cost",
]


def softmin3(a, b, c, gamma):
    """Smoothed minimum ``-gamma * log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma))``.

    Computed stably by factoring out the hard minimum ``m``:
    ``m - gamma * log(sum exp(-(v - m) / gamma))``; every exponent is <= 0 and
    the sum is in [1, 3]. If all three are ``+inf`` (no predecessor reachable)
    the result is ``+inf`` (returned as ``m`` so that its type is the inputs').
    Cuturi & Blondel 2017 (arXiv:1703.01541), Algorithm 1.
    """
    m = a
    if b < m:
        m = b
    if c < m:
        m = c
    if m == math.inf:
        return m
    s = math.exp((m - a) / gamma) + math.exp((m - b) / gamma) + math.exp((m - c) / gamma)
    return m - gamma * math.log(s)


def band_allows(i, j, n, m, radius):
    """Whether cell ``(i, j)`` (0-based) of an ``n x m`` table lies in the Sakoe-Chiba band.

    The project's rule: ``|i*(m-1) - j*(n-1)| <= radius * max(n-1, m-1)`` in exact
    integer arithmetic; ``radius < 0`` means no band. For ``n == m`` this is
    ``|i - j| <= radius``.
    """
    if radius < 0:
        return True
    big = n - 1
    if m - 1 > big:
        big = m - 1
    diff = i * (m - 1) - j * (n - 1)
    if diff < 0:
        diff = -diff
    return diff <= radius * big


#: metric codes (the same numbers as :mod:`align.kernels._steps` uses for DTW)
METRIC_SQEUCLIDEAN = 0
METRIC_EUCLIDEAN = 1
METRIC_CITYBLOCK = 2


def local_cost(x, y, b, i, j, metric):
    """Cost between ``x[b, i, :]`` and ``y[b, j, :]`` in the inputs' dtype.

    ``metric``: 0 squared Euclidean (the paper's choice), 1 Euclidean,
    2 city block. Features are summed in index order.
    """
    acc = x[b, i, 0] - x[b, i, 0]  # a zero of the inputs' type
    for k in range(x.shape[2]):
        diff = x[b, i, k] - y[b, j, k]
        if metric == 2:
            acc += abs(diff)
        else:
            acc += diff * diff
    if metric == 1:
        acc = math.sqrt(acc)
    return acc


def backward_cell(D, R, E, b, i, j, n, m, gamma):
    """``E[b, i, j]`` of Algorithm 2 (1-based ``i, j`` into ``R`` and ``E``; 0-based ``D``).

    ``E[i, j] = E[i+1, j] a + E[i, j+1] b + E[i+1, j+1] c``; successors outside the ``n x m`` table are the
    paper's ``-inf`` border and contribute nothing; ``E[n, m] = 1``.
    An unreachable cell (``R = +inf``, outside the band) gets 0.
    """
    r = R[b, i, j]
    zero = gamma - gamma
    if i == n and j == m:
        return gamma / gamma
    if r == math.inf:
        return zero
    acc = zero
    # the factors a, b, c of Algorithm 2: exp((R[next] - R[here] - C[next]) / gamma).
    # R[next] = C[next] + softmin(.., R[here], ..) <= C[next] + R[here], so every
    # exponent is <= 0. An unreachable successor (R = +inf) owes nothing. Written
    # out three times: a device function may not call another plain-Python global.
    if i < n:
        rn = R[b, i + 1, j]
        if rn != math.inf:
            acc += E[b, i + 1, j] * math.exp((rn - r - D[b, i, j - 1]) / gamma)
    if j < m:
        rn = R[b, i, j + 1]
        if rn != math.inf:
            acc += E[b, i, j + 1] * math.exp((rn - r - D[b, i - 1, j]) / gamma)
    if i < n and j < m:
        rn = R[b, i + 1, j + 1]
        if rn != math.inf:
            acc += E[b, i + 1, j + 1] * math.exp((rn - r - D[b, i, j]) / gamma)
    return acc
