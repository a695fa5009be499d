"""``chainproof subsidy check / assess``: the 2023 subsidy applications from the command line.

``check FOLDER --application ID`` is the reviewer's integrity check: every file under FOLDER
is hashed here (nothing is uploaded), the digests go to the server, and one row per file
says whether it is exactly a document of that application, anchored when and where. Exit 0
when every file matches and verifies on chain, 1 when any does not, 2 when the question
could not be asked (no folder, server unreachable, refused key).

``assess`` applies the guide's rules to amounts on this machine, no server needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from chainproof.cli.console import err as _err
from chainproof.cli.console import fail as _fail
from chainproof.cli.console import failing
from chainproof.cli.console import out as _out
from chainproof.cli.evidence import AlgorithmChoice, AlgorithmOption, ApiKeyOption, ServerOption
from chainproof.cli.progress import hash_files, progress_bar
from chainproof.client import DEFAULT_SERVER, ChainProofClient
from chainproof.digests import Algorithm, to_hex
from chainproof.errors import ChainProofError

app = typer.Typer(
    help="The 2023 subsidy applications (专项补贴): check files, assess amounts.",
    no_args_is_help=True,
)

FILES_PER_REQUEST: Final = 2_000  # digests per request: far below the server's JSON limit
_RESULT_STYLE: Final = {
    "match": "green",
    "other_application": "red",
    "anchored_elsewhere": "yellow",
    "unknown": "red",
}


class SubsidyClient(ChainProofClient):
    """The client, plus the subsidy endpoints the CLI needs."""

    def integrity_check(
        self, application_id: int, algorithm: Algorithm, files: Sequence[tuple[str, bytes]]
    ) -> dict[str, Any]:
        """``POST /api/v1/subsidy/applications/{id}/integrity-check`` with digests, in chunks;
        the answers merged into one (``rows`` in order, ``all_match`` over all of them)."""
        rows: list[dict[str, Any]] = []
        for start in range(0, len(files), FILES_PER_REQUEST):
            chunk = files[start : start + FILES_PER_REQUEST]
            body = self._request(
                "POST",
                f"/api/v1/subsidy/applications/{int(application_id)}/integrity-check",
                json={
                    "algorithm": algorithm,
                    "files": [{"name": name, "digest": to_hex(d)} for name, d in chunk],
                },
            )
            rows.extend(body.get("rows", []))
        all_match = bool(rows) and all(
            r.get("result") == "match" and r.get("verdict") == "anchored" for r in rows
        )
        return {"application_id": application_id, "all_match": all_match, "rows": rows}


def _client(server: str, api_key: str | None) -> AbstractContextManager[SubsidyClient]:
    return failing(lambda: SubsidyClient(server, api_key=api_key))


def _files(folder: Path) -> list[Path]:
    """Every regular file under ``folder``, hidden ones (``.DS_Store``, ``.git``) left out."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            found.append(path)
    return found


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, int):
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _what(row: dict[str, Any]) -> str:
    document = row.get("document") or {}
    application = row.get("application") or {}
    if row.get("result") == "match":
        name = document.get("filename") or ""
        if document.get("id") is None:
            return f"{document.get('phase', '')} manifest"
        return f"{document.get('kind', '')} #{document.get('id')} {name}".strip()
    if row.get("result") == "other_application":
        if application.get("id") is None:
            return "another application"
        return f"application {application['id']} {application.get('project_name') or ''}".strip()
    return row.get("reason") or ""


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, caption="times in UTC")
    table.add_column("file", overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("document / where", overflow="fold")
    table.add_column("anchored at", no_wrap=True)
    table.add_column("block", justify="right", no_wrap=True)
    table.add_column("tx", overflow="fold")
    for row in rows:
        result = str(row.get("result", "?"))
        verdict = str(row.get("verdict", ""))
        shown = result if verdict in ("anchored", "not_found") else f"{result} ({verdict})"
        anchor = row.get("anchor") or {}
        table.add_row(
            escape(str(row.get("name", ""))),
            f"[{_RESULT_STYLE.get(result, 'white')}]{escape(shown)}[/]",
            escape(_what(row)),
            _when(anchor.get("block_timestamp")),
            str(anchor.get("block_number", "")),
            str(anchor.get("tx_hash", "")),
        )
    return table


@app.command("check")
def check(
    folder: Annotated[
        Path, typer.Argument(help="The files in front of you (searched recursively).")
    ],
    application: Annotated[int, typer.Option("--application", min=1, help="Application id.")],
    algorithm: AlgorithmOption = AlgorithmChoice.sha256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Is every file under FOLDER exactly a document of the application? (reviewer key)

    Exit 0 when all match and verify on chain, 1 otherwise, 2 on errors.
    """
    if not folder.is_dir():
        _fail(f"{folder}: no such folder" if not folder.exists() else f"{folder} is not a folder")
    paths = _files(folder)
    if not paths:
        _fail(f"{folder} holds no files to check")
    algo = algorithm.typed()
    try:
        with progress_bar(quiet=as_json, console=_err) as progress:
            digests = hash_files(progress, paths, algo, description=f"hashing {len(paths)} files")
    except OSError as exc:
        _fail(f"cannot read {exc.filename}: {exc.strerror or exc}")
    files = [(str(p.relative_to(folder)), d) for p, d in zip(paths, digests, strict=True)]
    with _client(server, api_key) as client:
        result = client.integrity_check(application, algo, files)
    rows: list[dict[str, Any]] = result["rows"]
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _out().print(_table(rows))
        matched = sum(1 for r in rows if r.get("result") == "match")
        colour = "green" if result["all_match"] else "red"
        _out().print(
            f"[{colour}]{matched} of {len(rows)} files match application {application}[/]",
            highlight=False,
        )
    raise typer.Exit(0 if result["all_match"] else 1)


def _decimal(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        _fail(f"{what}: {text!r} is not a number")


@app.command("assess")
def assess(
    investment: Annotated[
        str | None, typer.Option("--investment", help="Self-funded investment, 万元.")
    ] = None,
    headcount: Annotated[
        int | None, typer.Option("--headcount", min=0, help="R&D + implementation staff.")
    ] = None,
    class_size: Annotated[int | None, typer.Option("--class-size", min=0)] = None,
    days: Annotated[str | None, typer.Option("--days", help="Training days.")] = None,
    certified: Annotated[int | None, typer.Option("--certified", min=0)] = None,
    package: Annotated[
        list[str] | None, typer.Option("--package", help="A 附件4-1 package code; repeatable.")
    ] = None,
) -> None:
    """Apply the guide's rules to amounts, here (no server): every answer with its reason."""
    from chainproof.subsidy import rules  # the rules engine is pure: no database, no chain

    training = None
    if class_size is not None or days is not None or certified is not None:
        if class_size is None or days is None or certified is None:
            _fail("a training class needs --class-size, --days and --certified together")
        training = rules.TrainingClass(
            class_size, _decimal(days, "--days") or Decimal(0), certified
        )
    try:
        answer = rules.assess(
            self_investment_wan=_decimal(investment, "--investment"),
            headcount=headcount,
            training=training,
            packages=package,
        )
    except ChainProofError as exc:
        _fail(exc.message)
    if not answer.reasons:
        _fail("nothing to assess: give --investment, --headcount, a training class or --package")
    for reason in answer.reasons:
        _out().print(escape(reason), soft_wrap=True, highlight=False)
