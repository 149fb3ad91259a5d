"""What the input check costs in align.viterbi on a long left-to-right chain (issue 10).

``python benchmarks/viterbi_scan.py`` times the call and the part of it that checks the
emissions outside the kernel (T = 100,000, S = 500, one thread). ``old`` as first argument
runs a checkout of the previous commit at /tmp/oldtree (``git worktree add /tmp/oldtree
HEAD~1``), whose check was a full ``E.max()`` scan before the kernel.
"""
import sys, time, importlib.util
from pathlib import Path
ROOT = str(Path(__file__).resolve().parents[1])  # the checkout this file lives in
old = len(sys.argv) > 1 and sys.argv[1] == "old"
if old:
    sys.path.insert(0, "/tmp/oldtree")
import align
if old:
    spec = importlib.util.spec_from_file_location("align.kernels", "/tmp/oldtree/kernels/__init__.py",
                                                  submodule_search_locations=["/tmp/oldtree/kernels"])
    m = importlib.util.module_from_spec(spec); sys.modules["align.kernels"] = m; spec.loader.exec_module(m)
import numpy as np, numba
numba.set_num_threads(1)
import align.kernels.hmm as kh
assert kh.__file__.startswith("/tmp/oldtree" if old else ROOT), kh.__file__
rng = np.random.default_rng(0)
T, S = 100_000, 500
g = align.HMMGraph.left_to_right(S)
for dt in (np.float64, np.float32):
    E = rng.standard_normal((T, S)).astype(dt)
    align.viterbi(E[:2000], g)
    times = []
    for _ in range(7):
        t = time.perf_counter(); align.viterbi(E, g); times.append(time.perf_counter() - t)
    scan = []
    lo, hi = g._band(T)
    for _ in range(7):
        t = time.perf_counter()
        if old:
            E.max()
        else:
            kh.bad_outside_band(E, lo, hi)
        scan.append(time.perf_counter() - t)
    print(f"{'old' if old else 'new'} {dt.__name__}: call best {min(times)*1e3:.1f} ms median {np.median(times)*1e3:.1f}; "
          f"{'full scan E.max()' if old else 'outside-band scan'} {min(scan)*1e3:.2f} ms ({min(scan)/min(times):.1%})")
