"""Alignment losses for TTS training, torch-free part: the forward-sum NLL and the beta-binomial prior.

:class:`align.tts.forward_sum_torch.ForwardSumLoss` wraps the NLL as the loss of Badlani et al. 2021 ("One TTS Alignment To Rule
Them All", arXiv:2108.10447) as RAD-TTS and NeMo's FastPitch compute it from
``torch.nn.CTCLoss`` over a padded blank column, with value and gradient from our
forward-backward kernel (:mod:`align.kernels.forward_sum`).
"""

import numpy as np

from .._validation import as_int_array, check_positive_int
from ..exceptions import ParameterError

__all__ = ["beta_binomial_prior", "forward_sum_nll"]


def beta_binomial_prior(n_text, n_mel, scaling=1.0):
    """The log beta-binomial alignment prior of RAD-TTS and NeMo: (n_mel, n_text).

    Row ``i`` (mel frame ``i + 1`` of ``n_mel``) is the log pmf at ``k = 0 ..
    n_text - 1`` of a beta-binomial with ``n = n_text``, ``a = scaling * (i + 1)``
    and ``b = scaling * (n_mel - i)``, the convention of both codebases (which
    call ``scipy.stats.betabinom(n_text, a, b).pmf(arange(n_text))``): a band of
    probability along the diagonal, wider for smaller ``scaling``.

    Parameters
    ----------
    n_text, n_mel : int
        Numbers of text tokens and mel frames, at least 1.
    scaling : float
        RAD-TTS's ``scaling_factor``, > 0.

    Returns
    -------
    np.ndarray [shape=(n_mel, n_text), float64]
        Log probabilities (add to the attention log-probabilities).
    """
    from scipy.special import betaln, gammaln

    n_text = check_positive_int("n_text", n_text)
    n_mel = check_positive_int("n_mel", n_mel)
    if not (np.isfinite(scaling) and scaling > 0):
        raise ParameterError(f"scaling must be a positive number, got {scaling!r}")
    k = np.arange(n_text, dtype=np.float64)[None, :]
    i = np.arange(1, n_mel + 1, dtype=np.float64)[:, None]
    a = scaling * i
    b = scaling * (n_mel + 1 - i)
    n = float(n_text)
    log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    return log_choose + betaln(k + a, n - k + b) - betaln(a, b)


def _lengths(name, x, B, upper):
    arr = as_int_array(x, name)
    if arr.shape != (B,):
        raise ParameterError(f"{name} must have shape ({B},), got {arr.shape}")
    bad = np.flatnonzero((arr < 1) | (arr > upper))
    if bad.size:
        b = int(bad[0])
        raise ParameterError(f"{name}[{b}] = {int(arr[b])} is out of range [1, {upper}]")
    return arr


def check_lengths(shape, text_lengths, mel_lengths):
    """The lengths of a (B, T_mel, K_max + 1) batch as int64 arrays, each item with an alignment.

    Raises
    ------
    ParameterError
        A length of the wrong shape or out of range, or an item whose text is
        longer than its mel (no alignment exists).
    """
    B, T, C = shape
    tl = _lengths("text_lengths", text_lengths, B, C - 1)
    ml = _lengths("mel_lengths", mel_lengths, B, T)
    long = np.flatnonzero(tl > ml)
    if long.size:
        b = int(long[0])
        raise ParameterError(
            f"item {b} has {int(tl[b])} text tokens but only {int(ml[b])} mel frames: every token "
            "needs a frame of its own, so no alignment exists"
        )
    return tl, ml


def not_finite_message(b):
    """The error of an item whose live block holds NaN or +inf."""
    return f"log_probs[{b}] holds NaN or +inf inside its mel x (text + 1) block"


def checked_inputs(log_probs, text_lengths, mel_lengths):
    """``(log_probs, text_lengths, mel_lengths)`` as numpy arrays, validated (see :func:`forward_sum_nll`)."""
    from .._validation import as_float_array

    y = as_float_array(log_probs, "log_probs", ndim=3)
    tl, ml = check_lengths(y.shape, text_lengths, mel_lengths)
    for b in range(y.shape[0]):
        blk = y[b, :ml[b], :tl[b] + 1]
        if np.isnan(blk).any() or np.isposinf(blk).any():
            raise ParameterError(not_finite_message(b))
    return y, tl, ml


def forward_sum_nll(log_probs, text_lengths, mel_lengths):
    """``-log`` of the sum over every monotone alignment, per item, and its gradient (numpy).

    Parameters
    ----------
    log_probs : array_like [shape=(B, T_mel, K_max + 1)]
        Column 0 the blank, columns ``1..K`` the text tokens.
    text_lengths, mel_lengths : array_like [shape=(B,)]

    Returns
    -------
    nll : np.ndarray [shape=(B,), float64]
    grad : np.ndarray [shape=(B, T_mel, K_max + 1), float64]

    Raises
    ------
    ParameterError
        Bad shapes or lengths, NaN in the live block, or an item whose text is
        longer than its mel (no alignment exists).
    """
    from ..kernels.forward_sum import forward_sum_batch

    y, tl, ml = checked_inputs(log_probs, text_lengths, mel_lengths)
    B, T, C = y.shape
    nll = np.empty(B)
    grad = np.empty((B, T, C))
    forward_sum_batch(y, tl, ml, nll, grad)
    return nll, grad
