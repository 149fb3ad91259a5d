"""CPU soft-DTW kernels against the paper's tables, the path oracle and tslearn."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.kernels import softdtw as k
from tests.reference.softdtw import cost_matrix, soft_dtw_bruteforce, soft_dtw_tables


def run_kernels(x, y, gamma, radius=None, lx=None, ly=None, metric=0):
    """Forward + backward of the CPU kernels on (B, N, d) batches."""
    B, N, _ = x.shape
    M = y.shape[1]
    lx = np.full(B, N, np.int64) if lx is None else np.asarray(lx, np.int64)
    ly = np.full(B, M, np.int64) if ly is None else np.asarray(ly, np.int64)
    dt = x.dtype
    D = np.empty((B, N, M), dt)
    k.pairwise_cost(x, y, lx, ly, metric, D)
    R = np.empty((B, N + 1, M + 1), dt)
    out = np.empty(B, dt)
    r = -1 if radius is None else radius
    k.softdtw_forward(D, lx, ly, dt.type(gamma), r, R, out)
    E = np.zeros((B, N + 1, M + 1), dt)
    k.softdtw_backward(D, R, lx, ly, dt.type(gamma), E)
    gx = np.empty_like(x)
    gy = np.empty_like(y)
    k.cost_grad(x, y, D, lx, ly, metric, E, gx, gy)
    return D, R, out, E, gx, gy


@pytest.mark.parametrize("radius", [None, 0, 1, 2])
@pytest.mark.parametrize("gamma", [0.1, 1.0, 10.0])
def test_against_paper_tables(rng, gamma, radius):
    x = rng.normal(size=(1, 6, 2))
    y = rng.normal(size=(1, 6, 2))
    D, R, out, E, _, _ = run_kernels(x, y, gamma, radius)
    value, Rref, Eref = soft_dtw_tables(cost_matrix(x[0], y[0]), gamma, radius)
    assert out[0] == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(R[0], Rref[: 7, : 7], rtol=1e-12)
    np.testing.assert_allclose(E[0, 1:, 1:], Eref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1), (3, 4), (4, 4), (5, 3)])
@pytest.mark.parametrize("radius", [None, 0, 1])
def test_against_bruteforce(rng, shape, radius):
    n, m = shape
    x = rng.normal(size=(1, n, 1))
    y = rng.normal(size=(1, m, 1))
    _, _, out, _, _, _ = run_kernels(x, y, 0.7, radius)
    want = soft_dtw_bruteforce(cost_matrix(x[0], y[0]), 0.7, radius)
    if math.isinf(want):
        assert out[0] == math.inf
    else:
        assert out[0] == pytest.approx(want, rel=1e-12)


def test_band_too_narrow_gives_inf():
    x = np.array([[[0.0], [1.0], [2.0]]])
    y = np.array([[[0.0], [2.0]]])
    _, _, out, E, _, _ = run_kernels(x, y, 1.0, radius=0)
    assert out[0] == math.inf


@pytest.mark.parametrize("metric", [0, 1, 2])
def test_gradient_matches_finite_differences(rng, metric):
    x = rng.normal(size=(1, 4, 3))
    y = rng.normal(size=(1, 5, 3))
    _, _, out, _, gx, gy = run_kernels(x, y, 0.5, metric=metric)
    eps = 1e-6
    for i, f in [(0, 0), (2, 1), (3, 2)]:
        xp = x.copy()
        xp[0, i, f] += eps
        xm = x.copy()
        xm[0, i, f] -= eps
        num = (run_kernels(xp, y, 0.5, metric=metric)[2][0] - run_kernels(xm, y, 0.5, metric=metric)[2][0]) / (2 * eps)
        assert gx[0, i, f] == pytest.approx(num, rel=1e-5, abs=1e-7)
    for j, f in [(0, 0), (4, 2)]:
        yp = y.copy()
        yp[0, j, f] += eps
        ym = y.copy()
        ym[0, j, f] -= eps
        num = (run_kernels(x, yp, 0.5, metric=metric)[2][0] - run_kernels(x, ym, 0.5, metric=metric)[2][0]) / (2 * eps)
        assert gy[0, j, f] == pytest.approx(num, rel=1e-5, abs=1e-7)


def test_variable_lengths_match_cropped_pairs(rng):
    x = rng.normal(size=(3, 6, 2))
    y = rng.normal(size=(3, 5, 2))
    lx, ly = [6, 2, 4], [1, 5, 3]
    _, _, out, E, gx, _ = run_kernels(x, y, 0.3, radius=2, lx=lx, ly=ly)
    for b in range(3):
        value, _, Eref = soft_dtw_tables(cost_matrix(x[b, : lx[b]], y[b, : ly[b]]), 0.3, 2)
        assert out[b] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(E[b, 1 : lx[b] + 1, 1 : ly[b] + 1], Eref, rtol=1e-10, atol=1e-14)
        assert not E[b, lx[b] + 1 :].any() and not E[b, :, ly[b] + 1 :].any()
        assert not gx[b, lx[b] :].any()


def test_tslearn_agrees(rng):
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    for gamma in (0.01, 0.5, 2.0):
        x = rng.normal(size=(1, 9, 3))
        y = rng.normal(size=(1, 7, 3))
        _, _, out, _, gx, _ = run_kernels(x, y, gamma)
        assert abs(out[0] - tslearn_metrics.soft_dtw(x[0], y[0], gamma=gamma)) <= 1e-10 * max(1.0, abs(out[0]))


def test_float32_close_to_float64(rng):
    x = rng.normal(size=(2, 7, 2))
    y = rng.normal(size=(2, 5, 2))
    out64 = run_kernels(x, y, 0.4)[2]
    out32 = run_kernels(x.astype(np.float32), y.astype(np.float32), 0.4)[2]
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5)


def test_small_gamma_tends_to_exact_dtw(rng):
    from tests.reference.softdtw import dtw_1d

    x = rng.normal(size=8)
    y = rng.normal(size=6)
    exact = dtw_1d(x, y)
    _, _, out, _, _, _ = run_kernels(x[None, :, None], y[None, :, None], 1e-4)
    # soft-min <= min, and the gap is at most gamma * log(number of paths)
    assert exact - 1e-4 * math.log(3.0 ** 14) <= out[0] <= exact + 1e-12


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    gamma=st.floats(0.05, 5.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_value_is_path_softmin_and_E_is_a_flow(n, m, gamma, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=(1, n, 2))
    y = r.normal(size=(1, m, 2))
    _, _, out, E, _, _ = run_kernels(x, y, gamma)
    assert out[0] == pytest.approx(soft_dtw_bruteforce(cost_matrix(x[0], y[0]), gamma), rel=1e-10, abs=1e-12)
    Ev = E[0, 1:, 1:]
    # E is a distribution over paths' cells: corners are visited by every path
    assert Ev[0, 0] == pytest.approx(1.0) and Ev[-1, -1] == pytest.approx(1.0)
    assert np.all(Ev >= -1e-15) and np.all(Ev <= 1.0 + 1e-12)
