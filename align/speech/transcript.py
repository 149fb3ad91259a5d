"""Align a transcript with English speech: the main job.

``align_transcript(audio, transcript)`` runs the whole pipeline:

1. audio in (:func:`align.audio.load.load_audio`: any format, resampled to
   16 kHz mono);
2. the features the acoustic model was trained on
   (:func:`align.audio.features.sphinx_features`);
3. text to spoken words (:func:`align.text.normalize.normalize`) and their
   pronunciations (:class:`align.text.lexicon.Lexicon`: CMUdict, else
   espeak-ng, else letter-to-sound rules);
4. the utterance graph of triphone HMMs with optional silence and fillers
   between words (:func:`align.acoustic.graph.build_utterance_graph`); filled
   pauses, cut-off words and markup get their own pronunciations here;
5. senone scores for the senones of that graph
   (:meth:`align.acoustic.sphinx_model.SphinxModel.score`), and the exact
   Viterbi path (:func:`align.viterbi`), twice: the first path adapts the
   model's means to the speaker (:mod:`align.acoustic.adapt`), the second is
   the result;
6. word and phone times, and a confidence per word.

Long recordings are aligned window by window (see :func:`align_transcript`'s
``window`` argument) so memory stays bounded whatever the length.
"""

import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..acoustic.adapt import MIN_ADAPTATION_FRAMES, diagonal_mllr
from ..exceptions import InfeasibleAlignmentError, ParameterError
from .results import Alignment, Phone, Word

__all__ = ["align_transcript", "Alignment", "Word", "Phone"]

FRAME_RATE = 100  # frames per second of the Sphinx front end
SAMPLE_RATE = 16000

# Confidence: the mean per-frame margin (nats) of the aligned senone over the
# best context-independent senone, mapped through a logistic. A frame of
# well-matched speech scores its triphone senone above every CI senone; a word
# that is not in the audio sits on frames whose best explanation lies elsewhere.
_CONF_CENTER = -2.0
_CONF_SCALE = 1.0


@lru_cache(maxsize=2)
def _model(path=None):
    from ..acoustic.sphinx_model import SphinxModel

    return SphinxModel.load(path)


@lru_cache(maxsize=2)
def _lexicon(path=None):
    from ..text.lexicon import Lexicon

    return Lexicon.load(path)


def _read_transcript(transcript):
    if isinstance(transcript, os.PathLike):
        path = Path(transcript)
    elif isinstance(transcript, str):
        looks_like_path = "\n" not in transcript and len(transcript) < 1024
        path = Path(transcript) if looks_like_path and os.path.isfile(transcript) else None
        if path is None:
            return transcript
    else:
        raise ParameterError(
            f"transcript must be text or a path to a text file, got {type(transcript).__name__}"
        )
    if not path.is_file():
        raise ParameterError(f"transcript file {str(path)!r} does not exist")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"transcript file {str(path)!r} is not UTF-8 text") from exc


# Bracketed markup in a transcript is non-speech, aligned with a filler HMM:
# "[laughter]", "[noise]", "[breath]", "[cough]" with the noise model, and
# "[speech]", "[unk]", "[inaudible]" (words the transcriber could not make out)
# with the speech-noise model. (PocketSphinx's dictionary spells them [NOISE]
# and [SPEECH]; corpora such as LibriSpeech's and MFA's use the same brackets,
# and MFA's also angle brackets: "<vocnoise>", "<unk>".)
#
# A cut-off word is either MFA's "<cutoff-montreal>" (the speaker stopped inside
# "montreal") or a word with a trailing hyphen, "I- I", "mon- montreal" (the
# transcriber wrote what was said): it is aligned as any leading part of the
# word's pronunciation, so that it takes only what was spoken. MFA's
# "<hes-forced>" (a word said hesitantly, drawn out) is the word itself.
_MARKUP = re.compile(r"\[[^\[\]\s]+\]|<[^<>\s]+>|(?<!\S)[^\W\d_][\w']*-(?=\s|$)")
_SPEECH_MARKUP = {"[speech]", "[unk]", "[inaudible]", "[unintelligible]", "[crosstalk]", "[foreign]"}
_CUTOFF = re.compile(r"<cutoff-([^<>\s]+)>|([^\W\d_][\w']*)-", re.IGNORECASE)
_HESITANT = re.compile(r"<hes-([^<>\s]+)>", re.IGNORECASE)


