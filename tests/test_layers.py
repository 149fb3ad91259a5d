"""The layers of ../shared/docs/DESIGN.md, checked on the import graph of the source.

Every ``import`` and ``from ... import`` in ``align/`` and ``kernels/`` is read with
:mod:`ast`, including those inside functions (lazy imports count: a cycle through a
function-level import is still a cycle of dependencies). Relative imports are
resolved to module names; ``from package import name`` counts as an import of
``package.name`` when that is a module. Parent packages that Python imports
implicitly are not edges.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: rank of each part of the tree: a module may import only modules of its rank or lower
RANKS = {
    "align.kernels": 0,
    "align.exceptions": 1,
    "align._validation": 1,
    "align._backend": 1,
    "align._device": 1,
    "align._moved": 1,
    "align._tensors": 1,
    "align._dask": 1,  # client= resolution, shared by dtw_pairwise and align_corpus
    "align.io": 1,  # a leaf: writes plain data, knows no pipeline
    "align.sequence": 2,
    "align.hmm": 2,
    "align.ctc": 2,
    "align.audio": 3,
    "align.text": 3,
    "align.acoustic": 4,
    "align.speech": 4,
    "align.tts": 4,
    "align.video": 4,
    "align.fusion": 5,
    "align.plot": 6,
    "align.cli": 6,
    "align.__main__": 6,
}


def _module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "kernels":
        parts = ["align", "kernels", *parts[1:]]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources():
    files = sorted((ROOT / "align").rglob("*.py")) + sorted((ROOT / "kernels").rglob("*.py"))
    return {_module_name(p): p for p in files}


def _imports(name, path, modules):
    """Modules of the project that ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
        else:
            continue
        for t in targets:
            # the longest project module that ``t`` names (``align.kernels.dtw.x`` -> ``align.kernels.dtw``)
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph():
    modules = _sources()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _rank(name):
    best = None
    for prefix, rank in RANKS.items():
        if name == prefix or name.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    return None if best is None else best[1]


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    # the checker must see the edges it is meant to police
    g = _graph()
    assert "align.kernels.dtw" in g["align.sequence.dtw"]
    assert "align.sequence.dtw_cuda" in g["align.sequence.dtw"]  # a function-level import
    assert "align.hmm.graph" in g["align.hmm.decode_cuda"]
    assert "align.exceptions" in g["align.io.writers"]


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_has_a_layer():
    missing = [m for m in _graph() if m != "align" and _rank(m) is None]
    assert missing == [], "add these to RANKS (and to README's layout section)"


def test_no_module_imports_a_higher_layer():
    # ``align/__init__.py`` is the public face: it alone may name every layer
    bad = [f"{m} (layer {_rank(m)}) imports {t} (layer {_rank(t)})"
           for m, targets in _graph().items() if m != "align"
           for t in sorted(targets) if t != "align" and _rank(t) > _rank(m)]
    assert bad == []


def test_kernels_import_nothing_from_the_api():
    bad = [f"{m} imports {t}" for m, targets in _graph().items() if m.startswith("align.kernels")
           for t in targets if not t.startswith("align.kernels")]
    assert bad == []


def test_io_knows_only_plain_data():
    bad = [f"{m} imports {t}" for m, targets in _graph().items() if m.startswith("align.io")
           for t in targets if not (t.startswith("align.io") or t == "align.exceptions")]
    assert bad == []


# --------------------------------------------------------------- import cost

#: modules ``import align`` may add beyond ``import numpy`` (itself and its lazy public
#: layer: exceptions, validation, backend choice, the moved-names finder). Counted, not
#: timed: a count is the same on any machine, and the wall-clock cost (about 0.03 s on the
#: development machine) is measured in benchmarks/import_time.py. Loading numba, scipy or
#: torch at import would add hundreds of modules.
IMPORT_MODULE_BUDGET = 40

_PROBE = """
import sys
import numpy
before = set(sys.modules)
import align
added = sorted(set(sys.modules) - before)
heavy = sorted(m for m in ("torch", "numba", "scipy", "matplotlib", "praatio", "soundfile", "librosa")
               if m in sys.modules)
print(len(added), ",".join(heavy))
"""


def _import_cost():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.split()
    return int(out[0]), (out[1] if len(out) > 1 else "")


def test_import_align_is_light():
    added, heavy = _import_cost()
    assert heavy == "", f"import align loaded {heavy}"
    assert added <= IMPORT_MODULE_BUDGET, f"import align loaded {added} modules (budget {IMPORT_MODULE_BUDGET})"


@pytest.mark.parametrize("old, new", [
    ("align.dtw", "align.sequence.dtw"),
    ("align.search", "align.sequence.search"),
    ("align.softdtw", "align.sequence.softdtw"),
    ("align.transcript", "align.speech.transcript"),
    ("align.corpus", "align.speech.corpus"),
    ("align.results", "align.speech.results"),
])
def test_old_module_paths_are_the_new_modules(old, new):
    import importlib

    import align

    assert importlib.import_module(old) is importlib.import_module(new)
    assert callable(align.dtw)  # importing the module path never replaces the function
