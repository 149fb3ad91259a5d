"""forced_align for every backend x input kind: the numpy/CPU result, or a clear align error.

Input kinds: a numpy array, a torch CPU tensor, a torch CUDA tensor and a numba
device array. Backends: "cpu", "cuda", "auto". Each pair gives the paths and
scores of ``forced_align(numpy, backend="cpu")`` bit for bit, in the kind of
its input (torch in, torch out on the input's device; a numba device array in,
device arrays out), or raises an :class:`align.AlignError` subclass.

Without a GPU the CUDA pieces run under numba's CUDA simulator, and a torch
CUDA tensor is played by :class:`SimCudaTensor`: a CPU tensor that says it is
on ``cuda:0``, refuses ``.numpy()`` and mixing with CPU tensors (as a real one
does), and reaches the simulated kernels through a stand-in for
``numba.cuda.as_cuda_array`` that shares its memory. ``forced_align`` only
touches such a tensor through ``is_cuda``, ``device``, torch ops, ``.cpu()``,
``.to()`` and ``torch.empty`` / ``torch.zeros(device=...)``, which is what the
stand-in covers. On a real GPU (``NUMBA_ENABLE_CUDASIM=0``) real CUDA tensors
are used instead.
"""

import numpy as np
import pytest

import align
import align._backend
from align import AlignError, BackendUnavailableError, ParameterError
from align.kernels import _config

torch = pytest.importorskip("torch")

KINDS = ["numpy", "torch_cpu", "torch_cuda", "numba"]
BACKENDS = ["cpu", "cuda", "auto"]
NO_GPU_MSG = "backend='cuda' was requested \\(or the inputs are on a GPU\\) but numba-cuda finds no usable GPU"


# ---------------------------------------------------------------------------
# A torch CUDA tensor on a machine without one (only under the simulator)
# ---------------------------------------------------------------------------

SIM_DEVICE = torch.device("cuda", 0)


def _wants_cuda(device):
    return device is not None and torch.device(device).type == "cuda"


class SimCudaTensor(torch.Tensor):
    """A CPU tensor that behaves, for forced_align, as a tensor on ``cuda:0``."""

    @property
    def is_cuda(self):
        return True

    @property
    def device(self):
        return SIM_DEVICE

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name == "numpy":
            raise TypeError("can't convert cuda:0 device type tensor to numpy. "
                            "Use Tensor.cpu() to copy the tensor to host memory first.")
        values = list(args) + list(kwargs.values())
        if any(isinstance(a, torch.Tensor) and not isinstance(a, cls) and a.dim() > 0 for a in values):
            raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                               "two devices, cuda:0 and cpu!")
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
            if name == "cpu":  # a copy on the host, a plain tensor
                return torch.Tensor.clone(out).as_subclass(torch.Tensor)
        return torch._tensor._convert(out, cls)


def _sim_numpy(t):
    """The host memory behind a SimCudaTensor (what the device would hold)."""
    with torch._C.DisableTorchFunctionSubclass():
        return torch.Tensor.numpy(t)


@pytest.fixture
def cuda_device(monkeypatch):
    """The device of the "torch_cuda" kind: real CUDA, or cuda:0 played on the simulator."""
    from align import _device

    if not _device.is_simulator():
        if not torch.cuda.is_available():
            pytest.skip("numba-cuda runs on a GPU but this torch has no CUDA")
        return torch.device("cuda", torch.cuda.current_device())
    from numba import cuda
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    to, empty, zeros = torch.Tensor.to, torch.empty, torch.zeros

    def sim_to(self, *args, **kwargs):
        device = kwargs.pop("device", None)
        rest = []
        for a in args:
            if isinstance(a, (torch.device, str)):
                device = a
            else:
                rest.append(a)
        out = to(self, *rest, **kwargs) if rest or kwargs else self
        if device is None:
            return out
        if _wants_cuda(device):
            return out if isinstance(out, SimCudaTensor) else out.clone().as_subclass(SimCudaTensor)
        return out.cpu() if isinstance(out, SimCudaTensor) else out

    def factory(make):
        def sim_make(*args, device=None, **kwargs):
            if _wants_cuda(device):
                return make(*args, **kwargs).as_subclass(SimCudaTensor)
            return make(*args, device=device, **kwargs)
        return sim_make

    def as_cuda_array(obj, sync=True):
        if not isinstance(obj, SimCudaTensor):
            raise TypeError(f"{type(obj).__name__} does not have __cuda_array_interface__")
        return FakeCUDAArray(_sim_numpy(obj))

    monkeypatch.setattr(torch.Tensor, "to", sim_to)
    monkeypatch.setattr(torch, "empty", factory(empty))
    monkeypatch.setattr(torch, "zeros", factory(zeros))
    monkeypatch.setattr(cuda, "as_cuda_array", as_cuda_array, raising=False)
    return SIM_DEVICE