def markup_pronunciation(word):
    """The filler variants of a bracketed markup token, or None for a normal word.

    Either filler may take it (laughter can sound like speech noise and the
    reverse); the one named by the markup comes first. The last variant is the
    garbage model (:data:`align.acoustic.graph.GARBAGE`), for a sound that no
    filler fits: a cough, a door, music.
    """
    if not (word[:1] in "[<" and word[-1:] in "]>") or cutoff_target(word) or hesitant_target(word):
        return None
    from ..acoustic.graph import GARBAGE

    if "[" + word[1:-1].lower() + "]" in _SPEECH_MARKUP:
        return [["+SPN+"], ["+NSN+"], ["SIL"], [GARBAGE]]
    return [["+NSN+"], ["+SPN+"], ["SIL"], [GARBAGE]]


def cutoff_target(word):
    """The word a cut-off token was cut from ("<cutoff-montreal>", "mon-"), or None."""
    m = _CUTOFF.fullmatch(word)
    return None if m is None else (m.group(1) or m.group(2)).lower()


def hesitant_target(word):
    """The word of MFA's hesitant-word markup ("<hes-forced>" -> "forced"), or None."""
    m = _HESITANT.fullmatch(word)
    return None if m is None else m.group(1).lower()


def partial_variants(variants):
    """Every leading part (one phone or more) of each pronunciation, without repeats."""
    out = []
    for v in variants:
        for k in range(1, len(v) + 1):
            if v[:k] not in out:
                out.append(v[:k])
    return out


def _tokens(text, lexicon):
    """normalize() around markup and cut-off words, each kept as one token of its own."""
    from ..text.normalize import Token, normalize

    tokens, pos = [], 0
    for m in _MARKUP.finditer(text):
        for tok in normalize(text[pos:m.start()], lexicon=lexicon):
            tokens.append(Token(tok.text, tok.start + pos, tok.end + pos, tok.words))
        tokens.append(Token(m.group(), m.start(), m.end(), (m.group().lower(),)))
        pos = m.end()
    for tok in normalize(text[pos:], lexicon=lexicon):
        tokens.append(Token(tok.text, tok.start + pos, tok.end + pos, tok.words))
    return tokens


def _pronounce(words, lexicon, known_phones=()):
    """Pronunciations of the spoken words and the unknown words.

    Markup gets its filler; a filled pause ("uh", "um") gets its hesitation
    variants (:mod:`align.acoustic.hesitations`); a cut-off word every leading
    part of its word's pronunciation.
    """
    from ..acoustic.hesitations import hesitation_variants

    special = [markup_pronunciation(w) or hesitation_variants(w, known_phones) for w in words]
    targets = [cutoff_target(w) for w in words]
    hesitant = [hesitant_target(w) for w in words]
    plain = [t or h or w for w, v, t, h in zip(words, special, targets, hesitant) if v is None]
    prons, unknown = lexicon.pronounce_words(plain)
    it = iter(prons)
    out = []
    for v, t in zip(special, targets):
        if v is None:
            v = next(it)
            if t is not None:
                v = partial_variants(v)
        out.append(v)
    return out, unknown


def _spoken_words(text, lexicon):
    """Written tokens and the flat list of spoken words with their token index."""
    tokens = _tokens(text, lexicon)
    words, token_of_word = [], []
    for i, tok in enumerate(tokens):
        for w in tok.words:
            words.append(w)
            token_of_word.append(i)
    if not words:
        raise ParameterError(f"the transcript has no words to align: {text[:80]!r}")
    return tokens, words, np.asarray(token_of_word, dtype=np.int64)


def _segments(labels):
    """Runs of equal values: (value, first index, last index + 1)."""
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(labels)]))
    return [(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends)]


