"""Exact dynamic time warping: distance, warping path and pairwise matrices.

The public functions validate and coerce their inputs, build the band, check that a
path exists, call a compiled kernel from :mod:`align.kernels` and check the result.

Conventions
-----------
Distance. ``dtw_distance(x, y, metric="sqeuclidean")`` is the plain sum of squared
differences along the best symmetric1 path. Other libraries report:

- dtaidistance (``dtw.distance``) and tslearn (``metrics.dtw``): its square root,
  ``their = math.sqrt(ours)``;
- librosa (``sequence.dtw``, ``D[-1, -1]``), aeon (``dtw_distance``) and dtw-python
  (``dtw(...).distance`` with ``dist_method="sqeuclidean"``): the sum itself,
  ``their = ours``.

Step patterns (as dtw-python; ``c`` is the local cost, the start cell has weight 1):

- ``"symmetric1"``: steps (1,0), (0,1), (1,1), weight 1 each;
- ``"symmetric2"``: the same steps, the diagonal weighs 2 (``2c``);
- ``"asymmetric"``: steps (1,0), (1,1), (1,2), weight 1: every row of x is used
  exactly once, so a path exists only if ``M - 1 <= 2 (N - 1)``.

Normalized distance: ``distance / (N + M)`` for symmetric2, ``distance / N`` for
asymmetric (dtw-python's ``normalizedDistance``), and ``distance / K`` for symmetric1,
with ``K`` the number of cells on the returned path (dtw-python has no normaliser for
symmetric1 and reports NaN). In subsequence mode ``M`` is replaced by the length of
the matched part of y.

Windows: Sakoe-Chiba allows cell ``(i, j)`` (0-based) iff
``|i*(M-1) - j*(N-1)| <= radius * max(N-1, M-1)``: a band of half-width ``radius``
(counted along the longer sequence) around the straight line from the first corner to
the last; for ``N == M`` simply ``|i - j| <= radius``. Itakura is the parallelogram
with slopes ``max_slope`` and ``1/max_slope`` from both corners, drawn in the unit
square so that it joins the corners for any ``N, M``. Details:
:mod:`align.kernels.dtw_band`.

Tie-break: candidates (predecessor plus weighted local cost) are compared, and on
equality the diagonal beats the vertical step ``(i-1, j)``, which beats the third
(horizontal ``(i, j-1)`` or the asymmetric skip ``(i-1, j-2)``). Every path this module
returns follows this rule, however it was computed.

Precision: float32 inputs give float32 local costs, accumulated in float64; all
other inputs are computed in float64.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from .._tensors import like_input, torch_device
from .._validation import (
    as_float_array,
    as_int_array,
    check_errors,
    check_finite,
    check_option,
    check_positive_int,
    is_torch_tensor,
    renamed,
)
from ..exceptions import AlignError, InfeasibleAlignmentError, ParameterError

__all__ = ["DTWResult", "dtw", "dtw_distance", "dtw_pairwise", "dtw_batch"]

_METRICS = ("sqeuclidean", "euclidean", "cityblock", "cosine")
_STEPS = ("symmetric1", "symmetric2", "asymmetric")
_WINDOWS = (None, "sakoe_chiba", "itakura")

# Up to this many band cells the path uses one full table of direction bytes
# (64 MiB); above it, checkpointed rows (see align.kernels.dtw_path).
_FULL_TABLE_CELLS = 1 << 26


@dataclass(frozen=True)
class DTWResult:
    """The result of :func:`dtw`.

    Attributes
    ----------
    distance : float
        The weighted sum of local costs along the best path (see the module notes for
        how it relates to other libraries).
    path : np.ndarray [shape=(K, 2), int64] or None
        Pairs ``(i, j)``: row ``i`` of x is matched with row ``j`` of y, from the start
        to the end of the path. None when ``return_path=False``.
    normalized_distance : float
        ``distance`` divided by the step pattern's normaliser: ``N + M`` (symmetric2),
        ``N`` (asymmetric) or the path length ``K`` (symmetric1). In subsequence mode
        ``M`` is the length of the matched part of y.
    """

    distance: float
    path: np.ndarray | None
    normalized_distance: float


@dataclass(frozen=True)
class _Problem:
    x: np.ndarray  # (N, d)
    y: np.ndarray  # (M, d)
    metric: int
    step: int
    window: int
    radius: int
    max_slope: float
    subsequence: bool
    lo: np.ndarray
    hi: np.ndarray


def _codes():
    from ..kernels._steps import METRIC_CODES, STEP_CODES
    from ..kernels.dtw_band import WINDOW_CODES

    return METRIC_CODES, STEP_CODES, WINDOW_CODES


def _window_of(window, radius):
    """``radius`` alone means the Sakoe-Chiba band (as in :func:`align.soft_dtw`)."""
    return "sakoe_chiba" if window is None and radius is not None else window


def _check_options(metric, step_pattern, window, radius, max_slope, subsequence):
    """Validate the option strings and numbers; return their codes."""
    metric_codes, step_codes, window_codes = _codes()
    if not subsequence:
        window = _window_of(window, radius)
    check_option("metric", metric, _METRICS)
    check_option("step_pattern", step_pattern, _STEPS)
    check_option("window", window, _WINDOWS)
    if not isinstance(subsequence, (bool, np.bool_)):
        raise ParameterError(f"subsequence must be True or False, got {subsequence!r}")
    if subsequence and window is not None:
        raise ParameterError(
            f"subsequence=True finds x anywhere inside y, so window={window!r} does not "
            "apply; drop the window or set subsequence=False"
        )
    r = 0
    s = 2.0
    if window == "sakoe_chiba":
        if radius is None:
            raise ParameterError(
                "window='sakoe_chiba' needs radius, the band's half-width in cells "
                "(an integer >= 0), got radius=None"
            )
        r = check_positive_int("radius", radius, allow_zero=True)
    elif radius is not None:
        raise ParameterError(
            f"radius={radius!r} is only used with window='sakoe_chiba', got "
            f"window={window!r}; pass window='sakoe_chiba' or drop radius"
        )
    if window == "itakura":
        if max_slope is None:
            raise ParameterError(
                "window='itakura' needs max_slope, the parallelogram's steepest slope "
                "(a number > 1, typically 2), got max_slope=None"
            )
        numbers = (int, float, np.integer, np.floating)
        if isinstance(max_slope, bool) or not isinstance(max_slope, numbers):
            raise ParameterError(f"max_slope must be a number > 1, got {max_slope!r}")
        if not (math.isfinite(max_slope) and max_slope > 1):
            raise ParameterError(
                f"max_slope must be a finite number > 1 (slope 1 allows only the "
                f"diagonal), got {max_slope!r}"
            )
        s = float(max_slope)
    elif max_slope is not None:
        raise ParameterError(
            f"max_slope={max_slope!r} is only used with window='itakura', got "
            f"window={window!r}; pass window='itakura' or drop max_slope"
        )
    return metric_codes[metric], step_codes[step_pattern], window_codes[window], r, s


def _coerce_sequence(x, name):
    """(N,) or (N, d) array-like -> C-contiguous (N, d) float array, validated."""
    arr = as_float_array(x, name, ndim=(1, 2))
    if arr.shape[0] == 0:
        raise ParameterError(
            f"{name} is empty (shape {arr.shape}); DTW needs at least one element in "
            "each sequence"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ParameterError(
            f"{name} has no features (shape {arr.shape}); each row needs at least one value"
        )
    check_finite(arr, name)
    return arr


def _check_pair(x, y, xname="x", yname="y"):
    dx = 1 if x.ndim == 1 else x.shape[1]
    dy = 1 if y.ndim == 1 else y.shape[1]
    if dx != dy:
        raise ParameterError(
            f"{xname} and {yname} must have the same number of features per row, got "
            f"{dx} ({xname}.shape={x.shape}) and {dy} ({yname}.shape={y.shape})"
        )


def _common_dtype(arrays):
    return np.float64 if any(a.dtype == np.float64 for a in arrays) else np.float32


def _as_2d(arr, dtype):
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr.reshape(arr.shape[0], -1)


def _check_cosine(arr, name):
    zero = ~np.any(arr != 0, axis=1)
    if np.any(zero):
        k = int(np.argmax(zero))
        raise ParameterError(
            f"metric='cosine' is undefined for an all-zero row, and {name}[{k}] is all "
            "zeros; drop such rows, add a small offset, or use another metric"
        )


def _band(n, m, window, radius, max_slope):
    from ..kernels.dtw_band import fill_band

    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    fill_band(n, m, window, radius, max_slope, lo, hi)
    return lo, hi


def _feasible(n, m, window, radius, max_slope, step, subsequence):
    from ..kernels.dtw_band import band_is_feasible

    lo, hi = _band(n, m, window, radius, max_slope)
    return band_is_feasible(lo, hi, m, step, subsequence), lo, hi


def _infeasible_message(n, m, step_pattern, window, radius, max_slope, step, what="x and y"):
    """Explain why no path exists and what would work."""
    from ..kernels.dtw_band import WINDOW_ITAKURA, WINDOW_SAKOE_CHIBA

    if step_pattern == "asymmetric" and m - 1 > 2 * (n - 1):
        return (
            f"no asymmetric path exists for {what} with N={n}, M={m}: every step "
            f"advances x by one row and y by at most 2, so M - 1 <= 2*(N - 1) is "
            "needed; swap x and y or use step_pattern='symmetric1' or 'symmetric2'"
        )
    if window == "sakoe_chiba":
        hi_r = max(n, m)
        lo_r = radius
        while lo_r < hi_r:  # smallest feasible radius (feasibility grows with it)
            mid = (lo_r + hi_r) // 2
            if _feasible(n, m, WINDOW_SAKOE_CHIBA, mid, 2.0, step, False)[0]:
                hi_r = mid
            else:
                lo_r = mid + 1
        return (
            f"window='sakoe_chiba' with radius={radius} admits no {step_pattern} path "
            f"for {what} with N={n}, M={m}; the smallest radius that works is {lo_r}"
        )
    if window == "itakura":
        lo_s, hi_s = float(max_slope), max(2.0 * max_slope, 2.0)
        while not _feasible(n, m, WINDOW_ITAKURA, 0, hi_s, step, False)[0] and hi_s < 1e9:
            lo_s, hi_s = hi_s, 2.0 * hi_s
        for _ in range(60):
            mid = 0.5 * (lo_s + hi_s)
            if _feasible(n, m, WINDOW_ITAKURA, 0, mid, step, False)[0]:
                hi_s = mid
            else:
                lo_s = mid
        return (
            f"window='itakura' with max_slope={max_slope} admits no {step_pattern} path "
            f"for {what} with N={n}, M={m}; the smallest max_slope that works is about "
            f"{math.ceil(hi_s * 1000) / 1000:g}"
        )
    return f"no {step_pattern} path exists for {what} with N={n}, M={m}"


def _prepare(x, y, metric, step_pattern, window, radius, max_slope, subsequence):
    window = _window_of(window, radius) if not subsequence else window
    metric_c, step_c, window_c, r, s = _check_options(
        metric, step_pattern, window, radius, max_slope, subsequence
    )
    x = _coerce_sequence(x, "x")
    y = _coerce_sequence(y, "y")
    _check_pair(x, y)
    dtype = _common_dtype((x, y))
    x2 = _as_2d(x, dtype)
    y2 = _as_2d(y, dtype)
    if metric == "cosine":
        _check_cosine(x2, "x")
        _check_cosine(y2, "y")
    n, m = x2.shape[0], y2.shape[0]
    r = min(r, max(n, m))  # a wider band is the same band (and avoids int overflow)
    ok, lo, hi = _feasible(n, m, window_c, r, s, step_c, bool(subsequence))
    if not ok:
        raise InfeasibleAlignmentError(
            _infeasible_message(n, m, step_pattern, window, r, s, step_c)
        )
    return _Problem(x2, y2, metric_c, step_c, window_c, r, s, bool(subsequence), lo, hi)


def _fast_sym1():
    """The SIMD symmetric1 distance kernels ``(sym1_1d, sym1_nd)`` of
    :mod:`align.kernels.dtw_fast`, or None where that module is absent."""
    try:
        from ..kernels.dtw_fast import sym1_1d, sym1_nd
    except ImportError:
        return None
    return sym1_1d, sym1_nd


def _fast_sym1_pairwise():
    """``align.kernels.dtw_fast.sym1_pairwise``, or None where that module is absent."""
    try:
        from ..kernels.dtw_fast import sym1_pairwise
    except ImportError:
        return None
    return sym1_pairwise


def _distance_only(p, *, track):
    """Run the two-row kernel; swap x and y when it saves memory and is allowed."""
    from ..kernels.dtw import dtw_distance_rows

    x, y, lo, hi = p.x, p.y, p.lo, p.hi
    transposed = False
    if p.step != 2 and not p.subsequence and y.shape[0] > x.shape[0]:
        # symmetric patterns and bands are symmetric: solve the transposed problem
        # with rows along the shorter sequence; the transposed tie-break keeps the
        # tracked path length that of the untransposed path.
        x, y = y, x
        lo, hi = _band(x.shape[0], y.shape[0], p.window, p.radius, p.max_slope)
        transposed = True
    out = np.empty(4)
    # symmetric1 distances go to the wavefront kernels of dtw_fast: the same
    # recurrence in SIMD order, about 7x faster. They may fuse a multiply-add (FMA),
    # so on real-valued data they can differ from the general kernels in the last
    # bits (relative ~1e-15; exact on integer-valued data). Only float64: dtw_fast
    # accumulates float32 input in float32, and our contract is float64
    # accumulation. Not cosine (its precomputed norms round differently). The n-d
    # kernel picks its form (method -1): the BLAS form recomputes every cell where
    # the expanded formula could cancel, so dtw(x, x) == 0 still holds exactly.
    if (not track and p.step == 0 and not p.subsequence and x.dtype == np.float64
            and p.metric != 3):
        fast = _fast_sym1()
        if fast is not None:
            if x.shape[1] == 1:
                g = fast[0](x[:, 0], y[:, 0], lo, hi, p.metric)
            else:
                g = fast[1](x, y, lo, hi, p.metric, -1)
            return float(g), y.shape[0] - 1, -1, -1
    dtw_distance_rows(x, y, lo, hi, p.metric, p.step, p.subsequence, transposed, track, out)
    return float(out[0]), int(out[1]), int(out[2]), int(out[3])


def _path_plan(lo, hi, n, block_rows=None):
    """Block size and scratch sizes for the checkpointed path kernel."""
    w = np.maximum(hi - lo + 1, 0)
    total = int(w.sum())
    if block_rows is None:
        if total <= _FULL_TABLE_CELLS:
            block_rows = n
        else:
            # minimises 8*W*N/B (checkpoints) + B*W (direction bytes)
            block_rows = max(1, math.isqrt(8 * n))
    block = int(min(max(1, block_rows), n))
    nb = -(-n // block)
    ck_off = np.zeros(nb + 1, dtype=np.int64)
    if nb > 1:
        ck_rows = np.arange(1, nb) * block - 1
        ck_off[2:] = np.cumsum(w[ck_rows])
    if nb == 1:
        dir_cells = total
    else:
        dir_cells = int(np.add.reduceat(w, np.arange(nb) * block).max())
    return block, ck_off, max(dir_cells, 1)


def _path(p, block_rows=None):
    from ..kernels.dtw_path import dtw_path_checkpointed

    n, m = p.x.shape[0], p.y.shape[0]
    block, ck_off, dir_cells = _path_plan(p.lo, p.hi, n, block_rows)
    ck_vals = np.empty(max(int(ck_off[-1]), 1))
    dirs = np.empty(dir_cells, dtype=np.uint8)
    row_a = np.empty(m + 2)
    row_b = np.empty(m + 2)
    crow = np.empty(m)
    buf = np.empty((n + m - 1, 2), dtype=np.int64)
    g, k = dtw_path_checkpointed(p.x, p.y, p.lo, p.hi, p.metric, p.step, p.subsequence, block, buf,
                                 (ck_off, ck_vals, row_a, row_b, crow, dirs))
    del ck_vals, dirs
    path = np.ascontiguousarray(buf[:k][::-1])
    return float(g), path


def _check_path(path, n, m, p):
    """Post-conditions: endpoints, monotone steps of the pattern."""
    steps = np.diff(path, axis=0)
    ok = path.shape[0] >= 1 and path[-1, 0] == n - 1 and path[0, 0] == 0
    if not p.subsequence:
        ok = ok and path[0, 1] == 0 and path[-1, 1] == m - 1
    if steps.size:
        if p.step == 2:
            ok = ok and np.all(steps[:, 0] == 1) and np.all((steps[:, 1] >= 0) & (steps[:, 1] <= 2))
        else:
            ok = ok and np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)
    if not ok:
        raise AlignError(
            "internal error: the DTW path failed its post-conditions "
            f"(N={n}, M={m}); please report this with the inputs"
        )


def _normalize(distance, step, n, m, k, j_start, j_end, subsequence):
    if step == 0:
        return distance / k
    if step == 2:
        return distance / n
    span = (j_end - j_start + 1) if subsequence else m
    return distance / (n + span)


def dtw(x, y, *, metric="sqeuclidean", step_pattern="symmetric1", window=None,
        radius=None, max_slope=None, subsequence=False, return_path=True, backend="auto"):
    """Exact dynamic time warping between two sequences, with the optimal path.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor [shape=(N,) or (N, d), float32 or float64]
        The first sequence (rows of the cost grid; the query in subsequence mode).
        Other real dtypes are converted to float64.
    y : np.ndarray or torch.Tensor [shape=(M,) or (M, d)]
        The second sequence; ``d`` must match x's. ``M`` may differ from ``N``.
    metric : {"sqeuclidean", "euclidean", "cityblock", "cosine"}
        Local cost between rows.
    step_pattern : {"symmetric1", "symmetric2", "asymmetric"}
        Allowed steps and their weights (module notes; as dtw-python).
    window : {None, "sakoe_chiba", "itakura"}
        Global constraint. ``"sakoe_chiba"`` needs ``radius`` (and is implied by it),
        ``"itakura"`` needs ``max_slope``.
    radius : int >= 0, optional
        Sakoe-Chiba half-width in cells: cell ``(i, j)`` is allowed iff
        ``|i*(M-1) - j*(N-1)| <= radius * max(N-1, M-1)`` (``|i - j| <= radius`` when
        ``N == M``). The same band as :func:`align.soft_dtw` and
        :func:`align.subsequence_search` draw; None: no band.
    max_slope : float > 1, optional
        Itakura parallelogram slope (slopes ``max_slope`` and ``1/max_slope`` from
        both corners).
    subsequence : bool
        Find x anywhere inside y: the path may start at any ``(0, j)`` and end at any
        ``(N-1, j)`` (librosa's ``subseq=True``, dtw-python's ``open_begin=True,
        open_end=True``). The end is the column with the smallest accumulated cost
        (the leftmost on ties). Cannot be combined with a window.
    return_path : bool
        Return the path (costs time and memory, see Notes) or only the distances.
    backend : {"auto", "cpu", "cuda"}
        ``"cuda"`` runs the pair on the GPU (as :func:`dtw_batch`, whose options it
        takes); ``"auto"`` does so when x is a torch CUDA tensor and the options allow,
        else the CPU. Without a GPU ``"cuda"`` raises :class:`align.BackendUnavailableError`.

    Returns
    -------
    DTWResult
        ``distance`` (float), ``path`` ([shape=(K, 2), int64] or None),
        ``normalized_distance`` (float). A torch input gives the path as a torch
        tensor on its device.

    Raises
    ------
    ParameterError
        Malformed input: NaN/inf (the message names the argument and index), an empty
        sequence, mismatched feature dimensions, more than 2 dimensions, an unknown
        option, a missing or negative radius, ``max_slope <= 1``, a window with
        ``subsequence=True``, an all-zero row with ``metric="cosine"``.
    InfeasibleAlignmentError
        The band (or the asymmetric pattern) admits no path; the message gives the
        smallest radius or max_slope that works.

    See Also
    --------
    dtw_distance : the distance only, in O(min(N, M)) memory.
    dtw_pairwise : all pairs of two collections.
    align.kernels.dtw_path.dtw_path_checkpointed : the path kernel.

    Notes
    -----
    Distance conventions: with ``metric="sqeuclidean"`` and symmetric1 the distance is
    the plain sum of squared differences along the path; dtaidistance and tslearn
    report ``math.sqrt(distance)``; librosa, aeon and dtw-python report ``distance``.

    Time ``O(N W)`` cell updates for a band ``W`` cells wide (``W = M`` without band),
    about 1.5 times that when checkpointing. Peak memory: up to ``2**26`` band cells the
    path is read from a full table of one direction byte per cell (``N W`` bytes);
    above that, rows are checkpointed every ``B = isqrt(8 N)`` rows and each block is
    recomputed during backtracking, for about ``8 W ceil(N / B) + B W`` bytes, i.e.
    ``~ 2 W sqrt(8 N)`` bytes: 180 MB for ``N = M = 100000`` without a band; plus
    ``16 (N + M)`` bytes for the path. The checkpointed path equals the full-table path
    exactly, ties included. With ``return_path=False`` memory is ``O(min(N, M))``
    (``O(M)`` in subsequence mode).

    Sakoe & Chiba (1978), doi:10.1109/TASSP.1978.1163055; step patterns after
    Giorgino (2009), doi:10.18637/jss.v031.i07, section 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from align import dtw
    >>> r = dtw(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 1.0, 2.0]))
    >>> r.distance
    0.0
    >>> r.path.tolist()
    [[0, 0], [1, 1], [1, 2], [2, 3]]
    """
    opts = dict(metric=metric, step_pattern=step_pattern, window=window, radius=radius,
                max_slope=max_slope, subsequence=subsequence)
    if _one_pair_backend(backend, (x, y), opts) == "cuda":
        return dtw_batch([x], [y], return_path=return_path, backend="cuda", **opts)[0]
    if not isinstance(return_path, (bool, np.bool_)):
        raise ParameterError(f"return_path must be True or False, got {return_path!r}")
    return _dtw_cpu(x, y, return_path, torch_device(x, y), opts)


def _one_pair_backend(backend, inputs, opts):
    """The backend one pair runs on: "auto" takes the GPU for torch CUDA inputs whose
    options the CUDA kernels take."""
    from .._backend import BACKENDS, resolve_backend

    check_option("backend", backend, BACKENDS)
    if backend == "cpu":
        return "cpu"
    metric_c, step_c, window_c, _, _ = _check_options(**opts)
    device = torch_device(*inputs)
    on_gpu = device is not None and device.type == "cuda"
    return resolve_backend(backend, on_gpu=on_gpu and _cuda_takes(step_c, metric_c, window_c, opts["subsequence"]))


def _dtw_cpu(x, y, return_path, device, opts):
    """:func:`dtw` on the CPU; the path follows ``device`` (see :mod:`align._tensors`)."""
    p = _prepare(x, y, **opts)
    n, m = p.x.shape[0], p.y.shape[0]
    if return_path:
        distance, path = _path(p)
        _check_path(path, n, m, p)
        k = path.shape[0]
        j_start, j_end = int(path[0, 1]), int(path[-1, 1])
    else:
        # only symmetric1 (path length) and subsequence (matched span) need to follow
        # the backpointers for the normaliser
        distance, j_end, k, j_start = _distance_only(p, track=p.step == 0 or p.subsequence)
        path = None
    if not math.isfinite(distance):
        raise AlignError(f"internal error: DTW distance is {distance} (N={n}, M={m})")
    norm = _normalize(distance, p.step, n, m, k, j_start, j_end, p.subsequence)
    return DTWResult(distance=distance, path=like_input(path, device), normalized_distance=norm)


def dtw_distance(x, y, *, metric="sqeuclidean", step_pattern="symmetric1", window=None,
                 radius=None, max_slope=None, subsequence=False, backend="auto"):
    """DTW distance only, in O(min(N, M)) memory.

    Same arguments and conventions as :func:`dtw` (without ``return_path``); returns
    ``dtw(x, y, ...).distance`` (to the last bits: symmetric1 float64 distances run
    the SIMD kernels of :mod:`align.kernels.dtw_fast`, whose fused multiply-adds can
    change the last bit of a sum; other cases run the same arithmetic as :func:`dtw`).

    Parameters
    ----------
    x : np.ndarray or torch.Tensor [shape=(N,) or (N, d), float32 or float64]
    y : np.ndarray or torch.Tensor [shape=(M,) or (M, d)]
    metric, step_pattern, window, radius, max_slope, subsequence, backend
        See :func:`dtw`.

    Returns
    -------
    float
        The weighted sum of local costs along the best path. With
        ``metric="sqeuclidean"``: dtaidistance and tslearn report
        ``math.sqrt`` of this value; librosa, aeon and dtw-python report it as is.

    Raises
    ------
    ParameterError, InfeasibleAlignmentError
        As :func:`dtw`.

    See Also
    --------
    dtw, dtw_pairwise

    Notes
    -----
    Two rows of accumulated cost along the shorter sequence: symmetric patterns swap x
    and y when ``M > N`` (the band rules are symmetric). The asymmetric pattern is never
    swapped; its rows have length ``M <= 2N - 1`` (else no path exists), still
    ``O(min(N, M))``. Subsequence mode keeps rows along y: ``O(M)``.

    Examples
    --------
    >>> import numpy as np
    >>> from align import dtw_distance
    >>> dtw_distance(np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0]))
    1.0
    """
    opts = dict(metric=metric, step_pattern=step_pattern, window=window, radius=radius,
                max_slope=max_slope, subsequence=subsequence)
    if _one_pair_backend(backend, (x, y), opts) == "cuda":
        return dtw_batch([x], [y], return_path=False, backend="cuda", **opts)[0].distance
    p = _prepare(x, y, **opts)
    distance = _distance_only(p, track=False)[0]
    return distance


def _as_collection(X, name):
    """A list of (n_k, d) arrays from a list of 1-D/2-D arrays or a 2-D/3-D array."""
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ParameterError(f"{name} is an empty list; pass at least one sequence")
        seqs = [_coerce_sequence(s, f"{name}[{k}]") for k, s in enumerate(X)]
    else:
        arr = as_float_array(X, name, ndim=(2, 3))
        if arr.shape[0] == 0:
            raise ParameterError(f"{name} holds no sequences (shape {arr.shape})")
        seqs = [_coerce_sequence(arr[k], f"{name}[{k}]") for k in range(arr.shape[0])]
    return seqs


def _pack(seqs, dtype):
    d = 1 if seqs[0].ndim == 1 else seqs[0].shape[1]
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    off = np.zeros(len(seqs) + 1, dtype=np.int64)
    off[1:] = np.cumsum(lengths)
    buf = np.empty((int(off[-1]), d), dtype=dtype)
    for k, s in enumerate(seqs):
        buf[off[k]:off[k + 1]] = s.reshape(s.shape[0], d)
    return buf, off, lengths


def dtw_pairwise(X, Y=None, *, n_jobs=None, metric="sqeuclidean", step_pattern="symmetric1",
                 window=None, radius=None, max_slope=None, subsequence=False, errors="raise",
                 backend="auto", client=None, block=None):
    """DTW distances between every sequence of X and every sequence of Y.

    Parameters
    ----------
    X : list of np.ndarray [shape=(n_k,) or (n_k, d)] or np.ndarray [shape=(P, T) or (P, T, d)]
        Sequences of any lengths (a list) or of one length (an array; a 2-D array is
        ``P`` univariate sequences).
    Y : same as X, optional
        None means X against itself: for the symmetric patterns (without
        subsequence) only the upper triangle is computed and mirrored, and the
        diagonal is 0.
    n_jobs : int, optional
        Threads for the parallel loop over pairs (numba ``prange``); -1 or None uses
        numba's default; values above numba's pool size are clipped to it.
    metric, step_pattern, window, radius, max_slope, subsequence
        See :func:`dtw`.
    errors : {"raise", "ignore"}
        A pair the band admits no path for: raise :class:`InfeasibleAlignmentError`
        naming it, or give it the distance ``inf``.
    backend : {"auto", "cpu", "cuda"}
        ``"cuda"`` runs every pair on the GPU (:mod:`align.kernels.dtw_cuda`,
        a wavefront of threads per pair; symmetric1 with sqeuclidean, euclidean or
        cityblock, any number of features, no band, no subsequence); without a GPU it raises
        :class:`align.BackendUnavailableError`. ``"auto"`` picks it when
        ``X`` is a torch CUDA tensor and the options allow it. With ``client``,
        the backend each worker uses (inputs reach the workers as numpy arrays,
        so ``"auto"`` means the CPU there).
    client : distributed.Client or str, optional
        Compute the matrix on a Dask cluster (:mod:`align.sequence.dtw_distributed`):
        a :class:`dask.distributed.Client`, the address of a running scheduler
        (``"tcp://host:8786"``) or ``"local:N"`` (a LocalCluster of N single-threaded
        worker processes, started and closed by this call). The matrix is cut into
        square blocks, one task each; the series are sent to every worker once and
        the client holds only the output. Same values, bit for bit, as without
        ``client``. Inside a worker ``n_jobs=None`` means one thread per task.
    block : int, optional
        With ``client``: rows (and columns) of the matrix per task. Default: sized
        from the series' lengths so that a task runs for about a second, and small
        enough to give every worker several tasks.

    Returns
    -------
    np.ndarray or torch.Tensor [shape=(len(X), len(Y)), float64]
        A torch tensor on the inputs' device when they are torch tensors.

    Raises
    ------
    ParameterError
        As :func:`dtw`, naming the offending sequence (``X[3]``).
        Also a malformed ``client`` or ``block``, or ``block`` without ``client``.
    InfeasibleAlignmentError
        If a pair admits no path and ``errors="raise"``, naming the pair and its lengths.
    BackendUnavailableError
        With ``client``: dask.distributed missing, no scheduler at the address, or
        workers that cannot run fusealign or keep dying on a block.

    See Also
    --------
    dtw_distance

    Notes
    -----
    The sequences are packed into one buffer with offsets; every pair runs the
    two-row kernel, so memory is ``O(total length + threads * max length)``.

    Examples
    --------
    >>> import numpy as np
    >>> from align import dtw_pairwise
    >>> dtw_pairwise([np.array([0.0, 1.0]), np.array([0.0, 0.0, 1.0]), np.array([2.0])])
    array([[0., 0., 5.],
           [0., 0., 9.],
           [5., 9., 0.]])
    """
    device = torch_device(X, Y)
    if client is not None or block is not None:
        from .dtw_distributed import pairwise_on_client

        if client is None:
            raise ParameterError(
                f"block={block!r} is the size of a task on a Dask cluster and needs client= "
                "(a dask.distributed.Client, a scheduler address or 'local:N'); drop block "
                "to compute on this machine"
            )
        from .._dask import check_client

        check_client(client)  # its form, before the inputs; connecting comes after them
        if block is not None:
            block = check_positive_int("block", block)
        errors = check_errors(errors)
        check_option("backend", backend, ("auto", "cpu", "cuda"))
        if n_jobs is not None and n_jobs != -1:
            n_jobs = check_positive_int("n_jobs", n_jobs)
        xs, ys, symmetric, all_feasible, (window_c, r) = _cluster_inputs(
            X, Y, metric, step_pattern, window, radius, max_slope, subsequence, errors)
        options = {"n_jobs": 1 if n_jobs is None else n_jobs, "metric": metric,
                   "step_pattern": step_pattern, "window": window, "radius": radius,
                   "max_slope": max_slope, "subsequence": subsequence, "errors": errors,
                   "backend": backend, "allow_fast": all_feasible}
        out = pairwise_on_client(client, xs, None if Y is None else ys, symmetric=symmetric,
                                 run_block=_pairwise, options=options, block=block,
                                 band_radius=r if window_c == 1 else None)
        return like_input(out, device)
    out = _pairwise(X, Y, n_jobs, metric, step_pattern, window, radius, max_slope, subsequence,
                    check_errors(errors), backend, device)
    return like_input(out, device)


def _collections(X, Y):
    """``X`` and ``Y`` (``X`` again when None) as lists of checked series, and their common dtype."""
    xs = _as_collection(X, "X")
    ys = xs if Y is None else _as_collection(Y, "Y")
    ref = xs[0]
    for k, sq in enumerate(xs):
        _check_pair(ref, sq, "X[0]", f"X[{k}]")
    for k, sq in enumerate(ys if Y is not None else ()):
        _check_pair(ref, sq, "X[0]", f"Y[{k}]")
    return xs, ys, _common_dtype(xs + (ys if Y is not None else []))


def _pairwise(X, Y, n_jobs, metric, step_pattern, window, radius, max_slope, subsequence, errors,
              backend, device, allow_fast=True):
    """The matrix of :func:`dtw_pairwise` as numpy; ``allow_fast=False`` keeps the general
    kernel even when every pair is feasible (a block of a distributed matrix whose other
    blocks need it, see :mod:`align.sequence.dtw_distributed`)."""
    from .._backend import resolve_backend

    window = window if subsequence else _window_of(window, radius)
    metric_c, step_c, window_c, r, s = _check_options(
        metric, step_pattern, window, radius, max_slope, subsequence
    )
    on_gpu = device is not None and device.type == "cuda"
    use = resolve_backend(backend, on_gpu=on_gpu and backend == "auto"
                          and _cuda_takes(step_c, metric_c, window_c, subsequence))
    if n_jobs is not None and n_jobs != -1:
        n_jobs = check_positive_int("n_jobs", n_jobs)
    xs, ys, dtype = _collections(X, Y)
    xbuf, xoff, xlen = _pack(xs, dtype)
    if Y is None:
        ybuf, yoff, ylen = xbuf, xoff, xlen
    else:
        ybuf, yoff, ylen = _pack(ys, dtype)
    if metric == "cosine":
        for name, seqs in (("X", xs), ("Y", ys)):
            for k, sq in enumerate(seqs):
                _check_cosine(sq.reshape(sq.shape[0], -1), f"{name}[{k}]")
    r = min(r, int(max(xlen.max(), ylen.max())))
    nx, ny = len(xs), len(ys)
    symmetric = Y is None and step_c != 2 and not subsequence
    if symmetric:
        pi, pj = np.triu_indices(nx, k=1)
    else:
        pi, pj = np.divmod(np.arange(nx * ny), ny)
    pi = np.ascontiguousarray(pi, dtype=np.int64)
    pj = np.ascontiguousarray(pj, dtype=np.int64)
    # feasibility, once per distinct pair of lengths
    infeasible = np.zeros(pi.shape[0], dtype=bool)
    if window_c != 0 or step_c == 2:
        seen = {}
        for q, (a, b) in enumerate(zip(pi.tolist(), pj.tolist())):
            key = (int(xlen[a]), int(ylen[b]))
            if key not in seen:
                seen[key] = _feasible(key[0], key[1], window_c, r, s, step_c, bool(subsequence))[0]
            if seen[key]:
                continue
            if errors == "raise":
                what = f"X[{a}] and {'X' if Y is None else 'Y'}[{b}]"
                raise InfeasibleAlignmentError(
                    _infeasible_message(*key, step_pattern, window, r, s, step_c, what=what)
                )
            infeasible[q] = True
    good = ~infeasible
    result = _pairwise_run(xs, ys, (xbuf, xoff, ybuf, yoff), pi[good], pj[good], Y is None,
                           symmetric, n_jobs, (metric_c, step_c, window_c, r, s, bool(subsequence)),
                           use, fast_ok=bool(allow_fast and good.all()))
    if not good.all():  # errors="ignore": the feasible pairs ran, the others are inf
        result[pi[infeasible], pj[infeasible]] = np.inf
        if symmetric:
            result[pj[infeasible], pi[infeasible]] = np.inf
    return result


def _cluster_inputs(X, Y, metric, step_pattern, window, radius, max_slope, subsequence, errors):
    """The checks of :func:`dtw_pairwise` before its blocks go to a cluster; one dtype for all.

    Returns
    -------
    xs, ys : list of np.ndarray
        ``ys is xs`` when Y is None.
    symmetric : bool
        Only the upper triangle is computed.
    all_feasible : bool
        Every pair admits a path.
    """
    window_eff = window if subsequence else _window_of(window, radius)
    metric_c, step_c, window_c, r, s = _check_options(
        metric, step_pattern, window_eff, radius, max_slope, subsequence
    )
    xs, ys, dtype = _collections(X, Y)
    if metric == "cosine":
        for name, seqs in (("X", xs), ("Y", ys)):
            for k, sq in enumerate(seqs):
                _check_cosine(sq.reshape(sq.shape[0], -1), f"{name}[{k}]")
    # one dtype for all, as the local run packs them: a block must not compute in float32
    # because its own series happen to be float32
    xs = [np.ascontiguousarray(q, dtype=dtype) for q in xs]
    ys = xs if Y is None else [np.ascontiguousarray(q, dtype=dtype) for q in ys]
    xlen = np.array([len(q) for q in xs], dtype=np.int64)
    ylen = np.array([len(q) for q in ys], dtype=np.int64)
    symmetric = Y is None and step_c != 2 and not subsequence
    all_feasible = True
    if window_c != 0 or step_c == 2:
        r = min(r, int(max(xlen.max(), ylen.max())))
        ux, ix = np.unique(xlen, return_inverse=True)
        uy, iy = np.unique(ylen, return_inverse=True)
        if symmetric:
            # (l1, l2) occurs as a pair a < b iff l1 first occurs before l2 last does
            first = np.full(len(ux), len(xs))
            last = np.full(len(ux), -1)
            np.minimum.at(first, ix, np.arange(len(xs)))
            np.maximum.at(last, ix, np.arange(len(xs)))
            occurs = first[:, None] < last[None, :]
        else:
            occurs = np.ones((len(ux), len(uy)), dtype=bool)
        ok = np.ones((len(ux), len(uy)), dtype=bool)
        for a, b in zip(*np.nonzero(occurs)):
            ok[a, b] = _feasible(int(ux[a]), int(uy[b]), window_c, r, s, step_c,
                                      bool(subsequence))[0]
        all_feasible = bool(ok[occurs].all())
        if not all_feasible and errors == "raise":
            for a in range(len(xs)):  # the first infeasible pair in the local run's order
                start = a + 1 if symmetric else 0
                bad = ~ok[ix[a], iy[start:]]
                if bad.any():
                    b = start + int(np.argmax(bad))
                    what = f"X[{a}] and {'X' if Y is None else 'Y'}[{b}]"
                    raise InfeasibleAlignmentError(_infeasible_message(
                        int(xlen[a]), int(ylen[b]), step_pattern, window_eff, r, s, step_c, what=what))
    return xs, ys, symmetric, all_feasible, (window_c, r)


def _pairwise_run(xs, ys, packed, pi, pj, self_pairs, symmetric, n_jobs, codes, use, fast_ok):
    """The distances of the pairs ``(xs[pi[q]], ys[pj[q]])`` in a (len(xs), len(ys)) matrix.

    ``packed`` is ``(xbuf, xoff, ybuf, yoff)`` (:func:`_pack`); ``codes`` is
    ``(metric, step, window, radius, max_slope, subsequence)`` as the kernels take them.
    """
    import numba

    from ..kernels.dtw import dtw_pairwise_ragged

    xbuf, xoff, ybuf, yoff = packed
    metric_c, step_c, window_c, r, s, subsequence = codes
    nx, ny = len(xs), len(ys)
    dtype = xbuf.dtype
    if use == "cuda":
        return _pairwise_cuda(xs, ys, pi, pj, symmetric, dtype, metric_c, step_c, window_c,
                              subsequence)
    # symmetric1 float64 pairs without cosine or Itakura go to dtw_fast's wavefront
    # driver (same values as dtw_distance, see _distance_only); it runs every pair
    fast = None
    if (fast_ok and step_c == 0 and not subsequence and dtype == np.float64 and metric_c != 3
            and window_c in (0, 1)):
        fast = _fast_sym1_pairwise()
    out = np.empty(pi.shape[0])
    previous = numba.get_num_threads()
    try:
        if n_jobs is not None and n_jobs != -1:
            numba.set_num_threads(min(n_jobs, numba.config.NUMBA_NUM_THREADS))
        if fast is not None:
            flat = xbuf.shape[1] == 1
            xb = np.ascontiguousarray(xbuf[:, 0]) if flat else xbuf
            yb = xb if self_pairs else (np.ascontiguousarray(ybuf[:, 0]) if flat else ybuf)
            full = np.empty((nx, ny))
            fast(xb, xoff, yb, yoff, self_pairs, r if window_c == 1 else -1, metric_c, full)
            return full
        dtw_pairwise_ragged(xbuf, xoff, ybuf, yoff, pi, pj, metric_c, step_c, window_c, r, s,
                            subsequence, out)
    finally:
        numba.set_num_threads(previous)
    result = np.zeros((nx, ny))
    result[pi, pj] = out
    if symmetric:
        result[pj, pi] = out
    return result


_CUDA_OPTIONS = ("backend='cuda' supports step_pattern='symmetric1' with metric 'sqeuclidean', 'euclidean' "
                 "or 'cityblock', no window and no subsequence; use backend='cpu' for these options")


def _cuda_takes(step_c, metric_c, window_c, subsequence):
    """Whether the CUDA kernels take these options (any number of features)."""
    return step_c == 0 and metric_c in (0, 1, 2) and window_c == 0 and not subsequence


def _pad_pairs(xs, ys, dtype):
    """``(xpad, lx, ypad, ly)``: the sequences zero-padded to ``(B, T)`` when every one is 1-D,
    else to ``(B, T, d)`` (1-D sequences as ``(n, 1)``); the caller has checked that ``d`` is
    the same for all."""
    flat = all(q.ndim == 1 for q in xs) and all(q.ndim == 1 for q in ys)
    d = 1 if xs[0].ndim == 1 else xs[0].shape[1]

    def pad(seqs):
        lengths = np.array([len(q) for q in seqs], dtype=np.int64)
        shape = (len(seqs), int(lengths.max())) + (() if flat else (d,))
        padded = np.zeros(shape, dtype=dtype)
        for k, q in enumerate(seqs):
            padded[k, : len(q)] = q if flat else q.reshape(len(q), d)
        return padded, lengths

    return (*pad(xs), *pad(ys))


def _pairwise_cuda(xs, ys, pi, pj, symmetric, dtype, metric_c, step_c, window_c, subsequence):
    """dtw_pairwise on the GPU: the pairs padded into (B, N) and (B, M) batches."""
    from . import dtw_cuda

    if not _cuda_takes(step_c, metric_c, window_c, subsequence):
        raise ParameterError(_CUDA_OPTIONS)
    xpad, lx, ypad, ly = _pad_pairs(xs, ys, dtype)
    # longest pairs first: a block of the wave kernel runs to its longest pair, so
    # neighbours of similar lengths waste the least work
    order = _by_size(lx[pi], ly[pj])
    pi, pj = pi[order], pj[order]
    out = dtw_cuda.dtw_batch(xpad[pi], ypad[pj], lx[pi], ly[pj], metric=metric_c)
    out = out.cpu().numpy() if is_torch_tensor(out) else np.asarray(out)
    result = np.zeros((len(xs), len(ys)))
    result[pi, pj] = out
    if symmetric:
        result[pj, pi] = out
    return result


def _by_size(n, m):
    """The order that puts pairs of lengths ``(n[k], m[k])`` longest first (stable)."""
    return np.lexsort((-np.asarray(m), -np.asarray(n)))


def _trim(X, lengths, name, lengths_name):
    """The sequences ``X[b, :lengths[b]]`` of a padded batch, as a list (padding is never read)."""
    if isinstance(X, (list, tuple)):
        raise ParameterError(f"{lengths_name} needs {name} as one padded array (B, T) or (B, T, d), got a list")
    arr = as_float_array(X, name, ndim=(2, 3))  # not checked for finiteness: only the trimmed parts are
    lens = as_int_array(lengths, lengths_name, ndim=1)
    if lens.shape[0] != arr.shape[0]:
        raise ParameterError(f"{lengths_name} must have one entry per sequence ({arr.shape[0]}), got shape {lens.shape}")
    bad = np.flatnonzero((lens < 1) | (lens > arr.shape[1]))
    if bad.size:
        k = int(bad[0])
        raise ParameterError(f"{lengths_name}[{k}]={int(lens[k])} is out of range: each length must be between 1 "
                             f"and {arr.shape[1]} (the padded length of {name})")
    return [arr[b, : int(lens[b])] for b in range(arr.shape[0])]


def dtw_batch(X, Y, x_lengths=None, y_lengths=None, *, metric="sqeuclidean", step_pattern="symmetric1",
              window=None, radius=None, max_slope=None, subsequence=False, return_path=True,
              errors="raise", n_jobs=None, backend="auto", len_x=None, len_y=None):
    """Exact DTW of many pairs ``(X[b], Y[b])`` at once, with their optimal paths.

    The batched form of :func:`dtw` (the pairs are matched by position, not all
    against all as in :func:`dtw_pairwise`), for aligning every item of a
    training batch or a corpus in one call.

    Parameters
    ----------
    X, Y : list of array [shape=(n_b,) or (n_b, d)] or array [shape=(B, T) or (B, T, d)]
        The pairs' first and second sequences (numpy or torch); the same number of
        each, any lengths.
    x_lengths, y_lengths : array_like [shape=(B,), int] or None
        Valid lengths when X (Y) is one padded array: pair ``b`` is
        ``X[b, :x_lengths[b]]``; the padding may hold anything (NaN included). The
        same names and positions as :func:`align.soft_dtw_batch` and
        :class:`align.SoftDTWLoss` (``len_x`` / ``len_y`` are their old names).
    metric, step_pattern, window, radius, max_slope, subsequence, return_path
        As in :func:`dtw`.
    errors : {"raise", "ignore"}
        A pair the band admits no path for: raise :class:`InfeasibleAlignmentError`
        naming it, or give it ``distance = normalized_distance = inf`` and no path.
    n_jobs : int, optional
        CPU threads over pairs (the kernels release the GIL); None or -1: numba's
        thread count.
    backend : {"auto", "cpu", "cuda"}
        ``"cuda"`` runs the whole batch on the GPU
        (:mod:`align.kernels.dtw_cuda`'s wave kernels and ``dtw_traceback``):
        symmetric1 with sqeuclidean, euclidean or cityblock, no window, no
        subsequence, any number of features; it needs ``B * max(n) * max(m)``
        bytes of GPU memory for the direction codes.
        Without a GPU it raises :class:`align.BackendUnavailableError`. ``"auto"``
        picks it when ``X`` is a torch CUDA tensor and the options allow it.

    Returns
    -------
    list of DTWResult
        One per pair, equal to ``dtw(X[b], Y[b], ...)`` on either backend (the
        same tie-break, so the same paths, ties included). Torch inputs give the
        paths as torch tensors on their device.

    Raises
    ------
    ParameterError
        As :func:`dtw` for each pair (the message names the pair), different
        numbers of sequences in X and Y, or options the CUDA backend does not take.
    InfeasibleAlignmentError
        A band admits no path for some pair (``errors="raise"``).

    See Also
    --------
    dtw : one pair.
    dtw_pairwise : distances of all pairs of two collections.

    Examples
    --------
    >>> import numpy as np
    >>> from align import dtw_batch
    >>> res = dtw_batch([np.array([0.0, 1.0, 2.0]), np.array([5.0, 5.0])],
    ...                 [np.array([0.0, 1.0, 1.0, 2.0]), np.array([4.0])])
    >>> [r.distance for r in res]
    [0.0, 2.0]
    >>> res[0].path.tolist()
    [[0, 0], [1, 1], [1, 2], [2, 3]]
    """
    from .._backend import resolve_backend

    x_lengths = renamed("dtw_batch", "x_lengths", x_lengths, "len_x", len_x)
    y_lengths = renamed("dtw_batch", "y_lengths", y_lengths, "len_y", len_y)
    check_errors(errors)
    if n_jobs is not None and n_jobs != -1:
        n_jobs = check_positive_int("n_jobs", n_jobs)
    window = window if subsequence else _window_of(window, radius)
    metric_c, step_c, window_c, _, _ = _check_options(metric, step_pattern, window, radius, max_slope,
                                                      subsequence)
    if not isinstance(return_path, (bool, np.bool_)):
        raise ParameterError(f"return_path must be True or False, got {return_path!r}")
    cuda_ok = _cuda_takes(step_c, metric_c, window_c, subsequence)
    device = torch_device(X, Y)
    on_gpu = device is not None and device.type == "cuda"
    use = resolve_backend(backend, on_gpu=on_gpu and backend == "auto" and cuda_ok)
    xs = _as_collection(X if x_lengths is None else _trim(X, x_lengths, "X", "x_lengths"), "X")
    ys = _as_collection(Y if y_lengths is None else _trim(Y, y_lengths, "Y", "y_lengths"), "Y")
    if len(xs) != len(ys):
        raise ParameterError(f"X and Y must hold the same number of sequences (pairs), got {len(xs)} and {len(ys)}")
    for k, (a, b) in enumerate(zip(xs, ys)):
        _check_pair(a, b, f"X[{k}]", f"Y[{k}]")
    opts = dict(metric=metric, step_pattern=step_pattern, window=window, radius=radius,
                max_slope=max_slope, subsequence=subsequence)
    if use != "cuda":
        return _batch_cpu(xs, ys, return_path, errors, n_jobs, device, opts)
    if not cuda_ok:
        raise ParameterError(_CUDA_OPTIONS)
    features = [1 if a.ndim == 1 else a.shape[1] for a in xs]
    odd = next((k for k, d in enumerate(features) if d != features[0]), None)
    if odd is not None:
        raise ParameterError(
            f"backend='cuda' needs the same number of features in every pair, got {features[0]} in X[0] "
            f"and {features[odd]} in X[{odd}]; use backend='cpu' or one call per feature count"
        )
    results = _batch_cuda(xs, ys, _common_dtype(xs + ys), metric_c, return_path)
    return [replace(r, path=like_input(r.path, device)) for r in results]


_UNALIGNED = DTWResult(distance=math.inf, path=None, normalized_distance=math.inf)


def _batch_cpu(xs, ys, return_path, errors, n_jobs, device, opts):
    """dtw_batch on the CPU: one :func:`dtw` per pair, on threads (the kernels release the GIL)."""
    import numba

    def one(k):
        try:
            return _dtw_cpu(xs[k], ys[k], return_path, device, opts)
        except InfeasibleAlignmentError as exc:
            if errors == "ignore":
                return _UNALIGNED
            raise InfeasibleAlignmentError(f"pair {k} (X[{k}] and Y[{k}]): {exc}") from None
        except ParameterError as exc:
            raise ParameterError(f"pair {k} (X[{k}] and Y[{k}]): {exc}") from None

    threads = numba.config.NUMBA_NUM_THREADS if n_jobs in (None, -1) else n_jobs
    threads = min(threads, len(xs))
    if threads <= 1:
        return [one(k) for k in range(len(xs))]
    # longest pairs first, so that no thread is left with a long pair at the end
    order = _by_size([len(a) for a in xs], [len(b) for b in ys]).tolist()
    results = [None] * len(xs)
    with ThreadPoolExecutor(threads) as pool:
        for k, result in zip(order, pool.map(one, order)):
            results[k] = result
    return results


#: GPU memory one dtw_batch launch may use for its direction bytes (one a cell of
#: the padded chunk), paths and scratch; larger batches run in chunks of consecutive pairs
_CUDA_PATH_BYTES = 1 << 31


def _size(nbytes):
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes} bytes"


def _pair_bytes(n, m):
    """GPU memory one padded pair of a dtw_batch launch takes: its direction bytes, its
    reversed path (int64 pairs) and its row of scratch (float64)."""
    return n * m + 16 * (n + m - 1) + 8 * m


def _chunks(lx, ly, budget):
    """``(start, stop)`` runs of consecutive pairs whose padded buffers fit ``budget`` bytes."""
    start, n_max, m_max = 0, 0, 0
    for k in range(len(lx)):
        n_next, m_next = max(n_max, int(lx[k])), max(m_max, int(ly[k]))
        if k > start and (k + 1 - start) * _pair_bytes(n_next, m_next) > budget:
            yield start, k
            start, n_next, m_next = k, int(lx[k]), int(ly[k])
        n_max, m_max = n_next, m_next
    yield start, len(lx)


def _batch_cuda(xs, ys, dtype, metric_c, return_path):
    """dtw_batch on the GPU: pad, run the path kernel, one DTWResult per pair (chunked)."""
    from . import dtw_cuda

    lx = np.array([len(q) for q in xs], dtype=np.int64)
    ly = np.array([len(q) for q in ys], dtype=np.int64)
    need = [_pair_bytes(int(n), int(m)) for n, m in zip(lx, ly)]
    big = int(np.argmax(need))
    if need[big] > _CUDA_PATH_BYTES:
        raise ParameterError(
            f"X[{big}] and Y[{big}] ({lx[big]} x {ly[big]} cells) need {_size(need[big])} "
            f"of GPU memory for their path, over the {_size(_CUDA_PATH_BYTES)} a launch may use; "
            f"backend='cpu' finds long paths in linear memory"
        )
    # longest pairs first: blocks and chunks then pad little (a block runs to its longest pair)
    order = _by_size(lx, ly)
    results = [None] * len(xs)
    for start, stop in _chunks(lx[order], ly[order], _CUDA_PATH_BYTES):
        run = order[start:stop]
        xpad, _, ypad, _ = _pad_pairs([xs[k] for k in run], [ys[k] for k in run], dtype)
        # the path length is the symmetric1 normaliser, so the paths are computed either way
        distances, paths = dtw_cuda.dtw_batch_path(xpad, ypad, lx[run], ly[run], metric=metric_c)
        for k, distance, path in zip(run.tolist(), distances.tolist(), paths):
            if not math.isfinite(distance):
                raise AlignError(f"internal error: DTW distance of pair {k} is {distance}")
            norm = _normalize(distance, 0, int(lx[k]), int(ly[k]), path.shape[0], 0, int(ly[k]) - 1, False)
            results[k] = DTWResult(distance=distance, path=path if return_path else None, normalized_distance=norm)
    return results
