"""``chainproof audit verify``: recompute the audit side chain and check its anchored heads.

Exit codes: 0 intact (every entry present, in order, unchanged; with ``--rpc``, every anchored
head valid against the chain), 1 broken (the first entry changed, removed or reordered is
named), 2 the database, file, node or trust anchor could not be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from chainproof.cli.rpc import reach
from chainproof.cli.verdicts import load_anchor

if TYPE_CHECKING:  # the ORM is imported inside the commands (start-up time)
    from sqlmodel import Session

    from chainproof.audit.log import Report
    from chainproof.audit.models import AuditEntry
    from chainproof.store.models import Evidence

app = typer.Typer(help="The audit side chain (审计侧链): what the platform itself did.")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command("verify")
def verify_command(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="An exported audit CSV (GET /api/v1/audit?format=csv)."),
    ] = None,
    rpc: Annotated[
        str | None, typer.Option("--rpc", help="A JSON-RPC URL: check each anchored head there.")
    ] = None,
    trust: Annotated[
        str | None,
        typer.Option("--trust", help="The trust anchor (file or URL) the heads must match."),
    ] = None,
) -> None:
    """Recompute the audit log's hash chain (the configured database, or --file) and, with
    --rpc, verify the receipt of the last entry of every anchored batch."""
    from chainproof.audit import log

    if file is not None:
        from chainproof.audit.export import read_csv

        if rpc is not None:
            _fail("--rpc checks the anchors of the database's log; an exported file has none")
        try:
            with file.open(encoding="utf-8", newline="") as handle:
                report = log.check(list(read_csv(handle)))
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")
        _finish(report, f"{file}")
        return
    _verify_database(rpc, trust)


def _verify_database(rpc: str | None, trust: str | None) -> None:
    # The ORM and web3 are imported here: the light CLI path stays light.
    from sqlmodel import col, select

    from chainproof.audit import log
    from chainproof.audit.models import AuditEntry
    from chainproof.cli.keys import _session
    from chainproof.store.models import Evidence

    with _session() as session:
        rows = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all())
        hashes = [r.record_hash for r in rows]
        found: dict[str, Evidence] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            for ev in session.exec(
                select(Evidence)
                .where(Evidence.algorithm == "sha256", col(Evidence.digest).in_(chunk))
                .order_by(col(Evidence.id))
            ).all():
                found.setdefault(ev.digest, ev)
        report = log.check([log.stored(r) for r in rows], queued=found.__contains__)
        if rpc is not None and report.ok:
            batch_of = {d: ev.batch_id for d, ev in found.items() if ev.status == "anchored"}
            _check_heads(session, log.heads(rows, batch_of), found, rpc, trust, report)
    _finish(report, "the database's audit log")


def _check_heads(
    session: Session,
    heads: list[AuditEntry],
    found: dict[str, Evidence],
    rpc: str,
    trust: str | None,
    report: Report,
) -> None:

    from chainproof.evidence.service import build_receipt
    from chainproof.evidence.verify import OPERATOR
    from chainproof.receipts import verify_receipt

    anchor = load_anchor(trust, _fail)
    _, w3 = reach(rpc)
    for head in heads:
        ev = found[head.record_hash]
        receipt = build_receipt(session=session, evidence_id=ev.public_id, viewer=OPERATOR)
        verdict = verify_receipt(receipt, w3, trust=anchor)
        if not verdict.valid and (anchor is not None or verdict.status != "unpinned"):
            report.problems.append(
                f"entry {head.seq}: its anchor does not verify: {verdict.reason}"
            )
            return
        typer.echo(f"head {head.seq} ({head.record_hash}) anchored in block {receipt.block_number}")


def _finish(report: Report, where: str) -> None:
    if report.ok:
        typer.echo(f"intact: {report.entries} entries in {where}, head {report.head or '-'}")
        return
    typer.echo(f"BROKEN: {report.first}", err=True)
    for problem in report.problems[1:]:
        typer.echo(f"  also: {problem}", err=True)
    raise typer.Exit(1)
