"""A corpus on a Dask LocalCluster against today's local processes (issue 15).

Aligns the first ``--files`` cathy utterances (default 300) four ways, each into
a fresh output folder: ``align_corpus(jobs=1)`` (in this process, Numba on every core;
and again with Numba on one thread, the match for one single-threaded worker) and
``jobs=2`` (today's local processes), and ``align_corpus(client=)`` on a LocalCluster of 1 and of 2
single-threaded worker processes, started before the timing in two ways:
"preloaded", as ``align corpus --scheduler local:N`` starts them (each worker
warms itself, model, lexicon and kernels, before it joins: the way to start
workers of a real cluster, ``dask worker ADDRESS --preload
align.speech.distributed``), and "cold", plain workers whose first task loads
the model (timed, as it is for the local pool's processes), followed by a
second run on those same workers ("warm": a cluster that serves run after run). It prints seconds, speedups, the cluster workers' memory (RSS
after the run and peak, from ``client.run``), the measured per-file cost in
seconds of compute per second of audio, the scheduler's per-task overhead
(no-op tasks), and from these an estimate of how many workers align a
1,000-hour corpus in one hour. The four runs are repeated in turn (``--repeats``,
default 3) and each figure is their median, with the range beside it.

Run from the repository root (outputs go to a temporary folder)::

    python benchmarks/bench_corpus_distributed.py --files 300

Timings depend on the machine's load: say what else was running.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def _corpus(n, where):
    root = where / "corpus"
    root.mkdir()
    for audio in sorted((SPEECH / "cathy").glob("*.flac"))[:n]:
        shutil.copy(audio, root / audio.name)
        shutil.copy(audio.with_suffix(".txt"), root / (audio.stem + ".txt"))
    return root


def _run(label, root, out, **kwargs):
    from align import align_corpus

    start = time.perf_counter()
    results = align_corpus(root, out, formats=(".TextGrid",), **kwargs)
    wall = time.perf_counter() - start
    bad = [r for r in results if r.status != "aligned"]
    assert not bad, f"{label}: {len(bad)} files not aligned, e.g. {bad[0].error}"
    return wall, results


def _noop(x):
    return x


def main():
    import numba

    from align._dask import resolve_client as local_cluster
    from align.audio.load import audio_info
    from align.speech.distributed import DEFAULT_BATCH_SECONDS, plan_batches, resolve_client, worker_state

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=300, help="first N cathy files (default 300)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each (default 3)")
    parser.add_argument("--noop-tasks", type=int, default=500, help="no-op tasks to time the overhead")
    args = parser.parse_args()

    where = Path(tempfile.mkdtemp(prefix="bench-corpus-dist-"))
    root = _corpus(args.files, where)
    durations = {p.name: audio_info(p).duration for p in root.glob("*.flac")}
    audio_seconds = sum(durations.values())
    print(f"{args.files} cathy files, {audio_seconds:.0f} s of audio; outputs under {where}")

    # interleaved repeats: on a shared 2-core machine one run of each can differ by 20-30%
    # from the next (the speed of a core moves with the host's load), so each figure is the
    # median of --repeats runs taken in turn, with the range beside it
    walls, runs, rows = {}, {}, {}
    overhead = []

    def record(label, wall, results, extra):
        walls.setdefault(label, []).append(wall)
        runs.setdefault(label, []).append((wall, results, extra))

    def preloaded_run(n, rep):
        # workers started as `align corpus --scheduler local:N` starts them: each warms
        # itself (align.speech.distributed.dask_setup) before it joins
        t0 = time.perf_counter()
        client, owned = resolve_client(f"local:{n}")
        started = time.perf_counter() - t0
        try:
            wall, results = _run(f"cluster {n} preloaded", root, where / f"cluster{n}-{rep}-preloaded",
                                 client=client)
            memory = client.run(worker_state)
        finally:
            for thing in owned:
                thing.close()
        record(f"LocalCluster, {n} worker{'s' if n > 1 else ''}, preloaded", wall, results, (memory, started))

    def cold_and_warm_runs(n, rep):
        # the same cluster as `local:N`, but its workers start without the warm-up
        t0 = time.perf_counter()
        client, owned = local_cluster(f"local:{n}")
        started = time.perf_counter() - t0
        try:
            wall, results = _run(f"cluster {n}", root, where / f"cluster{n}-{rep}", client=client)
            memory = client.run(worker_state)
            # the same workers again: a cluster that serves run after run keeps the model
            # and the compiled kernels, so only the first run pays their load
            warm, warm_results = _run(f"cluster {n} warm", root, where / f"cluster{n}-{rep}-warm",
                                      client=client)
            warm_memory = client.run(worker_state)
            if n == 1 and not overhead:
                # the scheduler's round trip per task, with nothing to compute
                t0 = time.perf_counter()
                client.gather(client.map(_noop, range(args.noop_tasks), pure=False))
                overhead.append((time.perf_counter() - t0) / args.noop_tasks)
        finally:
            for thing in owned:
                thing.close()
        label = f"LocalCluster, {n} worker{'s' if n > 1 else ''}"
        record(label, wall, results, (memory, started))
        record(label + ", warm", warm, warm_results, (warm_memory, started))

    for rep in range(args.repeats):
        for jobs in (1, 2):
            label = f"local processes, jobs={jobs}"
            wall, results = _run(label, root, where / f"local{jobs}-{rep}", jobs=jobs)
            record(label, wall, results, None)
        # jobs=1 aligns in this process with Numba on every core; the same on one core is
        # what one single-threaded cluster worker is to be compared with
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            label = "local, jobs=1, one thread"
            wall, results = _run(label, root, where / f"local1-one-thread-{rep}", jobs=1)
            record(label, wall, results, None)
        finally:
            numba.set_num_threads(threads)
        # the two ways of starting the cluster take turns going first: a run can be slower
        # right after another kind of run (the machine settles), and that must not favour one
        ways = (preloaded_run, cold_and_warm_runs) if rep % 2 == 0 else (cold_and_warm_runs, preloaded_run)
        for n in (1, 2):
            for way in ways:
                way(n, rep)
        ratios = {kind: walls[f"LocalCluster, 1 worker{kind}"][-1] / walls[f"LocalCluster, 2 workers{kind}"][-1]
                  for kind in ("", ", preloaded", ", warm")}
        print(f"repeat {rep + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in walls.items())
              + f"; cluster 2 workers / 1 worker: {ratios[''] :.2f}x cold, {ratios[', preloaded']:.2f}x "
              f"preloaded, {ratios[', warm']:.2f}x warm", flush=True)
    # each row is its median run (the lower middle one for an even count), its files' results
    # with it, so the per-file cost and the fixed cost below come from one run
    for label, done in runs.items():
        ranked = sorted(done, key=lambda run: run[0])
        rows[label] = ranked[(len(ranked) - 1) // 2]

    base_local = rows["local processes, jobs=1"][0]
    print()
    print(f"median of {args.repeats} interleaved runs each (range in brackets)")
    print("| run | seconds | files/s | x real time | speedup vs its 1-worker run | "
          "vs local at the same count | worker RSS after / peak (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for label, (wall, _, extra) in rows.items():
        key = label
        n = 2 if ("2 workers" in label or "jobs=2" in label) else 1
        same = rows["local processes, jobs=2" if n == 2 else
                    "local, jobs=1, one thread" if extra or "one thread" in label else "local processes, jobs=1"][0]
        base = base_local
        if extra:
            kind = label[len("LocalCluster, 1 worker"):].removeprefix("s")
            base = rows[f"LocalCluster, 1 worker{kind}"][0]
        mem = ""
        if extra:
            memory, started = extra
            mem = ", ".join(f"{s['rss_bytes'] / 2**20:.0f} / {s['max_rss_bytes'] / 2**20:.0f}"
                            for s in memory.values())
            label = f"{label} (started in {started:.1f} s, not timed)"
        spread = f"{wall:.1f} ({min(walls[key]):.1f}-{max(walls[key]):.1f})"
        print(f"| {label} | {spread} | {args.files / wall:.1f} | {audio_seconds / wall:.0f} | "
              f"{base / wall:.2f}x | {same / wall:.2f}x | {mem} |")

    # the estimate, from the 1-worker cluster run: its first file also loads the model, so the
    # steady cost per second of audio leaves the slowest file out
    wall1, results1, _ = rows["LocalCluster, 1 worker"]
    timed = sorted(results1, key=lambda r: r.seconds)[:-1]
    rtf = sum(r.seconds for r in timed) / sum(durations[r.item.audio.name] for r in timed)
    per_file = sum(r.seconds for r in timed) / len(timed)
    n_batches = len(plan_batches([durations[r.item.audio.name] for r in results1], DEFAULT_BATCH_SECONDS, 1))
    fixed = max(wall1 - rtf * audio_seconds, 0.0)  # model load, header reads, scheduling
    hours = 1000
    corpus_seconds = hours * 3600
    n_tasks = corpus_seconds / DEFAULT_BATCH_SECONDS
    scheduler_seconds = n_tasks * overhead[0]
    workers = corpus_seconds * rtf / (3600 - fixed)
    print()
    print(f"per-file cost: {per_file * 1000:.0f} ms a file, {rtf:.4f} s of compute per second of audio "
          f"({1 / rtf:.0f}x real time on one worker); fixed cost of the 1-worker run "
          f"{fixed:.1f} s (model load, header reads, {n_batches} tasks); "
          f"scheduler round trip {overhead[0] * 1000:.2f} ms per no-op task")
    print(f"estimate: {hours:,} h of audio = {corpus_seconds * rtf / 3600:,.0f} worker-hours of compute; "
          f"in one hour: ~{workers:.0f} workers (one core each) at this machine's speed per core, "
          f"with {n_tasks:,.0f} tasks of {DEFAULT_BATCH_SECONDS:.0f} s of audio "
          f"(~{scheduler_seconds:.0f} s of scheduler time in all, spread over the hour)")


if __name__ == "__main__":
    main()