def _confidence(margin):
    return float(1.0 / (1.0 + np.exp(-(margin - _CONF_CENTER) / _CONF_SCALE)))


def _decode(model, features, graph, *, baseline, stride=1):
    """Score the graph's senones (and the confidence baseline when asked or needed) and run Viterbi.

    ``stride`` > 1 (no baseline): score every stride-th frame only and hold each
    score over the frames after it (the adaptation's first pass).

    Returns the state path, the emission scores (T, columns) and the baseline (T,) or None.
    """
    from ..hmm import viterbi

    if baseline or graph.garbage_column is not None:
        scores, best_ci = _score_with_baseline(model, features, graph.senones)
    elif stride > 1:
        T = features.shape[0]
        scores, best_ci = np.repeat(model.score(features[::stride], graph.senones), stride, axis=0)[:T], None
    else:
        scores, best_ci = model.score(features, graph.senones), None
    if graph.garbage_column is not None:
        scores = np.column_stack([scores, best_ci - GARBAGE_PENALTY]).astype(np.float32)
    return viterbi(scores, graph.hmm).path, scores, best_ci


def _align_window(model, features, pronunciations, *, open_end, gaps, hesitations=None, adapt=False):
    """Viterbi-align ``features`` (T, 39) with ``pronunciations``.

    With ``adapt``, a first pass aligns with the model as it is, the model's
    means are adapted to the speaker from that alignment
    (:func:`align.acoustic.adapt.diagonal_mllr`; the garbage model's frames left
    out), and the second pass, with the adapted model, gives the result.

    Returns the per-frame state path and the utterance graph, plus per-frame
    aligned scores and best CI-senone scores (for confidences).
    """
    from ..acoustic.graph import build_utterance_graph

    graph = build_utterance_graph(model, pronunciations, gaps=gaps, open_end=open_end,
                                  hesitations=hesitations)
    T = features.shape[0]
    if T < graph.hmm.min_frames:
        raise InfeasibleAlignmentError(
            f"the audio is too short for the transcript: {T} frames ({T / FRAME_RATE:.2f} s) "
            f"but the {len(pronunciations)} words need at least {graph.hmm.min_frames} frames "
            f"(3 per phone); check that the transcript belongs to this audio"
        )
    # fewer frames than MIN_ADAPTATION_FRAMES cannot hold that many aligned ones: the map
    # would be the identity, so the first pass is skipped (half of cathy's files, 3 s or less)
    if adapt and T >= MIN_ADAPTATION_FRAMES:
        path, _, _ = _decode(model, features, graph, baseline=False, stride=FIRST_PASS_STRIDE)
        columns = graph.hmm.emission_index[path]
        real = columns < len(graph.senones)
        model, _, _ = diagonal_mllr(model, features[real], graph.senones[columns[real]])
    path, graph_scores, best_ci = _decode(model, features, graph, baseline=True)
    aligned = graph_scores[np.arange(T), graph.hmm.emission_index[path]]
    return path, graph, aligned, best_ci


#: nats per frame below the best context-independent senone that the garbage model of
#: transcript markup scores: twice the margin at which a word's confidence is 0.5
#: (_CONF_CENTER), so a word that fits at all keeps its frames. Measured on MFA's
#: cold_corpus3 (a cough marked <vocnoise>) and the laughter clip: 2 gave the laugh
#: the clip's last word (confidence 0.01), 4 and 6 did not; 6 and above left the
#: cough to the words around it, as with no garbage model
GARBAGE_PENALTY = 2.0 * abs(_CONF_CENTER)

#: the adaptation's first pass scores every FIRST_PASS_STRIDE-th frame and holds each
#: score over the next: the same boundaries on every set after adaptation as scoring every
#: frame (MFA files mean 37.4 against 37.6 ms), 123x real time on cathy against 111x
FIRST_PASS_STRIDE = 2

#: CI senones of the codebooks the graph does not use are scored on every
#: BASELINE_STRIDE-th frame only (see _score_with_baseline)
BASELINE_STRIDE = 2


