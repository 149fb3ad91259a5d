"""fusealign: exact alignment for speech, text, video and time series.

The public API. Heavy or optional parts (torch, the speech pipeline, plots)
load on first use, so ``import align`` stays fast and needs only numpy, scipy
and numba.

Note: ``align.dtw`` is the function. Its module is reachable as
``sys.modules["align.dtw"]`` or with ``from align.dtw import ...``.
"""

import importlib

from .exceptions import (
    AlignError,
    BackendUnavailableError,
    InfeasibleAlignmentError,
    ParameterError,
)

# Imported eagerly: the function ``dtw`` shares its name with the module
# ``align/dtw.py``; importing it here makes the package attribute the function.
from .dtw import DTWResult, dtw, dtw_batch, dtw_distance, dtw_pairwise

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "subsequence_search": "align.search",
    "SearchMatch": "align.search",
    "soft_dtw": "align.softdtw",
    "soft_dtw_batch": "align.softdtw",
    "SoftDTWResult": "align.softdtw",
    "SoftDTWLoss": "align.softdtw_torch",
    "forced_align": "align.ctc",
    "merge_tokens": "align.ctc",
    "TokenSpan": "align.ctc",
    "HMMGraph": "align.hmm",
    "viterbi": "align.hmm",
    "forward_backward": "align.hmm",
    "viterbi_batch": "align.hmm",
    "forward_backward_batch": "align.hmm",
    "ViterbiResult": "align.hmm",
    "PosteriorResult": "align.hmm",
    "align_transcript": "align.transcript",
    "align_corpus": "align.corpus",
    "Alignment": "align.transcript",
    "Word": "align.transcript",
    "Phone": "align.transcript",
    "plot_alignment": "align.plot",
}

__all__ = [
    "AlignError",
    "ParameterError",
    "InfeasibleAlignmentError",
    "BackendUnavailableError",
    "DTWResult",
    "dtw",
    "dtw_distance",
    "dtw_pairwise",
    "dtw_batch",
    *_LAZY,
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'align' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
