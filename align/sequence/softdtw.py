"""Soft-DTW: a differentiable alignment cost (value, gradient, divergence), numpy API.

:func:`soft_dtw` scores one pair, :func:`soft_dtw_batch` many pairs of
variable lengths. The torch loss is :class:`align.SoftDTWLoss`
(:mod:`align.softdtw_torch`). The kernels are :mod:`align.kernels.softdtw`
(CPU) and :mod:`align.kernels.softdtw_cuda` (GPU).
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._backend import resolve_backend
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
from ..exceptions import InfeasibleAlignmentError, ParameterError

__all__ = ["SoftDTWResult", "soft_dtw", "soft_dtw_batch", "METRICS"]

#: metric name -> kernel code
METRICS = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2}


@dataclass(frozen=True)
class SoftDTWResult:
    """Value and gradient of soft-DTW (what ``soft_dtw(..., return_grad=True)`` returns).

    Attributes
    ----------
    value : float
        The soft-DTW value (or divergence).
    grad : np.ndarray [shape=x.shape, dtype of the computation]
        Its gradient with respect to ``x``.
    """

    value: float
    grad: np.ndarray


def check_gamma(gamma):
    """Return ``gamma`` as a float after checking that it is a finite number > 0.

    Raises
    ------
    ParameterError
        If ``gamma`` is not a real number, not finite, or <= 0.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise ParameterError(f"gamma must be a real number > 0, got {gamma!r}")
    g = float(gamma)
    if not math.isfinite(g) or g <= 0.0:
        raise ParameterError(
            f"gamma must be a finite number > 0, got {gamma!r}; soft-DTW divides by gamma "
            f"(a small value such as 0.01 approaches exact DTW)"
        )
    return g


def infeasible_message(radius, n, m):
    """The message for a band that admits no warping path (shared with the torch loss)."""
    return (
        f"radius={radius} is too narrow for lengths N={n} and M={m}: no warping path fits "
        f"the Sakoe-Chiba band |i*(M-1) - j*(N-1)| <= radius*max(N-1, M-1); "
        f"use radius >= 1 (always feasible) or radius=None"
    )


def _as_batch(a, name, lengths, lengths_name):
    """(B, L) or (B, L, d) -> C-contiguous (B, L, d) and int64 lengths."""
    arr = as_float_array(a, name, ndim=(2, 3))
    if arr.ndim == 2:
        arr = arr[:, :, None]
    B, L = arr.shape[0], arr.shape[1]
    if B == 0 or L == 0 or arr.shape[2] == 0:
        raise ParameterError(
            f"{name} must hold at least one sequence with one time step and one feature, "
            f"got shape {arr.shape}"
        )
    if lengths is None:
        lens = np.full(B, L, dtype=np.int64)
    else:
        lens = as_int_array(lengths, lengths_name, ndim=1)
        if lens.shape[0] != B:
            raise ParameterError(
                f"{lengths_name} must have one entry per sequence ({B}), got shape {lens.shape}"
            )
        bad = np.flatnonzero((lens < 1) | (lens > L))
        if bad.size:
            k = int(bad[0])
            raise ParameterError(
                f"{lengths_name}[{k}]={int(lens[k])} is out of range: each length must be "
                f"between 1 and {L} (the padded length of {name})"
            )
    for b in range(B):  # padding may hold anything; only the valid part must be finite
        check_finite(arr[b, : lens[b]], f"{name}[{b}]")
    return arr, lens


