"""dtw_pairwise(client=) on a Dask LocalCluster against the local dtw_pairwise (issue 15).

The matrix of ``--n`` (default 1,000) FSDD spoken digits' MFCC sequences
(13 cepstra at 100 frames/s, ``align.audio.features.sphinx_cepstra``, float32,
about 30-80 frames each), X against itself (the upper triangle), four ways:
``dtw_pairwise(n_jobs=1)`` and ``n_jobs=2`` (threads on this machine), and
``dtw_pairwise(client=)`` on a LocalCluster of 1 and of 2 single-threaded worker
processes. Each cluster is started, and its workers warmed up on a tiny matrix
(loading the compiled kernels), before its timing; the timing includes sending
the series to the workers. Every matrix is checked equal, bit for bit, to the
local one. ``--random`` uses random series of the same lengths instead (no
audio needed). Prints a markdown table.

Run from the repository root::

    python benchmarks/bench_dtw_pairwise_distributed.py --n 1000

Timings depend on the machine's load: say what else was running.
"""

import argparse
import logging
import time
from pathlib import Path

import numpy as np

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech" / "fsdd"


def _series(n, random):
    from align.audio.features import sphinx_cepstra
    from align.audio.load import load_audio

    files = sorted(FSDD.glob("*.flac"))[:n]
    if len(files) < n:
        raise SystemExit(f"{FSDD} has {len(files)} clips, fewer than --n {n}")
    out = []
    for f in files:
        samples, sr = load_audio(f, sample_rate=16000)
        out.append(np.ascontiguousarray(sphinx_cepstra(samples, sr)))
    if random:
        rng = np.random.default_rng(0)
        out = [rng.standard_normal(q.shape).astype(q.dtype) for q in out]
    return out


def _time(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main():
    import distributed

    from align import dtw_pairwise

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="sequences (default 1000)")
    ap.add_argument("--block", type=int, default=None, help="rows per task (default: sized)")
    ap.add_argument("--random", action="store_true", help="random series of the clips' lengths")
    args = ap.parse_args()

    X = _series(args.n, args.random)
    lengths = np.array([len(q) for q in X])
    print(f"{len(X)} sequences, {lengths.min()}-{lengths.max()} frames (mean {lengths.mean():.0f}), "
          f"d={X[0].shape[1]}, {X[0].dtype}; {len(X) * (len(X) - 1) // 2} pairs")
    dtw_pairwise(X[:4])  # compile / load the kernels here too
    rows = []
    t1, ref = _time(lambda: dtw_pairwise(X, n_jobs=1))
    rows.append(("local, n_jobs=1", t1))
    t2, got = _time(lambda: dtw_pairwise(X, n_jobs=2))
    assert np.array_equal(got, ref)
    rows.append(("local, n_jobs=2", t2))
    for workers in (1, 2):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster, set_as_default=False)
        try:
            dtw_pairwise(X[:8], client=client, block=4)  # every worker loads the kernels
            t, got = _time(lambda: dtw_pairwise(X, client=client, block=args.block))
            assert np.array_equal(got, ref), f"{workers} workers: not the local matrix"
            rss = client.run(lambda: __import__("psutil").Process().memory_info().rss)
        finally:
            client.close()
            cluster.close()
        rows.append((f"LocalCluster, {workers} worker{'s' if workers > 1 else ''}", t,
                     max(rss.values()) / 2**20))
    print()
    print("| run | seconds | vs local n_jobs=1 | vs 1 worker | worker RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    one_worker = rows[2][1]
    for row in rows:
        name, t = row[0], row[1]
        rss = f"{row[2]:.0f}" if len(row) > 2 else ""
        vs_worker = f"{one_worker / t:.2f}x" if len(row) > 2 else ""
        print(f"| {name} | {t:.2f} | {t1 / t:.2f}x | {vs_worker} | {rss} |")


if __name__ == "__main__":
    main()