def _score_with_baseline(model, features, senones):
    """Scores of ``senones`` (T, S) and the confidence baseline (T,).

    The baseline is the best context-independent senone of each frame. Its
    senones span all 42 codebooks while a graph uses about 23, and the
    Gaussians of a codebook are most of the scoring cost, so: CI senones of the
    graph's own codebooks are scored with the graph on every frame (their
    Gaussians are computed anyway), the other codebooks' CI senones on every
    second frame, interpolated in between. On 60 cathy files this scores 1.26x
    faster than every CI senone on every frame (every fourth frame: 1.48x, but
    confidences fell by 0.085 on average and two MFA clips were called
    speechless); over 100 cathy files and the MFA clips, word confidences move by
    a median 0.016 (95th percentile 0.11, mean -0.028) and no warning changes.
    """
    ci = np.arange(model.n_ci_senones)
    own = np.isin(model.senone_codebook[ci], model.senone_codebook[senones])
    wanted = np.union1d(senones, ci[own])
    scores = model.score(features, wanted)
    graph_scores = scores[:, np.searchsorted(wanted, senones)]
    best = scores[:, np.searchsorted(wanted, ci[own])].max(axis=1)
    T = features.shape[0]
    if (~own).any() and T:
        sub = model.score(features[::BASELINE_STRIDE], ci[~own]).max(axis=1)
        times = np.arange(0, T, BASELINE_STRIDE)
        best = np.maximum(best, np.interp(np.arange(T), times, sub))
    return graph_scores, best


def _collect(path, graph, aligned, best_ci, frame_offset):
    """Phone and filler segments of a state path: list of dicts."""
    units = graph.state_unit[path]
    # each segment's mean margin from one running sum (a mean per segment cost more than the sum)
    running = np.concatenate(([0.0], np.cumsum(aligned - best_ci, dtype=np.float64)))
    out = []
    for unit, t0, t1 in _segments(units):
        state = path[t0]
        out.append({
            "word": int(graph.state_word[state]),
            "label": graph.units[unit],
            "t0": t0 + frame_offset,
            "t1": t1 + frame_offset,
            "margin": float((running[t1] - running[t0]) / (t1 - t0)),
        })
    return out


