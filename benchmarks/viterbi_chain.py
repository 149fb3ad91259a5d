"""align.viterbi on a long stay-or-advance chain beside a plain Numba loop and the MAS kernel (issue 10).

Issue 10 measured ``align.viterbi`` on a left-to-right chain (T = 100,000, S = 500,
one thread) at 0.65-0.77x a plain Numba loop of the same recurrence, and asked
whether such chains should run on the MAS kernel (``kernels/mas.py``), which is
that recurrence. This times, on one thread, float64 and float32:

- ``align.viterbi(E, HMMGraph.left_to_right(S))`` (its banded kernel, one
  back-pointer byte per band cell);
- a plain Numba loop of the recurrence (``delta = max(stay, advance) + E``,
  one byte per cell for the decisions, then the walk back), written here and
  checked to give viterbi's path;
- ``align.maximum_path(E[None], layout="mel_text")``, the MAS kernel (its
  transitions are 0, which on a chain that must start in state 0 and end in
  state S - 1 adds the same constant to every path, so the path is the same
  up to rounding and ties). It holds the whole ``T x S`` score buffer and
  returns a dense ``T x S`` path (timed without turning it into states).

Prints best and median of ``--repeat`` interleaved calls and whether the paths
agree. Run: ``python benchmarks/viterbi_chain.py [--frames 100000] [--states 500]``.
"""

import argparse
import time

import numpy as np


def plain_loop():
    from numba import njit

    @njit(cache=False)
    def chain_viterbi(E, stay, advance):
        T, S = E.shape
        prev = np.full(S, -np.inf)
        cur = np.empty(S)
        took_advance = np.zeros((T, S), np.uint8)
        prev[0] = E[0, 0]
        for t in range(1, T):
            lo = max(0, S - (T - t))
            hi = min(S - 1, t)
            cur[:] = -np.inf
            for s in range(lo, hi + 1):
                a = prev[s] + stay
                b = prev[s - 1] + advance if s > 0 else -np.inf
                if b > a:
                    cur[s] = b + E[t, s]
                    took_advance[t, s] = 1
                else:
                    cur[s] = a + E[t, s]
            prev, cur = cur, prev
        path = np.empty(T, np.int64)
        s = S - 1
        for t in range(T - 1, -1, -1):
            path[t] = s
            s -= took_advance[t, s]
        return path

    return chain_viterbi


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--states", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    import numba

    import align

    numba.set_num_threads(1)
    T, S = args.frames, args.states
    graph = align.HMMGraph.left_to_right(S)  # log 0.5 to stay and to advance
    loop = plain_loop()
    rng = np.random.default_rng(0)
    print(f"T = {T:,}, S = {S}, one thread, best / median of {args.repeat} interleaved calls (ms)\n")
    print("| dtype | align.viterbi | plain Numba loop | MAS kernel | plain / viterbi | MAS / viterbi "
          "| paths: loop, MAS |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for dtype in (np.float64, np.float32):
        E = rng.standard_normal((T, S)).astype(dtype)
        stay = advance = float(np.log(0.5))
        calls = {
            "viterbi": lambda: np.asarray(align.viterbi(E, graph).path),
            "loop": lambda: loop(E, stay, advance),
            "mas": lambda: align.maximum_path(E[None], layout="mel_text"),  # timed without the argmax
        }
        paths = {name: fn() for name, fn in calls.items()}  # compile and warm up
        paths["mas"] = np.asarray(paths["mas"][0]).argmax(1)
        times = {name: [] for name in calls}
        for _ in range(args.repeat):
            for name in rng.permutation(list(calls)):
                t0 = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - t0)
        best = {k: min(v) * 1e3 for k, v in times.items()}
        median = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
        same = (np.array_equal(paths["loop"], paths["viterbi"]), np.array_equal(paths["mas"], paths["viterbi"]))
        cell = {k: f"{best[k]:.1f} / {median[k]:.1f}" for k in calls}
        print(f"| {np.dtype(dtype).name} | {cell['viterbi']} | {cell['loop']} | {cell['mas']} "
              f"| {best['loop'] / best['viterbi']:.2f}x | {best['mas'] / best['viterbi']:.2f}x "
              f"| {same[0]}, {same[1]} |")
    print(f"\nmemory: viterbi's back-pointers {T * S / 1e6:.0f} MB at most (one byte a band cell); "
          f"the MAS kernel's score buffer {T * S * 8 / 1e6:.0f} MB (float64) plus its dense path")


if __name__ == "__main__":
    main()
