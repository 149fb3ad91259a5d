"""ForwardSumLoss and beta_binomial_prior against torch's CTCLoss construction, brute force and scipy."""

import itertools

import numpy as np
import pytest

import align
from align.exceptions import ParameterError
from align.tts.losses import forward_sum_nll

torch = pytest.importorskip("torch")


def nemo_style_loss(attn_logprob, text_lengths, mel_lengths, blank_logprob=-1.0):
    """The construction RAD-TTS and NeMo use: a padded blank column and torch.nn.CTCLoss."""
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    padded = torch.nn.functional.pad(attn_logprob, (1, 0, 0, 0, 0, 0, 0, 0), value=blank_logprob)
    total = 0.0
    for b in range(attn_logprob.shape[0]):
        K, T = int(text_lengths[b]), int(mel_lengths[b])
        target = torch.arange(1, K + 1)[None]
        cur = padded[b].permute(1, 0, 2)[:T, :, :K + 1]  # (T, 1, K + 1)
        cur = torch.log_softmax(cur[None], dim=3)[0]
        total = total + ctc(cur, target, torch.tensor([T]), torch.tensor([K]))
    return total / attn_logprob.shape[0]


def brute_force_nll(y, K):
    """-log of the sum over every CTC path of (T, K + 1) log-probs that collapses to 1..K."""
    T = y.shape[0]
    total = []
    for seq in itertools.product(range(K + 1), repeat=T):
        collapsed = [c for i, c in enumerate(seq) if c != 0 and (i == 0 or seq[i - 1] != c)]
        if collapsed == list(range(1, K + 1)):
            total.append(sum(y[t, c] for t, c in enumerate(seq)))
    return -np.logaddexp.reduce(total)


def test_nll_equals_the_brute_force(rng):
    for T, K in [(1, 1), (3, 1), (3, 2), (4, 2), (5, 3), (4, 4)]:
        y = rng.standard_normal((1, T, K + 1))
        nll, grad = forward_sum_nll(y, [K], [T])
        np.testing.assert_allclose(nll[0], brute_force_nll(y[0], K), rtol=1e-12)
        # gradient by central differences
        eps = 1e-6
        for t in range(T):
            for c in range(K + 1):
                d = np.zeros_like(y)
                d[0, t, c] = eps
                num = (forward_sum_nll(y + d, [K], [T])[0][0] - forward_sum_nll(y - d, [K], [T])[0][0]) / (2 * eps)
                assert abs(num - grad[0, t, c]) < 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_the_ctcloss_construction(rng, dtype):
    B, T_mel, T_text = 3, 30, 8
    a = torch.from_numpy(rng.standard_normal((B, 1, T_mel, T_text))).to(dtype)
    tl, ml = torch.tensor([8, 5, 2]), torch.tensor([30, 12, 2])
    a1 = a.clone().requires_grad_(True)
    a2 = a.clone().requires_grad_(True)
    ours = align.ForwardSumLoss()(a1, tl, ml)
    ref = nemo_style_loss(a2, tl, ml)
    ours.backward()
    ref.backward()
    assert ours.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    np.testing.assert_allclose(ours.item(), ref.item(), rtol=tol)
    np.testing.assert_allclose(a1.grad.numpy(), a2.grad.numpy(), rtol=1e-4 if dtype == torch.float32 else 1e-8,
                               atol=1e-6 if dtype == torch.float32 else 1e-12)
    # padding gets no gradient
    assert a1.grad[1, :, 12:].abs().max() == 0 and a1.grad[1, :, :, 5:].abs().max() == 0


def test_gradcheck_float64(rng):
    a = torch.from_numpy(rng.standard_normal((2, 1, 6, 3))).requires_grad_(True)
    loss = align.ForwardSumLoss(blank_logprob=-0.5)
    assert torch.autograd.gradcheck(lambda x: loss(x, torch.tensor([3, 2]), torch.tensor([6, 4])), (a,))


