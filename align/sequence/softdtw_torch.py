"""Soft-DTW as a torch loss: :class:`SoftDTWLoss`, CPU and CUDA tensors, batched.

The forward runs the Numba kernels on the tensors' memory: CPU tensors through
zero-copy numpy views, CUDA tensors through ``__cuda_array_interface__``
(``numba.cuda.as_cuda_array``) on torch's current stream, so the data never
leaves the device. The backward runs Algorithm 2 for the expected alignment
``E`` and forms the gradients with batched matrix products on the same device:
``dL/dx_i = 2 sum_j E[i, j] (x_i - y_j)`` (and the mirror for ``y``).

Cuturi & Blondel, ICML 2017, doi:10.48550/arXiv.1703.01541, Algorithms 1-2;
Blondel, Mensch & Vert, AISTATS 2021, doi:10.48550/arXiv.2010.08354 (divergence).
"""

import numpy as np
import torch

from .. import _device
from ..exceptions import InfeasibleAlignmentError, ParameterError
from .._validation import check_option, check_positive_int, renamed
from .softdtw import check_gamma, infeasible_message

__all__ = ["SoftDTWLoss", "soft_dtw_torch"]

_REDUCTIONS = ("mean", "sum", "none")


def _np(t):
    # a zero-copy numpy view of a contiguous CPU tensor
    return t.detach().numpy()


class _SoftDTWFunction(torch.autograd.Function):
    """Soft-DTW values of a batch, differentiable with respect to x and y."""

    @staticmethod
    def forward(ctx, x, y, len_x, len_y, gamma, radius):
        B, N, _ = x.shape
        M = y.shape[1]
        opts = dict(dtype=x.dtype, device=x.device)
        D = torch.empty((B, N, M), **opts)
        R = torch.empty((B, N + 1, M + 1), **opts)
        out = torch.empty((B,), **opts)
        g = np.dtype(str(x.dtype).replace("torch.", "")).type(gamma)
        if x.is_cuda:
            from ..kernels import softdtw_cuda as kc

            stream = _device.stream_for(x)
            dv = _device.as_device
            kc.cost_launch(B, N, M, stream)(dv(x), dv(y), dv(len_x), dv(len_y), 0, dv(D))
            kc.launch("forward", B, N, np.dtype(type(g)), stream)(dv(D), dv(len_x), dv(len_y), g, radius, dv(R), dv(out))
        else:
            from ..kernels import softdtw as k

            lx, ly = _np(len_x), _np(len_y)
            k.pairwise_cost(_np(x), _np(y), lx, ly, 0, _np(D))
            k.softdtw_forward(_np(D), lx, ly, g, radius, _np(R), _np(out))
        ctx.save_for_backward(x, y, D, R, len_x, len_y)
        ctx.gamma = g
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, y, D, R, len_x, len_y = ctx.saved_tensors
        B, N, _ = x.shape
        M = y.shape[1]
        E = torch.zeros((B, N + 1, M + 1), dtype=x.dtype, device=x.device)
        if x.is_cuda:
            from ..kernels import softdtw_cuda as kc

            dv = _device.as_device
            backward = kc.launch("backward", B, N, np.dtype(type(ctx.gamma)), _device.stream_for(x))
            backward(dv(D), dv(R), dv(len_x), dv(len_y), ctx.gamma, dv(E))
        else:
            from ..kernels import softdtw as k

            k.softdtw_backward(_np(D), _np(R), _np(len_x), _np(len_y), ctx.gamma, _np(E))
        # E[:, 1:, 1:] is a view (bmm takes its row stride M + 1); the incoming
        # gradient scales the (B, N, d) results, not a (B, N, M) copy of E
        W = E[:, 1:, 1:]
        scale = 2.0 * grad_out.to(x.dtype)[:, None, None]
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = scale * (x * W.sum(dim=2, keepdim=True) - torch.bmm(W, y))
        if ctx.needs_input_grad[1]:
            gy = scale * (y * W.sum(dim=1).unsqueeze(2) - torch.bmm(W.transpose(1, 2), x))
        return gx, gy, None, None, None, None


