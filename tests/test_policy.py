"""Project-wide rules that a grep can check (STUMPY's check_fastmath, in a test)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "align").rglob("*.py")) + sorted((ROOT / "kernels").rglob("*.py"))


def test_no_fastmath_true():
    # fastmath=True implies no-NaN/no-inf, but the recurrences use inf as "unreachable":
    # kernels take their flags from kernels/_config.FASTMATH (or none at all)
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in SOURCES
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"fastmath\s*=\s*True", line.split("#")[0].replace("``fastmath=True``", ""))]
    assert offenders == []


def test_kernels_do_no_io_and_no_torch():
    # layer 1 is compute only: no torch, no file access, no align API imports
    for p in sorted((ROOT / "kernels").rglob("*.py")):
        text = p.read_text()
        assert not re.search(r"^\s*(import|from)\s+torch", text, flags=re.M), p.name
        assert not re.search(r"\bopen\(", text), p.name
        assert not re.search(r"^\s*from\s+align\b|^\s*from\s+\.\.", text, flags=re.M), p.name


# What a missing resource does (tests/conftest.py): skip locally, fail where it is required.


def test_missing_action_skips_unless_required():
    from tests.conftest import missing_action

    assert missing_action(required=False, present=True) is None
    assert missing_action(required=True, present=True) is None
    assert missing_action(required=False, present=False) == "skip"
    assert missing_action(required=True, present=False) == "fail"


def test_shared_data_required_by_the_ci_flag():
    from tests.conftest import shared_data_required

    assert not shared_data_required({})
    assert not shared_data_required({"ALIGN_REQUIRE_SHARED_DATA": "0"})
    assert not shared_data_required({"ALIGN_REQUIRE_SHARED_DATA": ""})
    assert shared_data_required({"ALIGN_REQUIRE_SHARED_DATA": "1"})
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^export ALIGN_REQUIRE_SHARED_DATA=1$", ci, flags=re.M)


def test_shared_data_is_beside_the_repository_and_skips_or_fails_when_absent():
    import pytest

    from tests.conftest import SHARED, shared_data

    assert SHARED == ROOT.parent / "shared"
    missing = "data/no-such-folder"
    with pytest.raises(pytest.skip.Exception, match="set ALIGN_REQUIRE_SHARED_DATA=1"):
        shared_data(missing, environ={})
    with pytest.raises(pytest.fail.Exception, match=r"shared data .*no-such-folder is missing"):
        shared_data(missing, environ={"ALIGN_REQUIRE_SHARED_DATA": "1"})


def test_no_machine_absolute_paths_in_tests_and_benchmarks():
    # shared data goes through tests.conftest.shared_data (../shared), never /work/...
    offenders = [f"{p.relative_to(ROOT)}:{i}" for folder in ("tests", "benchmarks")
                 for p in sorted((ROOT / folder).rglob("*.py"))
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"""["'`(]/work/""", line)]
    assert offenders == []


def test_gpu_required_by_the_runner_flag_or_an_explicit_simulator_off():
    from tests.conftest import gpu_required

    assert not gpu_required({})
    assert not gpu_required({"NUMBA_ENABLE_CUDASIM": "1"})
    assert not gpu_required({"ALIGN_REQUIRE_GPU": "0", "NUMBA_ENABLE_CUDASIM": "1"})
    assert gpu_required({"ALIGN_REQUIRE_GPU": "1"})
    assert gpu_required({"NUMBA_ENABLE_CUDASIM": "0"})


def test_cuda_action_fails_only_where_a_gpu_is_required(monkeypatch):
    from numba import config, cuda

    from tests.conftest import cuda_action

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(config, "ENABLE_CUDASIM", 0, raising=False)
    action, reason = cuda_action({"NUMBA_ENABLE_CUDASIM": "1"})
    assert action == "skip" and "set ALIGN_REQUIRE_GPU=1" in reason
    for env in ({"ALIGN_REQUIRE_GPU": "1", "NUMBA_ENABLE_CUDASIM": "0"}, {"NUMBA_ENABLE_CUDASIM": "0"}):
        action, reason = cuda_action(env)
        assert action == "fail" and "a GPU is required" in reason
    # a device there: the test runs ...
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    assert cuda_action({"ALIGN_REQUIRE_GPU": "1", "NUMBA_ENABLE_CUDASIM": "0"})[0] is None
    # ... but the simulator does not count as the GPU a runner asked for
    monkeypatch.setattr(config, "ENABLE_CUDASIM", 1, raising=False)
    assert cuda_action({})[0] is None
    action, reason = cuda_action({"ALIGN_REQUIRE_GPU": "1", "NUMBA_ENABLE_CUDASIM": "1"})
    assert action == "fail" and "numba runs the CUDA simulator" in reason


def test_cuda_test_modules_use_the_marker():
    # a module that launches numba.cuda kernels is marked, not skipped with its own skipif
    for p in sorted((ROOT / "tests").rglob("test_*.py")):
        text = p.read_text()
        assert not re.search(r"skipif\(\s*not cuda\.is_available", text), p.name
        if "cuda" in p.stem:
            assert re.search(r"^pytestmark = pytest\.mark\.cuda$", text, flags=re.M), p.name
