"""Host launcher of the MAS CUDA kernel (:mod:`align.kernels.mas_cuda`)."""

import numpy as np

from .._device import as_device, default_threads, np_dtype, on_torch_cuda, stream_for, zeros, empty
from .._validation import is_torch_tensor
from ..exceptions import ParameterError
from ._checks import check_scores

__all__ = ["maximum_path_cuda"]


def maximum_path_cuda(value, text_lengths, mel_lengths, text_major, threads_per_block=None, errors="raise"):
    """:func:`align.maximum_path` on the GPU, on validated lengths.

    Returns a torch tensor on ``value``'s device (same dtype) for a torch CUDA
    input, a numpy array (value's dtype) otherwise; with ``errors="ignore"``
    also the items left without a path (int64 array), else only the path.
    """
    from ..kernels import mas_cuda

    dt = np_dtype(value)
    if dt not in (np.float32, np.float64):
        if is_torch_tensor(value):
            value = value.double()
        else:
            value = np.asarray(value, np.float64)
        dt = np.dtype(np.float64)
    if on_torch_cuda(value):
        import torch

        if not bool(torch.isfinite(value).logical_or(torch.isneginf(value)).all()):
            raise ParameterError("value holds NaN or +inf; -inf marks a forbidden cell, nothing else may be non-finite")
        like = value
    else:
        host = value.detach().cpu().numpy() if is_torch_tensor(value) else np.asarray(value)
        if np.isnan(host).any() or np.isposinf(host).any():
            raise ParameterError("value holds NaN or +inf; -inf marks a forbidden cell, nothing else may be non-finite")
        like = None
    B = value.shape[0]
    tx_max = int(text_lengths.max())
    ty_max = int(mel_lengths.max())
    use_shared = mas_cuda.columns_in_shared(tx_max, dt.itemsize)
    shared_bytes = 2 * (tx_max + 1) * dt.itemsize if use_shared else 0
    nt = int(threads_per_block) if threads_per_block is not None else default_threads(tx_max)
    path, d_path = zeros(tuple(value.shape), dt, like)
    _, dirs = empty((B, ty_max, tx_max), np.uint8, like)
    _, d_score = empty((B,), np.float64, like)
    _, scratch = empty((1, 1) if use_shared else (B, 2 * (tx_max + 1)), dt, like)
    kernel = mas_cuda.maximum_path_kernel(dt)
    kernel[B, nt, stream_for(like), shared_bytes](
        as_device(value), as_device(text_lengths), as_device(mel_lengths), bool(text_major), d_path, d_score,
        dirs, scratch, int(use_shared))
    stuck = check_scores(d_score.copy_to_host(), errors)
    if like is not None:
        out = path
    else:
        out = path.copy_to_host()
        if is_torch_tensor(value):
            import torch

            out = torch.from_numpy(out)
    return (out, stuck) if errors == "ignore" else out
