"""Run perfgate's benchmarks (``./dev bench``); arguments go to each benchmark script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["http_driver.py", "http2.py"]


def main() -> int:
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / name), *sys.argv[1:]])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
