"""Batched CUDA exact DTW (under the simulator here) against independent references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from tests.reference.dtw import dtw_brute_force, dtw_full
from tests.reference.softdtw import dtw_1d

# no device: a skip, or a failure where a GPU is required (tests/conftest.py: cuda_action)
pytestmark = pytest.mark.cuda


#: the kernels under test: one thread per pair, and the wavefront kernel with
#: (lanes per pair, pairs per block) small enough that the tables below take
#: several 8-row-per-lane passes and a block holds pairs of different lengths;
#: its warp-shuffle build needs 32 lanes (one warp a pair)
#: the distance builds of the wave kernel never touch their ``dirs`` argument
NO_DIRS = np.zeros((1, 1, 1), np.uint8)

KERNELS = {"thread": None, "wave-2x3": (2, 3), "wave-1x2": (1, 2), "wave-shfl": (32, 2)}


def _fake_shfl_up_sync(self, mask, value, delta):
    # the simulator has no warp shuffles: a stand-in with the same result, built
    # on its block barrier (the kernel's loops are uniform over the block, so
    # every thread arrives); lanes below ``delta`` keep their own value, as on a device
    import threading

    thread = threading.current_thread()
    board = thread._manager.__dict__.setdefault("_fake_shuffle_board", {})
    thread.syncthreads()  # everyone has read the previous exchange
    board[thread.thread_id] = value
    thread.syncthreads()
    lane = thread.thread_id % 32
    return board[thread.thread_id - delta] if lane >= delta else value


def _fake_syncwarp(self, mask=0xFFFFFFFF):
    import threading

    threading.current_thread().syncthreads()


@pytest.fixture(scope="module")
def simulated_shuffles():
    """Give the simulator warp shuffles (``shfl_up_sync``, ``syncwarp``) for the module's tests."""
    try:  # the stand-in leans on the simulator's thread objects
        from numba.cuda.simulator import kernel as sim_kernel
        from numba.cuda.simulator import kernelapi
    except ImportError:
        pytest.skip("no numba CUDA simulator to add shuffles to")
    if not (hasattr(sim_kernel.BlockThread, "syncthreads") and hasattr(kernelapi, "FakeCUDAModule")):
        pytest.skip("this numba-cuda simulator has another layout; the shuffle stand-in does not fit it")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernelapi.FakeCUDAModule, "shfl_up_sync", _fake_shfl_up_sync, raising=False)
        mp.setattr(kernelapi.FakeCUDAModule, "syncwarp", _fake_syncwarp, raising=False)
        yield


@pytest.fixture(scope="module", params=list(KERNELS))
def kernel(request):
    if request.param == "wave-shfl":
        request.getfixturevalue("simulated_shuffles")
    return request.param


