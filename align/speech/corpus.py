"""Align a whole corpus: many recordings, each with its transcript, on local processes or a Dask cluster.

A corpus is a folder of audio files (wav, flac, ogg, mp3, m4a) each with a
transcript of the same stem (``.txt`` or ``.lab``) beside it, as MFA and
Kaldi-style corpora lay them out. :func:`align_corpus` aligns every pair on a
pool of worker processes (each loads the acoustic model once) and writes the
outputs of each file as soon as it is done, atomically: a crash or an interrupt
loses no finished file, and a second run skips the files whose outputs exist.
A file that fails (not audio, transcript too long for it) is reported and the
others go on. With ``client=`` the files go to the workers of a Dask cluster
instead (:mod:`align.speech.distributed`), under the same rules. For the TTS+DTW
method, ``train_phone_model=`` first trains the speaker's phone model over the
corpus (or one per speaker folder) and aligns every file with it
(:mod:`align.speech.tts_training`).
"""

import dataclasses
import os
from pathlib import Path

from ..exceptions import AlignError, ParameterError
from ._pool import map_unordered
from .corpus_files import CorpusItem, CorpusResult, find_corpus

__all__ = ["CorpusItem", "CorpusResult", "find_corpus", "align_corpus"]

def _outputs(item, root, out_dir, formats):
    relative = item.audio.relative_to(root).with_suffix("")
    return tuple(Path(out_dir) / relative.parent / (relative.name + fmt) for fmt in formats)


def _align_one(item, outputs, options, durations=None, audio_label=None):
    """Worker: align one item and write its outputs (runs in a pool process).

    ``audio_label`` is the audio path recorded in the outputs (default
    ``item.audio``): a cluster worker opens absolute paths but records the
    caller's, as a local run does.
    """
    import time

    from ..tts.durations import DURATIONS_SUFFIX
    from .transcript import align_transcript

    start = time.perf_counter()
    if isinstance(options.get("phone_model"), dict):  # one model per speaker's folder
        options = {**options, "phone_model": options["phone_model"].get(str(Path(item.audio).resolve().parent))}
    try:
        alignment = align_transcript(item.audio, item.transcript, **options)
        if audio_label is not None:
            alignment = dataclasses.replace(alignment, audio_path=str(audio_label))
        for out in outputs:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.name.endswith(DURATIONS_SUFFIX):
                table = alignment.duration_table(**durations)
                table.save(out, audio=str(item.audio if audio_label is None else audio_label),
                           sample_rate=durations["sample_rate"],
                           hop_length=durations["hop_length"])
            else:
                alignment.save(out)
    except AlignError as exc:
        return CorpusResult(item, "failed", (), f"{type(exc).__name__}: {exc}",
                            time.perf_counter() - start)
    return CorpusResult(item, "aligned", outputs, None, time.perf_counter() - start)


