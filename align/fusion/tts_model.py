"""A duration-driven acoustic model (FastSpeech 2 style) trained on the aligner's durations.

Phones in, log-mel frames out, with no attention between the two clocks: every phone is
expanded to its integer number of frames (the *length regulator*, Ren et al. 2019,
FastSpeech) and a transformer decoder turns the expanded sequence into mel frames.

- **Training** (teacher forcing): the durations come from an alignment
  (``align.align_corpus(..., durations=...)``), so the decoder sees every phone exactly
  where the recording has it; a duration predictor learns ``log(1 + d)`` per phone on the
  side (FastSpeech 2, Ren et al. 2021).
- **Inference**: the predicted durations, rounded, at least one frame per phone
  (times ``duration_scale`` to speak slower or faster).

An optional *second stream* (speaker embedding, pitch and energy per frame, video
features...), ``(B, T2, d2)``, is projected to ``d_model`` and fused into the decoder's
hidden sequence after decoder layer ``fusion_layer`` with one of the operators of
:mod:`align.fusion.operators` (the primary modality is ``"mel"``, the second
``"extra"``). Frame-wise operators (``"concat"``, ``"sum"``, ...) need the stream on the
mel clock (``T2 == T`` and the same valid frames); ``"cross_attention"`` and
``"bottleneck"`` take any length.

Shapes: ``B`` items, ``N`` phones (padded, id 0), ``T`` mel frames (padded),
``d`` = ``d_model``.
"""

import math

import torch
from torch import nn

from ..exceptions import ParameterError
from .encoders import lengths_mask, sinusoidal_positions, transformer_layer
from .operators import OPERATORS, build_fusion

__all__ = ["DurationTTS", "DurationPredictor", "length_regulate", "durations_from_log"]

#: the primary (decoder) and the second stream's names in the fusion operator
PRIMARY, EXTRA = "mel", "extra"


# -- the length regulator ----------------------------------------------------------------


def _check_durations(durations, shape):
    if not isinstance(durations, torch.Tensor) or durations.dtype not in (torch.int64, torch.int32):
        raise ParameterError("durations must be an integer tensor (B, N) (torch.int64), got "
                             f"{type(durations).__name__} {getattr(durations, 'dtype', '')}")
    if tuple(durations.shape) != tuple(shape):
        raise ParameterError(f"durations must have shape {tuple(shape)} (one per token), got {tuple(durations.shape)}")
    if durations.numel() and int(durations.min()) < 0:
        raise ParameterError(f"durations must be >= 0, found {int(durations.min())}")


def length_regulate(h, durations, max_len=None):
    """Repeat every token's vector for its number of frames (FastSpeech's length regulator).

    Vectorised: the token of frame ``t`` is the first token whose cumulative duration
    exceeds ``t`` (``torch.searchsorted``), so zero durations are skipped and no loop
    runs over tokens.

    Parameters
    ----------
    h : Tensor (B, N, d)
        Token vectors.
    durations : LongTensor (B, N)
        Frames per token, >= 0 (padding tokens: 0).
    max_len : int, optional
        Frames of the output; default the longest item's total. Items longer than
        ``max_len`` are cut.

    Returns
    -------
    frames : Tensor (B, T, d)
        ``frames[b, t] = h[b, k]`` for the token ``k`` that owns frame ``t``; zeros past
        ``mel_lengths[b]``.
    mel_lengths : LongTensor (B,)
        ``min(durations[b].sum(), max_len)``.

    Raises
    ------
    ParameterError
        Durations of the wrong shape or dtype, or negative.
    """
    if h.ndim != 3:
        raise ParameterError(f"h must be (B, N, d), got shape {tuple(h.shape)}")
    _check_durations(durations, h.shape[:2])
    durations = durations.to(device=h.device, dtype=torch.int64)
    ends = durations.cumsum(1)  # (B, N): frame after each token
    totals = ends[:, -1] if ends.shape[1] else torch.zeros(h.shape[0], dtype=torch.int64, device=h.device)
    if max_len is None:
        max_len = int(totals.max()) if totals.numel() else 0
    elif isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 0:
        raise ParameterError(f"max_len must be an integer >= 0, got {max_len!r}")
    frames = torch.arange(max_len, device=h.device).expand(h.shape[0], max_len).contiguous()
    owner = torch.searchsorted(ends, frames, right=True).clamp_max(max(h.shape[1] - 1, 0))
    mel_lengths = totals.clamp_max(max_len)
    valid = frames < mel_lengths[:, None]
    if h.shape[1] == 0:
        return h.new_zeros(h.shape[0], max_len, h.shape[2]), mel_lengths
    out = torch.gather(h, 1, owner[..., None].expand(-1, -1, h.shape[2]))
    return out * valid[..., None].to(h.dtype), mel_lengths


