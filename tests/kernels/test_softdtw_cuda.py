"""CUDA soft-DTW kernels (under the simulator here) against the CPU kernels and the paper's tables."""

import inspect

import numpy as np
import pytest
from numba import cuda

from align.kernels import softdtw as kcpu
from tests.reference.softdtw import cost_matrix, soft_dtw_tables

# no device: a skip, or a failure where a GPU is required (tests/conftest.py: cuda_action)
pytestmark = pytest.mark.cuda

THREADS = 3  # tiny blocks: every diagonal of the tiny tables takes several strides


@pytest.fixture(scope="module")
def kgpu():
    from align.kernels import softdtw_cuda

    return softdtw_cuda


def run_gpu(kgpu, x, y, gamma, radius=None, lx=None, ly=None, metric=0, shared=False):
    B, N, _ = x.shape
    M = y.shape[1]
    lx = np.full(B, N, np.int64) if lx is None else np.asarray(lx, np.int64)
    ly = np.full(B, M, np.int64) if ly is None else np.asarray(ly, np.int64)
    dt = x.dtype
    dx, dy, dlx, dly = (cuda.to_device(a) for a in (x, y, lx, ly))
    dD = cuda.to_device(np.zeros((B, N, M), dt))
    kgpu.pairwise_cost[2, THREADS](dx, dy, dlx, dly, metric, dD)  # a 1-D grid: columns stride, every row
    dR = cuda.to_device(np.zeros((B, N + 1, M + 1), dt))
    dout = cuda.to_device(np.zeros(B, dt))
    r = -1 if radius is None else radius
    if shared:
        fwd = kgpu.forward_shared(dt)[B, THREADS, 0, kgpu.shared_bytes("forward", N, dt.itemsize)]
        bwd = kgpu.backward_shared(dt)[B, THREADS, 0, kgpu.shared_bytes("backward", N, dt.itemsize)]
    else:
        fwd = kgpu.softdtw_forward[B, THREADS]
        bwd = kgpu.softdtw_backward[B, THREADS]
    fwd(dD, dlx, dly, dt.type(gamma), r, dR, dout)
    dE = cuda.to_device(np.zeros((B, N + 1, M + 1), dt))
    bwd(dD, dR, dlx, dly, dt.type(gamma), dE)
    return dD.copy_to_host(), dR.copy_to_host(), dout.copy_to_host(), dE.copy_to_host()


def run_cpu(x, y, gamma, radius=None, lx=None, ly=None, metric=0):
    B, N, _ = x.shape
    M = y.shape[1]
    lx = np.full(B, N, np.int64) if lx is None else np.asarray(lx, np.int64)
    ly = np.full(B, M, np.int64) if ly is None else np.asarray(ly, np.int64)
    dt = x.dtype
    D = np.zeros((B, N, M), dt)
    kcpu.pairwise_cost(x, y, lx, ly, metric, D)
    R = np.zeros((B, N + 1, M + 1), dt)
    out = np.zeros(B, dt)
    r = -1 if radius is None else radius
    kcpu.softdtw_forward(D, lx, ly, dt.type(gamma), r, R, out)
    E = np.zeros((B, N + 1, M + 1), dt)
    kcpu.softdtw_backward(D, R, lx, ly, dt.type(gamma), E)
    return D, R, out, E


@pytest.mark.parametrize("threads", [1, 3, 64])
def test_cost_launch_fills_exactly_the_valid_cells(kgpu, rng, monkeypatch, threads):
    from align.kernels import _config

    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", threads)
    x = rng.normal(size=(3, 6, 2))
    y = rng.normal(size=(3, 5, 2))
    lx, ly = np.array([6, 1, 4]), np.array([5, 5, 2])
    dD = cuda.to_device(np.full((3, 6, 5), SENTINEL))
    args = [cuda.to_device(a) for a in (x, y, lx, ly)]
    kgpu.cost_launch(3, 6, 5)(*args, 0, dD)
    got = dD.copy_to_host()
    for b in range(3):
        want = np.full((6, 5), SENTINEL)
        want[: lx[b], : ly[b]] = cost_matrix(x[b, : lx[b]], y[b, : ly[b]])
        np.testing.assert_allclose(got[b], want, rtol=1e-14)


