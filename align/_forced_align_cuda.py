"""Host launchers for the CUDA forced-alignment kernels: CTC and HMM Viterbi.

No validation here: the public API (:func:`align.forced_align`,
:func:`align.viterbi_batch`) validates first and then calls these. Inputs may
be numpy arrays (copied to the device), numba device arrays, or torch CUDA
tensors (shared without a copy through ``__cuda_array_interface__``, see
:func:`align._cuda.as_device`). Results stay on the device: torch tensors on
the input's device when ``log_probs`` / the emissions are a torch CUDA
tensor (launched on torch's current stream, no synchronisation), numba
device arrays otherwise.

- :func:`ctc_align_cuda`: batched CTC forced alignment
  (:mod:`align.kernels.ctc_cuda`), identical to
  :func:`align.kernels.ctc.ctc_align_batch` bit for bit.
- :func:`viterbi_batch_cuda`: batched HMM Viterbi over one graph or one graph
  per utterance (:mod:`align.kernels.hmm_cuda`), identical to
  :func:`align.kernels.hmm.viterbi_band_batch` / ``viterbi_csr_batch``.
"""

import numpy as np

from . import _cuda
from ._validation import is_torch_tensor

__all__ = ["ctc_align_cuda", "viterbi_batch_cuda", "default_threads"]


