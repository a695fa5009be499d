"""ChainProof benchmarks: each figure beside a baseline measured in the same run.

The machines this runs on are shared and noisy, so no figure is compared with a number from
another day: every measurement brings its own baseline, run seconds apart on the same
machine, and the table shows their ratio. ``scripts/bench.py`` (``make bench``) is the entry.
"""
