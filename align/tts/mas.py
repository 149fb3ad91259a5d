"""Monotonic alignment search: ``maximum_path``, the drop-in for ``monotonic_align.maximum_path``.

Glow-TTS, Grad-TTS and Matcha-TTS call it on ``(B, T_text, T_mel)`` log-likelihoods,
VITS and its forks on ``(B, T_mel, T_text)``; both layouts are taken here, numpy or
torch, CPU or CUDA, and the path comes back in the input's layout, kind, device
and dtype. Kernels: :mod:`align.kernels.mas` (CPU) and :mod:`align.kernels.mas_cuda`.
"""

import numpy as np

from .._backend import resolve_backend
from .._validation import as_float_array, as_int_array, check_option, is_torch_tensor
from ..exceptions import ParameterError
from ._checks import check_scores

__all__ = ["maximum_path"]

LAYOUTS = ("text_mel", "mel_text")


def _lengths_from_mask(mask, shape, text_axis, layout):
    """Text and mel lengths of a rectangular 0/1 mask, or a ParameterError saying what is wrong."""
    if is_torch_tensor(mask):
        mask = mask.detach().cpu().numpy()
    m = np.asarray(mask)
    if m.ndim == 4 and m.shape[1] == 1:  # (B, 1, ., .) as some recipes keep it
        m = m[:, 0]
    if m.shape != shape:
        raise ParameterError(f"mask must have the shape of value {shape}, got {m.shape}")
    if m.dtype.kind not in "biuf" or not np.isin(m, (0, 1)).all():
        raise ParameterError("mask must hold only 0 and 1 (or booleans)")
    m = m.astype(bool)
    if text_axis == 2:  # mel_text: work on (B, T_text, T_mel)
        m = m.transpose(0, 2, 1)
    text_len = m.any(axis=2).sum(axis=1).astype(np.int64)
    mel_len = m.any(axis=1).sum(axis=1).astype(np.int64)
    for b in range(m.shape[0]):
        want = np.zeros(m.shape[1:], bool)
        want[:text_len[b], :mel_len[b]] = True
        if not np.array_equal(m[b], want):
            raise ParameterError(
                f"mask[{b}] is not a padding mask: it must be 1 on a leading block of "
                f"{'(text, mel)' if layout == 'text_mel' else '(mel, text)'} cells and 0 elsewhere, "
                "the outer product of a text mask and a mel mask"
            )
    return text_len, mel_len


def _lengths(name, given, full, B):
    if given is None:
        return np.full(B, full, np.int64)
    arr = as_int_array(given, name)
    if arr.shape != (B,):
        raise ParameterError(f"{name} must have shape ({B},), got {arr.shape}")
    bad = np.flatnonzero((arr < 1) | (arr > full))
    if bad.size:
        b = int(bad[0])
        raise ParameterError(f"{name}[{b}] = {int(arr[b])} is out of range [1, {full}]")
    return arr


