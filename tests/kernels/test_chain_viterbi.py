"""kernels.chain_viterbi against every state sequence of tiny chains (the brute-force oracle)."""

import itertools

import numpy as np
import pytest

from align.kernels.chain_viterbi import chain_frame_ranges, chain_viterbi


def _emissions(x, means, ivar, key):
    return -0.5 * (((x[:, None, :] - means[key][None]) ** 2) * ivar).sum(-1)  # (M, S)


def _valid(seq, skippable, lo, hi):
    S = skippable.size
    if seq[0] != 0 and not (seq[0] == 1 and skippable[0]):
        return False
    if seq[-1] != S - 1 and not (seq[-1] == S - 2 and skippable[S - 1]):
        return False
    for t, s in enumerate(seq):
        if not lo[s] <= t < hi[s]:
            return False
    for p, q in zip(seq, seq[1:]):
        if not (q == p or q == p + 1 or (q == p + 2 and skippable[p + 1])):
            return False
    return True


def _score(E, enter, seq):
    """Emissions plus the entry log-probability of every state entered (the first included)."""
    entered = [seq[0]] + [q for p, q in zip(seq, seq[1:]) if q != p]
    return E[np.arange(len(seq)), list(seq)].sum() + enter[entered].sum()


def _brute_force(E, enter, skippable, lo, hi):
    M, S = E.shape
    best, best_seq = -np.inf, None
    for seq in itertools.product(range(S), repeat=M):
        if _valid(seq, skippable, lo, hi):
            total = _score(E, enter, seq)
            if total > best:
                best, best_seq = total, seq
    return best, best_seq


def _windows(rng, S, M, width):
    centres = np.sort(rng.uniform(0, M, S))
    lo = np.maximum.accumulate(np.floor(centres - width).clip(0, M)).astype(np.int64)
    hi = np.maximum.accumulate(np.ceil(centres + width).clip(0, M)).astype(np.int64)
    return lo, np.maximum(hi, lo)


@pytest.mark.parametrize("seed", range(60))
def test_every_tiny_chain_equals_the_best_of_all_sequences(seed):
    rng = np.random.default_rng(seed)
    S, M, D, K = int(rng.integers(1, 5)), int(rng.integers(1, 8)), 3, 4
    x = rng.normal(size=(M, D))
    means = rng.normal(size=(K, D))
    ivar = rng.uniform(0.5, 2.0, D)
    key = rng.integers(0, K, S) if seed % 2 else rng.permutation(K)[:S]  # shared Gaussians give ties
    skippable = rng.random(S) < 0.4
    if seed % 3 == 0:
        lo, hi = np.zeros(S, np.int64), np.full(S, M, np.int64)  # no windows
    else:
        lo, hi = _windows(rng, S, M, width=rng.uniform(0.5, 3.0))
    enter = np.zeros(S) if seed % 4 < 2 else -rng.uniform(0, 3, S)
    out = np.full(M, -7, np.int64)
    got = chain_viterbi(x, means, ivar, key, skippable, enter, lo, hi, out)
    want, seq = _brute_force(_emissions(x, means, ivar, key), enter, skippable, lo, hi)
    if seq is None:
        assert got == -np.inf
        assert (out == -7).all()  # untouched
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
        E = _emissions(x, means, ivar, key)
        assert _valid(tuple(out), skippable, lo, hi)
        assert _score(E, enter, tuple(out)) == pytest.approx(want, rel=1e-12, abs=1e-12)
        if len(set(key)) == S:  # no ties: the one best sequence
            assert tuple(out) == seq


def test_a_long_chain_equals_a_dense_viterbi_and_its_windows_bind():
    rng = np.random.default_rng(1)
    S, M, D = 40, 300, 4
    key = np.arange(S) % 7
    means = rng.normal(size=(7, D)) * 3
    truth = np.sort(rng.choice(np.arange(1, M), S - 1, replace=False))
    states = np.searchsorted(truth, np.arange(M), side="right")
    x = means[key[states]] + rng.normal(size=(M, D))
    ivar = np.ones(D)
    skippable = np.zeros(S, bool)
    lo, hi = np.zeros(S, np.int64), np.full(S, M, np.int64)
    out = np.empty(M, np.int64)
    total = chain_viterbi(x, means, ivar, key, skippable, np.zeros(S), lo, hi, out)
    # dense reference: the same recurrence over the whole (frames, states) grid
    E = _emissions(x, means, ivar, key)
    score = np.full(S, -np.inf)
    score[0] = E[0, 0]
    for t in range(1, M):
        score = np.maximum(score, np.r_[-np.inf, score[:-1]]) + E[t]
    assert total == pytest.approx(score[-1], rel=1e-12)
    assert (np.diff(out) >= 0).all() and out[0] == 0 and out[-1] == S - 1
    assert np.mean(out == states) > 0.9  # well-separated states are found
    # windows that exclude the best path change it, and the path keeps to them
    lo2, hi2 = lo.copy(), hi.copy()
    lo2[S // 2:] = np.maximum(lo2[S // 2:], M // 2 + 40)
    out2 = np.empty(M, np.int64)
    total2 = chain_viterbi(x, means, ivar, key, skippable, np.zeros(S), lo2, hi2, out2)
    assert total2 < total
    assert (out2[: M // 2 + 40] < S // 2).all()


def test_frame_ranges():
    lo = np.array([0, 0, 2, 5], np.int64)
    hi = np.array([3, 4, 6, 8], np.int64)
    a, b = chain_frame_ranges(lo, hi, 8)
    for t in range(8):
        assert list(range(a[t], b[t])) == [s for s in range(4) if lo[s] <= t < hi[s]]
