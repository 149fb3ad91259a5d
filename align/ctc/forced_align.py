"""CTC forced alignment: a batched drop-in for ``torchaudio.functional.forced_align``.

:func:`forced_align` takes the emissions of any CTC model and a transcript of
label ids and returns the most likely frame-level labelling (Viterbi over the
CTC topology). :func:`merge_tokens` turns that labelling into
:class:`TokenSpan` objects (one per emitted token, with start, end and a mean
score), exactly as torchaudio's function of the same name.

Differences from torchaudio (every one a superset of its behaviour):

- any batch size (torchaudio accepts ``B == 1`` only), with per-item
  ``input_lengths`` and ``target_lengths`` that may be shorter than ``T`` and
  ``L`` (torchaudio requires ``max(input_lengths) == T`` and
  ``max(target_lengths) == L``);
- numpy arrays or torch tensors (any device) in, the same type out;
- ``target_lengths[b] == 0`` gives an all-blank path (torchaudio fails on
  empty targets);
- NaN or ``+inf`` in the live part of ``log_probs``, negative targets and
  alignments whose every path has probability zero raise clear errors
  (torchaudio does not check them and returns an arbitrary path);
- float16 emissions are accumulated in float32 (torchaudio accumulates in
  float16, which rounds after every addition, so float16 paths often differ);
  float32 and float64 paths and scores are bit-identical to torchaudio's CPU
  implementation;
- ``tie_break="optimal"`` (keyword) always returns a best path, where
  torchaudio's comparisons (the default) can keep a worse predecessor when
  two others tie exactly.
"""

from dataclasses import dataclass

import numpy as np

from .._validation import check_option, is_torch_tensor
from ..exceptions import AlignError, InfeasibleAlignmentError, ParameterError

__all__ = ["forced_align", "merge_tokens", "TokenSpan"]

_FLOAT_DTYPES = (np.float16, np.float32, np.float64)
_INT_DTYPES = (np.int32, np.int64)


def _as_numpy(x, name, allowed=None):
    """Return ``x`` as a numpy array on the CPU (torch tensors are detached and copied)."""
    if is_torch_tensor(x):
        dtype = str(x.dtype).replace("torch.", "")
        if allowed is not None and dtype not in allowed:
            raise ParameterError(f"{name} must be {' or '.join(allowed)}, got dtype {x.dtype}")
        try:
            return x.detach().cpu().numpy()
        except TypeError as exc:  # bfloat16 and other dtypes numpy lacks
            raise ParameterError(f"{name} has dtype {x.dtype}, which numpy cannot hold") from exc
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ParameterError(f"{name} must be array-like, got {type(x).__name__}") from exc


def _lengths(x, name, B, upper, upper_name):
    """Validate a per-item length vector; None means "all of it"."""
    if x is None:
        return np.full(B, upper, dtype=np.int64)
    arr = _as_numpy(x, name)
    if arr.dtype.kind not in "iu":
        raise ParameterError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.shape != (B,):
        raise ParameterError(f"{name} must be 1-D (batch_size,) = ({B},), got shape {arr.shape}")
    arr = arr.astype(np.int64)
    bad = np.flatnonzero((arr < 0) | (arr > upper))
    if bad.size:
        b = int(bad[0])
        raise ParameterError(
            f"{name}[{b}] = {int(arr[b])} is out of range [0, {upper_name}={upper}]; "
            f"lengths count the valid {'frames' if name == 'input_lengths' else 'labels'} of each item"
        )
    return arr


