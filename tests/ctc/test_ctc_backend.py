"""forced_align's backend choice: CUDA (here under numba's simulator) equals CPU exactly."""

import numpy as np
import pytest

import align
import align._backend
from align import BackendUnavailableError, ParameterError
from align.kernels import _config


@pytest.fixture
def small_blocks(monkeypatch):
    # tiny inputs span several blocks under the simulator
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tie_break", ["torchaudio", "optimal"])
def test_cuda_equals_cpu(rng, small_blocks, dtype, tie_break):
    B, T, C, L = 3, 13, 5, 4
    # integer-valued log-probs create exact ties
    log_probs = -rng.integers(0, 3, size=(B, T, C)).astype(dtype)
    targets = rng.integers(1, C, size=(B, L))
    in_len = np.array([13, 11, 9])
    tg_len = np.array([4, 3, 2])
    cpu = align.forced_align(log_probs, targets, in_len, tg_len, tie_break=tie_break, backend="cpu")
    gpu = align.forced_align(log_probs, targets, in_len, tg_len, tie_break=tie_break, backend="cuda")
    np.testing.assert_array_equal(gpu[0], cpu[0])
    np.testing.assert_array_equal(gpu[1], cpu[1])
    assert gpu[0].dtype == cpu[0].dtype and gpu[1].dtype == cpu[1].dtype


def test_cuda_errors_match_cpu_checks():
    log_probs = np.zeros((1, 2, 3), dtype=np.float32)
    with pytest.raises(align.InfeasibleAlignmentError, match="at batch index 0"):
        align.forced_align(log_probs, np.array([[1, 1]]), backend="cuda")


def test_cuda_unavailable(monkeypatch):
    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match="backend='cuda' was requested"):
        align.forced_align(np.zeros((1, 4, 3)), np.array([[1]]), backend="cuda")


def test_unknown_backend():
    with pytest.raises(ParameterError, match="backend='tpu' is not supported; use one of 'auto', 'cpu', 'cuda'"):
        align.forced_align(np.zeros((1, 4, 3)), np.array([[1]]), backend="tpu")
