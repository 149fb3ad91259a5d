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

Layout: each item is copied into a private buffer in the input's own layout
(the copy also refuses NaN and +inf; the input is never written) and swept
there frame by frame, in place. Laid out ``(T_y, T_x)`` (VITS), the tokens
of a frame form one contiguous, branch-free loop with no dependency inside
it, so it vectorises (:func:`mas_in_place`). Laid out ``(T_x, T_y)``
(Glow-TTS), strips of 16 tokens are swept frame by frame
(:func:`mas_in_place_text_major`); an earlier version transposed each item
into ``(T_y, T_x)`` first, which cost more than the sweep. Sweeping from the
input straight into the buffer (no copy) measured the same for Glow-TTS and
slower for VITS in a batch (median 1.73-2.26 against 1.50 ms: an item and
its scores do not both stay in L2). The walk back reads the accumulated
scores, as the Cython code does.

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

__all__ = ["maximum_path_batch", "mas_in_place", "mas_in_place_text_major"]

# numba accepts a set, not the frozenset the config holds; no nnan/ninf: -inf is data
FASTMATH = set(_FASTMATH)


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def mas_in_place(Q, tx, ty):
    """Turn ``Q`` (T_y, T_x), a copy of one item's values, into the accumulated scores.

    Row ``y`` of ``Q`` (one mel frame) holds the tokens ``x``; only the live
    cells ``max(0, T_x + y - T_y) <= x <= min(T_x - 1, y)`` are touched. The
    edges of a row (``x == 0``: no token before; ``x == y``: no stay) are done
    apart, so the inner loop has no branch and vectorises.
    """
    for y in range(1, ty):
        lo = max(0, tx + y - ty)
        hi = min(tx - 1, y)
        q = Q[y]
        p = Q[y - 1]
        if lo == 0:
            q[0] += p[0]
            lo = 1
        if hi == y:
            q[hi] += p[hi - 1]
            hi -= 1
        # slices from the band's edge and a counter from 0: no negative-index
        # wraparound test, which keeps the loop from vectorising (5x measured)
        n = hi + 1 - lo
        qq = q[lo:hi + 1]
        stay = p[lo:hi + 1]
        advance = p[lo - 1:hi]
        for i in range(n):
            qq[i] += max(advance[i], stay[i])


#: tokens swept together in the text-major sweep: their cells of one frame are independent
#: (each reads only the frame before), so a strip of them keeps that many chains in flight
STRIP = 16


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def mas_in_place_text_major(Q, tx, ty):
    """As :func:`mas_in_place` for an item laid out (T_x, T_y) (Glow-TTS).

    Row ``x`` holds token ``x``'s frames, and row ``x`` is live on frames
    ``[x, x + T_y - T_x]``. Token 0 is a running sum. The other tokens go in
    strips of :data:`STRIP` rows swept frame by frame: within a frame the
    strip's cells do not depend on each other, so the sweep is bound by
    throughput, not by the latency of one row's chain of ``max`` and ``+``;
    the strip's previous frame is kept in a small array, so a cell costs one
    load and one store (reading it back from ``Q`` measured 4.0 against 3.1
    ms for B = 32, 200 x 1,000 on two cores). No transposed copy is made.
    Past a row's last live frame, cells of a strip get junk (finite or -inf)
    that no live cell reads: a live cell ``(x, y)`` reads ``(x, y-1)`` and
    ``(x-1, y-1)``, both live (the stay only when ``x < y``).
    """
    span = ty - tx
    q0 = Q[0]
    for y in range(1, span + 1):
        q0[y] += q0[y - 1]
    prev = np.empty(STRIP, Q.dtype)
    for x0 in range(1, tx, STRIP):
        x1 = min(x0 + STRIP, tx)
        # the strip's lower triangle: row x starts at its diagonal cell, which has no stay
        for y in range(x0, x1):
            for x in range(x0, y + 1):
                if x == y:
                    Q[x, y] += Q[x - 1, y - 1]
                else:
                    Q[x, y] += max(Q[x, y - 1], Q[x - 1, y - 1])
        if x1 - x0 == STRIP:
            for k in range(STRIP):
                prev[k] = Q[x0 + k, x1 - 1]
            for y in range(x1, x1 + span):
                # downwards, so prev[k - 1] still holds the frame before when row k reads it
                for k in range(STRIP - 1, 0, -1):
                    v = Q[x0 + k, y] + max(prev[k], prev[k - 1])
                    prev[k] = v
                    Q[x0 + k, y] = v
                v = Q[x0, y] + max(prev[0], Q[x0 - 1, y - 1])
                prev[0] = v
                Q[x0, y] = v
        else:  # the last, narrower strip
            for y in range(x1, x1 + span):
                for x in range(x0, x1):
                    Q[x, y] += max(Q[x, y - 1], Q[x - 1, y - 1])


@njit(cache=True, boundscheck=False)
def _working_copy(src, rows, cols, Q):
    """Fill ``Q`` (rows, cols) with ``src[:rows, :cols]``; return whether it holds NaN or +inf.

    One pass over the input does both. No fastmath here: the test for NaN must
    survive.
    """
    bad = False
    for r in range(rows):
        for c in range(cols):
            v = src[r, c]
            bad |= (v != v) | (v == np.inf)
            Q[r, c] = v
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
            if _working_copy(value[b], rows, cols, Q):
                out_score[b] = np.nan
                continue
            if text_major:
                mas_in_place_text_major(Q, tx, ty)
            else:
                mas_in_place(Q, tx, ty)
            out_score[b] = Q[rows - 1, cols - 1]
            _walk_back(Q, tx, ty, text_major, out_path[b])
