"""Viterbi through a left-to-right chain of Gaussian states, each kept to a window of frames.

The states of a forced alignment are read in order: each is held for one frame or
more, then the next one follows. A state marked ``skippable`` (an optional pause)
may be passed over: state ``s`` is entered from ``s - 1``, or from ``s - 2`` when
``s - 1`` is skippable. The path starts in state 0 (or in state 1 when state 0 is
skippable) and ends in the last state (or the one before it when the last is
skippable).

State ``s`` may only occupy the frames ``lo[s] <= t < hi[s]``, with ``lo`` and
``hi`` non-decreasing in ``s``. The states that may hold frame ``t`` are then one
run ``[a[t], b[t])``, and the back-pointers stored are one byte for each
(frame, state) pair inside the windows: the memory grows with the recording's
length times the windows' width, not times the number of states.

Emissions are diagonal Gaussians with one variance shared by every state, so a
state's score of frame ``t`` is ``-0.5 * sum_d (x[t, d] - means[key[s], d])**2 *
ivar[d]`` (the shared normalising constant dropped). It is computed inside the
sweep; no (frames, states) matrix is made.

Each state entered adds its ``enter`` log-probability (a pause that costs something
to insert, as a silence insertion penalty does in a recogniser).

Ties: holding the state wins over advancing, advancing over skipping.
"""

import numpy as np
from numba import njit

__all__ = ["chain_frame_ranges", "chain_viterbi"]


@njit(cache=True)
def chain_frame_ranges(lo, hi, n_frames):
    """``a, b`` (n_frames,) int64: the states whose windows hold frame t are ``a[t] <= s < b[t]``."""
    S = lo.size
    a = np.empty(n_frames, np.int64)
    b = np.empty(n_frames, np.int64)
    i = 0
    j = 0
    for t in range(n_frames):
        while i < S and hi[i] <= t:
            i += 1
        while j < S and lo[j] <= t:
            j += 1
        a[t] = i
        b[t] = max(i, j)
    return a, b


@njit(cache=True)
def _emission(x, t, means, k, ivar):
    acc = 0.0
    for d in range(x.shape[1]):
        r = x[t, d] - means[k, d]
        acc += r * r * ivar[d]
    return -0.5 * acc


@njit(cache=True)
def chain_viterbi(x, means, ivar, key, skippable, enter, lo, hi, states_out):
    """The best state of every frame, written into ``states_out``; returns the path's score.

    Parameters
    ----------
    x : (M, D) float32 or float64
        Frame features.
    means : (K, D) float64
        One mean per Gaussian.
    ivar : (D,) float64
        The shared inverse variances.
    key : (S,) int64
        The Gaussian of each state.
    skippable : (S,) bool
        States the path may pass over.
    enter : (S,) float64
        The log-probability of entering each state (from the one before it, by a
        skip, or at the first frame); 0 everywhere makes the path's score the
        emissions' alone.
    lo, hi : (S,) int64, non-decreasing
        Each state's window of frames, ``[lo[s], hi[s])``.
    states_out : (M,) int64
        Output; left as it is when no path fits the windows.

    Returns
    -------
    float
        The path's log-likelihood, ``-inf`` when no path fits the windows.
    """
    M = x.shape[0]
    S = key.size
    NEG = -np.inf
    if M == 0 or S == 0:
        return NEG
    a, b = chain_frame_ranges(lo, hi, M)
    off = np.empty(M + 1, np.int64)
    off[0] = 0
    for t in range(M):
        off[t + 1] = off[t] + (b[t] - a[t])
    back = np.zeros(off[M], np.int8)
    score = np.full(S, NEG)
    for s in range(a[0], b[0]):
        if s == 0 or (s == 1 and skippable[0]):
            score[s] = enter[s] + _emission(x, 0, means, key[s], ivar)
    for t in range(1, M):
        # from the last state down, so that score[s - 1] and score[s - 2] are still frame t - 1's
        for s in range(b[t] - 1, a[t] - 1, -1):
            best = score[s]
            step = 0
            if s >= 1 and score[s - 1] + enter[s] > best:
                best = score[s - 1] + enter[s]
                step = 1
            if s >= 2 and skippable[s - 1] and score[s - 2] + enter[s] > best:
                best = score[s - 2] + enter[s]
                step = 2
            if best == NEG:
                score[s] = NEG
                continue
            score[s] = best + _emission(x, t, means, key[s], ivar)
            back[off[t] + s - a[t]] = step
        for s in range(a[t - 1], min(a[t], b[t - 1])):
            score[s] = NEG  # out of its window from frame t on (read above as frame t - 1's)
    last = S - 1
    total = score[last] if a[M - 1] <= last < b[M - 1] else NEG
    if S >= 2 and skippable[S - 1] and a[M - 1] <= S - 2 < b[M - 1] and score[S - 2] > total:
        total = score[S - 2]
        last = S - 2
    if total == NEG:
        return NEG
    s = last
    for t in range(M - 1, -1, -1):
        states_out[t] = s
        if t > 0:
            s -= back[off[t] + s - a[t]]
    return total
