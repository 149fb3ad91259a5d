"""Check and time the CUDA forced-alignment kernels (CTC and HMM Viterbi) on a real GPU.

Run from the repository root on a machine with an NVIDIA GPU::

    python benchmarks/gpu/forced_align_gpu.py            # checks, then timings
    python benchmarks/gpu/forced_align_gpu.py --quick    # smaller timing workloads

Needs numpy, numba, numba-cuda and torch (CUDA build); torchaudio only for
its rows of the table. Finishes in about a minute on an H100/H200.

- :func:`check`: fresh random inputs (continuous and integer-valued, so that
  many paths tie; repeats; ragged lengths; float32 and float64; both tie
  rules; numpy inputs and torch CUDA tensors; a transcript long enough to put
  alpha in global memory) through :func:`align.ctc.forced_align_cuda.ctc_align_cuda`
  and :func:`~align.hmm.decode_cuda.viterbi_batch_cuda`, compared with the
  CPU kernels (:mod:`align.kernels.ctc`, :mod:`align.kernels.hmm`): paths,
  per-frame scores and log-likelihoods must be identical, bit for bit.
  Returns a list of failure messages (empty when all pass).
- :func:`bench`: timings (warm-up first, synchronisation inside every timed
  call, median of a few runs) of 256 x (T = 1,000, L = 200, C = 30) in one
  call and of one (T = 30,000, L = 5,000) utterance: ours on CUDA (torch CUDA
  tensors in and out), ours on the CPU (all cores), torchaudio's CUDA
  ``forced_align`` (one call per utterance, its only mode); and an HMM
  Viterbi batch (256 x T = 1,000 over a 600-state left-to-right graph) on
  CUDA and the CPU. Returns rows ``(workload, impl, seconds, G cells/s)``
  with cells ``B * T * S``.

Target (issue 5): 256 x (T1k, L200) in <= 16 ms on an H100/H200 (torchaudio's
CUDA loop: about 1.6 s).

Measured once on an NVIDIA H200 (numba-cuda 0.30.4, torch 2.11, 16 CPU
cores; every check identical to the CPU, 34.8 s including compilation):

======================  ===========================  ==========  =========
workload                implementation                     time  G cells/s
======================  ===========================  ==========  =========
256 x (T1000, L200)     fusealign CUDA (torch)          2.31 ms       44.5
256 x (T1000, L200)     fusealign CPU kernel           17.79 ms        5.8
256 x (T1000, L200)     torchaudio CUDA (per item)   1777.55 ms       0.06
1 x (T30000, L5000)     fusealign CUDA (torch)        249.82 ms        1.2
1 x (T30000, L5000)     fusealign CPU kernel          283.58 ms        1.1
1 x (T30000, L5000)     torchaudio CUDA               347.28 ms        0.86
HMM 256 x (T1000, S600) fusealign CUDA band             5.12 ms       30.0
HMM 256 x (T1000, S600) fusealign CUDA csr              5.33 ms       28.8
HMM 256 x (T1000, S600) fusealign CPU viterbi_batch    85.03 ms        1.8
======================  ===========================  ==========  =========

A second H200 run of the final build (kernels compiled with launch bounds
1,024): 2.44 ms, 268 ms and 5.9 ms for the three CUDA workloads (checks
identical again). A variant gathering four cells per thread before storing
any was not faster (2.53 ms, 288 ms) and was dropped. A single long
utterance runs on one block (one SM) with alpha in global memory
(2L + 1 > 4,096 states): about 8 us per frame.

Importing: ``align.kernels`` is the repository's ``kernels/`` folder, mapped by
``pyproject.toml`` only when the package is installed; if ``import
align.kernels`` fails, the folder is loaded under that name by hand (as
``benchmarks/gpu/run.py`` does). numba-cuda 0.30.4 calls ``np.row_stack``,
which numpy 2.5 removed: it is aliased before numba is imported.
"""

import argparse
import importlib.util
import inspect
import os
import statistics
import sys
import time

import numpy as np

