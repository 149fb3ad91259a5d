"""``ForwardSumLoss``: the forward-sum alignment loss as a torch module (RAD-TTS, NeMo FastPitch)."""

import torch

from ..exceptions import ParameterError
from .losses import forward_sum_nll

__all__ = ["ForwardSumLoss"]


class _ForwardSum(torch.autograd.Function):
    """``-log Z`` per item from the CPU or the CUDA kernel, its gradient saved."""

    @staticmethod
    def forward(ctx, log_probs, text_lengths, mel_lengths, use_cuda):
        if use_cuda:
            from .forward_sum_cuda import forward_sum_nll_cuda

            # a CUDA tensor is read where it lies; a CPU one (the simulator, or backend="cuda"
            # asked for with CPU tensors) goes to the device and back as numpy
            on_device = log_probs.is_cuda
            nll, grad = forward_sum_nll_cuda(log_probs.detach() if on_device else log_probs.detach().numpy(),
                                             text_lengths, mel_lengths)
            if not on_device:
                nll, grad = torch.from_numpy(nll), torch.from_numpy(grad)
        else:
            nll, grad = forward_sum_nll(log_probs.detach().cpu().numpy(), text_lengths, mel_lengths)
            nll, grad = torch.from_numpy(nll), torch.from_numpy(grad)
        ctx.save_for_backward(grad.to(log_probs.device, log_probs.dtype))
        return nll.to(log_probs.device, log_probs.dtype)

    @staticmethod
    def backward(ctx, grad_nll):
        (grad,) = ctx.saved_tensors
        return grad * grad_nll[:, None, None], None, None, None


class ForwardSumLoss(torch.nn.Module):
    """The forward-sum alignment loss (Badlani et al. 2021, arXiv:2108.10447, section 2.1).

    Parameters
    ----------
    blank_logprob : float
        The score of the padded blank column before the softmax (RAD-TTS and
        NeMo: -1).
    backend : {"auto", "cpu", "cuda"}
        Where the kernel runs. ``"auto"``: on the GPU for CUDA tensors
        (:mod:`align.kernels.forward_sum_cuda`), or on a host copy when
        numba-cuda sees no GPU; on the CPU for CPU tensors. ``"cuda"``: on the
        GPU always (CPU tensors are copied there and back), and
        :class:`align.BackendUnavailableError` without one. ``"cpu"``: on the
        CPU always (CUDA tensors go to the host and the gradient back).

    Notes
    -----
    Called as ``loss(attn_logprob, text_lengths, mel_lengths)`` with
    ``attn_logprob`` (B, 1, T_mel, T_text) (the aligner's log attention scores,
    a prior added if wanted) and the lengths (B,); returns the scalar loss: per
    item ``-log Z / text_length`` (``torch.nn.CTCLoss``'s ``"mean"``
    reduction), averaged over the batch, as NeMo's ``ForwardSumLoss``.

    Columns past each item's text and frames past its mel are ignored (the
    softmax runs over the item's own tokens and the blank). An item whose text
    is longer than its mel raises ``ParameterError`` (``torch.nn.CTCLoss`` with
    ``zero_infinity=True`` would quietly give it zero loss). Both kernels
    accumulate in float64 and agree to rounding: about 1e-15 relative in the
    loss and 1e-11 in the gradient (the CPU's works in the probability domain,
    rescaled each frame, the GPU's in the log domain).
    """

    def __init__(self, blank_logprob=-1.0, *, backend="auto"):
        from .._backend import BACKENDS
        from .._validation import check_option

        super().__init__()
        check_option("backend", backend, BACKENDS)
        self.blank_logprob = float(blank_logprob)
        self.backend = backend

    def forward(self, attn_logprob, text_lengths, mel_lengths):
        if attn_logprob.dim() != 4 or attn_logprob.shape[1] != 1:
            raise ParameterError(
                f"attn_logprob must be (B, 1, T_mel, T_text), got shape {tuple(attn_logprob.shape)}"
            )
        T_text = attn_logprob.shape[3]
        tl = torch.as_tensor(text_lengths).reshape(-1).to(torch.int64).cpu()
        ml = torch.as_tensor(mel_lengths).reshape(-1).to(torch.int64).cpu()
        if tl.shape[0] != attn_logprob.shape[0]:
            raise ParameterError(f"text_lengths must have one entry per item ({attn_logprob.shape[0]})")
        x = torch.nn.functional.pad(attn_logprob[:, 0], (1, 0), value=self.blank_logprob)
        outside = torch.arange(T_text + 1)[None, :] > tl[:, None]  # (B, T_text + 1)
        x = x.masked_fill(outside[:, None, :].to(x.device), float("-inf"))
        logp = torch.log_softmax(x, dim=-1)
        nll = _ForwardSum.apply(logp, tl.numpy(), ml.numpy(), self._on_cuda(attn_logprob))
        return (nll / tl.to(nll.device, nll.dtype)).mean()

    def _on_cuda(self, attn_logprob):
        """Whether this call runs the CUDA kernel (see ``backend``)."""
        from .._backend import cuda_available, resolve_backend

        if self.backend == "cuda":
            return resolve_backend("cuda") == "cuda"  # raises without a GPU
        return self.backend == "auto" and attn_logprob.is_cuda and cuda_available()