def durations_from_log(log_duration, token_mask, *, scale=1.0):
    """Integer durations from predicted ``log(1 + d)``: rounded, >= 1 on valid tokens, 0 on padding.

    Parameters
    ----------
    log_duration : Tensor (B, N)
    token_mask : BoolTensor (B, N)
        ``True`` on valid tokens.
    scale : float
        Multiplies the durations before rounding (> 1: slower speech).

    Returns
    -------
    LongTensor (B, N)
    """
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ParameterError(f"duration_scale must be a positive number, got {scale!r}")
    frames = torch.round(torch.expm1(log_duration.float()).clamp_min(0) * scale).long()
    return torch.where(token_mask, frames.clamp_min(1), torch.zeros_like(frames))


# -- modules -----------------------------------------------------------------------------


class DurationPredictor(nn.Module):
    """Two 3-tap convolutions (ReLU, layer norm, dropout) and a linear: ``log(1 + d)`` per token.

    ``forward(h (B, N, d), mask (B, N)) -> (B, N)``; padded tokens are zeroed before each
    convolution (they never leak into a neighbour) and in the output.
    """

    def __init__(self, d_model, *, kernel_size=3, dropout=0.1):
        super().__init__()
        pad = kernel_size // 2
        self.convs = nn.ModuleList(nn.Conv1d(d_model, d_model, kernel_size, padding=pad) for _ in range(2))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(2))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(d_model, 1)

    def forward(self, h, mask):
        keep = mask[..., None].to(h.dtype)
        x = h
        for conv, norm in zip(self.convs, self.norms):
            x = conv((x * keep).transpose(1, 2)).transpose(1, 2)
            x = self.dropout(norm(torch.relu(x)))
        return self.out(x * keep).squeeze(-1) * mask.to(h.dtype)


class _Stack(nn.Module):
    """``n`` pre-norm transformer layers with a key padding mask; padded rows zeroed."""

    def __init__(self, n, d_model, n_heads, dropout):
        super().__init__()
        self.layers = nn.ModuleList(transformer_layer(d_model, n_heads, dropout) for _ in range(n))

    def forward(self, x, mask):
        keep = mask[..., None].to(x.dtype)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~mask) * keep
        return x


