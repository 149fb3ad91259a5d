"""The forward-sum alignment loss on the GPU (numba-cuda): one thread block per item.

The recurrence, boundary conditions and gradient of the CPU kernel
:mod:`align.kernels.forward_sum` (CTC with target ``1..K`` over classes
``0..K``, sum-product form; Graves et al. 2006, DOI 10.1145/1143844.1143891,
section 4.1): extended states ``s = 0 .. 2K``, even ``s`` the blank, odd
``s`` token ``(s + 1) // 2``::

    alpha[t, s] = y[t, z_s] + logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] if s odd)
    log Z       = logsumexp(alpha[T-1, 2K], alpha[T-1, 2K-1])
    d(-log Z) / d y[t, c] = -sum_{s: z_s = c} exp(alpha[t, s] + b[t, s] - log Z)

with ``b[t, s]`` the backward sum of the successors (``beta`` without the
emission at ``t``). Everything accumulates in float64 whatever the input's
dtype, in the log domain (the CPU's log-domain pass: a blank's log-sum-exp has
two terms, a token's three, each with one exp fewer than terms and a
``log1p``). The CPU kernel's main pass works in the probability domain,
rescaled each frame, and the two sides use different libms, so the results
agree to rounding (about 1e-15 relative in ``log Z``, 1e-11 in the gradient),
not bit for bit; the blank's gradient is a sum over the block's threads (a
shared-memory atomic add), whose order varies from run to run.

Layout
------
- Grid ``B`` blocks, any block size (threads stride over the ``2K + 1``
  states of a frame).
- Two rows of ``2 S_max + 4`` float64 (the forward's ``alpha`` rows, then the
  backward's ``b`` rows, each with two -inf pads) plus two scalars (``log Z``
  and the blank's sum): in dynamic shared memory when ``use_shared`` is 1
  (``rows_in_shared``), else in ``scratch[b]``.
- ``alpha``: every frame's forward scores, global ``(B, T_max, S_max)``
  float64 (the backward pass reads them): 105 MB for 32 x (T = 1,024, K = 200).
- Two ``syncthreads`` a frame.

Launch::

    forward_sum_batch[B, threads, stream, shared_bytes](log_probs, text_lengths, mel_lengths,
        out_nll, out_grad, alpha, scratch, use_shared)

``log_probs`` float32 or float64 (one compilation each).

``out_grad`` must arrive zeroed (only each item's ``mel x (text + 1)`` block
is written, and nothing for an item without a finite alignment).

See Also
--------
align.kernels.forward_sum.forward_sum_batch : the CPU kernel (argument meanings).
align.tts.forward_sum_cuda.forward_sum_nll_cuda : the host launcher.
"""

import math

from numba import config, cuda, float64

__all__ = ["forward_sum_batch", "rows_in_shared", "row_floats", "SHARED_BYTES", "MAX_THREADS"]

#: dynamic shared memory the two rows may take (the default per-block limit)
SHARED_BYTES = 48 * 1024
MAX_THREADS = 1024
_KERNEL_OPTS = {} if config.ENABLE_CUDASIM else {"launch_bounds": MAX_THREADS}


def row_floats(S_max):
    """float64 values of the two padded rows and the two scalars, for ``S_max`` states."""
    return 2 * (S_max + 2) + 2


def rows_in_shared(S_max):
    """Whether the rows of ``S_max`` states fit :data:`SHARED_BYTES`."""
    return row_floats(S_max) * 8 <= SHARED_BYTES


@cuda.jit(device=True)
def _lse2(a, b):
    """log(e^a + e^b): one exp and one log1p, as on the CPU."""
    if a < b:
        a, b = b, a
    if a == -math.inf:
        return -math.inf
    return a + math.log1p(math.exp(b - a))


@cuda.jit(device=True)
def _lse3(a, b, c):
    """log(e^a + e^b + e^c): two exps and one log1p."""
    if a < b:
        a, b = b, a
    if a < c:
        a, c = c, a
    if a == -math.inf:
        return -math.inf
    return a + math.log1p(math.exp(b - a) + math.exp(c - a))


