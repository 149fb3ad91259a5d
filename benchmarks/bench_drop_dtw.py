"""Drop-DTW speed and memory on the CPU (issue 12): one long video, and a batch of short ones.

``python benchmarks/bench_drop_dtw.py`` prints a markdown table. There is no peer
library on the package index to time beside it (the paper's code is a research
repository in plain numpy/torch loops); the row "full-table numpy reference"
times tests/reference/drop_dtw.py on the smallest size, for scale only.
"""
import sys
import time
from pathlib import Path

import numpy as np
import numba

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import align  # noqa: E402
from tests.reference.drop_dtw import drop_dtw_reference  # noqa: E402


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    align.drop_dtw(rng.random((3, 5)), drop_cost=0.5, step_drop_cost=0.5, contiguous=False, exclusive=False)
    align.drop_dtw(rng.random((3, 5)))
    compile_s = time.perf_counter() - t
    print(f"numba threads {numba.get_num_threads()}; first calls (compile or cache load) {compile_s:.2f} s\n")
    print("| problem | K steps | N segments | seconds (best of 5) | cells / s | back-pointer memory |")
    print("|---|---:|---:|---:|---:|---:|")
    for K, N in [(20, 1_000), (50, 10_000), (100, 100_000)]:
        C = rng.random((K, N))
        s = best_of(lambda: align.drop_dtw(C, drop_cost=0.5, step_drop_cost=0.5))
        print(f"| one video | {K} | {N:,} | {s:.4f} | {K * N / s:.3g} | {(K + 1) * (N + 1) / 1e3:,.0f} kB |")
    costs = [rng.random((int(rng.integers(5, 20)), int(rng.integers(100, 500)))) for _ in range(1000)]
    s = best_of(lambda: align.drop_dtw_batch(costs, drop_cost=0.5, step_drop_cost=0.5), repeat=3)
    cells = sum(c.size for c in costs)
    print(f"| batch of 1,000 | 5-19 | 100-499 | {s:.4f} | {cells / s:.3g} | per item |")
    C = rng.random((20, 1_000))
    s = best_of(lambda: drop_dtw_reference(C, np.full(1000, 0.5), np.full(20, 0.5)), repeat=1)
    print(f"| full-table numpy reference | 20 | 1,000 | {s:.4f} | {20_000 / s:.3g} | 3 tables float64 |")


if __name__ == "__main__":
    main()