def forced_align(log_probs, targets, input_lengths=None, target_lengths=None, blank=0, *,
                 tie_break="torchaudio", errors="raise", backend="auto"):
    """Align CTC label sequences to emissions (Viterbi over the CTC topology).

    A drop-in for ``torchaudio.functional.forced_align`` with the same
    arguments, shapes, dtypes and results, for any batch size.

    Parameters
    ----------
    log_probs : np.ndarray, torch.Tensor or numba device array [shape=(B, T, C), float16, float32 or float64]
        Log-probabilities of the ``C`` classes (blank included) at each of
        ``T`` frames. Frames ``t >= input_lengths[b]`` are not read.
    targets : np.ndarray or torch.Tensor [shape=(B, L), int32 or int64]
        Label ids in ``[0, C)``, none equal to ``blank``. Positions
        ``l >= target_lengths[b]`` are padding and are not read.
    input_lengths : array_like [shape=(B,), int], optional
        Valid frames per item, ``0 <= input_lengths[b] <= T``. Default ``T``.
    target_lengths : array_like [shape=(B,), int], optional
        Valid labels per item, ``0 <= target_lengths[b] <= L``. Default ``L``.
    blank : int
        The blank class, ``0 <= blank < C``. Default 0.
    tie_break : {"torchaudio", "optimal"}
        How equal predecessor scores are resolved. ``"torchaudio"`` (default)
        reproduces torchaudio's comparisons exactly, so paths are the same as
        its; ``"optimal"`` always returns a best path. They differ only when
        the *advance* and the *skip* predecessors tie above the *stay*:
        torchaudio then keeps the stay and its path can score below the best
        (this needs exactly equal scores, e.g. quantised emissions).
    errors : {"raise", "ignore"}
        On an item that admits no alignment (too short for its targets, or ``-inf`` on
        every path): raise :class:`InfeasibleAlignmentError` naming it (default, as
        torchaudio), or give it a path of ``-1`` on every frame and scores of ``-inf``
        on its live frames, the other items aligned as usual (the convention of
        :func:`align.viterbi_batch`). Bad input (NaN, wrong shapes) raises either way.
    backend : {"auto", "cpu", "cuda"}
        ``"auto"``: the CUDA kernel when ``log_probs`` is a torch CUDA tensor
        (it stays on its device, no host copy of the emissions), else the CPU
        kernel. ``"cuda"`` forces the GPU (numpy inputs are copied there and
        the results copied back); without a usable GPU it raises
        :class:`align.BackendUnavailableError`. ``"cpu"`` takes any input,
        a torch CUDA tensor included (copied to the host; the results go
        back to its device). A numba device array counts as on the GPU for
        ``"auto"``; it is checked on a host copy and the results are numba
        device arrays, whatever the backend. All give identical paths and
        scores, ties included.

    Returns
    -------
    paths : same type as log_probs [shape=(B, T), dtype of targets]
        The label of each frame (``blank`` between and around tokens).
        Frames ``t >= input_lengths[b]`` hold ``blank``.
    scores : same type as log_probs [shape=(B, T), dtype of log_probs]
        ``log_probs[b, t, paths[b, t]]``: the log-probability of the chosen
        label at each frame; 0 for frames ``t >= input_lengths[b]``.

    Raises
    ------
    ParameterError
        Wrong rank, dtype or batch size; ``blank`` out of ``[0, C)``; a
        target equal to ``blank`` or outside ``[0, C)``; lengths out of
        range or of the wrong shape; NaN or ``+inf`` in the live frames.
    InfeasibleAlignmentError
        With ``errors="raise"``: an item with ``T_b < L_b + R_b`` (``R_b`` the number of adjacent
        equal labels, each of which needs a blank between its copies), or
        whose every path has probability zero (``-inf`` on every path). The
        message names the batch index.

    See Also
    --------
    merge_tokens : frame labels to token spans.
    align.kernels.ctc.ctc_align_batch : the compute kernel.

    Notes
    -----
    The recurrence, boundary conditions and tie-break rules are documented in
    :mod:`align.kernels.ctc` (Graves et al. 2006, DOI 10.1145/1143844.1143891,
    section 4.1). On tied scores the path prefers staying in a state, then
    advancing by one, then skipping a blank; it ends on the last label unless
    the final blank is strictly better. With ``tie_break="torchaudio"``,
    float32 and float64 paths and scores are bit-identical to torchaudio's CPU
    output (checked against torchaudio 2.11 by
    ``benchmarks/gpu/torchaudio_compare.py``); torchaudio's CUDA kernel uses
    the same comparisons but renormalises its scores every frame, so on
    near-ties it can differ from its own CPU output.

    Items run in parallel on Numba's threads, one workspace slot per thread.
    Memory: one byte per live cell of the band (``<= T (2L + 1)``, about
    300 MB per thread for T = 30,000 and L = 5,000).

    CUDA (:mod:`align.kernels.ctc_cuda`): one thread block per item, the same
    per-cell step function as the CPU kernel (:mod:`align.kernels._ctc_steps`);
    ``B * T * (2L + 1)`` bytes of back-pointers on the device. Gradients do not
    flow through the alignment (as in torchaudio).

    Examples
    --------
    >>> import numpy as np
    >>> from align import forced_align, merge_tokens
    >>> log_probs = np.log(np.array([[[0.8, 0.1, 0.1],
    ...                               [0.1, 0.8, 0.1],
    ...                               [0.6, 0.2, 0.2],
    ...                               [0.1, 0.1, 0.8]]]))
    >>> paths, scores = forced_align(log_probs, np.array([[1, 2]]))
    >>> paths
    array([[0, 1, 0, 2]])
    >>> [(s.token, s.start, s.end) for s in merge_tokens(paths[0], scores[0])]
    [(1, 1, 2), (2, 3, 4)]
    """
    from ..kernels.ctc import (
        TIE_OPTIMAL,
        TIE_TORCHAUDIO,
        ctc_align_batch,
        ctc_align_serial,
        ctc_band_cells,
        ctc_find_invalid,
    )

    from .._backend import resolve_backend

    if _is_device_array(log_probs):
        # a numba device array: "auto" means the GPU; checked and aligned as its host copy
        # (the CPU kernel for backend="cpu"), results handed back as device arrays
        from .._device import cuda_module

        use = resolve_backend(backend, on_gpu=True)
        paths, scores = forced_align(log_probs.copy_to_host(), targets, input_lengths, target_lengths,
                                     blank, tie_break=tie_break, errors=errors, backend=use)
        return cuda_module().to_device(paths), cuda_module().to_device(scores)

    torch_out = is_torch_tensor(log_probs)
    device = log_probs.device if torch_out else None
    on_gpu = torch_out and log_probs.is_cuda
    use = resolve_backend(backend, on_gpu=on_gpu)

    # A CUDA tensor is checked on its device; only its metadata comes to the host.
    lp = _Meta(log_probs) if on_gpu else _as_numpy(log_probs, "log_probs", ("float64", "float32", "float16"))
    if lp.dtype not in _FLOAT_DTYPES:
        raise ParameterError(
            f"log_probs must be float64, float32 or float16, got dtype {lp.dtype}; "
            f"convert it with .astype(np.float32)"
        )
    if lp.ndim != 3:
        raise ParameterError(
            f"log_probs must be 3-D (batch_size, input length, num classes), got shape {lp.shape}"
        )
    tg = _as_numpy(targets, "targets", ("int32", "int64"))
    if tg.dtype not in _INT_DTYPES:
        raise ParameterError(
            f"targets must be int32 or int64, got dtype {tg.dtype}; convert it with .astype(np.int64)"
        )
    if tg.ndim != 2:
        raise ParameterError(f"targets must be 2-D (batch_size, target length), got shape {tg.shape}")
    B, T, C = lp.shape
    if tg.shape[0] != B:
        raise ParameterError(
            f"log_probs and targets must have the same batch size, got {B} and {tg.shape[0]}"
        )
    L = tg.shape[1]
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
        raise ParameterError(f"blank must be an integer class index, got {blank!r}")
    if not 0 <= blank < C:
        raise ParameterError(f"blank must be within [0, num classes) = [0, {C}), got {blank}")
    blank = int(blank)
    check_option("tie_break", tie_break, ("torchaudio", "optimal"))
    check_option("errors", errors, ("raise", "ignore"))
    tie_rule = TIE_TORCHAUDIO if tie_break == "torchaudio" else TIE_OPTIMAL
    in_len = _lengths(input_lengths, "input_lengths", B, T, "T")
    tg_len = _lengths(target_lengths, "target_lengths", B, L, "L")

    tg64 = np.ascontiguousarray(tg, dtype=np.int64)
    live = np.arange(L)[None, :] < tg_len[:, None]
    is_blank = live & (tg64 == blank)
    if is_blank.any():
        b, pos = (int(i) for i in np.argwhere(is_blank)[0])
        raise ParameterError(
            f"targets shouldn't contain the blank index {blank}: found at batch index {b}, "
            f"position {pos}; remove blanks from the transcript or pass the right blank="
        )
    out_of_range = live & ((tg64 < 0) | (tg64 >= C))
    if out_of_range.any():
        b, pos = (int(i) for i in np.argwhere(out_of_range)[0])
        raise ParameterError(
            f"targets values must be in [0, num classes) = [0, {C}), found {int(tg64[b, pos])} "
            f"at batch index {b}, position {pos}"
        )
    # float16 is accumulated in float32 (see the module docstring)
    work_dtype = np.float32 if lp.dtype == np.float16 else lp.dtype
    if on_gpu:
        import torch

        # NaN or +inf anywhere on the device: find the first live one on the host
        gpu_lp = log_probs.to(getattr(torch, np.dtype(work_dtype).name)).contiguous()
        suspect = bool((torch.isnan(gpu_lp) | torch.isposinf(gpu_lp)).any())
        # backend="cpu" runs the CPU kernel on a host copy (results go back to the device)
        work = gpu_lp.cpu().numpy() if suspect or use == "cpu" else None
        lp = work if suspect else lp
    else:
        work = np.ascontiguousarray(lp, dtype=work_dtype)
    bad = np.full(B, -1, dtype=np.int64)
    if work is not None:
        ctc_find_invalid(work, in_len, bad)
    found = np.flatnonzero(bad >= 0)
    if found.size:
        b = int(found[0])
        t, c = divmod(int(bad[b]), C)
        raise ParameterError(
            f"log_probs must not contain NaN or +inf: found {lp[b, t, c]} at batch index {b}, "
            f"frame {t}, class {c}; log-probabilities are finite or -inf (the log of 0)"
        )

    cells = np.zeros(B, dtype=np.int64)
    repeats = np.zeros(B, dtype=np.int64)
    ctc_band_cells(tg64, in_len, tg_len, cells, repeats)
    short = np.flatnonzero(in_len < tg_len + repeats)
    if short.size and errors == "ignore":
        return _align_feasible(log_probs, targets, in_len, tg_len, short, blank, tie_break, use)
    if short.size:
        b = int(short[0])
        raise InfeasibleAlignmentError(
            f"targets length is too long for CTC at batch index {b}: log_probs length "
            f"T={int(in_len[b])}, targets length L={int(tg_len[b])}, number of repeats "
            f"R={int(repeats[b])}; need T >= L + R (each repeated label needs a blank frame "
            f"between its copies); use a longer input or a shorter transcript"
        )

    if use == "cuda":
        return _forced_align_cuda(gpu_lp if on_gpu else work, tg, tg64, in_len, tg_len, blank,
                                  tie_break, lp.dtype, torch_out, device, errors)

    paths = np.empty((B, T), dtype=np.int64)
    scores = np.empty((B, T), dtype=work.dtype)
    logp = np.empty(B, dtype=np.float64)
    if B:
        import numba

        n_slots = max(1, min(B, numba.get_num_threads()))
        bp = np.empty((n_slots, max(1, int(cells.max()))), dtype=np.int8)
        band = np.empty((n_slots, max(1, T), 2), dtype=np.int32)
        alpha = np.empty((n_slots, 6, L + 1), dtype=work.dtype)
        run = ctc_align_batch if n_slots > 1 else ctc_align_serial
        run(work, tg64, in_len, tg_len, blank, tie_rule, paths, scores, logp, bp, band, alpha)

    dead = _check_result(paths, logp, tg64, in_len, tg_len, blank, errors)
    _mark_infeasible(paths, scores, dead, in_len)

    paths_out = paths.astype(tg.dtype, copy=False)
    scores_out = scores.astype(lp.dtype, copy=False)
    if torch_out:
        import torch

        return torch.from_numpy(paths_out).to(device), torch.from_numpy(scores_out).to(device)
    return paths_out, scores_out


