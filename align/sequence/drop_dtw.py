"""Drop-DTW: align a list of steps (texts) with a sequence of segments, dropping what does not match.

Instructional videos, lectures, screenplays: the steps come in order, but some
are never shown (absent steps) and most of the video is background (segments
that match no step). Drop-DTW (Dvornik et al., NeurIPS 2021, arXiv:2108.11996)
finds the monotone alignment of minimum cost in which every segment is matched
or dropped (paying its drop cost) and every step is matched or dropped. The
recurrence, the tie-break rule and the memory are in
:mod:`align.kernels.drop_dtw`.

:func:`drop_dtw` takes a cost matrix that the user computed with any model;
:func:`align_segments` builds it from embeddings (cosine or squared Euclidean).
"""

from dataclasses import dataclass

import numpy as np

from .._backend import resolve_backend
from .._tensors import like_input, torch_device
from .._validation import as_float_array, check_finite, check_option
from ..exceptions import InfeasibleAlignmentError, ParameterError

__all__ = ["DropDTWResult", "drop_dtw", "drop_dtw_batch", "align_segments"]


@dataclass(frozen=True)
class DropDTWResult:
    """One Drop-DTW alignment of K steps with N segments.

    Attributes
    ----------
    cost : float
        The minimum total cost: matched pairs' costs plus the drop costs paid.
    labels : np.ndarray [shape=(N,), int64]
        The step of each segment (0-based; the lowest one when a segment matches
        several, ``exclusive=False``), -1 for a dropped segment.
    path : np.ndarray [shape=(P, 2), int64]
        The matched (step, segment) pairs, increasing in both.
    dropped_steps : np.ndarray [shape=(K,), bool]
        Steps matched to no segment.
    drop_cost : np.ndarray [shape=(N,), float64]
        The segment drop costs used (after a percentile was resolved).
    """

    cost: float
    labels: np.ndarray
    path: np.ndarray
    dropped_steps: np.ndarray
    drop_cost: np.ndarray

    @property
    def dropped_segments(self):
        """np.ndarray [shape=(N,), bool]: segments matched to no step (background)."""
        return self.labels < 0

    def step_spans(self):
        """For each step, ``(first, last)`` segment it matches (inclusive), or None when dropped.

        Returns
        -------
        list of tuple of int or None, length K
        """
        spans = [None] * len(self.dropped_steps)
        for i, j in self.path:
            lo_hi = spans[i]
            spans[i] = (int(j), int(j)) if lo_hi is None else (lo_hi[0], int(j))
        return spans


def _like(result, device):
    """``result`` with its arrays as torch tensors on ``device`` (unchanged for None)."""
    if device is None:
        return result
    return DropDTWResult(result.cost, like_input(result.labels, device), like_input(result.path, device),
                         like_input(result.dropped_steps, device), like_input(result.drop_cost, device))


