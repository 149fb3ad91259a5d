"""Diagonal MLLR speaker adaptation: the closed form against least squares, recovery of a known map."""

import numpy as np
import pytest

import align
from align.acoustic.adapt import MIN_ADAPTATION_FRAMES, diagonal_mllr, gaussian_statistics
from align.speech.transcript import _model


@pytest.fixture(scope="module")
def model():
    return _model()


def _sample(model, senones, rng):
    """Frames drawn from each senone's own mixture (per stream: a Gaussian by weight, then x)."""
    C, F, K, D = model.means.shape
    x = np.empty((len(senones), F * D))
    for t, s in enumerate(senones):
        c = model.senone_codebook[s]
        for f in range(F):
            w = model.mixture_weights[s, f].astype(np.float64)
            k = rng.choice(K, p=w / w.sum())
            mu, var = model.means[c, f, k], model.variances[c, f, k]
            x[t, f * D:(f + 1) * D] = mu + np.sqrt(var) * rng.standard_normal(D)
    return x


def _senones(model, n, rng):
    """A run of speech senones, each held for a few frames as in an alignment."""
    speech = np.arange(model.n_ci_senones, model.n_senones)
    picks = rng.choice(speech, size=n // 5 + 1)
    return np.repeat(picks, 5)[:n]


def _statistics_reference(model, features, senones):
    """Gaussian posteriors frame by frame in float64, the direct (x - mu)^2 form."""
    C, F, K, D = model.means.shape
    occupancy, first = np.zeros((C, F, K)), np.zeros((C, F, K, D))
    for x, s in zip(features, senones):
        c = model.senone_codebook[s]
        for f in range(F):
            xf = x[f * D:(f + 1) * D].astype(np.float64)
            mu, var = model.means[c, f].astype(np.float64), model.variances[c, f].astype(np.float64)
            w = model.mixture_weights[s, f].astype(np.float64)
            log_p = (np.log(np.maximum(w, 1e-30)) - 0.5 * np.log(2 * np.pi * var).sum(axis=1)
                     - 0.5 * ((xf - mu) ** 2 / var).sum(axis=1))
            gamma = np.exp(log_p - log_p.max())
            gamma /= gamma.sum()
            occupancy[c, f] += gamma
            first[c, f] += gamma[:, None] * xf
    return occupancy, first


def test_statistics_kernel_against_the_direct_form(model, rng):
    senones = _senones(model, 60, rng)
    x = _sample(model, senones, rng).astype(np.float32)
    occupancy, first = gaussian_statistics(model, x, senones)
    want_occ, want_first = _statistics_reference(model, x, senones)
    np.testing.assert_allclose(occupancy, want_occ, atol=1e-4)
    np.testing.assert_allclose(first, want_first, atol=2e-3)
    assert occupancy.sum() == pytest.approx(len(senones) * model.means.shape[1])  # every frame once per stream


@pytest.mark.parametrize("which", ["model", "adapted after the model"])
def test_the_closed_form_is_the_weighted_least_squares_solution(model, rng, which):
    senones = _senones(model, 400, rng)
    x = _sample(model, senones, rng) * 1.05 + 0.3
    if which != "model":
        # the per-model terms (1/var, mu/var, mu^2/var) are kept from the call on the model:
        # a copy with other means must get its own
        diagonal_mllr(model, x, senones)
        model = model.with_means(model.means * np.float32(0.9) + np.float32(0.5))
    occupancy, first = gaussian_statistics(model, x, senones)
    _, scale, offset = diagonal_mllr(model, x, senones)
    C, F, K, D = model.means.shape
    # the oracle: every (codebook, Gaussian) with its statistics as weighted rows
    for f, d in [(0, 0), (0, 7), (1, 3), (2, 12)]:
        n = occupancy[:, f].ravel()
        mu = model.means[:, f, :, d].astype(np.float64).ravel()
        iv = 1.0 / model.variances[:, f, :, d].astype(np.float64).ravel()
        xbar = np.divide(first[:, f, :, d].ravel(), n, out=np.zeros_like(n), where=n > 0)
        # sum_t gamma (x - a mu - b)^2 iv = sum_k n_k iv_k (xbar_k - a mu_k - b)^2 + const
        sw = np.sqrt(n * iv)
        A = np.stack([sw, sw * mu], axis=1)
        (b, a), *_ = np.linalg.lstsq(A, sw * xbar, rcond=None)
        assert scale[f * D + d] == pytest.approx(a, rel=1e-6)
        assert offset[f * D + d] == pytest.approx(b, rel=1e-6, abs=1e-9)


def _mean_shift_error(model, scale, offset, true_scale, true_offset):
    """RMS over every Gaussian and dimension of (estimated - true moved mean) / std."""
    mu = model.means.astype(np.float64).transpose(0, 2, 1, 3).reshape(-1, scale.size)
    sd = np.sqrt(model.variances.astype(np.float64).transpose(0, 2, 1, 3).reshape(-1, scale.size))
    return float(np.sqrt(np.mean((((scale - true_scale) * mu + (offset - true_offset)) / sd) ** 2)))


def test_a_known_map_is_recovered_and_the_model_itself_gives_the_identity(model, rng):
    senones = _senones(model, 3000, rng)
    x = _sample(model, senones, rng)
    ones, zeros = np.ones(x.shape[1]), np.zeros(x.shape[1])
    _, scale, offset = diagonal_mllr(model, x, senones)
    # the estimate's own noise (3,000 frames): 0.67; the map below moves means by about 3
    assert _mean_shift_error(model, scale, offset, ones, zeros) < 1.0
    true_scale = 1 + 0.08 * rng.standard_normal(x.shape[1])
    true_offset = 0.2 * rng.standard_normal(x.shape[1])
    adapted, scale, offset = diagonal_mllr(model, x * true_scale + true_offset, senones)
    # measured 0.20-0.26 of the error of not adapting (seeds 0-2)
    not_adapting = _mean_shift_error(model, ones, zeros, true_scale, true_offset)
    assert _mean_shift_error(model, scale, offset, true_scale, true_offset) < 0.4 * not_adapting
    # every mean moved by the map, the original model untouched
    np.testing.assert_allclose(adapted.means[3, 1, 5], model.means[3, 1, 5] * scale[13:26] + offset[13:26],
                               rtol=1e-5, atol=1e-5)
    assert adapted.means is not model.means and adapted.variances is model.variances


def test_too_few_frames_leave_the_model_alone(model, rng):
    senones = _senones(model, MIN_ADAPTATION_FRAMES - 1, rng)
    same, scale, offset = diagonal_mllr(model, _sample(model, senones, rng), senones)
    assert same is model and np.all(scale == 1) and np.all(offset == 0)
    with pytest.raises(align.ParameterError, match="must agree"):
        diagonal_mllr(model, np.zeros((10, 39)), np.zeros(9, dtype=int))
