"""Check and time fusealign's CUDA kernels on a real GPU, beside the peers. One script.

Run from the repository root on a machine with an NVIDIA GPU::

    python benchmarks/gpu/run.py                 # checks, timings, forced-align comparison
    python benchmarks/gpu/run.py --skip-forced-align --quick

Needs numpy, numba, numba-cuda, torch (CUDA build); torchaudio only for the
forced-alignment section. Finishes in a few minutes on an H100/H200.

What it does, in order:

1. Checks every CUDA kernel of ours against the CPU on fresh random inputs
   (several shapes, float32 and float64, variable lengths, a band): the batched
   exact DTW (``align.kernels.dtw_cuda``: ``dtw_wave``, ``dtw_wave_shfl`` and ``dtw_batch``) against a Numba CPU loop
   written here; soft-DTW forward, backward and gradients
   (``align.kernels.softdtw_cuda``, shared-memory and global-memory variants)
   through ``align.softdtw`` with
   ``backend="cuda"`` against ``backend="cpu"``; and the torch loss
   (``align.SoftDTWLoss``) on CUDA tensors against CPU tensors. A failure is
   printed and makes the exit status 1 (the timings still run).
2. Times each workload (warm-up first, ``synchronize()`` inside every timed
   call, median of a few runs) for ours and the peers: a plain torch
   anti-diagonal exact DTW and a plain torch anti-diagonal soft-DTW with
   autograd (both written below), and our CPU kernels. Prints one table:
   workload, implementation, time, G cells/s (``B*N*M`` per call, forward and
   backward counted once), and time relative to our best CUDA entry.
3. Runs ``benchmarks/gpu/torchaudio_compare.py`` (forced alignment against
   torchaudio) if that file exists; it prints its own section.

Targets from the issue (H100): soft-DTW forward+backward B=512, N=M=512, d=13
in <= 10 ms; N=M=4,096 runs; exact DTW B=16,384, N=M=256 in <= 2.5 ms; the torch
anti-diagonal peer runs at 0.3-0.8 G cells/s.

Importing the package: ``align.kernels`` is the repository's ``kernels/``
folder, mapped by ``pyproject.toml`` only when the package is installed. This
script puts the repository root first on ``sys.path`` and, if
``import align.kernels`` then fails, loads ``kernels/__init__.py`` under the
name ``align.kernels`` (``sys.modules["align.kernels"]`` and the attribute
``align.kernels``) so that ``import align.kernels.softdtw`` and the kernels'
relative imports work as when installed.

numba-cuda 0.30.4 still calls ``np.row_stack``, which numpy 2.5 removed: the
alias ``np.row_stack = np.vstack`` is set before numba is imported.
"""

import argparse
import importlib.util
import math
import os
import statistics
import sys
import time

import numpy as np

if not hasattr(np, "row_stack"):  # numpy >= 2.5 removed it; numba-cuda 0.30.4 calls it
    np.row_stack = np.vstack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_package():
    """Import ``align`` from this working tree, with ``align.kernels`` mapped to ``kernels/``.

    Returns
    -------
    module
        The ``align`` package.
    """
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    import align

    try:
        import align.kernels  # noqa: F401  (installed: pyproject's package-dir mapping)
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


align = import_package()

from numba import cuda, njit, prange  # noqa: E402  (after the row_stack alias)

from align import _device  # noqa: E402
from align.sequence import dtw_cuda as _cuda  # noqa: E402
from align.sequence import softdtw as sdtw  # noqa: E402
from align.kernels import _config  # noqa: E402


# --------------------------------------------------------------------------- CPU references


@njit(parallel=True, cache=False)
def cpu_dtw_batch(x, y, len_x, len_y, out):
    """Exact symmetric1 DTW, squared difference in the inputs' dtype, float64 sums (rows of 2)."""
    for b in prange(x.shape[0]):
        n = len_x[b]
        m = len_y[b]
        prev = np.full(m + 1, np.inf)
        cur = np.full(m + 1, np.inf)
        prev[0] = 0.0
        for i in range(n):
            cur[0] = np.inf
            for j in range(m):
                d = x[b, i] - y[b, j]
                c = np.float64(d * d)
                best = prev[j]
                if prev[j + 1] < best:
                    best = prev[j + 1]
                if cur[j] < best:
                    best = cur[j]
                cur[j + 1] = c + best
            prev, cur = cur, prev
            prev[0] = np.inf
        out[b] = prev[m]


