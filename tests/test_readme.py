"""The README's Python examples run as written (in order, in one namespace)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)  # result.save(...) writes here
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "a0005.TextGrid").is_file()
    assert namespace["D"].shape == (3, 3)
    assert len(namespace["matches"]) == 3
    assert abs(namespace["matches"][0].start - 40_000) <= 2
    assert namespace["paths"].shape == (4, 200)
    assert namespace["v"].path.shape == (400,)
    assert namespace["a"].grad is not None
