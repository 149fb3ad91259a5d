"""The forward-sum CUDA kernel (numba's simulator here) against the CPU kernel and the brute force."""

import numpy as np
import pytest

import align
from align.tts.losses import forward_sum_nll

# no device: a skip, or a failure where a GPU is required (tests/conftest.py: cuda_action)
pytestmark = pytest.mark.cuda


def _batch(rng, dtype):
    """Ragged lengths: a one-path item (K == T), a one-token item, and room to spare."""
    B, T, C = 4, 9, 5
    y = rng.standard_normal((B, T, C)).astype(dtype)
    y[2] = np.round(y[2])  # equal terms in the sums
    tl = np.array([4, 3, 1, 2])
    ml = np.array([9, 3, 6, 7])
    return y, tl, ml


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 3, 16])
def test_cuda_equals_cpu(rng, dtype, threads):
    from align.tts.forward_sum_cuda import forward_sum_nll_cuda

    y, tl, ml = _batch(rng, dtype)
    want_nll, want_grad = forward_sum_nll(y, tl, ml)
    # 1 and 3 threads a block: the 9 states of a frame take several strides
    nll, grad = forward_sum_nll_cuda(y, tl, ml, threads_per_block=threads)
    np.testing.assert_allclose(nll, want_nll, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-14)
    assert np.all(grad[0, :, 0] < 0) and np.all(grad[1, 3:] == 0) and np.all(grad[:, :, 1:][grad[:, :, 1:] != 0] < 0)


def test_the_rows_in_global_memory_give_the_same(rng, monkeypatch):
    from align.kernels import forward_sum_cuda as kernels
    from align.tts.forward_sum_cuda import forward_sum_nll_cuda

    y, tl, ml = _batch(rng, np.float64)
    shared = forward_sum_nll_cuda(y, tl, ml, threads_per_block=4)
    monkeypatch.setattr(kernels, "rows_in_shared", lambda S_max: False)
    scratch = forward_sum_nll_cuda(y, tl, ml, threads_per_block=4)
    np.testing.assert_allclose(scratch[0], shared[0], rtol=1e-14)
    np.testing.assert_allclose(scratch[1], shared[1], rtol=1e-12, atol=1e-15)


def test_an_item_without_a_finite_alignment_gets_inf_and_no_gradient(rng):
    from align.tts.forward_sum_cuda import forward_sum_nll_cuda

    y = rng.standard_normal((2, 4, 3))
    y[0, :, 2] = -np.inf  # token 2 can never be emitted
    nll, grad = forward_sum_nll_cuda(y, [2, 2], [4, 4], threads_per_block=2)
    want_nll, want_grad = forward_sum_nll(y, [2, 2], [4, 4])
    assert nll[0] == np.inf and want_nll[0] == np.inf
    assert not grad[0].any()
    np.testing.assert_allclose(nll[1], want_nll[1], rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-14)


def test_bad_input_gets_the_cpu_path_errors(rng):
    from align.tts.forward_sum_cuda import forward_sum_nll_cuda

    y = rng.standard_normal((2, 4, 4))
    with pytest.raises(align.ParameterError, match="no alignment exists"):
        forward_sum_nll_cuda(y, [2, 3], [4, 2])
    y[1, 1, 1] = np.nan
    with pytest.raises(align.ParameterError, match=r"log_probs\[1\] holds NaN"):
        forward_sum_nll_cuda(y, [2, 2], [4, 4])


def test_the_torch_loss_on_the_cuda_backend_equals_the_cpu_one(rng):
    torch = pytest.importorskip("torch")
    attn = torch.from_numpy(rng.standard_normal((3, 1, 7, 4))).requires_grad_()
    tl, ml = torch.tensor([4, 2, 3]), torch.tensor([7, 5, 3])
    values, grads = [], []
    for backend in ("cpu", "cuda"):
        attn.grad = None
        loss = align.ForwardSumLoss(backend=backend)(attn, tl, ml)
        loss.backward()
        values.append(loss.item())
        grads.append(attn.grad.clone())
    # the CPU backend's gradient passes gradcheck (test_forward_sum.py); under the simulator a
    # gradcheck of this one takes 90 s, so the two are compared instead
    assert values[1] == pytest.approx(values[0], rel=1e-12)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-10, atol=1e-14)

