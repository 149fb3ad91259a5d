"""CTC forced alignment on the GPU (numba-cuda): one thread block per utterance.

Same recurrence, boundary conditions, band and tie-break rule as the CPU
kernel :mod:`align.kernels.ctc` (Graves et al. 2006, "Connectionist Temporal
Classification", ICML, DOI 10.1145/1143844.1143891, section 4.1, in its
max-product (Viterbi) form; Forney 1973, DOI 10.1109/PROC.1973.9030)::

    alpha[0, s] = y[0, z_s]                                   for s in {0, 1}
    alpha[t, s] = max(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] + pen_s) + y[t, z_s]

Tie-break: ``tie_rule`` ``TIE_OPTIMAL`` (0) or ``TIE_TORCHAUDIO`` (1), as in
:mod:`align.kernels.ctc`; the path ends on the final blank only if strictly
better than the last label. The
per-cell maximum is :func:`align.kernels._ctc_steps.ctc_cell` compiled as a
device function, the same Python source as the CPU's ``ctc_cell_cpu``.
Scores accumulate in the dtype of ``log_probs`` with one addition per cell,
so paths, per-frame scores and total scores equal the CPU kernel's bit for
bit (float32 and float64).

Layout
------
- Grid ``B`` blocks (one per utterance), any block size (a launch argument;
  threads stride over the live states ``[lo_t, hi_t]`` of each frame).
- ``alpha``: two frames of scores (``2 S`` values, ``S = 2 L + 1``), in
  dynamic shared memory when the launch passes ``use_shared=1`` and
  ``2 * S_max * itemsize`` shared bytes, else in the global scratch
  ``alpha_scratch[b]`` (shape ``(B, 2 * S_max)``). Both frames start at -inf;
  states never reached read -inf, as on the CPU.
- Band: thread 0 walks the live band (the CPU's ``_band_walk``, one frame
  ahead, double-buffered in shared memory), so every frame needs a single
  ``cuda.syncthreads()``.
- Backpointers: one int8 per cell in the global ``bp`` of shape
  ``(B, T_max, S_max)`` (``bp[b, t, s]`` = how far back the predecessor is),
  written only for live cells. Memory: ``B * T_max * (2 L_max + 1)`` bytes,
  e.g. 103 MB for 256 x (T = 1,000, L = 200) and 300 MB for one
  (T = 30,000, L = 5,000).
- Backtrack: thread 0 follows the backpointers and writes the labels; the
  block then gathers the per-frame scores in parallel.

Launch (``stream`` and the shared bytes as usual)::

    kernel = ctc_kernel(log_probs.dtype)
    kernel[B, threads, stream, shared_bytes](log_probs, targets, input_lengths,
        target_lengths, blank, tie_rule, out_paths, out_scores, out_logp, bp, alpha_scratch, use_shared)

See Also
--------
align.kernels.ctc.ctc_align_batch : the CPU kernel (argument meanings).
align._forced_align_cuda.ctc_align_cuda : the host launcher.
"""

import math

import numpy as np
from numba import config, cuda, float32, float64, int32

from . import _ctc_steps

__all__ = ["ctc_cell_gpu", "ctc_end_on_blank_gpu", "ctc_kernel",
           "SHARED_ALPHA_BYTES", "alpha_in_shared", "MAX_THREADS"]

#: dynamic shared memory the alpha buffers may take (below the 48 KiB that
#: needs no opt-in, leaving room for several blocks per SM)
SHARED_ALPHA_BYTES = 32 * 1024

#: the largest block the launcher uses; the kernel is compiled for it (launch
#: bounds), so that the register count never makes a 1,024-thread launch fail
MAX_THREADS = 1024
# the simulator's jit takes no launch_bounds
_KERNEL_OPTS = {} if config.ENABLE_CUDASIM else {"launch_bounds": MAX_THREADS}

ctc_cell_gpu = cuda.jit(device=True)(_ctc_steps.ctc_cell)
ctc_end_on_blank_gpu = cuda.jit(device=True)(_ctc_steps.ctc_end_on_blank)


_band_advance_gpu = cuda.jit(device=True)(_ctc_steps.band_advance)


def alpha_in_shared(S_max, itemsize):
    """Whether the two alpha frames of ``S_max`` states fit :data:`SHARED_ALPHA_BYTES`."""
    return 2 * S_max * itemsize <= SHARED_ALPHA_BYTES


