"""Launch helpers shared by every numba-cuda host launcher (imported only when CUDA is used).

- :func:`is_simulator`: whether numba runs CUDA kernels in its Python simulator.
- :func:`as_device`: a numba device array for a torch CUDA tensor (a zero-copy
  view through ``__cuda_array_interface__``), a numba device array (as is), or
  a host array (copied to the device).
- :func:`empty` / :func:`zeros`: output buffers on the device, as torch tensors
  when the inputs are torch tensors (so results stay torch tensors, on the
  caller's device and stream) and as numba device arrays otherwise.
- :func:`threads_per_block`: the launch block size; read from
  :mod:`align.kernels._config` at call time (kernels never read it).
- :func:`stream_for`: the numba stream that matches torch's current stream.
- :func:`default_threads`: the block size of the block-per-utterance kernels
  (CTC, HMM Viterbi).
- :func:`on_torch_cuda` / :func:`np_dtype`: what kind of input a launcher got.

Every host launcher (``align/*/..._cuda.py``, one beside the CPU driver of its
algorithm) builds its buffers and streams with these, so torch and numba
inputs are handled one way. numba.cuda is imported lazily, so CPU-only use
never needs numba-cuda.
"""

import numpy as np

from ._validation import is_torch_tensor

# numba-cuda 0.30.4 registers an overload for np.row_stack when its CUDA typing
# loads (numba/cuda/np/arrayobj.py), and numpy 2.5 removed that alias of
# np.vstack: put it back before any CUDA code path imports numba.cuda.
if not hasattr(np, "row_stack"):  # pragma: no cover - numpy >= 2.5 only
    np.row_stack = np.vstack

__all__ = [
    "is_simulator",
    "as_device",
    "empty",
    "zeros",
    "threads_per_block",
    "stream_for",
    "default_threads",
    "on_torch_cuda",
    "np_dtype",
    "cuda_module",
]


def is_simulator():
    """Return True if numba-cuda runs kernels in its CPU simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    from numba import config

    return bool(getattr(config, "ENABLE_CUDASIM", False))


def cuda_module():
    """``numba.cuda``, imported on first use."""
    from numba import cuda

    return cuda


def on_torch_cuda(x):
    """Whether ``x`` is a torch tensor on a CUDA device."""
    return is_torch_tensor(x) and x.is_cuda


def np_dtype(x):
    """The numpy dtype of a numpy array, numba device array or torch tensor."""
    if is_torch_tensor(x):
        return np.dtype(str(x.dtype).replace("torch.", ""))
    return np.dtype(x.dtype)


def as_device(a):
    """A numba device array holding ``a``, without a copy when ``a`` already lives on the GPU.

    Parameters
    ----------
    a : np.ndarray, array_like, numba device array, or torch.Tensor
        A contiguous torch CUDA tensor is shared, not copied
        (``numba.cuda.as_cuda_array`` through ``__cuda_array_interface__``);
        a non-contiguous one is made contiguous first. Lists and other
        array-likes go through numpy.

    Returns
    -------
    numba device array
    """
    cuda = cuda_module()
    if is_torch_tensor(a):
        if a.is_cuda:
            if not a.is_contiguous():
                a = a.contiguous()
            # sync=False: our launches go on torch's current stream (see stream_for),
            # which already orders them after the work that produced ``a``
            return cuda.as_cuda_array(a.detach(), sync=False)
        a = a.detach().numpy()
    if hasattr(a, "copy_to_host"):  # already a numba device array (or the simulator's)
        return a
    if hasattr(a, "__cuda_array_interface__"):  # CuPy and friends
        return cuda.as_cuda_array(a)
    return cuda.to_device(np.ascontiguousarray(a))


def empty(shape, dtype, like=None):
    """An uninitialised device buffer: a torch tensor on ``like``'s device if ``like`` is one.

    Returns
    -------
    (buffer, device_view)
        The object to hand back to the caller and the numba view the kernel writes.
    """
    if is_torch_tensor(like) and like.is_cuda:
        import torch

        t = torch.empty(shape, dtype=_torch_dtype(dtype), device=like.device)
        return t, cuda_module().as_cuda_array(t, sync=False)
    arr = cuda_module().device_array(shape, dtype=dtype)
    return arr, arr


def zeros(shape, dtype, like=None):
    """Like :func:`empty`, zero-filled."""
    if is_torch_tensor(like) and like.is_cuda:
        import torch

        t = torch.zeros(shape, dtype=_torch_dtype(dtype), device=like.device)
        return t, cuda_module().as_cuda_array(t, sync=False)
    arr = cuda_module().to_device(np.zeros(shape, dtype=dtype))
    return arr, arr


def _torch_dtype(dtype):
    import torch

    return getattr(torch, np.dtype(dtype).name)  # float32, int64, uint8, int8 ... share names


def threads_per_block():
    """The block size for 1-D launches, read now from :mod:`align.kernels._config`.

    Capped at 1,024 (the hardware limit, and the launch bound the block-per-pair
    kernels are compiled for).
    """
    from .kernels import _config

    return min(int(_config.THREADS_PER_BLOCK), 1024)


def stream_for(tensor=None):
    """The numba stream to launch on: torch's current stream for a torch CUDA tensor.

    Launching on torch's stream keeps the kernels ordered with the torch
    operations around them without a device-wide synchronisation. Returns 0
    (the default stream) otherwise and under the simulator.
    """
    if tensor is None or not is_torch_tensor(tensor) or not tensor.is_cuda or is_simulator():
        return 0
    import torch

    return cuda_module().external_stream(torch.cuda.current_stream(tensor.device).cuda_stream)


def default_threads(S_max):
    """Block size for ``S_max`` states: about one thread per two states, 32 to 1,024.

    Under the simulator, :data:`align.kernels._config.THREADS_PER_BLOCK`
    (which tests patch to a small value).
    """
    if is_simulator():
        return threads_per_block()
    half = (int(S_max) + 1) // 2
    return int(min(1024, max(32, 32 * ((half + 31) // 32))))
