"""Host launcher of the forward-sum CUDA kernel (:mod:`align.kernels.forward_sum_cuda`)."""

import numpy as np

from .._device import as_device, default_threads, on_torch_cuda, stream_for, zeros, empty
from ..exceptions import ParameterError
from .losses import check_lengths, checked_inputs, not_finite_message

__all__ = ["forward_sum_nll_cuda"]


def forward_sum_nll_cuda(log_probs, text_lengths, mel_lengths, threads_per_block=None):
    """:func:`align.tts.losses.forward_sum_nll` on the GPU: ``-log Z`` per item and its gradient.

    Parameters
    ----------
    log_probs : np.ndarray or torch.Tensor [shape=(B, T_mel, K_max + 1)]
        Column 0 the blank, columns ``1..K`` the text tokens. A torch CUDA
        tensor is read where it lies (float32 and float64 as they are, other
        dtypes as float64); anything else is copied to the device.
    text_lengths, mel_lengths : array_like [shape=(B,)]
    threads_per_block : int, optional
        The block size (default: about one thread per two states).

    Returns
    -------
    nll : [shape=(B,), float64]
    grad : [shape=(B, T_mel, K_max + 1), float64]
        Torch tensors on the input's device for a torch CUDA input, numpy
        arrays otherwise.

    Raises
    ------
    ParameterError
        As :func:`align.tts.losses.forward_sum_nll`.
    """
    from ..kernels import forward_sum_cuda as kernels

    like = log_probs if on_torch_cuda(log_probs) else None
    if like is None:
        y, tl, ml = checked_inputs(log_probs, text_lengths, mel_lengths)
    else:
        y = log_probs if log_probs.dtype in _torch_floats() else log_probs.double()
        if y.dim() != 3:
            raise ParameterError(f"log_probs must be 3-D (B, T_mel, K_max + 1), got shape {tuple(y.shape)}")
        tl, ml = check_lengths(tuple(y.shape), _host(text_lengths), _host(mel_lengths))
        _check_finite_on_device(y, tl, ml)
    B, T, C = y.shape
    S_max = 2 * int(tl.max()) + 1
    use_shared = kernels.rows_in_shared(S_max)
    shared_bytes = kernels.row_floats(S_max) * 8 if use_shared else 0
    nt = int(threads_per_block) if threads_per_block is not None else default_threads(S_max)
    nll, d_nll = empty((B,), np.float64, like)
    grad, d_grad = zeros((B, T, C), np.float64, like)
    _, alpha = empty((B, int(ml.max()), S_max), np.float64, like)
    _, scratch = empty((1, 1) if use_shared else (B, kernels.row_floats(S_max)), np.float64, like)
    kernels.forward_sum_batch[B, nt, stream_for(like), shared_bytes](
        as_device(y), as_device(tl), as_device(ml), d_nll, d_grad, alpha, scratch, int(use_shared))
    if like is None:
        return d_nll.copy_to_host(), d_grad.copy_to_host()
    return nll, grad


def _torch_floats():
    import torch

    return (torch.float32, torch.float64)


def _host(lengths):
    """Lengths as a host numpy array (a CUDA tensor of lengths is copied; it is B numbers)."""
    if hasattr(lengths, "detach"):
        return lengths.detach().cpu().numpy()
    return lengths


def _check_finite_on_device(y, tl, ml):
    """NaN or +inf inside an item's live block of a CUDA tensor, found without copying it to the host."""
    import torch

    dev = y.device
    frames = torch.arange(y.shape[1], device=dev)[None, :, None] < torch.as_tensor(ml, device=dev)[:, None, None]
    columns = torch.arange(y.shape[2], device=dev)[None, None, :] <= torch.as_tensor(tl, device=dev)[:, None, None]
    bad = ((torch.isnan(y) | torch.isposinf(y)) & frames & columns).flatten(1).any(dim=1)
    if bool(bad.any()):
        raise ParameterError(not_finite_message(int(torch.nonzero(bad)[0, 0])))
