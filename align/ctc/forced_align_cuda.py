"""Host launcher for the CUDA CTC forced-alignment kernel (:mod:`align.kernels.ctc_cuda`).

No validation here: :func:`align.forced_align` validates first and then calls
:func:`ctc_align_cuda`, identical to :func:`align.kernels.ctc.ctc_align_batch`
bit for bit. Inputs may be numpy arrays (copied to the device), numba device
arrays, or torch CUDA tensors (shared without a copy through
``__cuda_array_interface__``, see :func:`align._device.as_device`). Results
stay on the device: torch tensors on the input's device when ``log_probs`` is a
torch CUDA tensor (launched on torch's current stream, no synchronisation),
numba device arrays otherwise.
"""

import numpy as np

from .._device import as_device, default_threads, empty, np_dtype, on_torch_cuda, stream_for

__all__ = ["ctc_align_cuda"]


def ctc_align_cuda(log_probs, targets, input_lengths, target_lengths, blank, *,
                   tie_break="torchaudio", threads_per_block=None):
    """Batched CTC forced alignment on the GPU (no validation).

    Parameters
    ----------
    log_probs : np.ndarray, numba device array or torch CUDA tensor [shape=(B, T, C), float32 or float64]
        C-contiguous log-probabilities; scores accumulate in this dtype.
    targets : same kinds [shape=(B, L), any integer dtype]
        Labels, none equal to ``blank``; only ``targets[b, :target_lengths[b]]`` is read.
    input_lengths, target_lengths : same kinds [shape=(B,), any integer dtype]
        ``0 <= input_lengths[b] <= T``, ``0 <= target_lengths[b] <= L``. An
        item with ``input_lengths[b] < target_lengths[b] + R_b`` (too short)
        gets log-likelihood -inf and an all-blank path, as on the CPU.
    blank : int
        The blank class.
    tie_break : {"torchaudio", "optimal"}
        The rule of :func:`align.forced_align` (``TIE_TORCHAUDIO`` /
        ``TIE_OPTIMAL`` of :mod:`align.kernels.ctc`).
    threads_per_block : int, optional
        Block size (any value >= 1, at most 1,024); default
        :func:`default_threads` of ``2 L + 1``.

    Returns
    -------
    paths : [shape=(B, T), int64]
        Label per frame; ``blank`` past ``input_lengths[b]``.
    scores : [shape=(B, T), dtype of log_probs]
        ``log_probs[b, t, paths[b, t]]``; 0 past ``input_lengths[b]``.
    log_likelihood : [shape=(B,), float64]
        The best path's total score (-inf when no path; 0 for T = 0).

    All three are torch tensors on ``log_probs``' device if it is a torch
    CUDA tensor, numba device arrays otherwise.

    Notes
    -----
    Device memory besides inputs and outputs: ``B * T * (2 L + 1)`` bytes of
    back-pointers (103 MB for 256 x (T = 1,000, L = 200)), plus
    ``B * 2 * (2 L + 1) * itemsize`` when the two alpha frames do not fit in
    shared memory (``2 L + 1 > 4,096`` in float32, ``> 2,048`` in float64).
    One block per utterance: a single long utterance uses one SM.
    """
    from ..kernels import ctc_cuda

    B, T, _ = log_probs.shape
    S_max = 2 * int(targets.shape[1]) + 1
    dtype = np_dtype(log_probs)
    like = log_probs if on_torch_cuda(log_probs) else None
    nt = int(threads_per_block) if threads_per_block is not None else default_threads(S_max)
    use_shared = ctc_cuda.alpha_in_shared(S_max, dtype.itemsize)
    shared_bytes = 2 * S_max * dtype.itemsize if use_shared else 0
    paths, d_paths = empty((B, T), np.int64, like=like)
    scores, d_scores = empty((B, T), dtype, like)
    logp, d_logp = empty((B,), np.float64, like)
    if B == 0:
        return paths, scores, logp
    _, bp = empty((B, T, S_max), np.int8, like)
    _, scratch = empty((1, 1) if use_shared else (B, 2 * S_max), dtype, like)
    from ..kernels._ctc_steps import TIE_OPTIMAL, TIE_TORCHAUDIO

    tie_rule = TIE_TORCHAUDIO if tie_break == "torchaudio" else TIE_OPTIMAL
    kernel = ctc_cuda.ctc_kernel(dtype)
    kernel[B, nt, stream_for(like), shared_bytes](
        as_device(log_probs), as_device(targets), as_device(input_lengths), as_device(target_lengths), int(blank),
        tie_rule, d_paths, d_scores, d_logp, bp, scratch, int(use_shared))
    return paths, scores, logp
