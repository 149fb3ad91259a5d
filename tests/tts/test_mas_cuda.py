"""The MAS CUDA kernel (numba's simulator here) against the CPU kernel, bit for bit."""

import numpy as np
import pytest

import align

# no device: a skip, or a failure where a GPU is required (tests/conftest.py: cuda_action)
pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("layout", ["text_mel", "mel_text"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_equals_cpu(rng, layout, dtype):
    from align.tts.mas_cuda import maximum_path_cuda

    B, tx_max, ty_max = 4, 6, 13
    v = rng.standard_normal((B, tx_max, ty_max)).astype(dtype)
    v[1] = np.round(v[1])  # ties
    tl = np.array([6, 3, 1, 5])
    ml = np.array([13, 3, 7, 9])
    if layout == "mel_text":
        v = np.ascontiguousarray(v.transpose(0, 2, 1))
    want = align.maximum_path(v, text_lengths=tl, mel_lengths=ml, layout=layout, backend="cpu")
    # 2 threads a block: a column of 6 tokens takes several strides
    got = maximum_path_cuda(v, tl, ml, layout == "text_mel", threads_per_block=2)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_backend_cuda_through_the_api(rng):
    v = rng.standard_normal((2, 3, 8)).astype(np.float32)
    np.testing.assert_array_equal(align.maximum_path(v, backend="cuda"),
                                  align.maximum_path(v, backend="cpu"))
    bad = v.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(align.ParameterError, match="NaN"):
        align.maximum_path(bad, backend="cuda")


def test_cuda_reports_no_finite_path():
    v = np.zeros((1, 2, 4))
    v[0, 0, 1] = v[0, 1, 1] = -np.inf
    with pytest.raises(align.InfeasibleAlignmentError, match="item 0"):
        align.maximum_path(v, backend="cuda")


def test_cuda_errors_ignore_equals_cpu(rng):
    v = rng.standard_normal((3, 4, 6)).astype(np.float32)
    v[1, :, 1] = -np.inf
    opts = dict(text_lengths=[4, 4, 4], mel_lengths=[6, 6, 3], errors="ignore")
    got = align.maximum_path(v, backend="cuda", **opts)
    np.testing.assert_array_equal(got, align.maximum_path(v, backend="cpu", **opts))
    assert got[1].sum() == 0 and got[2].sum() == 0 and got[0].sum() == 6
