"""CPU and CUDA kernels of one algorithm take the same arguments in the same order.

The rule (kernels/__init__.py): inputs, then outputs, in one order and under one
name on both backends; then what only one backend needs (its scratch, the CPU's
pruning band). The one allowed difference among the inputs is the batch layout:
the CPU's HMM batch kernels take ragged stacks (``E`` of shape (sum T, K) with
offsets ``t_off``) where the CUDA kernels take padded arrays with ``lengths``.
"""

import inspect

import numpy as np
import pytest

from align.kernels import ctc as kctc
from align.kernels import forward_sum as kfs
from align.kernels import drop_dtw as kdrop
from align.kernels import dtw as kdtw
from align.kernels import hmm as khmm
from align.kernels import mas as kmas

pytestmark = pytest.mark.cuda  # imports the *_cuda modules (the simulator here)


def params(fn):
    return list(inspect.signature(getattr(fn, "py_func", fn)).parameters)


def twins():
    from align.kernels import ctc_cuda, drop_dtw_cuda, dtw_cuda, forward_sum_cuda, hmm_cuda, mas_cuda

    # (name, cpu, cuda, CPU name -> CUDA name, CPU-only trailing, CUDA-only trailing)
    return [
        ("hmm csr", khmm.viterbi_csr_batch, hmm_cuda.viterbi_csr_batch, {"t_off": "lengths"},
         (), ("bp", "alpha_scratch", "use_shared")),
        ("hmm band", khmm.viterbi_band_batch, hmm_cuda.viterbi_band_batch, {"t_off": "lengths"},
         ("lo", "hi"), ("bp", "alpha_scratch", "use_shared")),
        ("ctc", kctc.ctc_align_batch, ctc_cuda.ctc_kernel(np.float32), {},
         ("bp", "band", "alpha"), ("bp", "alpha_scratch", "use_shared")),
        ("ctc float64", kctc.ctc_align_serial, ctc_cuda.ctc_kernel(np.float64), {},
         ("bp", "band", "alpha"), ("bp", "alpha_scratch", "use_shared")),
        ("dtw thread", kdtw.dtw_batch, dtw_cuda.dtw_batch, {}, (), ("work",)),
        ("dtw wave", kdtw.dtw_batch, dtw_cuda.dtw_wave, {}, (), ("dirs", "work")),
        ("dtw wave shfl", kdtw.dtw_batch, dtw_cuda.dtw_wave_shfl, {}, (), ("dirs", "work")),
        ("dtw wave path", kdtw.dtw_batch, dtw_cuda.dtw_wave_path, {}, (), ("dirs", "work")),
        ("dtw features", kdtw.dtw_batch, dtw_cuda.feature_wave(np.float64, 0, path=True), {}, (),
         ("dirs", "work")),
        ("mas", kmas.maximum_path_batch, mas_cuda.maximum_path_kernel(np.float32), {}, ("work",),
         ("dirs", "scratch", "use_shared")),
        ("drop-dtw", kdrop.drop_dtw_batch, drop_dtw_cuda.drop_dtw_batch, {}, (), ("bp", "rows")),
        ("forward-sum", kfs.forward_sum_batch, forward_sum_cuda.forward_sum_batch, {}, (),
         ("alpha", "scratch", "use_shared")),
    ]


def _split(names, extras):
    if extras:
        assert tuple(names[-len(extras):]) == tuple(extras), (names, extras)
        return names[:-len(extras)]
    return names


@pytest.mark.parametrize("case", range(12))
def test_cpu_and_cuda_twins_share_inputs_and_outputs(case):
    name, cpu, gpu, renames, cpu_only, gpu_only = twins()[case]
    shared_cpu = [renames.get(p, p) for p in _split(params(cpu), cpu_only)]
    shared_gpu = _split(params(gpu), gpu_only)
    assert shared_cpu == shared_gpu, name
    assert len(shared_cpu) >= 4, name  # the rule is not met by an empty prefix


def test_the_rule_sees_a_swapped_argument():
    # the check itself: two outputs in another order must fail it
    def cpu(x, y, out_a, out_b):
        pass

    def gpu(x, y, out_b, out_a, work):
        pass

    assert [p for p in _split(params(cpu), ())] != _split(params(gpu), ("work",))
