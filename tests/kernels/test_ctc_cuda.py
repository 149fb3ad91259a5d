"""CUDA CTC forced alignment (run under numba's CUDA simulator here) against the CPU kernel.

Paths, per-frame scores and total scores must be identical bit for bit, ties
included, for both tie rules, float32 and float64, ragged batches and block
sizes that divide neither T, nor S = 2L + 1, nor the batch.

On a GPU machine the same tests run on the device with
``NUMBA_ENABLE_CUDASIM=0 python -m pytest tests/kernels/test_ctc_cuda.py
tests/kernels/test_hmm_cuda.py`` (all passed on an H200, 18 s).
"""

import inspect
import itertools

import numpy as np
import pytest

from align import _device
from align.ctc import forced_align_cuda as fac
from align.kernels import _ctc_steps
from align.kernels import ctc as kc
from align.kernels import ctc_cuda

# no device: a skip, or a failure where a GPU is required (tests/conftest.py: cuda_action)
pytestmark = pytest.mark.cuda

RULES = {"optimal": _ctc_steps.TIE_OPTIMAL, "torchaudio": _ctc_steps.TIE_TORCHAUDIO}


def cpu_align(lp, tg, il, tl, blank, tie_break):
    """The CPU kernel's paths, scores and log-likelihoods."""
    B, T, _ = lp.shape
    cells = np.zeros(B, np.int64)
    reps = np.zeros(B, np.int64)
    kc.ctc_band_cells(tg, il, tl, cells, reps)
    paths = np.zeros((B, T), np.int64)
    scores = np.zeros((B, T), lp.dtype)
    logp = np.zeros(B)
    bp = np.zeros((1, max(1, int(cells.max()))), np.int8)
    band = np.zeros((1, max(T, 1), 2), np.int32)
    alpha = np.zeros((1, 6, tg.shape[1] + 1), lp.dtype)
    kc.ctc_align_serial(lp, tg, il, tl, blank, RULES[tie_break], paths, scores, logp, bp, band,
                        alpha)
    return paths, scores, logp


def gpu_align(lp, tg, il, tl, blank, tie_break, threads):
    out = fac.ctc_align_cuda(lp, tg, il, tl, blank, tie_break=tie_break,
                             threads_per_block=threads)
    return tuple(o.copy_to_host() for o in out)


def assert_identical(got, want):
    for g, w, name in zip(got, want, ("paths", "scores", "log_likelihood")):
        assert g.dtype == w.dtype, name
        assert g.shape == w.shape, name
        # bytes, so -0.0 vs 0.0 and the last float bit count
        assert g.tobytes() == w.tobytes(), f"{name} differ:\n{g}\n{w}"


