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
