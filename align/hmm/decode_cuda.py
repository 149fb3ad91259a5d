"""Host launcher for the CUDA HMM Viterbi kernels (:mod:`align.kernels.hmm_cuda`).

No validation here: :func:`align.viterbi_batch` validates first and then calls
:func:`viterbi_batch_cuda`, identical to
:func:`align.kernels.hmm.viterbi_band_batch` / ``viterbi_csr_batch``. Inputs
and results follow :func:`align.ctc.forced_align_cuda.ctc_align_cuda`: torch
CUDA tensors are shared without a copy and results stay on their device.
"""

import numpy as np

from .._device import as_device, default_threads, empty, on_torch_cuda, stream_for
from .._validation import is_torch_tensor
from .graph import MAX_BAND_WIDTH

__all__ = ["viterbi_batch_cuda"]


def _stack_graphs(graphs, B, method):
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
    if all(on_torch_cuda(e) for e in items):
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
    from ..kernels import hmm_cuda

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
    like = E if on_torch_cuda(E) else None
    nt = int(threads_per_block) if threads_per_block is not None else default_threads(2 * S_max)
    use_shared = hmm_cuda.delta_in_shared(S_max)
    shared_bytes = 16 * S_max if use_shared else 0
    paths, d_paths = empty((B, T), np.int64, like)
    loglik, d_loglik = empty((B,), np.float64, like)
    if B == 0:
        return paths, loglik
    _, scratch = empty((1, 1) if use_shared else (B, 2 * S_max), np.float64, like)
    stream = stream_for(like)
    common = [as_device(E), as_device(lengths), as_device(gr["graph_of"]),
              tuple(as_device(gr[k]) for k in ("col", "init", "final", "s_off"))]
    if method == "band":
        _, bp = empty((B, T, S_max), np.uint8, like)
        hmm_cuda.viterbi_band_batch[B, nt, stream, shared_bytes](
            *common, as_device(gr["trans"]), d_paths, d_loglik, bp, scratch, int(use_shared))
    else:
        _, bp = empty((B, T, S_max), np.int32, like)
        preds = tuple(as_device(gr[k]) for k in ("ptr", "pstate", "plogp", "p_off", "e_off"))
        hmm_cuda.viterbi_csr_batch[B, nt, stream, shared_bytes](
            *common, preds, d_paths, d_loglik, bp, scratch, int(use_shared))
    return paths, loglik