def random_batch(rng, B, T, L, C, dtype, ties, blank=0):
    if ties:
        # few integer values: many exactly tied paths
        lp = rng.integers(-3, 1, size=(B, T, C)).astype(dtype)
    else:
        lp = np.log(rng.dirichlet(np.ones(C), size=(B, T))).astype(dtype)
    labels = np.array([c for c in range(C) if c != blank])
    tg = rng.choice(labels, size=(B, L))
    rep = rng.random((B, L)) < 0.3
    for k in range(1, L):
        tg[rep[:, k], k] = tg[rep[:, k], k - 1]
    il = rng.integers(max(1, T // 2), T + 1, size=B)
    il[0] = T
    tl = rng.integers(0, L + 1, size=B)
    tl[0] = L
    for b in range(B):  # shorten the transcript until the item is feasible
        while tl[b] > 0 and il[b] < tl[b] + int((tg[b, 1:tl[b]] == tg[b, :tl[b] - 1]).sum()):
            tl[b] -= 1
    return lp, tg.astype(np.int64), il.astype(np.int64), tl.astype(np.int64)


def test_cuda_kernel_uses_the_shared_step():
    assert ctc_cuda.ctc_cell_gpu.py_func is _ctc_steps.ctc_cell
    assert ctc_cuda.ctc_end_on_blank_gpu.py_func is _ctc_steps.ctc_end_on_blank
    assert _ctc_steps.ctc_cell_cpu.py_func is _ctc_steps.ctc_cell
    src = inspect.getsource(ctc_cuda._make_kernel)
    assert "ctc_cell_gpu(stay, advance, skip, tie_rule)" in src
    assert "ctc_end_on_blank_gpu(last_blank, last_label)" in src
    # the codes the CPU kernel takes
    assert (_ctc_steps.TIE_OPTIMAL, _ctc_steps.TIE_TORCHAUDIO) == (kc.TIE_OPTIMAL, kc.TIE_TORCHAUDIO)


def _spec_optimal(x0, x1, x2):
    best = max(x0, x1, x2)
    for code, x in enumerate((x0, x1, x2)):  # first maximum in stay, advance, skip order
        if x == best:
            return x, code


def _spec_torchaudio(x0, x1, x2):
    if x2 > x1 and x2 > x0:
        return x2, 2
    if x1 > x0 and x1 > x2:
        return x1, 1
    return x0, 0


@pytest.mark.parametrize("rule", ["optimal", "torchaudio"])
def test_step_rule_exhaustive(rule):
    spec = _spec_optimal if rule == "optimal" else _spec_torchaudio
    values = (-np.inf, -1.0, 0.0)
    for x0, x1, x2 in itertools.product(values, repeat=3):
        want = spec(x0, x1, x2)
        assert _ctc_steps.ctc_cell(x0, x1, x2, RULES[rule]) == want
        assert _ctc_steps.ctc_cell_cpu(x0, x1, x2, RULES[rule]) == want
    # the rules differ exactly on advance == skip > stay
    assert _ctc_steps.ctc_cell(-2.0, -1.0, -1.0, RULES["torchaudio"]) == (-2.0, 0)
    assert _ctc_steps.ctc_cell(-2.0, -1.0, -1.0, RULES["optimal"]) == (-1.0, 1)
    assert _ctc_steps.ctc_end_on_blank(-1.0, -1.0) is False
    assert _ctc_steps.ctc_end_on_blank(-0.5, -1.0) is True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tie_break", ["optimal", "torchaudio"])
def test_matches_cpu_with_ties(rng, dtype, tie_break):
    lp, tg, il, tl = random_batch(rng, B=3, T=13, L=5, C=4, dtype=dtype, ties=True)
    assert_identical(gpu_align(lp, tg, il, tl, 0, tie_break, 4),
                     cpu_align(lp, tg, il, tl, 0, tie_break))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_cpu_continuous(rng, dtype):
    lp, tg, il, tl = random_batch(rng, B=3, T=11, L=4, C=5, dtype=dtype, ties=False, blank=2)
    assert_identical(gpu_align(lp, tg, il, tl, 2, "torchaudio", 3),
                     cpu_align(lp, tg, il, tl, 2, "torchaudio"))


def test_alpha_in_global_memory(rng, monkeypatch):
    monkeypatch.setattr(ctc_cuda, "SHARED_ALPHA_BYTES", 0)
    assert not ctc_cuda.alpha_in_shared(3, 4)
    lp, tg, il, tl = random_batch(rng, B=3, T=12, L=4, C=4, dtype=np.float32, ties=True)
    assert_identical(gpu_align(lp, tg, il, tl, 0, "optimal", 5),
                     cpu_align(lp, tg, il, tl, 0, "optimal"))


@pytest.mark.parametrize("threads", [1, 32])
def test_block_size_edges(rng, threads):
    # one thread for everything; more threads than states
    lp, tg, il, tl = random_batch(rng, B=2, T=8, L=3, C=4, dtype=np.float64, ties=True)
    assert_identical(gpu_align(lp, tg, il, tl, 0, "torchaudio", threads),
                     cpu_align(lp, tg, il, tl, 0, "torchaudio"))


def test_tight_band_and_special_items():
    # item 0: T == L + R exactly (a single path through a one-state-wide band);
    # item 1: too short (no path: -inf, all blank); item 2: T = 0;
    # item 3: L = 0 (all blank); item 4: every path -inf (emission masked)
    T, C = 7, 4
    lp = np.log(np.full((5, T, C), 0.25))
    tg = np.array([[1, 1, 2, 3, 3], [1, 1, 1, 2, 2], [1, 2, 3, 1, 2], [1, 2, 3, 1, 2],
                   [3, 1, 2, 1, 2]], np.int64)
    il = np.array([7, 7, 0, 5, 6], np.int64)
    tl = np.array([5, 5, 0, 0, 2], np.int64)
    lp[4, :, 3] = -np.inf
    got = gpu_align(lp, tg, il, tl, 0, "optimal", 2)
    assert_identical(got, cpu_align(lp, tg, il, tl, 0, "optimal"))
    paths, scores, logp = got
    assert paths[0].tolist() == [1, 0, 1, 2, 3, 0, 3]
    assert logp[1] == -np.inf and (paths[1] == 0).all() and (scores[1] == 0).all()
    assert logp[2] == 0.0 and (paths[2] == 0).all()
    assert (paths[3] == 0).all() and logp[3] == pytest.approx(5 * np.log(0.25))
    assert logp[4] == -np.inf


def test_int32_targets_and_torch_cpu_tensors(rng):
    torch = pytest.importorskip("torch")
    lp, tg, il, tl = random_batch(rng, B=2, T=9, L=3, C=4, dtype=np.float32, ties=True)
    got = fac.ctc_align_cuda(torch.from_numpy(lp), torch.from_numpy(tg.astype(np.int32)),
                             torch.from_numpy(il), torch.from_numpy(tl.astype(np.int32)), 0,
                             threads_per_block=4)
    assert_identical(tuple(o.copy_to_host() for o in got),
                     cpu_align(lp, tg, il, tl, 0, "torchaudio"))


def test_default_block_size(monkeypatch):
    monkeypatch.setattr(_device, "is_simulator", lambda: False)
    assert _device.default_threads(401) == 224
    assert _device.default_threads(1) == 32
    assert _device.default_threads(10_001) == 1024


@pytest.mark.parametrize("tie_break, path, logp", [("optimal", [1, 0, 2], -1.0),
                                                   ("torchaudio", [1, 2, 2], -3.0)])
def test_advance_skip_tie_follows_the_rule(tie_break, path, logp):
    # at t = 2, label 2 sees advance == skip == -1 > stay == -3: the optimal
    # rule advances, torchaudio's comparisons keep the stay
    lp = np.array([[[-10.0, 0.0, -10.0], [-1.0, -1.0, -3.0], [-10.0, -10.0, 0.0]]], np.float32)
    tg = np.array([[1, 2]], np.int64)
    il = np.array([3], np.int64)
    tl = np.array([2], np.int64)
    got = gpu_align(lp, tg, il, tl, 0, tie_break, 2)
    assert_identical(got, cpu_align(lp, tg, il, tl, 0, tie_break))
    assert got[0][0].tolist() == path
    assert got[2][0] == logp
