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

Layout and memory traffic: the work is bound by memory (a plain copy of the
input into the output costs about as much as the whole search), so each
value is read once and each output byte written once. The scores go to a
private buffer laid out (T_y, T_x), which stays in the core's L2; the input
is never written. Laid out ``(T_y, T_x)`` (VITS), an item is swept straight
from the input into the buffer: the tokens of a frame form one contiguous,
branch-free loop with no dependency inside it, so it vectorises
(:func:`sweep_frame_major`). Laid out ``(T_x, T_y)`` (Glow-TTS), the item is
swept in groups of four strips of 8 tokens, 8 frames at a time in vector
registers, the input's 8 x 8 blocks transposed there and the strips of a
group side by side (:func:`sweep_text_major_strips`; float64 items are
transposed into the buffer and swept like VITS, :func:`sweep_text_major`). Each row of the item's text x mel
block is checked for NaN and +inf as it is swept (VITS: in the sweep's own
loop, which measured 0.92-1.08 against 1.01-1.09 ms for a separate pass over each row). The walk back
reads the accumulated scores, as the Cython code does, and gives each frame
its token; the item's whole output block (zeros and the path's ones, padding
included) is then written once, in order, with non-temporal stores
(:mod:`align.kernels._stream`), which skip reading the output's lines from
memory before writing them. For B = 32, 200 x 1,000 float32 on two cores
(benchmarks/README.md), against the kernel before (each item copied into the
buffer, swept in place, the output zeroed, then the path marked on it):
VITS 1.27-1.31 ms before, 0.97-1.05 after; Glow-TTS (scalar strips of 16
tokens in its own layout before) 2.6-2.9 ms before, 1.55-1.66 with strips of
8 swept one at a time (1.73-1.75 transposed into the buffer and swept like
VITS), and 1.25-1.6 against 1.6-1.95 for those in the same process with the
strips of a group side by side (:mod:`align.kernels._mas_simd`).

Memory: per chunk of items, one score buffer (the largest item's
``T_x * T_y`` values, ``work``) and one int64 per frame for the path.

See Also
--------
align.kernels.mas_cuda : the CUDA twin (same arguments, then scratch).
align.maximum_path : the validating entry point.
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH as _FASTMATH
from ._mas_simd import GROUP_BLOCKS, STRIPS
from ._stream import address_of, store_fence, stream_store32
from ._transpose import transpose_block

__all__ = ["maximum_path_batch", "sweep_frame_major", "sweep_text_major", "sweep_text_major_strips"]

