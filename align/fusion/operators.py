"""Fusion operators: several streams of hidden vectors in, one stream out.

Every operator has the same contract, so a model picks one by name
(:func:`build_fusion`) and the experiments swap them without touching the model:

``op(streams, masks) -> (fused, mask)``

- ``streams``: ``dict[str, Tensor (B, T_m, d)]``, one entry per modality, in the order
  of ``modalities`` given at construction; the first is the *primary* stream.
- ``masks``: ``dict[str, BoolTensor (B, T_m)]``, ``True`` on valid frames.
- ``fused``: ``(B, T_primary, d)`` on the primary stream's clock, with the primary's mask.

Two families:

- **frame-wise** (``concat``, ``sum``, ``weighted_sum``, ``gated``, ``film``, ``mlp``)
  combine the streams frame by frame, so they need the streams on one clock: the same
  padded length and the same valid frames per item (put them there with
  :mod:`align.fusion.data`). Anything else raises :class:`~align.exceptions.ParameterError`.
- **attention** (``cross_attention``, ``bottleneck``) let the primary stream read the others
  through masked attention, so any lengths are allowed.

References: concatenation and modality weighting as in AV-HuBERT and MultiBench; gated
fusion (Arevalo et al. 2017, GMU); FiLM (Perez et al. 2018); crossmodal attention in
both directions (MulT, Tsai et al. 2019; TalkNet, Tao et al. 2021); bottleneck tokens (MBT,
Nagrani et al. 2021).
"""

import torch
from torch import nn

from ..exceptions import ParameterError

#: operators that combine streams frame by frame (one clock needed)
FRAMEWISE = ("concat", "sum", "weighted_sum", "gated", "film", "mlp")
#: operators that read the other streams by attention (any lengths)
ATTENTION = ("cross_attention", "bottleneck")
OPERATORS = FRAMEWISE + ATTENTION


def build_fusion(name, modalities, d_model, *, n_heads=4, n_bottleneck=4, dropout=0.0):
    """The fusion operator called ``name`` for these modalities.

    Parameters
    ----------
    name : str
        One of :data:`OPERATORS`.
    modalities : sequence of str
        Modality names, primary first; at least two.
    d_model : int
        Width of every stream.
    n_heads : int
        Attention heads (``cross_attention``, ``bottleneck``); must divide ``d_model``.
    n_bottleneck : int
        Bottleneck tokens (``bottleneck``).
    dropout : float
        Attention dropout.

    Returns
    -------
    torch.nn.Module
    """
    modalities = list(modalities)
    if name not in OPERATORS:
        raise ParameterError(f"unknown fusion operator {name!r}; choose one of {', '.join(OPERATORS)}")
    if len(modalities) < 2 or len(set(modalities)) != len(modalities):
        raise ParameterError(f"fusion needs at least two distinct modalities, got {modalities}")
    if name in ATTENTION and d_model % n_heads:
        raise ParameterError(f"n_heads={n_heads} must divide d_model={d_model}")
    cls = _CLASSES[name]
    if name == "cross_attention":
        return cls(modalities, d_model, n_heads=n_heads, dropout=dropout)
    if name == "bottleneck":
        return cls(modalities, d_model, n_heads=n_heads, n_bottleneck=n_bottleneck, dropout=dropout)
    return cls(modalities, d_model)


