"""Soft-DTW on the CPU: ours beside tslearn (Numba) and tslearn's torch loss.

Workloads (one pytest-benchmark group each; every entry asserts its answer
against a value computed once, outside the timing):

- ``softdtw-value-1x(1000,1000,d=13)``: one pair, value only. Ours
  (``align.soft_dtw``) vs ``tslearn.metrics.soft_dtw``.
- ``softdtw-align-1x(500,500,d=13)``: value and expected alignment / gradient.
  Ours (``align.soft_dtw(..., return_grad=True)``: forward, backward and the
  gradient w.r.t. x) vs ``tslearn.metrics.soft_dtw_alignment`` (forward,
  backward, no input gradient).
- ``softdtw-loss-64x(128,128,d=13)``: a torch training step on CPU tensors,
  forward + backward of the batch loss. Ours (``align.SoftDTWLoss``) vs
  ``tslearn.metrics.SoftDTWLossPyTorch`` (which runs its Numba kernel per pair
  on host copies).
- ``softdtw-compile``: import and first call in a fresh process with an empty
  Numba cache (the compile time a user sees once).

Cells per second: ``N*M`` per pair (forward and backward counted once).
GPU timings are in ``benchmarks/gpu/run.py`` (needs a GPU).

Run::

    pytest benchmarks/bench_softdtw.py --benchmark-only --benchmark-disable-gc \
        --benchmark-columns=min,median,max,rounds

Results: ``benchmarks/results/softdtw.md``.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import align

tslearn_metrics = pytest.importorskip("tslearn.metrics")
torch = pytest.importorskip("torch")

D = 13


@pytest.fixture(scope="module")
def pair_1000():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(1000, D)), rng.normal(size=(1000, D))
    want = tslearn_metrics.soft_dtw(x, y, gamma=1.0)
    align.soft_dtw(x[:5], y[:5])  # compile outside the timing
    return x, y, want


@pytest.mark.benchmark(group="softdtw-value-1x(1000,1000,d=13)")
def test_value_ours(benchmark, pair_1000):
    x, y, want = pair_1000
    got = benchmark(align.soft_dtw, x, y, gamma=1.0)
    assert abs(got - want) <= 1e-9 * abs(want)


@pytest.mark.benchmark(group="softdtw-value-1x(1000,1000,d=13)")
def test_value_tslearn(benchmark, pair_1000):
    x, y, want = pair_1000
    got = benchmark(tslearn_metrics.soft_dtw, x, y, gamma=1.0)
    assert abs(got - want) <= 1e-9 * abs(want)


@pytest.fixture(scope="module")
def pair_500():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(500, D)), rng.normal(size=(500, D))
    A, want = tslearn_metrics.soft_dtw_alignment(x, y, gamma=0.5)
    align.soft_dtw(x[:5], y[:5], gamma=0.5, return_grad=True)
    return x, y, A, want


@pytest.mark.benchmark(group="softdtw-align-1x(500,500,d=13)")
def test_align_ours(benchmark, pair_500):
    x, y, A, want = pair_500
    res = benchmark(align.soft_dtw, x, y, gamma=0.5, return_grad=True)
    assert abs(res.value - want) <= 1e-9 * abs(want)
    # the gradient is 2 sum_j A[i, j] (x_i - y_j) with tslearn's alignment matrix A
    np.testing.assert_allclose(res.grad, 2 * (A.sum(1)[:, None] * x - A @ y), rtol=1e-6, atol=1e-9)


@pytest.mark.benchmark(group="softdtw-align-1x(500,500,d=13)")
def test_align_tslearn(benchmark, pair_500):
    x, y, A, want = pair_500
    A2, got = benchmark(tslearn_metrics.soft_dtw_alignment, x, y, gamma=0.5)
    assert abs(got - want) <= 1e-9 * abs(want)


@pytest.fixture(scope="module")
def batch_64():
    gen = torch.Generator().manual_seed(12)
    x = torch.randn((64, 128, D), generator=gen, dtype=torch.float32)
    y = torch.randn((64, 128, D), generator=gen, dtype=torch.float32)
    want = tslearn_metrics.SoftDTWLossPyTorch(gamma=1.0)(x.double(), y.double()).mean().item()
    align.SoftDTWLoss()(x[:2, :5], y[:2, :5])
    return x, y, want


def _step(loss_fn, x, y):
    xg = x.clone().requires_grad_(True)
    value = loss_fn(xg, y)
    value = value.mean() if value.dim() else value
    value.backward()
    return value.item(), xg.grad


@pytest.mark.benchmark(group="softdtw-loss-64x(128,128,d=13)")
def test_loss_ours(benchmark, batch_64):
    x, y, want = batch_64
    got, grad = benchmark(_step, align.SoftDTWLoss(gamma=1.0), x, y)
    assert abs(got - want) <= 1e-4 * abs(want) and grad.shape == x.shape


@pytest.mark.benchmark(group="softdtw-loss-64x(128,128,d=13)")
def test_loss_tslearn(benchmark, batch_64):
    x, y, want = batch_64
    got, grad = benchmark(_step, tslearn_metrics.SoftDTWLossPyTorch(gamma=1.0), x, y)
    assert abs(got - want) <= 1e-4 * abs(want) and grad.shape == x.shape


_COMPILE_CHILD = (
    "import time, numpy as np; t0 = time.perf_counter(); import align, torch;"
    "x = np.random.default_rng(0).normal(size=(20, 3));"
    "align.soft_dtw(x, x[:9], return_grad=True);"
    "align.SoftDTWLoss()(torch.zeros(2, 4, 3, requires_grad=True), torch.ones(2, 5, 3)).backward();"
    "print(time.perf_counter() - t0)"
)


@pytest.mark.benchmark(group="softdtw-compile")
def test_compile_fresh_process(benchmark):
    def run():
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            out = subprocess.run([sys.executable, "-c", _COMPILE_CHILD], env=env, capture_output=True,
                                 text=True, check=True)
            return float(out.stdout.strip())

    seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    assert seconds > 0
