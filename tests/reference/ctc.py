"""Independent references for CTC forced alignment (no import from ``kernels/``).

- :func:`ref_forced_align`: the full ``T x (2L+1)`` Viterbi table with an
  explicit predecessor list per state, no band, plain Python loops.
- :func:`brute_force`: every label sequence of length ``T`` over
  ``{blank} | targets`` that collapses to ``targets``, scored by summing.

Tie-break rules (``tie_break``):

- ``"optimal"``: the predecessors are tried in the order *stay* (s),
  *advance* (s-1), *skip* (s-2), and a later one replaces the current best
  only if it is strictly greater, so ties go to stay, then advance.
- ``"torchaudio"``: the comparisons of torchaudio's ``forced_align``
  (``src/libtorchaudio/forced_align/cpu/compute.cpp`` and ``gpu/compute.cu``,
  as run by torchaudio 2.11): the skip only if greater than both others, the
  advance only if greater than both others, otherwise the stay -- even when
  the advance and the skip tie above the stay.

Both: at the last frame the path ends in the final blank only if its score is
strictly greater than the last label's score.
"""

import itertools

import numpy as np

__all__ = ["extended_labels", "predecessors", "ref_forced_align", "collapse", "brute_force"]


def extended_labels(targets, blank):
    """Return the extended sequence (blank, l0, blank, l1, ..., blank) as a list."""
    z = [blank]
    for label in targets:
        z += [int(label), blank]
    return z


def predecessors(s, targets):
    """Predecessors of state ``s`` as (state, backpointer) in tie-break order."""
    preds = [(s, 0)]
    if s >= 1:
        preds.append((s - 1, 1))
    if s % 2 == 1 and s >= 3 and targets[(s - 1) // 2] != targets[(s - 3) // 2]:
        preds.append((s - 2, 2))
    return preds


def ref_forced_align(log_probs, targets, blank=0, tie_break="optimal"):
    """Full-table Viterbi for one item.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(T, C), float32 or float64]
    targets : sequence of int [length L]
    blank : int
    tie_break : {"optimal", "torchaudio"}

    Returns
    -------
    path : np.ndarray [shape=(T,), int64]
        The label of each frame.
    scores : np.ndarray [shape=(T,), dtype of log_probs]
        ``log_probs[t, path[t]]``.
    total : float
        The best path's log-score (accumulated in the dtype of log_probs).
    states : np.ndarray [shape=(T,), int64]
        The extended-sequence state of each frame.
    """
    lp = np.asarray(log_probs)
    targets = [int(x) for x in targets]
    T = lp.shape[0]
    L = len(targets)
    z = extended_labels(targets, blank)
    S = len(z)
    if L == 0:
        path = np.full(T, blank, dtype=np.int64)
        scores = lp[np.arange(T), path]
        total = lp.dtype.type(0)
        for t in range(T):
            total = total + lp[t, blank]
        return path, scores, float(total), np.zeros(T, dtype=np.int64)
    alpha = np.full((T, S), -np.inf, dtype=lp.dtype)
    back = np.full((T, S), -1, dtype=np.int64)
    alpha[0, 0] = lp[0, z[0]]
    alpha[0, 1] = lp[0, z[1]]
    for t in range(1, T):
        for s in range(S):
            preds = predecessors(s, targets)
            if tie_break == "optimal":
                best, best_bp = None, None
                for prev, code in preds:
                    value = alpha[t - 1, prev]
                    if best is None or value > best:
                        best, best_bp = value, code
            else:
                x = {code: alpha[t - 1, prev] for prev, code in preds}
                x0 = x[0]
                x1 = x.get(1, -np.inf)
                x2 = x.get(2, -np.inf)
                if x2 > x1 and x2 > x0:
                    best, best_bp = x2, 2
                elif x1 > x0 and x1 > x2:
                    best, best_bp = x1, 1
                else:
                    best, best_bp = x0, 0
            alpha[t, s] = best + lp[t, z[s]]
            back[t, s] = best_bp
    # The start states alone do not encode the "reach the end" constraint;
    # states that cannot reach S-1 or S-2 by T-1 never lie on a backtracked path.
    s = S - 1 if alpha[T - 1, S - 1] > alpha[T - 1, S - 2] else S - 2
    total = alpha[T - 1, s]
    states = np.empty(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        states[t] = s
        if t > 0:
            s -= back[t, s]
    path = np.array([z[s] for s in states], dtype=np.int64)
    scores = lp[np.arange(T), path]
    return path, scores, float(total), states


def collapse(seq, blank):
    """CTC collapse: merge runs of equal labels, then drop blanks."""
    out = []
    previous = None
    for label in seq:
        if label != previous and label != blank:
            out.append(label)
        previous = label
    return out


def brute_force(log_probs, targets, blank=0):
    """Every valid CTC path of a tiny item (T <= 6 or so).

    Returns
    -------
    best : float
        The highest path log-score (``-inf`` if there is no valid path).
    optimal : list of tuple
        Every label sequence reaching ``best`` (exact float comparison, sums
        accumulated left to right in the dtype of log_probs).
    n_paths : int
        The number of valid paths.
    """
    lp = np.asarray(log_probs)
    targets = [int(x) for x in targets]
    T = lp.shape[0]
    alphabet = sorted(set(targets) | {blank})
    best = -np.inf
    optimal = []
    n_paths = 0
    for seq in itertools.product(alphabet, repeat=T):
        if collapse(seq, blank) != targets:
            continue
        n_paths += 1
        total = lp.dtype.type(0)
        for t, label in enumerate(seq):
            total = total + lp[t, label]
        if total > best:
            best, optimal = float(total), [seq]
        elif total == best:
            optimal.append(seq)
    return best, optimal, n_paths
