"""A pairwise DTW matrix on a Dask cluster: square blocks of the matrix as tasks.

:func:`align.dtw_pairwise` hands its work here when it is given ``client=``
(a :class:`dask.distributed.Client`, a scheduler address, or ``"local:N"``;
see :mod:`align._dask`). Dask does the scheduling; this module cuts the matrix
into tasks and puts the answers in place.

How a run goes:

- On the client, :func:`align.dtw_pairwise` checks the inputs exactly as it
  does without ``client`` (the same errors, naming ``X[k]``), casts them to their common dtype,
  and, when a band or the asymmetric pattern can make a pair infeasible, every
  distinct pair of lengths is checked once, so ``errors="raise"`` raises
  :class:`~align.exceptions.InfeasibleAlignmentError` for the first infeasible
  pair (the one the local run names) before any task starts.
- The series are sent to every worker once (``client.scatter(...,
  broadcast=True)``): one list of X, and one of Y when Y is given.
- The ``(n, m)`` matrix is cut into square blocks of ``block`` rows and
  columns (the last ones smaller). With ``Y=None`` and a symmetric pattern
  only the blocks on and above the diagonal are tasks; a block on the diagonal
  is its own triangle, one above it is mirrored into the lower triangle.
- Each task runs the CPU code of :func:`align.dtw_pairwise` on its block (with
  ``n_jobs=1`` unless ``n_jobs`` is given: the worker threads are the
  parallelism) and returns its ``(rows, cols)`` float64 block. The client
  writes each block into a preallocated matrix as it arrives
  (:func:`distributed.as_completed`) and releases it on the cluster at once.
- A killed worker's tasks are run again by Dask on another worker; a block is
  pure, so the matrix is the same. Every value equals the local run's bit for
  bit: the same kernels run on the same pairs in the same orientation.

Memory, for ``n = len(X)``, ``m = len(Y)``, ``b = block`` and ``S`` the bytes
of the series (``sum(len(x_k)) * d * itemsize``, for X and Y):

- client: the output, ``8 * n * m`` bytes, plus the inputs and one cast copy
  of them when their dtypes differ;
- each worker: ``S`` (its copy of the series) plus, per running task,
  ``8 * b**2`` bytes of block and the kernels' ``O(b * max length)`` scratch;
  a finished block stays there only until the client has fetched it;
- scheduler: a few kB per block (``ceil(n / b) * ceil(m / b)`` blocks).

Limits: the scattered series live on the workers; if every worker holding them
dies at once (all of them at the same moment) the run fails with Dask's error.
"""

import math
import uuid

import numpy as np

from .._dask import check_client, import_distributed, n_workers, resolve_client
from .._validation import check_positive_int
from ..exceptions import AlignError, BackendUnavailableError

__all__ = ["pairwise_on_client", "plan_blocks", "block_size", "TASK_SECONDS"]

#: target compute seconds per task: long against the scheduler's per-task
#: overhead (about a millisecond), short enough to balance the workers
TASK_SECONDS = 1.0

#: at least this many tasks per worker, when the matrix is large enough
TASKS_PER_WORKER = 4

#: block sizes are kept in this range (a 2048-square block is 32 MiB)
MIN_BLOCK, MAX_BLOCK = 8, 2048

#: seconds per pair and per cell on one core (the development machine, symmetric1 kernels;
#: benchmarks/bench_dtw_pairwise_distributed.py): a sizing hint only
_PAIR_SECONDS = 10e-6
_CELL_SECONDS = 1.5e-9
_FEATURE_SECONDS = 0.6e-9


def block_size(lx, ly, d, radius, symmetric, workers):
    """Rows per block so a task runs about :data:`TASK_SECONDS`.

    Parameters
    ----------
    lx, ly : np.ndarray [shape=(n,), (m,), int64]
        The lengths of the series of X and of Y.
    d : int
        Features per row.
    radius : int or None
        Sakoe-Chiba radius (cells per row ``2 * radius + 1``), None for no band.
    symmetric : bool
        Whether only the upper triangle is computed.
    workers : int
        Workers on the cluster (0 if unknown): the block is made small enough
        for :data:`TASKS_PER_WORKER` tasks per worker.

    Returns
    -------
    int
        In ``[MIN_BLOCK, MAX_BLOCK]``.
    """
    n, m = float(lx.mean()), float(ly.mean())
    cells = n * (min(m, 2 * radius + 1) if radius is not None else m)
    pair = _PAIR_SECONDS + cells * (_CELL_SECONDS + _FEATURE_SECONDS * d)
    b = math.sqrt(TASK_SECONDS / pair)
    if workers > 0:
        pairs = len(lx) * len(ly) / (2.0 if symmetric else 1.0)
        b = min(b, math.sqrt(pairs / (TASKS_PER_WORKER * workers)))
    return int(min(MAX_BLOCK, max(MIN_BLOCK, b)))


def plan_blocks(n, m, block, symmetric):
    """The blocks of an ``(n, m)`` matrix.

    Parameters
    ----------
    n, m : int
        Rows and columns.
    block : int
        Rows and columns per block (the last row and column of blocks smaller).
    symmetric : bool
        Only blocks on and above the diagonal (``n == m``).

    Returns
    -------
    list of (int, int, int, int)
        ``(i0, i1, j0, j1)``: rows ``i0:i1``, columns ``j0:j1``, row-major order.
        Their union covers the matrix (its upper triangle, with ``symmetric``)
        exactly once.
    """
    rows = range(0, n, block)
    out = []
    for i0 in rows:
        for j0 in range(i0 if symmetric else 0, m, block):
            out.append((i0, min(i0 + block, n), j0, min(j0 + block, m)))
    return out


