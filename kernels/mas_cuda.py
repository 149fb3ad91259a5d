"""Monotonic alignment search on the GPU (numba-cuda): one thread block per item.

The recurrence, the tie rule and the dtype rule of :mod:`align.kernels.mas`:
``Q[x, y] = v[x, y] + max(Q[x, y-1], Q[x-1, y-1])``, a move to token ``x - 1``
only when strictly better (or forced at ``x == y``), scores in the dtype of
``value``. The same column sweep: the threads of a block share a column's
tokens (no dependency inside a column), two columns of ``Q`` live in dynamic
shared memory (``2 (T_x_max + 1)`` values) when ``use_shared`` is 1, else in
``scratch[b]``; one ``syncthreads`` a column; the direction bytes go to
``dirs`` (global, ``(B, T_mel, T_text)``); thread 0 walks back.

Launch::

    maximum_path_kernel(dtype)[B, threads, stream, shared_bytes](value, text_lengths,
        mel_lengths, text_major, out_path, out_score, dirs, scratch, use_shared)

The arguments of :func:`align.kernels.mas.maximum_path_batch`, in its order,
then this kernel's scratch.
"""

import math

import numpy as np
from numba import config, cuda, from_dtype

__all__ = ["maximum_path_kernel", "SHARED_BYTES", "columns_in_shared", "MAX_THREADS"]

#: dynamic shared memory the two columns may take
SHARED_BYTES = 32 * 1024
MAX_THREADS = 1024
_KERNEL_OPTS = {} if config.ENABLE_CUDASIM else {"launch_bounds": MAX_THREADS}
_BUILDS = {}


def columns_in_shared(tx_max, itemsize):
    """Whether the two score columns of ``tx_max`` tokens fit :data:`SHARED_BYTES`."""
    return 2 * (tx_max + 1) * itemsize <= SHARED_BYTES


def _make(nb_float):
    @cuda.jit(device=True)
    def _sweep(buf, value, b, tx, ty, text_major, out_path, out_score, dirs):
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        W = tx + 1
        for k in range(tid, 2 * W, nt):
            buf[k] = nb_float(-math.inf)
        cuda.syncthreads()
        if tid == 0:
            buf[1] = value[b, 0, 0]
        cuda.syncthreads()
        for y in range(1, ty):
            cur = (y & 1) * W
            prv = W - cur
            lo = max(0, tx + y - ty)
            hi = min(tx - 1, y)
            for x in range(lo + tid, hi + 1, nt):
                stay = buf[prv + x + 1]
                advance = buf[prv + x]
                move = advance > stay or x == y
                v = value[b, x, y] if text_major else value[b, y, x]
                buf[cur + x + 1] = v + (advance if move else stay)
                dirs[b, y, x] = 1 if move else 0
            cuda.syncthreads()
        if tid == 0:
            out_score[b] = buf[((ty - 1) & 1) * W + tx]
            x = tx - 1
            for y in range(ty - 1, -1, -1):
                if text_major:
                    out_path[b, x, y] = 1
                else:
                    out_path[b, y, x] = 1
                if y > 0 and x > 0 and dirs[b, y, x] != 0:
                    x -= 1

    @cuda.jit(**_KERNEL_OPTS)
    def maximum_path_batch(value, text_lengths, mel_lengths, text_major, out_path, out_score, dirs,
                           scratch, use_shared):
        """MAS of item ``blockIdx.x``; see the module docstring. ``out_path`` must arrive zeroed."""
        sh = cuda.shared.array(0, dtype=nb_float)
        b = cuda.blockIdx.x
        tx = text_lengths[b]
        ty = mel_lengths[b]
        if use_shared:
            _sweep(sh, value, b, tx, ty, text_major, out_path, out_score, dirs)
        else:
            _sweep(scratch[b], value, b, tx, ty, text_major, out_path, out_score, dirs)

    return maximum_path_batch


def maximum_path_kernel(dtype):
    """The kernel for float32 or float64 ``value`` (built once per dtype)."""
    key = np.dtype(dtype)
    if key not in _BUILDS:
        _BUILDS[key] = _make(from_dtype(key))
    return _BUILDS[key]