# numba accepts a set, not the frozenset the config holds; no nnan/ninf: -inf is data
FASTMATH = set(_FASTMATH)


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def _count_bad(row, n):
    """How many of ``row[:n]`` are NaN or +inf (a compare and an integer sum: it vectorises)."""
    bad = 0
    for i in range(n):
        bad += 0 if row[i] < np.inf else 1
    return bad


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def sweep_frame_major(v, Q, tx, ty):
    """Accumulate one item laid out (T_y, T_x) (VITS) from its values ``v`` into ``Q``.

    Parameters
    ----------
    v : np.ndarray [shape=(>= T_y, >= T_x)]
        The item's values; only ``v[:ty, :tx]`` is read.
    Q : np.ndarray [shape=(T_y, T_x), C-contiguous]
        Output: the accumulated scores on the live cells
        ``max(0, T_x + y - T_y) <= x <= min(T_x - 1, y)``; the other cells are
        left as they were.
    tx, ty : int
        Tokens and frames of the item.

    Returns
    -------
    bool
        Whether ``v[:ty, :tx]`` holds a NaN or ``+inf`` (then ``Q`` is junk).

    Notes
    -----
    The edges of a row (``x == 0``: no token before; ``x == y``: no stay) are
    done apart, so the inner loop has no branch and vectorises.
    """
    bad = _count_bad(v[0], tx)
    Q[0, 0] = v[0, 0]
    for y in range(1, ty):
        r = v[y]
        lo = max(0, tx + y - ty)
        hi = min(tx - 1, y)
        # cells no path reaches are checked too (the whole text x mel block is the contract)
        bad += _count_bad(r, lo) + _count_bad(r[hi + 1:], tx - hi - 1)
        q = Q[y]
        p = Q[y - 1]
        if lo == 0:
            bad += 0 if r[0] < np.inf else 1
            q[0] = r[0] + p[0]
            lo = 1
        if hi == y:
            bad += 0 if r[hi] < np.inf else 1
            q[hi] = r[hi] + p[hi - 1]
            hi -= 1
        # slices from the band's edge and a counter from 0: no negative-index
        # wraparound test, which keeps the loop from vectorising (5x measured);
        # the check rides in the same loop (a compare and an integer sum)
        n = hi + 1 - lo
        qq = q[lo:hi + 1]
        rr = r[lo:hi + 1]
        stay = p[lo:hi + 1]
        advance = p[lo - 1:hi]
        for i in range(n):
            a = rr[i]
            bad += 0 if a < np.inf else 1
            qq[i] = a + max(advance[i], stay[i])
    return bad > 0


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def sweep_frame_major_in_place(Q, tx, ty):
    """As :func:`sweep_frame_major` with the values already in ``Q`` (T_y, T_x), overwritten.

    A loop of its own: with the values and the scores in one array, the
    other one's loop fails LLVM's test that its loads and stores do not
    overlap and runs unvectorised (3.5x slower).
    """
    bad = _count_bad(Q[0], tx)
    for y in range(1, ty):
        q = Q[y]
        bad += _count_bad(q, tx)
        lo = max(0, tx + y - ty)
        hi = min(tx - 1, y)
        p = Q[y - 1]
        if lo == 0:
            q[0] += p[0]
            lo = 1
        if hi == y:
            q[hi] += p[hi - 1]
            hi -= 1
        n = hi + 1 - lo
        qq = q[lo:hi + 1]
        stay = p[lo:hi + 1]
        advance = p[lo - 1:hi]
        for i in range(n):
            qq[i] += max(advance[i], stay[i])
    return bad > 0


@njit(cache=True, boundscheck=False)
def transpose_into(v, Q, tx, ty):
    """``Q[y, x] = v[x, y]`` for ``x < tx`` and ``y < ty``.

    ``v`` is one item's padded (T_text, T_mel) block and ``Q`` its (T_y, T_x)
    buffer, both C-contiguous. Blocks of 8 x 8 (float32; 4 x 4 for float64)
    are transposed in registers (:mod:`align.kernels._transpose`), token
    block by token block, so that ``v`` is read in long runs along its rows
    (which the hardware prefetchers follow); the ragged edges go element by
    element. Two to eight token blocks a pass (so that each pass writes whole
    64-byte lines of ``Q``) measured slower: 2.1-3.0 against 1.9-2.0 ms for
    B = 32, 200 x 1,000 float32 (more rows of ``v`` read at once).
    """
    n = 32 // v.itemsize
    stride = v.shape[1]
    xb = tx - tx % n
    yb = ty - ty % n
    flat_v = v.reshape(v.shape[0] * stride)
    flat_q = Q.reshape(ty * tx)
    for x0 in range(0, xb, n):
        for y0 in range(0, yb, n):
            transpose_block(flat_v, x0 * stride + y0, stride, flat_q, y0 * tx + x0, tx)
    for y in range(ty):
        q = Q[y]
        for x in range(xb if y < yb else 0, tx):
            q[x] = v[x, y]


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def _cell(v, Q, x, y):
    """One cell of :func:`sweep_text_major_strips`, scalar: ``Q`` (T_y, T_x) float32, -inf left of the diagonal."""
    if x > y:
        Q[y, x] = -np.inf
    elif y == 0:
        Q[0, 0] = v[0, 0]
    else:
        stay = Q[y - 1, x] if x < y else -np.inf
        advance = Q[y - 1, x - 1] if x > 0 else -np.inf
        # -inf is a float64: the max is exact either way, the sum in the buffer's float32
        Q[y, x] = v[x, y] + np.float32(max(advance, stay))


