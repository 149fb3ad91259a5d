"""CTC forced alignment: align.forced_align on the two workloads of issue 3.

Workloads (one pytest-benchmark group each; every entry asserts its result):

- ``ctc-256x(T1k,L200)``: 256 utterances of T = 1,000 frames, L = 200 labels,
  C = 30 classes, float32, in one batched call: on all Numba threads, on one
  thread, and with torch CPU tensors in and out. Target: under 0.1 s on two
  cores. torchaudio's CPU ``forced_align`` (batch size 1 only, so a Python
  loop over the 256 items) took 0.76 s on a big machine (issue 3); torchaudio
  is not installed here, so it is compared in ``benchmarks/gpu/torchaudio_compare.py``.
- ``ctc-1x(T30k,L5k)``: one utterance, T = 30,000, L = 5,000, C = 30, float32
  and float64 (one thread does all the work: items are the parallel unit).
  Target: >= 1 G cells/s on one core, cells = T (2L + 1).
- ``ctc-compile``: import plus the first float32 call in a fresh process with
  an empty Numba cache (the compile time a user sees once).

``extra_info["gcells_per_s"]`` counts the full table, T (2L + 1) cells per
item, divided by the fastest round; the kernel computes only the live band
(``extra_info["live_fraction"]`` of it).

Run::

    pytest benchmarks/bench_ctc.py --benchmark-only --benchmark-disable-gc \
        --benchmark-columns=min,median,max,rounds
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import align
from align.kernels.ctc import ctc_band_cells

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.reference.ctc import collapse, ref_forced_align  # noqa: E402

SEED = 3


def _inputs(B, T, L, C, dtype, seed=SEED):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((B, T, C)).astype(np.float64)
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    tg = rng.integers(1, C, size=(B, L))
    return lp.astype(dtype), tg


def _live_fraction(tg, T):
    B, L = tg.shape
    cells = np.zeros(B, np.int64)
    reps = np.zeros(B, np.int64)
    ctc_band_cells(tg.astype(np.int64), np.full(B, T, np.int64), np.full(B, L, np.int64), cells, reps)
    return float(cells.sum() / (B * T * (2 * L + 1)))


def _check(paths, scores, lp, tg):
    """Every path spells its targets and its scores are the chosen log-probs."""
    b, t = np.indices(paths.shape)
    np.testing.assert_array_equal(scores, lp[b, t, paths])
    for i in range(paths.shape[0]):
        assert collapse(paths[i].tolist(), 0) == tg[i].tolist()


def _record(benchmark, B, T, L, tg):
    best = benchmark.stats.stats.min
    benchmark.extra_info["gcells_per_s"] = round(B * T * (2 * L + 1) / best / 1e9, 3)
    benchmark.extra_info["live_fraction"] = round(_live_fraction(tg, T), 3)
    benchmark.extra_info["numba_threads"] = __import__("numba").get_num_threads()


# ------------------------------------------------------- 256 x (T1k, L200)

B_SMALL, T_SMALL, L_SMALL, C = 256, 1000, 200, 30


@pytest.fixture(scope="module")
def batch():
    lp, tg = _inputs(B_SMALL, T_SMALL, L_SMALL, C, np.float32)
    # item 0 through the independent full-table reference (a few seconds)
    ref_path = ref_forced_align(lp[0], tg[0], 0)[0]
    align.forced_align(lp[:2], tg[:2])  # compile outside the timings
    return lp, tg, ref_path


def _run_batch(benchmark, batch, threads=None, as_torch=False):
    import numba

    lp, tg, ref_path = batch
    saved = numba.get_num_threads()
    if threads:
        numba.set_num_threads(threads)
    try:
        if as_torch:
            torch = pytest.importorskip("torch")
            args = (torch.from_numpy(lp), torch.from_numpy(tg))
        else:
            args = (lp, tg)
        paths, scores = benchmark.pedantic(align.forced_align, args=args, rounds=7, warmup_rounds=1)
        _record(benchmark, B_SMALL, T_SMALL, L_SMALL, tg)
    finally:
        numba.set_num_threads(saved)
    paths, scores = np.asarray(paths), np.asarray(scores)
    np.testing.assert_array_equal(paths[0], ref_path)
    _check(paths, scores, lp, tg)
    benchmark.extra_info["torchaudio_cpu_loop_s_issue3"] = 0.76


@pytest.mark.benchmark(group="ctc-256x(T1k,L200)")
def test_batch_all_threads(benchmark, batch):
    _run_batch(benchmark, batch)


@pytest.mark.benchmark(group="ctc-256x(T1k,L200)")
def test_batch_one_thread(benchmark, batch):
    _run_batch(benchmark, batch, threads=1)


@pytest.mark.benchmark(group="ctc-256x(T1k,L200)")
def test_batch_torch_tensors(benchmark, batch):
    _run_batch(benchmark, batch, as_torch=True)


# ------------------------------------------------------- 1 x (T30k, L5k)

T_BIG, L_BIG = 30_000, 5_000


@pytest.fixture(scope="module")
def long_item():
    lp, tg = _inputs(1, T_BIG, L_BIG, C, np.float64)
    paths64, scores64 = align.forced_align(lp, tg)
    return lp, tg, float(scores64.sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.benchmark(group="ctc-1x(T30k,L5k)")
def test_long(benchmark, long_item, dtype):
    lp64, tg, total64 = long_item
    lp = lp64.astype(dtype)
    align.forced_align(lp[:, :100], tg[:, :10])  # compile this dtype outside the timing
    paths, scores = benchmark.pedantic(align.forced_align, args=(lp, tg), rounds=3, warmup_rounds=1)
    _record(benchmark, 1, T_BIG, L_BIG, tg)
    _check(paths, scores, lp, tg)
    # the float32 path is optimal up to float32 rounding of the float64 optimum
    assert float(scores.astype(np.float64).sum()) == pytest.approx(total64, rel=1e-5)


# ------------------------------------------------------- compile time

_COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
import align
lp = np.log(np.full((1, 8, 3), 1 / 3, np.float32))
paths, _ = align.forced_align(lp, np.array([[1, 2]]))
assert paths[0].tolist() == [1, 2, 2, 2, 2, 2, 2, 2], paths  # ties: stay, end on a label
print(time.perf_counter() - t0)
"""


@pytest.mark.benchmark(group="ctc-compile")
def test_compile_first_call(benchmark):
    def cold():
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            out = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, check=True,
                                 capture_output=True, text=True)
            return float(out.stdout.strip().splitlines()[-1])

    seconds = benchmark.pedantic(cold, rounds=1, iterations=1)
    benchmark.extra_info["import_and_first_call_s"] = round(seconds, 2)
    assert seconds > 0


if __name__ == "__main__":  # a plain table: python benchmarks/bench_ctc.py
    for (B, T, L) in [(B_SMALL, T_SMALL, L_SMALL), (1, T_BIG, L_BIG)]:
        lp, tg = _inputs(B, T, L, C, np.float32)
        align.forced_align(lp[:1, :100], tg[:1, :10])
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            align.forced_align(lp, tg)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(f"{B}x(T{T},L{L}) float32: {best * 1e3:.1f} ms, "
              f"{B * T * (2 * L + 1) / best / 1e9:.2f} G cells/s")