def _run(x, y, lx, ly, gamma, metric, radius, backend, need_grad):
    """Values (B,) float64 and, if asked, gradients (gx, gy) of a batch; host arrays in, out."""
    B, N, _ = x.shape
    M = y.shape[1]
    dt = x.dtype
    g = dt.type(gamma)
    r = -1 if radius is None else int(radius)
    if backend == "cpu":
        from ..kernels import softdtw as k

        D = np.empty((B, N, M), dtype=dt)
        R = np.empty((B, N + 1, M + 1), dtype=dt)
        out = np.empty(B, dtype=dt)
        if B == 1:  # the serial kernels: no parallel launch for one pair
            k.cost_pair(x, y, 0, lx[0], ly[0], metric, D[0])
            out[0] = k.forward_pair(D[0], lx[0], ly[0], g, r, R[0])
        else:
            k.pairwise_cost(x, y, lx, ly, metric, D)
            k.softdtw_forward(D, lx, ly, g, r, R, out)
        E = None
        if need_grad and np.all(np.isfinite(out)):
            E = np.zeros((B, N + 1, M + 1), dtype=dt)
            if B == 1:
                k.backward_pair(D[0], R[0], lx[0], ly[0], g, E[0])
            else:
                k.softdtw_backward(D, R, lx, ly, g, E)
    else:
        from .. import _device
        from ..kernels import softdtw as k
        from ..kernels import softdtw_cuda as kc

        dx, dy = _device.as_device(x), _device.as_device(y)
        dlx, dly = _device.as_device(lx), _device.as_device(ly)
        _, dD = _device.empty((B, N, M), dt)
        kc.cost_launch(B, N, M)(dx, dy, dlx, dly, metric, dD)
        _, dR = _device.empty((B, N + 1, M + 1), dt)
        _, dout = _device.empty((B,), dt)
        kc.launch("forward", B, N, dt)(dD, dlx, dly, g, r, dR, dout)
        out = dout.copy_to_host()
        E = None
        D = None
        if need_grad and np.all(np.isfinite(out)):
            _, dE = _device.zeros((B, N + 1, M + 1), dt)
            kc.launch("backward", B, N, dt)(dD, dR, dlx, dly, g, dE)
            E = dE.copy_to_host()
            D = dD.copy_to_host()
    grads = None
    if E is not None:
        gx = np.empty_like(x)
        gy = np.empty_like(y)
        k.cost_grad(x, y, D, lx, ly, metric, E, gx, gy)
        grads = (gx, gy)
    return out.astype(np.float64), grads


def _raise_if_infeasible(values, lx, ly, radius):
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size == 0:
        return
    b = int(bad[0])
    if radius is not None:
        raise InfeasibleAlignmentError(infeasible_message(radius, int(lx[b]), int(ly[b])))
    raise InfeasibleAlignmentError(  # pragma: no cover - needs costs near the float max
        f"soft-DTW of pair {b} overflowed to {values[b]}; the costs are too large for the "
        f"dtype, pass float64 inputs or rescale them"
    )


def _prepare(x, y, len_x, len_y, gamma, metric, radius, backend, names, on_gpu=False):
    gamma = check_gamma(gamma)
    check_option("metric", metric, tuple(METRICS))
    radius = check_positive_int("radius", radius, allow_zero=True, allow_none=True)
    on_gpu = on_gpu or any(is_torch_tensor(a) and a.is_cuda for a in (x, y))
    backend = resolve_backend(backend, on_gpu=on_gpu)
    xa, lx = _as_batch(x, names[0], len_x, names[2])
    ya, ly = _as_batch(y, names[1], len_y, names[3])
    if xa.shape[2] != ya.shape[2]:
        raise ParameterError(
            f"{names[0]} and {names[1]} must have the same number of features, got "
            f"{names[0]}.shape={tuple(np.shape(x))} and {names[1]}.shape={tuple(np.shape(y))}"
        )
    if xa.shape[0] != ya.shape[0]:
        raise ParameterError(
            f"{names[0]} and {names[1]} must hold the same number of sequences, got "
            f"{xa.shape[0]} and {ya.shape[0]}"
        )
    dt = np.result_type(xa.dtype, ya.dtype)
    xa = np.ascontiguousarray(xa, dtype=dt)
    ya = np.ascontiguousarray(ya, dtype=dt)
    return xa, ya, lx, ly, gamma, METRICS[metric], radius, backend


def _soft_dtw_core(xa, ya, lx, ly, gamma, code, radius, backend, divergence, need_grad, errors="raise"):
    v, g = _run(xa, ya, lx, ly, gamma, code, radius, backend, need_grad)
    if errors == "raise":
        _raise_if_infeasible(v, lx, ly, radius)
    if not divergence:
        return v, (g[0] if g else None)
    vxx, gxx = _run(xa, xa, lx, lx, gamma, code, radius, backend, need_grad)
    vyy, _ = _run(ya, ya, ly, ly, gamma, code, radius, backend, False)
    value = v - 0.5 * (vxx + vyy)
    grad = None
    if need_grad:
        # d/dx sdtw(x, x) = (gradient through the first argument) + (through the second)
        grad = g[0] - 0.5 * (gxx[0] + gxx[1])
    return value, grad