def random_lengths(rng, B, L, vary):
    if not vary:
        return np.full(B, L, dtype=np.int64)
    lens = rng.integers(1, L + 1, size=B).astype(np.int64)
    lens[: max(1, B // 4)] = L  # keep some full-length pairs
    return lens


# --------------------------------------------------------------------------- checks


def check_dtw(B, N, M, dtype, seed=0, vary=True, threads=None, kernel="wave"):
    """CUDA exact DTW (``kernel`` "wave" or "thread") vs the CPU loop above. Returns (ok, message)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N)).astype(dtype)
    y = rng.normal(size=(B, M)).astype(dtype)
    lx = random_lengths(rng, B, N, vary)
    ly = random_lengths(rng, B, M, vary)
    got = _cuda.dtw_batch(x, y, lx, ly, threads=threads, kernel=kernel)
    want = np.empty(B)
    cpu_dtw_batch(x, y, lx, ly, want)
    rel = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))
    same = int(np.sum(got == want))
    ok = same == B  # no fused multiply-add on either side: the same bits
    return ok, (f"dtw {kernel} kernel {B}x({N},{M}) {np.dtype(dtype).name} vary={vary}: "
                f"max rel diff {rel:.2e}, bit-identical {same}/{B}")


def check_dtw_path(B, N, M, dtype, seed=0, exact_pairs=64):
    """CUDA exact-DTW paths (dtw_wave_path + dtw_traceback) vs the CPU. Returns (ok, message).

    Small-integer inputs, so that tied predecessors are common: every distance must
    equal the CPU loop's, every path must be a valid warping path whose cost is the
    distance, and the first ``exact_pairs`` paths must equal ``align.dtw``'s (same
    tie-break) cell for cell.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(B, N)).astype(dtype)
    y = rng.integers(0, 4, size=(B, M)).astype(dtype)
    lx = random_lengths(rng, B, N, True)
    ly = random_lengths(rng, B, M, True)
    got, paths = _cuda.dtw_batch_path(x, y, lx, ly)
    want = np.empty(B)
    cpu_dtw_batch(x, y, lx, ly, want)
    bad = 0
    for b, p in enumerate(paths):
        steps = np.diff(p, axis=0)
        valid = (p[0].tolist() == [0, 0] and p[-1].tolist() == [lx[b] - 1, ly[b] - 1]
                 and np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1))
        diff = x[b, p[:, 0]] - y[b, p[:, 1]]
        cost = float(np.sum((diff * diff).astype(np.float64)))
        if not valid or abs(cost - want[b]) > 1e-9 * max(1.0, want[b]):
            bad += 1
    same = sum(np.array_equal(paths[b], align.dtw(x[b, :lx[b]], y[b, :ly[b]]).path) for b in range(min(B, exact_pairs)))
    ok = bool(np.array_equal(got, want) and bad == 0 and same == min(B, exact_pairs))
    return ok, (f"dtw path kernel {B}x({N},{M}) {np.dtype(dtype).name}: distances bit-identical "
                f"{int(np.sum(got == want))}/{B}, invalid or costly paths {bad}, "
                f"paths equal to align.dtw {same}/{min(B, exact_pairs)}")


def check_dtw_batch_api(B, N, M, d, dtype, metric, seed=0):
    """``align.dtw_batch`` on CUDA vs CPU for feature sequences: distances, paths, normalised distances.

    Small-integer features (ties); every result must be identical. Returns (ok, message).
    """
    rng = np.random.default_rng(seed)
    lx = random_lengths(rng, B, N, True)
    ly = random_lengths(rng, B, M, True)
    X = [rng.integers(-2, 3, size=(int(n), d)).astype(dtype) for n in lx]
    Y = [rng.integers(-2, 3, size=(int(m), d)).astype(dtype) for m in ly]
    gpu = align.dtw_batch(X, Y, metric=metric, backend="cuda")
    cpu = align.dtw_batch(X, Y, metric=metric, backend="cpu")
    same_d = sum(g.distance == c.distance for g, c in zip(gpu, cpu))
    same_p = sum(np.array_equal(g.path, c.path) for g, c in zip(gpu, cpu))
    ok = same_d == B and same_p == B
    return ok, (f"dtw_batch cuda vs cpu {B}x({N},{M},d={d}) {np.dtype(dtype).name} {metric}: "
                f"distances bit-identical {same_d}/{B}, paths equal {same_p}/{B}")


