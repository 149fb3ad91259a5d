"""dtw_pairwise on the GPU (here under numba's simulator) equals the CPU."""

import numpy as np
import pytest

import align
import align._backend
from align import BackendUnavailableError, ParameterError
from align.kernels import _config


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 4)
    # the wavefront kernel: 1 lane of 8 rows per pair, 2 pairs per block, so a
    # 9-sample sequence takes two passes and blocks mix lengths
    monkeypatch.setattr(_config, "WAVE_LANES", 1)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_cuda_equals_cpu(rng, small_blocks, dtype):
    # integer values create tied paths; ragged lengths, one of length 1
    X = [rng.integers(-2, 3, size=n).astype(dtype) for n in (7, 1, 5, 9)]
    Y = [rng.integers(-2, 3, size=n).astype(dtype) for n in (6, 8, 3)]
    cpu = align.dtw_pairwise(X, Y, backend="cpu")
    gpu = align.dtw_pairwise(X, Y, backend="cuda")
    np.testing.assert_array_equal(gpu, cpu)
    self_cpu = align.dtw_pairwise(X, backend="cpu")
    self_gpu = align.dtw_pairwise(X, backend="cuda")
    np.testing.assert_array_equal(self_gpu, self_cpu)


def test_pairwise_cuda_refuses_unsupported_options():
    with pytest.raises(ParameterError, match="backend='cuda' supports 1-D sequences with step_pattern='symmetric1'"):
        align.dtw_pairwise([np.zeros(3), np.ones(4)], metric="cityblock", backend="cuda")


def test_pairwise_cuda_unavailable(monkeypatch):
    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match="backend='cuda' was requested"):
        align.dtw_pairwise([np.zeros(3), np.ones(4)], backend="cuda")