def align_corpus(folder, out_dir, *, formats=(".TextGrid",), jobs=None, overwrite=False,
                 progress=False, durations=None, client=None, batch_seconds=None, train_phone_model=False,
                 **options):
    """Align every recording of a corpus folder and write its outputs.

    Parameters
    ----------
    folder : str or os.PathLike
        The corpus (see :func:`find_corpus`).
    out_dir : str or os.PathLike
        Where the outputs go, mirroring the corpus's sub-folders.
    formats : sequence of str
        Output extensions (".TextGrid", ".json", ".srt", ".vtt", ".ctm").
    jobs : int, optional
        Worker processes; default: the CPUs this process may use. 1 aligns in
        this process.
    overwrite : bool
        Re-align files whose outputs all exist (default: skip them, so an
        interrupted run resumes where it stopped).
    progress : bool
        A progress bar (tqdm) over the files.
    durations : dict, optional
        TTS training data too: the keyword arguments of
        :meth:`align.Alignment.duration_table` (``sample_rate`` and
        ``hop_length`` required; ``level``, ``silence``, ``min_frames``). Each
        utterance gets a ``<name>.durations.json`` (tokens, integer frame
        durations, frame offsets), written atomically with the other outputs
        and counted by the resume rule; ``out_dir/durations.jsonl`` then lists
        every utterance's table, one JSON object a line (rebuilt, atomically,
        at the end of every run).
    client : dask.distributed.Client or str, optional
        Align on a Dask cluster instead of local processes: a client you
        already have (left open), the address of a running scheduler
        (``"tcp://host:8786"``), or ``"local:N"`` for a LocalCluster of N
        single-threaded worker processes on this machine (started and closed
        here). Each task is a batch of files; the workers write the outputs
        themselves, atomically, so the corpus and ``out_dir`` must be on
        storage that every worker sees at the same path. A killed worker loses
        no written file, and its unfinished files are aligned on another
        worker (see :mod:`align.speech.distributed`). Needs the ``cluster``
        extra (dask, distributed).
    batch_seconds : float, optional
        With ``client``: audio seconds per task. Default
        :data:`align.speech.distributed.DEFAULT_BATCH_SECONDS` (120 s of
        audio, a few seconds of compute), lowered where needed so that each
        worker gets at least eight tasks; a value given here is used as it is.
    train_phone_model : bool or {"corpus", "folder"}
        For the TTS+DTW method (``method="tts"``, or a ``language`` other than
        ``"en"``): first train the speaker's phone model over the whole corpus
        (:func:`align.train_phone_model`, on the same processes or cluster), save it
        as ``out_dir/phone_model.npz`` (atomically), then align every file with it.
        True (or ``"corpus"``): one speaker, one model. ``"folder"``: a speaker per
        first-level sub-folder (MFA's layout; the files at the top are one more
        speaker), each with its own model in ``out_dir/<folder>/phone_model.npz``:
        one model for several voices is worse than each file's own (cathy with 200
        files of another voice: 95.3 -> 84.7% within 50 ms). A later run reuses the
        saved models unless ``overwrite``. On cathy's short files: 85.3% -> 95.0% of word boundaries
        within 50 ms of the acoustic aligner (benchmarks/README.md).
    **options
        Passed to :func:`align.align_transcript` (e.g. ``window``, ``language``,
        ``method``; ``phone_model=`` a model saved before).

    Returns
    -------
    list of CorpusResult
        One per item, in corpus order.

    Raises
    ------
    ParameterError
        A bad folder, an unknown format, ``jobs < 1``, ``jobs`` together with
        ``client``, a malformed ``client``, or workers that cannot see the
        corpus or the output folder.
    BackendUnavailableError
        With ``client``: dask.distributed is not installed, no scheduler answers
        at the address, or the workers cannot run fusealign.

    See Also
    --------
    align.speech.distributed : how the work is cut into tasks on a cluster.
    """
    from ..io.writers import format_for_path

    items = find_corpus(folder)
    root = Path(folder)
    formats = tuple(formats)
    if not formats:
        raise ParameterError("formats is empty; give at least one output extension, e.g. '.TextGrid'")
    for fmt in formats:
        format_for_path(Path("x" + fmt))  # raises ParameterError for an unknown extension
    if durations is not None:
        from ..tts.durations import DURATIONS_SUFFIX

        durations = dict(durations)
        missing = {"sample_rate", "hop_length"} - set(durations)
        if missing:
            raise ParameterError(f"durations needs {sorted(missing)} (the mel spectrogram's settings)")
        unknown = set(durations) - {"sample_rate", "hop_length", "level", "silence", "min_frames", "n_frames"}
        if unknown:
            raise ParameterError(f"durations takes sample_rate, hop_length, level, silence, min_frames; "
                                 f"got {sorted(unknown)}")
        formats = formats + (DURATIONS_SUFFIX,)
    if client is not None:
        from .distributed import check_client

        if jobs is not None:
            raise ParameterError(f"jobs={jobs!r} is for local processes; with client= the cluster's "
                                 f"workers are the parallelism (give one or the other)")
        check_client(client)
        jobs = 1
    elif batch_seconds is not None:
        raise ParameterError("batch_seconds sizes the tasks of a Dask cluster; it needs client=")
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be an integer >= 1, got {jobs!r}")

    results = {}
    todo = []
    for item in items:
        outputs = _outputs(item, root, out_dir, formats)
        if not overwrite and all(o.is_file() for o in outputs):
            results[item] = CorpusResult(item, "skipped", outputs)
        else:
            todo.append((item, outputs))
    if train_phone_model:
        options = _with_trained_model(items, root, Path(out_dir), options, jobs, client, overwrite, todo, progress,
                                      train_phone_model)
    elif options.get("phone_model") is not None:
        from .tts_align import load_phone_model

        load_phone_model(options["phone_model"])  # a bad path fails here, once, not in every file

    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), unit="file", desc="aligning")
        except ImportError:
            bar = None
    if client is not None and todo:
        from .distributed import run_on_client

        done = run_on_client(client, todo, root, Path(out_dir), _align_one, options, durations,
                             overwrite=overwrite, batch_seconds=batch_seconds, bar=bar)
        for index, (status, error, spent) in done.items():
            item, outputs = todo[index]
            results[item] = CorpusResult(item, status, outputs if status == "aligned" else (), error, spent)
    elif jobs == 1 or len(todo) <= 1:
        for item, outputs in todo:
            results[item] = _align_one(item, outputs, options, durations)
            if bar is not None:
                bar.update(1)
    else:
        for i, result in map_unordered(_align_one, [(item, outputs, options, durations) for item, outputs in todo],
                                       jobs):
            results[todo[i][0]] = result
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    ordered = [results[item] for item in items]
    if durations is not None:
        _write_manifest(ordered, Path(out_dir))
    return ordered