class _Fusion(nn.Module):
    """Shared checks: the streams given are the modalities built for, of the right width."""

    framewise = True

    def __init__(self, modalities, d_model):
        super().__init__()
        self.modalities = list(modalities)
        self.d_model = d_model

    def _checked(self, streams, masks):
        if set(streams) != set(self.modalities) or set(masks) != set(self.modalities):
            raise ParameterError(f"fusion built for modalities {self.modalities}, "
                                 f"got streams {sorted(streams)} and masks {sorted(masks)}")
        xs = [streams[m] for m in self.modalities]
        ms = [masks[m] for m in self.modalities]
        batch = xs[0].shape[0]
        for name, x, m in zip(self.modalities, xs, ms):
            if x.ndim != 3 or x.shape[0] != batch or x.shape[2] != self.d_model:
                raise ParameterError(f"stream {name!r} must be (B={batch}, T, {self.d_model}), "
                                     f"got {tuple(x.shape)}")
            if m.shape != x.shape[:2]:
                raise ParameterError(f"mask of {name!r} must be {tuple(x.shape[:2])}, got {tuple(m.shape)}")
        if self.framewise:
            for name, x, m in zip(self.modalities[1:], xs[1:], ms[1:]):
                if x.shape[1] != xs[0].shape[1] or not torch.equal(m, ms[0]):
                    raise ParameterError(
                        f"{type(self).__name__} combines frame by frame: stream {name!r} "
                        f"(length {x.shape[1]}, valid frames {m.sum(1).tolist()}) is not on the clock of "
                        f"{self.modalities[0]!r} (length {xs[0].shape[1]}, valid frames "
                        f"{ms[0].sum(1).tolist()}); resample it with align.fusion.data or use "
                        "fusion='cross_attention' or 'bottleneck'")
        return xs, ms


class ConcatFusion(_Fusion):
    """Concatenate the features of every stream, frame by frame, and project back to ``d``."""

    def __init__(self, modalities, d_model):
        super().__init__(modalities, d_model)
        self.proj = nn.Linear(len(self.modalities) * d_model, d_model)

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        return self.proj(torch.cat(xs, dim=-1)), ms[0]


class SumFusion(_Fusion):
    """Add the streams frame by frame (no parameters)."""

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        return torch.stack(xs).sum(0), ms[0]


class WeightedSumFusion(_Fusion):
    """A learned convex combination: ``sum_m softmax(w)_m x_m``, one weight per modality."""

    def __init__(self, modalities, d_model):
        super().__init__(modalities, d_model)
        self.logits = nn.Parameter(torch.zeros(len(self.modalities)))

    def weights(self):
        """Modality weights, (M,), summing to one."""
        return torch.softmax(self.logits, 0)

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        w = self.weights()
        return torch.einsum("m,mbtd->btd", w, torch.stack(xs)), ms[0]


class GatedFusion(_Fusion):
    """Gated multimodal unit: per frame and feature, a sigmoid gate per modality (GMU).

    ``h_m = tanh(W_m x_m)``, ``z = softmax_m(G [x_1; ...; x_M])``, ``out = sum_m z_m h_m``
    (for two modalities a softmax over two gates is the GMU's ``z, 1 - z``).
    """

    def __init__(self, modalities, d_model):
        super().__init__(modalities, d_model)
        n = len(self.modalities)
        self.values = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(n))
        self.gate = nn.Linear(n * d_model, n * d_model)

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        h = torch.stack([torch.tanh(f(x)) for f, x in zip(self.values, xs)], dim=-2)  # (B, T, M, d)
        z = self.gate(torch.cat(xs, dim=-1)).unflatten(-1, (len(xs), self.d_model)).softmax(dim=-2)
        return (z * h).sum(-2), ms[0]


class FiLMFusion(_Fusion):
    """The primary stream modulated by the others: ``x_1 * (1 + gamma) + beta``, per frame.

    ``gamma`` and ``beta`` are linear in the other streams' concatenated features; they
    start at zero, so the operator starts as the identity on the primary stream.
    """

    def __init__(self, modalities, d_model):
        super().__init__(modalities, d_model)
        self.film = nn.Linear((len(self.modalities) - 1) * d_model, 2 * d_model)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        gamma, beta = self.film(torch.cat(xs[1:], dim=-1)).chunk(2, dim=-1)
        return xs[0] * (1 + gamma) + beta, ms[0]


