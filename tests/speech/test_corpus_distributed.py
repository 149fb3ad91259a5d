"""align_corpus(client=) and `align corpus --scheduler`: a real LocalCluster of two worker processes.

One cluster serves the whole module (starting one costs seconds). The runs are
compared byte for byte with a serial run (``jobs=1``) of the same files, a real
slice of the cathy corpus, durations included. One test kills a worker
(SIGKILL, as the out-of-memory killer would) after the first file is written and
checks that every file ends aligned exactly once: the files finished before the
kill are never written again, and the rest equal the serial run's.
"""

import json
import os
import platform
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from align import BackendUnavailableError, ParameterError
from align.cli import main
from align.corpus import align_corpus

from ..conftest import shared_data, shared_data_required

if shared_data_required():
    import distributed
else:
    distributed = pytest.importorskip("distributed")

N_FILES = 8
FORMATS = (".TextGrid", ".json")
DURATIONS = {"sample_rate": 22050, "hop_length": 256}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    cathy = Path(shared_data("data/speech/cathy"))
    root = tmp_path_factory.mktemp("cathy") / "corpus"
    (root / "part2").mkdir(parents=True)
    for i, audio in enumerate(sorted(cathy.glob("*.flac"))[:N_FILES]):
        where = root if i < N_FILES // 2 else root / "part2"  # sub-folders are mirrored
        shutil.copy(audio, where / audio.name)
        shutil.copy(audio.with_suffix(".txt"), where / (audio.stem + ".txt"))
    return root


