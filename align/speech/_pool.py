"""Worker processes for the corpus functions: one thread each, started with spawn."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed

__all__ = ["init_worker", "map_unordered"]


def init_worker():
    """One thread per worker process: the pool is the parallelism."""
    import numba

    numba.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


def map_unordered(fn, calls, jobs):
    """Yield ``(i, fn(*calls[i]))`` as each call finishes, on ``jobs`` worker processes.

    ``jobs == 1`` (or one call) runs in this process, in order. spawn, not fork:
    forking a process whose Numba or BLAS threads are running is unsafe.
    """
    if jobs == 1 or len(calls) <= 1:
        for i, args in enumerate(calls):
            yield i, fn(*args)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(calls)), mp_context=context,
                             initializer=init_worker) as pool:
        futures = {pool.submit(fn, *args): i for i, args in enumerate(calls)}
        for future in as_completed(futures):
            yield futures[future], future.result()