def soft_dtw(
    x,
    y,
    *,
    gamma=1.0,
    metric="sqeuclidean",
    radius=None,
    divergence=False,
    return_grad=False,
    backend="auto",
):
    """Soft-DTW between two sequences (Cuturi & Blondel 2017).

    ``R[i, j] = C[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])`` with
    ``softmin_gamma(a) = -gamma log sum exp(-a / gamma)``; the value is ``R[N, M]``.
    As ``gamma -> 0`` it tends to the exact DTW distance with the same cost
    (``align.dtw_distance(x, y, metric="sqeuclidean")``, the plain sum of squared
    differences); it can be negative for large ``gamma``.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor [shape=(N,) or (N, d), float32 or float64]
    y : np.ndarray or torch.Tensor [shape=(M,) or (M, d)]
        Same number of features as ``x``. Computed in float64 if either is float64.
    gamma : float > 0
        Smoothing.
    metric : {"sqeuclidean", "euclidean", "cityblock"}
        The local cost. "sqeuclidean" is the paper's and tslearn's convention:
        ``align.soft_dtw(x, y, gamma=g) == tslearn.metrics.soft_dtw(x, y, gamma=g)``.
    radius : int >= 0 or None
        Sakoe-Chiba half-width in cells, the band of :func:`align.dtw`: cell ``(i, j)``
        (0-based) is allowed iff ``|i*(M-1) - j*(N-1)| <= radius * max(N-1, M-1)``;
        for ``N == M`` that is ``|i - j| <= radius``. None: no band.
    divergence : bool
        Return the soft-DTW divergence ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2``
        (Blondel, Mensch & Vert 2021), which is >= 0 and 0 for ``x == y``.
    return_grad : bool
        Also return the gradient with respect to ``x``.
    backend : {"auto", "cpu", "cuda"}
        "auto" uses the CPU unless an input is a torch CUDA tensor.

    Returns
    -------
    float
        The value, when ``return_grad`` is False.
    SoftDTWResult
        ``(value, grad)`` with ``grad`` shaped like ``x``, when ``return_grad`` is True
        (a torch tensor on x's device when x is a torch tensor).

    Raises
    ------
    ParameterError
        Bad gamma, metric, radius, shapes, or NaN/inf in the inputs.
    InfeasibleAlignmentError
        If the band admits no warping path.
    BackendUnavailableError
        If ``backend="cuda"`` and no GPU is usable.

    See Also
    --------
    soft_dtw_batch : many pairs of variable lengths.
    align.SoftDTWLoss : the torch loss (CPU and CUDA tensors).
    align.kernels.softdtw, align.kernels.softdtw_cuda : the kernels.

    Notes
    -----
    Cuturi & Blondel, ICML 2017, doi:10.48550/arXiv.1703.01541, Algorithms 1-2;
    Blondel, Mensch & Vert, AISTATS 2021, doi:10.48550/arXiv.2010.08354, eq. (5).
    The gradient is ``sum_ij E[i, j] dC[i, j]/dx`` with ``E`` the expected
    alignment of Algorithm 2 (squared Euclidean: ``2 (x_i - y_j)``).
    Memory is O(N M): the cost matrix and the table ``R`` (and ``E`` with
    ``return_grad``) are kept whole, in the computation's dtype.

    Examples
    --------
    >>> import numpy as np, align
    >>> x = np.array([0.0, 1.0, 2.0]); y = np.array([0.0, 2.0])
    >>> round(align.soft_dtw(x, y, gamma=1e-9), 6)  # about the exact DTW distance
    1.0
    >>> round(align.soft_dtw(x, x, gamma=1.0, divergence=True), 12)
    0.0
    """
    on_gpu = any(is_torch_tensor(a) and a.is_cuda for a in (x, y))
    x_in = x
    # validate in the caller's shapes, so that messages and indices refer to them
    x = as_float_array(x, "x", ndim=(1, 2))
    y = as_float_array(y, "y", ndim=(1, 2))
    shape_x = x.shape
    check_finite(x, "x")
    check_finite(y, "y")
    if (x.shape[1] if x.ndim == 2 else 1) != (y.shape[1] if y.ndim == 2 else 1):
        raise ParameterError(
            f"x and y must have the same number of features, got x.shape={x.shape} and y.shape={y.shape}"
        )
    xa, ya, lx, ly, gamma, code, radius, backend = _prepare(
        _lift(x), _lift(y), None, None, gamma, metric, radius, backend,
        ("x", "y", "len_x", "len_y"), on_gpu=on_gpu,
    )
    value, grad = _soft_dtw_core(xa, ya, lx, ly, gamma, code, radius, backend, divergence, return_grad)
    v = float(value[0])
    if not return_grad:
        return v
    return SoftDTWResult(value=v, grad=like_input(grad[0].reshape(shape_x), torch_device(x_in, y)))


