"""Public soft-DTW API: align.soft_dtw, soft_dtw_batch and the torch loss SoftDTWLoss."""

import math

import numpy as np
import pytest

import align
from align import BackendUnavailableError, InfeasibleAlignmentError, ParameterError
from align.sequence.softdtw import SoftDTWResult, soft_dtw_batch
from tests.reference.softdtw import cost_matrix, dtw_1d, soft_dtw_bruteforce, soft_dtw_tables

torch = pytest.importorskip("torch")


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xp[idx] += eps
        xm = x.copy()
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("gamma", [0.01, 0.3, 1.0, 5.0])
def test_equals_tslearn(rng, gamma):
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    x = rng.normal(size=(12, 3))
    y = rng.normal(size=(9, 3))
    ours = align.soft_dtw(x, y, gamma=gamma)
    theirs = tslearn_metrics.soft_dtw(x, y, gamma=gamma)
    assert isinstance(ours, float)
    assert abs(ours - theirs) <= 1e-10 * max(1.0, abs(theirs))


def test_1d_inputs_and_oracle(rng):
    x = rng.normal(size=4)
    y = rng.normal(size=5)
    want = soft_dtw_bruteforce(cost_matrix(x, y), 0.5)
    assert align.soft_dtw(x, y, gamma=0.5) == pytest.approx(want, rel=1e-12)
    assert align.soft_dtw(x.tolist(), y.tolist(), gamma=0.5) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "cityblock"])
def test_other_metrics(rng, metric):
    x = rng.normal(size=(4, 2))
    y = rng.normal(size=(3, 2))
    want = soft_dtw_tables(cost_matrix(x, y, metric), 0.4)[0]
    assert align.soft_dtw(x, y, gamma=0.4, metric=metric) == pytest.approx(want, rel=1e-12)


def test_band(rng):
    x = rng.normal(size=(6, 2))
    y = rng.normal(size=(4, 2))
    want = soft_dtw_bruteforce(cost_matrix(x, y), 0.5, radius=1)
    assert align.soft_dtw(x, y, gamma=0.5, radius=1) == pytest.approx(want, rel=1e-12)
    assert align.soft_dtw(x, y, gamma=0.5, radius=100) == pytest.approx(align.soft_dtw(x, y, gamma=0.5))


def test_small_gamma_tends_to_exact_dtw(rng):
    x = rng.normal(size=15)
    y = rng.normal(size=11)
    try:
        exact = align.dtw_distance(x, y, metric="sqeuclidean")
    except NotImplementedError:
        exact = dtw_1d(x, y)
    assert exact == pytest.approx(dtw_1d(x, y), rel=1e-12)
    values = [align.soft_dtw(x, y, gamma=g) for g in (1.0, 0.1, 0.01, 1e-4)]
    gaps = [exact - v for v in values]
    assert all(g >= -1e-12 for g in gaps)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-4 * math.log(3.0**25)


def test_float32_inputs(rng):
    x = rng.normal(size=(8, 2)).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)
    res = align.soft_dtw(x, y, gamma=0.5, return_grad=True)
    assert res.grad.dtype == np.float32
    assert res.value == pytest.approx(align.soft_dtw(x.astype(float), y.astype(float), gamma=0.5), rel=1e-5)


def test_torch_tensors_are_accepted(rng):
    x = rng.normal(size=(5, 2))
    y = rng.normal(size=(4, 2))
    assert align.soft_dtw(torch.from_numpy(x), torch.from_numpy(y)) == align.soft_dtw(x, y)


# ---------------------------------------------------------------- gradients and divergence


def test_gradient(rng):
    x = rng.normal(size=(5, 2))
    y = rng.normal(size=(6, 2))
    res = align.soft_dtw(x, y, gamma=0.3, return_grad=True)
    assert isinstance(res, SoftDTWResult) and res.grad.shape == x.shape
    num = numeric_grad(lambda a: align.soft_dtw(a, y, gamma=0.3), x)
    np.testing.assert_allclose(res.grad, num, rtol=1e-5, atol=1e-7)


