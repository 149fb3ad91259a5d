"""HMM Viterbi for batches of utterances on the GPU (numba-cuda): one thread block per utterance.

Same recurrence, boundary conditions and tie-break rule as the CPU kernels of
:mod:`align.kernels.hmm` (Forney 1973, "The Viterbi algorithm", Proc. IEEE
61(3), DOI 10.1109/PROC.1973.9030, section IV)::

    delta[0, s] = init[s] + E[0, col[s]]
    delta[t, s] = max_{p in pred(s)} (delta[t-1, p] + logp(p -> s)) + E[t, col[s]]
    log_likelihood = max_s delta[T-1, s] + final[s]

accumulated in float64 (``E`` may be float32; it is widened exactly).

Tie-break: the lowest predecessor index wins (candidates are visited in
ascending state order, replaced only on a strictly greater score; the first
candidate is taken even at -inf, as on the CPU), and at the last frame the
lowest final state wins. When the best score is -inf there is no path: the
path is -1 everywhere and the score -inf.

Two graph layouts, as on the CPU:

- :func:`viterbi_csr_batch`: any graph, predecessors by destination in CSR
  form; back-pointers are the predecessor state (int32).
- :func:`viterbi_band_batch`: left-to-right graphs whose predecessors of ``s``
  lie in ``[s - w, s]``; ``trans[j, s]`` is the log probability of
  ``s - j -> s``; back-pointers are the offset ``j`` (uint8).

The banded CPU kernel also prunes states that cannot lie on a complete path;
pruning changes no score on a complete path (a predecessor of a co-reachable
cell is itself co-reachable), so the unpruned GPU recurrence returns the same
paths and scores.

Layout: grid ``B`` (one block per utterance), threads stride over the states
(any block size). Two frames of ``delta`` (``2 S`` float64) live in dynamic
shared memory when the launch passes ``use_shared=1`` and ``16 * S_max``
shared bytes, else in ``alpha_scratch[b]`` (global, ``(B, 2 S_max)``); one
``cuda.syncthreads()`` per frame. Back-pointers: ``bp`` ``(B, T_max, S_max)``
global (``B * T_max * S_max`` bytes banded, 4x that for CSR). Thread 0
backtracks. Several graphs may be stacked: utterance ``b`` uses graph
``graph_of[b]``, whose states are ``[s_off[g], s_off[g+1])`` of the stacked
per-state arrays.

Launch::

    states = (col, init, final, s_off)
    preds = (ptr, pstate, plogp, p_off, e_off)
    viterbi_csr_batch[B, threads, stream, shared_bytes](E, lengths, graph_of, states, preds,
        out_path, out_loglik, bp, alpha_scratch, use_shared)
    viterbi_band_batch[B, threads, stream, shared_bytes](E, lengths, graph_of, states, trans,
        out_path, out_loglik, bp, alpha_scratch, use_shared)

The arguments are the CPU kernels' (:func:`align.kernels.hmm.viterbi_csr_batch`,
:func:`align.kernels.hmm.viterbi_band_batch`) in the same order, padded instead
of ragged, then this kernel's scratch.

See Also
--------
align.kernels.hmm : the CPU kernels.
align.hmm.decode_cuda.viterbi_batch_cuda : the host launcher.
"""

import math

from numba import config, cuda, float64

from . import _hmm_steps

#: the largest block the launchers use; kernels are compiled for it (launch
#: bounds), so that the register count never makes a 1,024-thread launch fail
MAX_THREADS = 1024
# the simulator's jit takes no launch_bounds
_KERNEL_OPTS = {} if config.ENABLE_CUDASIM else {"launch_bounds": MAX_THREADS}

__all__ = ["viterbi_csr_batch", "viterbi_band_batch", "SHARED_DELTA_BYTES",
           "delta_in_shared", "MAX_THREADS"]

#: dynamic shared memory the two delta frames may take
SHARED_DELTA_BYTES = 32 * 1024


