"""Time-series alignment: exact DTW, subsequence search, soft-DTW (and its torch loss).

One module per algorithm, its CUDA host launcher beside it:

- :mod:`~align.sequence.dtw` (:func:`dtw`, :func:`dtw_distance`, :func:`dtw_pairwise`,
  :func:`dtw_batch`) and :mod:`~align.sequence.dtw_cuda`;
- :mod:`~align.sequence.search` (:func:`subsequence_search`, the UCR Suite);
- :mod:`~align.sequence.softdtw` (:func:`soft_dtw`, :func:`soft_dtw_batch`) and
  :mod:`~align.sequence.softdtw_torch` (:class:`SoftDTWLoss`, imported only when used:
  it needs torch).

A new DTW variant goes here: its kernel in ``kernels/`` (CPU and CUDA side by side), its
option code in the API module that validates it, its tests in ``tests/sequence/``.
"""

from .dtw import DTWResult, dtw, dtw_batch, dtw_distance, dtw_pairwise

__all__ = ["DTWResult", "dtw", "dtw_distance", "dtw_pairwise", "dtw_batch"]