@pytest.fixture(scope="module")
def serial(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    results = align_corpus(corpus, out, formats=FORMATS, jobs=1, durations=DURATIONS)
    assert [r.status for r in results] == ["aligned"] * N_FILES
    return out


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _same_alignment(path, reference):
    """Equal JSON outputs but for the audio path (another folder, same file)."""
    a, b = json.loads(path.read_text()), json.loads(reference.read_text())
    assert Path(a.pop("audio_path")).name == Path(b.pop("audio_path")).name
    assert a == b


def _worker_state(client):
    from align.speech.distributed import worker_state

    return client.run(worker_state)


def test_cluster_run_equals_the_serial_run_and_a_rerun_skips_everything(corpus, serial, client, tmp_path):
    out = tmp_path / "out"
    results = align_corpus(corpus, out, formats=FORMATS, client=client, durations=DURATIONS)
    assert [r.status for r in results] == ["aligned"] * N_FILES
    assert [r.item.audio.name for r in results] == sorted(p.name for p in corpus.rglob("*.flac"))
    files = _files(out)
    assert files == _files(serial)  # TextGrid, JSON, durations.json per file and durations.jsonl
    assert len([f for f in files if f.endswith(".durations.json")]) == N_FILES
    assert "part2/" + results[-1].item.audio.stem + ".json" in files
    # the model is loaded once per worker process, not once per task
    loads = [s["model_loads"] for s in _worker_state(client).values()]
    assert max(loads) == 1 and len(loads) == 2
    again = align_corpus(corpus, out, formats=FORMATS, client=client, durations=DURATIONS)
    assert [r.status for r in again] == ["skipped"] * N_FILES
    assert _files(out) == files


def test_a_failing_file_is_reported_and_the_others_finish(corpus, serial, client, tmp_path, capsys):
    small = tmp_path / "corpus"
    small.mkdir()
    good = sorted(corpus.glob("*.flac"))[:2]
    for audio in good:
        shutil.copy(audio, small / audio.name)
        shutil.copy(audio.with_suffix(".txt"), small / (audio.stem + ".txt"))
    (small / "broken.wav").write_bytes(b"RIFF and then no audio at all")
    (small / "broken.txt").write_text("hello")
    shutil.copy(good[0], small / "silent.flac")
    (small / "silent.txt").write_text("")
    out = tmp_path / "out"
    address = client.scheduler.address
    # the command line, on the cluster's address: one batch per file, so both failures share no task
    assert main(["corpus", str(small), "-o", str(out), "-f", ".json", "--scheduler", address, "-q"]) == 1
    captured = capsys.readouterr()
    assert "2 aligned, 0 skipped (outputs exist), 2 failed" in captured.out
    assert "broken.wav: ParameterError" in captured.err
    assert "silent.flac: ParameterError: the transcript has no words to align" in captured.err
    for audio in good:
        _same_alignment(out / (audio.stem + ".json"), serial / (audio.stem + ".json"))
    # the API, every file in one task: the failures do not stop the good files of their batch
    results = align_corpus(small, out, formats=(".json",), client=client, batch_seconds=1000, overwrite=True)
    status = {r.item.audio.name: (r.status, r.error) for r in results}
    assert [status[a.name] for a in good] == [("aligned", None)] * 2
    assert status["broken.wav"][0] == "failed" and "broken.wav" in status["broken.wav"][1]
    assert status["silent.flac"] == ("failed", "ParameterError: the transcript has no words to align: ''")
    for audio in good:
        _same_alignment(out / (audio.stem + ".json"), serial / (audio.stem + ".json"))
    # a rerun tries the failed files again, and only them
    again = align_corpus(small, out, formats=(".json",), client=client)
    assert sorted(r.status for r in again) == ["failed", "failed", "skipped", "skipped"]
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_a_killed_worker_loses_nothing_and_every_file_is_aligned_once(corpus, serial, client, tmp_path):
    out = tmp_path / "out"
    before = _worker_state(client)
    outcome = {}

    def run():
        try:
            # four files a task: the killed worker dies in the middle of a batch
            outcome["results"] = align_corpus(corpus, out, formats=FORMATS, client=client,
                                              durations=DURATIONS, batch_seconds=12.0)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    # wait (not a timing check) for the first finished file: nothing signals it but the file;
    # joining the run's thread for a moment both waits and stops early if the run ends
    deadline = time.monotonic() + 60
    while not list(out.rglob("*.durations.json")) and time.monotonic() < deadline and thread.is_alive():
        thread.join(0.01)
    busy = [w for w, keys in client.processing().items() if keys]
    assert busy, "the run ended before a worker could be killed"
    n_done = len(list(out.rglob("*.durations.json")))
    victim = psutil.Process(before[busy[0]]["pid"])
    os.kill(victim.pid, signal.SIGKILL)
    try:
        victim.wait(timeout=10)  # gone (reaped by its nanny), or a zombie by then at the latest
    except psutil.TimeoutExpired:
        assert victim.status() == psutil.STATUS_ZOMBIE, "the killed worker is still running"
    # the files whose outputs all exist now (the durations table is written last) were finished
    # before the kill, or by the other worker: they are never written again
    finished = [p.name[: -len(".durations.json")] for p in out.rglob("*.durations.json")]
    written = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")
               if p.is_file() and p.name.split(".")[0] in finished}
    assert len(written) == 3 * len(finished)
    thread.join(120)
    assert not thread.is_alive(), "the run did not finish after the kill"
    if "error" in outcome:
        raise outcome["error"]
    results = outcome["results"]
    assert [r.status for r in results] == ["aligned"] * N_FILES
    assert len({r.item for r in results}) == N_FILES
    assert 0 < n_done < N_FILES  # killed in the middle of the run
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in written} == written
    assert _files(out) == _files(serial)
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary file left by the dead worker
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the dead worker
    after = {s["pid"] for s in _worker_state(client).values()}
    assert victim.pid not in after and len(after) == 2


def test_local_workers_are_warmed_before_they_join(corpus, serial, tmp_path):
    from align.speech.distributed import resolve_client

    client, owned = resolve_client("local:1")  # how `align corpus --scheduler local:N` starts them
    try:
        (state,) = _worker_state(client).values()
        # before any task: the preload module loaded the model and ran an alignment
        assert state["model_loads"] == 1 and state["warm_up_seconds"] > 0
        out = tmp_path / "out"
        results = align_corpus(corpus, out, formats=FORMATS, client=client, durations=DURATIONS)
        assert [r.status for r in results] == ["aligned"] * N_FILES
        assert _files(out) == _files(serial)
        assert [s["model_loads"] for s in _worker_state(client).values()] == [1]
    finally:
        for thing in owned:
            thing.close()


