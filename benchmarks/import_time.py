"""Wall-clock cost of ``import align`` beyond ``import numpy``, best of N fresh interpreters.

``python benchmarks/import_time.py [N]``. tests/test_layers.py pins what the import loads
(a module count); the time it takes belongs here, where a busy machine cannot fail a test.
"""

import subprocess
import sys
from pathlib import Path

PROBE = ("import time; t0 = time.perf_counter(); import numpy; t1 = time.perf_counter(); "
         "import align; print(time.perf_counter() - t1)")


def main(rounds=5):
    root = Path(__file__).resolve().parents[1]
    costs = [float(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                                  check=True, cwd=root).stdout) for _ in range(rounds)]
    print(f"import align (beyond numpy): best {min(costs) * 1e3:.1f} ms, "
          f"median {sorted(costs)[len(costs) // 2] * 1e3:.1f} ms over {rounds} runs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