def check_softdtw(B, N, M, d, dtype, seed=0, radius=None, gamma=0.5, vary=True):
    """soft-DTW values and gradients, backend="cuda" vs "cpu" (numpy path). Returns (ok, message).

    float64: the two must agree to 1e-9 (values) and 1e-8 (gradients, relative to
    their largest entry). float32: the backward pass subtracts nearly equal
    entries of R (``R[next] - R[i, j] - C[next]``), so float32 gradients carry
    errors of order 1e-3 on either device, and the GPU's exp/log round
    differently from the CPU's; the check is then that the GPU's float32 result
    is about as far from the float64 one as the CPU's float32 result is
    (within 10x, and below 1e-2), which a wrong cell or a race would break.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N, d)).astype(dtype)
    y = rng.normal(size=(B, M, d)).astype(dtype)
    lx = random_lengths(rng, B, N, vary)
    ly = random_lengths(rng, B, M, vary)
    v_gpu, g_gpu = sdtw._run(x, y, lx, ly, gamma, 0, radius, "cuda", True)
    v_cpu, g_cpu = sdtw._run(x, y, lx, ly, gamma, 0, radius, "cpu", True)
    name = f"softdtw fwd/bwd {B}x({N},{M},d={d}) {np.dtype(dtype).name} radius={radius}"

    def errors(v, g, v_ref, g_ref):
        scale = max(1.0, float(np.max(np.abs(g_ref[0]))))
        return (float(np.max(np.abs(v - v_ref) / np.maximum(np.abs(v_ref), 1.0))),
                float(np.max(np.abs(g[0] - g_ref[0]))) / scale,
                float(np.max(np.abs(g[1] - g_ref[1]))) / scale)

    if np.dtype(dtype) == np.float64:
        rel_v, rel_gx, rel_gy = errors(v_gpu, g_gpu, v_cpu, g_cpu)
        ok = rel_v <= 1e-9 and max(rel_gx, rel_gy) <= 1e-8
        return ok, f"{name}: value rel diff {rel_v:.2e}, grad x {rel_gx:.2e}, grad y {rel_gy:.2e}"
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    v64, g64 = sdtw._run(x64, y64, lx, ly, gamma, 0, radius, "cpu", True)
    e_gpu = errors(v_gpu, g_gpu, v64, g64)
    e_cpu = errors(v_cpu, g_cpu, v64, g64)
    ok = all(g <= max(10 * c, 1e-5) and g <= 1e-2 for g, c in zip(e_gpu, e_cpu))
    return ok, (f"{name}: error vs float64 (value, grad x, grad y): GPU "
                f"{', '.join(f'{e:.1e}' for e in e_gpu)}; CPU {', '.join(f'{e:.1e}' for e in e_cpu)}")


def check_softdtw_torch(B, N, M, d, dtype_name, seed=0, normalize=False):
    """SoftDTWLoss on CUDA tensors vs CPU tensors: values and both gradients."""
    import torch

    from align.softdtw_torch import soft_dtw_torch

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((B, N, d), generator=gen, dtype=dtype)
    y = torch.randn((B, M, d), generator=gen, dtype=dtype)
    lx = torch.randint(1, N + 1, (B,), generator=gen)
    ly = torch.randint(1, M + 1, (B,), generator=gen)
    res = []
    for device in ("cpu", "cuda"):
        xd = x.detach().clone().to(device).requires_grad_(True)
        yd = y.detach().clone().to(device).requires_grad_(True)
        v = soft_dtw_torch(xd, yd, lx.to(device), ly.to(device), gamma=0.3, divergence=normalize)
        v.sum().backward()
        res.append((v.detach().cpu(), xd.grad.cpu(), yd.grad.cpu()))
    rtol = 1e-9 if dtype == torch.float64 else 2e-4
    (v0, gx0, gy0), (v1, gx1, gy1) = res
    rel_v = float(((v1 - v0).abs() / v0.abs().clamp_min(1.0)).max())
    scale = max(1.0, float(gx0.abs().max()))
    rel_gx = float((gx1 - gx0).abs().max()) / scale
    rel_gy = float((gy1 - gy0).abs().max()) / scale
    ok = rel_v <= rtol and rel_gx <= 10 * rtol and rel_gy <= 10 * rtol
    return ok, (f"SoftDTWLoss CUDA vs CPU tensors {B}x({N},{M},d={d}) {dtype_name} normalize={normalize}: "
                f"value {rel_v:.2e}, grad x {rel_gx:.2e}, grad y {rel_gy:.2e}")


def check_torch_peer(device="cpu"):
    """The torch anti-diagonal peers against our kernels on a small batch (they must be right too)."""
    import torch

    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 9))
    y = rng.normal(size=(6, 7))
    want = np.empty(6)
    cpu_dtw_batch(x, y, np.full(6, 9), np.full(6, 7), want)
    got = torch_dtw_antidiag(torch.tensor(x, device=device), torch.tensor(y, device=device)).cpu().numpy()
    xs = rng.normal(size=(3, 8, 2))
    ys = rng.normal(size=(3, 5, 2))
    sgot = torch_softdtw_antidiag(torch.tensor(xs, device=device), torch.tensor(ys, device=device), 0.5)
    swant = sdtw.soft_dtw_batch(xs, ys, gamma=0.5, backend="cpu")
    rel = max(float(np.max(np.abs(got - want) / want)), float(np.max(np.abs(sgot.detach().cpu().numpy() - swant))))
    return rel <= 1e-10, f"torch anti-diagonal peers vs ours: max diff {rel:.2e}"


# --------------------------------------------------------------------------- torch peers


def torch_dtw_antidiag(x, y):
    """Plain torch exact DTW of equal-length batches by anti-diagonals. x (B, N), y (B, M) -> (B,)."""
    import torch

    B, N = x.shape
    M = y.shape[1]
    i = torch.arange(N, device=x.device)
    inf = torch.tensor(float("inf"), dtype=x.dtype, device=x.device)
    inf_col = inf.expand(B, 1)
    prev2 = None
    prev1 = None
    for k in range(N + M - 1):
        j = k - i
        valid = (j >= 0) & (j < M)
        c = (x - y[:, j.clamp(0, M - 1)]) ** 2
        if k == 0:
            cur = torch.where(i == 0, c, inf)
        else:
            up_diag = torch.cat([inf_col, prev1[:, :-1]], dim=1)  # (i-1, j): diagonal k-1, index i-1
            left = prev1  # (i, j-1): diagonal k-1, index i
            if k == 1:
                diag = torch.full_like(prev1, float("inf"))
            else:
                diag = torch.cat([inf_col, prev2[:, :-1]], dim=1)  # (i-1, j-1)
            best = torch.minimum(torch.minimum(diag, up_diag), left)
            cur = torch.where(valid, c + best, inf)
        prev2, prev1 = prev1, cur
    return prev1[:, N - 1]


def torch_softdtw_antidiag(x, y, gamma):
    """Plain torch soft-DTW (squared Euclidean) by anti-diagonals; autograd gives the backward."""
    import torch

    B, N, _ = x.shape
    M = y.shape[1]
    D = ((x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :] - 2 * torch.bmm(x, y.transpose(1, 2)))
    i = torch.arange(N, device=x.device)
    big = torch.tensor(float("inf"), dtype=x.dtype, device=x.device)
    inf_col = big.expand(B, 1)
    prev2 = prev1 = None
    for k in range(N + M - 1):
        j = k - i
        valid = (j >= 0) & (j < M)
        c = D[:, i, j.clamp(0, M - 1)]
        if k == 0:
            cur = torch.where(i == 0, c, big)
        else:
            up = torch.cat([inf_col, prev1[:, :-1]], dim=1)
            left = prev1
            diag = torch.full_like(prev1, float("inf")) if k == 1 else torch.cat([inf_col, prev2[:, :-1]], dim=1)
            stacked = torch.stack([diag, up, left], dim=0)
            # soft-min; rows with three +inf stay +inf without NaN gradients
            lo = stacked.min(dim=0).values
            safe_lo = torch.where(torch.isfinite(lo), lo, torch.zeros_like(lo))
            z = torch.exp(-(stacked - safe_lo) / gamma).sum(0)
            tiny = torch.finfo(z.dtype).tiny  # z == 0 only where lo is inf; keep log finite there
            soft = torch.where(torch.isfinite(lo), safe_lo - gamma * torch.log(z.clamp_min(tiny)), big)
            cur = torch.where(valid, c + soft, big)
        prev2, prev1 = prev1, cur
    return prev1[:, N - 1]


# --------------------------------------------------------------------------- timing


def median_time(fn, sync, repeat=5, warmup=1):
    """Median wall time of ``fn(); sync()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
        sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def first_call_time(fn, sync):
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


