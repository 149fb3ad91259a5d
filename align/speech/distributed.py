"""Align a corpus on a Dask cluster: batches of files as tasks, outputs written by the workers.

:func:`align.align_corpus` hands its work here when it is given ``client=``: a
:class:`dask.distributed.Client` the caller already has, the address of a
running scheduler (``"tcp://host:8786"``), or ``"local:N"`` for a
:class:`~dask.distributed.LocalCluster` of N single-threaded worker processes
on this machine. Dask does the scheduling; this module only cuts the work into
tasks and collects what they report (the pattern of STUMPY's ``stumped``).

How a run goes:

- The files still to do (today's resume rule: not every output exists) are cut
  into *batches* of consecutive files whose audio adds up to about
  ``batch_seconds`` (read from the headers), so a task runs for seconds and the
  scheduler's per-task overhead (milliseconds) stays small.
- Each task aligns its files one by one and writes each file's outputs itself,
  straight into the output folder, with the project's atomic writers (a
  temporary file beside the target, fsync-ed, then :func:`os.replace`). The
  corpus and the output folder must therefore be on storage that the client
  and every worker see at the same path (a shared file system); a check on
  every worker says so before any task starts.
- The acoustic model and the lexicon are cached per process
  (:func:`functools.lru_cache` in :mod:`align.speech.transcript`), so a worker
  loads them once, on its first file, and reuses them for every later task.
  This module is also a Dask *preload* module: a worker started with
  ``dask worker ADDRESS --preload align.speech.distributed`` (and every worker
  of ``"local:N"``) loads them, and runs every kernel of an alignment once,
  before it joins the cluster (:func:`dask_setup`), so that a run's first
  tasks do not pay a second of start-up on each worker.
- A task is idempotent: before aligning a file it looks at the file's outputs
  and skips it when they are finished (they all exist; with ``overwrite=True``,
  they were all written after this run began, by the output file system's
  clock). When a worker dies, Dask runs its unfinished tasks again on another
  worker; the files that the dead worker had already written are then skipped,
  the others aligned, and each file is written once. A batch that kills its
  workers ``distributed.scheduler.allowed-failures`` times is split into one
  task per file, so only the file that kills workers (out of memory, say) is
  reported as failed. The temporary files of writes cut short by a kill are
  removed at the end of the run.
- A corpus that would give fewer than eight batches per worker is cut finer
  (unless ``batch_seconds`` is given), so every worker has work to the end.
- A file that fails is reported with its error (``CorpusResult.error``) and the
  run goes on.

This module knows nothing of the corpus layout: :mod:`align.speech.corpus`
gives it the files, their outputs and the per-file function (the one its local
processes run), and builds the results from what comes back.
"""

import dataclasses
import os
from pathlib import Path

from .. import _dask
from .._dask import check_client
from .._dask import import_distributed as _import_distributed
from .._dask import n_workers as _n_workers
from ..exceptions import BackendUnavailableError, ParameterError

__all__ = ["check_client", "resolve_client", "run_on_client", "plan_batches", "worker_state",
           "warm_up", "dask_setup", "DEFAULT_BATCH_SECONDS", "WORKER_PRELOAD"]

#: audio seconds per task: 2-3 s of compute at the 0.015-0.025 s per audio second
#: that one core of the development machine spends on read speech (bench_corpus_distributed.py)
DEFAULT_BATCH_SECONDS = 120.0

#: seconds to wait for a scheduler to answer before saying it cannot be reached
CONNECT_TIMEOUT = _dask.CONNECT_TIMEOUT

#: at least this many batches per worker, when the corpus has files enough
BATCHES_PER_WORKER = 8

#: the Dask preload module that warms a worker as it starts (see :func:`dask_setup`)
WORKER_PRELOAD = __name__

#: the bundled utterance a worker aligns once as it starts: 3.3 s of CC0 speech, long
#: enough for the speaker adaptation's first pass (so its kernels are loaded too)
WARM_UP_SAMPLE = "arctic_a0001_1592748574"


