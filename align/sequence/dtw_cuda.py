"""Host launchers for the CUDA exact-DTW kernels (:mod:`align.kernels.dtw_cuda`).

No validation here: :mod:`align.sequence.dtw` validates (finite values,
lengths in range), pads and then calls these.

- :func:`dtw_batch`: launch a batched exact-DTW kernel.
- :func:`dtw_batch_path`: the same with the optimal paths.
"""

import numpy as np

from .._device import as_device, cuda_module, empty, stream_for, threads_per_block
from .._validation import is_torch_tensor

__all__ = ["dtw_batch", "dtw_batch_path"]


def _feature_form(x, y, metric, kernel):
    """``(x, y, feature_dtype)``: 3-D views and the dtype for the feature builds, or ``(x, y, None)``."""
    if x.ndim == 2 and metric == 0:
        return x, y, None
    if kernel != "wave":
        raise ValueError(f"kernel {kernel!r} takes 1-D sequences with metric 0 only")
    if x.ndim == 2:
        x = x.reshape(x.shape[0], x.shape[1], 1)
        y = y.reshape(y.shape[0], y.shape[1], 1)
    dtype = np.dtype(str(x.dtype).replace("torch.", ""))
    return x, y, dtype


def _wave_shape(n_rows):
    """``(lanes, pairs)`` of a wave-kernel launch for tables of ``n_rows`` rows.

    ``WAVE_LANES`` x ``WAVE_PAIRS`` from :mod:`align.kernels._config`, with the
    lanes cut to the power of two that holds ``n_rows`` (8 rows a lane) and the
    pairs per block raised to keep the block size: short sequences would
    otherwise leave most lanes computing padding.
    """
    from ..kernels import _config, dtw_cuda

    lanes, pairs = int(_config.WAVE_LANES), int(_config.WAVE_PAIRS)
    if lanes < 1 or pairs < 1 or lanes * pairs > 1024:
        raise ValueError(f"WAVE_LANES * WAVE_PAIRS must be in 1..1024, got {lanes} * {pairs}")
    need = max(1, -(-int(n_rows) // dtw_cuda.STRIP))
    fit = 1
    while fit < need:
        fit *= 2
    if fit < lanes:
        pairs *= lanes // fit
        lanes = fit
    return lanes, pairs


def _wave_work(n_rows, lanes, M, B, like=None):
    """The row joining two passes: ``(M, B)`` when the tables take several passes, else a
    ``(1, 1)`` stand-in (a single pass never touches it)."""
    from ..kernels import dtw_cuda

    if n_rows > dtw_cuda.STRIP * lanes:
        return empty((M, B), np.float64, like=like)[1]
    return cuda_module().device_array((1, 1), dtype=np.float64)


def dtw_batch(x, y, len_x=None, len_y=None, *, threads=None, kernel="wave", metric=0):
    """Launch a batched exact-DTW kernel of :mod:`align.kernels.dtw_cuda` (no validation).

    The DTW API layer validates (finite values, lengths in range) and then calls this.

    Parameters
    ----------
    x : np.ndarray, numba device array or torch CUDA tensor [shape=(B, N) or (B, N, d), float32 or float64]
    y : same kind [shape=(B, M) or (B, M, d), same dtype]
    len_x, len_y : same kind [shape=(B,), int64] or None
        Valid lengths (default N and M).
    threads : int or None
        For ``kernel="thread"`` only: threads per block, default
        ``min(THREADS_PER_BLOCK, 32)`` (32-thread blocks spread a 16k-pair batch
        evenly over the SMs).
    kernel : {"wave", "shfl", "thread"}
        ``"wave"``: :func:`~align.kernels.dtw_cuda.dtw_wave`, ``WAVE_LANES``
        threads per pair and ``WAVE_PAIRS`` pairs per block (read now from
        :mod:`align.kernels._config`). ``"shfl"``: its warp-shuffle build
        ``dtw_wave_shfl``, 32 lanes (one warp) per pair, ``WAVE_PAIRS`` pairs
        per block. ``"thread"``: :func:`~align.kernels.dtw_cuda.dtw_batch`, one
        thread per pair. All give the same values; ``benchmarks/gpu/run.py``
        times them. Feature sequences and metrics other than 0 take ``"wave"``
        only (:func:`~align.kernels.dtw_cuda.feature_wave`).
    metric : int
        0 sqeuclidean, 1 euclidean, 2 cityblock (codes of :mod:`align.kernels._steps`).

    Returns
    -------
    np.ndarray [shape=(B,), float64], or a torch float64 tensor on x's device if
    x is a torch CUDA tensor (no host round trip).
    """
    from ..kernels import _config, dtw_cuda

    x, y, feature_dtype = _feature_form(x, y, metric, kernel)
    B, N = x.shape[:2]
    M = y.shape[1]
    if B == 0:  # a launch needs at least one block
        return np.empty(0, dtype=np.float64)
    if len_x is None:
        len_x = np.full(B, N, dtype=np.int64)
    if len_y is None:
        len_y = np.full(B, M, dtype=np.int64)
    out, dout = empty((B,), np.float64, like=x)
    stream = stream_for(x)
    args = (as_device(x), as_device(y), as_device(len_x), as_device(len_y))
    no_dirs = cuda_module().device_array((1, 1, 1), dtype=np.uint8)  # only the path build writes them
    if kernel == "wave":
        lanes, pairs = _wave_shape(N)
        blocks = (B + pairs - 1) // pairs
        nbytes = dtw_cuda.wave_shared_bytes(lanes, pairs)
        build = dtw_cuda.dtw_wave if feature_dtype is None else dtw_cuda.feature_wave(feature_dtype, metric)
        build[blocks, (lanes, pairs), stream, nbytes](*args, dout, no_dirs, _wave_work(N, lanes, M, B, like=x))
    elif kernel == "shfl":
        pairs = int(_config.WAVE_PAIRS)
        dtw_cuda.dtw_wave_shfl[(B + pairs - 1) // pairs, (32, pairs), stream](
            *args, dout, no_dirs, _wave_work(N, 32, M, B, like=x)
        )
    elif kernel == "thread":
        if threads is None:
            threads = min(threads_per_block(), 32)
        blocks = (B + threads - 1) // threads
        _, work = empty((M, B), np.float64, like=x)  # this kernel always uses it
        dtw_cuda.dtw_batch[blocks, threads, stream](*args, dout, work)
    else:
        raise ValueError(f"kernel must be 'wave', 'shfl' or 'thread', got {kernel!r}")
    if is_torch_tensor(x) and x.is_cuda:
        return out
    return dout.copy_to_host()


def dtw_batch_path(x, y, len_x=None, len_y=None, *, threads=None, metric=0):
    """Distances and optimal paths of a batch of 1-D pairs on the GPU (no validation).

    Launches :data:`align.kernels.dtw_cuda.dtw_wave_path` (the wave kernel that
    also stores each cell's direction code, one byte a cell) and then
    :func:`align.kernels.dtw_cuda.dtw_traceback` (one thread a pair).

    Parameters
    ----------
    x, y, len_x, len_y, metric : as in :func:`dtw_batch`.
    threads : int or None
        Threads per block of the traceback (default ``THREADS_PER_BLOCK``).

    Returns
    -------
    distances : np.ndarray [shape=(B,), float64]
    paths : list of np.ndarray [shape=(K_b, 2), int64]
        Pair ``b``'s path from ``(0, 0)`` to ``(len_x[b] - 1, len_y[b] - 1)``,
        chosen by the tie-break every DTW kernel shares (diagonal, then
        vertical, then horizontal).

    Notes
    -----
    The direction table takes ``B * N * M`` bytes of GPU memory; the caller
    checks that it fits.
    """
    from ..kernels import dtw_cuda

    cuda = cuda_module()
    x, y, feature_dtype = _feature_form(x, y, metric, "wave")
    B, N = x.shape[:2]
    M = y.shape[1]
    if B == 0:
        return np.empty(0, dtype=np.float64), []
    if len_x is None:
        len_x = np.full(B, N, dtype=np.int64)
    if len_y is None:
        len_y = np.full(B, M, dtype=np.int64)
    dlx, dly = as_device(len_x), as_device(len_y)
    lanes, pairs = _wave_shape(N)
    work = _wave_work(N, lanes, M, B)
    dout = cuda.device_array((B,), dtype=np.float64)
    dirs = cuda.device_array((B, N, M), dtype=np.uint8)
    nbytes = dtw_cuda.wave_shared_bytes(lanes, pairs)
    build = dtw_cuda.dtw_wave_path if feature_dtype is None else dtw_cuda.feature_wave(feature_dtype, metric, path=True)
    build[(B + pairs - 1) // pairs, (lanes, pairs), 0, nbytes](
        as_device(x), as_device(y), dlx, dly, dout, dirs, work
    )
    dpath = cuda.device_array((B, N + M - 1, 2), dtype=np.int64)
    dlen = cuda.device_array((B,), dtype=np.int64)
    threads = threads or threads_per_block()
    dtw_cuda.dtw_traceback[(B + threads - 1) // threads, threads](dirs, dlx, dly, dpath, dlen)
    rev, lens = dpath.copy_to_host(), dlen.copy_to_host()
    paths = [np.ascontiguousarray(rev[b, : lens[b]][::-1]) for b in range(B)]
    return dout.copy_to_host(), paths