def align_transcript(audio, transcript, *, language="en", sample_rate=None, window=60.0,
                     progress=False, model_path=None, dictionary_path=None, method="auto",
                     speaker_adaptation=True, **tts_options):
    """Word and phone timestamps for a recording and its transcript.

    Parameters
    ----------
    audio : str, os.PathLike or (np.ndarray, int)
        A file (wav, flac, ogg, mp3, m4a, ...) or ``(samples, sample_rate)``;
        any rate (resampled to 16 kHz), stereo mixed down.
    transcript : str or os.PathLike
        The text, or a path to a UTF-8 text file.
    language : str
        ``"en"`` (the acoustic model) or any espeak-ng language code (``"fr"``,
        ``"de"``, ``"pt-br"``, ...: espeak-ng synthesis and DTW); an unknown code
        is refused with the closest known ones.
    method : {"auto", "acoustic", "tts"}
        ``"auto"`` (default): the acoustic model for ``"en"``, tts for every other
        language. ``"acoustic"``: the English acoustic model only. ``"tts"``:
        espeak-ng synthesis plus DTW in any language, English included
        (:func:`align.speech.tts_align.align_tts`; ``tts_options`` go to it). On
        English the acoustic model is the more accurate (benchmarks/README.md).
    sample_rate : None
        Reserved; the rate comes with the audio.
    window : float
        Recordings longer than this many seconds (default 60) are aligned in overlapping
        windows of this length: each window aligns the next words with an open
        end, keeps the words that end before its last fifth, and the next
        window starts where they stop. Memory is then bounded by the window
        (the window's scores, frames x senones x 4 bytes, and its Viterbi
        back-pointers, frames x states x 1-4 bytes: a few hundred MB at 60 s),
        not by the recording. Files are decoded and framed block by block, so
        the audio itself is never held whole (the features take ~16 KB per second).
    progress : bool
        Show a progress bar (tqdm) over the windows of a long recording.
    model_path, dictionary_path : str, optional
        Another Sphinx acoustic model folder or pronunciation dictionary.
    speaker_adaptation : bool
        Align twice (default): the first alignment adapts the model's means to
        the speaker (a scale and an offset per feature dimension, estimated per
        window: :func:`align.acoustic.adapt.diagonal_mllr`), the second gives
        the result. Closer to MFA's boundaries on conversational speech
        (benchmarks/README.md); False is about 1.3x faster.

    Returns
    -------
    Alignment
        ``words``: one :class:`Word` per written token (``"$5"`` keeps its text;
        ``spoken`` says what was aligned), with start and end in seconds, a
        confidence ``score`` in [0, 1] and its ARPAbet ``phones``. Bracketed
        markup (``[laughter]``, ``[noise]``, ``[unk]``) is aligned with the
        model's noise or speech-noise filler and reported as a word with that
        filler as its phone. Pauses are
        never inside a word: they belong to the gaps. ``unknown_words`` lists
        words pronounced by espeak-ng or rules.

    Raises
    ------
    ParameterError
        Unreadable audio or transcript, an empty transcript, an unsupported
        language.
    InfeasibleAlignmentError
        If the audio is too short to hold the transcript's phones.

    Notes
    -----
    Confidence is a logistic of the mean per-frame margin of the aligned
    senones over the best context-independent senone: words absent from the
    audio, or replaced by other words, score low.

    Examples
    --------
    >>> from importlib import resources
    >>> import align
    >>> wav = resources.files("align") / "data" / "sample" / "arctic_a0005_1592748459.flac"
    >>> result = align.align_transcript(wav, "Will we ever forget it.")
    >>> [w.text for w in result.words]
    ['Will', 'we', 'ever', 'forget', 'it']
    """
    from ..acoustic.graph import GapPolicy
    from ..audio.features import sphinx_features, sphinx_features_stream
    from ..audio.load import iter_audio_blocks, load_audio

    if method not in ("acoustic", "tts", "auto"):
        raise ParameterError(f"method={method!r} is not supported; use one of 'acoustic', 'tts', 'auto'")
    if method == "tts" or (method == "auto" and language != "en"):
        from .tts_align import _align_tts

        alignment, c0 = _align_tts(audio, transcript, language=language, **tts_options)
        alignment.metadata["warnings"] = speech_warnings(c0, [w.score for w in alignment.words])
        return alignment
    if tts_options:
        raise ParameterError(f"options {sorted(tts_options)} are only used with method='tts'")
    if language != "en":
        raise ParameterError(f"language={language!r}: method='acoustic' has an English model only; use "
                             "language='en', or method='auto' or 'tts' (espeak-ng synthesis and DTW) for any "
                             "other language")
    if window is None or not np.isfinite(window) or window < 10:
        raise ParameterError(f"window must be a number of seconds >= 10, got {window!r}")
    text = _read_transcript(transcript)
    audio_path = str(audio) if isinstance(audio, (str, os.PathLike)) else None
    model = _model(model_path)
    lexicon = _lexicon(dictionary_path)
    tokens, words, token_of_word = _spoken_words(text, lexicon)
    pronunciations, unknown = _pronounce(words, lexicon, set(model.ciphones))
    from ..acoustic.hesitations import is_hesitation

    hesitations = [is_hesitation(w) for w in words]
    sr = SAMPLE_RATE
    if audio_path is not None:
        # a file is decoded and framed block by block: the audio is never held whole
        blocks = iter_audio_blocks(audio, sample_rate=SAMPLE_RATE, block_duration=30.0)
        features, n_samples = sphinx_features_stream(blocks, sr, model.feature_params)
    else:
        samples, sr = load_audio(audio, sample_rate=SAMPLE_RATE)
        features, n_samples = sphinx_features(samples, sr, model.feature_params), len(samples)
    if not np.isfinite(features).all():
        # finite samples can still overflow the power spectrum: a corrupt file decoded to
        # values far outside [-1, 1] (seen with garbled Ogg Vorbis)
        source = f"audio file {audio_path!r}" if audio_path is not None else "the audio"
        raise ParameterError(f"cannot align {source}: its samples are far outside [-1, 1] (corrupt data?) "
                             "and give non-finite features; re-encode or replace the file")
    T = features.shape[0]
    gaps = GapPolicy()

    win = int(window * FRAME_RATE)
    segments = []
    if T <= win:
        path, graph, aligned, best_ci = _align_window(
            model, features, pronunciations, open_end=False, gaps=gaps, hesitations=hesitations,
            adapt=speaker_adaptation)
        segments = _collect(path, graph, aligned, best_ci, 0)
    else:
        segments = _align_long(model, features, pronunciations, win, gaps, progress, hesitations,
                               speaker_adaptation)

    alignment = _build_alignment(tokens, words, token_of_word, segments, unknown,
                                 duration=n_samples / sr, sample_rate=sr, audio_path=audio_path)
    alignment.metadata["warnings"] = speech_warnings(features[:, 0], [w.score for w in alignment.words])
    return alignment


