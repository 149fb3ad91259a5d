"""Exact subsequence search under banded DTW (the UCR Suite's method).

``subsequence_search`` finds the windows of a long series that are closest to
a query under dynamic time warping with a Sakoe-Chiba band, after
z-normalising the query and every window, and returns the k best
non-overlapping ones. The answer is exactly the brute-force answer (the DTW
of every window, then a greedy non-overlapping selection); lower bounds only
skip work. The kernels live in :mod:`align.kernels.search`.
"""

from dataclasses import dataclass
import math

import numpy as np

from .._validation import as_float_array, check_finite, check_positive_int
from ..exceptions import AlignError, InfeasibleAlignmentError, ParameterError
from ..kernels import search as _kernels

__all__ = ["SearchMatch", "subsequence_search"]

DEFAULT_RADIUS = 0.05  # the UCR Suite's R = 0.05: a band of +-5% of the query


@dataclass(frozen=True)
class SearchMatch:
    """One match of :func:`subsequence_search`.

    Attributes
    ----------
    start : int
        Index of the window's first sample in ``series``.
    end : int
        One past the window's last sample (``end - start == len(query)``),
        so ``series[start:end]`` is the matched window.
    distance : float
        The banded DTW between the (z-normalised) query and window: the sum
        of squared differences on the best path. ``math.sqrt(distance)`` is
        the value the UCR Suite prints (and dtaidistance / tslearn report).
    """

    start: int
    end: int
    distance: float


def _resolve_radius(radius, m):
    """Turn ``radius`` (None, int samples, or float fraction) into samples."""
    if radius is None:
        return int(math.floor(DEFAULT_RADIUS * m))
    if isinstance(radius, bool):
        raise ParameterError(
            f"radius must be an int (samples) or a float fraction in [0, 1) of "
            f"len(query), got {radius!r}"
        )
    if isinstance(radius, (int, np.integer)):
        r = int(radius)
        if r < 0:
            raise ParameterError(f"radius must be >= 0 samples, got {r}")
        # a band wider than the query is the same band (as in align.dtw and align.soft_dtw)
        return min(r, m - 1)
    if isinstance(radius, (float, np.floating)):
        frac = float(radius)
        if not (0.0 <= frac < 1.0):
            raise ParameterError(
                f"radius={frac!r} as a float is a fraction of len(query) and must "
                f"be in [0, 1); pass an int for a number of samples"
            )
        return int(math.floor(frac * m))
    raise ParameterError(
        f"radius must be None, an int (samples) or a float fraction in [0, 1), "
        f"got {type(radius).__name__} {radius!r}"
    )


def _prepare(query, series, k, radius, znormalize, exclusion):
    """Coerce and validate; return (q, x, k, r, exclusion, znormalize)."""
    if not isinstance(znormalize, (bool, np.bool_)):
        raise ParameterError(f"znormalize must be True or False, got {znormalize!r}")
    znormalize = bool(znormalize)
    q = as_float_array(query, "query", ndim=1, dtype=np.float64)
    x = as_float_array(series, "series", ndim=1, dtype=np.float64)
    m, n = q.size, x.size
    if m == 0:
        raise ParameterError("query is empty; pass at least one sample")
    if znormalize and m < 2:
        raise ParameterError(
            f"query has length {m}; z-normalisation needs at least 2 samples "
            f"(a single sample has zero std), or pass znormalize=False"
        )
    check_finite(q, "query")
    check_finite(x, "series")
    k = check_positive_int("k", k)
    r = _resolve_radius(radius, m)
    if exclusion is None:
        exclusion = m
    exclusion = check_positive_int("exclusion", exclusion, allow_zero=True)
    if m > n:
        raise InfeasibleAlignmentError(
            f"query (length {m}) is longer than series (length {n}); no window "
            f"fits: pass a shorter query or a longer series"
        )
    if znormalize:
        q = _znormalize(q)
    return q, x, k, r, exclusion, znormalize


def _znormalize(v):
    """(v - mean) / std (population std); a flat array becomes zeros.

    Uses the kernel that z-normalises the windows, so the query and the
    windows go through the same arithmetic.
    """
    out = np.empty_like(v)
    _kernels.znormalize_window(v, 0, v.size, out)
    return out