def test_the_stand_in_behaves_like_a_cuda_tensor(cuda_device):
    t = torch.arange(6.0).reshape(2, 3).to(cuda_device)
    assert t.is_cuda and t.device == cuda_device
    assert (t + 1).is_cuda and t.to(torch.float32).contiguous().is_cuda
    host = t.cpu()
    assert not host.is_cuda and host.numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError, match="can't convert cuda"):
        t.numpy()
    with pytest.raises(RuntimeError, match="same device"):
        t + torch.ones(2, 3)
    assert torch.empty((2,), device=cuda_device).is_cuda


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


@pytest.fixture
def small_blocks(monkeypatch):
    # tiny inputs span several blocks under the simulator
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 4)


def _batch(rng, dtype):
    B, T, C, L = 3, 13, 5, 4
    log_probs = -rng.integers(0, 3, size=(B, T, C)).astype(dtype)  # integer values: exact ties
    targets = rng.integers(1, C, size=(B, L)).astype(np.int32)
    targets[1, 1] = targets[1, 0]  # a repeat
    return log_probs, targets, np.array([13, 11, 9]), np.array([4, 3, 2])


def _as_kind(kind, a, cuda_device):
    if kind == "numpy":
        return a
    if kind == "torch_cpu":
        return torch.from_numpy(a)
    if kind == "torch_cuda":
        return torch.from_numpy(a).to(cuda_device)
    from numba import cuda

    return cuda.to_device(a)


def _host(x):
    if isinstance(x, torch.Tensor):
        return x.cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    return x.copy_to_host()


def _assert_kind(kind, out, cuda_device):
    if kind == "numpy":
        assert isinstance(out, np.ndarray)
    elif kind == "torch_cpu":
        assert isinstance(out, torch.Tensor) and not out.is_cuda and out.device == torch.device("cpu")
    elif kind == "torch_cuda":
        assert isinstance(out, torch.Tensor) and out.is_cuda and out.device == cuda_device
    else:
        assert not isinstance(out, (np.ndarray, torch.Tensor)) and hasattr(out, "copy_to_host")


def expected(kind, backend, gpu):
    """``None`` (the reference result) or the error a pair must raise."""
    needs_gpu = backend == "cuda" or (backend == "auto" and kind in ("torch_cuda", "numba"))
    return BackendUnavailableError if needs_gpu and not gpu else None