class DurationTTS(nn.Module):
    """Phones to log-mel frames through integer durations (FastSpeech 2 without pitch/energy).

    Parameters
    ----------
    n_tokens : int
        Vocabulary size; id 0 is padding.
    n_mels : int
        Mel bins of the output.
    d_model : int
        Width of every hidden vector.
    n_encoder_layers, n_decoder_layers : int
        Transformer layers over the phones and over the frames.
    n_heads : int
        Attention heads (must divide ``d_model``).
    second_stream : int, optional
        Feature size ``d2`` of an optional second input stream ``(B, T2, d2)``.
    fusion : str
        The fusion operator for the second stream (:data:`align.fusion.operators.OPERATORS`).
    fusion_layer : int
        Decoder layers before the fusion, ``0 .. n_decoder_layers``.
    dropout : float

    Notes
    -----
    The output layer is scaled by the buffers ``mel_mean`` and ``mel_std`` (``(n_mels,)``,
    set by :meth:`set_mel_statistics` from the training data), so the network works on
    normalised values and ``forward`` returns log-mels in the data's own units.
    """

    def __init__(self, n_tokens, n_mels=80, *, d_model=128, n_encoder_layers=2, n_decoder_layers=2,
                 n_heads=2, second_stream=None, fusion="concat", fusion_layer=1, dropout=0.1):
        super().__init__()
        _check_config(n_tokens, n_mels, d_model, n_encoder_layers, n_decoder_layers, n_heads,
                      second_stream, fusion, fusion_layer, dropout)
        self.config = dict(n_tokens=int(n_tokens), n_mels=int(n_mels), d_model=int(d_model),
                           n_encoder_layers=int(n_encoder_layers), n_decoder_layers=int(n_decoder_layers),
                           n_heads=int(n_heads), second_stream=None if second_stream is None else int(second_stream),
                           fusion=fusion, fusion_layer=int(fusion_layer), dropout=float(dropout))
        self.n_tokens, self.n_mels, self.d_model = int(n_tokens), int(n_mels), int(d_model)
        # without a second stream the split point only cuts the decoder in two
        self.fusion_layer = fusion_layer = min(int(fusion_layer), int(n_decoder_layers))
        self.embedding = nn.Embedding(n_tokens, d_model, padding_idx=0)
        self.encoder = _Stack(n_encoder_layers, d_model, n_heads, dropout)
        self.encoder_norm = nn.LayerNorm(d_model)
        self.duration_predictor = DurationPredictor(d_model, dropout=dropout)
        self.decoder_below = _Stack(fusion_layer, d_model, n_heads, dropout)
        self.decoder_above = _Stack(n_decoder_layers - fusion_layer, d_model, n_heads, dropout)
        self.decoder_norm = nn.LayerNorm(d_model)
        self.to_mel = nn.Linear(d_model, n_mels)
        self.dropout = nn.Dropout(dropout)
        self.second_stream = self.config["second_stream"]
        if self.second_stream is not None:
            self.extra_proj = nn.Linear(self.second_stream, d_model)
            self.fuse = build_fusion(fusion, [PRIMARY, EXTRA], d_model, n_heads=n_heads)
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))

    # -- pieces ----------------------------------------------------------------------------

    def set_mel_statistics(self, mean, std):
        """Set the output scale: per-bin mean and standard deviation of the training log-mels, (n_mels,)."""
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        if mean.shape != (self.n_mels,) or std.shape != (self.n_mels,):
            raise ParameterError(f"mel statistics must be ({self.n_mels},), got {tuple(mean.shape)} "
                                 f"and {tuple(std.shape)}")
        if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
            raise ParameterError("mel statistics must be finite, with std > 0")
        self.mel_mean.copy_(mean)
        self.mel_std.copy_(std)

    def encode(self, tokens, token_lengths):
        """Token ids to hidden vectors.

        Parameters
        ----------
        tokens : LongTensor (B, N)
            Ids in ``[0, n_tokens)``; positions past ``token_lengths`` are ignored.
        token_lengths : LongTensor (B,)
            Valid tokens per item, ``1 .. N``.

        Returns
        -------
        h : Tensor (B, N, d)
        mask : BoolTensor (B, N)
        """
        tokens, token_lengths = self._check_tokens(tokens, token_lengths)
        mask = lengths_mask(token_lengths, tokens.shape[1])
        tokens = tokens.masked_fill(~mask, 0)
        h = self.embedding(tokens) * math.sqrt(self.d_model)
        h = h + sinusoidal_positions(h.shape[1], self.d_model, device=h.device, dtype=h.dtype)
        h = self.encoder(self.dropout(h) * mask[..., None].to(h.dtype), mask)
        return self.encoder_norm(h) * mask[..., None].to(h.dtype), mask

    def decode(self, frames, mel_mask, extra=None, extra_lengths=None):
        """Expanded frames ``(B, T, d)`` to log-mels ``(B, T, n_mels)`` (zeros on padding)."""
        keep = mel_mask[..., None].to(frames.dtype)
        x = frames + sinusoidal_positions(frames.shape[1], self.d_model, device=frames.device, dtype=frames.dtype)
        x = self.decoder_below(self.dropout(x) * keep, mel_mask)
        if self.second_stream is not None:
            e, e_mask = self._second_stream(extra, extra_lengths, x.shape[0])
            x, _ = self.fuse({PRIMARY: x, EXTRA: e}, {PRIMARY: mel_mask, EXTRA: e_mask})
            x = x * keep
        elif extra is not None:
            raise ParameterError("extra was given but the model has no second stream "
                                 "(build it with second_stream=<feature size>)")
        x = self.decoder_norm(self.decoder_above(x, mel_mask))
        mel = self.to_mel(x) * self.mel_std + self.mel_mean
        return mel * keep

    # -- the model -------------------------------------------------------------------------

    def forward(self, tokens, token_lengths, durations=None, extra=None, extra_lengths=None):
        """Log-mels for a batch of token sequences.

        Parameters
        ----------
        tokens : LongTensor (B, N)
        token_lengths : LongTensor (B,)
        durations : LongTensor (B, N), optional
            Frames per token (teacher forcing; the aligner's durations in training).
            ``None``: the predicted durations, rounded, >= 1 (see :meth:`infer`).
            Durations past ``token_lengths`` are taken as 0.
        extra : Tensor (B, T2, d2), optional
            The second stream (required when the model was built with ``second_stream``).
        extra_lengths : LongTensor (B,), optional
            Valid frames of ``extra`` (default: all ``T2``).

        Returns
        -------
        dict
            ``mel`` (B, T, n_mels), ``mel_lengths`` (B,), ``log_duration`` (B, N) (the
            predictor's ``log(1 + d)``, 0 on padding), ``durations`` (B, N) (those used).
        """
        return self._run(tokens, token_lengths, durations, extra, extra_lengths, scale=1.0)

    def _run(self, tokens, token_lengths, durations, extra, extra_lengths, *, scale):
        h, mask = self.encode(tokens, token_lengths)
        log_duration = self.duration_predictor(h, mask)
        if durations is None:
            durations = durations_from_log(log_duration.detach(), mask, scale=scale)
        else:
            _check_durations(durations, tokens.shape)
            durations = durations.to(h.device).long().masked_fill(~mask, 0)
            if bool((durations.sum(1) == 0).any()):
                raise ParameterError("every item needs at least one frame: durations sum to 0 for items "
                                     f"{torch.nonzero(durations.sum(1) == 0).flatten().tolist()}")
        frames, mel_lengths = length_regulate(h, durations)
        mel_mask = lengths_mask(mel_lengths, frames.shape[1])
        mel = self.decode(frames, mel_mask, extra, extra_lengths)
        return {"mel": mel, "mel_lengths": mel_lengths, "log_duration": log_duration, "durations": durations}

    def loss(self, batch_outputs, mel_target, mel_lengths, durations, token_lengths):
        """Training loss terms: ``dict`` of scalar tensors, ``"total"`` their sum.

        Parameters
        ----------
        batch_outputs : dict
            :meth:`forward`'s output (computed with ``durations`` given).
        mel_target : Tensor (B, T', n_mels)
            Target log-mels, ``T' >= max(mel_lengths)``.
        mel_lengths : LongTensor (B,)
            Valid target frames; must equal ``durations.sum(1)``.
        durations : LongTensor (B, N)
            The durations the outputs were computed with (the duration target).
        token_lengths : LongTensor (B,)

        Returns
        -------
        dict
            ``"mel"``: L1 over valid frames and bins; ``"duration"``: MSE of
            ``log(1 + d)`` over valid tokens; ``"total"``: their sum.

        Raises
        ------
        ParameterError
            Shapes that disagree, or durations that do not sum to the mel lengths.
        """
        mel = batch_outputs["mel"]
        log_duration = batch_outputs["log_duration"]
        B, N = log_duration.shape
        token_lengths = torch.as_tensor(token_lengths, device=mel.device).long()
        mel_lengths = torch.as_tensor(mel_lengths, device=mel.device).long()
        _check_durations(durations, (B, N))
        token_mask = lengths_mask(token_lengths, N)
        durations = durations.to(mel.device).long().masked_fill(~token_mask, 0)
        if mel_lengths.shape != (B,):
            raise ParameterError(f"mel_lengths must be (B={B},), got {tuple(mel_lengths.shape)}")
        if not torch.equal(durations.sum(1), mel_lengths):
            raise ParameterError(f"durations sum to {durations.sum(1).tolist()} frames but the mels have "
                                 f"{mel_lengths.tolist()}; the durations must come from a spectrogram with "
                                 "the same sample rate and hop length")
        if not torch.equal(batch_outputs["mel_lengths"].to(mel.device), mel_lengths):
            raise ParameterError("batch_outputs were not computed with these durations "
                                 f"(output lengths {batch_outputs['mel_lengths'].tolist()}, "
                                 f"target lengths {mel_lengths.tolist()})")
        T = mel.shape[1]
        if mel_target.ndim != 3 or mel_target.shape[0] != B or mel_target.shape[2] != self.n_mels \
                or mel_target.shape[1] < T:
            raise ParameterError(f"mel_target must be (B={B}, T>={T}, n_mels={self.n_mels}), "
                                 f"got {tuple(mel_target.shape)}")
        frame_mask = lengths_mask(mel_lengths, T)[..., None].to(mel.dtype)
        target = mel_target[:, :T].to(mel.device, mel.dtype)
        mel_l1 = ((mel - target).abs() * frame_mask).sum() / (frame_mask.sum() * self.n_mels).clamp_min(1)
        duration = masked_duration_loss(log_duration, durations, token_mask)
        return {"mel": mel_l1, "duration": duration, "total": mel_l1 + duration}

    @torch.no_grad()
    def infer(self, tokens, token_lengths, extra=None, extra_lengths=None, *, durations=None,
              duration_scale=1.0):
        """Synthesis: log-mels from the predicted durations (eval mode, no gradients).

        Parameters
        ----------
        tokens, token_lengths, extra, extra_lengths
            As in :meth:`forward`.
        durations : LongTensor (B, N), optional
            Durations to use instead of the predicted ones (e.g. ground truth, for evaluation).
        duration_scale : float
            Multiplies the predicted durations before rounding (> 1: slower).

        Returns
        -------
        dict
            As :meth:`forward`; ``durations`` are those used.
        """
        was_training = self.training
        self.eval()
        try:
            return self._run(tokens, token_lengths, durations, extra, extra_lengths, scale=duration_scale)
        finally:
            self.train(was_training)

    # -- checks ----------------------------------------------------------------------------

    def _check_tokens(self, tokens, token_lengths):
        if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise ParameterError("tokens must be an integer tensor (B, N), got "
                                 f"{type(tokens).__name__} {tuple(getattr(tokens, 'shape', ()))}")
        device = self.embedding.weight.device
        tokens = tokens.to(device).long()
        token_lengths = torch.as_tensor(token_lengths, device=device)
        if token_lengths.dtype.is_floating_point or token_lengths.shape != tokens.shape[:1]:
            raise ParameterError(f"token_lengths must be integers (B={tokens.shape[0]},), "
                                 f"got {token_lengths.dtype} {tuple(token_lengths.shape)}")
        token_lengths = token_lengths.long()
        if token_lengths.numel() and (int(token_lengths.min()) < 1 or int(token_lengths.max()) > tokens.shape[1]):
            raise ParameterError(f"token_lengths must be in 1..{tokens.shape[1]}, got {token_lengths.tolist()}")
        valid = lengths_mask(token_lengths, tokens.shape[1])
        bad = valid & ((tokens < 0) | (tokens >= self.n_tokens))
        if bool(bad.any()):
            raise ParameterError(f"token ids must be in [0, {self.n_tokens}) (the vocabulary size), found "
                                 f"{sorted(set(tokens[bad].tolist()))[:5]}")
        return tokens, token_lengths

    def _second_stream(self, extra, extra_lengths, batch):
        if extra is None:
            raise ParameterError(f"the model was built with a second stream of {self.second_stream} "
                                 "features: pass extra (B, T2, d2)")
        if not isinstance(extra, torch.Tensor) or extra.ndim != 3 or extra.shape[0] != batch \
                or extra.shape[2] != self.second_stream:
            raise ParameterError(f"extra must be (B={batch}, T2, {self.second_stream}), "
                                 f"got {tuple(getattr(extra, 'shape', ()))}")
        device = self.extra_proj.weight.device
        extra = extra.to(device, self.extra_proj.weight.dtype)
        if extra_lengths is None:
            extra_lengths = torch.full((batch,), extra.shape[1], dtype=torch.int64, device=device)
        extra_lengths = torch.as_tensor(extra_lengths, device=device).long()
        if extra_lengths.shape != (batch,) or (extra_lengths.numel() and (
                int(extra_lengths.min()) < 1 or int(extra_lengths.max()) > extra.shape[1])):
            raise ParameterError(f"extra_lengths must be (B={batch},) in 1..{extra.shape[1]}, "
                                 f"got {extra_lengths.tolist()}")
        e_mask = lengths_mask(extra_lengths, extra.shape[1])
        e = self.extra_proj(extra)
        e = e + sinusoidal_positions(e.shape[1], self.d_model, device=device, dtype=e.dtype)
        return e * e_mask[..., None].to(e.dtype), e_mask