def _run(query, series, *, k=1, radius=None, znormalize=True, exclusion=None,
         bounds=_kernels.BOUND_ALL):
    """Search and also return the kernel's pruning counters (benchmarks use it)."""
    q, x, k, r, exclusion, znormalize = _prepare(query, series, k, radius, znormalize, exclusion)
    m, n = q.size, x.size
    n_win = n - m + 1
    dist = np.empty(n_win)
    counts = np.zeros(_kernels.N_COUNTS, dtype=np.int64)
    if bounds & _kernels.BOUND_KEOGH_REVERSED:
        s_upper = np.empty(n)
        s_lower = np.empty(n)
    else:  # the kernel does not touch them
        s_upper = np.empty(0)
        s_lower = np.empty(0)
    # No more than n_win windows can be chosen; capping k keeps the kernel's
    # per-match buffers small for a huge k without changing the answer.
    k_eff = min(k, n_win)
    bound = _kernels.scan(q, x, r, k_eff, exclusion, znormalize, int(bounds),
                          s_upper, s_lower, dist, counts)
    starts = np.empty(k_eff, dtype=np.int64)
    count = _kernels.greedy_select(dist, bound, k_eff, exclusion, starts)

    matches = [SearchMatch(int(s), int(s) + m, float(dist[s])) for s in starts[:count]]
    # Post-conditions: at least one match, best first, no two closer than
    # the exclusion zone, every distance finite and below the pruning bound.
    e = max(exclusion, 1)
    if count < 1 or count > k:
        raise AlignError(f"internal error: subsequence_search found {count} matches for k={k}")
    for a, b in zip(matches, matches[1:]):
        if b.distance < a.distance:
            raise AlignError("internal error: subsequence_search matches are not sorted by distance")
    chosen = sorted(mt.start for mt in matches)
    if any(b - a < e for a, b in zip(chosen, chosen[1:])):
        raise AlignError("internal error: subsequence_search matches overlap the exclusion zone")
    return matches, {
        "radius": r,
        "windows": n_win,
        "pruned_kim": int(counts[_kernels.COUNT_KIM]),
        "pruned_keogh": int(counts[_kernels.COUNT_KEOGH]),
        "pruned_keogh_reversed": int(counts[_kernels.COUNT_KEOGH_REVERSED]),
        "dtw_abandoned": int(counts[_kernels.COUNT_ABANDONED]),
        "dtw_full": int(counts[_kernels.COUNT_DTW]),
    }


def subsequence_search(query, series, *, k=1, radius=None, znormalize=True, exclusion=None, backend="auto"):
    """The k best non-overlapping windows of ``series`` under banded DTW.

    Every window ``series[s : s + m]`` (``m = len(query)``) is compared with
    the query by DTW after z-normalising both; the best window is taken,
    then the best window that does not overlap it, and so on. The result is
    exactly that of the brute force; the UCR Suite's lower bounds (LB_Kim,
    LB_Keogh on the query and on the data, early-abandoning DTW) only skip
    windows that cannot be chosen.

    Parameters
    ----------
    query : np.ndarray [shape=(m,)] or torch.Tensor
        The pattern. Any real dtype; computed in float64.
    series : np.ndarray [shape=(n,)] or torch.Tensor, ``n >= m``
        The long series to search.
    k : int >= 1
        How many matches to return.
    radius : None, int or float
        Sakoe-Chiba half-width in cells, the band of :func:`align.dtw` and
        :func:`align.soft_dtw`: query sample i may align with window sample
        j only if ``|i - j| <= r`` (query and window have one length). An int
        is ``r`` (``r >= 0``; 0 is the Euclidean distance; ``r >= m - 1`` is no
        band). Here only, because every window has the query's length, a float
        in [0, 1) may give it as a fraction of ``m``: ``r = floor(radius * m)``,
        as the UCR Suite's R; and None means 0.05 (a band of +-5%, the UCR
        Suite's usual setting) where elsewhere None means no band.
    znormalize : bool
        Z-normalise the query and every window (subtract the mean, divide by
        the population std). A flat window (all samples equal) becomes all
        zeros, and so does a flat query. False compares raw values.
    exclusion : None or int >= 0
        Two matches must start at least ``max(exclusion, 1)`` samples apart.
        None means ``m``: matches never overlap. 0 or 1 allow any overlap
        but never the same window twice.
    backend : {"auto", "cpu", "cuda"}
        The CPU today (GPU tensors are read on a host copy); ``"cuda"`` raises
        :class:`align.BackendUnavailableError` (no CUDA kernel yet).

    Returns
    -------
    list of SearchMatch
        ``(start, end, distance)`` with ``end = start + m``, best first
        (ties go to the earlier start). ``distance`` is the plain sum of
        squared differences on the best banded symmetric1 path; take
        ``math.sqrt(distance)`` for the UCR Suite's printed value. The list
        has ``k`` entries, or fewer (at least one) when no further window
        fits outside the exclusion zones of those already chosen.

    Raises
    ------
    ParameterError
        Non-finite values, an empty query, a query of length 1 with
        ``znormalize=True``, ``k < 1``, ``radius`` negative or a fraction
        outside [0, 1), ``exclusion < 0``.
    InfeasibleAlignmentError
        The query is longer than the series.

    See Also
    --------
    align.kernels.search.scan : the pruned scan.
    align.kernels.search.greedy_select : the non-overlapping selection.

    Notes
    -----
    Rakthanmanon et al., "Searching and Mining Trillions of Time Series
    Subsequences under Dynamic Time Warping", KDD 2012,
    DOI 10.1145/2339530.2339576, section 4. The proof that pruning against
    the k-th match keeps the greedy non-overlapping selection exact is in
    the module docstring of :mod:`align.kernels.search`. Memory: about
    ``4 * 8 * n`` bytes (the series, its envelope, one distance per window).

    Examples
    --------
    >>> import numpy as np
    >>> import align
    >>> rng = np.random.default_rng(0)
    >>> series = np.cumsum(rng.standard_normal(2000))
    >>> query = series[700:764] + 0.01 * rng.standard_normal(64)
    >>> best = align.subsequence_search(query, series)[0]
    >>> best.start, best.end
    (700, 764)
    """
    from .._backend import require_cpu

    require_cpu("subsequence_search", backend)
    matches, _ = _run(query, series, k=k, radius=radius, znormalize=znormalize,
                      exclusion=exclusion)
    return matches