@cuda.jit(device=True)
def _item(buf, log_probs, b, T, K, out_nll, out_grad, alpha):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    S = 2 * K + 1
    W = S + 2
    logz_at = 2 * W
    blank_at = 2 * W + 1
    neg = -math.inf
    # forward: alpha[t, s] sits at row[s + 2]; row[0], row[1] are the -inf of s - 1, s - 2
    for i in range(tid, 2 * W + 2, nt):
        buf[i] = neg
    cuda.syncthreads()
    for s in range(tid, S, nt):
        a = neg
        if s < 2:
            a = float64(log_probs[b, 0, s])
        buf[s + 2] = a
        alpha[b, 0, s] = a
    cuda.syncthreads()
    for t in range(1, T):
        cur = (t & 1) * W
        prv = W - cur
        for s in range(tid, S, nt):
            if s % 2 == 0:  # a blank: from itself or the token before
                a = float64(log_probs[b, t, 0]) + _lse2(buf[prv + s + 2], buf[prv + s + 1])
            else:  # a token: from itself, the blank before, or the token before (a pad for s = 1)
                a = float64(log_probs[b, t, (s + 1) // 2]) + _lse3(buf[prv + s + 2], buf[prv + s + 1], buf[prv + s])
            buf[cur + s + 2] = a
            alpha[b, t, s] = a
        cuda.syncthreads()
    if tid == 0:
        last = ((T - 1) & 1) * W
        x, y = buf[last + S + 1], buf[last + S]
        m = max(x, y)
        buf[logz_at] = neg if m == neg else m + math.log(math.exp(x - m) + math.exp(y - m))
    cuda.syncthreads()
    logz = buf[logz_at]
    if tid == 0:
        out_nll[b] = -logz
    if logz == neg:
        return  # no finite alignment: the gradient stays 0, as on the CPU
    # backward: b[t, s] sits at row[s]; row[S], row[S + 1] are the -inf of s + 1, s + 2
    cuda.syncthreads()  # every thread has read log Z before the rows are reused
    for i in range(tid, 2 * W, nt):
        buf[i] = neg
    if tid == 0:
        buf[blank_at] = 0.0
    cuda.syncthreads()
    for t in range(T - 1, -1, -1):
        cur = (t & 1) * W
        nxt = W - cur
        for s in range(tid, S, nt):
            c = 0 if s % 2 == 0 else (s + 1) // 2
            if t == T - 1:
                after = 0.0 if s >= S - 2 else neg
            elif c == 0:  # a blank goes on to itself or the next token
                after = _lse2(buf[nxt + s], buf[nxt + s + 1])
            else:  # a token to itself, the blank after it, or (a skip) the next token
                after = _lse3(buf[nxt + s], buf[nxt + s + 1], buf[nxt + s + 2])
            buf[cur + s] = float64(log_probs[b, t, c]) + after
            occupancy = math.exp(alpha[b, t, s] + after - logz)  # alpha holds y[t, c] once
            if c == 0:
                cuda.atomic.add(buf, blank_at, occupancy)
            else:
                out_grad[b, t, c] = -occupancy  # a token has one state: no sum
        cuda.syncthreads()
        if tid == 0:
            out_grad[b, t, 0] = -buf[blank_at]
            buf[blank_at] = 0.0
        cuda.syncthreads()


@cuda.jit(**_KERNEL_OPTS)
def forward_sum_batch(log_probs, text_lengths, mel_lengths, out_nll, out_grad, alpha, scratch, use_shared):
    """``-log Z`` and its gradient for item ``blockIdx.x``; see the module docstring."""
    sh = cuda.shared.array(0, dtype=float64)
    b = cuda.blockIdx.x
    T = mel_lengths[b]
    K = text_lengths[b]
    if use_shared:
        _item(sh, log_probs, b, T, K, out_nll, out_grad, alpha)
    else:
        _item(scratch[b], log_probs, b, T, K, out_nll, out_grad, alpha)