class Table:
    def __init__(self):
        self.rows = []
        self.failures = 0

    def attempt(self, workload, impl, fn, cells, ours=False):
        """``add`` the time ``fn()`` returns; a failure is printed and counted, not raised."""
        try:
            self.add(workload, impl, fn(), cells, ours)
        except Exception as exc:  # e.g. a launch configuration this GPU refuses
            self.failures += 1
            print(f"  {workload:34s} {impl:52s} FAILED: {exc!r}", flush=True)

    def add(self, workload, impl, seconds, cells, ours=False):
        self.rows.append((workload, impl, seconds, cells, ours))
        print(f"  {workload:34s} {impl:52s} {seconds * 1e3:10.3f} ms  {cells / seconds / 1e9:8.2f} G cells/s",
              flush=True)

    def print(self):
        print("\n| workload | implementation | time (ms) | G cells/s | time / our best CUDA |")
        print("| --- | --- | ---: | ---: | ---: |")
        best = {}
        for w, _, s, _, ours in self.rows:
            if ours:
                best[w] = min(best.get(w, math.inf), s)
        for w, impl, s, cells, _ in self.rows:
            ratio = f"{s / best[w]:.2f}" if w in best else "-"
            print(f"| {w} | {impl} | {s * 1e3:.3f} | {cells / s / 1e9:.2f} | {ratio} |")


def _sync_for(device):
    import torch

    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


#: (lanes per pair, pairs per block) of the wavefront DTW kernel to time
WAVE_SHAPES_QUICK = ((32, 4), (16, 8))
WAVE_SHAPES = ((32, 2), (32, 4), (32, 8), (16, 4), (16, 8), (8, 16))
#: pairs per block of the warp-shuffle build (32 lanes a pair)
SHFL_PAIRS_QUICK = (4, 8)
SHFL_PAIRS = (2, 4, 8, 16)


