"""The TTS+DTW aligner's second pass: an HMM trained on the recording itself.

DTW against a synthetic voice puts each phone about where it is, but its
boundaries carry the synthetic voice's timing wherever the two voices differ (a
stop's closure, a nasal's decay, a breath). This pass learns the speaker's own
phones from that first answer and aligns again, as a forced aligner does with a
model trained on the file (flat-start training, started from the DTW
segmentation instead of a flat one). It needs no acoustic model, so it works in
every language espeak-ng speaks:

1. Features: the recording's 13 cepstra with their deltas and delta-deltas, less
   their mean over the file (39 a frame, :func:`align.speech.tts_align.hmm_features`).
2. Each espeak-ng phone label gets ``states_per_phone`` states in a row, one
   Gaussian each (the phone's onset, middle and offset), shared by every
   occurrence of the label. The variance is one
   diagonal shared by every state: a short file holds a few frames of each phone,
   too few for a variance of its own. A pause state sits before, between and after
   the words; the path may skip it.
3. The means start from the DTW segmentation (each phone's frames cut into equal
   parts), shrunk towards the file's mean by ``shrink`` frames' worth. The chain
   is aligned by Viterbi (:func:`align.kernels.chain_viterbi.chain_viterbi`), the
   means are estimated again from that path, ``iterations`` times.

Each state keeps to a window of ``window`` seconds on either side of its DTW
frames, so time and memory grow with the recording's length (one back-pointer
byte per frame and state in the window), and no word moves further than that
from where DTW put it.

Measured on cathy and MFA's files (``benchmarks/README.md``, issue 14): on cathy's
50 files, word boundaries within 25 ms of the acoustic-model aligner 50.7 -> 59.6%,
within 50 ms 82.8 -> 85.3%; closer to MFA's TextGrids on each of its three files.
"""

from dataclasses import replace

import numpy as np

from ..kernels.chain_viterbi import chain_viterbi

__all__ = ["realign_words"]

_PAUSE = ("<pause>", 0)


def _chain(spans, n_frames, states_per_phone, margin):
    """The states of the chain and their windows.

    ``spans`` holds each spoken word's phones as (label, f0, f1) frames. Returns the
    state labels (S,), their skippable flags, windows lo, hi (S,), each state's first
    frame in the DTW segmentation (S,) and each word's first state (n_words,).
    """
    labels, skippable, lo, hi, seg0 = [], [], [], [], []  # seg0: each state's first frame in the first pass

    def pause(a, b):
        labels.append(_PAUSE)
        skippable.append(True)
        lo.append(a - margin)
        hi.append(b + margin)
        seg0.append(a)

    first = []
    pause(0, spans[0][0][1])
    for k, phones in enumerate(spans):
        first.append(len(labels))
        for label, f0, f1 in phones:
            cuts = np.linspace(f0, f1, states_per_phone + 1).round().astype(np.int64)
            for j in range(states_per_phone):
                labels.append((label, j))  # the phone's onset, middle and offset: a Gaussian each
                skippable.append(False)
                lo.append(f0 - margin)
                hi.append(f1 + margin)
                seg0.append(cuts[j])
        after = spans[k + 1][0][1] if k + 1 < len(spans) else n_frames
        pause(phones[-1][2], after)
    lo = np.maximum.accumulate(np.clip(lo, 0, n_frames)).astype(np.int64)
    hi = np.maximum.accumulate(np.clip(hi, 1, n_frames)).astype(np.int64)
    hi[-1] = n_frames
    return (labels, np.array(skippable), lo, np.maximum(hi, lo + 1), np.maximum.accumulate(seg0),
            np.array(first, np.int64))


def _estimate(x, frame_key, n_keys, shrink, var_floor, rows=65536):
    """Means (K, D) of each Gaussian's frames, shrunk towards the file's mean, and the shared
    inverse variance (D,) of the frames about their means; in blocks of ``rows`` frames, so
    that no float64 copy of ``x`` (M, D) is made."""
    M, D = x.shape
    counts = np.bincount(frame_key, minlength=n_keys).astype(np.float64)
    sums = np.stack([np.bincount(frame_key, weights=x[:, d], minlength=n_keys) for d in range(D)], axis=1)
    total = sums.sum(axis=0) / M
    means = (sums + shrink * total) / (counts[:, None] + shrink)
    r1, r2, spread = np.zeros(D), np.zeros(D), np.zeros(D)
    for a in range(0, M, rows):
        block = x[a:a + rows].astype(np.float64)
        r = block - means[frame_key[a:a + rows]]
        r1 += r.sum(axis=0)
        r2 += np.einsum("ij,ij->j", r, r)
        block -= total
        spread += np.einsum("ij,ij->j", block, block)
    var = np.maximum(r2 / M - (r1 / M) ** 2, var_floor * spread / M)
    return means, 1.0 / np.maximum(var, 1e-12)


