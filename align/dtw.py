"""Dynamic time warping: public API (placeholder until the DTW engine lands)."""

from dataclasses import dataclass

import numpy as np

__all__ = ["DTWResult", "dtw", "dtw_distance", "dtw_pairwise"]


@dataclass(frozen=True)
class DTWResult:
    distance: float
    path: np.ndarray | None
    normalized_distance: float


def dtw(x, y, **options):
    raise NotImplementedError


def dtw_distance(x, y, **options):
    raise NotImplementedError


def dtw_pairwise(X, Y=None, **options):
    raise NotImplementedError
