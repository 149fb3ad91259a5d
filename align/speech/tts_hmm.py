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

A file of a few seconds holds a few frames of each phone, too few for a good model.
A corpus of one speaker holds many: :class:`PhoneStats` are the sufficient
statistics of one file's segmentation (frame counts, sums and sums of squares of
each Gaussian), they add up over files, and :meth:`PhoneStats.model` makes the
:class:`PhoneModel` that ``realign_words(..., model=...)`` aligns with, as MFA trains
its model on the corpus it aligns (:func:`align.speech.tts_training.train_phone_model`
runs the rounds over a corpus).

Measured on cathy and MFA's files (``benchmarks/README.md``, issue 14): on cathy's
50 files, word boundaries within 25 ms of the acoustic-model aligner 50.7 -> 59.6%,
within 50 ms 82.8 -> 85.3%; closer to MFA's TextGrids on each of its three files. With
a model of 200 of cathy's files: 74.6% within 25 ms, 95.0% within 50 ms.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from ..exceptions import ParameterError
from ..kernels.chain_viterbi import chain_viterbi

__all__ = ["PhoneModel", "PhoneStats", "phone_stats", "realign_words"]

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


def _sums(x, frame_key, n_keys):
    """Frames, sums and sums of squares (K,), (K, D), (K, D) of each Gaussian's frames of ``x``
    (M, D), one float64 column of ``x`` at a time (no float64 copy of ``x`` is made)."""
    counts = np.bincount(frame_key, minlength=n_keys).astype(np.float64)
    sums, squares = np.empty((n_keys, x.shape[1])), np.empty((n_keys, x.shape[1]))
    for d in range(x.shape[1]):
        col = x[:, d].astype(np.float64)
        sums[:, d] = np.bincount(frame_key, weights=col, minlength=n_keys)
        squares[:, d] = np.bincount(frame_key, weights=col * col, minlength=n_keys)
    return counts, sums, squares


def _gaussians(counts, sums, squares, shrink, var_floor):
    """Means (K, D), shrunk towards the overall mean by ``shrink`` frames, and the shared inverse
    variance (D,) of the frames about their means, floored at ``var_floor`` times the
    features' variance, from the sums of :func:`_sums` (of one file or added over many)."""
    M = counts.sum()
    total = sums.sum(axis=0) / M
    means = (sums + shrink * total) / (counts[:, None] + shrink)
    # sum over frames of (x - mean_k) and of (x - mean_k)**2, from the per-Gaussian sums
    r1 = (sums - counts[:, None] * means).sum(axis=0)
    r2 = (squares - 2 * means * sums + counts[:, None] * means ** 2).sum(axis=0)
    spread = squares.sum(axis=0) - M * total ** 2
    var = np.maximum(r2 / M - (r1 / M) ** 2, var_floor * spread / M)
    return means, 1.0 / np.maximum(var, 1e-12)


def _estimate(x, frame_key, n_keys, shrink, var_floor):
    """Means (K, D) and the shared inverse variance (D,) of one file's segmentation (:func:`_gaussians`)."""
    return _gaussians(*_sums(x, frame_key, n_keys), shrink, var_floor)


