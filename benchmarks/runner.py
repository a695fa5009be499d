"""Runs the chosen measurements in order and collects one report.

Order matters: ingest anchors the digests that verify then checks, and the time-to-anchor
run goes before verify so its batches are not delayed by a verify storm. The PostgreSQL
runs start their own chains, databases and processes, after the rest.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from benchmarks import epcis, epcis_api, gas, hashing, ingest, latency, postgres, verify
from benchmarks.results import Report, machine_facts
from benchmarks.stack import fresh_chain, running_server

MEASUREMENTS = ("gas", "epcis", "ingest", "latency", "verify", "hashing", "epcis-api", "postgres")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench",
        description="ChainProof benchmarks, each beside a baseline measured in the same run.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test (< 60 s)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    p.add_argument(
        "--only",
        default=None,
        help=(
            f"comma-separated subset of {', '.join(MEASUREMENTS)} (verify implies ingest); "
            "default: all (--quick: all but postgres, which starts several processes per run)"
        ),
    )
    p.add_argument("--workdir", type=Path, help="keep chains, databases and logs here")
    return p.parse_args(argv)


def chosen(only: str) -> list[str]:
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(MEASUREMENTS))
    if unknown:
        raise SystemExit(f"unknown measurement(s): {', '.join(unknown)}; pick from {MEASUREMENTS}")
    if "verify" in names and "ingest" not in names:
        names.append("ingest")
    return [m for m in MEASUREMENTS if m in names]


def run(args: argparse.Namespace, console: Console | None = None) -> Report:
    console = console or Console(stderr=True)
    default = [m for m in MEASUREMENTS if not (args.quick and m == "postgres")]
    picked = chosen(args.only if args.only is not None else ",".join(default))
    report = Report(mode="quick" if args.quick else "full", machine=machine_facts())
    with tempfile.TemporaryDirectory(prefix="chainproof-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if "gas" in picked:
            console.log("gas per document ...")
            report.add(*gas.measure(work, quick=args.quick))
        if "epcis" in picked:
            console.log("EPCIS validation and CBV 2.0 hashing ...")
            report.add(*epcis.measure(work, quick=args.quick))
        needs_server = [m for m in picked if m not in ("gas", "epcis", "postgres")]
        if needs_server:
            with (
                fresh_chain(work / "server-chain") as chain,
                running_server(work / "server", chain.node.rpc_url or "") as server,
            ):
                anchored = ingest.Ingested()
                if "ingest" in picked:
                    console.log("ingest ...")
                    report.add(*ingest.measure(server, work, quick=args.quick, out=anchored))
                if "latency" in picked:
                    console.log("time to anchor ...")
                    report.add(*latency.measure(server, work, quick=args.quick))
                if "verify" in picked:
                    console.log("verify ...")
                    report.add(
                        *verify.measure(
                            server,
                            anchored.digests,
                            quick=args.quick,
                            chain_url=chain.node.rpc_url or "",
                        )
                    )
                if "hashing" in picked:
                    console.log("upload + hash ...")
                    report.add(*hashing.measure(server, work, quick=args.quick))
                if "epcis-api" in picked:
                    console.log("/epcis capture until anchored, and paging ...")
                    report.add(*epcis_api.measure(server, quick=args.quick))
        if "postgres" in picked:
            console.log("PostgreSQL: ingest (1 process, 2 replicas + worker), takeover ...")
            report.add(*postgres.measure(work, quick=args.quick))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    # Wide enough for the table when the output is a file or a pipe (rich assumes 80).
    out = Console()
    report.print(out if out.is_terminal else Console(width=180))
    if args.json:
        report.write_json(args.json)
    return 0
