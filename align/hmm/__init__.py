"""HMM alignment over an explicit graph.

- :mod:`~align.hmm.graph`: :class:`HMMGraph` and its builders;
- :mod:`~align.hmm.decode`: :func:`viterbi`, :func:`forward_backward` and their batch
  forms (CPU drivers);
- :mod:`~align.hmm.decode_cuda`: the CUDA host launcher of :func:`viterbi_batch`.
"""

from .decode import (
    PosteriorResult,
    ViterbiResult,
    forward_backward,
    forward_backward_batch,
    path_segments,
    viterbi,
    viterbi_batch,
)
from .graph import MAX_BAND_WIDTH, HMMGraph

__all__ = [
    "HMMGraph",
    "ViterbiResult",
    "PosteriorResult",
    "viterbi",
    "forward_backward",
    "viterbi_batch",
    "forward_backward_batch",
    "path_segments",
    "MAX_BAND_WIDTH",
]
