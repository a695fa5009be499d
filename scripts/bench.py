"""``make bench``: ChainProof's benchmarks, each beside a baseline from the same run.

    make bench                          # full run (several minutes)
    make bench ARGS="--quick"           # small sizes, under a minute
    make bench ARGS="--only verify,hashing --json bench.json"

See docs/performance.md for what each figure means and what bounds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The benchmarks package sits at the repository root, beside this script's folder.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
