"""``chainproof anchor / verify / receipt / verify-receipt``: evidence from the command line.

The first three talk to a running server through :mod:`chainproof.client` (``--server`` or
``CHAINPROOF_SERVER``, key from ``--api-key`` or ``CHAINPROOF_API_KEY``). ``verify-receipt`` needs
no server at all: a receipt is checked against any JSON-RPC node (docs/architecture.md, promise 2),
which is the point of a receipt.

Exit codes, the same for every command: 0 the answer is yes (anchored, valid), 1 the answer
is no (not anchored yet, invalid, timed out waiting), 2 the question could not be asked (bad
file, server or node unreachable, refused request). Errors are one red line on stderr.
``verify-receipt`` adds 3: every check passed, but against no trust anchor (no ``--trust``),
so the answer is not a yes.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from chainproof.cli.console import err, fail, failing, out
from chainproof.cli.progress import hash_files, progress_bar
from chainproof.cli.rpc import RPC_TIMEOUT, reach, web3_at
from chainproof.cli.verdicts import conclude, load_anchor, print_checks
from chainproof.client import DEFAULT_SERVER, ChainProofClient, ClientError, WaitTimeoutError
from chainproof.digests import Algorithm, check_algorithm
from chainproof.errors import ChainProofError

__all__ = ["register"]


class AlgorithmChoice(StrEnum):
    sha256 = "sha256"
    sm3 = "sm3"
    keccak256 = "keccak256"

    def typed(self) -> Algorithm:
        return check_algorithm(self.value)


ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="CHAINPROOF_SERVER",
        help="URL of the ChainProof server.",
        show_default=True,
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="CHAINPROOF_API_KEY",
        help="API key (Bearer); anchoring needs a submitter key.",
        show_default=False,
    ),
]
AlgorithmOption = Annotated[
    AlgorithmChoice, typer.Option("--algorithm", "-a", help="Digest algorithm.")
]


# The names other command modules import from here (licence.py).
_out = out
_err = err
_fail = fail


def _client(server: str, api_key: str | None) -> AbstractContextManager[ChainProofClient]:
    """A client whose ChainProof errors become one red line and exit code 2."""
    return failing(lambda: ChainProofClient(server, api_key=api_key))


# ---- anchor --------------------------------------------------------------------------------


def anchor(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="Files to anchor; only their digests go on chain."),
    ],
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="Free label (not proven).")
    ] = None,
    algorithm: AlgorithmOption = AlgorithmChoice.sha256,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Wait until every file is anchored on chain.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds --wait waits at most.")
    ] = 120.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the server's items as JSON, no table.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Upload FILE... to the server to be anchored; print id, digest and status of each.

    Exit 0 on success, 1 when --wait timed out (the files stay queued), 2 on errors.
    """
    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file" if not path.exists() else f"{path} is not a file")
    algo = algorithm.typed()
    timed_out: str | None = None  # the timeout message, printed after the table
    with _client(server, api_key) as client, progress_bar(quiet=as_json, console=_err) as progress:
        upload = progress.add_task("uploading", total=None)

        def on_upload(done: int, total: int) -> None:
            progress.update(upload, completed=done, total=total)

        items = client.anchor_files(files, label=label, algorithm=algo, on_upload=on_upload)
        progress.update(upload, description="uploaded")
        states: dict[str, dict[str, Any]] = {}
        if wait:
            waiting = progress.add_task("anchoring", total=len(items), unit="docs")

            def on_wait(done: int, total: int) -> None:
                progress.update(waiting, completed=done, total=total)

            try:
                states = client.wait_anchored(
                    [str(item["id"]) for item in items], timeout=timeout, on_progress=on_wait
                )
            except WaitTimeoutError as exc:
                states, timed_out = exc.results, str(exc)
    rows = [{**item, **states.get(str(item["id"]), {})} for item in items]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        _out().print(_anchor_table(files, rows))
    for item in items:
        if item.get("algorithm") not in (None, algo):
            _err.print(
                f"[yellow]the server hashed {escape(str(item.get('algorithm')))}, not {algo}: "
                "verify with that algorithm[/yellow]",
                soft_wrap=True,
            )
            break
    if timed_out is not None:
        _err.print(f"[yellow]timed out: {escape(timed_out)}[/yellow]", soft_wrap=True)
        raise typer.Exit(1)


