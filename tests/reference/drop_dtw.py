"""Drop-DTW references: full tables in plain loops, and brute force from the problem's definition.

Neither imports anything from ``kernels/``. The brute force does not use the
recurrence at all: it enumerates every way to give each segment a run of steps
(or drop it) and scores it from the definition in align.kernels.drop_dtw's
docstring, so it checks the recurrence itself.
"""

import itertools
import math

import numpy as np


def drop_dtw_reference(C, d_seg, d_step, *, contiguous=True, exclusive=True):
    """Minimum cost and one optimal list of matched (step, segment) pairs; full (K+1, N+1) tables.

    Ties as the kernel's rule: candidates in the written order, the first minimum wins.
    """
    C = np.asarray(C, np.float64)
    K, N = C.shape
    inf = math.inf
    F = np.full((K + 1, N + 1), inf)
    O = np.full((K + 1, N + 1), inf)
    G = np.full((K + 1, N + 1), inf)
    choice = {}
    F[0, 0] = 0.0
    for j in range(1, N + 1):
        F[0, j] = F[0, j - 1] + d_seg[j - 1]
        choice["F", 0, j] = ("F", 0, j - 1)
    for i in range(1, K + 1):
        F[i, 0] = F[i - 1, 0] + d_step[i - 1]
        choice["F", i, 0] = ("F", i - 1, 0)
        for j in range(1, N + 1):
            options = [(F[i - 1, j - 1], ("F", i - 1, j - 1)), (O[i, j - 1], ("O", i, j - 1))]
            if not contiguous:
                options.append((G[i, j - 1], ("G", i, j - 1)))
            if not exclusive:
                options.append((O[i - 1, j], ("O", i - 1, j)))
            value, prev = min(options, key=lambda o: o[0])  # min keeps the first of equals
            O[i, j] = C[i - 1, j - 1] + value
            choice["O", i, j] = prev
            value, prev = min([(O[i, j - 1], ("O", i, j - 1)), (G[i, j - 1], ("G", i, j - 1))], key=lambda o: o[0])
            G[i, j] = d_seg[j - 1] + value
            choice["G", i, j] = prev
            F[i, j], choice["F", i, j] = min([(O[i, j], ("O", i, j)), (F[i, j - 1] + d_seg[j - 1], ("F", i, j - 1)),
                                              (F[i - 1, j] + d_step[i - 1], ("F", i - 1, j))], key=lambda o: o[0])
    pairs = []
    state = ("F", K, N)
    if F[K, N] < inf:
        while state[1:] != (0, 0):
            if state[0] == "O":
                pairs.append((state[1] - 1, state[2] - 1))
            state = choice[state]
    return float(F[K, N]), pairs[::-1]


def assignments(K, N, *, exclusive=True):
    """Every monotone assignment: for each segment ``None`` (dropped) or a run ``(lo, hi)`` of steps.

    Runs of kept segments in order must not go back: ``hi`` of one <= ``lo`` of the next.
    """
    runs = [None] + [(lo, hi) for lo in range(K) for hi in range(lo, K) if not exclusive or lo == hi]
    for choice in itertools.product(runs, repeat=N):
        last = -1
        ok = True
        for r in choice:
            if r is not None:
                if r[0] < last:
                    ok = False
                    break
                last = r[1]
        if ok:
            yield choice


def score(C, d_seg, d_step, choice, *, contiguous=True):
    """Cost of one assignment from the definition; ``inf`` when it breaks a rule."""
    K, _ = np.shape(C)
    total = 0.0
    used = {}
    for j, r in enumerate(choice):
        if r is None:
            total += d_seg[j]
        else:
            for i in range(r[0], r[1] + 1):
                total += C[i][j]
                used.setdefault(i, []).append(j)
    for i in range(K):
        if i not in used:
            total += d_step[i]
        elif contiguous and used[i] != list(range(used[i][0], used[i][-1] + 1)):
            return math.inf
    return total


def drop_dtw_brute_force(C, d_seg, d_step, *, contiguous=True, exclusive=True):
    """Minimum cost over every assignment, and every pair list that reaches it."""
    K, N = np.shape(C)
    best, winners = math.inf, []
    for choice in assignments(K, N, exclusive=exclusive):
        s = score(C, d_seg, d_step, choice, contiguous=contiguous)
        pairs = [(i, j) for j, r in enumerate(choice) if r is not None for i in range(r[0], r[1] + 1)]
        if s < best - 1e-12:
            best, winners = s, [pairs]
        elif math.isfinite(s) and abs(s - best) <= 1e-12:
            winners.append(pairs)
    return best, winners
