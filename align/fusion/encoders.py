"""Unimodal encoders and the masked helpers the fusion models share.

A unimodal encoder is a *front* (linear projection, a 3-tap convolution over time,
sinusoidal positions) followed by a stack of pre-norm transformer layers. The model cuts
the stack at its ``fusion_layer``: the layers below run per modality, the rest on the
fused stream.
"""

import math

import torch
from torch import nn


def lengths_mask(lengths, max_len):
    """``(B, max_len)`` bool mask, ``True`` on the first ``lengths[b]`` frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(x, mask):
    """Mean over valid frames: x (B, T, d), mask (B, T) -> (B, d); an empty item gives zeros."""
    weights = mask.to(x.dtype)[..., None]
    return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def sinusoidal_positions(n, d, *, device=None, dtype=torch.float32):
    """The transformer's sinusoidal position table, (n, d) (Vaswani et al. 2017)."""
    position = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / d))
    table = torch.zeros(n, d, device=device)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: d // 2])
    return table.to(dtype)


class FrameFront(nn.Module):
    """Features of one modality to ``d_model``: linear, 3-tap conv over time, positions.

    Parameters
    ----------
    d_in, d_model : int
    dropout : float

    ``forward(x (B, T, d_in), mask (B, T)) -> (B, T, d_model)``; padded frames are zeroed
    before the convolution so they never leak into a valid neighbour, and after it.
    """

    def __init__(self, d_in, d_model, dropout=0.1):
        super().__init__()
        self.proj = nn.Linear(d_in, d_model)
        self.conv = nn.Conv1d(d_model, d_model, kernel_size=3, padding=1)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        keep = mask[..., None].to(x.dtype)
        h = self.proj(x) * keep
        h = h + self.act(self.conv(h.transpose(1, 2)).transpose(1, 2))
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], device=h.device, dtype=h.dtype)
        return self.dropout(h) * keep


def transformer_layer(d_model, n_heads, dropout):
    """One pre-norm transformer encoder layer (feed-forward width ``2 * d_model``)."""
    return nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=2 * d_model, dropout=dropout,
                                      activation="gelu", batch_first=True, norm_first=True)


class LayerStack(nn.Module):
    """``n`` transformer layers over a masked sequence (``n`` may be zero: the identity).

    ``forward(x (B, T, d), mask (B, T)) -> (B, T, d)``, padded frames zeroed.
    """

    def __init__(self, n, d_model, n_heads, dropout):
        super().__init__()
        self.layers = nn.ModuleList(transformer_layer(d_model, n_heads, dropout) for _ in range(n))
        self.norm = nn.LayerNorm(d_model) if n else nn.Identity()

    def forward(self, x, mask):
        padding = ~mask
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
        return self.norm(x) * mask[..., None].to(x.dtype)
