"""Backend choice: CPU (Numba) or CUDA (numba-cuda).

An explicitly requested backend never falls back silently: ``backend="cuda"``
without a usable GPU raises :class:`align.BackendUnavailableError`.
"""

import logging

from ._validation import check_option
from .exceptions import BackendUnavailableError

__all__ = ["BACKENDS", "cuda_available", "resolve_backend", "require_cpu"]

BACKENDS = ("auto", "cpu", "cuda")
_log = logging.getLogger(__name__)


def cuda_available():
    """Return True if numba-cuda is importable and sees a GPU (or the simulator)."""
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver counts as no GPU
        return False


def resolve_backend(backend, *, on_gpu=False):
    """Turn ``backend`` into ``"cpu"`` or ``"cuda"``.

    Parameters
    ----------
    backend : {"auto", "cpu", "cuda"}
        What the caller asked for.
    on_gpu : bool
        Whether the inputs already live on a CUDA device (torch CUDA tensors or
        numba device arrays). ``"auto"`` then picks ``"cuda"``.

    Returns
    -------
    str
        ``"cpu"`` or ``"cuda"``.

    Raises
    ------
    ParameterError
        If ``backend`` is not one of the allowed strings.
    BackendUnavailableError
        If ``"cuda"`` is requested (or the inputs are on a GPU) and no GPU is usable.
    """
    check_option("backend", backend, BACKENDS)
    if backend == "cpu":
        return "cpu"
    if backend == "cuda" or on_gpu:
        if not cuda_available():
            raise BackendUnavailableError(
                "backend='cuda' was requested (or the inputs are on a GPU) but numba-cuda "
                "finds no usable GPU; install numba-cuda and a CUDA driver, or pass backend='cpu'"
            )
        return "cuda"
    _log.debug("backend='auto' resolved to 'cpu'")
    return "cpu"


def require_cpu(function, backend):
    """Check ``backend`` for a function with no CUDA kernel yet: ``"cuda"`` says so.

    ``"auto"`` and ``"cpu"`` pass (GPU inputs then run on a host copy), so
    ``backend="cuda"`` never runs on the CPU behind the caller's back.

    Raises
    ------
    ParameterError
        An unknown backend name.
    BackendUnavailableError
        ``backend="cuda"``.
    """
    check_option("backend", backend, BACKENDS)
    if backend == "cuda":
        raise BackendUnavailableError(
            f"{function} has no CUDA kernel yet; use backend='cpu' (or 'auto', which runs it on the "
            "CPU for GPU inputs too, on a host copy)"
        )