def maximum_path(value, mask=None, *, text_lengths=None, mel_lengths=None, layout="text_mel",
                 errors="raise", backend="auto"):
    """The most likely monotone alignment of text tokens to mel frames (MAS).

    Every mel frame goes to exactly one token, every token gets at least one
    frame, in order; among such paths the one with the largest sum of
    ``value`` (Kim et al. 2020, Glow-TTS, arXiv:2005.11129, section 3.2).

    Parameters
    ----------
    value : np.ndarray or torch.Tensor [shape=(B, T_text, T_mel) or (B, T_mel, T_text)]
        Log-likelihood of each token at each frame (Glow-TTS's ``logp``, VITS's
        ``neg_cent``); float32 or float64 (other dtypes become float64). ``-inf``
        marks a cell the path must avoid; NaN and ``+inf`` are refused.
    mask : array_like or torch.Tensor [same shape, or (B, 1, ...)], optional
        A padding mask: 1 on each item's leading ``text x mel`` block. Its sums
        give the lengths, as in the reference implementations.
    text_lengths, mel_lengths : array_like [shape=(B,)], optional
        The lengths directly (instead of ``mask``, or checked against it).
        Default: the full padded sizes.
    layout : {"text_mel", "mel_text"}
        ``"text_mel"``: ``value`` is (B, T_text, T_mel) (Glow-TTS, Grad-TTS,
        Matcha-TTS). ``"mel_text"``: (B, T_mel, T_text) (VITS).
    errors : {"raise", "ignore"}
        An item with no monotone path (its text longer than its mel, or every
        path through a ``-inf`` cell): raise naming it, or give it an all-zero
        path (as the batch functions of :mod:`align` do). NaN and ``+inf`` raise
        either way.
    backend : {"auto", "cpu", "cuda"}
        ``"auto"`` runs on the GPU for torch CUDA tensors, else on the CPU.

    Returns
    -------
    path : same kind, device, shape and dtype as ``value``
        1 on the path and 0 elsewhere (padding included).

    Raises
    ------
    ParameterError
        Bad shapes, layout, lengths or mask; NaN or ``+inf`` in ``value``; an
        item whose text is longer than its mel (no monotone path exists:
        ``monotonic_align`` returns a wrong path there without a word).
    InfeasibleAlignmentError
        When ``-inf`` cells leave an item no finite path.
    BackendUnavailableError
        ``backend="cuda"`` (or CUDA inputs) without a usable GPU.

    Notes
    -----
    Tie rule (that of ``monotonic_align``): walking back, the path leaves a
    token for the previous one only when that is strictly better, so on equal
    scores the later token keeps the frame (each token starts as early as the
    scores allow; all-equal scores give ``0, 1, ..., T_text - 1`` and then the
    last token). Scores accumulate in the dtype of
    ``value``: float32 paths equal ``monotonic_align.maximum_path`` bit for bit
    (it computes in float32 whatever it is given). Memory: one byte per cell
    of an item's ``text x mel`` block for each item in flight.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.log(np.array([[[.9, .8, .1, .1], [.1, .2, .9, .9]]], np.float32))
    >>> maximum_path(v)[0].astype(int).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 1]]
    """
    check_option("layout", layout, LAYOUTS)
    check_option("errors", errors, ("raise", "ignore"))
    on_gpu = is_torch_tensor(value) and value.is_cuda
    use = resolve_backend(backend, on_gpu=on_gpu)
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    if len(shape) != 3:
        raise ParameterError(
            f"value must have 3 dimensions (B, T_text, T_mel) or (B, T_mel, T_text), got shape {shape}"
        )
    B = shape[0]
    text_axis = 1 if layout == "text_mel" else 2
    T_text, T_mel = shape[text_axis], shape[3 - text_axis]
    tl = _lengths("text_lengths", text_lengths, T_text, B)
    ml = _lengths("mel_lengths", mel_lengths, T_mel, B)
    if mask is not None:
        mt, mm = _lengths_from_mask(mask, shape, text_axis, layout)
        if text_lengths is not None and not np.array_equal(mt, tl):
            raise ParameterError("text_lengths disagree with the mask; pass one of them")
        if mel_lengths is not None and not np.array_equal(mm, ml):
            raise ParameterError("mel_lengths disagree with the mask; pass one of them")
        tl, ml = mt, mm
        if (tl < 1).any():
            b = int(np.flatnonzero(tl < 1)[0])
            raise ParameterError(f"mask[{b}] is all zeros: an item needs at least one token and one frame")
    long = np.flatnonzero(tl > ml)
    if long.size and errors == "raise":
        b = int(long[0])
        raise ParameterError(
            f"item {b} has {int(tl[b])} text tokens but only {int(ml[b])} mel frames: a monotone "
            "alignment gives every token at least one frame, so the text cannot be longer than the mel"
        )
    if long.size:  # errors="ignore": run them as one cell, then clear their paths
        tl, ml = tl.copy(), ml.copy()
        tl[long] = ml[long] = 1
    if use == "cuda":
        from .mas_cuda import maximum_path_cuda

        found = maximum_path_cuda(value, tl, ml, layout == "text_mel", errors=errors)
        if errors == "raise":
            return found
        path, stuck = found
        for b in np.union1d(long, stuck):
            path[int(b)] = 0
        return path
    V = as_float_array(value, "value", ndim=3)
    from ..kernels.mas import maximum_path_batch

    out_dtype = _out_dtype(value)
    # the kernel writes the dtypes Numba compiles; float16, bfloat16 or long double are cast after
    path = np.empty(V.shape, out_dtype if out_dtype in KERNEL_DTYPES else V.dtype)
    score = np.empty(B)
    import numba

    # one score buffer per thread, reused item after item (kernels/mas.py)
    work = np.empty((min(B, numba.get_num_threads()), int((tl * ml).max())), V.dtype)
    maximum_path_batch(V, tl, ml, layout == "text_mel", path, score, work)
    for b in np.union1d(long, check_scores(score, errors)):
        path[int(b)] = 0
    if is_torch_tensor(value):
        import torch

        return torch.from_numpy(path).to(device=value.device, dtype=value.dtype)
    return path if path.dtype == out_dtype or out_dtype.kind not in "biuf" else path.astype(out_dtype)


#: output dtypes the CPU kernel writes itself (each a divisor of its 32-byte stores)
KERNEL_DTYPES = frozenset(np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float32, np.float64))


def _out_dtype(value):
    """The numpy dtype of ``value`` (float32 for torch's bfloat16, which has no numpy twin)."""
    if is_torch_tensor(value):
        try:
            return np.dtype(str(value.dtype).replace("torch.", ""))
        except TypeError:
            return np.dtype(np.float32)
    return np.asarray(value).dtype if not hasattr(value, "dtype") else np.dtype(value.dtype)