class MLPFusion(_Fusion):
    """A two-layer perceptron on the concatenated features of every frame."""

    def __init__(self, modalities, d_model):
        super().__init__(modalities, d_model)
        n = len(self.modalities)
        self.mlp = nn.Sequential(nn.Linear(n * d_model, 2 * d_model), nn.GELU(), nn.Linear(2 * d_model, d_model))

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        return self.mlp(torch.cat(xs, dim=-1)), ms[0]


def _masked_attention(attn, query, key, key_mask):
    """``attn(query, key, key)`` ignoring invalid keys; a query with no valid key reads zeros."""
    empty = ~key_mask.any(1)
    # nn.MultiheadAttention returns NaN for a row whose keys are all masked: unmask one
    # key there and zero the result afterwards.
    safe = key_mask.clone()
    safe[empty, 0] = True
    out, _ = attn(query, key, key, key_padding_mask=~safe, need_weights=False)
    return out.masked_fill(empty[:, None, None], 0.0)


class CrossAttentionFusion(_Fusion):
    """Crossmodal attention in both directions, then the primary stream (MulT, TalkNet).

    First every other stream reads the primary (``x_m += Attn(x_m, x_1)``), then the
    primary reads the updated others (``x_1 += Attn(x_1, [x_2; ...; x_M])``), each with
    a residual and layer norm; padded frames are never attended to. Streams may have any
    lengths; the result is on the primary's clock.
    """

    framewise = False

    def __init__(self, modalities, d_model, *, n_heads=4, dropout=0.0):
        super().__init__(modalities, d_model)
        n = len(self.modalities)
        self.to_primary = nn.ModuleList(
            nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True) for _ in range(n - 1))
        self.from_others = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm_others = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n - 1))
        self.norm_primary = nn.LayerNorm(d_model)

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        primary, others = xs[0], []
        for attn, norm, x, m in zip(self.to_primary, self.norm_others, xs[1:], ms[1:]):
            others.append(norm(x + _masked_attention(attn, x, primary, ms[0])) * m[..., None])
        key, key_mask = torch.cat(others, dim=1), torch.cat(ms[1:], dim=1)
        out = self.norm_primary(primary + _masked_attention(self.from_others, primary, key, key_mask))
        return out, ms[0]


class BottleneckFusion(_Fusion):
    """Information passes between modalities only through a few learned tokens (MBT).

    ``n_bottleneck`` tokens read each modality by masked attention; their readings are
    averaged over the modalities (MBT's bottleneck update); then the primary stream reads
    the bottleneck (residual and layer norm). Any lengths; the primary's clock out.
    """

    framewise = False

    def __init__(self, modalities, d_model, *, n_heads=4, n_bottleneck=4, dropout=0.0):
        super().__init__(modalities, d_model)
        if n_bottleneck < 1:
            raise ParameterError(f"n_bottleneck must be >= 1, got {n_bottleneck}")
        self.tokens = nn.Parameter(torch.randn(n_bottleneck, d_model) * d_model ** -0.5)
        self.read = nn.ModuleList(
            nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True) for _ in self.modalities)
        self.write = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm_tokens = nn.LayerNorm(d_model)
        self.norm_primary = nn.LayerNorm(d_model)

    def forward(self, streams, masks):
        xs, ms = self._checked(streams, masks)
        tokens = self.tokens.expand(xs[0].shape[0], -1, -1)
        readings = [_masked_attention(attn, tokens, x, m) for attn, x, m in zip(self.read, xs, ms)]
        tokens = self.norm_tokens(tokens + torch.stack(readings).mean(0))
        every = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        out = self.norm_primary(xs[0] + _masked_attention(self.write, xs[0], tokens, every))
        return out, ms[0]


_CLASSES = {
    "concat": ConcatFusion,
    "sum": SumFusion,
    "weighted_sum": WeightedSumFusion,
    "gated": GatedFusion,
    "film": FiLMFusion,
    "mlp": MLPFusion,
    "cross_attention": CrossAttentionFusion,
    "bottleneck": BottleneckFusion,
}