def test_gradient_1d_keeps_shape(rng):
    x = rng.normal(size=5)
    y = rng.normal(size=3)
    res = align.soft_dtw(x, y, gamma=0.3, radius=1, return_grad=True)
    assert res.grad.shape == (5,)
    num = numeric_grad(lambda a: align.soft_dtw(a, y, gamma=0.3, radius=1), x)
    np.testing.assert_allclose(res.grad, num, rtol=1e-5, atol=1e-7)


def test_divergence(rng):
    x = rng.normal(size=(5, 2))
    y = rng.normal(size=(7, 2))
    assert align.soft_dtw(x, x, gamma=1.0, divergence=True) == pytest.approx(0.0, abs=1e-12)
    d = align.soft_dtw(x, y, gamma=1.0, divergence=True)
    want = align.soft_dtw(x, y) - 0.5 * (align.soft_dtw(x, x) + align.soft_dtw(y, y))
    assert d == pytest.approx(want, rel=1e-12) and d > 0
    res = align.soft_dtw(x, y, gamma=1.0, divergence=True, return_grad=True)
    num = numeric_grad(lambda a: align.soft_dtw(a, y, gamma=1.0, divergence=True), x)
    np.testing.assert_allclose(res.grad, num, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- batch and backends


def test_batch_with_lengths(rng):
    X = rng.normal(size=(3, 6, 2))
    Y = rng.normal(size=(3, 5, 2))
    lx, ly = [6, 1, 3], [5, 4, 2]
    X[1, 1:] = np.nan  # padding may hold anything
    got = soft_dtw_batch(X, Y, x_lengths=lx, y_lengths=ly, gamma=0.2, divergence=True)
    want = [align.soft_dtw(X[b, : lx[b]], Y[b, : ly[b]], gamma=0.2, divergence=True) for b in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got.dtype == np.float64 and got.shape == (3,)


@pytest.mark.cuda  # no device: a skip, or a failure where a GPU is required (tests/conftest.py)
def test_cuda_backend_under_simulator_matches_cpu(rng, monkeypatch):
    from align.kernels import _config

    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 3)
    monkeypatch.setattr(_config, "WAVE_LANES", 2)  # the wave kernels: both pairs in one block
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)
    X = rng.normal(size=(2, 4, 2))
    Y = rng.normal(size=(2, 5, 2))
    got = soft_dtw_batch(X, Y, x_lengths=[4, 2], gamma=0.5, radius=2, backend="cuda")
    want = soft_dtw_batch(X, Y, x_lengths=[4, 2], gamma=0.5, radius=2, backend="cpu")
    np.testing.assert_allclose(got, want, rtol=1e-13)
    res_gpu = align.soft_dtw(X[0], Y[0], gamma=0.5, return_grad=True, backend="cuda")
    res_cpu = align.soft_dtw(X[0], Y[0], gamma=0.5, return_grad=True, backend="cpu")
    np.testing.assert_allclose(res_gpu.grad, res_cpu.grad, rtol=1e-12)


# ---------------------------------------------------------------- errors (one per message)


@pytest.mark.parametrize("gamma", [0.0, -1.0, float("nan"), float("inf")])
def test_gamma_must_be_positive_finite(gamma):
    with pytest.raises(ParameterError, match=r"gamma must be a finite number > 0, got"):
        align.soft_dtw([0.0, 1.0], [1.0], gamma=gamma)


def test_gamma_must_be_a_number():
    with pytest.raises(ParameterError, match=r"gamma must be a real number > 0, got '1'"):
        align.soft_dtw([0.0, 1.0], [1.0], gamma="1")


