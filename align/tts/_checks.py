"""Post-conditions shared by the CPU and CUDA paths of :func:`align.maximum_path`."""

import numpy as np

from ..exceptions import InfeasibleAlignmentError, ParameterError

__all__ = ["check_scores"]


def check_scores(score, errors="raise"):
    """Turn the kernels' per-item score flags into errors (NaN: bad values; -inf: no finite path).

    With ``errors="ignore"`` the items without a finite path are returned (int64
    array) instead of raising; bad values raise either way.
    """
    bad = np.flatnonzero(np.isnan(score))
    if bad.size:
        raise ParameterError(
            f"value[{int(bad[0])}] holds NaN or +inf inside its text x mel block; -inf marks a "
            "forbidden cell, nothing else may be non-finite"
        )
    stuck = np.flatnonzero(score == -np.inf)
    if stuck.size and errors == "raise":
        raise InfeasibleAlignmentError(
            f"item {int(stuck[0])}: every monotone path crosses a -inf cell of value; "
            "no finite alignment exists"
        )
    return stuck