def launch(kernel, x, y, lx, ly, threads=3):
    from align.kernels import dtw_cuda

    B = x.shape[0]
    M = y.shape[1]
    work = cuda.to_device(np.full((M, B), np.nan))  # its content on entry must not matter
    out = cuda.to_device(np.full(B, -1.0))
    args = [cuda.to_device(np.ascontiguousarray(a)) for a in (x, y, np.asarray(lx, np.int64), np.asarray(ly, np.int64))]
    if KERNELS[kernel] is None:
        dtw_cuda.dtw_batch[(B + threads - 1) // threads, threads](*args, out, work)
    elif kernel == "wave-shfl":
        lanes, pairs = KERNELS[kernel]
        dtw_cuda.dtw_wave_shfl[(B + pairs - 1) // pairs, (lanes, pairs)](*args, out, NO_DIRS, work)
    else:
        lanes, pairs = KERNELS[kernel]
        nbytes = dtw_cuda.wave_shared_bytes(lanes, pairs)
        dtw_cuda.dtw_wave[(B + pairs - 1) // pairs, (lanes, pairs), 0, nbytes](*args, out, NO_DIRS, work)
    return out.copy_to_host()


@pytest.mark.parametrize("which", ["wave-shfl", "wave-1x2"])
def test_wave_kernels_over_several_passes_of_32_lanes(rng, simulated_shuffles, which):
    # 32 lanes cover 256 rows a pass: 300 rows take two passes, 256 exactly one
    x = rng.normal(size=(3, 300))
    y = rng.normal(size=(3, 5))
    lx, ly = [300, 256, 257], [5, 3, 1]
    got = launch(which if which == "wave-shfl" else "wave-1x2", x, y, lx, ly)
    np.testing.assert_array_equal(got, [dtw_1d(x[b, : lx[b]], y[b, : ly[b]]) for b in range(3)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_reference_bit_for_bit(kernel, rng, dtype):
    # lengths around the 8-row strips and the passes of the wave kernel: 1, 7, 8, 9, 16, 17 rows
    B = 7
    x = rng.normal(size=(B, 17)).astype(dtype)
    y = rng.normal(size=(B, 11)).astype(dtype)
    lx = [1, 7, 8, 9, 17, 3, 16]
    ly = [1, 11, 2, 1, 11, 5, 9]
    got = launch(kernel, x, y, lx, ly)
    want = [dtw_1d(x[b, : lx[b]], y[b, : ly[b]]) for b in range(B)]
    np.testing.assert_array_equal(got, want)


def test_ties_and_repeated_values(kernel):
    # integer-valued sequences give many equal candidates (ties) at every step
    x = np.array([[0, 1, 1, 2, 2, 2, 1, 0, 0, 1], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]], dtype=np.float64)
    y = np.array([[0, 2, 1, 1, 2, 0, 0], [3, 3, 3, 3, 3, 3, 3]], dtype=np.float64)
    got = launch(kernel, x, y, [10, 10], [7, 7], threads=1)
    np.testing.assert_array_equal(got, [dtw_1d(x[0], y[0]), 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_agrees_with_cpu_dtw(kernel, rng, dtype):
    import align

    if kernel == "wave-shfl":
        pytest.skip("the simulated shuffle is slow; the bit-for-bit test covers this build")

    B, N, M = 5, 10, 9
    x = rng.normal(size=(B, N)).astype(dtype)
    y = rng.normal(size=(B, M)).astype(dtype)
    lx = np.array([10, 4, 9, 1, 8])
    ly = np.array([9, 9, 2, 5, 1])
    got = launch(kernel, x, y, lx, ly)
    # the CPU's exact kernels (align.dtw) round as the GPU does: neither fuses the
    # square into the sum (the CPU compiles them without contraction, the GPU writes
    # the square as fma(d, d, +0)), so the bits are the same
    exact = [align.dtw(x[b, : lx[b]], y[b, : ly[b]]).distance for b in range(B)]
    np.testing.assert_array_equal(got, exact)
    # the CPU twin (same arguments, less the scratch) gives the same bits
    from align.kernels.dtw import dtw_batch as cpu_twin

    twin = np.full(B, np.nan)
    cpu_twin(x, y, lx, ly, twin)
    np.testing.assert_array_equal(got, twin)
    # dtw_distance's wavefront fast path may fuse multiply-adds (its documented
    # precision): equal to the last bit or one away
    fast = [align.dtw_distance(x[b, : lx[b]], y[b, : ly[b]], metric="sqeuclidean") for b in range(B)]
    np.testing.assert_allclose(got, fast, rtol=4 * np.finfo(np.float64).eps)


@pytest.mark.parametrize("which", ["wave", "shfl", "thread"])
def test_host_launcher(rng, monkeypatch, simulated_shuffles, which):
    from align.sequence import dtw_cuda as _cuda
    from align.kernels import _config

    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 2)
    monkeypatch.setattr(_config, "WAVE_LANES", 1)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)
    x = rng.normal(size=(3, 12))
    y = rng.normal(size=(3, 6))
    got = _cuda.dtw_batch(x, y, np.array([12, 2, 9]), np.array([6, 6, 1]), kernel=which)
    want = [dtw_1d(x[0], y[0]), dtw_1d(x[1, :2], y[1]), dtw_1d(x[2, :9], y[2, :1])]
    np.testing.assert_array_equal(got, want)
    assert _cuda.dtw_batch(np.zeros((0, 4)), np.zeros((0, 3)), kernel=which).shape == (0,)


def test_host_launcher_rejects_unknown_kernel():
    from align.sequence import dtw_cuda as _cuda

    with pytest.raises(ValueError, match="kernel must be 'wave', 'shfl' or 'thread', got 'warp'"):
        _cuda.dtw_batch(np.zeros((1, 4)), np.zeros((1, 3)), kernel="warp")


def test_wave_kernel_leaves_padding_and_other_pairs_alone(rng):
    # 5 pairs in blocks of 2: the last block has a thread slot past the batch
    from align.kernels import dtw_cuda

    x = rng.normal(size=(5, 20))
    y = rng.normal(size=(5, 7))
    lx, ly = np.array([20, 3, 17, 1, 9]), np.array([7, 1, 4, 7, 2])
    want = [dtw_1d(x[b, : lx[b]], y[b, : ly[b]]) for b in range(5)]
    x[:, 17:] = np.nan  # padding past a length is never read into a valid cell...
    x[0, 17:] = rng.normal(size=3)
    want[0] = dtw_1d(x[0], y[0])
    out = cuda.to_device(np.full(6, -1.0))  # ...and nothing is written past the batch
    args = [cuda.to_device(a) for a in (x, y, lx, ly)]
    work = cuda.to_device(np.zeros((7, 5)))
    dtw_cuda.dtw_wave[3, (1, 2), 0, dtw_cuda.wave_shared_bytes(1, 2)](*args, out[:5], NO_DIRS, work)
    got = out.copy_to_host()
    np.testing.assert_array_equal(got[:5], want)
    assert got[5] == -1.0


# ---------------------------------------------------------------- benchmarks/gpu/run.py's checks


@pytest.fixture(scope="module")
def gpu_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "run.py"
    spec = importlib.util.spec_from_file_location("fusealign_gpu_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_script_checks_pass_on_tiny_inputs(gpu_script, monkeypatch, simulated_shuffles):
    from align.kernels import _config

    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 3)
    for dtype in (np.float32, np.float64):
        for kernel in ("wave", "thread", "shfl") if dtype == np.float64 else ("wave", "thread"):
            ok, msg = gpu_script.check_dtw(5, 9, 10, dtype, seed=1, threads=2, kernel=kernel)
            assert ok and "bit-identical 5/5" in msg and f"dtw {kernel} kernel" in msg, msg
    monkeypatch.setattr(_config, "WAVE_LANES", 1)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)
    ok, msg = gpu_script.check_dtw_path(5, 11, 6, np.float32, seed=3, exact_pairs=5)
    assert ok and "paths equal to align.dtw 5/5" in msg, msg
    ok, msg = gpu_script.check_dtw_batch_api(3, 10, 7, 2, np.float64, "euclidean", seed=4)
    assert ok and "paths equal 3/3" in msg, msg
    monkeypatch.setattr(_config, "WAVE_LANES", 32)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 4)
    ok, msg = gpu_script.check_softdtw(2, 4, 5, 2, np.float64, seed=2, radius=1)
    assert ok, msg
    ok, msg = gpu_script.check_softdtw(2, 5, 3, 1, np.float32, seed=3)
    assert ok, msg
    for variant, lanes, pairs in (("wave", 2, 2), ("old", None, None), ("global", None, None)):
        with gpu_script.softdtw_variant(variant, lanes, pairs, threads=3):
            ok, msg = gpu_script.check_softdtw(3, 19, 6, 2, np.float64, seed=4)
        assert ok, msg
    assert _config.WAVE_LANES == 32 and _config.THREADS_PER_BLOCK == 256  # restored on exit


def test_gpu_script_softdtw_variant_routes_the_api(gpu_script, monkeypatch):
    from align.kernels import softdtw_cuda

    seen = []
    real = softdtw_cuda.launch_config
    monkeypatch.setattr(softdtw_cuda, "launch_config", lambda *a: seen.append(a[-1]) or real(*a))
    for variant in ("wave", "old", "global"):
        with gpu_script.softdtw_variant(variant, 2, 2, threads=3):
            gpu_script.check_softdtw(2, 4, 5, 1, np.float64, seed=5)
    assert seen == ["wave", "wave", "shared", "shared", "global", "global"]


def test_gpu_script_cpu_reference_and_torch_peers(gpu_script, rng):
    pytest.importorskip("torch")
    x = rng.normal(size=(3, 6)).astype(np.float32)
    y = rng.normal(size=(3, 4)).astype(np.float32)
    lx = np.array([6, 2, 5])
    ly = np.array([4, 4, 1])
    out = np.empty(3)
    gpu_script.cpu_dtw_batch(x, y, lx, ly, out)
    np.testing.assert_array_equal(out, [dtw_1d(x[b, : lx[b]], y[b, : ly[b]]) for b in range(3)])
    ok, msg = gpu_script.check_torch_peer("cpu")
    assert ok, msg


def test_gpu_script_dtw_launchers(gpu_script, rng, monkeypatch, simulated_shuffles):
    monkeypatch.setattr(gpu_script, "WAVE_SHAPES_QUICK", ((2, 2),))
    monkeypatch.setattr(gpu_script, "SHFL_PAIRS_QUICK", (1,))
    x = rng.normal(size=(3, 9))
    y = rng.normal(size=(3, 4))
    lx, ly = np.array([9, 2, 5]), np.array([4, 4, 1])
    args = [cuda.to_device(a) for a in (x, y, lx, ly)]
    work = cuda.to_device(np.zeros((4, 3)))
    out = cuda.to_device(np.zeros(3))
    want = [dtw_1d(x[b, : lx[b]], y[b, : ly[b]]) for b in range(3)]
    labels = []
    for label, run in gpu_script.dtw_launchers(*args, work, out, quick=True):
        out.copy_to_device(np.full(3, np.nan))
        run()
        np.testing.assert_array_equal(out.copy_to_host(), want, err_msg=label)
        labels.append(label)
    assert labels == ["ours CUDA dtw_wave, 2 lanes x 2 pairs/block", "ours CUDA dtw_wave_shfl, 32 lanes x 1 pairs/block",
                      "ours CUDA dtw_batch, 32 threads/block"]


def test_gpu_script_table_ratios(gpu_script, capsys):
    table = gpu_script.Table()
    table.add("w", "ours", 0.002, 4e9, ours=True)
    table.add("w", "peer", 0.010, 4e9)
    table.print()
    out = capsys.readouterr().out
    assert "| w | peer | 10.000 | 400.00 | 5.00 |" in out
    assert gpu_script.median_time(lambda: None, lambda: None, repeat=3) >= 0.0


def test_gpu_script_benchmarks_smoke(gpu_script, capsys, monkeypatch, simulated_shuffles):
    """The timing code paths at toy sizes (simulated CUDA kernels, torch on the CPU)."""
    pytest.importorskip("torch")
    # small launch shapes keep the simulator quick
    monkeypatch.setattr(gpu_script, "WAVE_SHAPES_QUICK", ((2, 2), (1, 4)))
    monkeypatch.setattr(gpu_script, "SHFL_PAIRS_QUICK", ())  # its label: see the launcher test below
    monkeypatch.setattr(gpu_script, "SOFTDTW_SHAPES_QUICK", ((2, 2),))
    monkeypatch.setattr(gpu_script, "LONG_SHAPES", ((2, 1),))
    from align.kernels import _config

    monkeypatch.setattr(_config, "WAVE_LANES", 2)  # the API's launches (feature sequences, paths)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)
    table = gpu_script.Table()
    gpu_script.bench_dtw(table, True, B=6, N=5, M=4, device="cpu", repeat=1)
    gpu_script.bench_softdtw(table, True, B=2, N=5, d=2, long_n=6, device="cpu", repeat=1)
    table.print()
    out = capsys.readouterr().out
    assert "| dtw 6x(5,4) float32 | ours CUDA dtw_batch, 32 threads/block |" in out
    assert "| dtw path 6x(5,4) float32 | ours CUDA dtw_wave_path + dtw_traceback (distance and path) |" in out
    assert "| dtw path 1x(5,4,d=13) float32 | ours CUDA feature_wave path + traceback (to host lists) |" in out
    assert "| dtw 6x(5,4) float64 | ours CUDA dtw_wave, 2 lanes x 2 pairs/block |" in out
    assert "| dtw 6x(<=5,<=4) float32 var-len | ours CUDA dtw_wave, 1 lanes x 4 pairs/block |" in out
    assert "FAILED" not in out
    assert "peer: plain torch anti-diagonal soft-DTW + autograd on cpu" in out
    assert "softdtw fwd+bwd 1x(6,6,d=2) float32" in out


_NOT_INSTALLED = r"""
import sys, importlib.util
# hide the editable install, as on a GPU machine that only has a copy of the tree
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
# keep site-packages even when the virtual environment lives inside the repository (CI)
sys.path[:] = [p for p in sys.path if "__editable__" not in p and p not in ("", ".") and p.rstrip("/") != sys.argv[1]]
for name in [n for n in sys.modules if n == "align" or n.startswith("align.")]:
    del sys.modules[name]
try:
    import align
    print("INSTALLED", align.__file__)
except ImportError:
    pass
spec = importlib.util.spec_from_file_location("run", sys.argv[1] + "/benchmarks/gpu/run.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import align.kernels.softdtw
print("OK", align.kernels.softdtw.__file__, sys.modules["align.kernels"] is align.kernels)
"""


def test_gpu_script_maps_kernels_without_install():
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", _NOT_INSTALLED, repo], capture_output=True, text=True,
                          cwd="/", env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1"), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if "INSTALLED" in proc.stdout:
        pytest.skip("the package is installed in a way this test cannot hide")
    assert f"OK {repo}/kernels/softdtw.py True" in proc.stdout, proc.stdout


@settings(max_examples=15, deadline=None)
@given(
    lens=st.lists(st.tuples(st.integers(1, 11), st.integers(1, 6)), min_size=1, max_size=3),
    seed=st.integers(0, 2**31 - 1),
    small_ints=st.booleans(),
)
def test_property_equals_reference(kernel, lens, seed, small_ints):
    if kernel == "wave-shfl":
        pytest.skip("the simulated shuffle is slow; the shared-memory build runs the same source")
    r = np.random.default_rng(seed)
    B = len(lens)
    if small_ints:  # few distinct values: many exact ties between predecessors
        x = r.integers(0, 3, size=(B, 11)).astype(np.float64)
        y = r.integers(0, 3, size=(B, 6)).astype(np.float64)
    else:
        x = r.normal(size=(B, 11))
        y = r.normal(size=(B, 6))
    lx = [a for a, _ in lens]
    ly = [b for _, b in lens]
    got = launch(kernel, x, y, lx, ly, threads=2)
    np.testing.assert_array_equal(got, [dtw_1d(x[b, : lx[b]], y[b, : ly[b]]) for b in range(B)])


def test_gpu_script_table_counts_failures(gpu_script, capsys):
    table = gpu_script.Table()

    def refused():
        raise RuntimeError("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES")

    table.attempt("w", "ours, 1024 threads/block", refused, 10, ours=True)
    table.attempt("w", "ours, 256 threads/block", lambda: 0.5, 10, ours=True)
    assert table.failures == 1 and len(table.rows) == 1
    assert "FAILED: RuntimeError('CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES')" in capsys.readouterr().out


# ---------------------------------------------------------------- paths: dtw_wave_path + dtw_traceback


def launch_path(x, y, lx, ly, lanes=2, pairs=3, threads=2):
    from align.kernels import dtw_cuda

    B, N = x.shape
    M = y.shape[1]
    args = [cuda.to_device(np.ascontiguousarray(a)) for a in (x, y, np.asarray(lx, np.int64), np.asarray(ly, np.int64))]
    work = cuda.to_device(np.full((M, B), np.nan))
    out = cuda.to_device(np.full(B, -1.0))
    dirs = cuda.to_device(np.full((B, N, M), 9, np.uint8))  # 9: no direction code
    dtw_cuda.dtw_wave_path[(B + pairs - 1) // pairs, (lanes, pairs), 0, dtw_cuda.wave_shared_bytes(lanes, pairs)](
        *args, out, dirs, work
    )
    path = cuda.to_device(np.full((B, N + M - 1, 2), -1, np.int64))
    plen = cuda.to_device(np.zeros(B, np.int64))
    dtw_cuda.dtw_traceback[(B + threads - 1) // threads, threads](dirs, args[2], args[3], path, plen)
    rev, k = path.copy_to_host(), plen.copy_to_host()
    return out.copy_to_host(), [rev[b, : k[b]][::-1].tolist() for b in range(B)], dirs.copy_to_host()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_path_kernel_equals_reference_ties_included(rng, dtype):
    # small integers: many exactly tied predecessors; 19 rows take three passes of 8
    B = 5
    x = rng.integers(0, 3, size=(B, 19)).astype(dtype)
    y = rng.integers(0, 3, size=(B, 7)).astype(dtype)
    lx, ly = [19, 1, 9, 17, 4], [7, 7, 1, 3, 5]
    dist, paths, dirs = launch_path(x, y, lx, ly)
    for b in range(B):
        want_d, want_path, _ = dtw_full(x[b, : lx[b]], y[b, : ly[b]])
        assert dist[b] == want_d
        assert paths[b] == [list(c) for c in want_path], b
        # direction codes inside the lengths only
        assert np.all(dirs[b, : lx[b], : ly[b]] < 3) and np.all(dirs[b, lx[b]:, :] == 9)
        assert np.all(dirs[b, :, ly[b]:] == 9)


def test_path_kernel_optimal_by_brute_force(rng):
    x = rng.normal(size=(4, 5))
    y = rng.normal(size=(4, 4))
    lx, ly = [5, 4, 3, 1], [4, 4, 2, 3]
    dist, paths, _ = launch_path(x, y, lx, ly, lanes=1, pairs=2)
    for b in range(4):
        best = dtw_brute_force(x[b, : lx[b]], y[b, : ly[b]])
        np.testing.assert_allclose(dist[b], best, rtol=1e-12)
        cost = sum((x[b, i] - y[b, j]) ** 2 for i, j in paths[b])
        np.testing.assert_allclose(cost, best, rtol=1e-12)


def test_host_path_launcher_equals_cpu_dtw(rng, monkeypatch):
    import align
    from align.sequence import dtw_cuda as _cuda
    from align.kernels import _config

    monkeypatch.setattr(_config, "WAVE_LANES", 1)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 2)
    x = rng.integers(-1, 2, size=(3, 12)).astype(np.float32)
    y = rng.integers(-1, 2, size=(3, 6)).astype(np.float32)
    lx, ly = np.array([12, 2, 9]), np.array([6, 6, 1])
    dist, paths = _cuda.dtw_batch_path(x, y, lx, ly)
    for b in range(3):
        r = align.dtw(x[b, : lx[b]], y[b, : ly[b]])
        assert dist[b] == r.distance
        np.testing.assert_array_equal(paths[b], r.path)
    assert _cuda.dtw_batch_path(np.zeros((0, 4)), np.zeros((0, 3)))[1] == []


def test_path_kernel_prefers_vertical_to_horizontal_on_ties():
    # here the vertical and horizontal candidates tie below the diagonal on the best
    # path; swapping their order would give [[0,0],[1,0],[2,0],[3,1],[4,2],[4,3]]
    x = np.array([[0.0, 0.0, 1.0, 2.0, 0.0]])
    y = np.array([[1.0, 1.0, 0.0, 1.0]])
    dist, paths, _ = launch_path(x, y, [5], [4], lanes=1, pairs=1)
    want_d, want_path, _ = dtw_full(x[0], y[0])
    assert paths[0] == [list(c) for c in want_path] == [[0, 0], [0, 1], [1, 2], [2, 3], [3, 3], [4, 3]]
    assert dist[0] == want_d


def test_wave_shape_fits_the_lanes_to_the_rows(monkeypatch):
    from align.sequence import dtw_cuda as _cuda
    from align.kernels import _config

    monkeypatch.setattr(_config, "WAVE_LANES", 32)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 4)
    assert _cuda._wave_shape(256) == (32, 4)
    assert _cuda._wave_shape(1000) == (32, 4)  # several passes
    assert _cuda._wave_shape(32) == (4, 32)  # 4 lanes of 8 rows, same 128 threads a block
    assert _cuda._wave_shape(33) == (8, 16)
    assert _cuda._wave_shape(1) == (1, 128)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 64)
    with pytest.raises(ValueError, match="WAVE_LANES \\* WAVE_PAIRS must be in 1..1024, got 32 \\* 64"):
        _cuda._wave_shape(10)


def test_host_launchers_with_fitted_shapes_and_no_scratch(rng, monkeypatch):
    # 3 lanes x 2 pairs configured; 5-row tables get 1 lane x 6 pairs and no pass row
    from align.sequence import dtw_cuda as _cuda
    from align.kernels import _config

    monkeypatch.setattr(_config, "WAVE_LANES", 3)
    monkeypatch.setattr(_config, "WAVE_PAIRS", 2)
    x = rng.integers(-1, 2, size=(7, 5)).astype(np.float64)
    y = rng.integers(-1, 2, size=(7, 4)).astype(np.float64)
    lx, ly = np.array([5, 1, 3, 5, 2, 4, 5]), np.array([4, 4, 1, 2, 3, 4, 1])
    want = [align_dtw(x[b, : lx[b]], y[b, : ly[b]]) for b in range(7)]
    np.testing.assert_array_equal(_cuda.dtw_batch(x, y, lx, ly), [w.distance for w in want])
    dist, paths = _cuda.dtw_batch_path(x, y, lx, ly)
    np.testing.assert_array_equal(dist, [w.distance for w in want])
    for got, w in zip(paths, want):
        np.testing.assert_array_equal(got, w.path)


def align_dtw(x, y):
    import align

    return align.dtw(x, y)