def test_the_warm_up_runs_in_the_task_executor_and_a_failure_is_only_logged(monkeypatch, caplog):
    import asyncio
    import types
    from concurrent.futures import ThreadPoolExecutor

    import align.speech.distributed as dist

    executor = ThreadPoolExecutor(1, thread_name_prefix="tasks")
    threads = []

    def broken():
        threads.append(threading.current_thread().name)
        raise BackendUnavailableError("no acoustic model here")

    monkeypatch.setattr(dist, "_prepare_worker", lambda: None)  # it would set the threads of numba
    monkeypatch.setattr(dist, "warm_up", broken)
    try:
        with caplog.at_level("WARNING", logger=dist.__name__):
            assert asyncio.run(dist.dask_setup(types.SimpleNamespace(executor=executor))) is None
    finally:
        executor.shutdown()
    assert len(threads) == 1 and threads[0].startswith("tasks")  # the thread that will run the tasks
    assert "could not warm this worker (BackendUnavailableError: no acoustic model here)" in caplog.text


def test_overwrite_on_the_cluster_realigns(corpus, serial, client, tmp_path):
    out = tmp_path / "out"
    sub = sorted(corpus.glob("*.flac"))[:1]
    small = tmp_path / "one"
    small.mkdir()
    shutil.copy(sub[0], small / sub[0].name)
    shutil.copy(sub[0].with_suffix(".txt"), small / (sub[0].stem + ".txt"))
    target = out / (sub[0].stem + ".json")
    out.mkdir()
    target.write_text("stale")
    results = align_corpus(small, out, formats=(".json",), client=client, overwrite=True)
    assert [r.status for r in results] == ["aligned"]
    _same_alignment(target, serial / target.name)


def test_errors(corpus, tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match=r"local:N needs a number of worker processes N >= 1"):
        align_corpus(corpus, tmp_path / "o", client="local:0")
    with pytest.raises(ParameterError, match=r"client must be a dask.distributed.Client, .* got int"):
        align_corpus(corpus, tmp_path / "o", client=4)
    with pytest.raises(ParameterError, match=r"jobs=2 is for local processes"):
        align_corpus(corpus, tmp_path / "o", client="local:2", jobs=2)
    with pytest.raises(ParameterError, match=r"batch_seconds sizes the tasks of a Dask cluster"):
        align_corpus(corpus, tmp_path / "o", batch_seconds=10)
    with pytest.raises(ParameterError, match=r"batch_seconds must be a number of seconds > 0, got 0"):
        align_corpus(corpus, tmp_path / "o", client="local:1", batch_seconds=0)
    import align.speech.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 1)
    with pytest.raises(BackendUnavailableError, match=r"cannot reach a Dask scheduler at 'tcp://127.0.0.1:9' "
                                                      r"within 1 s .*'local:N'"):
        align_corpus(corpus, tmp_path / "o", client="tcp://127.0.0.1:9")
    assert main(["corpus", str(corpus), "-o", str(tmp_path / "o"), "-q", "--scheduler", "local:x"]) == 2


def test_workers_that_cannot_see_the_output_folder_are_named(corpus, client, tmp_path, monkeypatch):
    import align.speech.distributed as dist

    # a lambda travels by value (cloudpickle): the workers need not import this test module
    monkeypatch.setattr(dist, "_worker_check",
                        lambda root, out_dir: [f"the output folder {out_dir!r} is not a writable folder there"])
    with pytest.raises(ParameterError, match=r"2 of 2 Dask worker\(s\) cannot see the corpus or the output "
                                             r"folder .* storage shared by the client and every worker"):
        align_corpus(corpus, tmp_path / "o", client=client)