if not hasattr(np, "row_stack"):  # numpy >= 2.5 removed it; numba-cuda 0.30.4 calls it
    np.row_stack = np.vstack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_package():
    """Import ``align`` from this working tree, with ``align.kernels`` mapped to ``kernels/``."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    import align

    try:
        import align.kernels  # noqa: F401
    except ImportError:
        folder = os.path.join(REPO, "kernels")
        spec = importlib.util.spec_from_file_location(
            "align.kernels", os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["align.kernels"] = module
        spec.loader.exec_module(module)
        align.kernels = module
    return align


import_package()

import warnings  # noqa: E402

from numba import cuda  # noqa: E402
from numba.core.errors import NumbaPerformanceWarning  # noqa: E402

# small check batches launch few blocks on purpose
warnings.simplefilter("ignore", NumbaPerformanceWarning)

from align.ctc import forced_align_cuda as fac_ctc  # noqa: E402
from align.hmm import decode_cuda as fac_hmm  # noqa: E402
from align.hmm import HMMGraph  # noqa: E402
from align.kernels import ctc as kc  # noqa: E402
from align.kernels import hmm as kh  # noqa: E402

TIE = {"optimal": 0, "torchaudio": 1}


# ------------------------------------------------------------------ CPU references


def cpu_ctc(lp, tg, il, tl, blank, tie_break):
    """The CPU kernel (all cores): paths, per-frame scores, log-likelihoods."""
    import numba

    B, T, _ = lp.shape
    cells = np.zeros(B, np.int64)
    reps = np.zeros(B, np.int64)
    kc.ctc_band_cells(tg, il, tl, cells, reps)
    n = max(1, min(B, numba.get_num_threads()))
    paths = np.zeros((B, T), np.int64)
    scores = np.zeros((B, T), lp.dtype)
    logp = np.zeros(B)
    bp = np.empty((n, max(1, int(cells.max()))), np.int8)
    band = np.empty((n, max(T, 1), 2), np.int32)
    alpha = np.empty((n, 6, tg.shape[1] + 1), lp.dtype)
    args = [lp, tg, il, tl, blank]
    if "tie_rule" in inspect.signature(kc.ctc_align_batch.py_func).parameters:
        args.append(TIE[tie_break])
    elif tie_break != "torchaudio":
        raise RuntimeError("this CPU kernel has no tie_rule argument")
    kc.ctc_align_batch(*args, paths, scores, logp, bp, band, alpha)
    return paths, scores, logp


def cpu_viterbi(E, lengths, g, method):
    """CPU banded / CSR Viterbi per utterance: (B, T) paths padded with -1, (B,) scores."""
    B, Tm, _ = E.shape
    paths = np.full((B, Tm), -1, np.int64)
    out = np.empty(B)
    for u in range(B):
        T = int(lengths[u])
        e = np.ascontiguousarray(E[u, :T], np.float64)
        path = np.empty(T, np.int64)
        if method == "band":
            lo, hi = g._band(T)
            bp = np.empty((T, g.n_states), np.uint8)
            out[u] = kh.viterbi_band(e, g.emission_index, g._band_trans, g.log_initial,
                                     g.log_final, lo, hi, bp, path)
        else:
            bp = np.empty((T, g.n_states), np.int32)
            out[u] = kh.viterbi_csr(e, g.emission_index, g.pred_ptr, g.pred_state, g.pred_logp,
                                    g.log_initial, g.log_final, bp, path)
        paths[u, :T] = path
    return paths, out


# ------------------------------------------------------------------ inputs


def ctc_inputs(rng, B, T, L, C, dtype, ties, ragged=True, blank=0):
    """Random feasible items: log_probs (B, T, C), targets (B, L) int64 with repeats, lengths."""
    if ties:
        lp = rng.integers(-3, 1, size=(B, T, C)).astype(dtype)
    else:
        lp = rng.standard_normal((B, T, C)).astype(dtype)
        lp -= np.log(np.exp(lp.astype(np.float64)).sum(-1, keepdims=True)).astype(dtype)
    labels = np.array([c for c in range(C) if c != blank])
    tg = rng.choice(labels, size=(B, L))
    rep = rng.random((B, L)) < 0.2
    for k in range(1, L):
        tg[rep[:, k], k] = tg[rep[:, k], k - 1]
    il = np.full(B, T, np.int64)
    tl = np.full(B, L, np.int64)
    if ragged:
        il[1:] = rng.integers(max(1, T // 2), T + 1, size=B - 1)
        tl[1:] = rng.integers(0, L + 1, size=B - 1)
    for b in range(B):
        while tl[b] > 0 and il[b] < tl[b] + int((tg[b, 1:tl[b]] == tg[b, :tl[b] - 1]).sum()):
            tl[b] -= 1
    return lp, tg.astype(np.int64), il, tl


def _host(x):
    if hasattr(x, "copy_to_host"):
        return x.copy_to_host()
    return x.cpu().numpy()


# ------------------------------------------------------------------ check


CHECK_CASES = [  # B, T, L, C, dtype, ties, tie_break, torch input, threads
    (37, 150, 40, 12, np.float32, True, "torchaudio", False, None),
    (37, 150, 40, 12, np.float64, True, "optimal", True, None),
    (29, 97, 30, 8, np.float32, False, "torchaudio", True, 64),
    (16, 1000, 200, 30, np.float32, True, "torchaudio", True, None),
    (5, 300, 70, 6, np.float64, True, "torchaudio", False, 33),
    (2, 7000, 2100, 40, np.float32, True, "optimal", True, None),  # S > 4,096: global alpha
    (3, 2500, 1100, 20, np.float64, False, "torchaudio", False, None),  # f64 S > 2,048
]


def check(seed=None, cases=CHECK_CASES, hmm_sizes=(33, 200, 60)):
    """Compare CUDA with the CPU kernels on fresh random inputs; return failure messages.

    ``cases``: CTC cases ``(B, T, L, C, dtype, ties, tie_break, torch input,
    threads)``; ``hmm_sizes``: ``(B, T, S)`` of the HMM checks.
    """
    import torch

    rng = np.random.default_rng(seed)
    fails = []
    for B, T, L, C, dt, ties, tb, use_torch, nt in cases:
        lp, tg, il, tl = ctc_inputs(rng, B, T, L, C, dt, ties)
        want = cpu_ctc(lp, tg, il, tl, 0, tb)
        args = (lp, tg, il, tl)
        if use_torch:
            args = tuple(torch.from_numpy(a).cuda() for a in args)
        got = fac_ctc.ctc_align_cuda(*args, 0, tie_break=tb, threads_per_block=nt)
        cuda.synchronize()
        got = [_host(g) for g in got]
        name = f"ctc B={B} T={T} L={L} {np.dtype(dt).name} ties={ties} {tb} torch={use_torch}"
        for g, w, what in zip(got, want, ("paths", "scores", "logp")):
            if g.shape != w.shape or g.dtype != w.dtype or g.tobytes() != w.tobytes():
                bad = np.argwhere(g != w)[:3].tolist() if g.shape == w.shape else "shape"
                fails.append(f"{name}: {what} differ (first at {bad})")
    # HMM: a banded chain with skips and a general graph with backward edges
    B, T, S_chain = hmm_sizes
    chain = HMMGraph.left_to_right(S_chain, self_loop_logp=-1.0, advance_logp=-1.0, skip_logp=-2.0,
                                   emission_index=rng.integers(0, 20, size=S_chain))
    S = 12
    lt = rng.integers(-3, 1, size=(S, S)).astype(float)
    lt[rng.random((S, S)) < 0.5] = -np.inf
    dense = HMMGraph.from_dense(np.zeros(S), lt, np.zeros(S))
    for g, method, dt in ((chain, "band", np.float32), (chain, "csr", np.float64),
                          (dense, "csr", np.float32)):
        E = rng.integers(-3, 1, size=(B, T, 20)).astype(dt)
        lengths = rng.integers(chain.min_frames, T + 1, size=B)
        paths, loglik = fac_hmm.viterbi_batch_cuda(torch.from_numpy(E).cuda(), g,
                                               lengths=torch.from_numpy(lengths).cuda(),
                                               method=method)
        cuda.synchronize()
        wp, wl = cpu_viterbi(E, lengths, g, method)
        if not (np.array_equal(_host(paths), wp) and _host(loglik).tobytes() == wl.tobytes()):
            fails.append(f"viterbi {method} S={g.n_states} {np.dtype(dt).name}: differs from CPU")
    return fails


# ------------------------------------------------------------------ timings


def _median_time(fn, repeat=5, warmup=1):
    for _ in range(warmup):
        fn()
    cuda.synchronize()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(quick=False):
    """Time the workloads; return rows ``(workload, impl, seconds, G cells/s)``."""
    import torch

    rows = []
    try:
        import torchaudio.functional as taf
    except Exception:  # noqa: BLE001  (any import failure: no torchaudio rows)
        taf = None
    rng = np.random.default_rng(0)
    work = [("256 x (T1000, L200)", 256, 1000, 200, 30), ("1 x (T30000, L5000)", 1, 30000, 5000, 40)]
    if quick:
        work = [("64 x (T1000, L200)", 64, 1000, 200, 30), ("1 x (T6000, L1000)", 1, 6000, 1000, 40)]
    for name, B, T, L, C in work:
        lp, tg, il, tl = ctc_inputs(rng, B, T, L, C, np.float32, ties=False, ragged=False)
        cells = B * T * (2 * L + 1)
        dlp, dtg = torch.from_numpy(lp).cuda(), torch.from_numpy(tg).cuda()
        dil, dtl = torch.from_numpy(il).cuda(), torch.from_numpy(tl).cuda()
        sec = _median_time(lambda: fac_ctc.ctc_align_cuda(dlp, dtg, dil, dtl, 0))
        rows.append((name, "fusealign CUDA (torch in/out)", sec, cells / sec / 1e9))
        sec = _median_time(lambda: cpu_ctc(lp, tg, il, tl, 0, "torchaudio"), repeat=3)
        rows.append((name, "fusealign CPU kernel", sec, cells / sec / 1e9))
        if taf is not None:
            dtg32 = dtg.to(torch.int32)

            def loop():
                for b in range(B):
                    taf.forced_align(dlp[b:b + 1], dtg32[b:b + 1], blank=0)

            taf.forced_align(dlp[:1], dtg32[:1], blank=0)  # warm-up: one item
            sec = _median_time(loop, repeat=1, warmup=0)
            rows.append((name, "torchaudio CUDA (per item)", sec, cells / sec / 1e9))
    # HMM Viterbi: 3-state left-to-right phones
    B, T, S, K = (64 if quick else 256), 1000, 600, 120
    g = HMMGraph.left_to_right(S, emission_index=rng.integers(0, K, size=S))
    E = np.log(rng.dirichlet(np.ones(K), size=(B, T))).astype(np.float32)
    lengths = np.full(B, T, np.int64)
    dE, dlen = torch.from_numpy(E).cuda(), torch.from_numpy(lengths).cuda()
    name = f"HMM {B} x (T{T}, S{S})"
    for method in ("band", "csr"):
        sec = _median_time(lambda: fac_hmm.viterbi_batch_cuda(dE, g, lengths=dlen, method=method))
        rows.append((name, f"fusealign CUDA {method}", sec, B * T * S / sec / 1e9))
    from align.hmm import viterbi_batch

    sec = _median_time(lambda: viterbi_batch(list(E), g), repeat=1)
    rows.append((name, "fusealign CPU viterbi_batch", sec, B * T * S / sec / 1e9))
    return rows


def print_table(rows):
    print(f"{'workload':<24} {'implementation':<32} {'time':>12} {'G cells/s':>10}")
    for w, impl, sec, g in rows:
        print(f"{w:<24} {impl:<32} {sec * 1e3:>9.2f} ms {g:>10.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller timing workloads")
    ap.add_argument("--skip-bench", action="store_true", help="checks only")
    ap.add_argument("--skip-check", action="store_true", help="timings only")
    args = ap.parse_args(argv)
    print(f"device: {cuda.get_current_device().name}")
    t0 = time.perf_counter()
    fails = []
    if not args.skip_check:
        try:
            fails = check()
        except Exception:  # noqa: BLE001  (report it, still run the timings)
            import traceback

            fails = ["check raised:\n" + traceback.format_exc()]
        print(f"checks: {'all identical to the CPU' if not fails else f'{len(fails)} FAILED'} "
              f"({time.perf_counter() - t0:.1f} s)")
    for f in fails:
        print("  FAIL", f)
    if not args.skip_bench:
        print_table(bench(quick=args.quick))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
