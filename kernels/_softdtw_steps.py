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
    "backward_value",
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


def backward_value(r, gamma, has_v, e_v, r_v, c_v, has_h, e_h, r_h, c_h, has_d, e_d, r_d, c_d):
    """``E[i, j]`` of Algorithm 2 from the cell's ``R`` and its three successors.

    ``E[i, j] = E[i+1, j] a + E[i, j+1] b + E[i+1, j+1] c`` (vertical, horizontal,
    diagonal successor, summed in that order) with the factors
    ``exp((R[next] - R[i, j] - C[next]) / gamma)``. ``R[next] = C[next] +
    softmin(.., R[i, j], ..) <= C[next] + R[i, j]``, so every exponent is <= 0.
    ``has_*`` says whether that successor lies inside the ``n x m`` table
    (outside is the paper's ``-inf`` border: it contributes nothing; its
    ``e_*, r_*, c_*`` are then placeholders and are not read). An unreachable
    successor (``R = +inf``, outside the band) contributes nothing; an
    unreachable cell gets 0. The caller sets ``E[n, m] = 1``.

    The kernels gather the arguments from wherever they keep them (full
    tables on the CPU and in the GPU's global-memory kernel, rolling diagonals
    in the GPU's shared-memory kernel) and call this one function, because a
    device function cannot call another plain-Python global.
    """
    zero = gamma - gamma  # a zero of gamma's type (0.0 would be float64)
    if r == math.inf:
        return zero
    acc = zero
    if has_v and r_v != math.inf:
        acc += e_v * math.exp((r_v - r - c_v) / gamma)
    if has_h and r_h != math.inf:
        acc += e_h * math.exp((r_h - r - c_h) / gamma)
    if has_d and r_d != math.inf:
        acc += e_d * math.exp((r_d - r - c_d) / gamma)
    return acc