def _lift(a):
    """(N,) -> (1, N, 1), (N, d) -> (1, N, d), keeping torch tensors as they are."""
    if is_torch_tensor(a):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.ndim == 1:
        return arr[None, :, None]
    if arr.ndim == 2:
        return arr[None]
    return arr


def _padded(X, name, lengths, lengths_name):
    """A list of (n_b,) or (n_b, d) sequences -> a zero-padded (B, L[, d]) array and lengths."""
    if not isinstance(X, (list, tuple)):
        return X, lengths
    if lengths is not None:
        raise ParameterError(f"{lengths_name} needs {name} as one padded array (B, T) or (B, T, d), got a list")
    if len(X) == 0:
        raise ParameterError(f"{name} is an empty list; pass at least one sequence")
    seqs = [as_float_array(q, f"{name}[{b}]", ndim=(1, 2)) for b, q in enumerate(X)]
    ndims = {q.ndim for q in seqs}
    if len(ndims) > 1:
        raise ParameterError(f"{name} mixes 1-D and 2-D sequences; give every sequence the same shape kind")
    lens = np.array([q.shape[0] for q in seqs], dtype=np.int64)
    empty = np.flatnonzero(lens == 0)
    if empty.size:
        raise ParameterError(f"{name}[{int(empty[0])}] is empty; each sequence needs at least one time step")
    if seqs[0].ndim == 2 and len({q.shape[1] for q in seqs}) > 1:
        raise ParameterError(f"every sequence of {name} must have the same number of features")
    padded = np.zeros((len(seqs), int(lens.max())) + seqs[0].shape[1:], dtype=np.result_type(*seqs))
    for b, q in enumerate(seqs):
        padded[b, : q.shape[0]] = q
    return padded, lens


def soft_dtw_batch(
    X,
    Y,
    x_lengths=None,
    y_lengths=None,
    *,
    gamma=1.0,
    metric="sqeuclidean",
    radius=None,
    divergence=False,
    errors="raise",
    backend="auto",
    len_x=None,
    len_y=None,
):
    """Soft-DTW of many pairs ``(X[b, :x_lengths[b]], Y[b, :y_lengths[b]])``, variable lengths.

    Parameters
    ----------
    X : list of array [shape=(n_b,) or (n_b, d)] or array [shape=(B, N) or (B, N, d)]
        Padded sequences (the padding may hold anything), or a list of sequences,
        numpy or torch, float32 or float64.
    Y : list of array or array [shape=(B, M) or (B, M, d)]
    x_lengths, y_lengths : array_like [shape=(B,), int] or None
        Valid lengths of padded X and Y (default: all of N, all of M); the same names
        and positions as :func:`align.dtw_batch` (``len_x`` / ``len_y`` are their old
        names).
    gamma, metric, radius, divergence, backend
        As in :func:`soft_dtw`.
    errors : {"raise", "ignore"}
        A pair the band admits no path for: raise :class:`InfeasibleAlignmentError`,
        or give it the value ``inf``.

    Returns
    -------
    np.ndarray or torch.Tensor [shape=(B,), float64]
        A torch tensor on the inputs' device when they are torch tensors.

    Raises
    ------
    ParameterError, InfeasibleAlignmentError, BackendUnavailableError
        As in :func:`soft_dtw`; also for lengths out of ``1..N``.

    See Also
    --------
    soft_dtw, align.SoftDTWLoss

    Examples
    --------
    >>> import numpy as np, align
    >>> X = np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 9.0]]); Y = np.array([[0.0, 2.0], [0.0, 2.0]])
    >>> np.round(align.soft_dtw_batch(X, Y, [3, 2], gamma=1e-9), 6).tolist()
    [1.0, 0.0]
    """
    x_lengths = renamed("soft_dtw_batch", "x_lengths", x_lengths, "len_x", len_x)
    y_lengths = renamed("soft_dtw_batch", "y_lengths", y_lengths, "len_y", len_y)
    check_errors(errors)
    device = torch_device(X, Y)
    on_gpu = device is not None and device.type == "cuda"
    X, x_lengths = _padded(X, "X", x_lengths, "x_lengths")
    Y, y_lengths = _padded(Y, "Y", y_lengths, "y_lengths")
    xa, ya, lx, ly, gamma, code, radius, backend = _prepare(
        X, Y, x_lengths, y_lengths, gamma, metric, radius, backend, ("X", "Y", "x_lengths", "y_lengths"),
        on_gpu=on_gpu,
    )
    value, _ = _soft_dtw_core(xa, ya, lx, ly, gamma, code, radius, backend, divergence, False,
                              errors=errors)
    return like_input(value, device)