def test_nan_and_inf_are_refused():
    with pytest.raises(ParameterError, match=r"x must be finite, found nan at index 1;"):
        align.soft_dtw([0.0, np.nan], [1.0])
    with pytest.raises(ParameterError, match=r"y must be finite, found inf"):
        align.soft_dtw([0.0, 1.0], [np.inf])


def test_feature_mismatch():
    with pytest.raises(ParameterError, match=r"x and y must have the same number of features, got x.shape=\(3, 2\) and y.shape=\(4, 3\)"):
        align.soft_dtw(np.zeros((3, 2)), np.zeros((4, 3)))


def test_wrong_rank():
    with pytest.raises(ParameterError, match=r"x must have 1 or 2 dimension\(s\), got shape \(1, 2, 3\)"):
        align.soft_dtw(np.zeros((1, 2, 3)), np.zeros(3))


def test_empty_sequence():
    with pytest.raises(ParameterError, match=r"y must hold at least one sequence with one time step"):
        align.soft_dtw(np.zeros(3), np.zeros(0))


def test_batch_nan_names_the_sequence():
    X = np.zeros((2, 3))
    X[1, 2] = np.nan
    with pytest.raises(ParameterError, match=r"X\[1\] must be finite, found nan at index \(2, 0\)"):
        soft_dtw_batch(X, np.zeros((2, 3)))


def test_band_too_narrow():
    with pytest.raises(InfeasibleAlignmentError, match=r"radius=0 is too narrow for lengths N=3 and M=2"):
        align.soft_dtw([0.0, 1.0, 2.0], [0.0, 2.0], radius=0)


def test_bad_metric_and_radius():
    with pytest.raises(ParameterError, match=r"metric='cosine' is not supported; use one of 'sqeuclidean'"):
        align.soft_dtw([0.0], [1.0], metric="cosine")
    with pytest.raises(ParameterError, match=r"radius must be >= 0, got -1"):
        align.soft_dtw([0.0], [1.0], radius=-1)


def test_lengths_checked():
    X = np.zeros((2, 4))
    with pytest.raises(ParameterError, match=r"x_lengths\[1\]=5 is out of range: each length must be between 1 and 4"):
        soft_dtw_batch(X, X, x_lengths=[4, 5])
    with pytest.raises(ParameterError, match=r"y_lengths must have one entry per sequence \(2\), got shape \(3,\)"):
        soft_dtw_batch(X, X, y_lengths=[1, 2, 3])
    with pytest.raises(ParameterError, match=r"X and Y must hold the same number of sequences, got 2 and 3"):
        soft_dtw_batch(X, np.zeros((3, 4)))


def test_cuda_requested_without_gpu(monkeypatch):
    import align._backend

    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match=r"backend='cuda' was requested"):
        align.soft_dtw([0.0, 1.0], [1.0], backend="cuda")


# ---------------------------------------------------------------- torch loss


