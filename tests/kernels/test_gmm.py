"""align.kernels.gmm against the independent references in tests/reference/gmm.py."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.kernels import gmm as K
from tests.reference import gmm as ref


def _toy(rng, C=3, F=2, K_=4, D=3, n_sen=7, spread=1.0):
    means = rng.standard_normal((C, F, K_, D)) * spread
    variances = rng.uniform(0.3, 2.0, (C, F, K_, D))
    weights = rng.dirichlet(np.ones(K_), size=(n_sen, F))
    cb = rng.integers(0, C, n_sen)
    return means, variances, weights, cb


def _run_kernel(features, means, variances, weights, cb, senones):
    """Prepare the kernel layout as the API does, run it, return (T, S) float32."""
    C, F, K_, D = means.shape
    kmeans = np.ascontiguousarray(means.transpose(0, 1, 3, 2), dtype=np.float32)
    hiv = np.ascontiguousarray((0.5 / variances).transpose(0, 1, 3, 2), dtype=np.float32)
    consts = np.ascontiguousarray(-0.5 * np.log(2 * np.pi * variances).sum(axis=3), dtype=np.float32)
    senones = np.asarray(senones)
    sc = cb[senones]
    order = np.argsort(sc, kind="stable")
    ptr = np.searchsorted(sc[order], np.arange(C + 1)).astype(np.int64)
    w = np.ascontiguousarray(weights[senones[order]], dtype=np.float32)
    out = np.full((features.shape[0], senones.size), np.nan, dtype=np.float32)
    K.score_senones(np.ascontiguousarray(features, dtype=np.float32), kmeans, hiv, consts, w,
                    ptr, order.astype(np.int64), out)
    return out


@pytest.mark.parametrize("T", [1, K.BLOCK - 1, K.BLOCK, 2 * K.BLOCK + 1])
def test_score_senones_matches_reference(rng, T):
    means, variances, weights, cb = _toy(rng)
    x = rng.standard_normal((T, 2 * 3)).astype(np.float32)
    senones = np.arange(len(cb))
    ref_s = ref.senone_log_likelihoods(x, means, variances, weights, cb, senones)
    comp = _run_kernel(x, means, variances, weights, cb, senones)
    np.testing.assert_allclose(comp, ref_s, rtol=1e-5, atol=1e-4)


def test_score_senones_matches_brute_force(rng):
    means, variances, weights, cb = _toy(rng, C=2, F=2, K_=3, D=2, n_sen=4, spread=0.5)
    x = (rng.standard_normal((5, 4)) * 0.5).astype(np.float32)
    senones = np.arange(4)
    brute = ref.senone_likelihoods_brute(x, means, variances, weights, cb, senones)
    comp = _run_kernel(x, means, variances, weights, cb, senones)
    np.testing.assert_allclose(comp, brute, rtol=1e-5, atol=1e-4)


def test_subset_columns_and_order(rng):
    """A subset in any order (repeats allowed) fills exactly its own columns."""
    means, variances, weights, cb = _toy(rng, n_sen=9)
    x = rng.standard_normal((10, 6)).astype(np.float32)
    full = _run_kernel(x, means, variances, weights, cb, np.arange(9))
    subset = np.array([8, 2, 2, 5, 0])
    part = _run_kernel(x, means, variances, weights, cb, subset)
    np.testing.assert_array_equal(part, full[:, subset])


def test_far_outliers_do_not_underflow(rng):
    """Frames 1e3 standard deviations away: densities underflow, logs must not."""
    means, variances, weights, cb = _toy(rng)
    x = np.full((3, 6), 1e3, dtype=np.float32)
    senones = np.arange(len(cb))
    comp = _run_kernel(x, means, variances, weights, cb, senones)
    ref_s = ref.senone_log_likelihoods(x, means, variances, weights, cb, senones)
    assert np.isfinite(comp).all()
    np.testing.assert_allclose(comp, ref_s, rtol=1e-5)


@pytest.mark.parametrize("T", [K.GROUP - 1, K.GROUP + 3, K.BLOCK + 5])
def test_frames_scored_together_equal_each_alone(rng, T):
    """GROUP frames at a time: every frame's scores as alone (the Gaussians bit for bit; the
    mixture sums of a group add in another order, so within float32 rounding)."""
    means, variances, weights, cb = _toy(rng, C=3, F=3, K_=20, D=13, n_sen=8)
    x = rng.standard_normal((T, 3 * 13)).astype(np.float32)
    senones = np.arange(8)
    together = _run_kernel(x, means, variances, weights, cb, senones)
    alone = np.vstack([_run_kernel(x[t:t + 1], means, variances, weights, cb, senones) for t in range(T)])
    np.testing.assert_allclose(together, alone, rtol=2e-7, atol=0)
    # and the frames of a group do not leak into each other: change one, the others stay
    y = x.copy()
    y[1] += 3.0
    changed = _run_kernel(y, means, variances, weights, cb, senones)
    np.testing.assert_array_equal(np.delete(changed, 1, axis=0), np.delete(together, 1, axis=0))
    assert not np.array_equal(changed[1], together[1])


def test_many_streams_whose_product_would_underflow(rng):
    """30 streams whose mixture sums are each 1e-12: their product (1e-360) is below float64's
    range, so the kernel must sum the logs instead of logging the product."""
    means, variances, weights, cb = _toy(rng, C=2, F=30, K_=1, D=1, n_sen=3)
    weights[:] = 1e-12  # one Gaussian a stream: its mixture sum is exactly its weight
    x = rng.standard_normal((5, 30)).astype(np.float32)
    senones = np.arange(3)
    comp = _run_kernel(x, means, variances, weights, cb, senones)
    ref_s = ref.senone_log_likelihoods(x, means, variances, weights, cb, senones)
    assert np.isfinite(comp).all() and (comp < 30 * np.log(1e-12) + 30).all()
    np.testing.assert_allclose(comp, ref_s, rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    T=st.integers(1, 40),
    K_=st.integers(1, 6),
    D=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_single_gaussian_and_reference(T, K_, D, seed):
    """Hypothesis: any sizes agree with the reference; a one-hot weight is one Gaussian."""
    rng = np.random.default_rng(seed)
    means, variances, weights, cb = _toy(rng, C=2, F=2, K_=K_, D=D, n_sen=3)
    weights[0] = 0.0
    weights[0, :, 0] = 1.0
    x = rng.standard_normal((T, 2 * D)).astype(np.float32)
    senones = np.arange(3)
    comp = _run_kernel(x, means, variances, weights, cb, senones)
    np.testing.assert_allclose(
        comp, ref.senone_log_likelihoods(x, means, variances, weights, cb, senones),
        rtol=1e-5, atol=1e-4)
    c = cb[0]
    one = [sum(ref.gaussian_log_density(x[t, f * D:(f + 1) * D], means[c, f, 0], variances[c, f, 0])
               for f in range(2)) for t in range(T)]
    np.testing.assert_allclose(comp[:, 0], one, rtol=1e-5, atol=1e-4)


def test_gaussian_log_densities(rng):
    means, variances, weights, cb = _toy(rng)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    C, F, K_, D = means.shape
    out = np.empty((4, C, F, K_), dtype=np.float32)
    K.gaussian_log_densities(
        x, np.ascontiguousarray(means.transpose(0, 1, 3, 2), dtype=np.float32),
        np.ascontiguousarray((0.5 / variances).transpose(0, 1, 3, 2), dtype=np.float32),
        np.ascontiguousarray(-0.5 * np.log(2 * np.pi * variances).sum(axis=3), dtype=np.float32),
        out)
    for t in range(4):
        for c in range(C):
            for f in range(F):
                for k in range(K_):
                    expect = ref.gaussian_log_density(x[t, f * D:(f + 1) * D], means[c, f, k],
                                                      variances[c, f, k])
                    assert out[t, c, f, k] == pytest.approx(expect, rel=1e-5, abs=1e-4)


def test_mllr_normal_sums_against_einsum(rng):
    M, D = 50, 4
    n = rng.uniform(0, 3, M)
    n[::3] = 0.0  # Gaussians no frame touched
    s = rng.standard_normal((M, D)) * n[:, None]
    iv, ivm, ivmm = rng.uniform(0.5, 2, (M, D)), rng.standard_normal((M, D)), rng.uniform(0, 3, (M, D))
    out = np.full((5, D), np.nan)
    K.mllr_normal_sums(n, s, iv, ivm, ivmm, out)
    want = [np.einsum("m,md->d", n, iv), np.einsum("m,md->d", n, ivm), np.einsum("m,md->d", n, ivmm),
            np.einsum("md,md->d", s, iv), np.einsum("md,md->d", s, ivm)]
    np.testing.assert_allclose(out, np.array(want), rtol=1e-12)
