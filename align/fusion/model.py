"""FusionClassifier: unimodal encoders, a fusion operator at a chosen depth, shared layers, a head.

Where the streams meet is one number, ``fusion_layer`` (as in MBT, Nagrani et al. 2021):

- ``0``: early fusion. The operator combines the modalities' fronts (projected inputs);
  all ``n_layers`` transformer layers run on the fused stream.
- ``0 < k < n_layers``: intermediate fusion. ``k`` layers per modality, the operator,
  ``n_layers - k`` shared layers.
- ``n_layers``: late fusion of embeddings. Every modality runs all layers and is pooled
  (masked mean) to one vector; the operator combines the vectors; the head follows.
- ``fusion="decision"``: late fusion of decisions. Every modality runs all layers and has
  its own head; the logits are averaged (``fusion_layer`` is not used).

The operators are those of :mod:`align.fusion.operators`; the first key of ``inputs`` is
the primary stream, whose clock the fused stream keeps.

Training aids: ``modality_dropout`` (AV-HuBERT: in training, each item loses one whole
modality at the fusion point with this probability), ``aux_weight`` (TalkNet: one
classifier per modality on its own pooled encoding, their mean loss added with this
weight) and ``representation="coordinated"`` (per-modality projections of the pooled
encodings, a symmetric InfoNCE loss between every pair of modalities of an item, as in
CLIP, added with ``contrastive_weight``). :meth:`FusionClassifier.loss` returns every
term.
"""

import torch
from torch import nn
from torch.nn import functional as F

from ..exceptions import ParameterError
from .encoders import FrameFront, LayerStack, lengths_mask, masked_mean
from .operators import OPERATORS, build_fusion

FUSIONS = OPERATORS + ("decision",)
REPRESENTATIONS = ("joint", "coordinated")