def delta_in_shared(S_max):
    """Whether two float64 frames of ``S_max`` states fit :data:`SHARED_DELTA_BYTES`."""
    return 16 * S_max <= SHARED_DELTA_BYTES


# the tie rules of every HMM kernel (CPU and GPU), compiled for the device
_pick_gpu = cuda.jit(device=True)(_hmm_steps.viterbi_pick)
_end_pick_gpu = cuda.jit(device=True)(_hmm_steps.end_pick)


@cuda.jit(device=True)
def _first_frame(delta, E, b, col, init, s0, S):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for s in range(tid, S, nt):
        delta[s] = init[s0 + s] + float64(E[b, 0, col[s0 + s]])
    cuda.syncthreads()


@cuda.jit(device=True)
def _finish(delta, E, b, T, S, s0, final, bp, banded, out_path, out_loglik):
    """Thread 0: pick the end state, backtrack; everyone: pad the path with -1.

    ``banded``: the back-pointers hold offsets ``j`` (state ``s - j``), not states.
    """
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    Tmax = out_path.shape[1]
    if tid == 0:
        if T < 1:
            out_loglik[b] = -math.inf
        else:
            off = ((T - 1) & 1) * S
            best = -math.inf
            arg = -1
            for s in range(S):
                best, arg = _end_pick_gpu(best, arg, delta[off + s] + final[s0 + s], s)
            if arg < 0:
                out_loglik[b] = -math.inf
                for t in range(T):
                    out_path[b, t] = -1
            else:
                out_loglik[b] = best
                out_path[b, T - 1] = arg
                for t in range(T - 1, 0, -1):
                    if banded:
                        arg -= bp[b, t, arg]
                    else:
                        arg = bp[b, t, arg]
                    out_path[b, t - 1] = arg
    start = T if T > 0 else 0
    for t in range(start + tid, Tmax, nt):
        out_path[b, t] = -1


# _csr_body and _band_body walk the frames the same way and differ in how a state's
# predecessors are read (CSR lists or a fixed band): two device functions, not one with a
# switch, so each compiles to its own tight loop with no branch per cell; a duplicate kept
# for compiled speed (the pick rules are _hmm_steps', written once).
@cuda.jit(device=True)
def _csr_body(delta, E, b, T, col, init, final, s0, S, ptr, p0, pstate, plogp, e0, bp,
              out_path, out_loglik):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    if T >= 1:
        _first_frame(delta, E, b, col, init, s0, S)
    for t in range(1, T):
        cur = (t & 1) * S
        prv = S - cur
        for s in range(tid, S, nt):
            best = -math.inf
            arg = -1
            for e in range(ptr[p0 + s], ptr[p0 + s + 1]):
                p = pstate[e0 + e]
                best, arg = _pick_gpu(best, arg, delta[prv + p] + plogp[e0 + e], p)
            delta[cur + s] = best + float64(E[b, t, col[s0 + s]])
            bp[b, t, s] = arg
        cuda.syncthreads()
    _finish(delta, E, b, T, S, s0, final, bp, False, out_path, out_loglik)


