"""Speaker adaptation: a diagonal MLLR transform of the model's means, from one alignment.

Maximum likelihood linear regression (Leggetter and Woodland 1995; Gales 1998,
"Maximum likelihood linear transformations for HMM-based speech recognition",
section 2) moves every Gaussian mean of the model by one shared affine map
estimated from the frames of a first alignment; here the map is diagonal, a
scale and an offset per feature dimension (78 numbers for the 39-dimensional
en-us model), so that 20 seconds of one speaker estimate it well and the
Gaussians no frame touched move too::

    mu'[d] = a[d] * mu[d] + b[d]

The first pass names each frame's senone; the frame is shared among that
senone's Gaussians by their posterior (per stream, with the senone's mixture
weights); ``(a[d], b[d])`` then minimise ``sum_t sum_k gamma_tk (x_td - a mu_kd
- b)**2 / var_kd``, a weighted least-squares problem with a 2 x 2 normal
matrix per dimension. Variances and weights are kept.

Measured (benchmarks/README.md, issue 13): on MFA's conversational files the
mean word-boundary difference fell from 46.7 to 37.7 ms and the boundaries over
100 ms from 26 to 19; on espeak-ng speech with known timings, starts within
20 ms rose from 73% to 76%. A full 13 x 14 transform per stream gained more on
the synthetic voice but lost on MFA's files; MAP re-estimation of each mean
gained nothing.
"""

import numpy as np

from ..exceptions import ParameterError

__all__ = ["MIN_ADAPTATION_FRAMES", "gaussian_statistics", "diagonal_mllr"]

#: fewer aligned frames than this (3 s) leave the model as it is
MIN_ADAPTATION_FRAMES = 300


_LOG_WEIGHTS = {}
_NORMAL_TERMS = {}


def _log_weights(model):
    """log of the mixture weights (floored at 1e-30), computed once per weight array."""
    w = model.mixture_weights
    found = _LOG_WEIGHTS.get(id(w))
    if found is None or found[0] is not w:
        found = _LOG_WEIGHTS[id(w)] = (w, np.log(np.maximum(w, np.float32(1e-30))))
    return found[1]


def gaussian_statistics(model, features, senones):
    """Occupancy and first-order sums of every Gaussian, from frames and their senones.

    Each frame is shared among its senone's Gaussians by their posterior, per
    stream (:func:`align.kernels.gmm.gaussian_occupancy`).

    Parameters
    ----------
    model : align.acoustic.sphinx_model.SphinxModel
    features : np.ndarray [shape=(T, F * D)]
    senones : np.ndarray [shape=(T,), int]
        The senone each frame was aligned to.

    Returns
    -------
    occupancy : np.ndarray [shape=(C, F, K)]
        ``sum_t gamma_tk`` per codebook, stream and Gaussian.
    first : np.ndarray [shape=(C, F, K, D)]
        ``sum_t gamma_tk x_t`` (the stream's part of the frame).
    """
    from ..kernels.gmm import gaussian_occupancy

    C, F, K, D = model.means.shape
    occupancy = np.zeros((C, F, K))
    first = np.zeros((C, F, K, D))
    prep = model._prepared()
    gaussian_occupancy(np.ascontiguousarray(features, dtype=np.float32), np.asarray(senones, dtype=np.int64),
                       model.senone_codebook, prep["means"], prep["half_inv_vars"], prep["log_consts"],
                       _log_weights(model), occupancy, first)
    return occupancy, first


def _normal_terms(model):
    """Per stream, ``1/var``, ``mu/var`` and ``mu**2/var`` of every Gaussian: (M, D) float64 each.

    They depend on the model only, so they are made once per means and
    variances array (a call then costs the statistics and five weighted sums,
    not 45 temporaries of half a megabyte, which took 3 ms a call).
    """
    key = (id(model.means), id(model.variances))
    found = _NORMAL_TERMS.get(key)
    if found is None or found[0] is not model.means or found[1] is not model.variances:
        C, F, K, D = model.means.shape
        terms = []
        for f in range(F):
            m = model.means[:, f].reshape(-1, D).astype(np.float64)
            iv = 1.0 / model.variances[:, f].reshape(-1, D).astype(np.float64)
            terms.append((iv, iv * m, iv * m * m))
        if len(_NORMAL_TERMS) >= 2:  # 5 MB each: keep the latest models only
            _NORMAL_TERMS.clear()
        found = _NORMAL_TERMS[key] = (model.means, model.variances, terms)
    return found[2]


def diagonal_mllr(model, features, senones):
    """A copy of ``model`` with every mean moved by the per-dimension MLLR map of these frames.

    Parameters
    ----------
    model : align.acoustic.sphinx_model.SphinxModel
    features : np.ndarray [shape=(T, 39)]
        The aligned frames (``sphinx_features`` output).
    senones : np.ndarray [shape=(T,), int]
        The senone each frame was aligned to.

    Returns
    -------
    model : SphinxModel
        New means; everything else shared with ``model``, which is not changed.
        ``model`` itself when fewer than :data:`MIN_ADAPTATION_FRAMES` frames are given.
    scale, offset : np.ndarray [shape=(39,)]
        The map (ones and zeros when not adapted).

    Raises
    ------
    ParameterError
        If the shapes disagree.
    """
    features = np.asarray(features)
    senones = np.asarray(senones, dtype=np.int64)
    C, F, K, D = model.means.shape
    if features.ndim != 2 or features.shape[1] != F * D or senones.shape != (features.shape[0],):
        raise ParameterError(f"features (T, {F * D}) and senones (T,) must agree, got {features.shape} "
                             f"and {senones.shape}")
    scale, offset = np.ones(F * D), np.zeros(F * D)
    if features.shape[0] < MIN_ADAPTATION_FRAMES:
        return model, scale, offset
    from ..kernels.gmm import mllr_normal_sums

    occupancy, first = gaussian_statistics(model, features, senones)
    sums = np.empty((5, D))
    for f, (iv, ivm, ivmm) in enumerate(_normal_terms(model)):
        n = np.ascontiguousarray(occupancy[:, f]).reshape(-1)       # (M,)
        s = np.ascontiguousarray(first[:, f]).reshape(-1, D)        # (M, D)
        # normal equations of (b, a) per dimension: [[sum w, sum w mu], [sum w mu, sum w mu^2]],
        # w = n / var; one compiled pass over the Gaussians a frame touched (no BLAS threads)
        mllr_normal_sums(n, s, iv, ivm, ivmm, sums)
        g00, g01, g11, k0, k1 = sums
        det = g00 * g11 - g01 * g01
        ok = det > 1e-9 * np.maximum(g00 * g11, 1e-300)
        a = np.where(ok, (g00 * k1 - g01 * k0) / np.where(ok, det, 1.0), 1.0)
        b = np.where(ok, (k0 - a * g01) / np.maximum(g00, 1e-300), 0.0)
        scale[f * D:(f + 1) * D], offset[f * D:(f + 1) * D] = a, b
    means = (model.means * scale.reshape(F, D)[None, :, None, :].astype(np.float32)
             + offset.reshape(F, D)[None, :, None, :].astype(np.float32))
    return model.with_means(means), scale, offset