@dataclass(frozen=True)
class PhoneModel:
    """Gaussians of espeak-ng phone states, learnt over one or many recordings.

    Parameters
    ----------
    keys : tuple of (str, int)
        Each Gaussian's phone label and state index (``("<pause>", 0)`` the pause).
    means : np.ndarray [shape=(K, D), float64]
        Each Gaussian's mean, in the features of :func:`align.speech.tts_align.hmm_features`.
    ivar : np.ndarray [shape=(D,), float64]
        The inverse of the variance every Gaussian shares.
    counts : np.ndarray [shape=(K,), float64]
        The frames each mean was estimated from.
    frame_rate : int
        Frames a second of the features it was trained on.
    states_per_phone : int
        States in a row per phone.
    info : dict
        What it was trained on (files, seconds, rounds), saved with it.
    """

    keys: tuple
    means: np.ndarray
    ivar: np.ndarray
    counts: np.ndarray
    frame_rate: int
    states_per_phone: int = 3
    info: dict = field(default_factory=dict)

    def save(self, path):
        """Write the model to ``path`` (``.npz``), atomically."""
        import json

        from ..io._atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, labels=np.array([k[0] for k in self.keys], dtype=str),
                     state=np.array([k[1] for k in self.keys], dtype=np.int64), means=self.means,
                     ivar=self.ivar, counts=self.counts,
                     header=np.array(json.dumps({"format": "fusealign-phone-model", "version": 1,
                                                 "frame_rate": self.frame_rate,
                                                 "states_per_phone": self.states_per_phone,
                                                 "info": self.info})))

    @classmethod
    def load(cls, path):
        """A model written by :meth:`save`; a ParameterError for anything else."""
        import json
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                if header.get("format") != "fusealign-phone-model":
                    raise ValueError("not a phone model")
                keys = tuple(zip((str(x) for x in z["labels"]), (int(j) for j in z["state"])))
                model = cls(keys, z["means"].astype(np.float64), z["ivar"].astype(np.float64),
                            z["counts"].astype(np.float64), int(header["frame_rate"]),
                            int(header["states_per_phone"]), header.get("info", {}))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ParameterError(f"cannot read the phone model {str(path)!r}: {exc}; give a file written "
                                 "by PhoneModel.save or align.train_phone_model") from exc
        if model.means.shape != (len(keys), model.ivar.size) or model.counts.shape != (len(keys),):
            raise ParameterError(f"the phone model {str(path)!r} is damaged: its arrays disagree in size")
        return model


@dataclass
class PhoneStats:
    """Sufficient statistics of a segmentation into phone states; they add up over files.

    ``counts`` (K,), ``sums`` and ``squares`` (K, D): frames, sums and sums of squares of the
    features each Gaussian of ``keys`` was given. ``sum(stats_of_each_file)`` works.
    """

    keys: tuple
    counts: np.ndarray
    sums: np.ndarray
    squares: np.ndarray

    def __add__(self, other):
        if other == 0:  # sum() starts from 0
            return self
        keys = tuple(sorted(set(self.keys) | set(other.keys)))
        at = {k: i for i, k in enumerate(keys)}
        D = self.sums.shape[1] if self.keys else other.sums.shape[1]
        counts, sums, squares = np.zeros(len(keys)), np.zeros((len(keys), D)), np.zeros((len(keys), D))
        for part in (self, other):
            idx = np.array([at[k] for k in part.keys], dtype=np.int64)
            if idx.size:
                counts[idx] += part.counts
                sums[idx] += part.sums
                squares[idx] += part.squares
        return PhoneStats(keys, counts, sums, squares)

    __radd__ = __add__

    def model(self, frame_rate, *, states_per_phone=3, shrink=2.0, var_floor=0.1, info=None):
        """The Gaussians these statistics give (:func:`_gaussians`, as :func:`realign_words`
        estimates them on one file)."""
        if self.counts.sum() < 2:
            raise ParameterError("the phone model needs at least two frames of speech to learn from")
        means, ivar = _gaussians(self.counts, self.sums, self.squares, shrink, var_floor)
        return PhoneModel(self.keys, means, ivar, self.counts.copy(), int(frame_rate), int(states_per_phone),
                          dict(info or {}))


def _stats(x, frame_key, names):
    """PhoneStats of the frames ``x`` (M, D) given to the Gaussians ``names[frame_key]``."""
    counts, sums, squares = _sums(x, frame_key, len(names))
    used = counts > 0
    return PhoneStats(tuple(n for n, u in zip(names, used) if u), counts[used], sums[used], squares[used])


@dataclass
class _Chain:
    """One recording's chain of states (:func:`_chain`) and its first-pass segmentation."""

    spoken: list
    labels: list
    skippable: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    first: np.ndarray
    names: list
    key: np.ndarray
    states: np.ndarray


def _prepare(words, M, frame_rate, states_per_phone, window):
    """The chain of ``words``' phones over ``M`` frames, or None when no word has phones."""
    spoken = [k for k, w in enumerate(words) if w.phones]
    if not spoken:
        return None
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
    states = np.clip(np.searchsorted(seg0, np.arange(M), side="right") - 1, 0, len(labels) - 1)
    return _Chain(spoken, labels, skippable, lo, hi, first, names, key, states)


