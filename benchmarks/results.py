"""One row of the table: a figure, its baseline from the same run, their ratio, a target."""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

Better = Literal["higher", "lower"]


@dataclass
class Result:
    """``value`` and ``baseline`` are in ``unit``; ``ratio`` is how many times better the
    figure is than its baseline (>1: better), whichever direction "better" is."""

    measurement: str  # "gas", "epcis", "ingest", "latency", "verify", "hashing"
    name: str
    value: float
    unit: str
    baseline: float
    baseline_name: str
    better: Better
    target: float | None = None  # met when value is on the better side of it
    target_text: str = ""
    notes: str = ""

    @property
    def ratio(self) -> float:
        if self.better == "higher":
            return self.value / self.baseline if self.baseline else math.inf
        return self.baseline / self.value if self.value else math.inf

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["met"] = self.met
        return out


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    mode: str = "full"
    machine: dict[str, Any] = field(default_factory=dict)

    def add(self, *results: Result) -> None:
        self.results.extend(results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "started_at": self.started_at,
            "machine": self.machine,
            "results": [r.as_dict() for r in self.results],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n")

    def table(self) -> Table:
        t = Table(title=f"ChainProof benchmarks ({self.mode})", show_lines=False)
        for col in ("measurement", "figure", "value", "baseline (same run)", "ratio", "target"):
            t.add_column(col, justify="right" if col in ("value", "ratio") else "left")
        t.add_column("met?", justify="center")
        for r in self.results:
            met = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "-"}[r.met]
            t.add_row(
                r.measurement,
                r.name,
                f"{fmt(r.value)} {r.unit}",
                f"{fmt(r.baseline)} {r.unit} ({r.baseline_name})",
                f"{r.ratio:.2f}x",
                r.target_text or "-",
                met,
            )
        return t

    def print(self, console: Console | None = None) -> None:
        (console or Console()).print(self.table())


def fmt(x: float) -> str:
    if x == 0 or math.isinf(x) or math.isnan(x):
        return str(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def machine_facts() -> dict[str, Any]:
    """What the numbers were measured on (the docs quote these)."""
    import os

    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                facts["memory_gib"] = round(int(line.split()[1]) / 1024**2, 1)
                break
        facts["loadavg"] = os.getloadavg()
    except OSError:
        pass
    return facts
