"""A phone model of one speaker trained over a corpus, for the TTS+DTW aligner's HMM pass.

The HMM pass of :mod:`align.speech.tts_hmm` learns its Gaussians from the file it
aligns. A file of a few seconds holds a few frames of each phone; a corpus of the
same speaker holds thousands, so MFA trains its model on the corpus it aligns. This
does the same, with no acoustic model read, in any language espeak-ng speaks:

1. Round 0: every file is aligned by synthesis and DTW (:func:`align_tts` without its
   HMM pass), and its segmentation into phone states is counted
   (:class:`~align.speech.tts_hmm.PhoneStats`: frames, sums, sums of squares).
2. The counts of all files make a model (:meth:`PhoneStats.model`): a Gaussian per
   state of each espeak-ng phone, one shared variance.
3. Each later round aligns every file with the model (Viterbi, each state kept
   within the HMM pass's window around its DTW frames) and counts again.

What the parent process holds is each file's first-pass words and the model's sums
(K Gaussians x 39 features); a round re-reads a file's audio for its features, so
memory does not grow with the corpus. The files go to worker processes (``jobs``)
or to a Dask cluster (``client``); a file that fails (not audio, transcript too long
for it) is left out of the counts and listed in the model's ``info["failed"]``.

Measured (benchmarks/README.md, issue 14): with a model trained on 200 of cathy's files
(the 50 of the bar among them), word boundaries of those 50 within 50 ms of the
acoustic-model aligner 85.3% (each file's own model) -> 95.0% (94.5% with a model that
saw none of the 50); on MFA's three conversational files, within 50 ms of MFA's
TextGrids 52.7 -> 60.2%.
"""

import os
from pathlib import Path

from ..exceptions import AlignError, ParameterError
from ._pool import map_unordered

__all__ = ["train_phone_model"]

#: rounds of counting: the first pass's segmentation, then Viterbi with the model twice
DEFAULT_ROUNDS = 3


def _first_round(audio, transcript, language, options):
    """Worker: (words, stats, seconds) of one file's DTW alignment, or (None, error, 0)."""
    from .tts_align import DEFAULTS, _align_tts
    from .tts_hmm import phone_stats

    try:
        alignment, _, features = _align_tts(audio, transcript, language=language, realign=0, with_features=True,
                                            **options)
        stats, _ = phone_stats(alignment.words, features, int(DEFAULTS["frame_rate"]),
                               window=float(DEFAULTS["realign_window"]))
    except AlignError as exc:
        return None, f"{type(exc).__name__}: {exc}", 0.0
    return alignment.words, stats, alignment.duration


def _later_round(audio, words, model):
    """Worker: one file's stats along its Viterbi path with ``model``, or None when it fails."""
    from .tts_align import DEFAULTS, recording_features
    from .tts_hmm import phone_stats

    try:
        stats, _ = phone_stats(words, recording_features(audio), int(DEFAULTS["frame_rate"]), model=model,
                               window=float(DEFAULTS["realign_window"]))
    except AlignError:
        return None
    return stats


def _pairs(corpus):
    """(audio, transcript) pairs from a corpus folder, CorpusItems or pairs."""
    from .corpus_files import CorpusItem, find_corpus

    if isinstance(corpus, (str, os.PathLike)):
        return [(item.audio, item.transcript) for item in find_corpus(corpus)]
    pairs = []
    for entry in corpus:
        if isinstance(entry, CorpusItem):
            pairs.append((entry.audio, entry.transcript))
        elif isinstance(entry, tuple) and len(entry) == 2:
            pairs.append(entry)
        else:
            raise ParameterError(f"each corpus entry must be an (audio, transcript) pair or a CorpusItem, "
                                 f"got {type(entry).__name__}")
    if not pairs:
        raise ParameterError("the corpus is empty: give at least one (audio, transcript) pair")
    return pairs


def _bar(progress, total, desc):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="file", desc=desc)


