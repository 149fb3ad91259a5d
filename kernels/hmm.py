"""HMM Viterbi and forward-backward over an explicit sparse graph (CPU, Numba).

Notation
--------
``E`` (T, K) log emissions (float32 or float64; accumulation is float64),
``col`` (S,) the emission column of each state, ``init`` (S,) and ``final``
(S,) log initial / final weights (-inf where not allowed). Transitions come in
one of two layouts:

- CSR by destination (any graph): ``pred_ptr`` (S+1,), ``pred_state`` (E,),
  ``pred_logp`` (E,), predecessors of each state sorted by ascending index;
  CSR by source (``succ_*``) for the backward pass.
- Banded (left-to-right graphs whose predecessors of ``s`` all lie in
  ``[s - w, s]``): ``trans`` (w+1, S) with ``trans[j, s]`` the log probability
  of ``s - j -> s`` (-inf where there is no edge).

Recurrences
-----------
Viterbi (Forney 1973, doi:10.1109/PROC.1973.9030, section IV)::

    delta[0, s] = init[s] + E[0, col[s]]
    delta[t, s] = max_{p in pred(s)} (delta[t-1, p] + logp(p -> s)) + E[t, col[s]]
    log_likelihood = max_s delta[T-1, s] + final[s]

Forward-backward (Rabiner 1989, doi:10.1109/5.18626, section III-A,
equations 18-27, in the log domain)::

    alpha[0, s] = init[s] + E[0, col[s]]
    alpha[t, s] = logsumexp_{p in pred(s)} (alpha[t-1, p] + logp(p -> s)) + E[t, col[s]]
    beta[T-1, s] = final[s]
    beta[t, s] = logsumexp_{d in succ(s)} (logp(s -> d) + E[t+1, col[d]] + beta[t+1, d])
    log Z = logsumexp_s alpha[T-1, s] + final[s]
    gamma[t, s] = exp(alpha[t, s] + beta[t, s] - log Z)

Boundary conditions: frame 0 can only be occupied by states with a finite
``init``; the last frame only by states with a finite ``final``. ``-inf`` means
"unreachable" throughout (so ``fastmath`` never assumes no-inf). When the best
score is ``-inf`` there is no path: the kernels return ``-inf`` and fill the
path with -1; the API layer raises.

Tie-break (one rule, every kernel): on equal scores the predecessor with the
**lowest state index** wins, and at the last frame the **lowest final state
index** wins. The CSR kernels visit predecessors in ascending order and replace
only on a strictly greater score; the banded kernels visit ``j = w, ..., 0``
(predecessor ``s - j``, ascending index) with the same strict comparison.

Band pruning (banded kernels): ``lo[t]``, ``hi[t]`` bound the states that can
lie on a complete path at frame ``t`` (reachable from an initial state in ``t``
steps and able to reach a final state in the remaining ``T - 1 - t``). Cells
outside the band are never computed and read as ``-inf``; this changes no
value on any complete path, so results equal the unpruned recurrence.

Checkpointing (Grice, Hughey & Speck 1997, "Reduced space sequence alignment",
doi:10.1093/bioinformatics/13.1.45, section 2): the forward pass keeps the
score column every ``k`` frames; the backtrace recomputes one segment of ``k``
frames at a time from its checkpoint, storing 1-byte back-pointer offsets for
that segment only. The recomputation runs the same arithmetic in the same
order, so the path equals the full-table path bit for bit, ties included.
Peak memory: ``(ceil((T-1)/k) + 1) * (S + w) * 8 + k * S`` bytes besides ``E``.
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH as _FASTMATH
from ._hmm_steps import end_pick_cpu, viterbi_pick_cpu

# numba accepts a set, not the frozenset the config holds
FASTMATH = set(_FASTMATH)

__all__ = [
    "viterbi_csr",
    "viterbi_band",
    "viterbi_band_checkpointed",
    "bad_outside_band",
    "forward_backward_csr",
    "forward_backward_band",
    "viterbi_csr_batch",
    "viterbi_band_batch",
    "forward_backward_csr_batch",
    "min_steps",
]

NEG_INF = -np.inf


# --------------------------------------------------------------------------
# graph helpers


@njit(cache=True)
def min_steps(ptr, nbr, logp, sources):
    """Breadth-first distance (in edges) from any source state, over finite edges.

    Parameters
    ----------
    ptr, nbr, logp : np.ndarray [shape=(S+1,), (E,), (E,)]
        Adjacency in CSR form (row ``s`` lists the neighbours reached from ``s``).
    sources : np.ndarray [shape=(S,), bool]
        Start states (distance 0).

    Returns
    -------
    np.ndarray [shape=(S,), int64]
        Distance, or -1 where a state cannot be reached.
    """
    S = ptr.shape[0] - 1
    dist = np.full(S, -1, np.int64)
    queue = np.empty(S, np.int64)
    head = 0
    tail = 0
    for s in range(S):
        if sources[s]:
            dist[s] = 0
            queue[tail] = s
            tail += 1
    while head < tail:
        u = queue[head]
        head += 1
        for e in range(ptr[u], ptr[u + 1]):
            v = nbr[e]
            if dist[v] < 0 and logp[e] > -np.inf:
                dist[v] = dist[u] + 1
                queue[tail] = v
                tail += 1
    return dist


# --------------------------------------------------------------------------
# general CSR kernels


# The CSR and banded Viterbi loops below share their shape (two delta rows, the end-state
# pick, the walk back) but not their inner loop: written out per graph kind so that the
# banded one vectorises over a fixed-width band; a duplicate kept for compiled speed. The
# per-cell rules (predecessor and end-state picks) are written once, in _hmm_steps.py.
@njit(cache=True, fastmath=FASTMATH)
def _viterbi_csr_into(E, col, pred_ptr, pred_state, pred_logp, init, final, bp, path):
    T = E.shape[0]
    S = col.shape[0]
    prev = np.empty(S, np.float64)
    cur = np.empty(S, np.float64)
    for s in range(S):
        prev[s] = init[s] + E[0, col[s]]
    for t in range(1, T):
        for s in range(S):
            best = -np.inf
            arg = -1
            first = pred_ptr[s]
            for e in range(first, pred_ptr[s + 1]):
                v = prev[np.uint64(pred_state[e])] + pred_logp[e]
                best, arg = viterbi_pick_cpu(best, arg, v, e - first)
            cur[s] = best + E[t, np.uint64(col[s])]
            # the predecessor's place in the row, so a uint8 table serves any
            # graph whose states have at most 255 predecessors
            bp[t, s] = arg
        prev, cur = cur, prev
    best = -np.inf
    arg = -1
    for s in range(S):
        best, arg = end_pick_cpu(best, arg, prev[s] + final[s], s)
    if arg < 0:
        path[:] = -1
        return -np.inf
    path[T - 1] = arg
    for t in range(T - 1, 0, -1):
        arg = pred_state[pred_ptr[arg] + np.int64(bp[t, arg])]
        path[t - 1] = arg
    return best


@njit(cache=True, fastmath=FASTMATH)
def viterbi_csr(E, col, pred_ptr, pred_state, pred_logp, init, final, bp, path):
    """Viterbi over a CSR graph with a full back-pointer table.

    Parameters
    ----------
    E : np.ndarray [shape=(T, K), float32 or float64]
    col : np.ndarray [shape=(S,), int64]
    pred_ptr, pred_state, pred_logp : np.ndarray [shape=(S+1,), (E,), (E,)]
        Predecessors by destination, ascending state index within a row.
    init, final : np.ndarray [shape=(S,), float64]
    bp : np.ndarray [shape=(T, S), uint8 or int32]
        Scratch for back-pointers: the chosen predecessor's position in its
        CSR row (uint8 when no state has more than 255 predecessors).
    path : np.ndarray [shape=(T,), int64]
        Output: the best state sequence (-1 everywhere if there is none).

    Returns
    -------
    float
        The best log score, ``-inf`` when no path exists.
    """
    return _viterbi_csr_into(E, col, pred_ptr, pred_state, pred_logp, init, final, bp, path)


@njit(cache=True, fastmath=FASTMATH)
def _lse_row(vals, n):
    m = -np.inf
    for i in range(n):
        if vals[i] > m:
            m = vals[i]
    if m == -np.inf:
        return m
    acc = 0.0
    for i in range(n):
        acc += np.exp(vals[i] - m)
    return m + np.log(acc)


@njit(cache=True, fastmath=FASTMATH)
def _forward_backward_into(E, col, pred_ptr, pred_state, pred_logp,
                           succ_ptr, succ_state, succ_logp, init, final, post):
    T = E.shape[0]
    S = col.shape[0]
    max_deg = 1
    for s in range(S):
        max_deg = max(max_deg, pred_ptr[s + 1] - pred_ptr[s], succ_ptr[s + 1] - succ_ptr[s])
    buf = np.empty(max_deg, np.float64)
    # forward: alpha lives in post
    for s in range(S):
        post[0, s] = init[s] + E[0, col[s]]
    for t in range(1, T):
        for s in range(S):
            n = 0
            for e in range(pred_ptr[s], pred_ptr[s + 1]):
                buf[n] = post[t - 1, np.uint64(pred_state[e])] + pred_logp[e]
                n += 1
            post[t, s] = _lse_row(buf, n) + E[t, np.uint64(col[s])]
    zbuf = np.empty(S, np.float64)
    for s in range(S):
        zbuf[s] = post[T - 1, s] + final[s]
    logz = _lse_row(zbuf, S)
    if logz == -np.inf:
        post[:, :] = 0.0
        return logz
    beta = final.copy()
    nxt = np.empty(S, np.float64)
    tmp = np.empty(S, np.float64)
    for s in range(S):
        post[T - 1, s] = np.exp(post[T - 1, s] + beta[s] - logz)
    for t in range(T - 2, -1, -1):
        for d in range(S):
            tmp[d] = E[t + 1, np.uint64(col[d])] + beta[d]
        for s in range(S):
            n = 0
            for e in range(succ_ptr[s], succ_ptr[s + 1]):
                buf[n] = succ_logp[e] + tmp[np.uint64(succ_state[e])]
                n += 1
            nxt[s] = _lse_row(buf, n)
        beta, nxt = nxt, beta
        for s in range(S):
            post[t, s] = np.exp(post[t, s] + beta[s] - logz)
    return logz


@njit(cache=True, fastmath=FASTMATH)
def forward_backward_csr(E, col, pred_ptr, pred_state, pred_logp,
                         succ_ptr, succ_state, succ_logp, init, final, post):
    """State posteriors by forward-backward over a CSR graph.

    Parameters
    ----------
    E : np.ndarray [shape=(T, K), float32 or float64]
    col : np.ndarray [shape=(S,), int64]
    pred_ptr, pred_state, pred_logp : np.ndarray
        Transitions by destination.
    succ_ptr, succ_state, succ_logp : np.ndarray
        The same transitions by source.
    init, final : np.ndarray [shape=(S,), float64]
    post : np.ndarray [shape=(T, S), float64]
        Output posteriors (all zero when no path exists). Holds log alpha
        during the forward pass, so no other T x S buffer is needed.

    Returns
    -------
    float
        log Z, the log-likelihood summed over all paths (``-inf`` if none).
    """
    return _forward_backward_into(E, col, pred_ptr, pred_state, pred_logp,
                                  succ_ptr, succ_state, succ_logp, init, final, post)


# --------------------------------------------------------------------------
# banded kernels (left-to-right graphs, predecessors within [s - w, s])


@njit(cache=True, fastmath=FASTMATH)
def _band_step(Et, col, ident, trans, prev, cur, best, arg, lo, hi, bp_row):
    """One Viterbi frame on padded columns (state s lives at index s + w).

    The tie rule is :func:`align.kernels._hmm_steps.viterbi_pick`'s (lowest
    predecessor index wins), spelled as selects: a call per candidate would
    keep the loops from vectorising.

    Written for the vectoriser: selects instead of branches, and every loop
    indexes slices that start at the band's edge with a counter from 0, so
    Numba emits no negative-index wraparound test (which blocks vectorisation
    when the start ``lo`` is only known at run time); gathered indices are cast
    to uint64 for the same reason (they are >= 0 by construction). ``ident``
    (``col == arange(S)``) drops the emission gather.

    Returns ``True`` when every emission read is below ``+inf`` (no NaN, no ``+inf``):
    the check rides on the loop that reads them anyway, so the API need not scan the
    whole input first (a scan cost a third of a call on a long chain).
    """
    good = True
    w = trans.shape[0] - 1
    n = hi + 1 - lo
    out = cur[lo + w:]
    bpr = bp_row[lo:]
    if w == 1:
        t0 = trans[0][lo:]
        t1 = trans[1][lo:]
        p1 = prev[lo:]  # state s - 1
        p0 = prev[lo + 1:]  # state s
        if ident:
            e = Et[lo:]
            for i in range(n):
                a = p1[i] + t1[i]  # from s - 1 (lower index: wins ties)
                b = p0[i] + t0[i]  # self-loop
                m = b > a
                out[i] = (b if m else a) + e[i]
                bpr[i] = np.uint8(0) if m else np.uint8(1)
                good &= e[i] < np.inf  # False for NaN and +inf
        else:
            c = col[lo:]
            for i in range(n):
                a = p1[i] + t1[i]
                b = p0[i] + t0[i]
                m = b > a
                ev = Et[np.uint64(c[i])]
                out[i] = (b if m else a) + ev
                bpr[i] = np.uint8(0) if m else np.uint8(1)
                good &= ev < np.inf
    elif w == 2:
        t0 = trans[0][lo:]
        t1 = trans[1][lo:]
        t2 = trans[2][lo:]
        p2 = prev[lo:]
        p1 = prev[lo + 1:]
        p0 = prev[lo + 2:]
        c = col[lo:]
        for i in range(n):
            v2 = p2[i] + t2[i]  # from s - 2 (lowest index first)
            v1 = p1[i] + t1[i]
            v0 = p0[i] + t0[i]
            m = v1 > v2
            x = v1 if m else v2
            j = np.uint8(1) if m else np.uint8(2)
            m = v0 > x
            x = v0 if m else x
            j = np.uint8(0) if m else j
            ev = Et[np.uint64(c[i])]
            out[i] = x + ev
            bpr[i] = j
            good &= ev < np.inf
    else:
        bst = best[lo:]
        ag = arg[lo:]
        tw = trans[w][lo:]
        pw = prev[lo:]
        for i in range(n):
            bst[i] = pw[i] + tw[i]
            ag[i] = np.uint8(w)
        for j in range(w - 1, -1, -1):
            tj = trans[j][lo:]
            pj = prev[lo + w - j:]
            jj = np.uint8(j)
            for i in range(n):
                v = pj[i] + tj[i]
                m = v > bst[i]
                bst[i] = v if m else bst[i]
                ag[i] = jj if m else ag[i]
        c = col[lo:]
        for i in range(n):
            ev = Et[np.uint64(c[i])]
            out[i] = bst[i] + ev
            bpr[i] = ag[i]
            good &= ev < np.inf
    # states that left the band must read as -inf at the next frame
    a = max(lo - w, 0)
    gone = cur[a + w:lo + w]
    for i in range(gone.shape[0]):
        gone[i] = -np.inf
    return good


@njit(cache=True)
def bad_outside_band(E, lo, hi):
    """Whether a cell the banded kernels do not read holds NaN or ``+inf``.

    For graphs whose states read emission columns ``0..S-1`` in order with ``K == S``:
    the cells left of ``lo[t]`` and right of ``hi[t]`` (the band's corners, ``O(S^2)``
    cells, few beside ``T S``). The banded kernels check the cells they read.
    """
    S = E.shape[1]
    for t in range(E.shape[0]):
        for s in range(lo[t]):
            if not E[t, s] < np.inf:
                return True
        for s in range(hi[t] + 1, S):
            if not E[t, s] < np.inf:
                return True
    return False


@njit(cache=True)
def _is_identity(col):
    for s in range(col.shape[0]):
        if col[s] != s:
            return False
    return True


@njit(cache=True, fastmath=FASTMATH)
def _band_first(E0, col, init, cur, w, lo, hi):
    """Scores of the first frame; ``True`` when no emission read is NaN or ``+inf``."""
    good = True
    for s in range(lo, hi + 1):
        ev = E0[col[s]]
        cur[s + w] = init[s] + ev
        good &= ev < np.inf
    return good


@njit(cache=True, fastmath=FASTMATH)
def _band_final(score, final, w, lo, hi):
    best = -np.inf
    arg = -1
    for s in range(lo, hi + 1):
        best, arg = end_pick_cpu(best, arg, score[s + w] + final[s], s)
    return best, arg


@njit(cache=True, fastmath=FASTMATH)
def _viterbi_band_into(E, col, trans, init, final, lo, hi, bp, path):
    T = E.shape[0]
    S = col.shape[0]
    w = trans.shape[0] - 1
    prev = np.full(S + w, -np.inf)
    cur = np.full(S + w, -np.inf)
    best = np.empty(S, np.float64)
    arg = np.empty(S, np.uint8)
    ident = _is_identity(col)
    good = _band_first(E[0], col, init, prev, w, lo[0], hi[0])
    for t in range(1, T):
        good &= _band_step(E[t], col, ident, trans, prev, cur, best, arg, lo[t], hi[t], bp[t])
        prev, cur = cur, prev
    if not good:
        path[:] = -1
        return np.nan
    score, s = _band_final(prev, final, w, lo[T - 1], hi[T - 1])
    if s < 0:
        path[:] = -1
        return -np.inf
    path[T - 1] = s
    for t in range(T - 1, 0, -1):
        s -= bp[t, s]
        path[t - 1] = s
    return score


@njit(cache=True, fastmath=FASTMATH)
def viterbi_band(E, col, trans, init, final, lo, hi, bp, path):
    """Viterbi over a banded left-to-right graph with a full 1-byte back-pointer table.

    Parameters
    ----------
    E : np.ndarray [shape=(T, K), float32 or float64]
    col : np.ndarray [shape=(S,), int64]
    trans : np.ndarray [shape=(w+1, S), float64]
        ``trans[j, s]`` is the log probability of ``s - j -> s``; w <= 255.
    init, final : np.ndarray [shape=(S,), float64]
    lo, hi : np.ndarray [shape=(T,), int64]
        Inclusive band of states computed at each frame (``lo <= hi``).
    bp : np.ndarray [shape=(T, S), uint8]
        Scratch: back-pointer offsets ``j``; only cells inside the band are written.
    path : np.ndarray [shape=(T,), int64]
        Output state sequence (-1 everywhere if none).

    Returns
    -------
    float
        The best log score, ``-inf`` when no path exists, NaN (path all -1) when an
        emission read is NaN or ``+inf``.

    Notes
    -----
    Peak memory ``T * S`` bytes for ``bp`` plus ``O(S)``; see
    :func:`viterbi_band_checkpointed` for long inputs.
    """
    return _viterbi_band_into(E, col, trans, init, final, lo, hi, bp, path)


@njit(cache=True, fastmath=FASTMATH)
def viterbi_band_checkpointed(E, col, trans, init, final, lo, hi, k, ckpt, seg_bp, path):
    """Exact banded Viterbi in bounded memory (checkpoint every ``k`` frames).

    Parameters
    ----------
    E, col, trans, init, final, lo, hi
        As in :func:`viterbi_band`.
    k : int
        Frames per segment (``k >= 1``).
    ckpt : np.ndarray [shape=((T-2)//k + 1, S + w), float64]
        Scratch for the score column at frames ``0, k, 2k, ...`` (padded).
    seg_bp : np.ndarray [shape=(k, S), uint8]
        Scratch for one segment's back-pointers.
    path : np.ndarray [shape=(T,), int64]
        Output state sequence, identical to :func:`viterbi_band`'s.

    Returns
    -------
    float
        The best log score, ``-inf`` when no path exists, NaN as in :func:`viterbi_band`.
    """
    T = E.shape[0]
    S = col.shape[0]
    w = trans.shape[0] - 1
    a = np.full(S + w, -np.inf)
    b = np.full(S + w, -np.inf)
    best = np.empty(S, np.float64)
    arg = np.empty(S, np.uint8)
    ident = _is_identity(col)
    good = _band_first(E[0], col, init, a, w, lo[0], hi[0])
    if T > 1:
        ckpt[0, :] = a
    prev = a
    cur = b
    for t in range(1, T):
        # back-pointers are discarded on this pass (written to row 0 of seg_bp)
        good &= _band_step(E[t], col, ident, trans, prev, cur, best, arg, lo[t], hi[t], seg_bp[0])
        prev, cur = cur, prev
        if t % k == 0 and t < T - 1:
            ckpt[t // k, :] = prev
    if not good:
        path[:] = -1
        return np.nan
    score, s = _band_final(prev, final, w, lo[T - 1], hi[T - 1])
    if s < 0:
        path[:] = -1
        return -np.inf
    path[T - 1] = s
    if T == 1:
        return score
    n_seg = (T - 2) // k + 1
    for c in range(n_seg - 1, -1, -1):
        start = c * k
        end = min(start + k, T - 1)
        a[:] = ckpt[c]
        b[:] = -np.inf
        prev = a
        cur = b
        for t in range(start + 1, end + 1):
            _band_step(E[t], col, ident, trans, prev, cur, best, arg, lo[t], hi[t],
                       seg_bp[t - start - 1])  # checked on the forward pass
            prev, cur = cur, prev
        s = path[end]
        for t in range(end, start, -1):
            s -= seg_bp[t - start - 1, s]
            path[t - 1] = s
    return score


@njit(cache=True, fastmath=FASTMATH)
def forward_backward_band(E, col, trans, init, final, lo, hi, post):
    """State posteriors over a banded left-to-right graph, pruned to the band.

    Parameters
    ----------
    E : np.ndarray [shape=(T, K), float32 or float64]
    col : np.ndarray [shape=(S,), int64]
    trans : np.ndarray [shape=(w+1, S), float64]
        As in :func:`viterbi_band`.
    init, final : np.ndarray [shape=(S,), float64]
    lo, hi : np.ndarray [shape=(T,), int64]
        Inclusive per-frame band (``lo <= hi``).
    post : np.ndarray [shape=(T, S), float64]
        Output posteriors (0 outside the band; all zero when no path exists).
        Holds log alpha during the forward pass.

    Returns
    -------
    float
        log Z (``-inf`` if no path exists).

    Notes
    -----
    Cells outside the band are treated as ``-inf``. A predecessor of a cell
    that is reachable and co-reachable is itself both, so alpha is exact on
    every cell of the band that lies on a complete path, and beta on every
    such cell too; elsewhere the posterior is 0 either way. Memory: the output
    plus ``O(S)``.
    """
    T = E.shape[0]
    S = col.shape[0]
    w = trans.shape[0] - 1
    post[:, :] = -np.inf
    for s in range(lo[0], hi[0] + 1):
        post[0, s] = init[s] + E[0, np.uint64(col[s])]
    for t in range(1, T):
        a = post[t - 1]
        r = post[t]
        Et = E[t]
        for s in range(lo[t], hi[t] + 1):
            j_hi = min(w, s)
            m = -np.inf
            jm = 0
            for j in range(j_hi + 1):
                v = a[np.uint64(s - j)] + trans[j, s]
                if v > m:
                    m = v
                    jm = j
            if m == -np.inf:
                continue
            acc = 1.0  # exp(0) of the largest term, not recomputed
            for j in range(j_hi + 1):
                if j != jm:
                    acc += np.exp(a[np.uint64(s - j)] + trans[j, s] - m)
            r[s] = m + np.log(acc) + Et[np.uint64(col[s])]
    m = -np.inf
    for s in range(lo[T - 1], hi[T - 1] + 1):
        v = post[T - 1, s] + final[s]
        if v > m:
            m = v
    if m == -np.inf:
        post[:, :] = 0.0
        return m
    acc = 0.0
    for s in range(lo[T - 1], hi[T - 1] + 1):
        acc += np.exp(post[T - 1, s] + final[s] - m)
    logz = m + np.log(acc)
    # beta for frames t+1 (nb) and t (cb); -inf outside the band
    nb = np.full(S, -np.inf)
    cb = np.full(S, -np.inf)
    tmp = np.full(S, -np.inf)
    for s in range(lo[T - 1], hi[T - 1] + 1):
        nb[s] = final[s]
    row = post[T - 1]
    row[:lo[T - 1]] = 0.0
    row[hi[T - 1] + 1:] = 0.0
    for s in range(lo[T - 1], hi[T - 1] + 1):
        row[s] = np.exp(row[s] + nb[s] - logz)
    for t in range(T - 2, -1, -1):
        l = lo[t]
        h = hi[t]
        d_hi = min(h + w, S - 1)
        Et1 = E[t + 1]
        for d in range(l, d_hi + 1):
            tmp[d] = Et1[np.uint64(col[d])] + nb[d]
        for s in range(l, h + 1):
            j_hi = min(w, S - 1 - s)
            m = -np.inf
            jm = 0
            for j in range(j_hi + 1):
                v = trans[j, s + j] + tmp[s + j]
                if v > m:
                    m = v
                    jm = j
            if m == -np.inf:
                cb[s] = m
                continue
            acc = 1.0
            for j in range(j_hi + 1):
                if j != jm:
                    acc += np.exp(trans[j, s + j] + tmp[s + j] - m)
            cb[s] = m + np.log(acc)
        # cells above the band at t must read as -inf at t - 1 (stale from t + 2)
        for d in range(h + 1, d_hi + 1):
            cb[d] = -np.inf
        # outside the band alpha is -inf: posterior 0 without an exp
        row = post[t]
        row[:l] = 0.0
        row[h + 1:] = 0.0
        for s in range(l, h + 1):
            row[s] = np.exp(row[s] + cb[s] - logz)
        nb, cb = cb, nb
    return logz


# --------------------------------------------------------------------------
# batch drivers: prange over independent utterances, never across frames


@njit(cache=True, parallel=True)
def viterbi_csr_batch(E, t_off, graph_of, states, preds, out_path, out_loglik):
    """Viterbi for many utterances over CSR graphs, in parallel over utterances.

    Parameters
    ----------
    E : np.ndarray [shape=(sum T, K)]
        Utterances' emissions stacked; utterance ``u`` is ``E[t_off[u]:t_off[u+1]]``.
    t_off : np.ndarray [shape=(U+1,), int64]
    graph_of : np.ndarray [shape=(U,), int64]
        Graph index of each utterance.
    states : tuple (col, init, final, s_off)
        The graphs' per-state arrays stacked, ``col`` int64, ``init`` and
        ``final`` float64, each [shape=(sum S,)]; graph ``g`` owns
        ``[s_off[g], s_off[g+1])`` (``s_off`` int64 [shape=(G+1,)]).
    preds : tuple (ptr, pstate, plogp, p_off, e_off)
        Each graph's predecessor CSR (local indices) stacked: graph ``g``'s
        ``pred_ptr`` is ``ptr[p_off[g]:p_off[g+1]]`` and its edges
        ``pstate``/``plogp`` ``[e_off[g], e_off[g+1])``.
    out_path : np.ndarray [shape=(sum T,), int64]
        Output paths (local state indices), stacked like ``E``.
    out_loglik : np.ndarray [shape=(U,), float64]
        Output best scores.

    Notes
    -----
    The arguments of :func:`align.kernels.hmm_cuda.viterbi_csr_batch`, in its
    order, but ragged: ``E`` stacked with ``t_off`` where the CUDA kernel
    takes a padded ``(B, T_max, K)`` with ``lengths`` (and the paths likewise),
    and no trailing scratch. The graph arrays come as two tuples (a kernel of 14
    positional arrays was hard to call right); the CUDA twin takes the same.
    """
    col, init, final, s_off = states
    ptr, pstate, plogp, p_off, e_off = preds
    U = t_off.shape[0] - 1
    for u in prange(U):
        g = graph_of[u]
        T = t_off[u + 1] - t_off[u]
        S = s_off[g + 1] - s_off[g]
        bp = np.empty((T, S), np.int32)
        out_loglik[u] = _viterbi_csr_into(
            E[t_off[u]:t_off[u + 1]], col[s_off[g]:s_off[g + 1]],
            ptr[p_off[g]:p_off[g + 1]], pstate[e_off[g]:e_off[g + 1]],
            plogp[e_off[g]:e_off[g + 1]], init[s_off[g]:s_off[g + 1]],
            final[s_off[g]:s_off[g + 1]], bp, out_path[t_off[u]:t_off[u + 1]])


@njit(cache=True, parallel=True)
def viterbi_band_batch(E, t_off, graph_of, states, trans, out_path, out_loglik, lo, hi):
    """Banded Viterbi for many utterances, in parallel over utterances.

    Parameters
    ----------
    E, t_off, graph_of, states, out_path, out_loglik
        As in :func:`viterbi_csr_batch`.
    trans : np.ndarray [shape=(w+1, sum S), float64]
        Stacked banded transitions: ``trans[j, s_off[g] + s]`` is the log
        probability of ``s - j -> s`` in graph ``g`` (-inf where no edge).
    lo, hi : np.ndarray [shape=(sum T,), int64]
        Stacked per-utterance bands (local state indices): the states that can
        lie on a complete path (see the module docstring).

    Notes
    -----
    The arguments of :func:`align.kernels.hmm_cuda.viterbi_band_batch`, in its
    order, ragged as in :func:`viterbi_csr_batch`; then the pruning band
    (``lo``, ``hi``) where the CUDA kernel takes its scratch.
    """
    col, init, final, s_off = states
    U = t_off.shape[0] - 1
    for u in prange(U):
        g = graph_of[u]
        T = t_off[u + 1] - t_off[u]
        S = s_off[g + 1] - s_off[g]
        bp = np.empty((T, S), np.uint8)
        # one contiguous (w+1, S) block per graph, for the vectoriser
        tr = np.ascontiguousarray(trans[:, s_off[g]:s_off[g + 1]])
        out_loglik[u] = _viterbi_band_into(
            E[t_off[u]:t_off[u + 1]], col[s_off[g]:s_off[g + 1]], tr,
            init[s_off[g]:s_off[g + 1]],
            final[s_off[g]:s_off[g + 1]], lo[t_off[u]:t_off[u + 1]],
            hi[t_off[u]:t_off[u + 1]], bp, out_path[t_off[u]:t_off[u + 1]])


@njit(cache=True, parallel=True)
def forward_backward_csr_batch(E, t_off, graph_of, states, preds, succs, post, q_off, loglik):
    """Forward-backward for many utterances, in parallel over utterances.

    Parameters
    ----------
    E, t_off, graph_of, states, preds
        As in :func:`viterbi_csr_batch`.
    succs : tuple (sptr, sstate, slogp)
        Stacked successor CSR, laid out like the predecessor CSR (the same
        ``p_off`` and ``e_off``).
    post : np.ndarray [shape=(sum T*S,), float64]
        Output posteriors, flat; utterance ``u`` owns ``post[q_off[u]:q_off[u+1]]``
        as a C-ordered (T, S) block.
    q_off : np.ndarray [shape=(U+1,), int64]
    loglik : np.ndarray [shape=(U,), float64]
        Output: each utterance's log-likelihood.
    """
    col, init, final, s_off = states
    ptr, pstate, plogp, p_off, e_off = preds
    sptr, sstate, slogp = succs
    U = t_off.shape[0] - 1
    for u in prange(U):
        g = graph_of[u]
        T = t_off[u + 1] - t_off[u]
        S = s_off[g + 1] - s_off[g]
        block = post[q_off[u]:q_off[u + 1]].reshape((T, S))
        loglik[u] = _forward_backward_into(
            E[t_off[u]:t_off[u + 1]], col[s_off[g]:s_off[g + 1]],
            ptr[p_off[g]:p_off[g + 1]], pstate[e_off[g]:e_off[g + 1]],
            plogp[e_off[g]:e_off[g + 1]], sptr[p_off[g]:p_off[g + 1]],
            sstate[e_off[g]:e_off[g + 1]], slogp[e_off[g]:e_off[g + 1]],
            init[s_off[g]:s_off[g + 1]], final[s_off[g]:s_off[g + 1]], block)
