"""Independent references for tied-mixture senone scoring (no import from kernels/).

``senone_log_likelihoods`` loops over frames and senones and evaluates each
diagonal Gaussian from its textbook formula in float64, in the model's own
layout (C, F, K, D), then a max-shifted log-sum-exp per stream.
``senone_likelihoods_brute`` works in probability space (products and sums of
densities, no logs until the end): a different formulation, only usable where
the densities do not underflow (tiny, well-scaled toy models).
"""

import math

import numpy as np


def gaussian_log_density(x, mean, var):
    """log N(x; mean, diag(var)) in float64, one Gaussian, plain loop over dims."""
    total = 0.0
    for d in range(len(x)):
        v = float(var[d])
        diff = float(x[d]) - float(mean[d])
        total += -0.5 * math.log(2.0 * math.pi * v) - 0.5 * diff * diff / v
    return total


def senone_log_likelihoods(features, means, variances, weights, senone_codebook, senones):
    """(T, S) float64 log-likelihoods.

    Parameters
    ----------
    features : (T, F * D)
    means, variances : (C, F, K, D)
    weights : (n_senones, F, K) probabilities
    senone_codebook : (n_senones,) int
    senones : (S,) int, the senones to score
    """
    T = features.shape[0]
    C, F, K, D = means.shape
    out = np.empty((T, len(senones)))
    for t in range(T):
        cache = {}
        for j, s in enumerate(senones):
            c = int(senone_codebook[s])
            total = 0.0
            for f in range(F):
                key = (c, f)
                if key not in cache:
                    x = features[t, f * D : (f + 1) * D]
                    cache[key] = np.array(
                        [gaussian_log_density(x, means[c, f, k], variances[c, f, k]) for k in range(K)]
                    )
                g = cache[key]
                with np.errstate(divide="ignore"):  # zero weights are allowed
                    terms = np.log(np.asarray(weights[s, f], dtype=np.float64)) + g
                top = terms.max()
                total += top + math.log(np.exp(terms - top).sum())
            out[t, j] = total
    return out


def senone_likelihoods_brute(features, means, variances, weights, senone_codebook, senones):
    """(T, S) float64 log of prod_f sum_k w N(x_f), computed in probability space."""
    T = features.shape[0]
    C, F, K, D = means.shape
    out = np.empty((T, len(senones)))
    for t in range(T):
        for j, s in enumerate(senones):
            c = int(senone_codebook[s])
            prob = 1.0
            for f in range(F):
                x = features[t, f * D : (f + 1) * D].astype(np.float64)
                mix = 0.0
                for k in range(K):
                    var = variances[c, f, k].astype(np.float64)
                    dens = np.prod(np.exp(-((x - means[c, f, k]) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var))
                    mix += float(weights[s, f, k]) * dens
                prob *= mix
            out[t, j] = math.log(prob)
    return out