def _check_tensor(t, name):
    if not isinstance(t, torch.Tensor):
        raise ParameterError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() != 3:
        raise ParameterError(f"{name} must have shape (B, L, d), got shape {tuple(t.shape)}")
    if 0 in t.shape:
        raise ParameterError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ParameterError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")


def _lengths(lengths, name, B, L, device):
    if lengths is None:
        return torch.full((B,), L, dtype=torch.int64, device=device)
    lens = torch.as_tensor(lengths).to(device=device, dtype=torch.int64).reshape(-1).contiguous()
    if lens.shape[0] != B:
        raise ParameterError(f"{name} must have one entry per sequence ({B}), got shape {tuple(lens.shape)}")
    bad = torch.nonzero((lens < 1) | (lens > L)).flatten()
    if bad.numel():
        k = int(bad[0])
        raise ParameterError(
            f"{name}[{k}]={int(lens[k])} is out of range: each length must be between 1 and {L}"
        )
    return lens


def _padded(x, lengths, name, lengths_name):
    """A list of (n_b, d) or (n_b,) tensors -> a padded (B, N, d) tensor and its lengths
    (padding keeps the graph: gradients reach every listed tensor)."""
    if not isinstance(x, (list, tuple)):
        return x, lengths
    if lengths is not None:
        raise ParameterError(f"{lengths_name} needs {name} as one padded tensor (B, N, d), got a list")
    if len(x) == 0 or not all(isinstance(t, torch.Tensor) for t in x):
        raise ParameterError(f"{name} as a list must hold at least one torch.Tensor and only tensors")
    seqs = [t[:, None] if t.dim() == 1 else t for t in x]
    if any(t.dim() != 2 or t.shape[0] == 0 for t in seqs):
        raise ParameterError(f"every tensor of {name} must have shape (n, d) or (n,) with n >= 1")
    lens = torch.tensor([t.shape[0] for t in seqs], dtype=torch.int64)
    return torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True), lens


def soft_dtw_torch(x, y, x_lengths=None, y_lengths=None, *, gamma=1.0, radius=None, divergence=False,
                   backend="auto", normalize=None):
    """Soft-DTW values of a batch of tensors (differentiable), shape (B,).

    Parameters
    ----------
    x : torch.Tensor [shape=(B, N, d), floating] or list of torch.Tensor [shape=(n_b, d)]
        A padded batch, or a list of sequences (padded here; gradients reach each one).
    y : torch.Tensor [shape=(B, M, d), same device] or list of torch.Tensor
    x_lengths, y_lengths : torch.Tensor or array_like [shape=(B,), int] or None
        Valid lengths of a padded batch (the names and positions of :func:`align.dtw_batch`).
    gamma : float > 0
    radius : int >= 0 or None
        Sakoe-Chiba half-width in cells (the band of :func:`align.soft_dtw`).
    divergence : bool
        Return the divergence ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2``
        (``normalize=`` is its old name).
    backend : {"auto", "cpu", "cuda"}
        Where the kernels run: ``"auto"`` on the tensors' device; ``"cpu"`` or
        ``"cuda"`` copy them there (gradients flow back through the copy). The
        result is on the inputs' device either way.

    Returns
    -------
    torch.Tensor [shape=(B,), dtype of the computation, on x's device]

    Raises
    ------
    ParameterError, InfeasibleAlignmentError, BackendUnavailableError
    """
    from .._backend import resolve_backend

    divergence = renamed("soft_dtw_torch", "divergence", divergence or None, "normalize", normalize)
    g = check_gamma(gamma)
    radius = check_positive_int("radius", radius, allow_zero=True, allow_none=True)
    x, x_lengths = _padded(x, x_lengths, "x", "x_lengths")
    y, y_lengths = _padded(y, y_lengths, "y", "y_lengths")
    _check_tensor(x, "x")
    _check_tensor(y, "y")
    if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ParameterError(
            f"x and y must have the same batch size and number of features, got "
            f"x.shape={tuple(x.shape)} and y.shape={tuple(y.shape)}"
        )
    if x.device != y.device:
        raise ParameterError(f"x and y must be on the same device, got {x.device} and {y.device}")
    home = x.device
    use = resolve_backend(backend, on_gpu=x.is_cuda and backend == "auto")
    if (use == "cuda") != x.is_cuda:
        target = torch.device("cuda") if use == "cuda" else torch.device("cpu")
        x, y = x.to(target), y.to(target)
    dtype = torch.promote_types(x.dtype, y.dtype)
    if dtype not in (torch.float32, torch.float64):
        dtype = torch.float32
    x = x.to(dtype).contiguous()
    y = y.to(dtype).contiguous()
    for t, name in ((x, "x"), (y, "y")):
        if not bool(torch.isfinite(t.detach()).all()):
            raise ParameterError(f"{name} must be finite, found NaN or inf; remove or interpolate them first")
    B = x.shape[0]
    lx = _lengths(x_lengths, "x_lengths", B, x.shape[1], x.device)
    ly = _lengths(y_lengths, "y_lengths", B, y.shape[1], x.device)
    r = -1 if radius is None else radius
    values = _SoftDTWFunction.apply(x, y, lx, ly, g, r)
    bad = torch.nonzero(~torch.isfinite(values.detach())).flatten()
    if bad.numel():
        k = int(bad[0])
        raise InfeasibleAlignmentError(infeasible_message(radius, int(lx[k]), int(ly[k])))
    if divergence:
        values = values - 0.5 * (
            _SoftDTWFunction.apply(x, x, lx, lx, g, r) + _SoftDTWFunction.apply(y, y, ly, ly, g, r)
        )
    return values.to(home)


