"""HMM decoding over an :class:`~align.hmm.graph.HMMGraph`: Viterbi and forward-backward.

:func:`viterbi` finds the best state sequence, :func:`forward_backward` the
state posteriors; both take log emissions ``(T, K)`` from any acoustic model.
:func:`viterbi_batch` and :func:`forward_backward_batch` take many utterances
in one call (all cores; ``viterbi_batch`` also on a GPU, through
:mod:`align.hmm.decode_cuda`).

Left-to-right graphs whose predecessors of ``s`` all lie in ``[s - w, s]``
(``w <= 32``) use the banded kernels; other graphs the general CSR kernels.

Tie-break rule (every kernel): on equal scores the predecessor with the lowest
state index wins; at the last frame the lowest final state index wins.
"""

import math
import threading
from dataclasses import dataclass

import numpy as np

from .._backend import require_cpu
from .._tensors import like_input, torch_device
from .._validation import as_float_array, check_option, check_positive_int, is_torch_tensor
from ..exceptions import AlignError, InfeasibleAlignmentError, ParameterError
from .graph import MAX_BAND_WIDTH, HMMGraph, _kernels

__all__ = [
    "ViterbiResult",
    "PosteriorResult",
    "viterbi",
    "forward_backward",
    "viterbi_batch",
    "forward_backward_batch",
    "path_segments",
]

#: ``memory="auto"`` switches to checkpointing above this many back-pointer bytes.
FULL_TABLE_LIMIT_BYTES = 1 << 28

# Back-pointer tables up to this size are kept per thread and reused by the next
# call: touching a fresh 50 MB table costs ~10 ms of page faults, a third of a
# T = 100k, S = 500 Viterbi. Larger tables are allocated per call.
SCRATCH_KEEP_BYTES = 1 << 26
_scratch_local = threading.local()


