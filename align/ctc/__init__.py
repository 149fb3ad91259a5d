"""CTC forced alignment: a batched drop-in for ``torchaudio.functional.forced_align``.

- :mod:`~align.ctc.forced_align`: :func:`forced_align`, :func:`merge_tokens`,
  :class:`TokenSpan` (validation, the CPU driver);
- :mod:`~align.ctc.forced_align_cuda`: its CUDA host launcher.
"""

from .forced_align import TokenSpan, forced_align, merge_tokens

__all__ = ["forced_align", "merge_tokens", "TokenSpan"]