def _is_device_array(x):
    """Whether ``x`` is a numba device array (or the CUDA simulator's stand-in for one)."""
    return not isinstance(x, np.ndarray) and not is_torch_tensor(x) and hasattr(x, "copy_to_host")


class _Meta:
    """Shape and dtype of a CUDA tensor, standing in for the array in the checks."""

    def __init__(self, tensor):
        self.shape = tuple(tensor.shape)
        self.ndim = tensor.dim()
        self.dtype = np.dtype(str(tensor.dtype).replace("torch.", "")) if tensor.is_floating_point() \
            else np.dtype("int64")


def _check_result(paths, logp, tg64, in_len, tg_len, blank, errors="raise"):
    """Post-conditions on host copies: a finite score, and a path that spells the targets.

    Returns the items without a finite path (only with ``errors="ignore"``; else they raise).
    """
    from ..kernels.ctc import ctc_check_paths

    dead = np.flatnonzero(~(logp > -np.inf))
    if dead.size and errors == "raise":
        b = int(dead[0])
        raise InfeasibleAlignmentError(
            f"every alignment of batch index {b} has probability zero: log_probs is -inf on every "
            f"path that spells its targets (T={int(in_len[b])}, L={int(tg_len[b])}); check the "
            f"emissions (masked classes?) and the transcript"
        )
    ok = np.empty(paths.shape[0], dtype=np.bool_)
    ctc_check_paths(paths, tg64, in_len, tg_len, blank, ok)
    ok[dead] = True  # a dead item's path means nothing; it is marked -1 by the caller
    if not ok.all():
        raise AlignError(
            f"internal error: the path of batch index {int(np.argmin(ok))} does not spell its "
            f"targets; please report this with the inputs"
        )
    return dead