def _make_kernel(nb_float):
    @cuda.jit(device=True)
    def _forward(alpha, log_probs, targets, b, T, L, R, blank, tie_rule, bp, band):
        # band[0:2] / band[2:4]: (lo, hi) of the frames with even / odd t
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        S = 2 * L + 1
        ninf = nb_float(-math.inf)
        zero = nb_float(0)
        for s in range(tid, 2 * S, nt):
            alpha[s] = ninf
        hi = -1
        e_next = 0
        lo = 0
        lt_lo = T - 1 - (L + R)
        if tid == 0:
            hi, e_next, lo, lt_lo = _band_advance_gpu(targets[b], L, 0, hi, e_next, lo, lt_lo)
            band[0] = lo
            band[1] = hi
        cuda.syncthreads()
        lo0 = band[0]
        hi0 = band[1]
        for s in range(lo0 + tid, hi0 + 1, nt):
            lab = blank if s % 2 == 0 else targets[b, s // 2]
            alpha[s] = log_probs[b, 0, lab]
            bp[b, 0, s] = 0
        for t in range(1, T):
            par = t & 1
            cur = par * S
            prv = S - cur
            if tid == 0:
                # this parity's slot was last read in frame t - 2, before the
                # previous barrier, so it is free to take frame t's band
                hi, e_next, lo, lt_lo = _band_advance_gpu(targets[b], L, t, hi, e_next, lo, lt_lo)
                band[2 * par] = lo
                band[2 * par + 1] = hi
            cuda.syncthreads()
            lo_t = band[2 * par]
            hi_t = band[2 * par + 1]
            for s in range(lo_t + tid, hi_t + 1, nt):
                stay = alpha[prv + s]
                advance = ninf
                if s >= 1:
                    advance = alpha[prv + s - 1]
                skip = ninf
                if s % 2 == 0:
                    lab = blank
                else:
                    k = s // 2
                    lab = targets[b, k]
                    if k >= 1:
                        # + 0 or + -inf, exactly as the CPU kernel's penalty row
                        pen = zero if lab != targets[b, k - 1] else ninf
                        skip = alpha[prv + s - 2] + pen
                v, code = ctc_cell_gpu(stay, advance, skip, tie_rule)
                alpha[cur + s] = v + log_probs[b, t, lab]
                bp[b, t, s] = code
        cuda.syncthreads()

    @cuda.jit(**_KERNEL_OPTS)
    def kernel(log_probs, targets, input_lengths, target_lengths, blank, tie_rule,
               out_paths, out_scores, out_logp, bp, alpha_scratch, use_shared):
        """CTC Viterbi alignment of utterance ``blockIdx.x``; see the module docstring."""
        sh = cuda.shared.array(0, dtype=nb_float)
        band = cuda.shared.array(4, dtype=int32)
        info = cuda.shared.array(2, dtype=int32)  # R, end state
        b = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        Tmax = log_probs.shape[1]
        T = input_lengths[b]
        L = target_lengths[b]
        S = 2 * L + 1
        ninf = nb_float(-math.inf)
        zero = nb_float(0)
        if tid == 0:
            R = 0
            for k in range(1, L):
                if targets[b, k] == targets[b, k - 1]:
                    R += 1
            info[0] = R
        cuda.syncthreads()
        R = info[0]
        feasible = T > 0 and T >= L + R
        if feasible:
            if use_shared:
                _forward(sh, log_probs, targets, b, T, L, R, blank, tie_rule, bp, band)
            else:
                _forward(alpha_scratch[b], log_probs, targets, b, T, L, R, blank, tie_rule,
                         bp, band)
        if tid == 0:
            end = -1
            if T == 0:
                out_logp[b] = 0.0
            elif not feasible:
                out_logp[b] = -math.inf
            else:
                off = ((T - 1) & 1) * S
                last_label = ninf
                if use_shared:
                    last_blank = sh[off + 2 * L]
                    if L > 0:
                        last_label = sh[off + 2 * L - 1]
                else:
                    last_blank = alpha_scratch[b, off + 2 * L]
                    if L > 0:
                        last_label = alpha_scratch[b, off + 2 * L - 1]
                if ctc_end_on_blank_gpu(last_blank, last_label):
                    s = 2 * L
                    total = last_blank
                else:
                    s = 2 * L - 1
                    total = last_label
                out_logp[b] = total
                if total > ninf:
                    end = s
                    for t in range(T - 1, -1, -1):
                        out_paths[b, t] = blank if s % 2 == 0 else targets[b, s // 2]
                        if t > 0:
                            s -= bp[b, t, s]
            info[1] = end
        cuda.syncthreads()
        if info[1] >= 0:
            for t in range(tid, T, nt):
                out_scores[b, t] = log_probs[b, t, out_paths[b, t]]
        else:
            # no path (or T == 0): all blank, scores 0
            for t in range(tid, T, nt):
                out_paths[b, t] = blank
                out_scores[b, t] = zero
        for t in range(T + tid, Tmax, nt):
            out_paths[b, t] = blank
            out_scores[b, t] = zero

    return kernel


_KERNELS = {}


def ctc_kernel(dtype):
    """The CTC alignment kernel for ``log_probs`` of ``dtype`` (float32 or float64), compiled lazily."""
    key = np.dtype(dtype)
    if key not in _KERNELS:
        _KERNELS[key] = _make_kernel(float32 if key == np.float32 else float64)
    return _KERNELS[key]
