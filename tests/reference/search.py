"""Independent brute-force reference for subsequence search under banded DTW.

Plain Python loops over full matrices, no import from ``kernels/``:
z-normalise every window, fill the whole (m+1) x (m+1) DTW table padded with
inf (cells outside the Sakoe-Chiba band stay inf), then pick the k best
windows greedily: sort by (distance, start), take each window that starts at
least max(exclusion, 1) away from every window already taken.

The arithmetic follows the documented formula in the same order as the
library (left-to-right sums, ``(x - mean) / std``, ``d * d``), so distances
agree bit for bit; tests still say which comparisons are exact.
"""

import math

INF = math.inf


def znormalize_ref(w):
    """(w - mean) / std with the population std; flat windows become zeros."""
    m = len(w)
    if min(w) == max(w):
        return [0.0] * m
    total = 0.0
    for v in w:
        total += v
    mean = total / m
    acc = 0.0
    for v in w:
        d = v - mean
        acc += d * d
    std = math.sqrt(acc / m)
    if std == 0.0:
        return [0.0] * m
    return [(v - mean) / std for v in w]


def dtw_band_ref(a, b, r):
    """Symmetric1 DTW, squared local cost, cells with |i - j| <= r; full table."""
    n, m = len(a), len(b)
    D = [[INF] * (m + 1) for _ in range(n + 1)]
    D[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if abs(i - j) > r:
                continue
            d = a[i - 1] - b[j - 1]
            D[i][j] = d * d + min(D[i - 1][j], D[i][j - 1], D[i - 1][j - 1])
    return D[n][m]


def dtw_plain_ref(a, b):
    """Unconstrained symmetric1 DTW with squared local cost (any lengths)."""
    return dtw_band_ref(a, b, max(len(a), len(b)))


def dtw_paths_oracle(a, b, r):
    """Minimum over every monotone, continuous path inside the band (tiny sizes)."""
    n, m = len(a), len(b)
    best = INF

    def walk(i, j, acc):
        nonlocal best
        if abs(i - j) > r:
            return
        d = a[i] - b[j]
        acc = acc + d * d
        if i == n - 1 and j == m - 1:
            best = min(best, acc)
            return
        if i + 1 < n:
            walk(i + 1, j, acc)
        if j + 1 < m:
            walk(i, j + 1, acc)
        if i + 1 < n and j + 1 < m:
            walk(i + 1, j + 1, acc)

    walk(0, 0, 0.0)
    return best


def envelope_ref(x, r):
    """upper[i] = max(x[i-r .. i+r]), lower[i] = min(...), clipped to x."""
    n = len(x)
    upper, lower = [], []
    for i in range(n):
        seg = x[max(0, i - r): min(n, i + r + 1)]
        upper.append(max(seg))
        lower.append(min(seg))
    return upper, lower


def window_distances_ref(query, series, r, znormalize=True):
    """DTW of the (z-normalised) query against every (z-normalised) window."""
    q = [float(v) for v in query]
    x = [float(v) for v in series]
    m = len(q)
    if znormalize:
        q = znormalize_ref(q)
    out = []
    for s in range(len(x) - m + 1):
        w = x[s: s + m]
        if znormalize:
            w = znormalize_ref(w)
        out.append(dtw_band_ref(w, q, r))
    return out


def greedy_ref(dist, k, exclusion):
    """Greedy non-overlapping selection: (start, distance) pairs, best first."""
    e = max(exclusion, 1)
    chosen = []
    for d, s in sorted((d, s) for s, d in enumerate(dist)):
        if all(abs(s - t) >= e for t, _ in chosen):
            chosen.append((s, d))
            if len(chosen) == k:
                break
    return chosen


def greedy_exhaustive_ref(dist, k, exclusion):
    """The greedy rule restated: pick j is the minimum key among windows free after picks < j.

    Checks ``greedy_ref`` by recomputing each pick from scratch (O(k n)).
    """
    e = max(exclusion, 1)
    chosen = []
    for _ in range(k):
        free = [(d, s) for s, d in enumerate(dist) if all(abs(s - t) >= e for t, _ in chosen)]
        if not free:
            break
        d, s = min(free)
        chosen.append((s, d))
    return chosen


def subsequence_search_ref(query, series, k=1, r=0, znormalize=True, exclusion=None):
    """Brute force: list of (start, end, distance), best first."""
    m = len(query)
    if exclusion is None:
        exclusion = m
    dist = window_distances_ref(query, series, r, znormalize)
    return [(s, s + m, d) for s, d in greedy_ref(dist, k, exclusion)]

