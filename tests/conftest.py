"""Shared fixtures.

The CUDA simulator is switched on before numba is first imported, so the CUDA
kernels run (slowly, as Python) on CPU-only machines. On a GPU machine set
NUMBA_ENABLE_CUDASIM=0 to test the real device.
"""

import os
import zlib

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng(request):
    """A seeded generator; the seed depends on the test's name, so tests are independent."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)
