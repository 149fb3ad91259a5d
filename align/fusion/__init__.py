"""Torch models fed by alignments: intermediate fusion and duration-driven TTS (issue 11).

- :mod:`align.fusion.operators`: the fusion operators, one contract
  (``op(streams, masks) -> (fused, mask)``) and :func:`build_fusion` to pick one by name.
- :mod:`align.fusion.encoders`: the unimodal encoder parts and masked helpers.
- :mod:`align.fusion.model`: :class:`FusionClassifier` (early, intermediate and late
  fusion, joint or coordinated representations).
- :mod:`align.fusion.tts_model`: :class:`DurationTTS` (FastSpeech-2-style, fed by the
  aligner's durations) and :func:`length_regulate`; :mod:`align.fusion.tts_data` (mels,
  phone vocabulary, datasets) and :mod:`align.fusion.tts_train` (``train_tts``,
  ``load_tts``, ``synthesize``; the ``align tts`` command).
- :mod:`align.fusion.data`: streams on one clock (resampled by timestamps, warped by a
  DTW path, pooled over aligned words or phones) and :func:`collate`.

Imports torch, so ``import align`` never loads it.
"""

from .data import (
    AttentionPool,
    Batch,
    alignment_intervals,
    collate,
    frame_times,
    interval_frames,
    lengths_to_mask,
    pool_durations,
    pool_intervals,
    resample_to_clock,
    warp_by_path,
)
from .model import FUSIONS, FusionClassifier, count_parameters
from .operators import ATTENTION, FRAMEWISE, OPERATORS, build_fusion
from .tts_model import DurationTTS, length_regulate

__all__ = ["FusionClassifier", "build_fusion", "count_parameters", "FUSIONS", "OPERATORS", "FRAMEWISE",
           "ATTENTION", "AttentionPool", "Batch", "alignment_intervals", "collate", "frame_times",
           "interval_frames", "lengths_to_mask", "pool_durations", "pool_intervals", "resample_to_clock",
           "warp_by_path", "DurationTTS", "length_regulate"]