def _mark_infeasible(paths, scores, items, in_len):
    """``errors="ignore"``: items without an alignment get path -1 and score -inf (live frames)."""
    for b in items:
        paths[b] = -1
        scores[b, : in_len[b]] = -np.inf


def _align_feasible(log_probs, targets, in_len, tg_len, short, blank, tie_break, backend):
    """``errors="ignore"`` with items too short for their targets: align the others only.

    The short items are marked as :func:`_mark_infeasible` does; results keep the input's
    type, dtype and device.
    """
    keep = np.setdiff1d(np.arange(len(in_len)), short)
    host_targets = _as_numpy(targets, "targets", ("int32", "int64"))
    if is_torch_tensor(log_probs):
        import torch

        device = log_probs.device
        paths, scores = forced_align(log_probs[torch.from_numpy(keep).to(device)], host_targets[keep],
                                     in_len[keep], tg_len[keep], blank, tie_break=tie_break, errors="ignore",
                                     backend=backend)
        # the short items: -1 everywhere, -inf on their live frames (built on the host: B x T)
        fill_paths = np.full(log_probs.shape[:2], -1, dtype=host_targets.dtype)
        fill_scores = np.zeros(log_probs.shape[:2], dtype=np.dtype(str(scores.dtype).replace("torch.", "")))
        _mark_infeasible(fill_paths, fill_scores, short, in_len)
        out_paths = torch.from_numpy(fill_paths).to(device)
        out_scores = torch.from_numpy(fill_scores).to(device)
        index = torch.from_numpy(keep).to(device)
        out_paths[index] = paths
        out_scores[index] = scores
        return out_paths, out_scores
    lp = np.asarray(log_probs)
    paths, scores = forced_align(lp[keep], host_targets[keep], in_len[keep], tg_len[keep], blank,
                                 tie_break=tie_break, errors="ignore", backend=backend)
    out_paths = np.zeros(lp.shape[:2], dtype=paths.dtype)
    out_scores = np.zeros(lp.shape[:2], dtype=scores.dtype)
    out_paths[keep], out_scores[keep] = paths, scores
    _mark_infeasible(out_paths, out_scores, short, in_len)
    return out_paths, out_scores