def realign_words(words, features, frame_rate, *, iterations=3, states_per_phone=3, window=0.3, shrink=2.0,
                  var_floor=0.1, pause_cost=0.0):
    """Words and phones aligned again by an HMM trained on the recording (the module docstring).

    Parameters
    ----------
    words : list of Word
        The first pass's words, in seconds from the recording's start, each with its
        phones (a word without phones keeps its place after the word before it).
    features : (M, D) float32 ndarray
        The recording's frames, ``frame_rate`` a second (the aligner gives its 13
        cepstra with deltas and delta-deltas, less their mean over the file:
        :func:`align.speech.tts_align.hmm_features`).
    frame_rate : int
        Frames a second of ``cep``.
    iterations : int
        Viterbi passes, each followed by a new estimate of the means.
    states_per_phone : int
        States in a row per phone (its shortest duration, in frames).
    window : float
        Seconds a state may move from its first-pass frames.
    shrink, var_floor : float
        The means' pull towards the file's mean, in frames; the variance's floor,
        as a fraction of the features' variance.
    pause_cost : float
        What a pause costs to insert, in log-likelihood (a pause state's ``enter``
        log-probability is minus this). Measured on 100 cathy files, 5 to 100 gained
        nothing within 50 ms of the acoustic aligner (86.4% at 0, 84.8-86.6%).

    Returns
    -------
    list of Word
        New words (the first pass's scores kept), or ``words`` itself when no chain
        fits the frames (a recording too short for its phones).
    """
    x = features
    M = x.shape[0]
    spoken = [k for k, w in enumerate(words) if w.phones]
    if not spoken or iterations <= 0 or M < 2:
        return words
    spans = []
    for k in spoken:
        phones = []
        for p in words[k].phones:
            f0 = min(max(int(round(p.start * frame_rate)), 0), M)
            phones.append((p.label, f0, min(max(int(round(p.end * frame_rate)), f0), M)))
        spans.append(phones)
    labels, skippable, lo, hi, seg0, first = _chain(spans, M, states_per_phone, int(round(window * frame_rate)))
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    key = np.array([index[label] for label in labels], dtype=np.int64)
    # the first pass's segmentation: state s from its first frame on, until the next state's
    states = np.searchsorted(seg0, np.arange(M), side="right") - 1
    states = np.clip(states, 0, len(labels) - 1)
    enter = np.where(skippable, -float(pause_cost), 0.0)
    found = None
    for _ in range(iterations):
        means, ivar = _estimate(x, key[states], len(names), shrink, var_floor)
        out = np.empty(M, np.int64)
        if chain_viterbi(x, means, ivar, key, skippable, enter, lo, hi, out) == -np.inf:
            break
        states = found = out
    if found is None:
        return words
    return _words_from_states(words, spoken, found, first, states_per_phone, frame_rate)


def _words_from_states(words, spoken, states, first, states_per_phone, frame_rate):
    """The words with the times of the path's states (monotone, so each state's frames are one run)."""
    def frame_of(s):
        return int(np.searchsorted(states, s, side="left"))

    out = list(words)
    for i, k in enumerate(spoken):
        w = words[k]
        phones = []
        for j, p in enumerate(w.phones):
            s = first[i] + j * states_per_phone
            phones.append(replace(p, start=frame_of(s) / frame_rate,
                                  end=frame_of(s + states_per_phone) / frame_rate))
        out[k] = replace(w, start=phones[0].start, end=phones[-1].end, phones=phones)
    prev_end = 0.0
    for k, w in enumerate(out):
        if w.phones:
            prev_end = w.end
        else:
            out[k] = replace(w, start=prev_end, end=prev_end)
    return out