def _anchor_table(files: list[Path], rows: list[dict[str, Any]]) -> Table:
    show_chain = any(row.get("anchor") for row in rows)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("file", overflow="fold")
    table.add_column("digest", overflow="fold")
    table.add_column("status", no_wrap=True)
    if show_chain:
        table.add_column("block", justify="right", no_wrap=True)
        table.add_column("tx", overflow="fold")
    for path, row in zip(files, rows, strict=True):
        status = str(row.get("status", "?"))
        cells = [
            str(row.get("id")),
            escape(str(path)),
            str(row.get("digest", "")),
            f"[{_STATUS_COLOUR.get(status, 'white')}]{escape(status)}[/]",
        ]
        if show_chain:
            anchor = row.get("anchor") or {}
            cells += [str(anchor.get("block_number", "")), str(anchor.get("tx_hash", ""))]
        table.add_row(*cells)
    return table


_STATUS_COLOUR = {
    "anchored": "green",
    "queued": "yellow",
    "batched": "yellow",
    "pending": "yellow",
    "revoked": "red",
}


# ---- verify --------------------------------------------------------------------------------


def verify(
    file: Annotated[Path, typer.Argument(help="The file to check; it is hashed here.")],
    algorithm: AlgorithmOption = AlgorithmChoice.sha256,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the server's verdict as JSON, no panel.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Is FILE exactly a document anchored on chain? Only its digest is sent to the server.

    Exit 0 when anchored, 1 otherwise (pending, not found, revoked, chain mismatch), 2 on
    errors.
    """
    if not file.is_file():
        _fail(f"{file}: no such file" if not file.exists() else f"{file} is not a file")
    algo = algorithm.typed()
    with progress_bar(quiet=as_json, console=_err) as progress:
        try:
            [digest] = hash_files(progress, [file], algo, description="hashing")
        except OSError as exc:
            _fail(f"cannot read {file}: {exc.strerror or exc}")
    with _client(server, api_key) as client:
        result = client.verify_digest(algo, digest)
    verdict = str(result.get("verdict", "unknown"))
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _out().print(_verdict_panel(file, verdict, result))
    raise typer.Exit(0 if verdict == "anchored" else 1)


_VERDICT_STYLE = {
    "anchored": ("green", "✓ anchored"),
    "pending": ("yellow", "… pending: accepted, not on chain yet"),
    "not_found": ("red", "✗ not found"),
    "revoked": ("red", "✗ revoked"),
    "chain_mismatch": ("red", "✗ chain mismatch: the server cannot prove it on its chain"),
}


def _verdict_panel(file: Path, verdict: str, result: dict[str, Any]) -> Panel:
    colour, title = _VERDICT_STYLE.get(verdict, ("red", f"✗ {verdict}"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def row(name: str, value: Any) -> None:
        if value not in (None, ""):
            grid.add_row(name, escape(str(value)))

    row("file", file)
    row("digest", f"{result.get('algorithm', '')} {result.get('digest', '')}".strip())
    if verdict != "anchored":
        row("reason", result.get("reason"))
    row("anchored at", result.get("anchored_at") or _when(result.get("block_timestamp")))
    row("member", result.get("member"))
    row("submitter", result.get("submitter"))
    row("block", result.get("block_number"))
    row("tx", result.get("tx_hash"))
    if result.get("chain_id") is not None:
        row("chain", f"{result.get('chain_id')} · contract {result.get('contract', '?')}")
    row("evidence id", result.get("evidence_id"))
    row("label", result.get("label"))
    return Panel(grid, title=f"[bold {colour}]{title}[/]", border_style=colour, expand=False)


def _when(timestamp: Any) -> str | None:
    if not isinstance(timestamp, int):
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


# ---- receipt -------------------------------------------------------------------------------


def receipt(
    evidence_id: Annotated[
        str, typer.Argument(help="The evidence's public id (from `chainproof anchor`).")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the receipt here (default: stdout)."),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Fetch the self-contained receipt of an anchored document.

    Exit 0 when written, 1 while the document is not anchored yet, 2 on errors.
    """
    try:
        with ChainProofClient(server, api_key=api_key) as client:
            body = client.receipt(evidence_id)
    except ClientError as exc:
        if exc.status == 409:
            _fail(
                f"evidence {evidence_id} is not anchored yet, so it has no receipt: "
                f"{exc.message}; try again once `chainproof anchor --wait` or `chainproof "
                "verify` says anchored",
                code=1,
            )
        _fail(str(exc))
    except ChainProofError as exc:
        _fail(str(exc))
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if output is None or str(output) == "-":
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    _err.print(
        f"receipt of evidence {evidence_id} written to {escape(str(output))}; check it with "
        f"`chainproof verify-receipt {escape(str(output))} --rpc URL --trust ANCHOR`",
        soft_wrap=True,
        highlight=False,
    )


# ---- revoke --------------------------------------------------------------------------------


def revoke(
    evidence_id: Annotated[str, typer.Argument(help="The public id of the evidence to revoke.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (1-500 characters; its hash goes on chain).")
    ],
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Revoke an anchored document on chain (its submitting member or an admin).

    The server enqueues the transaction for its chain writer; this command waits for it
    (queued → signed → sent → confirmed) with a progress display. Verification then answers
    `revoked` with the reason. Exit 0 when revoked, 2 on errors or when the chain refused it.
    """
    try:
        with ChainProofClient(server, api_key=api_key) as client:
            op = client.revoke(evidence_id, reason)
            with _err.status(f"revocation {op['id']}: {op['status']}") as shown:
                op = client.wait_operation(
                    str(op["id"]),
                    on_status=lambda o: shown.update(f"revocation {o['id']}: {o['status']}"),
                )
    except ChainProofError as exc:
        _fail(str(exc))
    if op.get("status") != "confirmed":
        _fail(f"the revocation failed: {op.get('error')}")
    _err.print(
        f"[red]evidence {evidence_id} revoked[/red] (tx {escape(str(op.get('tx_hash')))}): "
        f"{escape(reason)}",
        soft_wrap=True,
        highlight=False,
    )


# ---- verify-receipt ------------------------------------------------------------------------


def verify_receipt_command(
    file: Annotated[Path, typer.Argument(help="A receipt JSON file.")],
    rpc: Annotated[
        list[str],
        typer.Option(
            "--rpc",
            envvar="CHAINPROOF_RPC_URL",
            help=(
                "Any JSON-RPC endpoint of the receipt's chain (GET /api/v1/chain gives one), "
                "or of the trust anchor's main chain for a checkpointed sub-chain receipt. "
                "Repeat it for a dual-anchored receipt: one node per chain it lists."
            ),
        ),
    ],
    trust: Annotated[
        str | None,
        typer.Option(
            "--trust",
            envvar="CHAINPROOF_TRUST",
            help=(
                "The trust anchor to check against: a chainproof-trust-anchor/1 JSON file, or "
                "a server's base URL whose /.well-known/chainproof.json is fetched. Get it out "
                "of band (a certificate, the operator's HTTPS site), not from whoever hands "
                "you the receipt."
            ),
        ),
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help=(
                "For a receipt anchored on several chains (other_anchors): 'all' (every "
                "anchor must verify) or 'any' (one pinned anchor that verifies is enough). "
                "A revocation seen on any chain is always the verdict."
            ),
        ),
    ] = "all",
) -> None:
    """Verify a receipt against a chain and a pinned trust anchor, with no ChainProof server.

    Exit codes (docs/receipt.md):

    0: valid against the trust anchor.

    1: invalid or revoked; the failed check says why (a chain, registry, code not pinned).

    2: the receipt or the anchor cannot be read or fetched, or the node cannot be reached.

    3: not pinned: every check passed, but without --trust a forgery would pass them too.

    A dual-anchored receipt is checked on each chain it lists under --policy (docs/
    crosschain.md): 2 when only unreachable chains keep it from valid.
    """
    # Imported here: web3 costs a second of start-up that the server commands do not need.
    from chainproof.chain.nodes import display_url
    from chainproof.receipts import Receipt, verify_receipt

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")
    try:
        parsed = Receipt.from_json(text)
    except ChainProofError as exc:
        _fail(f"{file} is not a ChainProof receipt: {exc.message}")
    anchor = load_anchor(trust)
    if policy not in ("any", "all"):
        _fail(f"--policy must be 'any' or 'all', not {policy!r}")
    if parsed.other_anchors:
        if anchor is None:
            _fail("a dual-anchored receipt is verified against a trust anchor: give --trust")
        _verify_anchors(file, parsed, rpc, anchor, trust or "", policy)
        return
    rpc_url = rpc[0]
    shown = display_url(rpc_url)
    node_chain, w3 = reach(rpc_url, name_error=True)
    main = anchor.main_chain if anchor is not None else None
    if (
        anchor is not None
        and main is not None
        and parsed.checkpoint is not None
        and node_chain == main.chain_id != parsed.chain_id
    ):
        # A sub-chain receipt checked at its main chain: through its checkpoint (issue 22).
        from chainproof.crosschain.verify import verify_via_checkpoint

        verdict = verify_via_checkpoint(parsed, w3, trust=anchor)
    else:
        verdict = verify_receipt(parsed, w3, trust=anchor)
    out = _out()
    out.print(
        f"receipt {escape(str(file))}: {parsed.algorithm} {parsed.digest} on chain "
        f"{parsed.chain_id}, checked against {escape(shown)}",
        soft_wrap=True,
        highlight=False,
    )
    out.print(
        f"trust anchor: {escape(anchor.summary())}, from {escape(trust or '')}"
        if anchor
        else "trust anchor: none (--trust not given)",
        soft_wrap=True,
        highlight=False,
    )
    if parsed.metadata is not None:  # typed evidence: the offline check holds the salt to it
        out.print(
            f"metadata (committed in the leaf's salt): {escape(parsed.metadata.text)}",
            soft_wrap=True,
            highlight=False,
        )
    print_checks(out, verdict, 16)
    failed = verdict.checks[-1][0] if verdict.checks else ""
    conclude(
        out,
        verdict,
        valid_line=lambda: (
            f"[bold green]VALID[/bold green]: anchored in block {parsed.block_number} at "
            f"{_when(parsed.block_timestamp)} by {parsed.submitter} (tx {parsed.tx_hash}), "
            "against the pinned trust anchor"
        ),
        # verify_receipt reports an RPC failure in the middle of the checks as a failed check
        # whose detail says it "could not run": that is the network, not the receipt.
        node_failure=lambda reason: (
            f"the node at {shown} failed during the checks: {reason}"
            if reason.startswith(f"{failed} check could not run")
            else None
        ),
    )


def _verify_anchors(
    file: Path, parsed: Any, rpcs: list[str], anchor: Any, trust: str, policy: Any
) -> None:
    """A dual-anchored receipt: each anchor on the node of its chain, under ``policy``."""
    from chainproof.chain.nodes import display_url, rpc_chain_id
    from chainproof.crosschain.policy import verify_with_policy

    nodes: dict[int, Any] = {}
    out = _out()
    for url in rpcs:
        try:
            nodes.setdefault(rpc_chain_id(url, timeout=RPC_TIMEOUT), web3_at(url))
        except Exception as exc:  # a chain down counts as no node of it; the policy decides
            out.print(
                f"node {escape(display_url(url))} unreachable: {type(exc).__name__}",
                soft_wrap=True,
                highlight=False,
            )
    verdict = verify_with_policy(parsed, nodes, trust=anchor, policy=policy)
    out.print(
        f"receipt {escape(str(file))}: {parsed.algorithm} {parsed.digest}, anchored on "
        f"{len(verdict.anchors)} chains; policy {policy}",
        soft_wrap=True,
        highlight=False,
    )
    out.print(
        f"trust anchor: {escape(anchor.summary())}, from {escape(trust)}",
        soft_wrap=True,
        highlight=False,
    )
    for a in verdict.anchors:
        mark = "[green]✓[/green]" if a.valid else "[red]✗[/red]"
        out.print(
            f" {mark} chain {a.chain_id} block {a.block_number}: {escape(a.describe())}",
            soft_wrap=True,
            highlight=False,
        )
    if verdict.valid:
        out.print(
            f"[bold green]VALID[/bold green] under policy {policy}: "
            f"{sum(a.valid for a in verdict.anchors)} of {len(verdict.anchors)} anchors verified",
            soft_wrap=True,
            highlight=False,
        )
        return
    if verdict.status == "unreachable":
        _fail(f"cannot verify under policy {policy}: {verdict.reason}")
    word = "REVOKED" if verdict.status == "revoked" else "INVALID"
    out.print(
        f"[bold red]{word}[/bold red]: {escape(verdict.reason or '')}",
        soft_wrap=True,
        highlight=False,
    )
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Adds ``anchor``, ``verify``, ``receipt``, ``revoke`` and ``verify-receipt`` to ``app``."""
    app.command("anchor")(anchor)
    app.command("verify")(verify)
    app.command("receipt")(receipt)
    app.command("revoke")(revoke)
    app.command("verify-receipt")(verify_receipt_command)
