"""Compile-time policy shared by every kernel.

Kernels never read these at run time as mutable globals (Numba freezes module
globals into the compiled code, and ``cache=True`` would keep stale values);
they are used only in decorators and by the API layer.
"""

# fastmath without the no-NaN / no-inf assumptions: the recurrences use +-inf
# as "unreachable", so the all-flags fastmath setting (it implies nnan, ninf) is wrong here.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}  # a set: njit rejects frozensets

# Threads per block for 1-D CUDA launches. Tests under the CUDA simulator patch
# this to a small value so tiny inputs span several blocks; see _reset().
THREADS_PER_BLOCK = 256
_DEFAULT_THREADS_PER_BLOCK = 256


def _reset():
    """Restore the defaults (used by tests that patch the constants)."""
    global THREADS_PER_BLOCK
    THREADS_PER_BLOCK = _DEFAULT_THREADS_PER_BLOCK
