"""align.drop_dtw and align.align_segments: peers on the special cases, recovery, errors, backends."""

import numpy as np
import pytest

import align
from align.exceptions import InfeasibleAlignmentError, ParameterError


def test_the_docstring_case():
    cost = np.array([[0.0, 5, 5, 5], [5, 5, 5, 0.0]])
    r = align.drop_dtw(cost, drop_cost=1.0)
    assert r.labels.tolist() == [0, -1, -1, 1] and r.cost == 2.0
    assert r.path.tolist() == [[0, 0], [1, 3]]
    assert r.dropped_segments.tolist() == [False, True, True, False]
    assert r.step_spans() == [(0, 0), (3, 3)]


def test_without_drops_and_not_exclusive_it_is_plain_dtw_as_librosa_computes_it():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    for K, N in [(1, 1), (3, 8), (7, 5), (12, 40)]:
        C = rng.random((K, N))
        r = align.drop_dtw(C, drop_cost=np.inf, exclusive=False)
        D, wp = librosa.sequence.dtw(C=C)  # steps (1,1), (0,1), (1,0), weights 1: symmetric1
        assert r.cost == pytest.approx(D[-1, -1], rel=1e-12)
        np.testing.assert_array_equal(r.path, wp[::-1])


def test_without_drops_and_exclusive_it_is_monotonic_alignment_search():
    rng = np.random.default_rng(1)
    for K, N in [(1, 4), (4, 4), (6, 30)]:
        C = rng.random((K, N))
        r = align.drop_dtw(C, drop_cost=np.inf)
        mas = align.maximum_path(-C[None])[0]  # (K, N) 0/1: every frame on one token
        np.testing.assert_array_equal(r.labels, mas.argmax(0))
        assert r.cost == pytest.approx(float((C * mas).sum()))


def test_monotonic_align_peer_agrees_where_installed():
    torch = pytest.importorskip("torch")
    monotonic_align = pytest.importorskip("monotonic_align")
    rng = np.random.default_rng(2)
    C = rng.random((5, 23)).astype(np.float32)
    value = torch.from_numpy(np.ascontiguousarray(-C.T[None]))  # VITS's layout (B, T_mel, T_text)
    path = monotonic_align.maximum_path(value, torch.ones_like(value)).numpy()[0]
    r = align.drop_dtw(C, drop_cost=np.inf)
    np.testing.assert_array_equal(r.labels, path.argmax(1))


def _embedded_video(rng, K=8, d=32, background=3, absent=(3,), per_step=(2, 5)):
    """Steps, then segments: each present step for a few segments (noisy copies), background between.

    Costs (1 - cosine, d = 32): a step with its own segments about 0.1, with background about
    1.0 +- 0.2; a drop cost of 0.5 lies between, and an absent step saves more than 0.05 by
    being dropped unless a background segment happens to lie within cosine 0.45 of it.
    """
    steps = rng.standard_normal((K, d))
    segments, truth = [], []
    for i in range(K):
        for _ in range(rng.integers(0, background + 1)):
            segments.append(rng.standard_normal(d))
            truth.append(-1)
        if i in absent:
            continue
        for _ in range(rng.integers(*per_step)):
            segments.append(steps[i] + 0.5 * rng.standard_normal(d))
            truth.append(i)
    return steps, np.array(segments), np.array(truth)


def test_align_segments_recovers_steps_background_and_an_absent_step():
    rng = np.random.default_rng(3)
    agree, dropped_right = [], []
    for _ in range(10):
        steps, segments, truth = _embedded_video(rng)
        r = align.align_segments(steps, segments, drop_cost=0.5, step_drop_cost=0.05)
        agree.append(np.mean(r.labels == truth))
        dropped_right.append(r.dropped_steps.tolist() == [i == 3 for i in range(8)])
    assert np.mean(agree) > 0.9, agree
    assert np.mean(dropped_right) >= 0.8, dropped_right
    # control: plain monotone alignment with no drops cannot mark background
    steps, segments, truth = _embedded_video(np.random.default_rng(4))
    plain = align.align_segments(steps, segments, drop_cost=np.inf, step_drop_cost=0.05)
    assert (plain.labels >= 0).all() and np.mean(plain.labels == truth) < 0.8


def test_the_default_drop_cost_is_the_median_and_percentiles_are_accepted():
    C = np.arange(12.0).reshape(3, 4)
    assert align.drop_dtw(C).drop_cost.tolist() == [5.5] * 4
    assert align.drop_dtw(C, drop_cost="p0").drop_cost.tolist() == [0.0] * 4
    assert align.drop_dtw(C, drop_cost=[1, 2, 3, 4]).drop_cost.tolist() == [1, 2, 3, 4]