def masked_duration_loss(log_duration, durations, token_mask):
    """MSE between predicted ``log(1 + d)`` and the target's, over valid tokens (a scalar)."""
    target = torch.log1p(durations.to(log_duration.dtype))
    weight = token_mask.to(log_duration.dtype)
    return (((log_duration - target) ** 2) * weight).sum() / weight.sum().clamp_min(1)


def _check_config(n_tokens, n_mels, d_model, n_encoder_layers, n_decoder_layers, n_heads, second_stream,
                  fusion, fusion_layer, dropout):
    def positive(name, value, minimum=1):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")

    positive("n_tokens", n_tokens, 2)
    positive("n_mels", n_mels)
    positive("d_model", d_model, 2)
    positive("n_encoder_layers", n_encoder_layers, 0)
    positive("n_decoder_layers", n_decoder_layers, 0)
    positive("n_heads", n_heads)
    if d_model % n_heads or d_model % 2:
        raise ParameterError(f"d_model={d_model} must be even and divisible by n_heads={n_heads}")
    if isinstance(fusion_layer, bool) or not isinstance(fusion_layer, int) or fusion_layer < 0 \
            or (second_stream is not None and fusion_layer > n_decoder_layers):
        raise ParameterError(f"fusion_layer must be in 0..n_decoder_layers={n_decoder_layers}, "
                             f"got {fusion_layer!r}")
    if second_stream is not None:
        positive("second_stream", second_stream)
        if fusion not in OPERATORS:
            raise ParameterError(f"unknown fusion {fusion!r}; choose one of {', '.join(OPERATORS)}")
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ParameterError(f"dropout must be in [0, 1), got {dropout!r}")