@cuda.jit(**_KERNEL_OPTS)
def viterbi_csr_batch(E, lengths, graph_of, states, preds, out_path, out_loglik, bp, alpha_scratch,
                      use_shared):
    """Viterbi of utterance ``blockIdx.x`` over a CSR graph.

    Parameters
    ----------
    E : device array [shape=(B, T_max, K), float32 or float64]
        Padded log emissions; utterance ``b`` uses ``E[b, :lengths[b]]``.
    lengths : device array [shape=(B,), int64]
        Frames per utterance (``1 <= lengths[b] <= T_max``).
    graph_of : device array [shape=(B,), int64]
        The graph of each utterance.
    states : tuple of device arrays (col, init, final, s_off)
        Stacked per-state arrays (int64 / float64 / float64, [shape=(sum S,)]);
        graph ``g`` owns ``[s_off[g], s_off[g+1])`` (``s_off`` [shape=(G+1,)]).
    preds : tuple of device arrays (ptr, pstate, plogp, p_off, e_off)
        Stacked CSR by destination (local state indices): graph ``g``'s
        ``pred_ptr`` is ``ptr[p_off[g]:p_off[g] + S_g + 1]`` (offsets into its
        own edges), its edges start at ``e_off[g]``. numba-cuda passes a tuple
        of arrays element by element, as if each were an argument.
    out_path : device array [shape=(B, T_max), int64]
        Output: state sequence (local indices), -1 past ``lengths[b]`` and
        everywhere when no path exists.
    out_loglik : device array [shape=(B,), float64]
        Output: best log score (-inf when no path exists).
    bp : device array [shape=(B, T_max, S_max), int32]
        Scratch: back-pointers (predecessor state).
    alpha_scratch : device array [shape=(B, 2 S_max) or (1, 1), float64]
        Scratch for the two delta frames when ``use_shared == 0``.
    use_shared : int
        1: the delta frames live in the launch's dynamic shared memory
        (``16 * S_max`` bytes).
    """
    col, init, final, s_off = states
    ptr, pstate, plogp, p_off, e_off = preds
    sh = cuda.shared.array(0, dtype=float64)
    b = cuda.blockIdx.x
    g = graph_of[b]
    s0 = s_off[g]
    S = s_off[g + 1] - s0
    T = lengths[b]
    if use_shared:
        _csr_body(sh, E, b, T, col, init, final, s0, S, ptr, p_off[g], pstate, plogp, e_off[g],
                  bp, out_path, out_loglik)
    else:
        _csr_body(alpha_scratch[b], E, b, T, col, init, final, s0, S, ptr, p_off[g], pstate,
                  plogp, e_off[g], bp, out_path, out_loglik)


@cuda.jit(device=True)
def _band_body(delta, E, b, T, col, init, final, s0, S, trans, bp, out_path, out_loglik):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    w = trans.shape[0] - 1
    if T >= 1:
        _first_frame(delta, E, b, col, init, s0, S)
    for t in range(1, T):
        cur = (t & 1) * S
        prv = S - cur
        for s in range(tid, S, nt):
            best = -math.inf
            arg = -1
            # j = w .. 0 is predecessor s - j in ascending index; s - j < 0
            # reads -inf like the CPU kernel's padding
            for j in range(w, -1, -1):
                p = s - j
                v = -math.inf
                if p >= 0:
                    v = delta[prv + p]
                best, arg = _pick_gpu(best, arg, v + trans[j, s0 + s], j)
            delta[cur + s] = best + float64(E[b, t, col[s0 + s]])
            bp[b, t, s] = arg
        cuda.syncthreads()
    # back-pointers hold offsets: turn them into states on the way back
    _finish(delta, E, b, T, S, s0, final, bp, True, out_path, out_loglik)


@cuda.jit(**_KERNEL_OPTS)
def viterbi_band_batch(E, lengths, graph_of, states, trans, out_path, out_loglik, bp, alpha_scratch,
                       use_shared):
    """Viterbi of utterance ``blockIdx.x`` over a banded left-to-right graph.

    Parameters
    ----------
    E, lengths, graph_of, states, alpha_scratch, use_shared, out_path, out_loglik
        As in :func:`viterbi_csr_batch`.
    trans : device array [shape=(w+1, sum S), float64]
        Stacked banded transitions: ``trans[j, s_off[g] + s]`` is the log
        probability of ``s - j -> s`` in graph ``g`` (-inf where no edge).
    bp : device array [shape=(B, T_max, S_max), uint8]
        Scratch: back-pointer offsets ``j``.
    """
    col, init, final, s_off = states
    sh = cuda.shared.array(0, dtype=float64)
    b = cuda.blockIdx.x
    g = graph_of[b]
    s0 = s_off[g]
    S = s_off[g + 1] - s0
    T = lengths[b]
    if use_shared:
        _band_body(sh, E, b, T, col, init, final, s0, S, trans, bp, out_path, out_loglik)
    else:
        _band_body(alpha_scratch[b], E, b, T, col, init, final, s0, S, trans, bp, out_path,
                   out_loglik)
