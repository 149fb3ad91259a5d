"""Monotonic alignment search: align.maximum_path beside monotonic_align and our viterbi_batch route.

One run, every implementation on the same batch (issue 10's workload: float32,
B = 32, T_text = 200, T_mel = 1,000, VITS layout (B, T_mel, T_text) and Glow-TTS
layout (B, T_text, T_mel)); every result is checked equal to the peer's path
before it is timed. Prints a markdown table with ratios to the peer's public
function. Run: ``python benchmarks/bench_mas.py [B T_text T_mel]``.
"""

import sys
import time

import numpy as np


def interleaved(fns, repeat):
    """Time every function once per round, in a new random order each round, so that all see
    the machine's fast and slow spells alike (this shared VM moves between them within
    seconds) and none always follows the same one (a call after the peer's finds the
    allocator in another state). Returns each function's seconds, one per round."""
    for fn in fns:
        fn()  # warm-up (compilation, caches)
    times = [[] for _ in fns]
    order = np.random.default_rng(0)
    for _ in range(repeat):
        for i in order.permutation(len(fns)):
            t = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - t)
    return [np.asarray(ts) for ts in times]


def main(B=32, T_text=200, T_mel=1000, repeat=25):
    import numba
    import torch
    import monotonic_align

    import align
    from align.hmm import HMMGraph

    rng = np.random.default_rng(0)
    v_mt = rng.standard_normal((B, T_mel, T_text)).astype(np.float32)  # VITS layout
    v_tm = np.ascontiguousarray(v_mt.transpose(0, 2, 1))  # Glow-TTS layout
    mask = torch.ones(B, T_mel, T_text)
    t_mt = torch.from_numpy(v_mt)
    want = monotonic_align.maximum_path(t_mt, mask).numpy()

    graph = HMMGraph.left_to_right(T_text, self_loop_logp=0.0, advance_logp=0.0)

    def viterbi_route():
        res = align.viterbi_batch(list(v_mt), graph)
        path = np.zeros_like(v_mt)
        for b, r in enumerate(res):
            path[b, np.arange(T_mel), r.path] = 1
        return path

    impls = [
        ("monotonic_align.maximum_path (torch, Cython) [peer]", lambda: monotonic_align.maximum_path(t_mt, mask).numpy()),
        ("align.maximum_path, torch (B, T_mel, T_text)", lambda: align.maximum_path(t_mt, layout="mel_text").numpy()),
        ("align.maximum_path, numpy (B, T_mel, T_text)", lambda: align.maximum_path(v_mt, layout="mel_text")),
        ("align.maximum_path, numpy (B, T_text, T_mel)",
         lambda: align.maximum_path(v_tm).transpose(0, 2, 1)),
        ("align.viterbi_batch over left_to_right graphs", viterbi_route),
    ]
    for name, fn in impls:
        got = fn()
        assert np.array_equal(np.asarray(got), want), name
    rows = interleaved([fn for _, fn in impls], repeat)
    peer = rows[0]
    print(f"\nB = {B}, T_text = {T_text}, T_mel = {T_mel}, float32, {numba.get_num_threads()} threads, "
          f"{repeat} interleaved rounds\n")
    # the last column pairs each call with the peer's of the same round: the machine's speed
    # drifts from round to round, and a ratio within a round cancels most of that drift
    print("| implementation | best (ms) | median (ms) | peer / this, best | peer / this, median | "
          "peer / this, median of the rounds' ratios |")
    print("|---|---:|---:|---:|---:|---:|")
    for (name, _), ts in zip(impls, rows):
        print(f"| {name} | {ts.min() * 1e3:.2f} | {np.median(ts) * 1e3:.2f} | {peer.min() / ts.min():.2f}x "
              f"| {np.median(peer) / np.median(ts):.2f}x | {np.median(peer / ts):.2f}x |")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