#: align_transcript's own parameters: the rest of its options go to the TTS aligner
_TRANSCRIPT_ONLY = ("language", "method", "sample_rate", "window", "progress", "model_path", "dictionary_path",
                    "speaker_adaptation")


def _speaker_groups(items, root, per_folder):
    """Items by speaker: one group ("") for the corpus, or one per first-level sub-folder of
    ``root`` (MFA's rule: a speaker's files under one folder; files at the top are one more group)."""
    groups = {}
    for item in items:
        parts = item.audio.relative_to(root).parts
        groups.setdefault(parts[0] if per_folder and len(parts) > 1 else "", []).append(item)
    return groups


def _with_trained_model(items, root, out_dir, options, jobs, client, overwrite, todo, progress, mode):
    """``options`` with ``phone_model`` set to the trained model of each file's speaker (trained and
    saved here unless its ``phone_model.npz`` exists and ``overwrite`` is off): one path, or for
    ``mode == "folder"`` a mapping of each audio folder to its speaker's model."""
    from .tts_training import corpus_model_path, train_phone_model

    if mode not in (True, "corpus", "folder"):
        raise ParameterError(f"train_phone_model must be True (or 'corpus': one model) or 'folder' (one model "
                             f"per first-level sub-folder, a speaker each), got {mode!r}")
    method, language = options.get("method", "auto"), options.get("language", "en")
    if not (method == "tts" or (method == "auto" and language != "en")):
        raise ParameterError("train_phone_model is for the TTS+DTW method: give method='tts' or a language "
                             "other than 'en' (the English acoustic model has its own speaker adaptation)")
    if "phone_model" in options:
        raise ParameterError("give train_phone_model=True or phone_model=, not both")
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"the output folder {str(out_dir)!r} is a file; give a folder")
    pending = {item for item, _ in todo}
    tts_options = {k: v for k, v in options.items() if k not in _TRANSCRIPT_ONLY}
    models = {}
    for group, members in _speaker_groups(items, root, mode == "folder").items():
        path = corpus_model_path(out_dir / group)
        if pending.intersection(members) and (overwrite or not path.is_file()):
            model = train_phone_model(members, language=language, jobs=jobs, client=client, progress=progress,
                                      **tts_options)
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
        for item in members:
            models[str(item.audio.resolve().parent)] = str(path)
    if mode != "folder":
        return {**options, "phone_model": next(iter(models.values()))}
    return {**options, "phone_model": models}


def _write_manifest(results, out_dir):
    """``durations.jsonl``: every finished utterance's duration table, in corpus order, atomically."""
    from ..io._atomic import atomic_write_text
    from ..tts.durations import DURATIONS_SUFFIX

    lines = []
    for r in results:
        for out in r.outputs:
            if out.name.endswith(DURATIONS_SUFFIX) and out.is_file():
                lines.append(out.read_text(encoding="utf-8").strip())
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "durations.jsonl", "".join(line + "\n" for line in lines))