class FusionClassifier(nn.Module):
    """Classify a set of aligned streams, fused at a chosen layer.

    Parameters
    ----------
    inputs : dict[str, int]
        Modality name -> feature size, primary modality first. With a single modality
        the model is the unimodal baseline built from the same parts (encoder, pooling,
        head; ``fusion`` and ``fusion_layer`` are not used).
    n_classes : int
    d_model : int
        Width of every encoder and of the fused stream.
    n_layers : int
        Transformer layers from input to head, per path.
    fusion : str
        An operator of :data:`align.fusion.operators.OPERATORS` or ``"decision"``.
    fusion_layer : int
        ``0`` (early) .. ``n_layers`` (late), see the module docstring.
    representation : {"joint", "coordinated"}
    modality_dropout : float
        Probability, per training item, that one modality (chosen uniformly) is zeroed at
        the fusion point.
    aux_weight : float
        Weight of the unimodal auxiliary losses (0 disables them).
    n_heads : int
    dropout : float
    n_bottleneck : int
        Tokens of the ``bottleneck`` operator.
    contrastive_weight, temperature : float
        Weight and temperature of the InfoNCE term (``representation="coordinated"``).
    """

    def __init__(self, inputs, n_classes, *, d_model=128, n_layers=4, fusion="concat", fusion_layer=2,
                 representation="joint", modality_dropout=0.0, aux_weight=0.0, n_heads=4, dropout=0.1,
                 n_bottleneck=4, contrastive_weight=1.0, temperature=0.1):
        super().__init__()
        _check_options(inputs, n_classes, d_model, n_layers, fusion, fusion_layer, representation,
                       modality_dropout, aux_weight, n_heads, temperature)
        self.modalities = list(inputs)
        self.inputs = dict(inputs)
        self.n_classes = int(n_classes)
        # one modality: nothing to fuse; the decision path is then encoder, pooling, head
        self.fusion = fusion = fusion if len(inputs) > 1 else "decision"
        self.n_layers = n_layers
        self.fusion_layer = n_layers if fusion == "decision" else fusion_layer
        self.representation = representation
        self.modality_dropout = float(modality_dropout)
        self.aux_weight = float(aux_weight)
        self.contrastive_weight = float(contrastive_weight)
        self.temperature = float(temperature)

        self.fronts = nn.ModuleDict({m: FrameFront(d, d_model, dropout) for m, d in inputs.items()})
        self.encoders = nn.ModuleDict(
            {m: LayerStack(self.fusion_layer, d_model, n_heads, dropout) for m in self.modalities})
        if fusion == "decision":
            self.heads = nn.ModuleDict({m: nn.Linear(d_model, n_classes) for m in self.modalities})
        else:
            self.fuse = build_fusion(fusion, self.modalities, d_model, n_heads=n_heads, n_bottleneck=n_bottleneck)
            self.shared = LayerStack(n_layers - self.fusion_layer, d_model, n_heads, dropout)
            self.head = nn.Linear(d_model, n_classes)
        if self.aux_weight > 0:
            self.aux_heads = nn.ModuleDict({m: nn.Linear(d_model, n_classes) for m in self.modalities})
        if representation == "coordinated":
            self.projections = nn.ModuleDict({m: nn.Linear(d_model, d_model) for m in self.modalities})

    # -- forward -------------------------------------------------------------------------

    def forward(self, features, lengths):
        """Logits for a batch.

        Parameters
        ----------
        features : dict[str, Tensor (B, T_m, d_m)]
        lengths : dict[str, Tensor (B,)]
            Valid frames per item and modality, ``1 <= lengths <= T_m``.

        Returns
        -------
        Tensor (B, n_classes)
        """
        return self._run(features, lengths)["logits"]

    def loss(self, features, lengths, labels):
        """Every loss term for a batch: ``dict`` of scalar tensors, ``"total"`` their weighted sum.

        Terms: ``"classification"`` (cross-entropy of the logits), ``"aux"`` (mean
        cross-entropy of the unimodal heads, when ``aux_weight > 0``), ``"contrastive"``
        (InfoNCE, when ``representation="coordinated"``).
        """
        out = self._run(features, lengths)
        labels = torch.as_tensor(labels, device=out["logits"].device).long()
        if labels.shape != out["logits"].shape[:1]:
            raise ParameterError(f"labels must be (B={out['logits'].shape[0]},), got {tuple(labels.shape)}")
        terms = {"classification": F.cross_entropy(out["logits"], labels)}
        total = terms["classification"]
        if self.aux_weight > 0:
            terms["aux"] = torch.stack([F.cross_entropy(self.aux_heads[m](v), labels)
                                        for m, v in out["pooled"].items()]).mean()
            total = total + self.aux_weight * terms["aux"]
        if self.representation == "coordinated":
            terms["contrastive"] = self._info_nce(out["pooled"])
            total = total + self.contrastive_weight * terms["contrastive"]
        terms["total"] = total
        return terms

    def embeddings(self, features, lengths):
        """Per-modality pooled encodings at the fusion point, ``dict[str, Tensor (B, d_model)]``
        (the coordinated projections, L2-normalised, when ``representation="coordinated"``)."""
        pooled = self._run(features, lengths)["pooled"]
        if self.representation == "coordinated":
            return {m: F.normalize(self.projections[m](v), dim=-1) for m, v in pooled.items()}
        return pooled

    def _run(self, features, lengths):
        masks = self._masks(features, lengths)
        streams = {m: self.encoders[m](self.fronts[m](features[m].to(self.fronts[m].proj.weight.dtype), masks[m]),
                                       masks[m])
                   for m in self.modalities}
        streams = self._drop_modalities(streams)
        pooled = {m: masked_mean(streams[m], masks[m]) for m in self.modalities}
        if self.fusion == "decision":
            logits = torch.stack([self.heads[m](v) for m, v in pooled.items()]).mean(0)
            return {"logits": logits, "pooled": pooled}
        if self.fusion_layer == self.n_layers:
            # late fusion of embeddings: one vector per modality, on a one-step clock
            streams = {m: v[:, None, :] for m, v in pooled.items()}
            masks = {m: torch.ones_like(masks[m][:, :1]) for m in self.modalities}
        fused, mask = self.fuse(streams, masks)
        fused = self.shared(fused, mask)
        return {"logits": self.head(masked_mean(fused, mask)), "pooled": pooled}

    # -- helpers -------------------------------------------------------------------------

    def _masks(self, features, lengths):
        if set(features) != set(self.modalities) or set(lengths) != set(self.modalities):
            raise ParameterError(f"model built for modalities {self.modalities}; got features "
                                 f"{sorted(features)} and lengths {sorted(lengths)}")
        batch = None
        masks = {}
        for m in self.modalities:
            x = features[m]
            if not torch.is_tensor(x) or x.ndim != 3 or x.shape[2] != self.inputs[m]:
                shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
                raise ParameterError(f"features[{m!r}] must be a tensor (B, T, {self.inputs[m]}), got {shape}")
            batch = x.shape[0] if batch is None else batch
            if x.shape[0] != batch:
                raise ParameterError(f"features[{m!r}] has batch {x.shape[0]}, others {batch}")
            n = torch.as_tensor(lengths[m], device=x.device).long()
            if n.shape != (batch,):
                raise ParameterError(f"lengths[{m!r}] must be (B={batch},), got {tuple(n.shape)}")
            if batch and (int(n.min()) < 1 or int(n.max()) > x.shape[1]):
                raise ParameterError(f"lengths[{m!r}] must lie in 1..{x.shape[1]}, got "
                                     f"{int(n.min())}..{int(n.max())}")
            if not torch.isfinite(x).all():
                raise ParameterError(f"features[{m!r}] holds NaN or infinite values")
            masks[m] = lengths_mask(n, x.shape[1])
        return masks

    def _drop_modalities(self, streams):
        if not (self.training and self.modality_dropout > 0):
            return streams
        first = streams[self.modalities[0]]
        batch, n = first.shape[0], len(self.modalities)
        drop = torch.rand(batch, device=first.device) < self.modality_dropout
        which = torch.randint(n, (batch,), device=first.device)
        return {m: x * ~(drop & (which == i))[:, None, None] for i, (m, x) in enumerate(streams.items())}

    def _info_nce(self, pooled):
        z = {m: F.normalize(self.projections[m](v), dim=-1) for m, v in pooled.items()}
        target = torch.arange(next(iter(z.values())).shape[0], device=next(iter(z.values())).device)
        terms = []
        for i, a in enumerate(self.modalities):
            for b in self.modalities[i + 1:]:
                logits = z[a] @ z[b].T / self.temperature
                terms.append((F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2)
        return torch.stack(terms).mean()


def count_parameters(model):
    """Trainable parameters of a module."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_options(inputs, n_classes, d_model, n_layers, fusion, fusion_layer, representation,
                   modality_dropout, aux_weight, n_heads, temperature):
    if not isinstance(inputs, dict) or not inputs:
        raise ParameterError(f"inputs must map modality names to feature sizes, got {inputs!r}")
    for m, d in inputs.items():
        if not isinstance(m, str) or int(d) != d or d < 1:
            raise ParameterError(f"inputs[{m!r}] must be a positive feature size, got {d!r}")
    if int(n_classes) != n_classes or n_classes < 2:
        raise ParameterError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if n_layers < 1 or d_model < 1 or d_model % n_heads:
        raise ParameterError(f"need n_layers >= 1 and n_heads ({n_heads}) dividing d_model ({d_model})")
    if fusion not in FUSIONS:
        raise ParameterError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
    if not 0 <= fusion_layer <= n_layers:
        raise ParameterError(f"fusion_layer must lie in 0..n_layers={n_layers}, got {fusion_layer}")
    if representation not in REPRESENTATIONS:
        raise ParameterError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")
    if not 0.0 <= modality_dropout < 1.0:
        raise ParameterError(f"modality_dropout must lie in [0, 1), got {modality_dropout}")
    if aux_weight < 0 or temperature <= 0:
        raise ParameterError("aux_weight must be >= 0 and temperature > 0")