def test_learns_the_alignment_the_data_hold(rng):
    # a 5-token "utterance" whose frames 0-3 are token 0, 4-9 token 1, ...: training the
    # scores under the loss must put the most attention where the data say; a control with
    # the frames shuffled must not reach the same loss
    durations = [4, 6, 3, 5, 2]
    T, K = sum(durations), len(durations)
    owner = np.repeat(np.arange(K), durations)

    def train(frames):
        feats = torch.from_numpy(np.eye(K)[frames] + 0.1 * rng.standard_normal((T, K)))
        keys = torch.nn.Parameter(torch.zeros(K, K, dtype=torch.float64))
        opt = torch.optim.Adam([keys], lr=0.1)
        loss_fn = align.ForwardSumLoss()
        for _ in range(150):
            attn = (feats @ keys.T)[None, None]  # (1, 1, T, K)
            loss = loss_fn(attn, torch.tensor([K]), torch.tensor([T]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return loss.item(), (feats @ keys.T).argmax(dim=1).numpy()

    loss, pick = train(owner)
    assert (pick == owner).mean() > 0.9
    control_loss, _ = train(rng.permutation(owner))
    assert control_loss > loss + 0.5


def test_errors():
    loss = align.ForwardSumLoss()
    with pytest.raises(ParameterError, match=r"\(B, 1, T_mel, T_text\)"):
        loss(torch.zeros(2, 5, 3), torch.tensor([3, 3]), torch.tensor([5, 5]))
    with pytest.raises(ParameterError, match="item 1 has 3 text tokens but only 2 mel frames"):
        loss(torch.zeros(2, 1, 5, 3), torch.tensor([3, 3]), torch.tensor([5, 2]))
    with pytest.raises(ParameterError, match="out of range"):
        loss(torch.zeros(2, 1, 5, 3), torch.tensor([4, 3]), torch.tensor([5, 5]))


def test_beta_binomial_prior_equals_scipy():
    from scipy.stats import betabinom

    for n_text, n_mel, scaling in [(1, 1, 1.0), (5, 20, 1.0), (12, 40, 0.05), (30, 7, 2.0)]:
        got = align.beta_binomial_prior(n_text, n_mel, scaling)
        assert got.shape == (n_mel, n_text)
        for i in range(n_mel):
            want = betabinom(n_text, scaling * (i + 1), scaling * (n_mel - i)).logpmf(np.arange(n_text))
            np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=1e-12)
    with pytest.raises(ParameterError):
        align.beta_binomial_prior(0, 5)
    with pytest.raises(ParameterError, match="scaling"):
        align.beta_binomial_prior(3, 5, scaling=0.0)


def test_backend_cuda_without_a_gpu_says_so(rng, monkeypatch):
    import align._backend

    attn = torch.from_numpy(rng.standard_normal((1, 1, 4, 2)))
    with pytest.raises(ParameterError, match="backend"):
        align.ForwardSumLoss(backend="gpu")
    monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    with pytest.raises(align.BackendUnavailableError, match="no usable GPU"):
        align.ForwardSumLoss(backend="cuda")(attn, [2], [4])
    align.ForwardSumLoss(backend="auto")(attn, [2], [4])  # CPU tensors: the CPU kernel, no GPU needed


def test_the_scaled_pass_equals_the_log_domain_pass(rng):
    """The probability-domain kernel (rescaled each frame) against the exact log-domain one."""
    from align.kernels import forward_sum as kernel

    for trial in range(40):
        K = int(rng.integers(1, 12))
        T = K + int(rng.integers(0, 30))
        y = np.log(rng.dirichlet(np.ones(K + 1), size=T)) * (1 + 9 * (trial % 4 == 0))
        if trial % 3 == 0:
            y[rng.random(y.shape) < 0.1] = -np.inf
        if trial % 5 == 0:
            y = np.round(y)
        g_log, g_scaled = np.zeros_like(y), np.zeros_like(y)
        want = kernel._one(y, T, K, g_log)
        scratch = np.empty((3, T, K + 1))
        got = kernel._one_scaled(y, T, K, g_scaled, scratch[0], scratch[1], scratch[2])
        if want == -np.inf:
            assert not np.isfinite(got)  # no alignment: the batch kernel falls back and reports it
            continue
        assert got == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(g_scaled, g_log, rtol=1e-8, atol=1e-12)


def test_scores_too_far_apart_for_the_scaled_pass_fall_back_to_the_log_domain():
    # K == T: one alignment, token t at frame t, every one 1,500 nats below the blank: each
    # frame's scaled value is e^-1500, far under float64's range, so the scaled pass gives up
    from align.kernels import forward_sum as kernel

    T = K = 6
    y = np.zeros((T, K + 1))
    y[np.arange(T), np.arange(1, K + 1)] = -1500.0
    scratch = np.empty((3, T, K + 1))
    assert np.isnan(kernel._one_scaled(y, T, K, np.zeros_like(y), scratch[0], scratch[1], scratch[2]))
    nll, grad = forward_sum_nll(y[None], [K], [T])
    assert nll[0] == pytest.approx(1500.0 * T, rel=1e-12)  # the one path's score
    want = np.zeros_like(y)
    want[np.arange(T), np.arange(1, K + 1)] = -1.0  # every frame sits on its token
    np.testing.assert_allclose(grad[0], want, atol=1e-12)