#: below this spread of frame log-energy (c0, 95th minus 10th percentile) the signal is steady:
#: measured 0 on digital silence and 7.8 on white noise; real speech gave 16 (FSDD, 8 kHz
#: digits) to 69 (MFA clips), cathy 26-30 (benchmarks/README.md "No-speech check")
STEADY_SPREAD = 10.0
#: a median word confidence below this: 0.00-0.02 on silence, noise and tones; real speech
#: gave at least 0.12 (FSDD digits), 0.55 (MFA corpus), 0.84 (cathy)
NO_SPEECH_CONFIDENCE = 0.08


def speech_warnings(c0, scores):
    """Why the audio may hold no speech: a list of messages (empty when it looks like speech).

    Parameters
    ----------
    c0 : np.ndarray [shape=(T,)]
        Frame log-energy (the first cepstral coefficient of the aligner's features).
    scores : list of float
        The words' confidences.

    Returns
    -------
    list of str
    """
    c0 = np.asarray(c0, dtype=np.float64)
    if c0.size == 0:
        return ["no speech: the audio has no frames"]
    low, high = np.percentile(c0, [10, 95])
    spread = float(high - low)
    if spread < 1.0:
        return ["no speech: the audio is silent (its frame energy does not change)"]
    if spread < STEADY_SPREAD:
        return [f"no speech: the audio is a steady signal (noise or hum; frame energy spread {spread:.1f} "
                f"< {STEADY_SPREAD:g}), the word times are meaningless"]
    known = [s for s in scores if s is not None]
    if known and float(np.median(known)) < NO_SPEECH_CONFIDENCE:
        return [f"no speech found for this transcript: the median word confidence is {np.median(known):.2f} "
                f"(< {NO_SPEECH_CONFIDENCE:g}); check that the audio holds speech and that the transcript "
                "belongs to it"]
    return []