# ------------------------------------------------------------------ worker side

def _block_task(run_block, xs, ys, i0, i1, j0, j1, diagonal, options):
    """A task: the ``(i1 - i0, j1 - j0)`` float64 block of the matrix.

    ``run_block`` is :func:`align.sequence.dtw._pairwise` (pickled by reference:
    it is imported on the worker); ``xs`` and ``ys`` are the whole lists of
    series (scattered once); ``diagonal`` means a block on the diagonal of a
    symmetric matrix (``xs[i0:i1]`` against itself: its triangle, mirrored,
    diagonal 0); ``options`` are the arguments of ``run_block`` after ``X, Y``.
    """
    o = options
    rows = xs[i0:i1]
    cols = None if diagonal else ys[j0:j1]
    return run_block(rows, cols, o["n_jobs"], o["metric"], o["step_pattern"], o["window"],
                          o["radius"], o["max_slope"], o["subsequence"], o["errors"], o["backend"],
                          None, allow_fast=o["allow_fast"])


# ------------------------------------------------------------------ client side

#: called on the client as ``hook(done, total)`` after each block is in place (tests)
_AFTER_BLOCK = None


def pairwise_on_client(client, xs, ys, *, symmetric, run_block, options, block=None,
                       band_radius=None):
    """The matrix of :func:`align.dtw_pairwise`, its blocks as tasks on the cluster behind ``client``.

    :func:`align.dtw_pairwise` checks the inputs (the same checks as without
    ``client``, feasibility included) and calls this.

    Parameters
    ----------
    client : distributed.Client or str
        See :func:`align._dask.resolve_client`.
    xs : list of np.ndarray [shape=(n_k,) or (n_k, d)]
        The checked series of X, all of one dtype.
    ys : list of np.ndarray [shape=(m_k,) or (m_k, d)] or None
        Those of Y; None for X against itself.
    symmetric : bool
        Only the upper triangle is computed (then mirrored; diagonal 0).
    run_block : callable
        ``run_block(X, Y, *options...)``: the local matrix of a block
        (:func:`align.sequence.dtw._pairwise`, importable on the workers).
    options : dict
        Its arguments after ``X, Y``: ``n_jobs``, ``metric``, ``step_pattern``,
        ``window``, ``radius``, ``max_slope``, ``subsequence``, ``errors``,
        ``backend``, ``allow_fast``.
    block : int, optional
        Rows and columns per task; default :func:`block_size`.
    band_radius : int, optional
        The Sakoe-Chiba radius, for :func:`block_size`.

    Returns
    -------
    np.ndarray [shape=(len(xs), len(ys)), float64]
        Equal, bit for bit, to the local ``dtw_pairwise``.

    Raises
    ------
    ParameterError
        A malformed ``client`` or ``block``.
    BackendUnavailableError
        dask.distributed missing, no scheduler at the address, workers without
        fusealign, or a block whose workers all died
        (``distributed.scheduler.allowed-failures`` times; out of memory?).
    """
    check_client(client)
    if block is not None:
        block = check_positive_int("block", block)
    Y = ys
    ys = xs if ys is None else ys
    r = band_radius
    nx, ny = len(xs), len(ys)
    client, owned = resolve_client(client)
    distributed = import_distributed()
    futures = {}
    try:
        if block is None:
            d = 1 if xs[0].ndim == 1 else xs[0].shape[1]
            lx = np.array([len(q) for q in xs])
            ly = lx if Y is None else np.array([len(q) for q in ys])
            block = block_size(lx, ly, d, r, symmetric, n_workers(client))
        try:
            xs_f = client.scatter([xs], broadcast=True, hash=False)[0]
            ys_f = xs_f if Y is None else client.scatter([ys], broadcast=True, hash=False)[0]
        except (OSError, TimeoutError) as exc:
            raise BackendUnavailableError(
                f"cannot send the series to the Dask workers ({type(exc).__name__}: {exc})") from exc
        out = np.zeros((nx, ny))
        run = uuid.uuid4().hex[:12]
        for i0, i1, j0, j1 in plan_blocks(nx, ny, block, symmetric):
            diagonal = symmetric and i0 == j0
            f = client.submit(_block_task, run_block, xs_f, ys_f, i0, i1, j0, j1, diagonal, options,
                              key=f"dtw_pairwise-block-{run}-{i0}-{j0}", pure=False)
            futures[f] = (i0, i1, j0, j1, diagonal)
        total, done = len(futures), 0
        for f in distributed.as_completed(list(futures), loop=client.loop):
            i0, i1, j0, j1, diagonal = futures.pop(f)
            try:
                part = f.result()
            except AlignError:
                raise
            except distributed.KilledWorker as exc:
                raise BackendUnavailableError(
                    f"every Dask worker that ran the block X[{i0}:{i1}] x Y[{j0}:{j1}] died ({exc}); "
                    f"out of memory? try a smaller block= (now {block})") from exc
            except ImportError as exc:
                raise BackendUnavailableError(
                    f"the Dask workers cannot run fusealign's tasks ({type(exc).__name__}: {exc}); "
                    f"install fusealign on every worker") from exc
            f.release()
            out[i0:i1, j0:j1] = part
            if symmetric and not diagonal:
                out[j0:j1, i0:i1] = part.T
            done += 1
            if _AFTER_BLOCK is not None:
                _AFTER_BLOCK(done, total)
    finally:
        if futures:
            client.cancel(list(futures))
        for thing in owned:
            thing.close()
    return out
