"""`make bench ARGS=--quick` end to end: every measurement is in the table and the JSON with
a numeric figure and a numeric baseline from the same run. Speeds are not asserted (they
live in docs/performance.md): only that each was measured."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .. import conftest

pytestmark = pytest.mark.chain
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_reports_every_measurement_beside_its_baseline(tmp_path: Path) -> None:
    conftest.require(
        conftest.node_binary_present("anvil"),
        "anvil is missing from node_modules (run `make install`)",
    )
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "quick"
    assert report["machine"]["cpus"] >= 1
    by_measurement: dict[str, list[dict[str, object]]] = {}
    for r in report["results"]:
        by_measurement.setdefault(str(r["measurement"]), []).append(r)
        for key in ("value", "baseline", "ratio"):
            value = r[key]
            assert isinstance(value, int | float) and math.isfinite(value), (key, r)
        assert r["baseline"] > 0, r
        assert r["baseline_name"], r
    assert set(by_measurement) == {
        "gas",
        "epcis",
        "ingest",
        "latency",
        "verify",
        "hashing",
        "epcis-api",
    }
    assert {"CBV 2.0 hash (fast path)", "validation + hash (capture's check)"} <= {
        str(r["name"]) for r in by_measurement["epcis"]
    }
    names = {str(r["name"]) for r in report["results"]}
    for size in ("1", "10", "100", "1,000", "10,000"):
        assert f"gas/doc, batch {size}" in names
    assert any("(largest)" in n for n in names)
    assert {"bulk digests/s until anchored", "single uploads/s until anchored"} <= names
    assert {f"time to anchor p{p} at 20 req/s" for p in (50, 95, 99)} <= names
    assert {"verify req/s", "verify p50", "verify p99", "offline receipt checks/s"} <= names
    assert any(n.startswith("API upload+hash") for n in names)
    assert any(n.startswith("CLI upload+hash") for n in names)
    assert any("peak RSS" in n for n in names)
    # Every row with a target says whether it was met; the printed table has every row.
    for r in report["results"]:
        assert (r["met"] is None) == (r["target"] is None), r
    for name in ("gas/doc, batch 10,000", "verify req/s", "offline receipt checks/s"):
        assert name in run.stdout
    # The verify load comes from wrk where it is installed (CI installs it), else from the
    # Python threads; the notes say which, since the figures depend on it.
    [verify_note] = [r["notes"] for r in report["results"] if r["name"] == "verify req/s"]
    assert ("wrk" if shutil.which("wrk") else "Python threads") in str(verify_note)
