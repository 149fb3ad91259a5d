"""Monotonic alignment search (Glow-TTS, VITS): the most likely monotone path, batched (CPU).

Recurrence (Kim et al. 2020, "Glow-TTS", arXiv:2005.11129, section 3.2 and
algorithm 1), for text token ``x`` in ``[0, T_x)`` and mel frame ``y`` in
``[0, T_y)``::

    Q[0, 0] = v[0, 0]
    Q[x, y] = v[x, y] + max(Q[x, y-1], Q[x-1, y-1])

every frame on exactly one token, every token on at least one frame, tokens in
order: the path starts at ``(0, 0)`` and ends at ``(T_x - 1, T_y - 1)``. Only
cells with ``x <= y`` and ``T_x - x <= T_y - y`` lie on such a path; the others
read as ``-inf`` ("unreachable"; the Cython implementations use a -1e9
sentinel, which gives the same path while every score stays above -1e9).

Tie rule, as ``monotonic_align.maximum_path`` (Glow-TTS and VITS's Cython):
going back from ``(x, y)``, the path moves to token ``x - 1`` only when
``Q[x-1, y-1] > Q[x, y-1]`` strictly (or when it must: ``x == y``), so on
equal scores the later token keeps the frame: each token starts as early as
the scores allow. Scores accumulate in the dtype of
``value`` (float32 stays float32, as in the Cython code), so float32 paths are
the same bit for bit.

Layout: each item is swept frame by frame in the input's own layout, the
scores written to a private buffer (the input is read, never written), after
one read-only pass that refuses NaN and +inf. Laid out ``(T_y, T_x)``
(VITS), the tokens of a frame form one contiguous, branch-free loop with no
dependency inside it, so it vectorises (:func:`mas_frame_major`). Laid out
``(T_x, T_y)`` (Glow-TTS), strips of 16 tokens are swept frame by frame
(:func:`mas_text_major`); an earlier version transposed each item into
``(T_y, T_x)`` first, which cost more than the sweep. The walk back reads
the accumulated scores, as the Cython code does.

Memory: one score buffer (the largest item's ``T_x * T_y`` values) per
chunk of items (``work``).

See Also
--------
align.kernels.mas_cuda : the CUDA twin (same arguments, then scratch).
align.maximum_path : the validating entry point.
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH as _FASTMATH

__all__ = ["maximum_path_batch", "mas_frame_major", "mas_text_major"]

# numba accepts a set, not the frozenset the config holds; no nnan/ninf: -inf is data
FASTMATH = set(_FASTMATH)


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def mas_frame_major(src, Q, tx, ty):
    """Accumulated scores of one item laid out (T_y, T_x) (VITS): ``Q`` from ``src``.

    Row ``y`` (one mel frame) holds the tokens ``x``; only the live cells
    ``max(0, T_x + y - T_y) <= x <= min(T_x - 1, y)`` of ``Q`` are written
    (the walk back reads no other). The edges of a row (``x == 0``: no token
    before; ``x == y``: no stay) are done apart, so the inner loop has no
    branch and vectorises. The same pass tests every value of the item's
    block for NaN and +inf (the fastmath flags keep NaN tests), so the item
    is read once: a separate test pass, then the sweep, read it twice and
    measured slower in a batch (the item and its scores do not both fit in L2).

    Returns
    -------
    bool
        Whether ``src[:T_y, :T_x]`` holds NaN or +inf (``Q`` is then junk).
    """
    bad = False
    Q[0, 0] = src[0, 0]
    for y in range(ty):
        lo = max(0, tx + y - ty)
        hi = min(tx - 1, y)
        s = src[y]
        for x in range(lo):  # the cells left of the band and right of it: only tested
            bad |= (s[x] != s[x]) | (s[x] == np.inf)
        for x in range(hi + 1, tx):
            bad |= (s[x] != s[x]) | (s[x] == np.inf)
        if y == 0:
            bad |= (s[0] != s[0]) | (s[0] == np.inf)
            continue
        q = Q[y]
        p = Q[y - 1]
        if lo == 0:
            bad |= (s[0] != s[0]) | (s[0] == np.inf)
            q[0] = s[0] + p[0]
            lo = 1
        if hi == y:
            bad |= (s[hi] != s[hi]) | (s[hi] == np.inf)
            q[hi] = s[hi] + p[hi - 1]
            hi -= 1
        # slices from the band's edge and a counter from 0: no negative-index
        # wraparound test, which keeps the loop from vectorising (5x measured)
        n = hi + 1 - lo
        qq = q[lo:hi + 1]
        ss = s[lo:hi + 1]
        stay = p[lo:hi + 1]
        advance = p[lo - 1:hi]
        for i in range(n):
            v = ss[i]
            bad |= (v != v) | (v == np.inf)
            qq[i] = v + max(advance[i], stay[i])
    return bad


#: tokens swept together in the text-major sweep: their cells of one frame are independent
#: (each reads only the frame before), so a strip of them keeps that many chains in flight
STRIP = 16


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def mas_text_major(src, Q, tx, ty):
    """As :func:`mas_frame_major` for an item laid out (T_x, T_y) (Glow-TTS).

    Row ``x`` holds token ``x``'s frames, and row ``x`` is live on frames
    ``[x, x + T_y - T_x]``. Token 0 is a running sum. The other tokens go in
    strips of :data:`STRIP` rows swept frame by frame: within a frame the
    strip's cells do not depend on each other, so the sweep is bound by
    throughput, not by the latency of one row's chain of ``max`` and ``+``;
    the strip's previous frame is kept in a small array, so a cell costs one
    load and one store. No transposed copy is made (an earlier version
    transposed each item into (T_y, T_x) first, which cost more than the
    sweep). Past a row's last live frame, cells of a strip get finite junk
    or junk from the buffer that no live cell reads: a live cell ``(x, y)``
    reads ``(x, y-1)`` and ``(x-1, y-1)``, both live (the stay only when
    ``x < y``).
    """
    span = ty - tx
    q0 = Q[0]
    s0 = src[0]
    acc = s0[0]
    q0[0] = acc
    for y in range(1, span + 1):
        acc = acc + s0[y]
        q0[y] = acc
    prev = np.empty(STRIP, Q.dtype)
    for x0 in range(1, tx, STRIP):
        x1 = min(x0 + STRIP, tx)
        # the strip's lower triangle: row x starts at its diagonal cell, which has no stay
        for y in range(x0, x1):
            for x in range(x0, y + 1):
                if x == y:
                    Q[x, y] = src[x, y] + Q[x - 1, y - 1]
                else:
                    Q[x, y] = src[x, y] + max(Q[x, y - 1], Q[x - 1, y - 1])
        if x1 - x0 == STRIP:
            for k in range(STRIP):
                prev[k] = Q[x0 + k, x1 - 1]
            for y in range(x1, x1 + span):
                # downwards, so prev[k - 1] still holds the frame before when row k reads it
                for k in range(STRIP - 1, 0, -1):
                    v = src[x0 + k, y] + max(prev[k], prev[k - 1])
                    prev[k] = v
                    Q[x0 + k, y] = v
                v = src[x0, y] + max(prev[0], Q[x0 - 1, y - 1])
                prev[0] = v
                Q[x0, y] = v
        else:  # the last, narrower strip
            for y in range(x1, x1 + span):
                for x in range(x0, x1):
                    Q[x, y] = src[x, y] + max(Q[x, y - 1], Q[x - 1, y - 1])


@njit(cache=True, boundscheck=False)
def _holds_nan_or_posinf(src, rows, cols):
    """Whether ``src[:rows, :cols]`` holds NaN or +inf: one read-only pass that vectorises.

    No fastmath here: the test for NaN must survive.
    """
    bad = False
    for r in range(rows):
        row = src[r]
        for c in range(cols):
            v = row[c]
            bad |= (v != v) | (v == np.inf)
    return bad


@njit(cache=True, boundscheck=False)
def _walk_back(Q, tx, ty, text_major, path):
    """Mark the path in ``path`` from the accumulated ``Q`` (both in the item's layout)."""
    x = tx - 1
    for y in range(ty - 1, -1, -1):
        if text_major:
            path[x, y] = 1
            # leave token x only when x - 1 was strictly better (or x == y forces it)
            if x != 0 and (x == y or Q[x, y - 1] < Q[x - 1, y - 1]):
                x -= 1
        else:
            path[y, x] = 1
            if x != 0 and (x == y or Q[y - 1, x] < Q[y - 1, x - 1]):
                x -= 1


@njit(cache=True, fastmath=FASTMATH, parallel=True, boundscheck=False)
def maximum_path_batch(value, text_lengths, mel_lengths, text_major, out_path, out_score, work):
    """Monotonic alignment search for a batch, items in parallel.

    Parameters
    ----------
    value : np.ndarray [shape=(B, T_text, T_mel) if text_major else (B, T_mel, T_text), float32 or float64]
        Log-likelihood of each (token, frame) pair; only
        ``[:text_lengths[b], :mel_lengths[b]]`` (in the layout's order) is read.
    text_lengths, mel_lengths : np.ndarray [shape=(B,), int64]
        ``1 <= text_lengths[b] <= mel_lengths[b]`` (not checked here).
    text_major : bool
        The layout of ``value`` and ``out_path``.
    out_path : np.ndarray [same shape as value]
        Output: 1 on the path, 0 elsewhere (padding included), in any numeric dtype.
    out_score : np.ndarray [shape=(B,), float64]
        Output: the path's score (the sum of ``value`` along it); ``-inf`` when
        every path crosses a ``-inf`` cell; NaN when the item's live block
        holds a NaN or ``+inf`` (its path is then not computed).
    work : np.ndarray [shape=(C, max_b T_text * T_mel), value's dtype]
        Scratch: one score buffer per chunk of items (``C`` chunks run in
        parallel; a thread count or a few times it). A buffer reused item after
        item, instead of a fresh one per item, saves the page faults of new
        memory, which cost more than the sweep.
    """
    B = value.shape[0]
    n_chunks = min(B, work.shape[0])
    for c in prange(n_chunks):
        buf = work[c]
        for b in range(c, B, n_chunks):
            tx = text_lengths[b]
            ty = mel_lengths[b]
            out_path[b] = 0
            # scores in a private buffer in the input's layout: the caller's array is never written
            rows, cols = (tx, ty) if text_major else (ty, tx)
            Q = buf[:ty * tx].reshape((rows, cols))
            if text_major:
                bad = _holds_nan_or_posinf(value[b], rows, cols)
                if not bad:
                    mas_text_major(value[b], Q, tx, ty)
            else:
                bad = mas_frame_major(value[b], Q, tx, ty)
            if bad:
                out_score[b] = np.nan
                continue
            out_score[b] = Q[rows - 1, cols - 1]
            _walk_back(Q, tx, ty, text_major, out_path[b])