def resolve_client(client):
    """:func:`align._dask.resolve_client` with this module's :data:`CONNECT_TIMEOUT`.

    Parameters
    ----------
    client : distributed.Client or str
        A client, a scheduler address or ``"local:N"``.

    Returns
    -------
    client : distributed.Client
    owned : list
        The client and cluster made here (close them after the run), else empty.
    """
    return _dask.resolve_client(client, timeout=CONNECT_TIMEOUT, preload=[WORKER_PRELOAD])


def _audio_seconds(path):
    """The length of ``path`` from its header; estimated from its size when unreadable."""
    from ..audio.load import audio_info

    try:
        seconds = audio_info(path).duration
    except ParameterError:
        seconds = None
    if seconds is None:
        try:
            seconds = os.path.getsize(path) / 32000.0  # 16-bit mono at 16 kHz
        except OSError:
            seconds = 0.0
    return float(seconds)


def plan_batches(seconds, batch_seconds, n_workers=0):
    """Cut consecutive files into batches of about ``batch_seconds`` of audio.

    Parameters
    ----------
    seconds : sequence of float
        Each file's length in seconds.
    batch_seconds : float
        Target audio per batch. A file longer than that is a batch alone.
    n_workers : int
        Workers on the cluster. With a count, the target is lowered so that
        there are at least :data:`BATCHES_PER_WORKER` batches per worker (when
        there are files enough); with two or more, the batches of the last
        rounds shrink (each half of what is left per worker, down to an
        eighth of the target), so the workers finish together: a worker that
        takes the last full batch would otherwise leave the others idle for
        up to one batch's time. 0: unknown, every batch at the target.

    Returns
    -------
    list of list of int
        Indices into ``seconds``, in order; every index exactly once.
    """
    total = float(sum(seconds))
    target = float(batch_seconds)
    if n_workers > 0 and total > 0:
        target = min(target, total / (BATCHES_PER_WORKER * n_workers))
    batches, current, acc, left = [], [], 0.0, total
    want = target
    for i, s in enumerate(seconds):
        current.append(i)
        acc += s
        if acc >= want:
            batches.append(current)
            left -= acc
            current, acc = [], 0.0
            if n_workers > 1:
                want = min(target, max(target / 8, left / (2 * n_workers)))
    if current:
        batches.append(current)
    return batches


# ------------------------------------------------------------------ worker side

_PREPARED = False

#: glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD)
_M_MMAP_THRESHOLD = -3

#: blocks up to this size come from the heap, not from a fresh mmap: glibc's own ceiling
#: for its dynamic threshold on 64-bit Linux (DEFAULT_MMAP_THRESHOLD_MAX)
MMAP_THRESHOLD_BYTES = 32 * 2**20


