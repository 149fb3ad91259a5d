"""Peak memory of the exact DTW path for one long pair (default N = M = 100,000, 1-D).

Run as a script (it takes about a minute on one free core, longer on a loaded machine)::

    python benchmarks/bench_dtw_memory.py            # N = M = 100000
    python benchmarks/bench_dtw_memory.py 20000      # a quicker check

or through pytest-benchmark (one round, group "dtw-path-memory-1x(100k,100k)")::

    pytest benchmarks/bench_dtw_memory.py --benchmark-only

The measurement runs in a fresh child process: it compiles the kernels on a tiny
input, records its peak RSS (``ru_maxrss``) and starts tracemalloc (numpy registers
its buffers with tracemalloc, and the API allocates every kernel buffer with numpy),
then aligns the long pair. It prints the tracemalloc peak, the RSS growth, the
documented bound ``8 W ceil(N / B) + B W + 16 (N + M)`` bytes and the wall time, and
checks the result against the documented contract: a valid path, under 1 GB.
Peers: none of librosa, dtaidistance, tslearn or dtw-python can return an exact path
at this size (they keep the N x M matrix: 80 GB in float64).
"""

import json
import math
import subprocess
import sys

import numpy as np

LIMIT_BYTES = 1 << 30  # the contract: under 1 GB

_CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
import align

n = int(sys.argv[1])
rng = np.random.default_rng(0)
align.dtw(rng.standard_normal(50), rng.standard_normal(60))  # compile / load cache
# a checkpointed call too, so its specialisations are compiled before measuring
mod = sys.modules["align.dtw"]
saved = mod._FULL_TABLE_CELLS
mod._FULL_TABLE_CELLS = 0
align.dtw(rng.standard_normal(50), rng.standard_normal(60))
mod._FULL_TABLE_CELLS = saved
x = rng.standard_normal(n)
y = rng.standard_normal(n)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
t0 = time.perf_counter()
r = align.dtw(x, y)
wall = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
p = r.path
ok = bool(p[0, 0] == 0 and p[0, 1] == 0 and p[-1, 0] == n - 1 and p[-1, 1] == n - 1
          and np.all(np.diff(p, axis=0) >= 0) and np.all(np.diff(p, axis=0).sum(1) >= 1))
print(json.dumps({"n": n, "wall_s": wall, "tracemalloc_peak": peak,
                  "rss_growth": max(rss1 - rss0, 0), "rss_peak": rss1,
                  "distance": r.distance, "path_len": int(p.shape[0]), "path_ok": ok}))
"""


def documented_bound(n, m):
    """The bound stated in ``align.dtw``'s docstring (no band), in bytes."""
    b = math.isqrt(8 * n)
    return 8 * m * math.ceil(n / b) + b * m + 16 * (n + m) + 3 * 8 * (m + 2)


def measure(n=100_000):
    """Run the child and return its JSON report as a dict."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(n)], capture_output=True,
                         text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    report["documented_bound"] = documented_bound(n, n)
    return report


def check(report):
    assert report["path_ok"], report
    assert np.isfinite(report["distance"]), report
    assert report["tracemalloc_peak"] < LIMIT_BYTES, report
    assert report["rss_growth"] < LIMIT_BYTES, report
    assert report["tracemalloc_peak"] <= 1.1 * report["documented_bound"] + (1 << 20), report


def test_dtw_path_memory_100k(benchmark):
    """pytest-benchmark entry: one round, the child's figures in extra_info."""
    benchmark.group = "dtw-path-memory-1x(100k,100k)"
    report = benchmark.pedantic(measure, args=(100_000,), rounds=1, iterations=1)
    benchmark.extra_info.update(report)
    check(report)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    report = measure(n)
    check(report)
    mib = 1 << 20
    print(f"N = M = {n}: wall {report['wall_s']:.1f} s, "
          f"{n * n / report['wall_s'] / 1e9:.2f} G cells/s (forward pass only counted)")
    print(f"  tracemalloc peak {report['tracemalloc_peak'] / mib:.1f} MiB, "
          f"RSS growth {report['rss_growth'] / mib:.1f} MiB, "
          f"documented bound {report['documented_bound'] / mib:.1f} MiB, limit 1024 MiB")
    print(f"  distance {report['distance']:.6g}, path length {report['path_len']}")


if __name__ == "__main__":
    main()
