"""The public names of DESIGN.md resolve, and importing align stays light."""

import subprocess
import sys

import align

DESIGN_NAMES = ["dtw", "dtw_distance", "dtw_pairwise", "subsequence_search", "soft_dtw", "SoftDTWLoss",
                "forced_align", "merge_tokens", "viterbi", "forward_backward", "align_transcript",
                "AlignError", "ParameterError", "InfeasibleAlignmentError", "BackendUnavailableError"]


def test_every_public_name_resolves():
    for name in align.__all__:
        assert getattr(align, name) is not None, name
    assert set(DESIGN_NAMES) <= set(align.__all__)


def test_dtw_stays_the_function_after_submodule_import():
    from align.dtw import DTWResult  # noqa: F401  (imports the module align/dtw.py)

    assert callable(align.dtw) and align.dtw.__name__ == "dtw"


def test_exception_hierarchy():
    assert issubclass(align.ParameterError, (align.AlignError, ValueError))
    assert issubclass(align.BackendUnavailableError, (align.AlignError, RuntimeError))
    assert issubclass(align.InfeasibleAlignmentError, align.AlignError)


def test_import_does_not_load_torch_or_cuda():
    code = "import sys, align; print('torch' in sys.modules, 'numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