def _model_means(chain, x, model, shrink, var_floor):
    """Means (K, D) and inverse variance (D,) for ``chain``'s Gaussians from ``model``; a phone
    the model never saw gets this file's estimate from the first pass."""
    means, ivar = _estimate(x, chain.key[chain.states], len(chain.names), shrink, var_floor)
    at = {k: i for i, k in enumerate(model.keys)}
    for i, name in enumerate(chain.names):
        j = at.get(name)
        if j is not None and model.counts[j] > 0:
            means[i] = model.means[j]
    return means, model.ivar


def _check_model(model, features, frame_rate, states_per_phone):
    if model.means.shape[1] != features.shape[1]:
        raise ParameterError(f"the phone model has {model.means.shape[1]} features a frame, the recording "
                             f"{features.shape[1]}")
    if model.frame_rate != frame_rate or model.states_per_phone != states_per_phone:
        raise ParameterError(
            f"the phone model was trained at {model.frame_rate} frames a second with "
            f"{model.states_per_phone} states a phone; this alignment uses {frame_rate} and {states_per_phone}")


def phone_stats(words, features, frame_rate, *, model=None, states_per_phone=3, window=0.3, shrink=2.0,
                var_floor=0.1):
    """One recording's share of a phone model's training, and its words aligned again.

    Parameters
    ----------
    words : list of Word
        The first pass's words (their phones' times give the windows, and without
        ``model`` the segmentation counted).
    features : (M, D) float32 ndarray
        :func:`align.speech.tts_align.hmm_features` of the recording.
    frame_rate : int
        Frames a second of ``features``.
    model : PhoneModel, optional
        Align with it first (Viterbi) and count that path's frames; without it the
        first pass's segmentation is counted.
    states_per_phone, window, shrink, var_floor
        As in :func:`realign_words`.

    Returns
    -------
    stats : PhoneStats
        Empty when no word has phones.
    words : list of Word
        ``words`` realigned with ``model`` (``words`` itself without one, or when no
        path fits the frames).
    """
    x = features
    chain = _prepare(words, x.shape[0], frame_rate, states_per_phone, window)
    if chain is None:
        return PhoneStats((), np.zeros(0), np.zeros((0, x.shape[1])), np.zeros((0, x.shape[1]))), words
    states, out_words = chain.states, words
    if model is not None:
        _check_model(model, x, frame_rate, states_per_phone)
        found = _viterbi(chain, x, *_model_means(chain, x, model, shrink, var_floor), np.zeros(len(chain.labels)))
        if found is not None:
            states = found
            out_words = _words_from_states(words, chain.spoken, found, chain.first, states_per_phone, frame_rate)
    return _stats(x, chain.key[states], chain.names), out_words


def _viterbi(chain, x, means, ivar, enter):
    """Each frame's state on the chain's best path (M,), or None when no path fits the windows."""
    found = np.empty(x.shape[0], np.int64)
    score = chain_viterbi(x, means, ivar, chain.key, chain.skippable, enter, chain.lo, chain.hi, found)
    return None if score == -np.inf else found


def realign_words(words, features, frame_rate, *, iterations=3, states_per_phone=3, window=0.3, shrink=2.0,
                  var_floor=0.1, pause_cost=0.0, model=None):
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
    model : PhoneModel, optional
        Gaussians trained beforehand (over a corpus of the speaker:
        :func:`align.speech.tts_training.train_phone_model`): one Viterbi pass with
        them (``iterations`` is then only checked to be > 0); a phone the model never
        saw gets the file's own estimate.

    Returns
    -------
    list of Word
        New words (the first pass's scores kept), or ``words`` itself when no chain
        fits the frames (a recording too short for its phones).
    """
    x = features
    M = x.shape[0]
    chain = _prepare(words, M, frame_rate, states_per_phone, window) if iterations > 0 and M >= 2 else None
    if chain is None:
        return words
    if model is not None:
        _check_model(model, x, frame_rate, states_per_phone)
    states = chain.states
    enter = np.where(chain.skippable, -float(pause_cost), 0.0)
    found = None
    for _ in range(1 if model is not None else iterations):
        if model is not None:
            means, ivar = _model_means(chain, x, model, shrink, var_floor)
        else:
            means, ivar = _estimate(x, chain.key[states], len(chain.names), shrink, var_floor)
        out = _viterbi(chain, x, means, ivar, enter)
        if out is None:
            break
        states = found = out
    if found is None:
        return words
    return _words_from_states(words, chain.spoken, found, chain.first, states_per_phone, frame_rate)


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
