"""The forward-sum alignment loss: CTC over "every text token, in order", forward-backward (CPU).

Badlani et al. 2021, "One TTS Alignment To Rule Them All" (arXiv:2108.10447,
section 2.1): the likelihood of a monotone alignment of ``K`` text tokens to
``T`` mel frames, summed over all alignments, computed as CTC (Graves et al.
2006, DOI 10.1145/1143844.1143891, section 4.1, sum-product form) with target
``1, 2, ..., K`` over classes ``0`` (the blank) and ``1..K``. Extended states
``s = 0 .. 2K``: even ``s`` the blank, odd ``s`` the token ``(s + 1) // 2``.
The targets are all distinct, so the skip ``s - 2 -> s`` is allowed for every
token state ``s >= 3``::

    alpha[0, 0] = y[0, 0], alpha[0, 1] = y[0, 1]
    alpha[t, s] = y[t, z_s] + logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] if s odd)
    log Z = logsumexp(alpha[T-1, 2K], alpha[T-1, 2K-1])

``beta`` is the same from the end (emission at ``t`` included), and the
gradient of ``-log Z`` with respect to ``y[t, c]`` is minus the posterior
occupancy of class ``c`` at ``t``: ``-sum_{s: z_s = c} exp(alpha + beta - y - log Z)``.
Accumulation in float64 whatever the input dtype. Each item runs first in the
probability domain, every frame rescaled (:func:`_one_scaled`: one exp per
cell, then products and sums in vectorised loops); only where a frame's scale
would leave float64's normal range (scores some 640 nats apart on every path)
does it run again in the log domain (:func:`_one`, exact at any range; a
blank's log-sum-exp has two terms, a token's three, each with one exp fewer
than terms and a ``log1p``). For B = 32, 1,000 x 200 on two cores the batch
takes 0.037 s, against 0.33-0.43 s in the log domain alone (torch's batched
``CTCLoss`` on the CPU, forward and backward: about 0.3 s;
``benchmarks/bench_forward_sum.py``).
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH as _FASTMATH

__all__ = ["forward_sum_batch"]

FASTMATH = set(_FASTMATH)
NEG_INF = -np.inf


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _lse2(a, b):
    """log(e^a + e^b): one exp and one log1p (the larger term's exp is 1)."""
    if a < b:
        a, b = b, a
    if a == NEG_INF:
        return NEG_INF
    return a + np.log1p(np.exp(b - a))


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _lse3(a, b, c):
    """log(e^a + e^b + e^c): two exps and one log1p."""
    if a < b:
        a, b = b, a
    if a < c:
        a, c = c, a
    if a == NEG_INF:
        return NEG_INF
    return a + np.log1p(np.exp(b - a) + np.exp(c - a))


@njit(cache=True, fastmath=FASTMATH)
def _one(y, T, K, grad):
    S = 2 * K + 1
    alpha = np.full((T, S), NEG_INF)
    alpha[0, 0] = y[0, 0]
    alpha[0, 1] = y[0, 1]
    for t in range(1, T):
        p = alpha[t - 1]
        q = alpha[t]
        yt = y[t]
        q[0] = yt[0] + p[0]
        q[1] = yt[1] + _lse2(p[1], p[0])
        for c in range(1, K + 1):  # token c's state 2 c - 1 (from itself, the blank, the token before), then a blank
            s = 2 * c - 1
            if c > 1:
                q[s] = yt[c] + _lse3(p[s], p[s - 1], p[s - 2])
            q[s + 1] = yt[0] + _lse2(p[s + 1], p[s])
    logz = np.logaddexp(alpha[T - 1, S - 1], alpha[T - 1, S - 2])
    if logz == NEG_INF:
        return NEG_INF
    nxt = np.full(S + 2, NEG_INF)  # beta at t + 1, two -inf pads above S - 1
    cur = np.full(S + 2, NEG_INF)
    for t in range(T - 1, -1, -1):
        yt = y[t]
        at = alpha[t]
        blank = 0.0
        for s in range(S):
            c = 0 if s % 2 == 0 else (s + 1) // 2
            if t == T - 1:
                b = 0.0 if s >= S - 2 else NEG_INF
            elif c == 0:  # a blank goes on to itself or the next token
                b = _lse2(nxt[s], nxt[s + 1])
            else:  # a token to itself, the blank after it, or (a skip) the next token
                b = _lse3(nxt[s], nxt[s + 1], nxt[s + 2])
            cur[s] = yt[c] + b
            occ = at[s] + b - logz  # alpha holds y[t, c] once: the emission is not doubled
            if occ > NEG_INF:
                if c == 0:
                    blank += np.exp(occ)
                else:
                    grad[t, c] -= np.exp(occ)
        grad[t, 0] -= blank
        nxt, cur = cur, nxt
    return logz


#: a frame whose largest scaled value falls below this hands the item to the log-domain
#: pass: under it float64 starts to lose digits (subnormals from 2.2e-308)
TINY = 1e-280


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _rescale(tok, blank, top):
    """Divide both state rows by their largest value ``top``; False where it is under :data:`TINY`."""
    if not top >= TINY:
        return False
    inv = 1.0 / top
    for i in range(tok.shape[0]):
        tok[i] *= inv
        blank[i] *= inv
    return True


@njit(cache=True, fastmath=FASTMATH)
def _one_scaled(y, T, K, grad, e, a_tok, a_blank):
    """:func:`_one` in the probability domain, each frame rescaled; NaN when it cannot be trusted.

    States are kept as two contiguous arrays, token ``c`` (1..K) and the blank
    after token ``j`` (0..K), so that every frame is a few vectorised loops
    (Rabiner 1989's scaling, DOI 10.1109/5.18626, section V.A)::

        tok'[c]   = e[c] (tok[c] + blank[c - 1] + tok[c - 1])
        blank'[j] = e[0] (blank[j] + tok[j])

    with ``e[c] = exp(y[t, c] - max_c y[t, c])`` and each frame divided by its
    largest value (its log is added to ``log Z``). The backward pass is the
    same from the end, and the occupancy of a state is ``alpha * beta`` over
    the frame's sum of it. Where a frame's largest value (or that sum) falls
    under :data:`TINY`, or a row dies, float64 would lose digits: the result
    is NaN and the caller runs :func:`_one` instead. ``e`` (T, K + 1),
    ``a_tok`` (T, K + 1) and ``a_blank`` (T, K + 1) are scratch; ``grad`` is
    written only when the result is a number.
    """
    logz = 0.0
    for t in range(T):
        m = NEG_INF
        for c in range(K + 1):
            m = max(m, y[t, c])
        if m == NEG_INF:
            return np.nan
        for c in range(K + 1):
            e[t, c] = np.exp(y[t, c] - m)
        logz += m
    # forward: a_tok[t, 0] stays 0 (there is no token 0)
    a_tok[0, :] = 0.0
    a_blank[0, :] = 0.0
    a_blank[0, 0] = e[0, 0]
    a_tok[0, 1] = e[0, 1]
    top = max(e[0, 0], e[0, 1])
    if not _rescale(a_tok[0], a_blank[0], top):
        return np.nan
    logz += np.log(top)
    for t in range(1, T):
        pt, pb = a_tok[t - 1], a_blank[t - 1]
        qt, qb = a_tok[t], a_blank[t]
        et = e[t]
        qt[0] = 0.0
        qb[0] = et[0] * pb[0]
        top = qb[0]
        for c in range(1, K + 1):
            v = et[c] * (pt[c] + pb[c - 1] + pt[c - 1])
            qt[c] = v
            top = max(top, v)
        for j in range(1, K + 1):
            v = et[0] * (pb[j] + pt[j])
            qb[j] = v
            top = max(top, v)
        if not _rescale(qt, qb, top):
            return np.nan
        logz += np.log(top)
    end = a_tok[T - 1, K] + a_blank[T - 1, K]
    if not end >= TINY:
        return np.nan
    logz += np.log(end)
    # backward (beta without the frame's own emission), one frame in hand, the gradient
    # written as it goes: occupancy = alpha * beta / the frame's sum of alpha * beta
    bt = np.zeros(K + 2)
    bb = np.zeros(K + 2)
    ut = np.zeros(K + 2)
    ub = np.zeros(K + 2)
    bt[K] = 1.0
    bb[K] = 1.0
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            et = e[t + 1]
            for c in range(1, K + 1):
                ut[c] = et[c] * bt[c]
            for j in range(K + 1):
                ub[j] = et[0] * bb[j]
            ut[K + 1] = 0.0
            top = 0.0
            for c in range(1, K + 1):  # a token to itself, the blank after it, the next token
                v = ut[c] + ub[c] + ut[c + 1]
                bt[c] = v
                top = max(top, v)
            for j in range(K + 1):  # a blank to itself or the next token
                v = ub[j] + ut[j + 1]
                bb[j] = v
                top = max(top, v)
            if not _rescale(bt, bb, top):
                return np.nan
        at, ab = a_tok[t], a_blank[t]
        total = 0.0
        blank = 0.0
        for c in range(1, K + 1):
            total += at[c] * bt[c]
        for j in range(K + 1):
            blank += ab[j] * bb[j]
        total += blank
        if not total >= TINY:
            return np.nan
        inv = 1.0 / total
        for c in range(1, K + 1):
            grad[t, c] = -at[c] * bt[c] * inv
        grad[t, 0] = -blank * inv
    return logz


@njit(cache=True, fastmath=FASTMATH, parallel=True)
def forward_sum_batch(log_probs, text_lengths, mel_lengths, out_nll, out_grad):
    """``-log Z`` of every item and its gradient with respect to ``log_probs``.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(B, T_mel, K_max + 1), float32 or float64]
        Per-frame log-probabilities (normalised or not) of the blank (column 0)
        and of text tokens ``1..K`` (columns ``1..text_lengths[b]``).
    text_lengths, mel_lengths : np.ndarray [shape=(B,), int64]
        ``1 <= text_lengths[b] <= mel_lengths[b]`` (not checked here).
    out_nll : np.ndarray [shape=(B,), float64]
        Output: ``-log Z`` (``+inf`` when no alignment has a finite score).
    out_grad : np.ndarray [shape=(B, T_mel, K_max + 1), float64]
        Output: ``d out_nll[b] / d log_probs[b]``; 0 outside each item's
        ``mel_lengths[b] x (text_lengths[b] + 1)`` block and for an item with
        no finite alignment.
    """
    for b in prange(log_probs.shape[0]):
        T = mel_lengths[b]
        K = text_lengths[b]
        out_grad[b] = 0.0
        y = log_probs[b, :T, :K + 1].astype(np.float64)
        scratch = np.empty((3, T, K + 1))
        logz = _one_scaled(y, T, K, out_grad[b], scratch[0], scratch[1], scratch[2])
        if np.isnan(logz):  # a frame under TINY: the exact log-domain pass
            out_grad[b] = 0.0
            logz = _one(y, T, K, out_grad[b])
        out_nll[b] = -logz
        if logz == NEG_INF:
            out_grad[b] = 0.0
