"""dtw_pairwise(client=): blocks of the matrix on a real LocalCluster of two worker processes.

One cluster (two processes, one thread each) serves the module. Every matrix is
compared bit for bit (``np.array_equal``, infinities included) with the local
``dtw_pairwise`` of the same inputs and options. One test kills a worker
(SIGKILL, as the out-of-memory killer would) after the first block is in place
and checks that the matrix is still identical.
"""

import os
import signal

import numpy as np
import pytest

import align
from align import BackendUnavailableError, InfeasibleAlignmentError, ParameterError, _dask
from align.sequence import dtw_distributed
from align.sequence.dtw_distributed import block_size, plan_blocks

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


def _ragged(rng, n, lo, hi, d=None):
    shape = (lambda k: (k,)) if d is None else (lambda k: (k, d))
    return [rng.standard_normal(shape(int(rng.integers(lo, hi)))) for _ in range(n)]


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(15)
    return _ragged(rng, 37, 4, 40), _ragged(rng, 23, 4, 40)


def _same(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype == np.float64
    assert np.array_equal(a, b)


def test_x_against_y_ragged_block_not_dividing(client, series):
    X, Y = series
    _same(align.dtw_pairwise(X, Y, client=client, block=7), align.dtw_pairwise(X, Y))


def test_x_against_itself_computes_the_upper_triangle_only(client, series, monkeypatch):
    X, _ = series
    seen = []
    monkeypatch.setattr(dtw_distributed, "_AFTER_BLOCK", lambda done, total: seen.append(total))
    got = align.dtw_pairwise(X, client=client, block=8)
    _same(got, align.dtw_pairwise(X))
    assert seen[-1] == len(seen) == 5 * 6 // 2  # 37 rows: 5 block rows, blocks on and above the diagonal
    assert np.all(np.diag(got) == 0) and np.array_equal(got, got.T)


@pytest.mark.parametrize("options", [
    {"radius": 3},
    {"window": "itakura", "max_slope": 3.0, "step_pattern": "symmetric2", "errors": "ignore"},
    {"step_pattern": "asymmetric", "errors": "ignore"},
    {"metric": "cityblock", "subsequence": True},
], ids=["radius", "itakura", "asymmetric", "subsequence"])
def test_every_option_passes_through(client, series, options):
    X, Y = series
    for a, b in ((X, None), (X[:20], Y)):
        _same(align.dtw_pairwise(a, b, client=client, block=9, **options),
              align.dtw_pairwise(a, b, **options))


def test_multivariate_arrays_and_mixed_dtypes(client):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((19, 12, 3))  # a (P, T, d) array
    Y = [q.astype(np.float32) for q in _ragged(rng, 11, 5, 15, d=3)]
    Y[4] = Y[4].astype(np.float64)  # one float64 series: everything runs in float64
    for metric in ("sqeuclidean", "cosine"):
        _same(align.dtw_pairwise(X, Y, client=client, block=5, metric=metric),
              align.dtw_pairwise(X, Y, metric=metric))
    Y32 = [q.astype(np.float32) for q in Y]
    _same(align.dtw_pairwise(Y32, client=client, block=4), align.dtw_pairwise(Y32))


def test_infeasible_pairs_ignored_or_raised_as_locally(client):
    # radius 0 leaves no symmetric1 path between most unequal lengths; equal lengths are fine,
    # so some blocks are all feasible and others not: the same kernel must run in all of them
    X = [np.arange(float(k % 5 + 3)) for k in range(26)]
    ref = align.dtw_pairwise(X, radius=0, errors="ignore")
    assert np.isinf(ref).any() and np.isfinite(ref).any()
    _same(align.dtw_pairwise(X, radius=0, errors="ignore", client=client, block=6), ref)
    with pytest.raises(InfeasibleAlignmentError) as local:
        align.dtw_pairwise(X, radius=0)
    with pytest.raises(InfeasibleAlignmentError) as remote:
        align.dtw_pairwise(X, radius=0, client=client, block=6)
    assert str(remote.value) == str(local.value) and "X[0] and X[1]" in str(remote.value)
    Y = [np.arange(12.0)] * 3
    with pytest.raises(InfeasibleAlignmentError, match=r"asymmetric path .* X\[0\] and Y\[0\]"):
        align.dtw_pairwise(X, Y, step_pattern="asymmetric", client=client)


def test_errors_are_aligns(client, series, monkeypatch):
    X, Y = series
    with pytest.raises(ParameterError, match="needs client="):
        align.dtw_pairwise(X, block=10)
    with pytest.raises(ParameterError, match="block"):
        align.dtw_pairwise(X, client=client, block=0)
    with pytest.raises(ParameterError, match=r"client must be a dask.distributed.Client, .* got int"):
        align.dtw_pairwise(X, client=3)
    with pytest.raises(ParameterError, match="local:N needs"):
        align.dtw_pairwise(X, client="local:0")
    bad = list(X)
    bad[5] = np.array([1.0, np.nan])
    with pytest.raises(ParameterError, match=r"X\[5\]"):
        align.dtw_pairwise(bad, client=client)
    with pytest.raises(ParameterError, match=r"Y\[2\]"):
        align.dtw_pairwise(X, [np.zeros(3)] * 2 + [np.zeros((3, 2))], client=client)
    monkeypatch.setattr(_dask, "CONNECT_TIMEOUT", 1)
    with pytest.raises(BackendUnavailableError, match="cannot reach a Dask scheduler"):
        align.dtw_pairwise(X, client="tcp://127.0.0.1:9")


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # the module cluster has it
def test_local_n_starts_and_closes_its_own_cluster(series):
    X, Y = series
    _same(align.dtw_pairwise(X[:9], Y[:6], client="local:1"), align.dtw_pairwise(X[:9], Y[:6]))


def test_a_killed_worker_leaves_the_matrix_identical(client, monkeypatch):
    rng = np.random.default_rng(7)
    X = _ragged(rng, 60, 150, 250)
    expected = align.dtw_pairwise(X)
    before = client.run(os.getpid)
    killed = []

    def kill_after_first(done, total):
        if killed:
            return
        # the worker with the most tasks in hand: it dies in the middle of the run
        busy = sorted(client.processing().items(), key=lambda kv: -len(kv[1]))
        assert busy and busy[0][1], "the run ended before a worker could be killed"
        victim = busy[0][0]
        os.kill(before[victim], signal.SIGKILL)
        killed.append((victim, done, total))

    monkeypatch.setattr(dtw_distributed, "_AFTER_BLOCK", kill_after_first)
    got = align.dtw_pairwise(X, client=client, block=6)
    _same(got, expected)
    victim, done, total = killed[0]
    assert done == 1 and total == 55  # 10 block rows: killed with 54 blocks to go
    client.wait_for_workers(2, timeout=30)
    assert victim not in client.run(os.getpid) or client.run(os.getpid)[victim] != before[victim]


def test_block_plan_and_size():
    assert plan_blocks(5, 3, 2, False) == [(0, 2, 0, 2), (0, 2, 2, 3), (2, 4, 0, 2), (2, 4, 2, 3),
                                           (4, 5, 0, 2), (4, 5, 2, 3)]
    cover = np.zeros((11, 11), dtype=int)
    for i0, i1, j0, j1 in plan_blocks(11, 11, 4, True):
        cover[i0:i1, j0:j1] += 1
    assert np.array_equal(np.triu(cover), np.triu(np.ones_like(cover))) and not np.tril(cover, -4).any()
    lengths = np.full(1000, 100)
    b = block_size(lengths, lengths, 1, None, True, 0)
    assert 8 <= b <= 2048
    assert block_size(lengths, lengths, 1, 5, True, 0) > b  # a band makes pairs cheaper
    assert block_size(lengths, lengths, 1, None, True, 64) <= np.sqrt(1000 * 1000 / 2 / (4 * 64)) + 1
