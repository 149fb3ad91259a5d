"""Shared fixtures, and the rules for what a missing resource does: skip or fail.

The CUDA simulator is switched on before numba is first imported, so the CUDA
kernels run (slowly, as Python) on CPU-only machines. On a GPU machine set
``ALIGN_REQUIRE_GPU=1`` (or ``NUMBA_ENABLE_CUDASIM=0``) to test the real device.

Missing resources (one place decides, :func:`missing_action`):

- Shared data (``../shared`` beside the repository, the read-only speech
  corpora): :func:`shared_data` returns a path inside it. Where it is absent the
  test is skipped, except when ``ALIGN_REQUIRE_SHARED_DATA=1`` (set by
  ``.ci/run``): then the test fails, so a CI run cannot pass without reading it.
- A CUDA device (tests marked ``@pytest.mark.cuda``): skipped where numba-cuda
  sees neither a GPU nor the simulator, except when a real GPU was asked for
  (``ALIGN_REQUIRE_GPU=1``, set by the GPU runner, or ``NUMBA_ENABLE_CUDASIM=0``
  given explicitly): then a missing device, or the simulator standing in for
  it, fails the test.
"""

import os
import zlib
from pathlib import Path

# A real GPU asked for: do not quietly test the simulator instead.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "0" if os.environ.get("ALIGN_REQUIRE_GPU", "").strip()
                      not in ("", "0") else "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: the shared data folder: ``../shared`` relative to the repository root
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

REQUIRE_SHARED_DATA = "ALIGN_REQUIRE_SHARED_DATA"
REQUIRE_GPU = "ALIGN_REQUIRE_GPU"


def _flag(environ, name):
    """An environment flag: set and not empty, "0", "false" or "no"."""
    return environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def shared_data_required(environ=os.environ):
    """Whether missing shared data fails the tests (``ALIGN_REQUIRE_SHARED_DATA=1``, as in CI)."""
    return _flag(environ, REQUIRE_SHARED_DATA)


def gpu_required(environ=os.environ):
    """Whether a real GPU must be there: ``ALIGN_REQUIRE_GPU=1`` or ``NUMBA_ENABLE_CUDASIM=0``."""
    return _flag(environ, REQUIRE_GPU) or environ.get("NUMBA_ENABLE_CUDASIM", "").strip() == "0"


def missing_action(required, present):
    """``None`` when the resource is present, else ``"fail"`` if it is required, else ``"skip"``."""
    if present:
        return None
    return "fail" if required else "skip"


def _act(action, reason):
    if action == "fail":
        pytest.fail(reason, pytrace=False)
    if action == "skip":
        pytest.skip(reason)


def shared_data(relpath, *, environ=os.environ):
    """The path of ``relpath`` under :data:`SHARED`; skips or fails (see the module) if absent.

    Parameters
    ----------
    relpath : str
        A file or folder inside the shared folder, e.g. ``"data/speech/pocketsphinx"``.

    Returns
    -------
    pathlib.Path
    """
    path = SHARED / relpath
    required = shared_data_required(environ)
    reason = (f"shared data {path} is missing (the read-only ../shared folder beside the repository); "
              + (f"{REQUIRE_SHARED_DATA}=1 makes that a failure" if required
                 else f"set {REQUIRE_SHARED_DATA}=1 to make that a failure"))
    _act(missing_action(required, path.exists()), reason)
    return path


def cuda_action(environ=os.environ):
    """What a ``cuda``-marked test does now: ``(None | "skip" | "fail", reason)``."""
    required = gpu_required(environ)
    try:
        from numba import cuda

        available = bool(cuda.is_available())
        from numba import config

        simulator = bool(getattr(config, "ENABLE_CUDASIM", False))
    except Exception as exc:  # no numba-cuda, or a broken driver
        available, simulator, why = False, False, f"numba-cuda cannot be used ({exc!r})"
    else:
        why = "numba-cuda sees no CUDA device" + ("" if simulator else " (and the simulator is off)")
    if required and available and simulator:
        return "fail", (f"a real GPU is required ({REQUIRE_GPU}=1) but numba runs the CUDA simulator "
                        f"(NUMBA_ENABLE_CUDASIM=1); unset NUMBA_ENABLE_CUDASIM or set it to 0")
    hint = (f"a GPU is required ({REQUIRE_GPU}=1 or NUMBA_ENABLE_CUDASIM=0)" if required
            else f"set {REQUIRE_GPU}=1 on a GPU runner to make that a failure")
    return missing_action(required, available), f"{why}; {hint}"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cuda: needs numba-cuda with a device or the simulator; fails instead of "
        "skipping when ALIGN_REQUIRE_GPU=1 or NUMBA_ENABLE_CUDASIM=0")


def pytest_runtest_setup(item):
    if item.get_closest_marker("cuda") is not None:
        _act(*cuda_action())


@pytest.fixture
def rng(request):
    """A seeded generator; the seed depends on the test's name, so tests are independent."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)
