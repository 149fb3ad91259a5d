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


def test_functions_without_a_cuda_kernel_say_so_for_backend_cuda():
    import numpy as np
    import pytest

    from align.hmm import HMMGraph

    series = np.cumsum(np.random.default_rng(0).standard_normal(200))
    graph = HMMGraph.left_to_right(2, self_loop_logp=np.log(0.5), advance_logp=np.log(0.5))
    calls = [
        ("subsequence_search", lambda b: align.subsequence_search(series[10:30], series, backend=b)),
        ("forward_backward", lambda b: align.forward_backward(np.zeros((4, 2)), graph, backend=b)),
    ]
    for name, call in calls:
        call("cpu")
        call("auto")
        with pytest.raises(align.BackendUnavailableError, match=f"{name} has no CUDA kernel yet"):
            call("cuda")
        with pytest.raises(align.ParameterError, match="backend"):
            call("gpu")