def dtw_launchers(dx, dy, dlx, dly, work, out, quick):
    """``(label, launch)`` for every exact-DTW kernel and launch shape to time."""
    from align.kernels.dtw_cuda import dtw_batch, dtw_wave, dtw_wave_shfl, wave_shared_bytes

    B = dx.shape[0]
    no_dirs = cuda.device_array((1, 1, 1), dtype=np.uint8)  # only the path build writes them
    runs = []
    for lanes, pairs in (WAVE_SHAPES_QUICK if quick else WAVE_SHAPES):
        grid, block, nbytes = (B + pairs - 1) // pairs, (lanes, pairs), wave_shared_bytes(lanes, pairs)

        def run(grid=grid, block=block, nbytes=nbytes):
            dtw_wave[grid, block, 0, nbytes](dx, dy, dlx, dly, out, no_dirs, work)

        runs.append((f"ours CUDA dtw_wave, {lanes} lanes x {pairs} pairs/block", run))
    for pairs in (SHFL_PAIRS_QUICK if quick else SHFL_PAIRS):
        grid = (B + pairs - 1) // pairs

        def run(grid=grid, pairs=pairs):
            dtw_wave_shfl[grid, (32, pairs)](dx, dy, dlx, dly, out, no_dirs, work)

        runs.append((f"ours CUDA dtw_wave_shfl, 32 lanes x {pairs} pairs/block", run))
    for threads in ((32,) if quick else (32, 64)):
        blocks = (B + threads - 1) // threads

        def run(threads=threads, blocks=blocks):
            dtw_batch[blocks, threads](dx, dy, dlx, dly, out, work)

        runs.append((f"ours CUDA dtw_batch, {threads} threads/block", run))
    return runs