def test_contiguous_keeps_a_step_in_one_run():
    # segment 1 is poor for step 0, but dropping it would split step 0's run
    C = np.array([[0.0, 0.9, 0.0]])
    assert align.drop_dtw(C, drop_cost=0.5, contiguous=True).labels.tolist() == [0, 0, 0]
    assert align.drop_dtw(C, drop_cost=0.5, contiguous=False).labels.tolist() == [0, -1, 0]


def test_batch_equals_one_at_a_time_and_ignores_infeasible_items_when_asked():
    rng = np.random.default_rng(5)
    costs = [rng.random((k, n)) for k, n in [(2, 5), (4, 9), (3, 3), (6, 2)]]
    with pytest.raises(InfeasibleAlignmentError, match="item 3"):
        align.drop_dtw_batch(costs, drop_cost=0.3)
    results = align.drop_dtw_batch(costs, drop_cost=0.3, errors="ignore")
    for c, r in zip(costs[:3], results[:3]):
        one = align.drop_dtw(c, drop_cost=0.3)
        assert r.cost == one.cost and np.array_equal(r.path, one.path) and np.array_equal(r.labels, one.labels)
    assert np.isinf(results[3].cost) and (results[3].labels == -1).all() and results[3].path.shape == (0, 2)


@pytest.mark.cuda
def test_cuda_backend_equals_the_cpu():
    rng = np.random.default_rng(6)
    costs = [rng.random((k, n)).astype(np.float32) for k, n in [(2, 5), (4, 9), (1, 1)]]
    for kw in (dict(), dict(contiguous=False, exclusive=False, step_drop_cost=1.0)):
        cpu = align.drop_dtw_batch(costs, drop_cost=0.4, **kw)
        gpu = align.drop_dtw_batch(costs, drop_cost=0.4, backend="cuda", **kw)
        for a, b in zip(cpu, gpu):
            assert a.cost == b.cost and np.array_equal(a.path, b.path) and np.array_equal(a.dropped_steps,
                                                                                          b.dropped_steps)


@pytest.mark.parametrize("bad,match", [
    (dict(cost=np.zeros((0, 3))), "at least one step"),
    (dict(cost=np.array([[0.0, np.nan]])), "finite"),
    (dict(cost=np.zeros(3)), "dimension"),
    (dict(cost=np.zeros((2, 3)), drop_cost=[1.0, 2.0]), r"shape \(3,\)"),
    (dict(cost=np.zeros((2, 3)), drop_cost="median"), "percentile"),
    (dict(cost=np.zeros((2, 3)), drop_cost=np.nan), "NaN"),
    (dict(cost=np.zeros((2, 3)), backend="tpu"), "backend"),
])
def test_bad_input_raises_parameter_error(bad, match):
    cost = bad.pop("cost")
    with pytest.raises(ParameterError, match=match):
        align.drop_dtw(cost, **bad)


def test_too_many_steps_is_infeasible_with_a_way_out_in_the_message():
    with pytest.raises(InfeasibleAlignmentError, match="step_drop_cost"):
        align.drop_dtw(np.zeros((4, 2)), drop_cost=1.0)
    assert align.drop_dtw(np.zeros((4, 2)), drop_cost=1.0, exclusive=False).cost == 0.0


def test_align_segments_bad_input():
    with pytest.raises(ParameterError, match="one width"):
        align.align_segments(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ParameterError, match="nonzero"):
        align.align_segments(np.zeros((2, 3)), np.ones((4, 3)))
    with pytest.raises(ParameterError, match="metric"):
        align.align_segments(np.ones((2, 3)), np.ones((4, 3)), metric="dot")


def test_torch_in_torch_out():
    import torch

    rng = np.random.default_rng(3)
    cost = rng.random((4, 12))
    want = align.drop_dtw(cost, drop_cost=0.5)
    got = align.drop_dtw(torch.from_numpy(cost), drop_cost=0.5)
    assert isinstance(got.labels, torch.Tensor) and isinstance(got.path, torch.Tensor)
    assert got.labels.dtype == torch.int64 and got.dropped_steps.dtype == torch.bool
    np.testing.assert_array_equal(got.labels.numpy(), want.labels)
    np.testing.assert_array_equal(got.path.numpy(), want.path)
    assert got.cost == want.cost and got.step_spans() == want.step_spans()
    assert bool((got.dropped_segments == torch.from_numpy(want.dropped_segments)).all())
    batch = align.drop_dtw_batch([torch.from_numpy(cost), torch.from_numpy(cost[:3])], drop_cost=0.5)
    assert all(isinstance(r.labels, torch.Tensor) for r in batch)
    np.testing.assert_array_equal(batch[0].labels.numpy(), want.labels)
    seg = align.align_segments(torch.randn(3, 8), torch.randn(20, 8))
    assert isinstance(seg.labels, torch.Tensor) and isinstance(seg.cost, float)
    assert isinstance(align.drop_dtw(cost, drop_cost=0.5).labels, np.ndarray)  # numpy stays numpy