def _forced_align_cuda(work, tg, tg64, in_len, tg_len, blank, tie_break, out_dtype, torch_out, device,
                       errors="raise"):
    """Run the CUDA kernel on validated inputs; results in the caller's type and device."""
    from .forced_align_cuda import ctc_align_cuda

    if torch_out and device.type == "cuda":
        import torch

        d_tg = torch.from_numpy(tg64).to(device)
        d_in = torch.from_numpy(in_len).to(device)
        d_tl = torch.from_numpy(tg_len).to(device)
        paths, scores, logp = ctc_align_cuda(work, d_tg, d_in, d_tl, blank, tie_break=tie_break)
        host_paths = paths.cpu().numpy()
        dead = _check_result(host_paths, logp.cpu().numpy(), tg64, in_len, tg_len, blank, errors)
        out_int = getattr(torch, np.dtype(tg.dtype).name)
        out_float = getattr(torch, np.dtype(out_dtype).name)
        paths, scores = paths.to(out_int), scores.to(out_float)
        if dead.size:
            host_scores = scores.cpu().numpy()
            _mark_infeasible(host_paths, host_scores, dead, in_len)
            paths = torch.from_numpy(host_paths.astype(tg.dtype, copy=False)).to(device)
            scores = torch.from_numpy(host_scores).to(device)
        return paths, scores
    paths, scores, logp = ctc_align_cuda(work, tg64, in_len, tg_len, blank, tie_break=tie_break)
    host_paths = paths.copy_to_host()
    dead = _check_result(host_paths, logp.copy_to_host(), tg64, in_len, tg_len, blank, errors)
    host_scores = scores.copy_to_host()
    _mark_infeasible(host_paths, host_scores, dead, in_len)
    paths_out = host_paths.astype(tg.dtype, copy=False)
    scores_out = host_scores.astype(out_dtype, copy=False)
    if torch_out:
        import torch

        return torch.from_numpy(paths_out).to(device), torch.from_numpy(scores_out).to(device)
    return paths_out, scores_out