_G1, _G1_EDGE = GROUP_BLOCKS[1]
_G2, _G2_EDGE = GROUP_BLOCKS[2]
_G3, _G3_EDGE = GROUP_BLOCKS[3]
_G4, _G4_EDGE = GROUP_BLOCKS[4]


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def _group_block(strips, edge, v, v_offset, stride, Q, q_offset, tx, prev, has_left, d):
    """:data:`align.kernels._mas_simd.GROUP_BLOCKS` for ``strips`` strips (1-4), with the diagonal's mask or not."""
    if strips == 4:
        if edge:
            _G4_EDGE(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
        else:
            _G4(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
    elif strips == 3:
        if edge:
            _G3_EDGE(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
        else:
            _G3(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
    elif strips == 2:
        if edge:
            _G2_EDGE(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
        else:
            _G2(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
    elif edge:
        _G1_EDGE(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)
    else:
        _G1(v, v_offset, stride, Q, q_offset, tx, prev, has_left, d)


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def sweep_text_major_strips(v, Q, tx, ty, prev):
    """:func:`sweep_text_major` for float32, in groups of strips of 8 tokens swept in registers.

    The tokens go in groups of :data:`align.kernels._mas_simd.STRIPS` strips
    of 8 (32 tokens), group after group. A group goes through its frames 8 at
    a time from its diagonal block on (:data:`align.kernels._mas_simd.GROUP_BLOCKS`:
    each strip's 8 x 8 block of the input transposed in registers, then 8
    frames of the recurrence on the group's cells, the strips side by side).
    The frames after the last whole block, and the tokens after the last
    whole strip, go cell by cell. No transposed copy: a group's rows are
    first read whole, along their length, as they are checked for NaN and
    +inf; that pass also brings them into the cache, where the blocks' short
    runs 4 KB apart then find them (without it the sweep took 2-4x as long).
    ``prev`` (>= STRIPS x 8 float32) is scratch.
    """
    stride = v.shape[1]
    flat_v = v.reshape(v.shape[0] * stride)
    flat_q = Q.reshape(ty * tx)
    flat_p = prev.reshape(prev.size)
    bad = 0
    xb = tx - tx % 8
    blocks = ty // 8  # block b: frames [8 b, 8 b + 8)
    for g0 in range(0, xb, 8 * STRIPS):
        strips = min(STRIPS, (xb - g0) // 8)
        for x in range(g0, g0 + 8 * strips):
            bad += _count_bad(v[x], ty)
        flat_p[:] = -np.inf
        if g0 == 0:
            flat_p[0] = 0.0  # so that the first cell is v[0, 0] itself
        for b in range(g0 // 8, blocks):  # frames before the group's first token are dead
            y0 = 8 * b
            d = y0 - g0
            _group_block(strips, d < 8 * strips, flat_v, g0 * stride + y0, stride, flat_q, y0 * tx + g0, tx,
                         flat_p, g0 > 0, d)
        for y in range(max(8 * blocks, g0), ty):
            for x in range(g0, g0 + 8 * strips):
                _cell(v, Q, x, y)
    for x in range(xb, tx):
        bad += _count_bad(v[x], ty)
    for y in range(xb, ty):
        for x in range(xb, tx):
            _cell(v, Q, x, y)
    return bad > 0


@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def sweep_text_major(v, Q, tx, ty):
    """As :func:`sweep_frame_major` for an item laid out (T_x, T_y) (Glow-TTS); ``Q`` is (T_y, T_x).

    Used for float64 items (float32 ones go through :func:`sweep_text_major_strips`,
    5-10% faster). The item is transposed into ``Q`` (:func:`transpose_into`), then swept
    there frame by frame, the tokens of a frame in one vectorised loop.
    Measured for B = 32, 200 x 1,000 float32 on two cores: sweeping the
    input's own layout in strips of 16 tokens (no copy; within a frame the
    strip's cells are independent, but the loop is scalar) 2.6-2.9 ms; this
    1.9-2.1 ms. Transposing and sweeping bands of 8 to 128 frames at a time,
    so that each band is swept while it is in L1 or L2, was slower (2.0-5.0
    ms, software prefetch of the bands ahead included): the input is then
    read in short runs 4 KB apart.
    """
    transpose_into(v, Q, tx, ty)
    return sweep_frame_major_in_place(Q, tx, ty)


@njit(cache=True, boundscheck=False)
def _walk_back(Q, tx, ty, token):
    """Set ``token[y]`` to frame ``y``'s token on the path, from the accumulated ``Q`` (T_y, T_x)."""
    x = tx - 1
    for y in range(ty - 1, -1, -1):
        token[y] = x
        # leave token x only when x - 1 was strictly better (or x == y forces it)
        if x != 0 and (x == y or Q[y - 1, x] < Q[y - 1, x - 1]):
            x -= 1


@njit(cache=True, boundscheck=False)
def _write_path(out, cell, n_cells, zeros, piece):
    """Write all of ``out`` once: 1 at the flat indices ``cell[:n_cells]`` (increasing), 0 elsewhere.

    ``out`` is one item's whole output block, flat; ``zeros`` and ``piece``
    hold 32 bytes of its dtype. The 32-byte-aligned middle goes out in
    non-temporal stores, 32 bytes at a time (a piece with a 1 in it is built
    first in ``piece``); the unaligned head and tail in plain stores.
    """
    n = out.shape[0]
    lanes = zeros.shape[0]
    size = 32 // lanes
    head = (-address_of(out)) % 32 // size
    if (address_of(out) + head * size) % 32 != 0 or head > n:  # misaligned for its dtype
        head = n
    end = head + (n - head) // lanes * lanes
    for j in range(head):
        out[j] = 0
    for j in range(end, n):
        out[j] = 0
    k = 0
    while k < n_cells and cell[k] < head:
        out[cell[k]] = 1
        k += 1
    nxt = cell[k] if k < n_cells else n
    for c in range(head, end, lanes):
        if nxt < c + lanes:
            piece[:] = 0
            while nxt < c + lanes:
                piece[nxt - c] = 1
                k += 1
                nxt = cell[k] if k < n_cells else n
            stream_store32(out, c, piece, 0)
        else:
            stream_store32(out, c, zeros, 0)
    while k < n_cells:  # the tail's
        out[cell[k]] = 1
        k += 1


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
    out_path : np.ndarray [same shape as value, C-contiguous]
        Output: 1 on the path, 0 elsewhere (padding included), in a numeric
        dtype whose item size divides 32 (the streamed stores move 32 bytes).
        Every element is written.
    out_score : np.ndarray [shape=(B,), float64]
        Output: the path's score (the sum of ``value`` along it); ``-inf`` when
        every path crosses a ``-inf`` cell; NaN when the item's text x mel
        block holds a NaN or ``+inf`` (its path is then all zeros).
    work : np.ndarray [shape=(C, max_b T_text * T_mel), value's dtype]
        Scratch: one score buffer per chunk of items (``C`` chunks run in
        parallel; a thread count or a few times it). A buffer reused item after
        item, instead of a fresh one per item, saves the page faults of new
        memory, which cost more than the sweep.
    """
    B = value.shape[0]
    n_chunks = min(B, work.shape[0])
    n_out = out_path.shape[1] * out_path.shape[2]
    row_length = out_path.shape[2]
    for c in prange(n_chunks):
        buf = work[c]
        cell = np.empty(out_path.shape[2] if text_major else out_path.shape[1], np.int64)
        zeros = np.zeros(32 // out_path.itemsize, out_path.dtype)
        piece = np.empty_like(zeros)
        prev = np.empty((STRIPS, 8), np.float32)
        for b in range(c, B, n_chunks):
            tx = text_lengths[b]
            ty = mel_lengths[b]
            out = out_path[b].reshape(n_out)
            # scores in a private buffer in the input's layout: the caller's array is never written
            Q = buf[:ty * tx].reshape((ty, tx))
            if text_major and value.itemsize == 4:
                bad = sweep_text_major_strips(value[b], Q, tx, ty, prev)
            elif text_major:
                bad = sweep_text_major(value[b], Q, tx, ty)
            else:
                bad = sweep_frame_major(value[b], Q, tx, ty)
            if bad:
                out_score[b] = np.nan
                out[:] = 0
                continue
            out_score[b] = Q[ty - 1, tx - 1]
            _walk_back(Q, tx, ty, cell)
            for y in range(ty):  # frame y's path cell, as a flat index of the item's block
                cell[y] = cell[y] * row_length + y if text_major else y * row_length + cell[y]
            _write_path(out, cell, ty, zeros, piece)
        store_fence()  # this thread's streamed stores land before the caller reads the path
