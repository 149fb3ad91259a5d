"""dtw_pairwise on the GPU (here under numba's simulator) equals the CPU."""

import numpy as np
import pytest

import align
import align._backend
from align import BackendUnavailableError, InfeasibleAlignmentError, ParameterError
from tests.reference.dtw import dtw_full
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
    msg = "backend='cuda' supports step_pattern='symmetric1' with metric 'sqeuclidean', 'euclidean' or 'cityblock'"
    with pytest.raises(ParameterError, match=msg):
        align.dtw_pairwise([np.ones(3), np.ones(4)], metric="cosine", backend="cuda")
    with pytest.raises(ParameterError, match=msg):
        align.dtw_pairwise([np.zeros(3), np.ones(4)], step_pattern="symmetric2", backend="cuda")
    with pytest.raises(ParameterError, match=msg):
        align.dtw_pairwise([np.zeros(3), np.ones(4)], window="sakoe_chiba", radius=1, backend="cuda")


def test_pairwise_cuda_unavailable(monkeypatch):
    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match="backend='cuda' was requested"):
        align.dtw_pairwise([np.zeros(3), np.ones(4)], backend="cuda")


# ---------------------------------------------------------------- dtw_batch


def _same_results(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.distance == w.distance
        assert g.normalized_distance == w.normalized_distance
        if w.path is None:
            assert g.path is None
        else:
            np.testing.assert_array_equal(g.path, w.path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_cuda_equals_cpu_and_dtw(rng, small_blocks, dtype):
    # integer values (ties); ragged lengths, a length-1 pair; 9+ rows take two passes
    X = [rng.integers(-2, 3, size=n).astype(dtype) for n in (7, 1, 12, 9, 5)]
    Y = [rng.integers(-2, 3, size=n).astype(dtype) for n in (6, 8, 3, 1, 5)]
    X.append(np.array([0.0, 0.0, 1.0, 2.0, 0.0], dtype))  # vertical/horizontal tie on the path
    Y.append(np.array([1.0, 1.0, 0.0, 1.0], dtype))
    cpu = align.dtw_batch(X, Y, backend="cpu")
    gpu = align.dtw_batch(X, Y, backend="cuda")
    _same_results(gpu, cpu)
    _same_results(cpu, [align.dtw(x, y) for x, y in zip(X, Y)])
    _same_results(align.dtw_batch(X, Y, backend="cuda", return_path=False),
                  [align.dtw(x, y, return_path=False) for x, y in zip(X, Y)])


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_feature_sequences_cuda_equal_cpu(rng, small_blocks, metric, dtype):
    # d = 3 features, small integers (ties), ragged; d = 1 given as (n, 1) columns too
    X = [rng.integers(-1, 2, size=(n, 3)).astype(dtype) for n in (7, 1, 12, 9)]
    Y = [rng.integers(-1, 2, size=(n, 3)).astype(dtype) for n in (6, 8, 3, 1)]
    _same_results(align.dtw_batch(X, Y, metric=metric, backend="cuda"),
                  align.dtw_batch(X, Y, metric=metric, backend="cpu"))
    np.testing.assert_array_equal(align.dtw_pairwise(X, Y, metric=metric, backend="cuda"),
                                  align.dtw_pairwise(X, Y, metric=metric, backend="cpu"))
    X1 = [q[:, :1] for q in X]
    np.testing.assert_array_equal(align.dtw_pairwise(X1, metric=metric, backend="cuda"),
                                  align.dtw_pairwise(X1, metric=metric, backend="cpu"))


@pytest.mark.parametrize("opts", [
    dict(metric="cityblock", step_pattern="symmetric2", window="sakoe_chiba", radius=2),
    dict(metric="euclidean", step_pattern="asymmetric", window="itakura", max_slope=2.0),
    dict(metric="cosine", step_pattern="symmetric1"),
    dict(metric="sqeuclidean", step_pattern="symmetric1", subsequence=True),
], ids=["sakoe-sym2", "itakura-asym", "cosine", "subsequence"])
@pytest.mark.parametrize("n_jobs", [1, 3])
def test_batch_cpu_takes_every_option(rng, opts, n_jobs):
    # against the full-matrix reference (tests/reference/dtw.py), not against dtw itself:
    # the CPU batch runs pairs on threads, in an order of its own
    X = [rng.normal(size=(n, 2)) for n in (8, 5, 11, 7, 9)]
    Y = [rng.normal(size=(m, 2)) for m in (10, 6, 12, 7, 13)]
    got = align.dtw_batch(X, Y, n_jobs=n_jobs, **opts)
    assert len(got) == len(X)
    for b, (x, y) in enumerate(zip(X, Y)):
        distance, path, _ = dtw_full(x, y, **opts)
        assert got[b].distance == pytest.approx(distance, rel=1e-12), b
        assert got[b].path.tolist() == [list(c) for c in path], b


def test_batch_errors_option_skips_infeasible_pairs(rng):
    # the band is too narrow for pair 1 (5 x 12) only
    X = [rng.normal(size=8), rng.normal(size=5), rng.normal(size=9)]
    Y = [rng.normal(size=8), rng.normal(size=12), rng.normal(size=10)]
    opts = dict(step_pattern="asymmetric")
    with pytest.raises(InfeasibleAlignmentError, match="pair 1 \\(X\\[1\\] and Y\\[1\\]\\)"):
        align.dtw_batch(X, Y, **opts)
    got = align.dtw_batch(X, Y, errors="ignore", **opts)
    assert got[1].distance == np.inf and got[1].path is None
    for b in (0, 2):
        assert got[b].distance == pytest.approx(dtw_full(X[b], Y[b], **opts)[0], rel=1e-12)
    D = align.dtw_pairwise(X, Y, errors="ignore", **opts)
    assert np.isinf(D[1, 1]) and np.isfinite(D[0, 0]) and D[2, 2] == pytest.approx(got[2].distance)
    with pytest.raises(InfeasibleAlignmentError):
        align.dtw_pairwise(X, Y, **opts)
    with pytest.raises(ParameterError, match="errors='skip' is not supported"):
        align.dtw_batch(X, Y, errors="skip")


def test_batch_lengths_old_names_still_work_with_a_warning():
    X = np.arange(12.0).reshape(2, 6)
    new = align.dtw_batch(X, X, x_lengths=[6, 3], y_lengths=[4, 6])
    with pytest.warns(DeprecationWarning, match="len_[xy]= is now spelled [xy]_lengths="):
        old = align.dtw_batch(X, X, len_x=[6, 3], len_y=[4, 6])
    _same_results(old, new)
    with pytest.raises(ParameterError, match="pass x_lengths= only"):
        align.dtw_batch(X, X, [6, 3], len_x=[6, 3])


def test_batch_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    X = [torch.tensor([0.0, 1.0, 2.0]), torch.tensor([5.0, 5.0])]
    Y = [torch.tensor([0.0, 1.0, 1.0, 2.0]), torch.tensor([4.0])]
    res = align.dtw_batch(X, Y)
    assert all(isinstance(r.path, torch.Tensor) and r.path.dtype == torch.int64 for r in res)
    assert res[0].path.tolist() == [[0, 0], [1, 1], [1, 2], [2, 3]]
    D = align.dtw_pairwise(X)
    assert isinstance(D, torch.Tensor) and D.dtype == torch.float64 and D[0, 1].item() == 50.0


def test_batch_errors(monkeypatch):
    with pytest.raises(ParameterError, match="X and Y must hold the same number of sequences \\(pairs\\), got 2 and 1"):
        align.dtw_batch([np.zeros(3), np.ones(4)], [np.zeros(2)])
    with pytest.raises(ParameterError, match="X\\[1\\] and Y\\[1\\]"):
        align.dtw_batch([np.zeros(3), np.ones((4, 2))], [np.zeros(2), np.ones((3, 3))])
    with pytest.raises(ParameterError, match="backend='cuda' supports step_pattern='symmetric1' with metric"):
        align.dtw_batch([np.zeros((3, 2))], [np.ones((4, 2))], subsequence=True, backend="cuda")
    with pytest.raises(ParameterError, match="return_path must be True or False"):
        align.dtw_batch([np.zeros(3)], [np.ones(4)], return_path="yes")
    with pytest.raises(ParameterError, match="Y\\[0\\]"):
        align.dtw_batch([np.zeros(3)], [np.array([1.0, np.nan])])
    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match="backend='cuda' was requested"):
        align.dtw_batch([np.zeros(3)], [np.ones(4)], backend="cuda")


def test_batch_cuda_runs_in_chunks_and_refuses_a_pair_too_large(rng, small_blocks, monkeypatch):
    import sys

    dtw_module = sys.modules["align.dtw"]  # align.dtw is the function

    X = [rng.integers(-2, 3, size=n).astype(np.float64) for n in (7, 1, 12, 9, 5, 3)]
    Y = [rng.integers(-2, 3, size=n).astype(np.float64) for n in (6, 8, 3, 1, 5, 2)]
    # a pair costs n*m direction bytes + 16 (n+m-1) path bytes + 8 m scratch bytes:
    # (7, 6) 42 + 192 + 48 = 282; chunk (2, 4) pads to 2 x (12, 3): 2 x (36 + 224 + 24) = 568,
    # and adding (5, 5) would need 3 x (12, 5): 3 x (60 + 256 + 40) = 1068
    assert dtw_module._pair_bytes(7, 6) == 282
    monkeypatch.setattr(dtw_module, "_CUDA_PATH_BYTES", 600)
    assert list(dtw_module._chunks([7, 1, 12, 9, 5, 3], [6, 8, 3, 1, 5, 2], 600)) == [(0, 1), (1, 2), (2, 4), (4, 6)]
    # the API sorts the pairs longest first before it cuts chunks
    assert dtw_module._by_size([7, 1, 12, 9, 5, 3], [6, 8, 3, 1, 5, 2]).tolist() == [2, 3, 0, 4, 5, 1]
    _same_results(align.dtw_batch(X, Y, backend="cuda"), align.dtw_batch(X, Y, backend="cpu"))
    monkeypatch.setattr(dtw_module, "_CUDA_PATH_BYTES", 283)
    with pytest.raises(ParameterError, match="X\\[2\\] and Y\\[2\\] \\(12 x 3 cells\\) need 284 bytes of GPU memory "
                                             "for their path, over the 283 bytes a launch may use; backend='cpu'"):
        align.dtw_batch(X, Y, backend="cuda")


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_batch_padded_with_lengths(rng, small_blocks, backend):
    X = rng.normal(size=(3, 9, 2))
    Y = rng.normal(size=(3, 6, 2))
    lx, ly = [9, 2, 5], [6, 1, 4]
    X[1, 2:] = np.nan  # padding may hold anything
    Y[2, 4:] = np.inf
    got = align.dtw_batch(X, Y, lx, ly, backend=backend)
    _same_results(got, [align.dtw(X[b, : lx[b]], Y[b, : ly[b]]) for b in range(3)])


def test_batch_length_errors():
    X = np.zeros((2, 4))
    with pytest.raises(ParameterError, match="x_lengths\\[1\\]=5 is out of range: each length must be between 1 and 4"):
        align.dtw_batch(X, X, [4, 5])
    with pytest.raises(ParameterError, match="y_lengths must have one entry per sequence \\(2\\), got shape \\(3,\\)"):
        align.dtw_batch(X, X, None, [1, 2, 3])
    with pytest.raises(ParameterError, match="x_lengths needs X as one padded array"):
        align.dtw_batch([np.zeros(3)], [np.zeros(3)], [2])
    with pytest.raises(ParameterError, match="X\\[0\\]"):
        align.dtw_batch(np.full((1, 3), np.nan), np.zeros((1, 3)), [2])


def test_cuda_mixes_1d_and_column_sequences_and_refuses_mixed_feature_counts(rng, small_blocks):
    # (n,) and (n, 1) are the same sequence to every backend
    X = [np.array([0.0, 1.0, 2.0]), np.ones((4, 1)), rng.integers(-2, 3, size=5).astype(float)]  # exact sums
    np.testing.assert_array_equal(align.dtw_pairwise(X, backend="cuda"), align.dtw_pairwise(X, backend="cpu"))
    _same_results(align.dtw_batch(X, X[::-1], backend="cuda"), align.dtw_batch(X, X[::-1], backend="cpu"))
    # pairs of different feature counts: fine on the CPU, refused (not broadcast) on the GPU
    X2 = [rng.normal(size=(5, 3)), np.array([1.0, 2.0, 3.0])]
    Y2 = [rng.normal(size=(4, 3)), np.array([0.0])]
    assert len(align.dtw_batch(X2, Y2, backend="cpu")) == 2
    with pytest.raises(ParameterError, match="backend='cuda' needs the same number of features in every pair, "
                                             "got 3 in X\\[0\\] and 1 in X\\[1\\]"):
        align.dtw_batch(X2, Y2, backend="cuda")
