"""Senone log-likelihoods of tied Gaussian mixtures (CPU, Numba).

Model (PocketSphinx's PTM / semi-continuous / continuous acoustic models):
codebook ``c`` holds, for each feature stream ``f``, ``K`` diagonal Gaussians
``N(. ; mu[c, f, :, k], var[c, f, :, k])``; senone ``s`` owns mixture weights
``w[s, f, k]`` over the Gaussians of its codebook. For a frame ``x`` split into
streams ``x_f`` (``D`` dims each)::

    g[c, f, k] = log_const[c, f, k] - sum_d (x_f[d] - mu[c, f, d, k])**2 * hiv[c, f, d, k]
        with hiv = 1 / (2 var) and log_const = -1/2 sum_d log(2 pi var)
    m[c, f]    = max_k g[c, f, k]
    out[s]     = sum_f ( m[c(s), f] + log sum_k w[s, f, k] exp(g[c(s), f, k] - m[c(s), f]) )

that is the exact log-sum-exp over every Gaussian (no top-N selection), natural
log (Young et al., *The HTK Book*, section 7.1, eq. 7.1-7.2; Huang, Acero & Hon,
*Spoken Language Processing*, 2001, section 8.3.3 for tied mixtures). PocketSphinx
itself keeps the 4 best Gaussians per codebook and quantises scores to
``1024 log(1.0001)`` = 0.1024 nat; we do neither.

Precision: ``g`` is accumulated in float32 in the direct ``(x - mu)**2`` form
(the expanded ``x**2 iv - 2 x mu iv + mu**2 iv`` GEMM form loses digits to
cancellation when variances are floored at 1e-4); the exponentials are in
[0, 1] with the largest exactly 1, so the float32 weighted sum cannot underflow
(its largest term is ``w[s, f, argmax] >= 2.7e-12``); the per-stream sums are
multiplied in float64 and logged once (a sum of logs when the product would
come near float64's floor).

Boundary conditions: none (every frame is independent). Tie-break: none (no
arg-max is taken). Non-finite inputs give non-finite outputs; the API layer
checks.

Layout: senones are given grouped by codebook (``cb_ptr`` CSR pointer over the
sorted senone list, ``columns`` the output column of each). Frames are
processed in blocks of ``BLOCK`` (their Gaussians :data:`GROUP` frames at a
time, so a load of a mean serves eight frames) so that a codebook's Gaussian values for a
block (BLOCK x F x K float32) stay in L1/L2 cache while every senone of that
codebook reads them; ``prange`` runs over frame blocks.
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH

# numba wants a mutable set of flags.
_FM = set(FASTMATH)

__all__ = ["score_senones", "gaussian_log_densities", "gaussian_occupancy", "mllr_normal_sums", "BLOCK", "GROUP"]

#: Frames per block (the unit of parallel work).
BLOCK = 32


# Cody-Waite split of ln 2 and the minimax polynomial of Cephes' expf (S. L. Moshier,
# *Methods and Programs for Mathematical Functions*, 1989): exp(r) on |r| <= ln(2)/2
# to about 1 ulp of float32. Written out so that the loop vectorises (libm's exp
# does not, and exp was 3/4 of the run time).
_LOG2E = 1.44269504088896341
_LN2_HI = 0.693359375
_LN2_LO = -2.12194440e-4
_EXP_MIN = -87.0  # below this float32 exp is (sub)normal noise; clamp keeps it normal


@njit(cache=True, fastmath=_FM, inline="always")
def _exp_shifted(g, m, poly, pow2, out):
    """out[k] = exp(g[k] - m) for g[k] <= m, vectorisable (float32 arrays of length K)."""
    K = g.shape[0]
    for k in range(K):
        x = g[k] - m
        if x < _EXP_MIN:
            x = np.float32(_EXP_MIN)
        n = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
        r = x - n * np.float32(_LN2_HI) - n * np.float32(_LN2_LO)
        r2 = r * r
        p = np.float32(1.9875691500e-4)
        p = p * r + np.float32(1.3981999507e-3)
        p = p * r + np.float32(8.3334519073e-3)
        p = p * r + np.float32(4.1665795894e-2)
        p = p * r + np.float32(1.6666665459e-1)
        p = p * r + np.float32(5.0000001201e-1)
        poly[k] = p * r2 + r + np.float32(1.0)
        pow2[k] = (np.int32(n) + np.int32(127)) << np.int32(23)
    scale = pow2.view(np.float32)
    for k in range(K):
        out[k] = poly[k] * scale[k]


@njit(cache=True, fastmath=_FM, inline="always")
def _gaussians(x, mu, hiv, const, acc):
    """acc[k] = const[k] - sum_d (x[d] - mu[d, k])**2 * hiv[d, k]; returns max_k acc[k]."""
    D = mu.shape[0]
    K = mu.shape[1]
    for k in range(K):
        acc[k] = const[k]
    for d in range(D):
        xd = x[d]
        mud = mu[d]
        hd = hiv[d]
        for k in range(K):
            diff = xd - mud[k]
            acc[k] -= diff * diff * hd[k]
    m = acc[0]
    for k in range(1, K):
        m = max(m, acc[k])
    return m


#: frames whose Gaussians are computed together: each load of a mean and a variance
#: serves this many frames (1.35x faster scoring than frame by frame, the same Gaussian values)
GROUP = 8


@njit(cache=True, fastmath=_FM)
def _group_gaussians(X, mu, hiv, const, A):
    """A[j, k] = const[k] - sum_d (X[j, d] - mu[d, k])**2 * hiv[d, k] for the GROUP (8) frames j.

    ``X`` (GROUP, D) holds one stream of GROUP frames (at the end of a block,
    copies of its last frame, computed and ignored). Each term is added in the order
    of :func:`_gaussians`, so a frame gets the same float32 value bit for bit.
    Frame by frame, the means and variances of a codebook (40 KB for a 3 x 13 x
    128 model) are read once a frame from L2; here once per eight frames.
    """
    D = mu.shape[0]
    K = mu.shape[1]
    a0 = A[0]
    a1 = A[1]
    a2 = A[2]
    a3 = A[3]
    a4 = A[4]
    a5 = A[5]
    a6 = A[6]
    a7 = A[7]
    for k in range(K):
        ck = const[k]
        a0[k] = ck
        a1[k] = ck
        a2[k] = ck
        a3[k] = ck
        a4[k] = ck
        a5[k] = ck
        a6[k] = ck
        a7[k] = ck
    for d in range(D):
        mud = mu[d]
        hd = hiv[d]
        x0 = X[0, d]
        x1 = X[1, d]
        x2 = X[2, d]
        x3 = X[3, d]
        x4 = X[4, d]
        x5 = X[5, d]
        x6 = X[6, d]
        x7 = X[7, d]
        for k in range(K):
            m = mud[k]
            h = hd[k]
            d0 = x0 - m
            d1 = x1 - m
            d2 = x2 - m
            d3 = x3 - m
            d4 = x4 - m
            d5 = x5 - m
            d6 = x6 - m
            d7 = x7 - m
            a0[k] -= d0 * d0 * h
            a1[k] -= d1 * d1 * h
            a2[k] -= d2 * d2 * h
            a3[k] -= d3 * d3 * h
            a4[k] -= d4 * d4 * h
            a5[k] -= d5 * d5 * h
            a6[k] -= d6 * d6 * h
            a7[k] -= d7 * d7 * h


@njit(cache=True, fastmath=_FM)
def _block_gaussians(features, t0, t1, c, means, half_inv_vars, log_consts, E, M, X, A):
    """Fill E[t - t0, f, k] = exp(g - m) and M[t - t0, f] = m for frames t0..t1-1 of codebook c.

    ``X`` (GROUP, D) and ``A`` (GROUP, K) are scratch. A frame whose best
    Gaussian is not finite (features of 1e20 and beyond) gets M = NaN, so that
    its scores come out NaN and the API layer reports it.
    """
    F = means.shape[1]
    D = means.shape[2]
    K = means.shape[3]
    poly = np.empty(K, dtype=np.float32)
    pow2 = np.empty(K, dtype=np.int32)
    n = t1 - t0
    for f in range(F):
        for g0 in range(0, n, GROUP):
            for j in range(GROUP):
                t = t0 + min(g0 + j, n - 1)
                for d in range(D):
                    X[j, d] = features[t, f * D + d]
            _group_gaussians(X, means[c, f], half_inv_vars[c, f], log_consts[c, f], A)
            for j in range(min(GROUP, n - g0)):
                acc = A[j]
                m = acc[0]
                for k in range(1, K):
                    m = max(m, acc[k])
                i = g0 + j
                if not (m > -np.inf and m < np.inf):
                    M[i, f] = np.nan
                    m = np.float32(0.0)
                else:
                    M[i, f] = m
                _exp_shifted(acc, m, poly, pow2, E[i, f])


@njit(cache=True, fastmath=_FM, inline="always")
def _dots8(w, E, t, f, out):
    """out[j] = sum_k w[k] * E[t + j, f, k] for the 8 frames t..t+7: one load of a weight serves
    eight frames (the mixture sums 1.1x faster than one frame at a time; the order of a
    float32 sum changes, so a score may move by an ulp)."""
    K = w.shape[0]
    e0 = E[t, f]; e1 = E[t + 1, f]; e2 = E[t + 2, f]; e3 = E[t + 3, f]
    e4 = E[t + 4, f]; e5 = E[t + 5, f]; e6 = E[t + 6, f]; e7 = E[t + 7, f]
    s0 = np.float32(0.0); s1 = np.float32(0.0); s2 = np.float32(0.0); s3 = np.float32(0.0)
    s4 = np.float32(0.0); s5 = np.float32(0.0); s6 = np.float32(0.0); s7 = np.float32(0.0)
    for k in range(K):
        wk = w[k]
        s0 += wk * e0[k]; s1 += wk * e1[k]; s2 += wk * e2[k]; s3 += wk * e3[k]
        s4 += wk * e4[k]; s5 += wk * e5[k]; s6 += wk * e6[k]; s7 += wk * e7[k]
    out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3
    out[4] = s4; out[5] = s5; out[6] = s6; out[7] = s7


#: the product of a frame's per-stream mixture sums is taken in one log (a third of the
#: logs for 3 streams); each sum is at least 2.7e-12, so below this product (about 25
#: streams) the sums are logged one by one instead
_PRODUCT_FLOOR = 1e-280


@njit(cache=True, fastmath=_FM, parallel=True)
def score_senones(features, means, half_inv_vars, log_consts, weights, cb_ptr, columns, out):
    """Exact senone log-likelihoods for every frame.

    Parameters
    ----------
    features : float32 (T, F * D)
        Frames; stream ``f`` is columns ``f * D .. f * D + D - 1``.
    means, half_inv_vars : float32 (C, F, D, K)
        Gaussian means and ``1 / (2 var)``, Gaussians contiguous.
    log_consts : float32 (C, F, K)
        ``-1/2 sum_d log(2 pi var)``.
    weights : float32 (S, F, K)
        Mixture weights (probabilities) of the senones to score, sorted by codebook.
    cb_ptr : int64 (C + 1,)
        Senones ``cb_ptr[c] .. cb_ptr[c + 1] - 1`` (of ``weights``) use codebook ``c``.
    columns : int64 (S,)
        Output column of each senone of ``weights``.
    out : float32 (T, S_out)
        Filled with natural-log likelihoods; columns not named in ``columns`` are
        left untouched.
    """
    T = features.shape[0]
    C = means.shape[0]
    F = means.shape[1]
    D = means.shape[2]
    K = means.shape[3]
    n_blocks = (T + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        t0 = b * BLOCK
        t1 = min(T, t0 + BLOCK)
        E = np.empty((BLOCK, F, K), dtype=np.float32)
        M = np.empty((BLOCK, F), dtype=np.float32)
        M_sum = np.empty(BLOCK, dtype=np.float64)
        X = np.empty((GROUP, D), dtype=np.float32)
        A = np.empty((GROUP, K), dtype=np.float32)
        sums = np.empty(GROUP, dtype=np.float32)
        product = np.empty(BLOCK, dtype=np.float64)
        n = t1 - t0
        full = n - n % GROUP
        for c in range(C):
            if cb_ptr[c + 1] == cb_ptr[c]:
                continue
            _block_gaussians(features, t0, t1, c, means, half_inv_vars, log_consts, E, M, X, A)
            for t in range(n):
                total = 0.0
                for f in range(F):
                    total += M[t, f]
                M_sum[t] = total
            for j in range(cb_ptr[c], cb_ptr[c + 1]):
                col = columns[j]
                for t in range(n):
                    product[t] = 1.0
                for f in range(F):
                    w = weights[j, f]
                    for g in range(0, full, GROUP):
                        _dots8(w, E, g, f, sums)
                        for i in range(GROUP):
                            product[g + i] *= np.float64(sums[i])
                    for t in range(full, n):
                        e = E[t, f]
                        s = np.float32(0.0)
                        for k in range(K):
                            s += w[k] * e[k]
                        product[t] *= np.float64(s)
                for t in range(n):
                    if product[t] > _PRODUCT_FLOOR:
                        out[t0 + t, col] = np.log(product[t]) + M_sum[t]
                    else:  # very many streams: one log each
                        total = 0.0
                        for f in range(F):
                            w = weights[j, f]
                            e = E[t, f]
                            s = np.float32(0.0)
                            for k in range(K):
                                s += w[k] * e[k]
                            total += np.log(np.float64(s)) + M[t, f]
                        out[t0 + t, col] = total


@njit(cache=True, fastmath=_FM, parallel=True)
def gaussian_log_densities(features, means, half_inv_vars, log_consts, out):
    """Log densities of every Gaussian of every codebook (for tests and diagnostics).

    Parameters
    ----------
    features : float32 (T, F * D)
    means, half_inv_vars : float32 (C, F, D, K)
    log_consts : float32 (C, F, K)
    out : float32 (T, C, F, K)
        Filled with ``g[c, f, k]`` of each frame.
    """
    T = features.shape[0]
    C = means.shape[0]
    F = means.shape[1]
    D = means.shape[2]
    K = means.shape[3]
    acc = np.empty((T, K), dtype=np.float32)
    for t in prange(T):
        for c in range(C):
            for f in range(F):
                _gaussians(features[t, f * D:(f + 1) * D], means[c, f], half_inv_vars[c, f],
                           log_consts[c, f], acc[t])
                out[t, c, f, :] = acc[t]



#: posteriors below this fraction of a frame's best Gaussian are left out of the statistics
#: (at most 128e-30 of a frame's weight): most of a frame's Gaussians are that far down
_NEGLIGIBLE_POSTERIOR = np.float32(1e-30)


@njit(cache=True, fastmath=_FM)
def gaussian_occupancy(features, senones, codebook_of, means, half_inv_vars, log_consts, log_weights,
                       occupancy, first):
    """Accumulate each Gaussian's posterior occupancy and first-order sum over aligned frames.

    Frame ``t`` belongs to senone ``senones[t]``; per stream, its posterior over
    the Gaussians of that senone's codebook is ``softmax_k(log w[s, f, k] + g[c, f, k])``
    (``g`` as in :func:`score_senones`). The statistics of MLLR or MAP adaptation.

    Parameters
    ----------
    features : float32 (T, F * D)
    senones : int64 (T,)
    codebook_of : int64 (n_senones,)
        Codebook of every senone.
    means, half_inv_vars : float32 (C, F, D, K)
    log_consts : float32 (C, F, K)
    log_weights : float32 (n_senones, F, K)
        Natural log of the mixture weights (floored, finite).
    occupancy : float64 (C, F, K)
        Added to: ``sum_t gamma_tk``.
    first : float64 (C, F, K, D)
        Added to: ``sum_t gamma_tk x_t`` (the stream's dimensions).
    """
    T = features.shape[0]
    F = means.shape[1]
    D = means.shape[2]
    K = means.shape[3]
    acc = np.empty(K, dtype=np.float32)
    post = np.empty(K, dtype=np.float32)
    poly = np.empty(K, dtype=np.float32)
    pow2 = np.empty(K, dtype=np.int32)
    for t in range(T):
        s = senones[t]
        c = codebook_of[s]
        for f in range(F):
            x = features[t, f * D:(f + 1) * D]
            _gaussians(x, means[c, f], half_inv_vars[c, f], log_consts[c, f], acc)
            lw = log_weights[s, f]
            m = acc[0] + lw[0]
            for k in range(K):
                acc[k] += lw[k]
                m = max(m, acc[k])
            # the scorer's vectorised float32 exp (libm's float64 exp, one call a Gaussian, was
            # most of this kernel's time); the posteriors are then float32-exact, the sums float64
            _exp_shifted(acc, m, poly, pow2, post)
            total = 0.0
            for k in range(K):
                total += post[k]
            for k in range(K):
                if post[k] < _NEGLIGIBLE_POSTERIOR:
                    continue
                g = post[k] / total
                occupancy[c, f, k] += g
                for d in range(D):
                    first[c, f, k, d] += g * x[d]


@njit(cache=True)
def mllr_normal_sums(occupancy, first, inv_var, mean_inv_var, mean2_inv_var, out):
    """The five sums of a stream's diagonal-MLLR normal equations, in one pass.

    Parameters
    ----------
    occupancy : float64 (M,)
        ``n_m``, each Gaussian's occupancy.
    first : float64 (M, D)
        ``s_md``, its first-order statistics.
    inv_var, mean_inv_var, mean2_inv_var : float64 (M, D)
        ``1/var``, ``mu/var`` and ``mu**2/var``.
    out : float64 (5, D)
        Filled with ``sum_m n/var``, ``sum_m n mu/var``, ``sum_m n mu^2/var``,
        ``sum_m s/var`` and ``sum_m s mu/var``. Gaussians with no occupancy are
        skipped (their first-order statistics are zero too).
    """
    M, D = first.shape
    out[:] = 0.0
    for m in range(M):
        n = occupancy[m]
        if n == 0.0:
            continue
        for d in range(D):
            iv = inv_var[m, d]
            ivm = mean_inv_var[m, d]
            s = first[m, d]
            out[0, d] += n * iv
            out[1, d] += n * ivm
            out[2, d] += n * mean2_inv_var[m, d]
            out[3, d] += s * iv
            out[4, d] += s * ivm