@pytest.mark.cuda
@pytest.mark.parametrize("gpu", [True, False], ids=["gpu", "no-gpu"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_backend_and_input_kind(rng, small_blocks, cuda_device, monkeypatch, kind, backend, gpu,
                                      dtype):
    log_probs, targets, in_len, tg_len = _batch(rng, dtype)
    want = align.forced_align(log_probs, targets, in_len, tg_len, backend="cpu")
    lp, tg = (_as_kind(kind, a, cuda_device) for a in (log_probs, targets))
    if not gpu:  # numba-cuda finds no GPU (a torch CUDA tensor can still exist: torch has its own)
        monkeypatch.setattr(align._backend, "cuda_available", lambda: False)
    error = expected(kind, backend, gpu)
    if error is not None:
        with pytest.raises(error, match=NO_GPU_MSG):
            align.forced_align(lp, tg, in_len, tg_len, backend=backend)
        return
    paths, scores = align.forced_align(lp, tg, in_len, tg_len, backend=backend)
    for got, ref in zip((paths, scores), want):
        _assert_kind(kind, got, cuda_device)
        host = _host(got)
        assert host.dtype == ref.dtype and host.shape == ref.shape
        assert host.tobytes() == ref.tobytes()


@pytest.mark.cuda
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_float16_follows_the_input(small_blocks, cuda_device, kind, backend):
    # float16 is accumulated in float32 and handed back as float16, on every path
    log_probs = np.log(np.array([[[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]]]))
    log_probs = log_probs.astype(np.float16)
    targets = np.array([[1, 2]])
    want = align.forced_align(log_probs, targets, backend="cpu")
    paths, scores = align.forced_align(_as_kind(kind, log_probs, cuda_device), targets, backend=backend)
    _assert_kind(kind, scores, cuda_device)
    assert _host(paths).tolist() == [[0, 1, 0, 2]] == want[0].tolist()
    assert _host(scores).dtype == np.float16 and _host(scores).tobytes() == want[1].tobytes()


@pytest.mark.cuda
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_errors_are_the_same_for_every_pair(cuda_device, kind, backend):
    log_probs = np.zeros((2, 6, 3), dtype=np.float32)
    log_probs[1, 4, 2] = np.nan
    with pytest.raises(ParameterError, match="found nan at batch index 1, frame 4, class 2"):
        align.forced_align(_as_kind(kind, log_probs, cuda_device), np.array([[1, 2], [2, 1]]), backend=backend)
    with pytest.raises(align.InfeasibleAlignmentError, match="at batch index 0"):
        align.forced_align(_as_kind(kind, log_probs[:1, :2], cuda_device), np.array([[1, 1]]), backend=backend)
    with pytest.raises(ParameterError, match="backend='tpu' is not supported"):
        align.forced_align(_as_kind(kind, log_probs, cuda_device), np.array([[1], [2]]), backend="tpu")


@pytest.mark.cuda
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_errors_ignore_marks_infeasible_items_and_aligns_the_rest(rng, cuda_device, kind, backend):
    # item 0 aligns; item 1 is too short for its targets (T=2 < L + R = 3); item 2 has
    # -inf on every path (class 2 impossible everywhere, and its targets need it)
    log_probs = np.log(rng.dirichlet(np.ones(3), size=(3, 6))).astype(np.float32)
    log_probs[2, :, 2] = -np.inf
    targets = np.array([[1, 2], [1, 1], [2, 1]])
    in_len, tg_len = np.array([6, 2, 5]), np.array([2, 2, 2])
    if expected(kind, backend, gpu=True) is not None:
        return  # the table test covers the pairs that raise
    with pytest.raises(align.InfeasibleAlignmentError, match="batch index 1"):
        align.forced_align(_as_kind(kind, log_probs, cuda_device), targets, in_len, tg_len, backend=backend)
    paths, scores = align.forced_align(_as_kind(kind, log_probs, cuda_device), targets, in_len, tg_len,
                                       errors="ignore", backend=backend)
    _assert_kind(kind, paths, cuda_device)
    _assert_kind(kind, scores, cuda_device)
    paths, scores = _host(paths), _host(scores)
    alone = align.forced_align(log_probs[:1], targets[:1], backend="cpu")
    assert paths[0].tobytes() == alone[0][0].tobytes() and scores[0].tobytes() == alone[1][0].tobytes()
    for b in (1, 2):
        assert (paths[b] == -1).all()
        assert np.isneginf(scores[b, : in_len[b]]).all() and (scores[b, in_len[b]:] == 0).all()
    assert paths.dtype == targets.dtype and scores.dtype == np.float32
    with pytest.raises(ParameterError, match="errors='skip' is not supported"):
        align.forced_align(log_probs, targets, in_len, tg_len, errors="skip")


def test_errors_are_align_errors():
    assert issubclass(BackendUnavailableError, AlignError) and issubclass(ParameterError, AlignError)


def test_expected_table():
    # the outcomes the table test checks, written out
    table = {(k, b): expected(k, b, gpu=False) for k in KINDS for b in BACKENDS}
    raising = sorted(pair for pair, err in table.items() if err is BackendUnavailableError)
    assert raising == [("numba", "auto"), ("numba", "cuda"), ("numpy", "cuda"),
                       ("torch_cpu", "cuda"), ("torch_cuda", "auto"), ("torch_cuda", "cuda")]
    assert all(expected(k, b, gpu=True) is None for k in KINDS for b in BACKENDS)