def _resolve_drop(value, name, n, cost, *, default_percentile):
    """A drop-cost vector (n,) from None, a scalar, a (n,) array or a string ``"pNN"``."""
    if value is None:
        value = f"p{default_percentile}"
    if isinstance(value, str):
        if not (value.startswith("p") and value[1:].replace(".", "", 1).isdigit() and 0 <= float(value[1:]) <= 100):
            raise ParameterError(f"{name} as a string must be a percentile of the costs like 'p50', got {value!r}")
        return np.full(n, float(np.percentile(cost, float(value[1:]))))
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, np.ndarray) else value.astype(np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ParameterError(f"{name} must be a number, 'pNN' or an array of shape ({n},), got shape {arr.shape}")
    if np.isnan(arr).any() or np.isneginf(arr).any():
        raise ParameterError(f"{name} must not hold NaN or -inf (inf forbids a drop), got {arr}")
    return np.ascontiguousarray(arr)


def _check_cost(cost, name="cost"):
    C = as_float_array(cost, name, ndim=2)
    if C.shape[0] < 1 or C.shape[1] < 1:
        raise ParameterError(f"{name} must have at least one step (row) and one segment (column), got shape {C.shape}")
    check_finite(C, name)
    return C


def _prepare(cost, drop_cost, step_drop_cost):
    C = _check_cost(cost)
    K, N = C.shape
    d_seg = _resolve_drop(drop_cost, "drop_cost", N, C, default_percentile=50)
    d_step = _resolve_drop(np.inf if step_drop_cost is None else step_drop_cost, "step_drop_cost", K, C,
                           default_percentile=50)
    return C, d_seg, d_step


def drop_dtw(cost, *, drop_cost=None, step_drop_cost=np.inf, contiguous=True, exclusive=True, backend="auto"):
    """The minimum-cost monotone alignment of steps with segments, dropping segments and steps.

    Parameters
    ----------
    cost : array_like [shape=(K, N)]
        Cost of matching step ``i`` (row) with segment ``j`` (column), finite; lower is
        better (for similarities pass ``-similarity`` or ``1 - cosine``). float32 stays
        float32 in memory; sums are float64.
    drop_cost : float, array_like [shape=(N,)], str or None
        Cost of dropping each segment (background). A string ``"pNN"`` takes the NN-th
        percentile of ``cost``; None is ``"p50"`` (the median: a segment is matched only
        when it is cheaper than a typical pair). ``inf`` forbids dropping.
    step_drop_cost : float, array_like [shape=(K,)] or str
        Cost of dropping each step (a step the video never shows). ``inf`` (default):
        every step is matched.
    contiguous : bool
        A step's segments are consecutive (no dropped segment inside a step).
    exclusive : bool
        A segment matches at most one step. With False a segment may match several
        consecutive steps (a DTW vertical move), as when steps outnumber segments.
    backend : {"auto", "cpu", "cuda"}
        One problem runs on the CPU under ``"auto"``; see :func:`drop_dtw_batch` for the GPU.

    Returns
    -------
    DropDTWResult
        Its arrays are torch tensors on ``cost``'s device when ``cost`` is one.

    Raises
    ------
    ParameterError
        A cost that is not a finite 2-D array, drop costs of the wrong shape or NaN.
    InfeasibleAlignmentError
        No alignment is allowed (e.g. more steps than segments, ``exclusive`` and no
        step may be dropped).

    Examples
    --------
    >>> import numpy as np, align
    >>> cost = np.array([[0., 5, 5, 5], [5, 5, 5, 0.]])  # step 0 ~ segment 0, step 1 ~ segment 3
    >>> r = align.drop_dtw(cost, drop_cost=1.0)
    >>> r.labels.tolist(), r.cost
    ([0, -1, -1, 1], 2.0)
    """
    C, d_seg, d_step = _prepare(cost, drop_cost, step_drop_cost)
    result = _run([C], [d_seg], [d_step], contiguous, exclusive, resolve_backend(backend))[0]
    return _like(result, torch_device(cost))


def drop_dtw_batch(costs, *, drop_cost=None, step_drop_cost=np.inf, contiguous=True, exclusive=True,
                   backend="auto", errors="raise"):
    """:func:`drop_dtw` of many problems of any sizes at once (CPU threads, or one GPU thread each).

    Parameters
    ----------
    costs : sequence of array_like [shape=(K_b, N_b)]
    drop_cost, step_drop_cost
        As :func:`drop_dtw`, for every item (an array must fit every item, so pass
        scalars or strings for items of different sizes).
    contiguous, exclusive, backend
        As :func:`drop_dtw`; ``"cuda"`` runs one GPU thread per item (``"auto"`` is the CPU,
        as everywhere in align unless the inputs already live on a GPU).
    errors : {"raise", "ignore"}
        What an infeasible item does: raise, or give a result with ``cost = inf``, every
        segment -1 and an empty path.

    Returns
    -------
    list of DropDTWResult
        Arrays as torch tensors on the first tensor's device when ``costs`` holds tensors.
    """
    check_option("errors", errors, ("raise", "ignore"))
    if isinstance(costs, np.ndarray) and costs.ndim == 2:
        raise ParameterError("costs must be a sequence of 2-D cost matrices; for one problem call drop_dtw")
    items = [_prepare(c, drop_cost, step_drop_cost) for c in costs]
    if not items:
        raise ParameterError("costs is empty")
    use = resolve_backend(backend)
    device = torch_device(list(costs))
    return [_like(r, device) for r in _run(*zip(*items), contiguous, exclusive, use, errors=errors)]


def _run(Cs, d_segs, d_steps, contiguous, exclusive, use, *, errors="raise"):
    from ..kernels import drop_dtw as kernel

    B = len(Cs)
    K = np.array([c.shape[0] for c in Cs], np.int64)
    N = np.array([c.shape[1] for c in Cs], np.int64)
    Km, Nm = int(K.max()), int(N.max())
    dtype = np.float32 if all(c.dtype == np.float32 for c in Cs) else np.float64
    cost = np.zeros((B, Km, Nm), dtype)
    seg = np.zeros((B, Nm))
    step = np.zeros((B, Km))
    for b, (c, ds, dk) in enumerate(zip(Cs, d_segs, d_steps)):
        cost[b, : c.shape[0], : c.shape[1]] = c
        seg[b, : c.shape[1]] = ds
        step[b, : c.shape[0]] = dk
    outs = [np.empty(B), np.full((B, Nm), -1, np.int64), np.zeros((B, Km), np.uint8),
            np.zeros((B, Km + Nm, 2), np.int64), np.zeros(B, np.int64)]
    args = (cost, seg, step, K, N, int(bool(contiguous)), int(bool(exclusive)))
    if use == "cuda":
        _run_cuda(args, outs, Km, Nm)
    else:
        kernel.drop_dtw_batch(*args, *outs)
    results = []
    for b in range(B):
        total = float(outs[0][b])
        if not np.isfinite(total):
            if errors == "raise":
                raise InfeasibleAlignmentError(
                    f"no alignment of {K[b]} steps with {N[b]} segments is allowed"
                    + (f" (item {b})" if B > 1 else "")
                    + ": with exclusive=True and steps that may not be dropped there must be at least as many "
                    "segments as steps; give step_drop_cost a finite value or pass exclusive=False")
            labels = np.full(N[b], -1, np.int64)
            results.append(DropDTWResult(total, labels, np.zeros((0, 2), np.int64), np.ones(K[b], bool), d_segs[b]))
            continue
        p = int(outs[4][b])
        results.append(DropDTWResult(total, outs[1][b, : N[b]].copy(), outs[3][b, :p].copy(),
                                     outs[2][b, : K[b]].astype(bool), d_segs[b]))
    return results


def _run_cuda(args, outs, Km, Nm):
    from numba import cuda

    from .._device import is_simulator, threads_per_block
    from ..kernels import drop_dtw_cuda

    B = args[0].shape[0]
    d_args = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    d_outs = [cuda.to_device(o) for o in outs]
    bp = cuda.device_array((B, Km + 1, Nm + 1), np.uint8)
    rows = cuda.device_array((B, 5, Nm + 1), np.float64)
    threads = threads_per_block() if is_simulator() else 128  # one thread per item: small blocks fill the SMs
    drop_dtw_cuda.drop_dtw_batch[(B + threads - 1) // threads, threads](*d_args, *d_outs, bp, rows)
    for host, dev in zip(outs, d_outs):
        dev.copy_to_host(host)


def align_segments(text_embeddings, segment_embeddings, *, metric="cosine", drop_cost=None,
                   step_drop_cost=np.inf, contiguous=True, exclusive=True, backend="auto"):
    """Align step embeddings with segment embeddings by :func:`drop_dtw`.

    Parameters
    ----------
    text_embeddings : array_like [shape=(K, d)]
        One embedding per step, in order (from any text model).
    segment_embeddings : array_like [shape=(N, d)]
        One embedding per segment (video clip, shot, sentence of a lecture), in time order.
    metric : {"cosine", "sqeuclidean"}
        ``cost = 1 - cos(t_i, s_j)`` (in [0, 2]) or the squared Euclidean distance.
    drop_cost, step_drop_cost, contiguous, exclusive, backend
        As :func:`drop_dtw` (``drop_cost=None``: the median cost).

    Returns
    -------
    DropDTWResult
        ``labels[j]`` is the step shown in segment ``j`` or -1 (background); torch
        tensors on the embeddings' device when they are tensors.
    """
    check_option("metric", metric, ("cosine", "sqeuclidean"))
    T = as_float_array(text_embeddings, "text_embeddings", ndim=2, dtype=np.float64)
    S = as_float_array(segment_embeddings, "segment_embeddings", ndim=2, dtype=np.float64)
    if T.shape[1] != S.shape[1]:
        raise ParameterError(f"text and segment embeddings must have one width, got {T.shape[1]} and {S.shape[1]}")
    check_finite(T, "text_embeddings")
    check_finite(S, "segment_embeddings")
    if metric == "cosine":
        tn = np.linalg.norm(T, axis=1)
        sn = np.linalg.norm(S, axis=1)
        if (tn == 0).any() or (sn == 0).any():
            raise ParameterError("cosine needs nonzero embeddings; a row of zeros has no direction")
        cost = 1.0 - (T / tn[:, None]) @ (S / sn[:, None]).T
    else:
        cost = (T * T).sum(1)[:, None] + (S * S).sum(1)[None, :] - 2.0 * T @ S.T
        np.maximum(cost, 0.0, out=cost)  # rounding can give -1e-16
    result = drop_dtw(cost, drop_cost=drop_cost, step_drop_cost=step_drop_cost, contiguous=contiguous,
                      exclusive=exclusive, backend=backend)
    return _like(result, torch_device(text_embeddings, segment_embeddings))