def _align_long(model, features, pronunciations, win, gaps, progress, hesitations, adapt):
    """Window-by-window alignment of a long recording (bounded memory)."""
    T = features.shape[0]
    n_words = len(pronunciations)
    n_phones = sum(len(p[0]) for p in pronunciations)
    # expected phones per frame over the whole file, to size each window's words
    rate = n_phones / T
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=T, unit="frame", desc="aligning")
        except ImportError:
            bar = None
    segments = []
    t = 0
    w = 0
    span = win
    while w < n_words:
        end = min(T, t + span)
        last_window = end == T
        # take enough words to cover the window at 1.5x the mean rate, plus slack
        budget = 1.5 * rate * (end - t) + 30
        k, phones = w, 0
        while k < n_words and (phones < budget or last_window):
            phones += len(pronunciations[k][0])
            k += 1
        chunk = pronunciations[w:k]
        open_end = not (last_window and k == n_words)
        try:
            path, graph, aligned, best_ci = _align_window(
                model, features[t:end], chunk, open_end=open_end, gaps=gaps, hesitations=hesitations[w:k],
                adapt=adapt)
        except InfeasibleAlignmentError:
            if last_window:
                raise
            span *= 2  # too many words for this stretch: widen the window and retry
            continue
        span = win
        keep_until = int(0.8 * (end - t))  # words ending in the last fifth are redone next window
        found = _collect(path, graph, aligned, best_ci, t)
        if last_window:
            kept = found
        else:
            # keep whole words that end before the cut; leave the rest to the next window
            last_word = -1
            for seg in found:
                if seg["word"] >= 0 and seg["t1"] <= t + keep_until:
                    last_word = max(last_word, seg["word"])
            if last_word < 0:
                last_word = max((s["word"] for s in found), default=-1)
                if last_word < 0:
                    raise InfeasibleAlignmentError(
                        f"no word could be placed in the window starting at {t / FRAME_RATE:.1f} s; "
                        "the transcript may not match the audio there"
                    )
            kept = [s for s in found if s["word"] <= last_word and s["word"] != -1
                    or (s["word"] == -1 and s["t1"] <= max(x["t1"] for x in found if x["word"] == last_word))]
        for seg in kept:
            if seg["word"] >= 0:
                seg["word"] += w
        segments += kept
        new_t = max(s["t1"] for s in kept) if kept else end
        if bar is not None:
            bar.update(new_t - t)
        if last_window:
            break
        w += max(s["word"] for s in kept if s["word"] >= 0) - w + 1
        t = new_t
        if t >= T and w < n_words:
            raise InfeasibleAlignmentError(
                f"the audio ended with {n_words - w} words of the transcript left; "
                "check that the transcript belongs to this audio"
            )
    if bar is not None:
        bar.close()
    return segments


def _word(text, segs, spoken):
    phones = [Phone(s["label"], s["t0"] / FRAME_RATE, s["t1"] / FRAME_RATE) for s in segs]
    # the frame-weighted mean margin of a word's few segments (plain floats: no arrays for 3-10 numbers)
    frames = sum(s["t1"] - s["t0"] for s in segs)
    margin = sum((s["t1"] - s["t0"]) * s["margin"] for s in segs) / frames
    return Word(text=text, start=segs[0]["t0"] / FRAME_RATE, end=segs[-1]["t1"] / FRAME_RATE,
                score=_confidence(margin), phones=phones,
                spoken=spoken if spoken != text else None)


def _build_alignment(tokens, words, token_of_word, segments, unknown, *, duration, sample_rate,
                     audio_path):
    by_word = {}
    for seg in segments:
        if seg["word"] >= 0:
            by_word.setdefault(seg["word"], []).append(seg)
    of_token = {}
    for k, i in enumerate(token_of_word.tolist()):
        if k in by_word:
            of_token.setdefault(i, []).append(k)
    out = []
    for i, tok in enumerate(tokens):
        spoken_ids = of_token.get(i, [])
        if not spoken_ids:
            continue
        # A written token of several spoken words ("$5", "twenty-one") is one Word
        # unless a pause came between its spoken words: then each spoken word is a
        # Word of its own, so that no Word spans a pause.
        runs = [[spoken_ids[0]]]
        for prev, k in zip(spoken_ids, spoken_ids[1:]):
            if by_word[k][0]["t0"] > by_word[prev][-1]["t1"]:
                runs.append([k])
            else:
                runs[-1].append(k)
        if len(runs) == 1:
            segs = [s for k in spoken_ids for s in by_word[k]]
            out.append(_word(tok.text, segs, " ".join(words[k] for k in spoken_ids)))
        else:
            for run in runs:
                segs = [s for k in run for s in by_word[k]]
                text = " ".join(words[k] for k in run)
                out.append(_word(text, segs, text))
    return Alignment(words=out, duration=duration, sample_rate=sample_rate,
                     unknown_words=unknown, audio_path=audio_path,
                     metadata={"model": "pocketsphinx en-us", "frame_rate": FRAME_RATE})