def _scratch(shape, dtype):
    """An uninitialised array of ``shape``: a view of this thread's reused buffer when small."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes > SCRATCH_KEEP_BYTES:
        return np.empty(shape, dtype)
    buf = getattr(_scratch_local, "buf", None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(max(nbytes, 1), np.uint8)
        _scratch_local.buf = buf
    return buf[:nbytes].view(dtype).reshape(shape)


# ------------------------------------------------------------------- results


@dataclass(frozen=True)
class ViterbiResult:
    """The best state sequence.

    Attributes
    ----------
    path : np.ndarray or torch.Tensor [shape=(T,), int64]
        State index at each frame (a torch tensor on the emissions' device when
        they were a torch tensor).
    log_likelihood : float
        Its log score: initial + transitions + emissions + final along ``path``.
    """

    path: np.ndarray
    log_likelihood: float


@dataclass(frozen=True)
class PosteriorResult:
    """State posteriors.

    Attributes
    ----------
    posteriors : np.ndarray or torch.Tensor [shape=(T, S), float64]
        ``P(state s at frame t | emissions)``; each row sums to 1 (a torch
        tensor on the emissions' device when they were a torch tensor).
    log_likelihood : float
        Log probability summed over every path.
    """

    posteriors: np.ndarray
    log_likelihood: float


def path_segments(labels):
    """Runs of equal values along a path: which state (or token) spans which frames.

    Parameters
    ----------
    labels : array_like [shape=(T,)]
        One value per frame, e.g. ``result.path`` (states),
        ``graph.token_of_state[result.path]`` (tokens) or
        ``graph.labels[result.path]``.

    Returns
    -------
    values : np.ndarray [shape=(R,)]
        The value of each run.
    starts, ends : np.ndarray [shape=(R,), int64]
        First frame of each run and one past its last frame.

    Raises
    ------
    ParameterError
        If ``labels`` is not one-dimensional.

    Examples
    --------
    >>> v, a, b = path_segments([0, 0, 1, 1, 1, 2])
    >>> v.tolist(), a.tolist(), b.tolist()
    ([0, 1, 2], [0, 2, 5], [2, 5, 6])

    Note that a token repeated back to back (two runs of the same token id)
    merges here; map states to token *positions* (``token_of_state``) to keep
    them apart.
    """
    lab = labels.detach().cpu().numpy() if is_torch_tensor(labels) else np.asarray(labels)
    if lab.ndim != 1:
        raise ParameterError(f"labels must be one-dimensional, got shape {lab.shape}")
    if lab.size == 0:
        return lab[:0], np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change, [lab.size]]).astype(np.int64)
    return lab[starts], starts, ends


# ---------------------------------------------------------------- validation


def _check_graph(graph, name="graph"):
    if not isinstance(graph, HMMGraph):
        raise ParameterError(f"{name} must be an HMMGraph, got {type(graph).__name__}")


def _check_emissions(log_emissions, graph, name="log_emissions", feasibility=True, scan=True):
    """Validated emissions; ``scan=False`` leaves the NaN/+inf check to the caller's kernel."""
    E = as_float_array(log_emissions, name, ndim=2)
    T, K = E.shape
    if T == 0:
        raise ParameterError(f"{name} has no frames (shape {E.shape}); need T >= 1")
    if scan:
        _check_finite_or_minus_inf(E, name)
    _check_columns_and_length(E, graph, name, feasibility, scanned=scan)
    return E


def _check_finite_or_minus_inf(E, name="log_emissions"):
    """ParameterError naming the first NaN or +inf of ``E``, if any."""
    # one reduction pass (max propagates NaN); locate the culprit only on failure
    top = E.max()
    if np.isnan(top):
        t, k = (int(i) for i in np.argwhere(np.isnan(E))[0])
        raise ParameterError(
            f"{name} must not contain NaN, found NaN at frame {t}, column {k}"
        )
    if top == np.inf:
        t, k = (int(i) for i in np.argwhere(np.isposinf(E))[0])
        raise ParameterError(f"{name} must not contain +inf, found +inf at frame {t}, column {k}")


def _check_columns_and_length(E, graph, name, feasibility, scanned=True):
    T, K = E.shape
    need = graph.n_columns
    if K < need:
        raise ParameterError(
            f"{name} has K={K} columns but the graph reads emission columns up to "
            f"{need - 1}; need K >= {need}"
        )
    if feasibility and (graph.min_frames == 0 or T < graph.min_frames):
        if not scanned:  # bad input is reported before infeasibility
            _check_finite_or_minus_inf(E, name)
        raise InfeasibleAlignmentError(
            f"T={T} frames is too short: the graph needs at least {graph.min_frames} frames "
            "to go from an initial to a final state; pass more frames or a graph with "
            "fewer mandatory states (skip transitions, optional pieces)"
            if graph.min_frames else
            "no final state of the graph can be reached from an initial state; "
            "check log_initial, log_final and the edges"
        )


def _no_path(T, where=""):
    return InfeasibleAlignmentError(
        f"no path through the graph has a finite score over T={T} frames{where} "
        "(every path meets a -inf emission or transition, or no path has exactly T states); "
        "check the emissions for -inf columns and the graph for missing self-loops"
    )


def _pick_method(graph, method):
    check_option("method", method, ("auto", "band", "csr"))
    bw = graph.band_width
    banded = bw is not None and bw <= MAX_BAND_WIDTH
    if method == "band" and not banded:
        raise ParameterError(
            "method='band' needs a left-to-right graph with predecessors in [s - w, s], "
            f"w <= {MAX_BAND_WIDTH}; this graph has "
            + ("edges going backwards" if bw is None else f"w={bw}")
            + "; use method='csr'"
        )
    if method == "auto":
        method = "band" if banded else "csr"
    return method


# ------------------------------------------------------------------- drivers


def viterbi(log_emissions, graph, *, method="auto", memory="auto", checkpoint_every=None,
            backend="auto"):
    """The most likely state sequence through ``graph``.

    Parameters
    ----------
    log_emissions : np.ndarray or torch.Tensor [shape=(T, K), float32 or float64]
        ``log p(frame t | column k)``. ``K >= graph.n_columns``. NaN and +inf
        are refused; -inf (impossible) is allowed. Accumulation is float64.
    graph : HMMGraph
    method : {"auto", "band", "csr"}
        ``"band"``: the fast kernel for left-to-right graphs (predecessors of
        ``s`` in ``[s - w, s]``, ``w <= 32``), with pruning to the band of
        states that can lie on a complete path. ``"csr"``: any graph.
        ``"auto"`` picks ``"band"`` whenever the graph allows it.
    memory : {"auto", "full", "checkpoint"}
        ``"full"`` keeps a ``T x S`` back-pointer table (1 byte per cell for
        ``"band"``; for ``"csr"`` 1 byte when no state has over 255 predecessors, else 4). ``"checkpoint"`` (``"band"`` only) keeps
        the score column every ``k`` frames and recomputes one segment at a
        time: peak memory ``(T/k + 1) * (S + w) * 8 + k * S`` bytes besides the
        emissions, about 100 MB for T = 360,000 and S = 30,000, for roughly
        twice the work. Same path and score as ``"full"``, ties included.
        ``"auto"`` checkpoints when the table would exceed 256 MiB.
    checkpoint_every : int, optional
        ``k``; default ``ceil(sqrt(8 T))``, which minimises the memory above.
    backend : {"auto", "cpu", "cuda"}
        As in :func:`viterbi_batch` (the GPU keeps a full back-pointer table:
        ``memory`` applies to the CPU only).

    Returns
    -------
    ViterbiResult
        ``path`` (T,) int64 and ``log_likelihood``.

    Raises
    ------
    ParameterError
        Malformed emissions (ndim, NaN, +inf, T = 0, K too small), unknown
        options, ``method="band"`` on a non-banded graph, or checkpointing
        with ``method="csr"``.
    InfeasibleAlignmentError
        If T is shorter than ``graph.min_frames`` or no path has a finite score.

    See Also
    --------
    forward_backward, viterbi_batch, align.kernels.hmm.viterbi_band

    Notes
    -----
    Ties: the lowest predecessor index wins, and the lowest final state.
    Forney, "The Viterbi algorithm", Proc. IEEE 61(3), 1973,
    doi:10.1109/PROC.1973.9030, section IV. Checkpointing: Grice, Hughey and
    Speck 1997, doi:10.1093/bioinformatics/13.1.45.

    Examples
    --------
    >>> import numpy as np
    >>> g = HMMGraph.left_to_right(3)
    >>> E = np.log(np.array([[.9, .1, .1], [.1, .9, .1], [.1, .9, .1], [.1, .1, .9]]))
    >>> viterbi(E, g).path.tolist()
    [0, 1, 1, 2]
    """
    from .._backend import resolve_backend

    on_gpu = is_torch_tensor(log_emissions) and log_emissions.is_cuda
    if resolve_backend(backend, on_gpu=on_gpu) == "cuda":
        return viterbi_batch([log_emissions], graph, method=method, backend="cuda")[0]
    _check_graph(graph)
    method = _pick_method(graph, method)
    # the banded kernels check NaN/+inf in the cells they read as they go (a separate
    # scan cost a third of the call on a long chain); the cells they skip are checked below
    E = _check_emissions(log_emissions, graph, scan=method == "csr")
    check_option("memory", memory, ("auto", "full", "checkpoint"))
    T, S = E.shape[0], graph.n_states
    k = _kernels()
    path = np.empty(T, np.int64)
    ka = graph._k
    if method == "csr":
        if memory == "checkpoint":
            raise ParameterError(
                "memory='checkpoint' needs method='band' (a left-to-right graph); "
                "method='csr' keeps the full back-pointer table"
            )
        max_in = int(np.diff(graph.pred_ptr).max())
        bp = _scratch((T, S), np.uint8 if max_in <= 255 else np.int32)
        score = k.viterbi_csr(E, ka.col, ka.pred_ptr, ka.pred_state, ka.pred_logp, ka.init,
                              ka.final, bp, path)
    else:
        lo, hi = graph._band(T)
        if (lo > hi).any():
            _check_finite_or_minus_inf(E)
            raise _no_path(T)
        trans = graph._band_trans
        if memory == "auto":
            memory = "checkpoint" if T * S > FULL_TABLE_LIMIT_BYTES else "full"
        if memory == "full":
            bp = _scratch((T, S), np.uint8)
            score = k.viterbi_band(E, ka.col, trans, ka.init, ka.final, lo, hi, bp, path)
        else:
            every = checkpoint_every
            if every is None:
                every = max(1, math.ceil(math.sqrt(8 * T)))
            every = check_positive_int("checkpoint_every", every)
            n_ckpt = (T - 2) // every + 1 if T > 1 else 0
            ckpt = np.empty((n_ckpt, S + trans.shape[0] - 1))
            seg = np.empty((min(every, max(T - 1, 1)), S), np.uint8)
            score = k.viterbi_band_checkpointed(E, ka.col, trans, ka.init, ka.final, lo, hi,
                                                every, ckpt, seg, path)
        unread_checked = E.shape[1] == S and bool(np.array_equal(ka.col, np.arange(S)))
        if np.isnan(score) or (k.bad_outside_band(E, lo, hi) if unread_checked else True):
            _check_finite_or_minus_inf(E)  # raises, naming the first bad cell, if there is one
        if np.isnan(score):
            raise AlignError("internal error: the viterbi kernel flagged an emission the scan did not find")
    if score == -np.inf:
        raise _no_path(T)
    if path.min() < 0 or path.max() >= S:  # post-condition
        raise AlignError("internal error: the viterbi kernel returned a path outside the graph")
    return ViterbiResult(path=like_input(path, torch_device(log_emissions)), log_likelihood=float(score))


def forward_backward(log_emissions, graph, *, method="auto", backend="auto"):
    """Posterior state probabilities by forward-backward.

    Parameters
    ----------
    log_emissions : np.ndarray or torch.Tensor [shape=(T, K), float32 or float64]
        As in :func:`viterbi`.
    graph : HMMGraph
    method : {"auto", "band", "csr"}
        As in :func:`viterbi`: ``"band"`` (left-to-right graphs) computes only
        the band of states that can lie on a complete path.
    backend : {"auto", "cpu", "cuda"}
        The CPU runs it (``"auto"`` too, for GPU inputs on a host copy); ``"cuda"``
        raises :class:`align.BackendUnavailableError` until a CUDA kernel exists.

    Returns
    -------
    PosteriorResult
        ``posteriors`` (T, S) float64, each row summing to 1, and
        ``log_likelihood`` (log-sum over every path).

    Raises
    ------
    ParameterError
        Malformed emissions, unknown ``method``, or ``method="band"`` on a
        graph that is not banded.
    InfeasibleAlignmentError
        If T is shorter than ``graph.min_frames`` or no path has a finite score.

    See Also
    --------
    viterbi, forward_backward_batch

    Notes
    -----
    Memory: the (T, S) float64 output (which holds log alpha during the forward
    pass) plus O(S). Rabiner, "A tutorial on hidden Markov models", Proc. IEEE
    77(2), 1989, doi:10.1109/5.18626, section III-A.

    Examples
    --------
    >>> import numpy as np
    >>> g = HMMGraph.left_to_right(2)
    >>> r = forward_backward(np.zeros((3, 2)), g)
    >>> np.round(r.posteriors, 3).tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    require_cpu("forward_backward", backend)
    _check_graph(graph)
    E = _check_emissions(log_emissions, graph)
    method = _pick_method(graph, method)
    T = E.shape[0]
    post = np.empty((T, graph.n_states))
    if method == "band":
        lo, hi = graph._band(T)
        if (lo > hi).any():
            raise _no_path(T)
        ka = graph._k
        logz = _kernels().forward_backward_band(E, ka.col, graph._band_trans, ka.init, ka.final,
                                                lo, hi, post)
    else:
        logz = _kernels().forward_backward_csr(E, *graph._kernel_arrays(), post)
    if logz == -np.inf:
        raise _no_path(E.shape[0])
    return PosteriorResult(posteriors=like_input(post, torch_device(log_emissions)),
                           log_likelihood=float(logz))


# --------------------------------------------------------------------- batch


def _stack(log_emissions_list, graphs, feasibility=True):
    if isinstance(graphs, HMMGraph):
        graphs_list = [graphs]
        graph_of = np.zeros(len(log_emissions_list), np.int64)
    else:
        graphs_list = list(graphs)
        if len(graphs_list) != len(log_emissions_list):
            raise ParameterError(
                f"graphs must be one HMMGraph or one per utterance ({len(log_emissions_list)}), "
                f"got {len(graphs_list)}"
            )
        graph_of = np.arange(len(graphs_list), dtype=np.int64)
    for i, g in enumerate(graphs_list):
        _check_graph(g, f"graphs[{i}]")
    if len(log_emissions_list) == 0:
        raise ParameterError("log_emissions_list is empty; pass at least one utterance")
    Es = [_check_emissions(e, graphs_list[graph_of[u]], f"log_emissions_list[{u}]", feasibility)
          for u, e in enumerate(log_emissions_list)]
    dtype = np.float32 if all(e.dtype == np.float32 for e in Es) else np.float64
    K = max(e.shape[1] for e in Es)
    T_all = np.array([e.shape[0] for e in Es], np.int64)
    t_off = np.concatenate([[0], np.cumsum(T_all)]).astype(np.int64)
    E = np.zeros((int(t_off[-1]), K), dtype)
    for u, e in enumerate(Es):
        E[t_off[u]:t_off[u + 1], :e.shape[1]] = e
    S_all = np.array([g.n_states for g in graphs_list], np.int64)
    s_off = np.concatenate([[0], np.cumsum(S_all)]).astype(np.int64)
    return graphs_list, graph_of, E, t_off, s_off


def viterbi_batch(log_emissions_list, graphs, *, method="auto", errors="raise", backend="auto"):
    """Viterbi for many utterances, in parallel over utterances (Numba threads).

    Parameters
    ----------
    log_emissions_list : sequence of array_like [shape=(T_u, K_u)]
    graphs : HMMGraph or sequence of HMMGraph
        One graph for all utterances, or one per utterance.
    method : {"auto", "band", "csr"}
        ``"auto"`` uses the banded kernel if every graph allows it.
    errors : {"raise", "ignore"}
        On an utterance without a finite path: raise
        :class:`InfeasibleAlignmentError` naming it, or return a path of -1 and
        ``log_likelihood = -inf`` for it.
    backend : {"auto", "cpu", "cuda"}
        ``"auto"``: the CUDA kernel (:mod:`align.kernels.hmm_cuda`, one block
        per utterance) when the emissions are torch CUDA tensors, else the CPU.
        ``"cuda"`` forces the GPU; without one it raises
        :class:`align.BackendUnavailableError`. Paths and scores are identical.
        Inputs are validated on host copies; results are numpy arrays.

    Returns
    -------
    list of ViterbiResult
        Each equal to ``viterbi(log_emissions_list[u], graph_u, method=...)``.

    Raises
    ------
    ParameterError, InfeasibleAlignmentError
        As in :func:`viterbi`, naming the utterance.

    See Also
    --------
    viterbi, align.kernels.hmm.viterbi_band_batch

    Notes
    -----
    Each utterance keeps its full back-pointer table while it runs (1 byte per
    cell banded, 4 for CSR); for very long single inputs use :func:`viterbi`
    with ``memory="checkpoint"``.
    """
    from .._backend import resolve_backend

    check_option("method", method, ("auto", "band", "csr"))
    check_option("errors", errors, ("raise", "ignore"))
    log_emissions_list = list(log_emissions_list)
    on_gpu = any(is_torch_tensor(e) and e.is_cuda for e in log_emissions_list)
    use = resolve_backend(backend, on_gpu=on_gpu)
    graphs_list, graph_of, E, t_off, s_off = _stack(log_emissions_list, graphs,
                                                    feasibility=errors == "raise")
    if method == "auto":
        method = "band" if all(_pick_method(g, "auto") == "band" for g in graphs_list) else "csr"
    else:
        for g in graphs_list:
            _pick_method(g, method)
    U = len(log_emissions_list)
    if use == "cuda":
        return _like_inputs(
            _viterbi_batch_cuda(log_emissions_list, graphs_list, graph_of, t_off, method, errors),
            log_emissions_list)
    path = np.empty(int(t_off[-1]), np.int64)
    loglik = np.empty(U)
    col = np.concatenate([g.emission_index for g in graphs_list])
    init = np.concatenate([g.log_initial for g in graphs_list])
    final = np.concatenate([g.log_final for g in graphs_list])
    k = _kernels()
    if method == "band":
        w = max(g.band_width for g in graphs_list)
        blocks = []
        for g in graphs_list:
            bt = np.full((w + 1, g.n_states), -np.inf)
            bt[:g._band_trans.shape[0]] = g._band_trans
            blocks.append(bt)
        trans = np.concatenate(blocks, axis=1)
        lo = np.empty(int(t_off[-1]), np.int64)
        hi = np.empty(int(t_off[-1]), np.int64)
        for u in range(U):
            g = graphs_list[graph_of[u]]
            lo_u, hi_u = g._band(int(t_off[u + 1] - t_off[u]))
            if (lo_u > hi_u).any():  # empty band: nothing to compute, report no path
                lo_u, hi_u = np.zeros_like(lo_u), np.full_like(hi_u, -1)
            lo[t_off[u]:t_off[u + 1]] = lo_u
            hi[t_off[u]:t_off[u + 1]] = hi_u
        k.viterbi_band_batch(E, t_off, graph_of, (col, init, final, s_off), trans, path, loglik, lo, hi)
    else:
        k.viterbi_csr_batch(E, t_off, graph_of, (col, init, final, s_off), _stack_csr(graphs_list, "pred"),
                            path, loglik)
    out = []
    for u in range(U):
        if loglik[u] == -np.inf and errors == "raise":
            raise _no_path(int(t_off[u + 1] - t_off[u]), f" for utterance {u}")
        out.append(ViterbiResult(path=path[t_off[u]:t_off[u + 1]].copy(),
                                 log_likelihood=float(loglik[u])))
    return _like_inputs(out, log_emissions_list)


def _like_inputs(results, log_emissions_list):
    """Torch in, torch out: each result's array on its own utterance's device."""
    from dataclasses import replace

    out = []
    for r, e in zip(results, log_emissions_list):
        device = torch_device(e)
        if device is None:
            out.append(r)
        elif isinstance(r, ViterbiResult):
            out.append(replace(r, path=like_input(r.path, device)))
        else:
            out.append(replace(r, posteriors=like_input(r.posteriors, device)))
    return out


def _viterbi_batch_cuda(log_emissions_list, graphs_list, graph_of, t_off, method, errors):
    """The GPU branch of :func:`viterbi_batch`, on validated inputs."""
    from .decode_cuda import viterbi_batch_cuda

    on_gpu = all(is_torch_tensor(e) and e.is_cuda for e in log_emissions_list)
    items = log_emissions_list if on_gpu else [
        np.ascontiguousarray(e.detach().cpu().numpy() if is_torch_tensor(e) else e, dtype=np.float64)
        for e in log_emissions_list]
    graphs = [graphs_list[g] for g in graph_of]
    paths, loglik = viterbi_batch_cuda(items, graphs, method=method)
    paths = paths.cpu().numpy() if is_torch_tensor(paths) else paths.copy_to_host()
    loglik = loglik.cpu().numpy() if is_torch_tensor(loglik) else loglik.copy_to_host()
    out = []
    for u in range(len(items)):
        T_u = int(t_off[u + 1] - t_off[u])
        if loglik[u] == -np.inf and errors == "raise":
            raise _no_path(T_u, f" for utterance {u}")
        path = paths[u, :T_u].copy()
        S_u = graphs[u].n_states
        if loglik[u] > -np.inf and (path.min() < 0 or path.max() >= S_u):  # post-condition
            raise AlignError("internal error: the viterbi CUDA kernel returned a path outside the graph")
        out.append(ViterbiResult(path=path, log_likelihood=float(loglik[u])))
    return out


def _stack_csr(graphs_list, which):
    ptr = np.concatenate([getattr(g, f"{which}_ptr") for g in graphs_list])
    state = np.concatenate([getattr(g, f"{which}_state") for g in graphs_list])
    logp = np.concatenate([getattr(g, f"{which}_logp") for g in graphs_list])
    p_off = np.concatenate([[0], np.cumsum([g.n_states + 1 for g in graphs_list])]).astype(np.int64)
    e_off = np.concatenate([[0], np.cumsum([g.n_edges for g in graphs_list])]).astype(np.int64)
    return ptr, state, logp, p_off, e_off


def forward_backward_batch(log_emissions_list, graphs, *, errors="raise", backend="auto"):
    """Forward-backward for many utterances, in parallel over utterances.

    Parameters
    ----------
    log_emissions_list : sequence of array_like [shape=(T_u, K_u)]
    graphs : HMMGraph or sequence of HMMGraph
    errors : {"raise", "ignore"}
        As in :func:`viterbi_batch`; "ignore" gives zero posteriors and
        ``log_likelihood = -inf``.
    backend : {"auto", "cpu", "cuda"}
        As in :func:`forward_backward`.

    Returns
    -------
    list of PosteriorResult

    Raises
    ------
    ParameterError, InfeasibleAlignmentError
        As in :func:`forward_backward`, naming the utterance.

    See Also
    --------
    forward_backward
    """
    check_option("errors", errors, ("raise", "ignore"))
    require_cpu("forward_backward_batch", backend)
    log_emissions_list = list(log_emissions_list)
    graphs_list, graph_of, E, t_off, s_off = _stack(log_emissions_list, graphs,
                                                    feasibility=errors == "raise")
    U = len(log_emissions_list)
    sizes = np.array([(t_off[u + 1] - t_off[u]) * graphs_list[graph_of[u]].n_states
                      for u in range(U)], np.int64)
    q_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    post = np.empty(int(q_off[-1]))
    loglik = np.empty(U)
    col = np.concatenate([g.emission_index for g in graphs_list])
    init = np.concatenate([g.log_initial for g in graphs_list])
    final = np.concatenate([g.log_final for g in graphs_list])
    sptr, sstate, slogp, _, _ = _stack_csr(graphs_list, "succ")
    _kernels().forward_backward_csr_batch(E, t_off, graph_of, (col, init, final, s_off),
                                          _stack_csr(graphs_list, "pred"), (sptr, sstate, slogp),
                                          post, q_off, loglik)
    out = []
    for u in range(U):
        T = int(t_off[u + 1] - t_off[u])
        if loglik[u] == -np.inf and errors == "raise":
            raise _no_path(T, f" for utterance {u}")
        S = graphs_list[graph_of[u]].n_states
        out.append(PosteriorResult(posteriors=post[q_off[u]:q_off[u + 1]].reshape(T, S),
                                   log_likelihood=float(loglik[u])))
    return _like_inputs(out, log_emissions_list)
