"""Drop-DTW on the GPU (numba-cuda): one thread per item of a batch.

The recurrence, the tie-break rule and the back-pointer walk of
:mod:`align.kernels.drop_dtw`, from the same source
(:mod:`align.kernels._drop_dtw_steps` compiled as device functions), so the
results equal the CPU's bit for bit. The rows live in ``rows[b]`` (5, N_max+1)
float64 and the back-pointers in ``bp[b]`` (K_max+1, N_max+1) uint8, both in
global memory. Many independent problems (one video's candidate step lists, a
corpus of videos) fill the card; one large problem is better on the CPU.

Launch::

    drop_dtw_batch[blocks, threads](cost, seg_drop, step_drop, n_steps, n_segs, contiguous,
        exclusive, out_cost, out_labels, out_step_dropped, out_path, out_n_pairs, bp, rows)

The arguments of :func:`align.kernels.drop_dtw.drop_dtw_batch`, in its order,
then this kernel's scratch.
"""

import math

from numba import cuda

from . import _drop_dtw_steps as _s

__all__ = ["drop_dtw_batch"]

_match = cuda.jit(device=True)(_s.match_cell)
_hold = cuda.jit(device=True)(_s.hold_cell)
_done = cuda.jit(device=True)(_s.done_cell)
_pack = cuda.jit(device=True)(_s.pack)
_walk_back = cuda.jit(device=True)(_s.walk_back)


@cuda.jit
def drop_dtw_batch(cost, seg_drop, step_drop, n_steps, n_segs, contiguous, exclusive, out_cost, out_labels,
                   out_step_dropped, out_path, out_n_pairs, bp, rows):
    b = cuda.grid(1)
    if b >= cost.shape[0]:
        return
    inf = math.inf
    k = n_steps[b]
    n = n_segs[b]
    C = cost[b]
    d_seg = seg_drop[b]
    d_step = step_drop[b]
    B = bp[b]
    R = rows[b]
    R[0, 0] = 0.0  # row 0: F (previous), 1: O (previous), 2: F, 3: O, 4: G
    R[1, 0] = inf
    for j in range(1, n + 1):
        R[0, j] = R[0, j - 1] + d_seg[j - 1]
        R[1, j] = inf
    for i in range(1, k + 1):
        R[2, 0] = R[0, 0] + d_step[i - 1]
        R[3, 0] = inf
        R[4, 0] = inf
        ds = d_step[i - 1]
        for j in range(1, n + 1):
            dj = d_seg[j - 1]
            o, oc = _match(float(C[i - 1, j - 1]), R[0, j - 1], R[3, j - 1], R[4, j - 1], R[1, j], contiguous,
                           exclusive)
            g, gc = _hold(dj, R[3, j - 1], R[4, j - 1])
            f, fc = _done(o, R[2, j - 1], dj, R[0, j], ds)
            R[3, j] = o
            R[4, j] = g
            R[2, j] = f
            B[i, j] = _pack(oc, gc, fc)
        for j in range(n + 1):
            R[0, j] = R[2, j]
            R[1, j] = R[3, j]
    total = R[0, n]
    out_cost[b] = total
    if total < inf:
        out_n_pairs[b] = _walk_back(B, k, n, out_labels[b], out_step_dropped[b], out_path[b])
    else:
        out_n_pairs[b] = 0
