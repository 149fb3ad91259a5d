"""Align a whole corpus: many recordings, each with its transcript, on local processes or a Dask cluster.

A corpus is a folder of audio files (wav, flac, ogg, mp3, m4a) each with a
transcript of the same stem (``.txt`` or ``.lab``) beside it, as MFA and
Kaldi-style corpora lay them out. :func:`align_corpus` aligns every pair on a
pool of worker processes (each loads the acoustic model once) and writes the
outputs of each file as soon as it is done, atomically: a crash or an interrupt
loses no finished file, and a second run skips the files whose outputs exist.
A file that fails (not audio, transcript too long for it) is reported and the
others go on. With ``client=`` the files go to the workers of a Dask cluster
instead (:mod:`align.speech.distributed`), under the same rules.
"""

import dataclasses
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import AlignError, ParameterError

__all__ = ["CorpusItem", "CorpusResult", "find_corpus", "align_corpus"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")
TRANSCRIPT_SUFFIXES = (".txt", ".lab")


@dataclass(frozen=True)
class CorpusItem:
    """One recording and its transcript file."""

    audio: Path
    transcript: Path


@dataclass(frozen=True)
class CorpusResult:
    """What happened to one item: ``status`` is "aligned", "skipped" or "failed"."""

    item: CorpusItem
    status: str
    outputs: tuple = ()
    error: str | None = None
    seconds: float = 0.0


def find_corpus(folder):
    """Audio files under ``folder`` (recursively) that have a transcript of the same stem.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    list of CorpusItem
        Sorted by audio path.

    Raises
    ------
    ParameterError
        If ``folder`` is not a directory or holds no audio with a transcript.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ParameterError(f"corpus folder {str(root)!r} is not a directory")
    items = []
    for audio in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        for suffix in TRANSCRIPT_SUFFIXES:
            text = audio.with_suffix(suffix)
            if text.is_file():
                items.append(CorpusItem(audio, text))
                break
    if not items:
        raise ParameterError(
            f"no audio file with a transcript (same name, {' or '.join(TRANSCRIPT_SUFFIXES)}) "
            f"found under {str(root)!r}"
        )
    return items


def _outputs(item, root, out_dir, formats):
    relative = item.audio.relative_to(root).with_suffix("")
    return tuple(Path(out_dir) / relative.parent / (relative.name + fmt) for fmt in formats)


def _init_worker():
    """One thread per worker process: the pool is the parallelism."""
    import numba

    numba.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


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
                 progress=False, durations=None, client=None, batch_seconds=None, **options):
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
    **options
        Passed to :func:`align.align_transcript` (e.g. ``window``).

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
        # spawn, not fork: forking a process whose Numba/BLAS threads are running is unsafe
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                                 initializer=_init_worker) as pool:
            futures = {pool.submit(_align_one, item, outputs, options, durations): item
                       for item, outputs in todo}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    ordered = [results[item] for item in items]
    if durations is not None:
        _write_manifest(ordered, Path(out_dir))
    return ordered


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
