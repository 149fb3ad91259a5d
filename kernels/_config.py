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

# The wavefront kernels (dtw_cuda.dtw_wave, softdtw_cuda's *_wave kernels) give each
# pair WAVE_LANES threads that own 8 rows each, and put WAVE_PAIRS pairs in a
# block (blockDim = (WAVE_LANES, WAVE_PAIRS)). Under the simulator tests patch
# them small so tiny tables span several lanes, passes and pairs per block.
WAVE_LANES = 32
WAVE_PAIRS = 4
_DEFAULT_WAVE = (32, 4)


def _reset():
    """Restore the defaults (used by tests that patch the constants)."""
    global THREADS_PER_BLOCK, WAVE_LANES, WAVE_PAIRS
    THREADS_PER_BLOCK = _DEFAULT_THREADS_PER_BLOCK
    WAVE_LANES, WAVE_PAIRS = _DEFAULT_WAVE