def time_dtw_path(dx, dy, dlx, dly, ref, repeat):
    """Median time of the path build and the traceback (device arrays in and out, no copies back)."""
    from align.kernels.dtw_cuda import dtw_traceback, dtw_wave_path, wave_shared_bytes

    B, N = dx.shape
    M = dy.shape[1]
    lanes, pairs = _config.WAVE_LANES, _config.WAVE_PAIRS
    work = cuda.device_array((M, B), dtype=np.float64)
    out = cuda.device_array(B, dtype=np.float64)
    dirs = cuda.device_array((B, N, M), dtype=np.uint8)
    path = cuda.device_array((B, N + M - 1, 2), dtype=np.int64)
    plen = cuda.device_array(B, dtype=np.int64)

    def run():
        dtw_wave_path[(B + pairs - 1) // pairs, (lanes, pairs), 0, wave_shared_bytes(lanes, pairs)](
            dx, dy, dlx, dly, out, dirs, work)
        dtw_traceback[(B + 127) // 128, 128](dirs, dlx, dly, path, plen)

    sec = median_time(run, cuda.synchronize, repeat=repeat)
    assert np.allclose(out.copy_to_host(), ref, rtol=1e-12), "CUDA DTW path kernel disagrees with the CPU"
    return sec


def bench_dtw(table, quick, B=16384, N=256, M=256, device="cuda", repeat=10):
    """Exact DTW workloads: ours (both kernels, several launch shapes), the torch peer, the CPU loop."""
    import torch

    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        w = f"dtw {B}x({N},{M}) {name}"
        x = rng.normal(size=(B, N)).astype(dtype)
        y = rng.normal(size=(B, M)).astype(dtype)
        lens = np.full(B, N, dtype=np.int64)
        lens_y = np.full(B, M, dtype=np.int64)
        dx, dy, dl, dly = cuda.to_device(x), cuda.to_device(y), cuda.to_device(lens), cuda.to_device(lens_y)
        work = cuda.device_array((M, B), dtype=np.float64)
        out = cuda.device_array(B, dtype=np.float64)
        ref = np.empty(B)
        cpu_dtw_batch(x, y, lens, lens_y, ref)
        for k, (label, run) in enumerate(dtw_launchers(dx, dy, dl, dly, work, out, quick)):
            if k == 0:
                print(f"  (first call incl. JIT compile: {first_call_time(run, cuda.synchronize):.2f} s)")

            def timed(run=run):
                out.copy_to_device(np.full(B, np.nan))  # a launch that writes nothing fails the check
                sec = median_time(run, cuda.synchronize, repeat=repeat)
                assert np.allclose(out.copy_to_host(), ref, rtol=1e-12), "CUDA DTW disagrees with the CPU"
                return sec

            table.attempt(w, label, timed, B * N * M, ours=True)
        if dtype == np.float32:
            table.attempt(w.replace("dtw ", "dtw path "), "ours CUDA dtw_wave_path + dtw_traceback (distance and path)",
                          lambda: time_dtw_path(dx, dy, dl, dly, ref, repeat), B * N * M, ours=True)
            tx, ty = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            sec = median_time(lambda: torch_dtw_antidiag(tx, ty), _sync_for(device), repeat=max(1, repeat // 3))
            peer = torch_dtw_antidiag(tx, ty).double().cpu().numpy()
            assert np.allclose(peer, ref, rtol=1e-4), "torch peer disagrees"
            table.add(w, f"peer: plain torch anti-diagonal DTW on {device} (float32 sums)", sec, B * N * M)
            sec = median_time(lambda: cpu_dtw_batch(x, y, lens, lens_y, ref), lambda: None, repeat=1)
            table.add(w, "CPU Numba loop (this script, all cores)", sec, B * N * M)
    # feature sequences (d = 13, MFCC-like), distances and paths
    bf, df = max(1, B // 4), 13
    w = f"dtw {bf}x({N},{M},d={df}) float32"
    xf = rng.normal(size=(bf, N, df)).astype(np.float32)
    yf = rng.normal(size=(bf, M, df)).astype(np.float32)
    dxf, dyf = cuda.to_device(xf), cuda.to_device(yf)
    lf, lfy = cuda.to_device(np.full(bf, N, np.int64)), cuda.to_device(np.full(bf, M, np.int64))
    table.attempt(w, "ours CUDA feature_wave (distances)",
                  lambda: median_time(lambda: _cuda.dtw_batch(dxf, dyf, lf, lfy, metric=0), cuda.synchronize,
                                      repeat=repeat), bf * N * M, ours=True)
    table.attempt(w.replace("dtw ", "dtw path "), "ours CUDA feature_wave path + traceback (to host lists)",
                  lambda: median_time(lambda: _cuda.dtw_batch_path(dxf, dyf, lf, lfy, metric=0), cuda.synchronize,
                                      repeat=max(1, repeat // 3)), bf * N * M, ours=True)
    xs_cpu, ys_cpu = list(xf[: max(1, bf // 16)]), list(yf[: max(1, bf // 16)])
    sec = median_time(lambda: align.dtw_batch(xs_cpu, ys_cpu, backend="cpu", return_path=False), lambda: None,
                      repeat=1)
    table.add(w, f"ours CPU align.dtw_batch (a loop of align.dtw), scaled from {len(xs_cpu)} pairs",
              sec * bf / len(xs_cpu), bf * N * M)
    # variable lengths
    w = f"dtw {B}x(<={N},<={M}) float32 var-len"
    x = rng.normal(size=(B, N)).astype(np.float32)
    y = rng.normal(size=(B, M)).astype(np.float32)
    lx = random_lengths(rng, B, N, True)
    ly = random_lengths(rng, B, M, True)
    dx, dy, dlx, dly = (cuda.to_device(a) for a in (x, y, lx, ly))
    work = cuda.device_array((M, B), dtype=np.float64)
    out = cuda.device_array(B, dtype=np.float64)
    ref = np.empty(B)
    cpu_dtw_batch(x, y, lx, ly, ref)
    for label, run in dtw_launchers(dx, dy, dlx, dly, work, out, True):
        def timed(run=run):
            out.copy_to_device(np.full(B, np.nan))
            sec = median_time(run, cuda.synchronize, repeat=repeat)
            assert np.allclose(out.copy_to_host(), ref, rtol=1e-12), "CUDA DTW disagrees with the CPU"
            return sec

        table.attempt(w, label, timed, int(np.sum(lx * ly)), ours=True)


class softdtw_variant:
    """Within ``with``: the soft-DTW API launches ``variant`` with ``(lanes, pairs)`` (wave) or ``threads``.

    ``variant`` "wave", "shared" or "global" (see ``softdtw_cuda.launch``);
    "old" is "shared" where its tables fit in shared memory, else "global"
    (what the API ran before the wave kernels).
    """

    def __init__(self, variant, lanes=None, pairs=None, threads=None):
        self.variant, self.lanes, self.pairs, self.threads = variant, lanes, pairs, threads

    def __enter__(self):
        from align.kernels import softdtw_cuda as kc

        self.kc, self.orig = kc, kc.launch
        if self.lanes is not None:
            _config.WAVE_LANES, _config.WAVE_PAIRS = self.lanes, self.pairs
        if self.threads is not None:
            _config.THREADS_PER_BLOCK = self.threads
        chosen, orig = self.variant, self.orig

        def launch(kind, B, N, dtype, stream=0, variant=None):
            v = chosen
            if v == "old":
                v = "shared" if kc.shared_bytes(kind, N, np.dtype(dtype).itemsize) <= kc.SHARED_LIMIT else "global"
            return orig(kind, B, N, dtype, stream, v)

        kc.launch = launch
        return self

    def __exit__(self, *exc):
        self.kc.launch = self.orig
        _config._reset()


#: (lanes per pair, pairs per block) of the soft-DTW wave kernels to time (lanes * pairs <= 256)
SOFTDTW_SHAPES_QUICK = ((32, 4), (32, 2), (64, 2))
SOFTDTW_SHAPES = ((32, 1), (32, 2), (32, 4), (32, 8), (16, 8), (64, 1), (64, 2), (64, 4))
LONG_SHAPES = ((64, 1), (256, 1))


def bench_softdtw(table, quick, B=512, N=512, d=13, long_n=4096, device="cuda", repeat=5):
    """soft-DTW workloads: ours on CUDA tensors (wave kernels at several shapes, the older
    block-per-pair kernels), the torch peer, ours on CPU."""
    import torch

    from align.softdtw_torch import soft_dtw_torch

    sync = _sync_for(device)
    gen = torch.Generator().manual_seed(2)
    M = N
    w = f"softdtw fwd+bwd {B}x({N},{M},d={d}) float32"
    x = torch.randn((B, N, d), generator=gen).to(device).requires_grad_(True)
    y = torch.randn((B, M, d), generator=gen).to(device)

    def fwd_bwd():
        x.grad = None
        soft_dtw_torch(x, y, gamma=1.0).sum().backward()

    def fwd():
        with torch.no_grad():
            soft_dtw_torch(x, y, gamma=1.0)

    with torch.no_grad():
        ref = soft_dtw_torch(x.cpu(), y.cpu(), gamma=1.0).double().numpy()  # ours on the CPU

    def checked(fn):
        def timed():
            sec = median_time(fn, sync, repeat)
            with torch.no_grad():
                got = soft_dtw_torch(x, y, gamma=1.0).double().cpu().numpy()
            assert np.allclose(got, ref, rtol=1e-4), "CUDA soft-DTW disagrees with the CPU"
            return sec
        return timed

    runs = [(softdtw_variant("wave", lanes, pairs), f"wave kernels, {lanes} lanes x {pairs} pairs/block")
            for lanes, pairs in (SOFTDTW_SHAPES_QUICK if quick else SOFTDTW_SHAPES)]
    runs += [(softdtw_variant("old", threads=t), f"block-per-pair kernels (shared), {t} threads/block")
             for t in ((256,) if quick else (128, 256, 512))]
    runs.append((softdtw_variant("global", threads=256), "block-per-pair kernels (global), 256 threads/block"))
    for k, (ctx, label) in enumerate(runs):
        with ctx:
            if k == 0:
                print(f"  (first fwd+bwd incl. JIT compile: {first_call_time(fwd_bwd, sync):.2f} s)")
            table.attempt(w, f"ours SoftDTWLoss {device}, {label}", checked(fwd_bwd), B * N * M, ours=True)
            table.attempt(w.replace("fwd+bwd", "fwd"), f"ours soft_dtw_torch {device} fwd, {label}",
                          checked(fwd), B * N * M, ours=True)
    # the peer: plain torch anti-diagonal soft-DTW + autograd
    xs = x.detach().clone().requires_grad_(True)

    def peer():
        xs.grad = None
        torch_softdtw_antidiag(xs, y, 1.0).sum().backward()

    table.add(w, f"peer: plain torch anti-diagonal soft-DTW + autograd on {device}",
              median_time(peer, sync, repeat=max(1, repeat // 2)), B * N * M)
    with torch.no_grad():
        peer_v = torch_softdtw_antidiag(x.detach(), y, 1.0).double().cpu().numpy()
    rel = float(np.max(np.abs(peer_v - ref) / np.abs(ref)))
    print(f"  (peer vs ours, float32 values: max rel diff {rel:.2e})")
    assert rel < 1e-3, "torch soft-DTW peer disagrees with ours"
    if not quick and device == "cuda":  # ours on CPU tensors, all cores
        xc, yc = x.detach().cpu().requires_grad_(True), y.cpu()

        def cpu_fwd_bwd():
            xc.grad = None
            soft_dtw_torch(xc, yc, gamma=1.0).sum().backward()

        table.add(w, "ours SoftDTWLoss CPU (Numba, all cores)", median_time(cpu_fwd_bwd, lambda: None, repeat=1),
                  B * N * M)
    # one long pair
    w = f"softdtw fwd+bwd 1x({long_n},{long_n},d={d}) float32"
    x1 = torch.randn((1, long_n, d), generator=gen).to(device).requires_grad_(True)
    y1 = torch.randn((1, long_n, d), generator=gen).to(device)

    def long_pair():
        x1.grad = None
        soft_dtw_torch(x1, y1, gamma=1.0).sum().backward()

    long_runs = [(softdtw_variant("wave", lanes, pairs), f"wave kernels, {lanes} lanes x {pairs} pairs/block")
                 for lanes, pairs in LONG_SHAPES]
    long_runs.append((softdtw_variant("old", threads=256), "block-per-pair kernels, 256 threads/block"))
    for ctx, label in long_runs:
        with ctx:
            table.attempt(w, f"ours SoftDTWLoss {device}, {label}",
                          lambda: median_time(long_pair, sync, repeat=max(1, repeat // 2)), long_n * long_n,
                          ours=True)


def run_checks(has_torch_cuda):
    results = []
    for args in [(4096, 256, 256, np.float32), (4096, 256, 256, np.float64), (777, 300, 41, np.float32),
                 (64, 1000, 1200, np.float64)]:
        results.append(check_dtw(*args, seed=len(results), vary=True))
    # odd launch shapes of the wave kernel: one lane (many passes), lanes and pairs not powers of two
    for lanes, pairs in ((1, 2), (3, 5), (16, 8)):
        _config.WAVE_LANES, _config.WAVE_PAIRS = lanes, pairs
        try:
            ok, msg = check_dtw(301, 70, 90, np.float64, seed=len(results), vary=True)
        finally:
            _config._reset()
        results.append((ok, f"{msg} [{lanes} lanes x {pairs} pairs]"))
    for args in [(4096, 256, 256, np.float32), (777, 300, 41, np.float64), (64, 1000, 1200, np.float64)]:
        results.append(check_dtw(*args, seed=len(results), vary=True, kernel="shfl"))
    results.append(check_dtw_path(2048, 256, 256, np.float32, seed=len(results)))
    results.append(check_dtw_path(300, 700, 90, np.float64, seed=len(results)))
    for args in [(256, 120, 100, 13, np.float32, "sqeuclidean"), (128, 300, 70, 3, np.float64, "euclidean"),
                 (64, 90, 200, 5, np.float32, "cityblock")]:
        results.append(check_dtw_batch_api(*args, seed=len(results)))
    results.append(check_dtw(2048, 256, 256, np.float32, seed=9, vary=False, threads=64, kernel="thread"))
    results.append(check_dtw(777, 300, 41, np.float64, seed=10, vary=True, kernel="thread"))
    for args, radius in [((16, 128, 128, 13, np.float64), None), ((16, 128, 100, 13, np.float32), None),
                         ((8, 200, 150, 3, np.float64), 20), ((2, 1500, 1300, 2, np.float64), None)]:
        results.append(check_softdtw(*args, seed=len(results), radius=radius))
    for variant, lanes, pairs in (("wave", 3, 5), ("wave", 64, 2), ("old", None, None), ("global", None, None)):
        with softdtw_variant(variant, lanes, pairs):
            ok, msg = check_softdtw(13, 150, 120, 5, np.float64, seed=len(results), radius=None)
        results.append((ok, f"{msg} [{variant} {lanes} x {pairs}]"))
    if has_torch_cuda:
        results.append(check_softdtw_torch(8, 100, 90, 13, "float64"))
        results.append(check_softdtw_torch(8, 100, 90, 13, "float32", normalize=True))
        results.append(check_torch_peer("cuda"))
    else:
        results.append(check_torch_peer("cpu"))
    for ok, msg in results:
        print(f"  [{'ok' if ok else 'FAIL'}] {msg}", flush=True)
    return sum(not ok for ok, _ in results)


def run_forced_align():
    path = os.path.join(REPO, "benchmarks", "gpu", "torchaudio_compare.py")
    if not os.path.exists(path):
        print("benchmarks/gpu/torchaudio_compare.py not found: forced-alignment section skipped")
        return 0
    try:
        spec = importlib.util.spec_from_file_location("torchaudio_compare", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return int(module.main() or 0)
    except Exception as exc:  # report, never hide our own table
        print(f"forced-alignment comparison failed: {exc!r}")
        return 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer block-size variants")
    parser.add_argument("--skip-forced-align", action="store_true")
    args = parser.parse_args(argv)
    import numba

    try:
        import torch

        has_torch_cuda = torch.cuda.is_available()
        tv = torch.__version__
    except ImportError:
        has_torch_cuda, tv = False, "missing"
    if not cuda.is_available():
        print("numba-cuda finds no GPU; nothing to do")
        return 2
    dev = cuda.get_current_device()
    print(f"GPU {dev.name} (cc {dev.compute_capability}), numpy {np.__version__}, numba {numba.__version__}, "
          f"torch {tv} (CUDA {'yes' if has_torch_cuda else 'no'}), simulator {_device.is_simulator()}")
    t0 = time.perf_counter()
    print("Checks (CUDA vs CPU on fresh random inputs):")
    failures = run_checks(has_torch_cuda)
    print(f"Timings (median; synchronize inside each timed call) [{time.perf_counter() - t0:.0f} s so far]:")
    table = Table()
    if has_torch_cuda:
        for bench in (bench_dtw, bench_softdtw):
            try:
                bench(table, args.quick)
            except Exception as exc:  # keep the rest of the run
                failures += 1
                print(f"  {bench.__name__} FAILED: {exc!r}", flush=True)
    else:
        print("  torch has no CUDA: timings skipped")
    table.print()
    failures += table.failures
    print(f"[{time.perf_counter() - t0:.0f} s]")
    fa = 0
    if not args.skip_forced_align:
        print("\nForced alignment (benchmarks/gpu/torchaudio_compare.py):")
        fa = run_forced_align()
    print("RESULT:", "OK" if failures == 0 and fa == 0 else f"{failures} check failure(s), forced-align status {fa}")
    return 1 if failures or fa else 0


if __name__ == "__main__":
    sys.exit(main())
