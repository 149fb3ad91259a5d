"""Numba compile time of the fast DTW kernels, cold (empty cache) and warm (cached).

Each measurement runs in a fresh Python process, so nothing is compiled in memory
beforehand. The cold run points ``NUMBA_CACHE_DIR`` at a new empty folder and so
compiles every specialization from scratch (and writes the cache); the warm run
reuses that folder, so it measures loading the cached machine code. The time
reported is the first call of each entry point on tiny inputs (the work itself is
microseconds), plus the import of the module.

Usage::

    /tmp/probe/bin/python benchmarks/compile_time.py [--repeat 2]
    /tmp/probe/bin/python benchmarks/compile_time.py --asm

Prints a Markdown table (seconds, wall clock and process CPU time) to stdout.
``--asm`` instead compiles the kernels in a fresh process (empty cache: Numba
does not disassemble cached code) and counts, in the machine code of each
compiled specialization, the packed min instructions and the vector registers
used, to check that the wavefront loops are vectorized (``vminpd``/``vminps``
on ``zmm`` registers on an AVX-512 CPU, ``ymm`` on AVX2).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

# the child process: imports, then calls every entry point once per dtype
_CHILD = r"""
import json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
import numpy as np
from align.kernels import dtw_fast as F
from align.kernels.dtw_band import band_bounds
rows = [("import align.kernels.dtw_fast", time.perf_counter() - t0, time.process_time() - c0)]

def timed(name, fn):
    t = time.perf_counter(); c = time.process_time()
    fn()
    rows.append((name, time.perf_counter() - t, time.process_time() - c))

lo, hi = band_bounds(5, 4, 0, 0, 2.0)
for dt in (np.float64, np.float32):
    x = np.arange(5, dtype=dt); y = np.arange(4, dtype=dt)
    X = np.ones((5, 3), dtype=dt); Y = np.ones((4, 3), dtype=dt)
    off = np.array([0, 2, 5], dtype=np.int64)
    out = np.empty((2, 2))
    name = np.dtype(dt).name
    timed(f"sym1_1d {name}", lambda: F.sym1_1d(x, y, lo, hi, 0))
    # one specialization holds both forms (method is a run-time argument)
    timed(f"sym1_nd (direct and BLAS) {name}", lambda: F.sym1_nd(X, Y, lo, hi, 0, 0))
    timed(f"sym1_pairwise 1-D {name}", lambda: F.sym1_pairwise(x, off, x, off, True, -1, 0, out))
    timed(f"sym1_pairwise n-D {name}", lambda: F.sym1_pairwise(X, off, X, off, True, -1, 0, out))
print("JSON" + json.dumps(rows))
"""


_ASM_CHILD = r"""
import json, re
import numpy as np
from align.kernels import dtw_fast as F
from align.kernels.dtw_band import band_bounds
lo, hi = band_bounds(40, 30, 0, 0, 2.0)
for dt in (np.float64, np.float32):
    F.sym1_1d(np.ones(40, dt), np.ones(30, dt), lo, hi, 0)
    F.sym1_nd(np.ones((40, 9), dt), np.ones((30, 9), dt), lo, hi, 0, 0)
    F.sym1_nd(np.ones((40, 9), dt), np.ones((30, 9), dt), lo, hi, 0, 1)
rows = []
pats = {"vminpd/ps zmm": r"vminp[sd]\s[^\n]*zmm", "vminpd/ps ymm": r"vminp[sd]\s[^\n]*ymm",
        "vminsd/ss (scalar)": r"vmins[sd]\s", "vfmadd zmm": r"vfmadd\w+\s[^\n]*zmm"}
for fn in (F._wavefront_1d, F._wavefront_direct, F._wavefront_gemm):
    for sig in fn.signatures:
        asm = fn.inspect_asm(sig)
        rows.append([fn.__name__, str(sig[1] if len(sig) > 1 else sig[0])[:40]]
                    + [len(re.findall(p, asm)) for p in pats.values()])
print("JSON" + json.dumps([list(pats)] + rows))
"""


def _asm_report():
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        rows = _run(cache, _ASM_CHILD)
    head, rows = rows[0], rows[1:]
    print("| function | 2nd argument type | " + " | ".join(head) + " |")
    print("|---|---|" + "---:|" * len(head))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r) + " |")


def _run(cache_dir, child=_CHILD):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True,
                          text=True, check=True)
    line = [s for s in proc.stdout.splitlines() if s.startswith("JSON")][-1]
    return json.loads(line[4:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1,
                        help="cold/warm pairs to run; the minimum is reported")
    parser.add_argument("--asm", action="store_true",
                        help="count vector instructions instead of timing the compile")
    args = parser.parse_args(argv)
    if args.asm:
        _asm_report()
        return
    cold_runs, warm_runs = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            cold_runs.append(_run(cache))
            warm_runs.append(_run(cache))

    def best(runs):
        return [(r[0][0], min(x[i][1] for x in runs), min(x[i][2] for x in runs))
                for i, r in enumerate(zip(*runs))]

    cold, warm = best(cold_runs), best(warm_runs)
    print("| first call | cold wall s | cold CPU s | warm wall s | warm CPU s |")
    print("|---|---:|---:|---:|---:|")
    for (name, cw, cc), (_, ww, wc) in zip(cold, warm):
        print(f"| {name} | {cw:.2f} | {cc:.2f} | {ww:.3f} | {wc:.3f} |")
    tot = [sum(r[k] for r in rows) for rows in (cold, warm) for k in (1, 2)]
    print(f"| **total** | {tot[0]:.2f} | {tot[1]:.2f} | {tot[2]:.3f} | {tot[3]:.3f} |")


if __name__ == "__main__":
    main()