def test_plan_batches():
    from align.speech.distributed import plan_batches

    assert plan_batches([3.0] * 8, 12.0) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert plan_batches([3.0] * 8, 120.0, n_workers=2) == [[i] for i in range(8)]  # 8 a worker at least
    assert plan_batches([30.0, 1.0, 1.0], 10.0) == [[0], [1, 2]]
    assert sorted(i for b in plan_batches([1.0, 5.0, 2.0, 9.0, 0.5], 4.0) for i in b) == list(range(5))
    # on two workers the last batches shrink, so neither waits long for the other at the end
    sizes = [len(b) for b in plan_batches([1.0] * 400, 120.0, n_workers=2)]
    assert sum(sizes) == 400 and sizes[:8] == [25] * 8
    assert sizes[-6:] == sorted(sizes[-6:], reverse=True) and sizes[-2] <= 4
    assert len(plan_batches([1.0] * 400, 120.0, n_workers=1)) == 8  # one worker: nothing to even out


_FAULTS_SCRIPT = """
import resource, sys
from pathlib import Path
import align
from align.speech.distributed import _prepare_worker
if sys.argv[1] == "fix":
    _prepare_worker()  # what a task does first on a worker
sample = sorted((Path(align.__file__).parent / "data" / "sample").glob("*.flac"))
texts = [p.with_suffix(".txt").read_text() for p in sample]
align.align_transcript(sample[0], texts[0])  # model, lexicon and kernels loaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    for audio, text in zip(sample, texts):
        align.align_transcript(audio, text)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / (3 * len(sample)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's mallopt only")
def test_workers_reuse_the_heap_under_dasks_malloc_settings():
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's dynamic mmap
    # threshold: every large array is then a fresh mmap whose pages fault in again
    import subprocess

    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")
    faults = {}
    for mode in ("control", "fix"):
        out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT, mode], env=env, check=True,
                             capture_output=True, text=True)
        faults[mode] = float(out.stdout.strip())
    assert faults["control"] > 1000  # per file: each large array's pages faulted in anew
    assert faults["fix"] < 100  # the heap's pages reused


def test_stale_temporaries_of_the_outputs_are_removed_and_nothing_else(tmp_path):
    from align.speech.distributed import _remove_stale_temporaries

    outputs = [tmp_path / "a.TextGrid", tmp_path / "a.json", tmp_path / "sub" / "b.TextGrid"]
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / ".a.TextGrid.x1y2z3_q.tmp", tmp_path / ".a.json.abcdefgh.tmp",
             tmp_path / "sub" / ".b.TextGrid.k9k9k9k9.tmp"]
    kept = [tmp_path / ".other.json.abcdefgh.tmp",   # not an output of this run
            tmp_path / ".a.TextGrid.tmp",            # not a writer's name (no random part)
            tmp_path / "a.TextGrid", tmp_path / "notes.tmp"]
    for f in stale + kept:
        f.write_text("x")
    _remove_stale_temporaries(outputs + [tmp_path / "missing" / "c.json"])
    assert not any(f.exists() for f in stale)
    assert all(f.exists() for f in kept)


def test_a_phone_model_trained_on_the_cluster_equals_one_trained_here(corpus, client):
    # the rounds' per-file work goes to the workers, the sums come back (align.train_phone_model)
    import numpy as np

    import align
    from align.speech.corpus import find_corpus

    pairs = [(item.audio, item.transcript) for item in find_corpus(corpus)]
    here = align.train_phone_model(pairs, jobs=1, rounds=2)
    there = align.train_phone_model(pairs, client=client, rounds=2, progress=True)
    assert there.info["files"] == here.info["files"] == N_FILES and there.info["failed"] == []
    assert there.keys == here.keys
    # espeak-ng's output moves by a few samples with what a process spoke before, so the
    # first pass, and the means, may differ a little between processes
    np.testing.assert_allclose(there.counts.sum(), here.counts.sum(), rtol=0.02)
    seen = (here.counts >= 30) & (there.counts >= 30)  # 28 of 124 Gaussians here; r measured 0.996-0.998
    r = np.corrcoef(there.means[seen].ravel(), here.means[seen].ravel())[0, 1]
    assert seen.sum() >= 20 and r > 0.99, (seen.sum(), r)
