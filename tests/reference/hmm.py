"""Independent references for HMM Viterbi and forward-backward (no import from kernels/).

- :func:`ref_viterbi` / :func:`ref_forward_backward`: full T x S tables, one
  cell at a time, with ``max`` / ``np.logaddexp`` over an explicit list of
  predecessors built from the edge list. Tie-break: lowest predecessor index,
  lowest final state.
- :func:`brute_force`: enumerates every state sequence (T <= 6, S <= 3) and
  scores each one from the edge dictionary.

A graph is given as plain arrays: ``col`` (S,), ``edges`` (list of (src, dst,
logp)), ``init`` (S,), ``final`` (S,).
"""

import itertools

import numpy as np


def graph_arrays(graph):
    """Plain arrays from an ``align.HMMGraph`` via its public edge list."""
    src, dst, logp = graph.edges()
    edges = list(zip(src.tolist(), dst.tolist(), logp.tolist()))
    return (np.asarray(graph.emission_index), edges, np.asarray(graph.log_initial),
            np.asarray(graph.log_final))


def _preds(S, edges):
    preds = [[] for _ in range(S)]
    for p, s, lp in edges:
        preds[s].append((p, lp))
    for lst in preds:
        lst.sort()
    return preds


def ref_viterbi(E, col, edges, init, final):
    """Full-table Viterbi.

    Returns
    -------
    path : np.ndarray (T,) or None when no finite path exists
    score : float
    delta : np.ndarray (T, S)
    """
    E = np.asarray(E, np.float64)
    T = E.shape[0]
    S = len(col)
    preds = _preds(S, edges)
    delta = np.full((T, S), -np.inf)
    back = np.full((T, S), -1, np.int64)
    for s in range(S):
        delta[0, s] = init[s] + E[0, col[s]]
    for t in range(1, T):
        for s in range(S):
            best, arg = -np.inf, -1
            for p, lp in preds[s]:
                v = delta[t - 1, p] + lp
                if arg == -1 or v > best:
                    best, arg = v, p
            delta[t, s] = best + E[t, col[s]]
            back[t, s] = arg
    ends = delta[T - 1] + np.asarray(final)
    best, arg = -np.inf, -1
    for s in range(S):
        if ends[s] > best:
            best, arg = ends[s], s
    if arg < 0:
        return None, -np.inf, delta
    path = [arg]
    for t in range(T - 1, 0, -1):
        path.append(back[t, path[-1]])
    return np.array(path[::-1], np.int64), float(best), delta


def ref_forward_backward(E, col, edges, init, final):
    """Full-table forward-backward with np.logaddexp.

    Returns
    -------
    posteriors : np.ndarray (T, S)
    logz : float
    """
    E = np.asarray(E, np.float64)
    T = E.shape[0]
    S = len(col)
    preds = _preds(S, edges)
    succs = [[] for _ in range(S)]
    for p, s, lp in edges:
        succs[p].append((s, lp))
    alpha = np.full((T, S), -np.inf)
    beta = np.full((T, S), -np.inf)
    for s in range(S):
        alpha[0, s] = init[s] + E[0, col[s]]
    for t in range(1, T):
        for s in range(S):
            acc = -np.inf
            for p, lp in preds[s]:
                acc = np.logaddexp(acc, alpha[t - 1, p] + lp)
            alpha[t, s] = acc + E[t, col[s]]
    beta[T - 1] = final
    for t in range(T - 2, -1, -1):
        for s in range(S):
            acc = -np.inf
            for d, lp in succs[s]:
                acc = np.logaddexp(acc, lp + E[t + 1, col[d]] + beta[t + 1, d])
            beta[t, s] = acc
    logz = -np.inf
    for s in range(S):
        logz = np.logaddexp(logz, alpha[T - 1, s] + final[s])
    with np.errstate(invalid="ignore"):
        post = np.exp(alpha + beta - logz)
    return post, float(logz)


def path_score(E, col, edges, init, final, path):
    """Log score of one state sequence (-inf if it uses a missing edge)."""
    E = np.asarray(E, np.float64)
    w = {(p, s): lp for p, s, lp in edges}
    score = init[path[0]] + E[0, col[path[0]]]
    for t in range(1, len(path)):
        score += w.get((path[t - 1], path[t]), -np.inf) + E[t, col[path[t]]]
    return float(score + final[path[-1]])


def brute_force(E, col, edges, init, final):
    """Every state sequence, scored one by one (T <= 6, S <= 3).

    Returns
    -------
    best_score : float
        max over sequences (the Viterbi score).
    best_paths : list of tuple
        Every sequence achieving it.
    logz : float
        logsumexp over sequences (the forward log-likelihood).
    posteriors : np.ndarray (T, S)
        Summed probability of the sequences through (t, s), divided by Z.
    """
    T = np.asarray(E).shape[0]
    S = len(col)
    assert T <= 6 and S <= 3, "brute force is for toy sizes only"
    scores = {}
    for seq in itertools.product(range(S), repeat=T):
        scores[seq] = path_score(E, col, edges, init, final, seq)
    vals = np.array(list(scores.values()))
    best = vals.max()
    best_paths = [seq for seq, v in scores.items() if v == best]
    if best == -np.inf:
        return best, [], -np.inf, np.zeros((T, S))
    logz = best + np.log(np.exp(vals - best).sum())
    post = np.zeros((T, S))
    for seq, v in scores.items():
        pr = np.exp(v - logz)
        for t, s in enumerate(seq):
            post[t, s] += pr
    return float(best), best_paths, float(logz), post
