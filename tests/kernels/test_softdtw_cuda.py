"""CUDA soft-DTW kernels (under the simulator here) against the CPU kernels and the paper's tables."""

import inspect

import numpy as np
import pytest
from numba import cuda

from align.kernels import softdtw as kcpu
from tests.reference.softdtw import cost_matrix, soft_dtw_tables

pytestmark = pytest.mark.skipif(not cuda.is_available(), reason="no CUDA device or simulator")

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
    kgpu.pairwise_cost[2, THREADS](dx, dy, dlx, dly, metric, dD)
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
import glob, os, sys
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
        (dtw_cuda.dtw_batch, f"void({dt}[:, ::1], {dt}[:, ::1], int64[::1], int64[::1], float64[:, ::1], float64[::1])"),
        (s.pairwise_cost, f"void({A3}, {A3}, int64[::1], int64[::1], int64, {A3})"),
        (s.softdtw_forward, f"void({A3}, int64[::1], int64[::1], {dt}, int64, {A3}, {dt}[::1])"),
        (s.softdtw_backward, f"void({A3}, {A3}, int64[::1], int64[::1], {dt}, {A3})"),
        (s.forward_shared(dt), f"void({A3}, int64[::1], int64[::1], {dt}, int64, {A3}, {dt}[::1])"),
        (s.backward_shared(dt), f"void({A3}, {A3}, int64[::1], int64[::1], {dt}, {A3})"),
    ]
    for kernel, sig in sigs:
        # the launch bounds the real build uses (none for dtw_batch)
        bounds = kernel.targetoptions.get("launch_bounds") if hasattr(kernel, "targetoptions") else None
        if kernel is not dtw_cuda.dtw_batch:
            bounds = s.MAX_THREADS
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0), launch_bounds=bounds)
        name = kernel.py_func.__name__
        spills = ptx.count("st.local")
        f64 = sum(ptx.count(op) for op in ("add.f64", "mul.f64", "fma.rn.f64", "ex2.approx.f64"))
        print("PTX", dt, name, len(ptx), "spills", spills, "f64ops", f64)
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
    assert len(lines) == 12, proc.stdout
    for _, dt, name, _, _, spills, _, f64 in lines:
        # local memory in the PTX itself (local arrays); register spills under the
        # launch bounds are decided later by ptxas (see benchmarks/results/softdtw.md)
        assert spills == "0", f"{name} {dt} uses local memory"
        if dt == "float32" and name != "dtw_batch":  # dtw_batch sums in float64 by design
            assert f64 == "0", f"{name} float32 computes in float64"