@dataclass
class TokenSpan:
    """A token with its frame span and score, as returned by :func:`merge_tokens`.

    Attributes
    ----------
    token : int
        The token id.
    start : int
        First frame (inclusive).
    end : int
        Last frame + 1 (exclusive).
    score : float
        The mean of the frame scores over ``[start, end)``.
    """

    token: int
    start: int
    end: int
    score: float

    def __len__(self):
        """The span's length in frames."""
        return self.end - self.start


def merge_tokens(tokens, scores, blank=0):
    """Merge a frame labelling into token spans (drop blanks, merge repeats).

    The same as ``torchaudio.functional.merge_tokens``: consecutive equal
    labels form one span; blank spans are dropped; the span's score is the
    mean of ``scores`` over its frames (pass ``scores.exp()`` to average
    probabilities, as torchaudio's tutorial does).

    Parameters
    ----------
    tokens : np.ndarray or torch.Tensor [shape=(T,), int]
        One item of the ``paths`` returned by :func:`forced_align`.
    scores : np.ndarray or torch.Tensor [shape=(T,), float]
        The matching item of ``scores``.
    blank : int
        The blank class. Default 0.

    Returns
    -------
    list of TokenSpan
        In time order.

    Raises
    ------
    ParameterError
        If ``tokens`` or ``scores`` is not 1-D or their lengths differ.

    Notes
    -----
    For torch ``scores`` the mean is torch's ``mean()`` (bit-identical to
    torchaudio); for numpy scores it is accumulated in float64.

    Examples
    --------
    >>> import numpy as np
    >>> spans = merge_tokens(np.array([0, 3, 3, 0, 0, 5]), np.log([0.9, 0.5, 0.7, 0.9, 0.9, 0.8]))
    >>> [(s.token, s.start, s.end, len(s)) for s in spans]
    [(3, 1, 3, 2), (5, 5, 6, 1)]
    """
    torch_scores = is_torch_tensor(scores)
    tok = tokens.detach().cpu().numpy() if is_torch_tensor(tokens) else np.asarray(tokens)
    sc_np = None if torch_scores else np.asarray(scores)
    sc_shape = tuple(scores.shape) if torch_scores else sc_np.shape
    if tok.ndim != 1 or len(sc_shape) != 1:
        raise ParameterError(
            f"`tokens` and `scores` must be 1-D, got shapes {tok.shape} and {sc_shape}; "
            f"pass one item of the batch, e.g. paths[0] and scores[0]"
        )
    if tok.shape[0] != sc_shape[0]:
        raise ParameterError(
            f"`tokens` and `scores` must be the same length, got {tok.shape[0]} and {sc_shape[0]}"
        )
    if tok.size and tok.dtype.kind not in "iu":
        raise ParameterError(f"`tokens` must hold integers, got dtype {tok.dtype}")
    # change points, with -1 sentinels on both sides (as torchaudio)
    edged = np.concatenate(([-1], tok.astype(np.int64), [-1]))
    changes = np.flatnonzero(np.diff(edged) != 0)
    spans = []
    for start, end in zip(changes[:-1].tolist(), changes[1:].tolist()):
        token = int(tok[start])
        if token == blank:
            continue
        if torch_scores:
            score = scores[start:end].mean().item()
        else:
            score = float(np.mean(sc_np[start:end], dtype=np.float64))
        spans.append(TokenSpan(token=token, start=start, end=end, score=score))
    return spans