def test_loss_gradcheck_float64(rng):
    from align.sequence.softdtw_torch import soft_dtw_torch

    x = torch.tensor(rng.normal(size=(2, 4, 2)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(2, 3, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: soft_dtw_torch(a, b, gamma=0.5), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: soft_dtw_torch(a, b, gamma=0.5, divergence=True), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b: soft_dtw_torch(a, b, [4, 2], [1, 3], gamma=0.5, radius=1), (x, y)
    )


def test_loss_values_match_numpy_and_tslearn(rng):
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    x = rng.normal(size=(3, 6, 2))
    y = rng.normal(size=(3, 5, 2))
    loss = align.SoftDTWLoss(gamma=0.7, reduction="none")
    got = loss(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    want = [tslearn_metrics.soft_dtw(x[b], y[b], gamma=0.7) for b in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    lx, ly = torch.tensor([6, 3, 1]), torch.tensor([2, 5, 4])
    got = loss(torch.from_numpy(x), torch.from_numpy(y), lx, ly).numpy()
    want = soft_dtw_batch(x, y, x_lengths=lx, y_lengths=ly, gamma=0.7)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_loss_reductions_and_normalize(rng):
    x = torch.tensor(rng.normal(size=(3, 5, 2)))
    y = torch.tensor(rng.normal(size=(3, 4, 2)))
    per = align.SoftDTWLoss(gamma=1.0, reduction="none")(x, y)
    assert per.shape == (3,)
    assert align.SoftDTWLoss(reduction="sum")(x, y).item() == pytest.approx(per.sum().item())
    assert align.SoftDTWLoss()(x, y).item() == pytest.approx(per.mean().item())
    div = align.SoftDTWLoss(divergence=True, reduction="none")(x, x)
    assert torch.allclose(div, torch.zeros(3, dtype=div.dtype), atol=1e-12)


def test_loss_trains_float32_and_grads_for_y(rng):
    x = torch.tensor(rng.normal(size=(2, 6, 3)), dtype=torch.float32, requires_grad=True)
    y = torch.tensor(rng.normal(size=(2, 4, 3)), dtype=torch.float32, requires_grad=True)
    loss = align.SoftDTWLoss(gamma=0.1, divergence=True)
    value = loss(x, y)
    value.backward()
    assert x.grad.shape == x.shape and y.grad.shape == y.shape
    assert x.grad.dtype == torch.float32
    with torch.no_grad():
        x2 = x - 0.05 * x.grad
    assert loss(x2, y).item() < value.item()


def test_loss_errors(rng):
    x = torch.zeros(2, 3, 2)
    with pytest.raises(ParameterError, match=r"reduction='avg' is not supported; use one of 'mean', 'sum', 'none'"):
        align.SoftDTWLoss(reduction="avg")
    with pytest.raises(ParameterError, match=r"gamma must be a finite number > 0, got 0"):
        align.SoftDTWLoss(gamma=0)
    with pytest.raises(ParameterError, match=r"x must have shape \(B, L, d\), got shape \(3, 2\)"):
        align.SoftDTWLoss()(x[0], x[0])
    with pytest.raises(ParameterError, match=r"x and y must have the same batch size and number of features, got x.shape=\(2, 3, 2\) and y.shape=\(2, 3, 1\)"):
        align.SoftDTWLoss()(x, x[:, :, :1])
    with pytest.raises(ParameterError, match=r"y must be finite, found NaN or inf"):
        align.SoftDTWLoss()(x, torch.full((2, 3, 2), float("nan")))
    with pytest.raises(ParameterError, match=r"x_lengths\[0\]=4 is out of range: each length must be between 1 and 3"):
        align.SoftDTWLoss()(x, x, torch.tensor([4, 1]))
    with pytest.raises(ParameterError, match=r"y_lengths must have one entry per sequence \(2\)"):
        align.SoftDTWLoss()(x, x, None, [1])
    with pytest.raises(ParameterError, match=r"x must be a floating-point tensor, got dtype torch.int64"):
        align.SoftDTWLoss()(torch.zeros(2, 3, 2, dtype=torch.int64), x)
    with pytest.raises(ParameterError, match=r"x must be a torch.Tensor, got ndarray"):
        align.SoftDTWLoss()(np.zeros((2, 3, 2)), x)
    with pytest.raises(InfeasibleAlignmentError, match=r"radius=0 is too narrow for lengths N=3 and M=2"):
        align.SoftDTWLoss(radius=0)(x, torch.zeros(2, 2, 2))


def test_band_matches_tslearn_for_equal_lengths(rng):
    # tslearn's torch loss works in float32 internally; its numpy soft_dtw is the float64 peer
    tslearn_metrics = pytest.importorskip("tslearn.metrics")
    x = rng.normal(size=(2, 7, 2))
    y = rng.normal(size=(2, 7, 2))
    ours = align.SoftDTWLoss(gamma=0.4, radius=2, reduction="none")(torch.tensor(x), torch.tensor(y)).numpy()
    theirs = [
        tslearn_metrics.soft_dtw(x[b], y[b], gamma=0.4, global_constraint="sakoe_chiba", sakoe_chiba_radius=2)
        for b in range(2)
    ]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    assert not np.allclose(ours, soft_dtw_batch(x, y, gamma=0.4))


# ---------------------------------------------------------------- the shared conventions


def test_batch_takes_a_list_positional_lengths_and_errors(rng):
    seqs_x = [rng.normal(size=(n, 2)) for n in (4, 2, 6)]
    seqs_y = [rng.normal(size=(m, 2)) for m in (3, 5, 1)]
    X = np.zeros((3, 6, 2))
    Y = np.zeros((3, 5, 2))
    for b in range(3):
        X[b, : len(seqs_x[b])] = seqs_x[b]
        Y[b, : len(seqs_y[b])] = seqs_y[b]
    want = [align.soft_dtw(a, b, gamma=0.3) for a, b in zip(seqs_x, seqs_y)]
    np.testing.assert_allclose(soft_dtw_batch(seqs_x, seqs_y, gamma=0.3), want, rtol=1e-12)
    np.testing.assert_allclose(soft_dtw_batch(X, Y, [4, 2, 6], [3, 5, 1], gamma=0.3), want, rtol=1e-12)
    with pytest.warns(DeprecationWarning, match="len_x= is now spelled x_lengths="):
        old = soft_dtw_batch(X, Y, len_x=[4, 2, 6], y_lengths=[3, 5, 1], gamma=0.3)
    np.testing.assert_allclose(old, want, rtol=1e-12)
    # radius 0 admits no path for unequal lengths: raise, or inf for that pair only
    with pytest.raises(InfeasibleAlignmentError):
        soft_dtw_batch(seqs_x, seqs_y, radius=0)
    same = [rng.normal(size=(3, 2)), rng.normal(size=(5, 2))]
    got = soft_dtw_batch([same[0], same[1]], [same[1][:3], same[1][:4]], radius=0, errors="ignore")
    assert math.isfinite(got[0]) and got[1] == math.inf


def test_torch_in_torch_out_for_numpy_api(rng):
    x = torch.tensor(rng.normal(size=(5, 2)))
    y = torch.tensor(rng.normal(size=(4, 2)))
    r = align.soft_dtw(x, y, gamma=0.5, return_grad=True)
    assert isinstance(r.grad, torch.Tensor) and r.grad.shape == x.shape
    np.testing.assert_allclose(r.grad.numpy(), align.soft_dtw(x.numpy(), y.numpy(), gamma=0.5, return_grad=True).grad)
    v = soft_dtw_batch(x[None], y[None], gamma=0.5)
    assert isinstance(v, torch.Tensor) and v.item() == pytest.approx(r.value)
    assert isinstance(soft_dtw_batch(x[None].numpy(), y[None].numpy()), np.ndarray)


def test_loss_divergence_name_backend_and_lists(rng):
    x = [torch.tensor(rng.normal(size=(n, 2)), requires_grad=True) for n in (5, 3)]
    y = [torch.tensor(rng.normal(size=(m, 2))) for m in (4, 6)]
    loss = align.SoftDTWLoss(gamma=0.2, divergence=True, reduction="none", backend="cpu")
    got = loss(x, y)
    want = [align.soft_dtw(a.detach().numpy(), b.numpy(), gamma=0.2, divergence=True) for a, b in zip(x, y)]
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-10)
    got.sum().backward()
    assert all(t.grad is not None and t.grad.shape == t.shape for t in x)
    with pytest.warns(DeprecationWarning, match="normalize= is now spelled divergence="):
        old = align.SoftDTWLoss(gamma=0.2, normalize=True, reduction="none")
    assert old.divergence is True
    with pytest.raises(ParameterError, match="backend='gpu' is not supported"):
        align.SoftDTWLoss(backend="gpu")