def test_same_signatures_as_cpu(kgpu):
    for name in ("pairwise_cost", "softdtw_forward", "softdtw_backward"):
        cpu = inspect.signature(getattr(kcpu, name).py_func)
        gpu = inspect.signature(getattr(kgpu, name).py_func)
        assert cpu == gpu, name
    assert inspect.signature(kgpu.forward_shared(np.float64).py_func) == inspect.signature(kcpu.softdtw_forward.py_func)
    assert inspect.signature(kgpu.backward_shared(np.float32).py_func) == inspect.signature(kcpu.softdtw_backward.py_func)


@pytest.mark.parametrize("shared", [False, True], ids=["global", "shared"])
@pytest.mark.parametrize("radius", [None, 1])
def test_matches_cpu_and_reference_with_lengths(kgpu, rng, radius, shared):
    x = rng.normal(size=(3, 5, 2))
    y = rng.normal(size=(3, 4, 2))
    lx, ly = [5, 2, 4], [4, 4, 1]
    D, R, out, E = run_gpu(kgpu, x, y, 0.6, radius, lx, ly, shared=shared)
    Dc, Rc, outc, Ec = run_cpu(x, y, 0.6, radius, lx, ly)
    np.testing.assert_allclose(out, outc, rtol=1e-13)
    for b in range(3):
        n, m = lx[b], ly[b]
        # not bit-equal: the CPU build may contract d*d + acc into an FMA (FASTMATH has 'contract')
        np.testing.assert_allclose(D[b, :n, :m], Dc[b, :n, :m], rtol=1e-14)
        np.testing.assert_allclose(R[b, : n + 1, : m + 1], Rc[b, : n + 1, : m + 1], rtol=1e-13)
        np.testing.assert_allclose(E[b, 1 : n + 1, 1 : m + 1], Ec[b, 1 : n + 1, 1 : m + 1], rtol=1e-12, atol=1e-15)
        value, _, Eref = soft_dtw_tables(cost_matrix(x[b, :n], y[b, :m]), 0.6, radius)
        assert out[b] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(E[b, 1 : n + 1, 1 : m + 1], Eref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("shared", [False, True], ids=["global", "shared"])
def test_float32_stays_float32(kgpu, rng, shared):
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    y = rng.normal(size=(2, 6, 3)).astype(np.float32)
    D, R, out, E = run_gpu(kgpu, x, y, 0.5, shared=shared)
    assert out.dtype == np.float32 and E.dtype == np.float32
    _, _, outc, Ec = run_cpu(x.astype(np.float64), y.astype(np.float64), 0.5)
    np.testing.assert_allclose(out, outc, rtol=1e-5)
    np.testing.assert_allclose(E, Ec, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shared", [False, True], ids=["global", "shared"])
def test_band_too_narrow_gives_inf(kgpu, shared):
    x = np.array([[[0.0], [1.0], [2.0]]])
    y = np.array([[[0.0], [2.0]]])
    _, _, out, _ = run_gpu(kgpu, x, y, 1.0, radius=0, shared=shared)
    assert out[0] == np.inf


def test_pick_prefers_shared_memory_when_it_fits(kgpu):
    fwd, nbytes = kgpu.pick("forward", 512, np.float32)
    assert fwd is kgpu.forward_shared(np.float32) and nbytes == 3 * 513 * 4
    bwd, nbytes = kgpu.pick("backward", 512, np.float64)
    assert bwd is kgpu.backward_shared(np.float64) and nbytes == 9 * 513 * 8
    assert kgpu.pick("backward", 4096, np.float32) == (kgpu.softdtw_backward, 0)
    assert kgpu.pick("forward", 4000, np.float32)[0] is kgpu.forward_shared(np.float32)
    assert kgpu.pick("forward", 4096, np.float32) == (kgpu.softdtw_forward, 0)
    assert kgpu.pick("forward", 8192, np.float64) == (kgpu.softdtw_forward, 0)


@pytest.mark.parametrize("metric", [1, 2])
def test_other_metrics_cost(kgpu, rng, metric):
    x = rng.normal(size=(1, 3, 2))
    y = rng.normal(size=(1, 4, 2))
    D, _, out, _ = run_gpu(kgpu, x, y, 1.0, metric=metric)
    np.testing.assert_allclose(D[0], cost_matrix(x[0], y[0], ["", "euclidean", "cityblock"][metric]), rtol=1e-14)


# The simulator runs Python that real CUDA may refuse (objects, float64 constants,
# non-literal local arrays). Where the CUDA toolkit's NVVM and libdevice are
# installed (no GPU needed), compile every kernel to PTX for sm_90 in a child
# process with the simulator off. numba-cuda asks the driver for the device's
# compute capability and NVRTC for the supported architectures; the child
# answers both itself, since only the compilation is wanted here.
_PTX_CHILD = r'''
import glob, os, re, sys
os.environ["NUMBA_ENABLE_CUDASIM"] = "0"
libdevice = sorted(glob.glob(os.path.join(sys.argv[1], "nvvm", "libdevice", "libdevice*.bc")))
try:
    from numba import cuda
    import numba.cuda.cudadrv.libs as libs
    import numba.cuda.cudadrv.nvrtc as nvrtc
    import numba.cuda.cudadrv.nvvm as nvvm
    import numba.cuda.dispatcher as dispatcher

    class _Device:
        compute_capability = (9, 0)

    dispatcher.get_current_device = lambda: _Device()
    nvrtc.get_supported_ccs = lambda: ((8, 0), (9, 0))
    libs.get_libdevice = nvvm.get_libdevice = lambda: libdevice[0]
except Exception as exc:  # another numba-cuda layout: cannot run this check
    print("SKIP", repr(exc)); sys.exit(0)
from align.kernels import dtw_cuda, softdtw_cuda as s
for dt in ("float32", "float64"):
    A3 = dt + "[:, :, ::1]"
    sigs = [
        (dtw_cuda.dtw_batch, f"void({dt}[:, ::1], {dt}[:, ::1], int64[::1], int64[::1], float64[::1], float64[:, ::1])"),
        (dtw_cuda.dtw_wave, f"void({dt}[:, ::1], {dt}[:, ::1], int64[::1], int64[::1], float64[::1], uint8[:, :, ::1], float64[:, ::1])"),
        (dtw_cuda.dtw_wave_shfl, f"void({dt}[:, ::1], {dt}[:, ::1], int64[::1], int64[::1], float64[::1], uint8[:, :, ::1], float64[:, ::1])"),
        (dtw_cuda.dtw_wave_path, f"void({dt}[:, ::1], {dt}[:, ::1], int64[::1], int64[::1], float64[::1], uint8[:, :, ::1], float64[:, ::1])"),
        (dtw_cuda.feature_wave(dt, 0), f"void({A3}, {A3}, int64[::1], int64[::1], float64[::1], uint8[:, :, ::1], float64[:, ::1])"),
        (dtw_cuda.feature_wave(dt, 1, path=True), f"void({A3}, {A3}, int64[::1], int64[::1], float64[::1], uint8[:, :, ::1], float64[:, ::1])"),
        (dtw_cuda.dtw_traceback, "void(uint8[:, :, ::1], int64[::1], int64[::1], int64[:, :, ::1], int64[::1])"),
        (s.pairwise_cost, f"void({A3}, {A3}, int64[::1], int64[::1], int64, {A3})"),
        (s.softdtw_forward, f"void({A3}, int64[::1], int64[::1], {dt}, int64, {A3}, {dt}[::1])"),
        (s.softdtw_backward, f"void({A3}, {A3}, int64[::1], int64[::1], {dt}, {A3})"),
        (s.forward_shared(dt), f"void({A3}, int64[::1], int64[::1], {dt}, int64, {A3}, {dt}[::1])"),
        (s.backward_shared(dt), f"void({A3}, {A3}, int64[::1], int64[::1], {dt}, {A3})"),
        (s.forward_wave(dt), f"void({A3}, int64[::1], int64[::1], {dt}, int64, {A3}, {dt}[::1])"),
        (s.backward_wave(dt), f"void({A3}, {A3}, int64[::1], int64[::1], {dt}, {A3})"),
    ]
    # HMM Viterbi and CTC alignment, with the argument types their host launchers pass
    from align.kernels import ctc_cuda, hmm_cuda
    I1, F1 = "int64[::1]", "float64[::1]"
    # the graph arrays travel as tuples: states (col, init, final, s_off), preds (ptr, pstate,
    # plogp, p_off, e_off)
    head = f"{A3}, {I1}, {I1}, Tuple(({I1}, {F1}, {F1}, {I1}))"
    preds = f"Tuple(({I1}, {I1}, {F1}, {I1}, {I1}))"
    sigs += [
        (hmm_cuda.viterbi_csr_batch, f"void({head}, {preds}, int64[:, ::1], {F1}, "
                                     f"int32[:, :, ::1], float64[:, ::1], int64)"),
        (hmm_cuda.viterbi_band_batch, f"void({head}, float64[:, ::1], int64[:, ::1], {F1}, "
                                      f"uint8[:, :, ::1], float64[:, ::1], int64)"),
        (ctc_cuda.ctc_kernel(dt), f"void({A3}, int64[:, ::1], {I1}, {I1}, int64, int64, int64[:, ::1], "
                                  f"{dt}[:, ::1], {F1}, int8[:, :, ::1], {dt}[:, ::1], int64)"),
    ]
    from align.kernels import mas_cuda
    sigs.append((mas_cuda.maximum_path_kernel(dt), f"void({A3}, {I1}, {I1}, boolean, {A3}, {F1}, "
                                                  f"uint8[:, :, ::1], {dt}[:, ::1], int64)"))
    from align.kernels import drop_dtw_cuda
    sigs.append((drop_dtw_cuda.drop_dtw_batch, f"void({A3}, float64[:, ::1], float64[:, ::1], {I1}, {I1}, int64, "
                                               f"int64, {F1}, int64[:, ::1], uint8[:, ::1], int64[:, :, ::1], "
                                               f"{I1}, uint8[:, :, ::1], float64[:, :, ::1])"))
    wave = (s.forward_wave(dt), s.backward_wave(dt))
    own_bounds = (hmm_cuda.viterbi_csr_batch, hmm_cuda.viterbi_band_batch, ctc_cuda.ctc_kernel(dt),
                  mas_cuda.maximum_path_kernel(dt))
    for kernel, sig in sigs:
        # the launch bounds the real build uses (none for dtw_batch)
        bounds = kernel.targetoptions.get("launch_bounds") if hasattr(kernel, "targetoptions") else None
        exact_dtw = kernel in (dtw_cuda.dtw_batch, dtw_cuda.dtw_wave, dtw_cuda.dtw_wave_shfl, dtw_cuda.dtw_wave_path,
                               dtw_cuda.feature_wave(dt, 0), dtw_cuda.feature_wave(dt, 1, path=True))
        if kernel in own_bounds:
            bounds = hmm_cuda.MAX_THREADS
        elif not exact_dtw and kernel is not dtw_cuda.dtw_traceback:
            bounds = s.WAVE_MAX_THREADS if kernel in wave else s.MAX_THREADS
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0), launch_bounds=bounds)
        name = kernel.py_func.__name__
        spills = ptx.count("st.local")
        f64 = sum(ptx.count(op) for op in ("add.f64", "mul.f64", "fma.rn.f64", "ex2.approx.f64"))
        # exact DTW must round as the CPU does: every fused multiply-add is a square
        # fma(d, d, +0) and no plain multiply is left for ptxas to fuse
        fused = 0
        if exact_dtw:
            fmas = re.findall(r"fma\.rn\.f(?:32|64)\s+%\w+, (%\w+), (%\w+), %\w+;", ptx)
            fused = sum(a != b for a, b in fmas) + len(re.findall(r"\bmul(?:\.rn)?\.f(?:32|64)", ptx))
        print("PTX", dt, name, len(ptx), "spills", spills, "f64ops", f64, "fused", fused)
'''


def _cuda_home():
    import glob
    import os

    for root in [os.environ.get("CUDA_HOME", ""), *sorted(glob.glob("/usr/local/cuda*"), reverse=True)]:
        if root and glob.glob(os.path.join(root, "nvvm", "libdevice", "libdevice*.bc")) and (
            glob.glob(os.path.join(root, "lib*", "libnvvm.so*")) or glob.glob(os.path.join(root, "nvvm", "lib64", "libnvvm.so*"))
        ):
            return root
    return None


def test_kernels_compile_to_ptx_for_sm90():
    import os
    import subprocess
    import sys

    root = _cuda_home()
    if root is None:
        pytest.skip("no CUDA toolkit (libnvvm + libdevice) to compile PTX with")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", CUDA_HOME=root)
    proc = subprocess.run([sys.executable, "-c", _PTX_CHILD, root], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    if proc.stdout.startswith("SKIP"):
        pytest.skip(proc.stdout)
    lines = [line.split() for line in proc.stdout.splitlines() if line.startswith("PTX")]
    assert len(lines) == 38, proc.stdout
    for _, dt, name, _, _, spills, _, f64, _, fused in lines:
        assert fused == "0", f"{name} {dt} fuses a product into a sum (the CPU rounds both)"
        # local memory in the PTX itself (local arrays); register spills under the
        # launch bounds are decided later by ptxas (see benchmarks/results/softdtw.md)
        assert spills == "0", f"{name} {dt} uses local memory"
        # exact DTW, HMM Viterbi and Drop-DTW sum in float64 by design
        if dt == "float32" and not name.startswith(("dtw_", "viterbi_", "drop_dtw")):
            assert f64 == "0", f"{name} float32 computes in float64"



# ---------------------------------------------------------------- wavefront kernels
# Tiny launch shapes (2 or 3 lanes a pair, 2 pairs a block) so that tables of a
# few dozen rows take several lanes and several passes of 8 * lanes rows, and a
# block holds pairs of different lengths (B not a multiple of the pairs a block).

SENTINEL = 7.0
LX = [40, 1, 23, 17, 9]
LY = [5, 17, 1, 12, 16]


@pytest.fixture
def wave_shape(monkeypatch):
    from align.kernels import _config

    def set_shape(lanes, pairs):
        monkeypatch.setattr(_config, "WAVE_LANES", lanes)
        monkeypatch.setattr(_config, "WAVE_PAIRS", pairs)

    return set_shape


def ragged_costs(rng, dtype, lx=LX, ly=LY, d=3):
    """Cost matrices of a ragged batch (CPU kernel), padding at the sentinel."""
    B, N, M = len(lx), max(lx), max(ly)
    x = rng.normal(size=(B, N, d)).astype(dtype)
    y = rng.normal(size=(B, M, d)).astype(dtype)
    lx, ly = np.asarray(lx, np.int64), np.asarray(ly, np.int64)
    D = np.full((B, N, M), SENTINEL, dtype)
    kcpu.pairwise_cost(x, y, lx, ly, 0, D)
    return D, lx, ly


def tables_cpu(D, lx, ly, gamma, radius):
    B, N, M = D.shape
    g = D.dtype.type(gamma)
    R = np.full((B, N + 1, M + 1), SENTINEL, D.dtype)
    out = np.zeros(B, D.dtype)
    kcpu.softdtw_forward(D, lx, ly, g, radius, R, out)
    E = np.full((B, N + 1, M + 1), SENTINEL, D.dtype)
    kcpu.softdtw_backward(D, R, lx, ly, g, E)
    return R, out, E


def tables_gpu(kgpu, D, lx, ly, gamma, radius, variant=None):
    """Forward and backward through :func:`launch`, tables prefilled with the sentinel."""
    B, N, M = D.shape
    g = D.dtype.type(gamma)
    dD, dlx, dly = cuda.to_device(D), cuda.to_device(lx), cuda.to_device(ly)
    dR = cuda.to_device(np.full((B, N + 1, M + 1), SENTINEL, D.dtype))
    dout = cuda.to_device(np.zeros(B, D.dtype))
    kgpu.launch("forward", B, N, D.dtype, variant=variant)(dD, dlx, dly, g, radius, dR, dout)
    dE = cuda.to_device(np.full((B, N + 1, M + 1), SENTINEL, D.dtype))
    kgpu.launch("backward", B, N, D.dtype, variant=variant)(dD, dR, dlx, dly, g, dE)
    return dR.copy_to_host(), dout.copy_to_host(), dE.copy_to_host()


def assert_tables_match(got, want, lx, ly, rtol, atol):
    (R, out, E), (Rc, outc, Ec) = got, want
    np.testing.assert_allclose(out, outc, rtol=rtol)
    for b, (n, m) in enumerate(zip(lx, ly)):
        np.testing.assert_allclose(R[b, : n + 1, : m + 1], Rc[b, : n + 1, : m + 1], rtol=rtol, err_msg=f"R of pair {b}")
        np.testing.assert_allclose(E[b, 1 : n + 1, 1 : m + 1], Ec[b, 1 : n + 1, 1 : m + 1], rtol=rtol, atol=atol,
                                   err_msg=f"E of pair {b}")
        # nothing outside the pair's block is written
        r_out = np.ones(R.shape[1:], bool)
        r_out[: n + 1, : m + 1] = False
        e_out = np.ones(E.shape[1:], bool)
        e_out[1 : n + 1, 1 : m + 1] = False
        assert np.all(R[b][r_out] == SENTINEL), f"R of pair {b} written outside [:n+1, :m+1]"
        assert np.all(E[b][e_out] == SENTINEL), f"E of pair {b} written outside [1:n+1, 1:m+1]"


def test_wave_same_signatures_as_cpu(kgpu):
    for dt in (np.float32, np.float64):
        assert inspect.signature(kgpu.forward_wave(dt).py_func) == inspect.signature(kcpu.softdtw_forward.py_func)
        assert inspect.signature(kgpu.backward_wave(dt).py_func) == inspect.signature(kcpu.softdtw_backward.py_func)
    assert kgpu.forward_wave(np.float32) is kgpu.forward_wave("float32")  # built once per dtype


@pytest.mark.parametrize(
    "lanes, pairs, radius",
    [(2, 2, -1), (3, 2, -1), (2, 2, 1), (3, 2, 0), (3, 3, 2)],
)
def test_wave_matches_cpu_float64(kgpu, rng, wave_shape, lanes, pairs, radius):
    wave_shape(lanes, pairs)
    D, lx, ly = ragged_costs(rng, np.float64)
    want = tables_cpu(D, lx, ly, 0.7, radius)
    got = tables_gpu(kgpu, D, lx, ly, 0.7, radius)
    assert_tables_match(got, want, lx, ly, rtol=1e-12, atol=1e-14)
    if radius == 0:  # unequal lengths: the zero-width band admits no path
        assert np.isinf(got[1][0]) and np.isinf(got[1][3])
        assert np.all(np.isfinite(got[1][[1, 2]]))  # one-row and one-column pairs always align


def test_wave_band_admits_no_path(kgpu, wave_shape):
    wave_shape(2, 2)
    D = np.full((3, 20, 18), SENTINEL)
    lx, ly = np.array([20, 3, 18]), np.array([18, 2, 18])
    for b in range(3):
        D[b, : lx[b], : ly[b]] = np.arange(lx[b] * ly[b]).reshape(lx[b], ly[b]) % 5
    R, out, E = tables_gpu(kgpu, D, lx, ly, 1.0, 0)
    assert np.isinf(out[0]) and np.isinf(out[1]) and np.isfinite(out[2])
    assert_tables_match((R, out, E), tables_cpu(D, lx, ly, 1.0, 0), lx, ly, rtol=1e-12, atol=1e-14)


def test_wave_float32_stays_float32(kgpu, rng, wave_shape):
    wave_shape(3, 2)
    D, lx, ly = ragged_costs(rng, np.float32)
    R, out, E = tables_gpu(kgpu, D, lx, ly, 0.5, -1)
    assert R.dtype == out.dtype == E.dtype == np.float32
    assert_tables_match((R, out, E), tables_cpu(D, lx, ly, 0.5, -1), lx, ly, rtol=1e-4, atol=1e-6)
    # and close to the float64 computation of the same (float32) costs
    _, out64, _ = tables_cpu(D.astype(np.float64), lx, ly, 0.5, -1)
    np.testing.assert_allclose(out, out64, rtol=1e-5)


def test_wave_matches_reference(kgpu, rng, wave_shape):
    wave_shape(2, 2)
    lx, ly = [19, 6, 33], [7, 11, 25]
    x = rng.normal(size=(3, 33, 2))
    y = rng.normal(size=(3, 25, 2))
    D = np.zeros((3, 33, 25))
    for b in range(3):
        D[b, : lx[b], : ly[b]] = cost_matrix(x[b, : lx[b]], y[b, : ly[b]])
    for radius in (None, 3):
        _, out, E = tables_gpu(kgpu, D, np.array(lx), np.array(ly), 0.6, -1 if radius is None else radius)
        for b in range(3):
            n, m = lx[b], ly[b]
            value, _, Eref = soft_dtw_tables(cost_matrix(x[b, :n], y[b, :m]), 0.6, radius)
            assert out[b] == pytest.approx(value, rel=1e-12)
            np.testing.assert_allclose(E[b, 1 : n + 1, 1 : m + 1], Eref, rtol=1e-10, atol=1e-14)


def test_wave_default_launch_shape(kgpu, rng):
    # the shape a GPU gets (32 lanes, 4 pairs a block): ragged pairs and a padding slot
    from align.kernels import _config

    assert (_config.WAVE_LANES, _config.WAVE_PAIRS) == _config._DEFAULT_WAVE
    D, lx, ly = ragged_costs(rng, np.float64, lx=[6, 1, 9], ly=[4, 5, 1])
    got = tables_gpu(kgpu, D, lx, ly, 0.3, -1)
    assert_tables_match(got, tables_cpu(D, lx, ly, 0.3, -1), lx, ly, rtol=1e-12, atol=1e-14)


def test_launch_variants_agree(kgpu, rng, wave_shape, monkeypatch):
    from align.kernels import _config

    wave_shape(2, 2)
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 3)
    D, lx, ly = ragged_costs(rng, np.float64, lx=[17, 2, 9], ly=[4, 6, 1])
    want = tables_cpu(D, lx, ly, 0.5, 2)
    for variant in (None, "wave", "shared", "global"):
        assert_tables_match(tables_gpu(kgpu, D, lx, ly, 0.5, 2, variant), want, lx, ly, rtol=1e-12, atol=1e-14)


def test_launch_configuration(kgpu, wave_shape):
    wave_shape(3, 2)
    cfg = kgpu.launch_config("backward", 5, 40, np.float32)
    assert cfg == (kgpu.backward_wave(np.float32), 3, (3, 2), 6 * 3 * 2 * 4)
    assert cfg[3] == kgpu.wave_shared_bytes("backward", 3, 2, 4)
    assert kgpu.launch_config("forward", 4, 40, np.float64, "wave")[1:] == (2, (3, 2), 2 * 3 * 2 * 8)
    shared = kgpu.launch_config("forward", 5, 40, np.float64, variant="shared")
    assert shared[0] is kgpu.forward_shared(np.float64) and shared[1] == 5 and shared[3] == 3 * 41 * 8
    assert kgpu.launch_config("backward", 5, 40, np.float64, variant="global")[0] is kgpu.softdtw_backward
    with pytest.raises(ValueError, match="variant"):
        kgpu.launch("forward", 5, 40, np.float64, variant="fast")
    with pytest.raises(ValueError, match="kind"):
        kgpu.launch("sideways", 5, 40, np.float64)
    with pytest.raises(ValueError, match="shared memory"):
        kgpu.launch("backward", 5, 4096, np.float32, variant="shared")
    wave_shape(64, 8)
    with pytest.raises(ValueError, match="WAVE_LANES"):
        kgpu.launch("forward", 5, 40, np.float32)