def _heap_for_large_blocks():
    """Undo what Dask's worker environment does to glibc's mmap threshold; True if done.

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``) so that freed memory goes back to
    the system. Setting that variable also turns off glibc's dynamic mmap
    threshold, so every array over 128 KiB is a fresh ``mmap`` whose pages
    fault in again: aligning a cathy file then took 4,600 page faults instead
    of 2 and 1.5x the time (``MALLOC_TRIM_THRESHOLD_=65536`` on a plain
    process: 3.7 s against 2.5 s for 100 files). Raising the mmap threshold
    to glibc's own dynamic ceiling gives the time back and keeps the trim
    threshold, so freed memory at the top of the heap still goes back.
    Elsewhere (not glibc) this does nothing.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False


def _prepare_worker():
    """Prepare a worker process once: Numba and BLAS on one thread, large blocks from the heap.

    Numba's thread count is per thread and is set every time; the workers are
    the parallelism.
    """
    global _PREPARED
    import numba

    numba.set_num_threads(1)
    if not _PREPARED:
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
        except ImportError:
            pass
        _heap_for_large_blocks()
        _PREPARED = True


_WARM_UP_SECONDS = None


def warm_up():
    """Make this process ready to align: the model, the lexicon and every kernel loaded.

    A process's first alignment costs about a second more than the next one:
    Numba's CPU target is set up on the first compiled call (about 0.4 s), the
    cached kernels are loaded from disk, the lexicon and the model files are
    read, the writers are imported. Aligning the bundled sample once and
    writing it in every output format (to a temporary folder) pays all of
    that. Later calls in the process return at once.

    Returns
    -------
    float
        Seconds the warm-up took (in the call that did it).
    """
    global _WARM_UP_SECONDS
    if _WARM_UP_SECONDS is None:
        import tempfile
        import time
        from importlib import resources

        from ..io.writers import FORMATS
        from ..tts.durations import DURATIONS_SUFFIX
        from .transcript import align_transcript

        start = time.perf_counter()
        sample = resources.files("align") / "data" / "sample"
        mel = {"sample_rate": 22050, "hop_length": 256}
        with resources.as_file(sample / f"{WARM_UP_SAMPLE}.flac") as audio, \
                tempfile.TemporaryDirectory(prefix="align-warm-up-") as out:
            # what a corpus task does with a file (align.speech.corpus._align_one)
            alignment = align_transcript(audio, (sample / f"{WARM_UP_SAMPLE}.txt").read_text(encoding="utf-8"))
            for ext in FORMATS:
                alignment.save(Path(out) / f"{WARM_UP_SAMPLE}{ext}")
            alignment.duration_table(**mel).save(Path(out) / f"{WARM_UP_SAMPLE}{DURATIONS_SUFFIX}",
                                                 audio=str(audio), **mel)
        _WARM_UP_SECONDS = time.perf_counter() - start
    return _WARM_UP_SECONDS


def _warm_up_this_thread():
    _prepare_worker()
    warm_up()


async def dask_setup(worker):
    """Dask's preload hook: warm this worker (:func:`warm_up`) before it joins the cluster.

    Used by every worker of ``"local:N"``, and by workers started with
    ``dask worker ADDRESS --preload align.speech.distributed``. The warm-up
    runs in the worker's task executor, not in its event loop's thread: glibc
    gives each thread a malloc arena of its own, and the arena of the thread
    that runs the tasks must be the one that grows to hold an alignment's
    working set. Warmed in the event loop's thread, a worker's task thread
    started from an empty arena that Dask's ``MALLOC_TRIM_THRESHOLD_`` then
    trimmed after every file: 100,000 more page faults and about 20% more
    time per file for 150 cathy files. A warm-up that fails (fusealign
    installed without its speech extra, say) is logged and the worker starts
    anyway: a corpus task then reports the real error.

    Parameters
    ----------
    worker : distributed.Worker
        The worker being started; its ``executor`` runs the warm-up.
    """
    import asyncio
    import logging

    try:
        await asyncio.get_running_loop().run_in_executor(worker.executor, _warm_up_this_thread)
    except Exception as exc:  # noqa: BLE001 - a failed warm-up must not keep the worker from starting
        logging.getLogger(__name__).warning(
            "fusealign could not warm this worker (%s: %s); its first task will load the model",
            type(exc).__name__, exc)


def _finished(outputs, since_ns):
    """Whether every output exists (and, with ``since_ns``, was written after it)."""
    for out in outputs:
        try:
            st = os.stat(out)
        except OSError:
            return False
        # strictly after: file systems stamp times with a coarse clock (a few ms), so a file
        # written just before the run began may carry the run's start time; redoing one is safe
        if since_ns is not None and st.st_mtime_ns <= since_ns:
            return False
    return True


def _worker_check(root, out_dir):
    """Run on every worker before the tasks: can it read the corpus and write the outputs?"""
    problems = []
    if not os.path.isdir(root):
        problems.append(f"the corpus folder {root!r} does not exist there")
    if not (os.path.isdir(out_dir) and os.access(out_dir, os.W_OK | os.X_OK)):
        problems.append(f"the output folder {out_dir!r} is not a writable folder there")
    return problems


def _align_batch(batch, align_one, options, durations, since_ns):
    """A task: align each file of ``batch`` unless finished, writing its outputs; report each.

    Parameters
    ----------
    batch : list of (int, CorpusItem, tuple of str, str)
        Index in the run, the item and its output paths (absolute paths), and
        the audio path as the caller gave it (recorded in the outputs).
    align_one : callable
        ``align_one(item, outputs, options, durations, audio_label=)``: aligns
        one file, writes its outputs and returns its ``CorpusResult``
        (:func:`align.speech.corpus._align_one`, pickled by reference).
    options : dict
        Keyword arguments of :func:`align.align_transcript`.
    durations : dict or None
        As for :func:`align.align_corpus`.
    since_ns : int or None
        With ``overwrite``: outputs written at or before this time (ns, the
        output file system's clock) are not finished.

    Returns
    -------
    list of (int, str, str or None, float)
        Index, status ("aligned" or "failed"), error, seconds spent.
    """
    _prepare_worker()
    report = []
    for index, item, outputs, label in batch:
        outputs = tuple(Path(o) for o in outputs)
        if _finished(outputs, since_ns):
            # written in this run by an attempt whose worker then died: not again
            report.append((index, "aligned", None, 0.0))
            continue
        try:
            r = align_one(item, outputs, options, durations, audio_label=label)
            report.append((index, r.status, r.error, r.seconds))
        except Exception as exc:  # noqa: BLE001 - one bad file must not end a cluster-wide run
            report.append((index, "failed", f"{type(exc).__name__}: {exc}", 0.0))
    return report


def worker_state():
    """What a worker process holds: for ``client.run(worker_state)`` in tests and benchmarks.

    Returns
    -------
    dict
        ``pid``; ``model_loads``, how many times this process loaded the
        acoustic model; ``warm_up_seconds``, what :func:`warm_up` took (None
        if it did not run in this process); ``rss_bytes``, its resident memory now (psutil, else
        None); ``max_rss_bytes``, its peak (:mod:`resource`, Linux units).
    """
    from .transcript import _model

    state = {"pid": os.getpid(), "model_loads": _model.cache_info().misses,
             "warm_up_seconds": _WARM_UP_SECONDS, "rss_bytes": None, "max_rss_bytes": None}
    try:
        import psutil

        state["rss_bytes"] = psutil.Process().memory_info().rss
    except ImportError:
        pass
    try:
        import resource

        state["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except ImportError:
        pass
    return state


# ------------------------------------------------------------------ client side

def _remove_stale_temporaries(outputs):
    """Temporary files of the atomic writers left by workers that were killed mid-write.

    The writers name them ``.<output name>.<8 random characters>.tmp``
    (:func:`tempfile.mkstemp`, :mod:`align.io._atomic`). Each output folder is
    listed once: a glob per output listed the folder once per file, which
    made this quadratic in the corpus (90,000 entries read for 300 files).
    """
    by_dir = {}
    for out in outputs:
        by_dir.setdefault(out.parent, set()).add(out.name)
    for directory, names in by_dir.items():
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            n = entry.name
            if not (n.startswith(".") and n.endswith(".tmp")):
                continue
            target, dot, _ = n[1:-len(".tmp")].rpartition(".")
            if dot and target in names:
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


def run_on_client(client, todo, root, out_dir, align_one, options, durations, *, overwrite=False,
                  batch_seconds=None, bar=None):
    """Align ``todo`` on the cluster behind ``client``; the files' results, as they finish.

    Parameters
    ----------
    client : distributed.Client or str
        See :func:`resolve_client`.
    todo : list of (CorpusItem, tuple of Path)
        The items to align and their output paths.
    root : Path
        The corpus folder.
    out_dir : Path
        The output folder (created here if missing).
    align_one : callable
        The per-file function (see :func:`_align_batch`); it must be
        importable on the workers.
    options : dict
        Keyword arguments of :func:`align.align_transcript`.
    durations : dict or None
        As for :func:`align.align_corpus`.
    overwrite : bool
        Whether this run re-aligns files that had outputs before it began.
    batch_seconds : float, optional
        Audio seconds per task, used as given; default
        :data:`DEFAULT_BATCH_SECONDS`, lowered to give each worker at least
        :data:`BATCHES_PER_WORKER` tasks (see :func:`plan_batches`).
    bar : tqdm or None
        Advanced by each finished batch's number of files.

    Returns
    -------
    dict
        Index into ``todo`` -> (status, error, seconds), one for every item:
        status "aligned" or "failed", error None or "ExceptionName: message".

    Raises
    ------
    ParameterError
        A malformed ``client``, or workers that cannot see the corpus or write
        the output folder (they need the same shared storage as the client).
    BackendUnavailableError
        If dask.distributed is missing, the scheduler cannot be reached, or the
        workers cannot run fusealign's tasks (not installed there).
    """
    if batch_seconds is not None and (isinstance(batch_seconds, bool)
                                      or not isinstance(batch_seconds, (int, float)) or not batch_seconds > 0):
        raise ParameterError(f"batch_seconds must be a number of seconds > 0, got {batch_seconds!r}")
    client, owned = resolve_client(client)
    distributed = _import_distributed()
    futures = {}
    try:
        out_dir = Path(out_dir).absolute()
        out_dir.mkdir(parents=True, exist_ok=True)
        since_ns = None
        if overwrite:
            # the output file system's clock, not this machine's: workers compare mtimes with it
            import tempfile

            fd, stamp = tempfile.mkstemp(prefix=".align-run-", dir=out_dir)
            os.close(fd)
            since_ns = os.stat(stamp).st_mtime_ns
            os.unlink(stamp)
        try:
            seen = client.run(_worker_check, str(Path(root).absolute()), str(out_dir))
        except Exception as exc:  # noqa: BLE001 - a worker that cannot even unpickle our function
            raise BackendUnavailableError(
                f"the Dask workers cannot run fusealign's tasks ({type(exc).__name__}: {exc}); "
                f"install fusealign (with its speech extra) on every worker"
            ) from exc
        bad = {w: p for w, p in seen.items() if p}
        if bad:
            worker, problems = next(iter(bad.items()))
            raise ParameterError(
                f"{len(bad)} of {len(seen)} Dask worker(s) cannot see the corpus or the output folder "
                f"(worker {worker}: {'; '.join(problems)}); the workers write the outputs themselves, so "
                f"the corpus and the output folder must be on storage shared by the client and every "
                f"worker, at the same path"
            )
        rows = [(i, dataclasses.replace(item, audio=item.audio.absolute(),
                                        transcript=item.transcript.absolute()),
                 tuple(str(Path(o).absolute()) for o in outputs), str(item.audio))
                for i, (item, outputs) in enumerate(todo)]
        seconds = [_audio_seconds(item.audio) for item, _ in todo]
        if batch_seconds is None:
            batches = plan_batches(seconds, DEFAULT_BATCH_SECONDS, _n_workers(client))
        else:
            batches = plan_batches(seconds, batch_seconds)

        def submit(rows_of_batch):
            f = client.submit(_align_batch, rows_of_batch, align_one, options, durations, since_ns,
                              pure=False)
            futures[f] = rows_of_batch
            return f

        results = {}
        queue = distributed.as_completed([submit([rows[i] for i in b]) for b in batches], loop=client.loop)
        for future in queue:
            batch = futures.pop(future)
            try:
                report = future.result()
            except distributed.KilledWorker as exc:
                if len(batch) > 1:
                    # one file may be what kills the workers: try each alone
                    for row in batch:
                        queue.add(submit([row]))
                    continue
                report = [(batch[0][0], "failed",
                           f"KilledWorker: every worker that ran this file died ({exc}); "
                           f"out of memory? try a smaller window=", 0.0)]
            except Exception as exc:  # noqa: BLE001 - reported per file, the run goes on
                report = [(row[0], "failed", f"{type(exc).__name__}: {exc}", 0.0) for row in batch]
            for index, status, error, spent in report:
                results[index] = (status, error, spent)
            if bar is not None:
                bar.update(len(batch))
    finally:
        if futures:
            client.cancel(list(futures))
        for thing in owned:
            thing.close()
    _remove_stale_temporaries([Path(o) for _, outputs in todo for o in outputs])
    return results