def default_threads(S_max):
    """Block size for ``S_max`` states: about one thread per two states, 32 to 1,024.

    Under the simulator, :data:`align.kernels._config.THREADS_PER_BLOCK`
    (which tests patch to a small value).
    """
    if _cuda.is_simulator():
        return _cuda.threads_per_block()
    half = (int(S_max) + 1) // 2
    return int(min(1024, max(32, 32 * ((half + 31) // 32))))


def _on_torch_cuda(x):
    return is_torch_tensor(x) and x.is_cuda


def _np_dtype(x):
    if is_torch_tensor(x):
        return np.dtype(str(x.dtype).replace("torch.", ""))
    return np.dtype(x.dtype)


def _empty(shape, dtype, like):
    """``(object for the caller, numba view)``: a torch tensor on ``like``'s device, or a device array."""
    if _on_torch_cuda(like):
        import torch

        t = torch.empty(shape, dtype=getattr(torch, np.dtype(dtype).name), device=like.device)
        return t, _cuda._cuda().as_cuda_array(t)
    arr = _cuda._cuda().device_array(shape, dtype=dtype)
    return arr, arr


def _dev(a):
    """A numba device view of ``a`` (lists and scalars-as-arrays go through numpy)."""
    if not (is_torch_tensor(a) or hasattr(a, "copy_to_host")
            or hasattr(a, "__cuda_array_interface__")):
        a = np.ascontiguousarray(a)
    elif _on_torch_cuda(a) and not a.is_contiguous():
        a = a.contiguous()
    return _cuda.as_device(a)


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
    from .kernels import ctc_cuda

    B, T, _ = log_probs.shape
    S_max = 2 * int(targets.shape[1]) + 1
    dtype = _np_dtype(log_probs)
    like = log_probs if _on_torch_cuda(log_probs) else None
    nt = int(threads_per_block) if threads_per_block is not None else default_threads(S_max)
    use_shared = ctc_cuda.alpha_in_shared(S_max, dtype.itemsize)
    shared_bytes = 2 * S_max * dtype.itemsize if use_shared else 0
    paths, d_paths = _empty((B, T), np.int64, like)
    scores, d_scores = _empty((B, T), dtype, like)
    logp, d_logp = _empty((B,), np.float64, like)
    if B == 0:
        return paths, scores, logp
    _, bp = _empty((B, T, S_max), np.int8, like)
    _, scratch = _empty((1, 1) if use_shared else (B, 2 * S_max), dtype, like)
    from .kernels._ctc_steps import TIE_OPTIMAL, TIE_TORCHAUDIO

    tie_rule = TIE_TORCHAUDIO if tie_break == "torchaudio" else TIE_OPTIMAL
    kernel = ctc_cuda.ctc_kernel(dtype)
    kernel[B, nt, _cuda.stream_for(like), shared_bytes](
        _dev(log_probs), _dev(targets), _dev(input_lengths), _dev(target_lengths), int(blank),
        tie_rule, d_paths, d_scores, d_logp, bp, scratch, int(use_shared))
    return paths, scores, logp


def _stack_graphs(graphs, B, method):
    from .hmm import MAX_BAND_WIDTH

    if hasattr(graphs, "emission_index"):
        glist = [graphs]
        graph_of = np.zeros(B, np.int64)
    else:
        glist = list(graphs)
        graph_of = np.arange(B, dtype=np.int64)
    if method == "auto":
        banded = all(g.band_width is not None and g.band_width <= MAX_BAND_WIDTH for g in glist)
        method = "band" if banded else "csr"
    S = np.array([g.n_states for g in glist], np.int64)
    s_off = np.concatenate([[0], np.cumsum(S)]).astype(np.int64)
    out = {
        "graph_of": graph_of,
        "col": np.concatenate([g.emission_index for g in glist]).astype(np.int64),
        "init": np.concatenate([g.log_initial for g in glist]).astype(np.float64),
        "final": np.concatenate([g.log_final for g in glist]).astype(np.float64),
        "s_off": s_off,
        "S_max": int(S.max()),
    }
    if method == "band":
        w = max(g.band_width for g in glist)
        trans = np.full((w + 1, int(s_off[-1])), -np.inf)
        for i, g in enumerate(glist):
            tg = g._band_trans
            trans[:tg.shape[0], s_off[i]:s_off[i + 1]] = tg
        out["trans"] = trans
    else:
        out["ptr"] = np.concatenate([g.pred_ptr for g in glist]).astype(np.int64)
        out["p_off"] = np.concatenate([[0], np.cumsum(S + 1)]).astype(np.int64)
        out["pstate"] = np.concatenate([g.pred_state for g in glist]).astype(np.int64)
        out["plogp"] = np.concatenate([g.pred_logp for g in glist]).astype(np.float64)
        n_e = np.array([g.pred_state.shape[0] for g in glist], np.int64)
        out["e_off"] = np.concatenate([[0], np.cumsum(n_e)]).astype(np.int64)
    return method, out


def _pad(log_emissions):
    """A list of (T_u, K_u) emissions as one padded (B, T_max, K_max) array and lengths."""
    items = list(log_emissions)
    T = np.array([e.shape[0] for e in items], np.int64)
    K = max(int(e.shape[1]) for e in items)
    if all(_on_torch_cuda(e) for e in items):
        import torch

        dt = torch.float32 if all(e.dtype == torch.float32 for e in items) else torch.float64
        E = torch.zeros((len(items), int(T.max()), K), dtype=dt, device=items[0].device)
        for u, e in enumerate(items):
            E[u, :e.shape[0], :e.shape[1]] = e
        return E, T
    arrs = [e.detach().cpu().numpy() if is_torch_tensor(e) else np.asarray(e) for e in items]
    dt = np.float32 if all(a.dtype == np.float32 for a in arrs) else np.float64
    E = np.zeros((len(arrs), int(T.max()), K), dt)
    for u, a in enumerate(arrs):
        E[u, :a.shape[0], :a.shape[1]] = a
    return E, T


def viterbi_batch_cuda(log_emissions, graphs, *, lengths=None, method="auto",
                       threads_per_block=None):
    """Batched HMM Viterbi on the GPU (no validation).

    Parameters
    ----------
    log_emissions : sequence of [shape=(T_u, K_u)] arrays/tensors, or one padded [shape=(B, T, K)]
        float32 or float64 (widened exactly; accumulation is float64). A
        sequence is padded here (on the device if every item is a torch CUDA
        tensor); a padded array, numba device array or torch CUDA tensor
        needs ``lengths``.
    graphs : HMMGraph or sequence of HMMGraph
        One graph for every utterance, or one per utterance.
    lengths : array_like [shape=(B,), int], optional
        Frames per utterance (``1 <= lengths[b] <= T``) for a padded input;
        default ``T`` for all.
    method : {"auto", "band", "csr"}
        ``"band"`` needs every graph left-to-right (``band_width`` not None);
        ``"auto"`` picks it when every graph has ``band_width <= 32``.
    threads_per_block : int, optional
        Default :func:`default_threads` of the largest graph's state count.

    Returns
    -------
    paths : [shape=(B, T_max), int64]
        State sequences (local state indices); -1 past ``lengths[b]``, and
        everywhere for an utterance without a finite path.
    log_likelihood : [shape=(B,), float64]
        Best scores; -inf where no path exists.

    Torch tensors on the emissions' device if they are a torch CUDA tensor,
    numba device arrays otherwise.

    Notes
    -----
    Device memory: back-pointers ``B * T_max * S_max`` bytes (``"band"``) or
    4x that (``"csr"``), plus ``B * 2 * S_max * 8`` bytes when two frames of
    scores do not fit in shared memory (``S_max > 2,048``).
    """
    from .kernels import hmm_cuda

    if isinstance(log_emissions, (list, tuple)):
        E, lens = _pad(log_emissions)
        if lengths is None:
            lengths = lens
    else:
        E = log_emissions
    B, T, _ = E.shape
    if lengths is None:
        lengths = np.full(B, T, np.int64)
    method, gr = _stack_graphs(graphs, B, method)
    S_max = gr["S_max"]
    like = E if _on_torch_cuda(E) else None
    nt = int(threads_per_block) if threads_per_block is not None else default_threads(2 * S_max)
    use_shared = hmm_cuda.delta_in_shared(S_max)
    shared_bytes = 16 * S_max if use_shared else 0
    paths, d_paths = _empty((B, T), np.int64, like)
    loglik, d_loglik = _empty((B,), np.float64, like)
    if B == 0:
        return paths, loglik
    _, scratch = _empty((1, 1) if use_shared else (B, 2 * S_max), np.float64, like)
    stream = _cuda.stream_for(like)
    common = [_dev(E), _dev(lengths), _dev(gr["graph_of"]), _dev(gr["col"]), _dev(gr["init"]),
              _dev(gr["final"]), _dev(gr["s_off"])]
    if method == "band":
        _, bp = _empty((B, T, S_max), np.uint8, like)
        hmm_cuda.viterbi_band_batch[B, nt, stream, shared_bytes](
            *common, _dev(gr["trans"]), bp, scratch, int(use_shared), d_paths, d_loglik)
    else:
        _, bp = _empty((B, T, S_max), np.int32, like)
        hmm_cuda.viterbi_csr_batch[B, nt, stream, shared_bytes](
            *common, _dev(gr["ptr"]), _dev(gr["pstate"]), _dev(gr["plogp"]), _dev(gr["p_off"]),
            _dev(gr["e_off"]), bp, scratch, int(use_shared), d_paths, d_loglik)
    return paths, loglik
