"""fusealign: exact alignment for speech, text, video and time series.

The public API. Heavy or optional parts (torch, the speech pipeline, plots)
load on first use, so ``import align`` stays fast and needs only numpy, scipy
and numba.

Note: ``align.dtw`` is the function. Its module is :mod:`align.sequence.dtw`
(``from align.dtw import ...`` still works, see :mod:`align._moved`).

Where things live (one folder per layer; ``../shared/docs/DESIGN.md``):
``kernels/`` (installed as ``align.kernels``, compute only) <- core API
(``sequence/``, ``hmm/``, ``ctc/``; validation, backend choice, one CUDA host
launcher beside each CPU driver) <- front ends (``audio/``, ``text/``) <-
pipelines (``acoustic/``, ``speech/``, ``tts/``, ``video/``) <- ``fusion/``
(torch models) <- ``plot.py``, ``cli.py``. ``io/`` is a leaf that writes plain
data. A lower layer never imports a higher one (``tests/test_layers.py``).
"""

import importlib
import sys

from . import _moved

from .exceptions import (
    AlignError,
    BackendUnavailableError,
    InfeasibleAlignmentError,
    ParameterError,
)

from .sequence.dtw import DTWResult, dtw, dtw_batch, dtw_distance, dtw_pairwise

# The function ``dtw`` shares its name with the old module path ``align.dtw``:
# registering the module under that name now means a later ``import align.dtw``
# finds it loaded and leaves the package attribute (the function) alone.
sys.modules.setdefault("align.dtw", sys.modules["align.sequence.dtw"])
_moved.install()

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "subsequence_search": "align.sequence.search",
    "SearchMatch": "align.sequence.search",
    "soft_dtw": "align.sequence.softdtw",
    "soft_dtw_batch": "align.sequence.softdtw",
    "SoftDTWResult": "align.sequence.softdtw",
    "SoftDTWLoss": "align.sequence.softdtw_torch",
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
    "align_transcript": "align.speech.transcript",
    "align_corpus": "align.speech.corpus",
    "train_phone_model": "align.speech.tts_training",
    "PhoneModel": "align.speech.tts_hmm",
    "Alignment": "align.speech.results",
    "Word": "align.speech.results",
    "Phone": "align.speech.results",
    "plot_alignment": "align.plot",
    "maximum_path": "align.tts.mas",
    "ForwardSumLoss": "align.tts.forward_sum_torch",
    "beta_binomial_prior": "align.tts.losses",
    "durations_from_textgrid": "align.tts.durations",
    "durations_to_path": "align.tts.durations",
    "path_to_durations": "align.tts.durations",
    "mel2ph": "align.tts.durations",
    "token_average": "align.tts.durations",
    "drop_dtw": "align.sequence.drop_dtw",
    "drop_dtw_batch": "align.sequence.drop_dtw",
    "align_segments": "align.sequence.drop_dtw",
    "DropDTWResult": "align.sequence.drop_dtw",
    "open_video": "align.video.reader",
    "VideoInfo": "align.video.reader",
    "frame_times": "align.video.reader",
    "iter_frames": "align.video.reader",
    "read_audio": "align.video.reader",
    "detect_shots": "align.video.shots",
    "Shot": "align.video.shots",
    "subtitles": "align.video.subtitles",
    "Cue": "align.video.subtitles",
    "SubtitleResult": "align.video.subtitles",
    "align_tts": "align.speech.tts_align",
    "align_fragments": "align.speech.fragments",
    "FragmentAlignment": "align.speech.fragments",
    "sync": "align.video.sync",
    "SyncResult": "align.video.sync",
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