def _runner(jobs, client, progress):
    """A function ``run(fn, calls, desc)`` -> results in call order, on processes or a Dask cluster."""
    if client is None:
        def run(fn, calls, desc):
            results = [None] * len(calls)
            bar = _bar(progress, len(calls), desc)
            for i, result in map_unordered(fn, calls, jobs):
                results[i] = result
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
            return results

        return run, []
    from .._dask import import_distributed
    from .distributed import resolve_client

    connected, owned = resolve_client(client)

    def run_on_cluster(fn, calls, desc):
        futures = connected.map(fn, *zip(*calls), pure=False)
        bar = _bar(progress, len(calls), desc)
        if bar is not None:
            for _ in import_distributed().as_completed(futures, loop=connected.loop):
                bar.update(1)
            bar.close()
        return connected.gather(futures)

    return run_on_cluster, owned


def train_phone_model(corpus, *, language="en", rounds=DEFAULT_ROUNDS, jobs=None, client=None, progress=False,
                      **options):
    """Train the Gaussians of a speaker's phones over a corpus (the module docstring).

    Parameters
    ----------
    corpus : str, os.PathLike or iterable
        A corpus folder (:func:`align.find_corpus`), or ``(audio, transcript)`` pairs
        (files or ``(samples, sample_rate)`` audio; text or transcript paths), or
        :class:`CorpusItem` s. One speaker: the model is one voice's phones (one model
        for several voices is worse than each file's own; ``align_corpus(...,
        train_phone_model="folder")`` trains one per speaker folder).
    language : str
        The espeak-ng language of every transcript.
    rounds : int
        Rounds of counting (>= 1): the first pass's segmentation, then ``rounds - 1``
        Viterbi passes with the model so far.
    jobs : int, optional
        Worker processes (default: the CPUs this process may use; 1: this process).
    client : dask.distributed.Client or str, optional
        Count on a Dask cluster instead (as :func:`align.align_corpus`).
    progress : bool
        A progress bar (tqdm) over the files of each round.
    **options
        Passed to :func:`align.speech.tts_align.align_tts` for the first pass (``rate``, ``trim``, ...).

    Returns
    -------
    PhoneModel
        ``info`` holds the files and seconds it learnt from, the rounds and the failed files.
        Save it with :meth:`PhoneModel.save`; give it (or its path) to
        ``align_transcript(..., method="tts", phone_model=...)`` or ``align_corpus``.

    Raises
    ------
    ParameterError
        A bad corpus, ``rounds < 1``, bad ``jobs``, or no file that could be aligned.
    """
    from .tts_align import DEFAULTS

    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ParameterError(f"rounds must be an integer >= 1, got {rounds!r}")
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be an integer >= 1, got {jobs!r}")
    if "phone_model" in options or "realign" in options:
        raise ParameterError("train_phone_model makes the phone model; phone_model and realign are not options here")
    pairs = _pairs(corpus)
    run, owned = _runner(jobs, client, progress)
    try:
        first = run(_first_round, [(audio, text, language, options) for audio, text in pairs],
                    f"phone model, round 1/{rounds}")
        failed = [(str(pairs[i][0]), r[1]) for i, r in enumerate(first) if r[0] is None]
        kept = [(pairs[i][0], r[0]) for i, r in enumerate(first) if r[0] is not None]
        if not kept:
            raise ParameterError(f"no file of the corpus could be aligned to train a phone model "
                                 f"(first failure: {failed[0][1] if failed else 'none'})")
        seconds = sum(r[2] for r in first if r[0] is not None)
        frame_rate = int(DEFAULTS["frame_rate"])

        def model_of(stats, done):
            info = {"files": len(kept), "seconds": round(seconds, 2), "rounds": done, "language": language,
                    "failed": failed}
            total = sum(s for s in stats if s is not None)
            if isinstance(total, int):  # every file failed in this round (they were read in round 1)
                raise ParameterError("no file of the corpus could be read again for the phone model's "
                                     f"round {done}; check that the files did not change during the run")
            return total.model(frame_rate, info=info)

        model = model_of([r[1] for r in first if r[0] is not None], 1)
        for done in range(2, rounds + 1):
            model = model_of(run(_later_round, [(audio, words, model) for audio, words in kept],
                                 f"phone model, round {done}/{rounds}"), done)
    finally:
        for thing in reversed(owned):
            thing.close()
    return model


def corpus_model_path(out_dir):
    """Where :func:`align.align_corpus` keeps the phone model it trains: ``out_dir/phone_model.npz``."""
    return Path(out_dir) / "phone_model.npz"