class SoftDTWLoss(torch.nn.Module):
    """Soft-DTW loss between batches of sequences (Cuturi & Blondel 2017).

    Parameters
    ----------
    gamma : float > 0
        Smoothing; small values approach exact DTW (squared Euclidean cost).
    divergence : bool
        Use the soft-DTW divergence ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2``
        (Blondel et al. 2021): >= 0, and 0 when ``x == y``. The flag of
        :func:`align.soft_dtw`; ``normalize=`` is its old name.
    radius : int >= 0 or None
        Sakoe-Chiba half-width in cells (the band of :func:`align.soft_dtw`).
    reduction : {"mean", "sum", "none"}
    backend : {"auto", "cpu", "cuda"}
        Where the kernels run (see :func:`soft_dtw_torch`); the loss is on the
        inputs' device either way.

    Examples
    --------
    >>> import torch, align
    >>> loss = align.SoftDTWLoss(gamma=0.1)
    >>> x = torch.zeros(2, 5, 3, requires_grad=True); y = torch.ones(2, 4, 3)
    >>> value = loss(x, y); value.backward(); tuple(x.grad.shape)
    (2, 5, 3)

    Notes
    -----
    ``forward(x, y, x_lengths=None, y_lengths=None)``: ``x`` of shape
    ``(B, N, d)``, ``y`` of shape ``(B, M, d)`` on the same device (CPU or CUDA),
    or lists of ``(n_b, d)`` tensors; optional int lengths of shape ``(B,)`` for
    padded batches. Gradients flow to
    ``x`` and, if it requires them, to ``y``. CUDA tensors stay on the GPU.
    """

    def __init__(self, gamma=1.0, divergence=False, radius=None, reduction="mean", *, backend="auto",
                 normalize=None):
        from .._backend import BACKENDS

        super().__init__()
        self.gamma = check_gamma(gamma)
        self.divergence = bool(renamed("SoftDTWLoss", "divergence", divergence or None, "normalize", normalize))
        self.radius = check_positive_int("radius", radius, allow_zero=True, allow_none=True)
        self.reduction = check_option("reduction", reduction, _REDUCTIONS)
        self.backend = check_option("backend", backend, BACKENDS)

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        """Loss between ``x`` (B, N, d) and ``y`` (B, M, d); see the class docstring."""
        values = soft_dtw_torch(
            x, y, x_lengths, y_lengths, gamma=self.gamma, radius=self.radius, divergence=self.divergence,
            backend=self.backend,
        )
        if self.reduction == "mean":
            return values.mean()
        if self.reduction == "sum":
            return values.sum()
        return values

    def extra_repr(self):
        return (f"gamma={self.gamma}, divergence={self.divergence}, radius={self.radius}, "
                f"reduction={self.reduction!r}, backend={self.backend!r}")
