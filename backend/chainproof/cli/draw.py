"""``chainproof draw verify``: recompute a published draw from the chain (docs/draws.md).

The draw comes from the server (``GET /api/v1/draws/{id}``); everything it says is checked
against the chain through ``--rpc`` and the trust anchor pinned with ``--trust``. Exit 0 only
when the recomputed selection equals the published one and every check held; 1 when it does
not (or the draw is not drawn yet); 2 when the question could not be asked (server, node or
trust anchor unreachable).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from chainproof.cli.console import fail as _fail
from chainproof.cli.rpc import reach
from chainproof.cli.verdicts import PinnedTrustOption, pinned_anchor

app = typer.Typer(help="Verifiable random draws (随机数): recompute one.", no_args_is_help=True)
_TIMEOUT = 10.0
_MAX_BODY = 8 * 1024 * 1024  # 10,000 candidates of 200 characters fit


@app.callback()
def _group() -> None:
    """Verifiable random draws (随机数): recompute one from the chain (docs/draws.md)."""


def _fetch(server: str, draw_id: str) -> dict[str, Any]:
    url = f"{server.rstrip('/')}/api/v1/draws/{draw_id}"
    try:
        with httpx.stream("GET", url, timeout=_TIMEOUT) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _MAX_BODY:
                    _fail(f"{url} answered more than {_MAX_BODY} bytes")
            status = response.status_code
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {type(exc).__name__}: {exc}")
    if status != 200:
        _fail(f"{url} answered {status}")
    try:
        data = json.loads(body)
    except ValueError:
        _fail(f"{url} did not answer JSON")
    if not isinstance(data, dict):
        _fail(f"{url} did not answer a draw")
    return data


@app.command("verify")
def verify(
    draw_id: Annotated[str, typer.Argument(metavar="ID", help="The draw's id.")],
    server: Annotated[
        str, typer.Option("--server", envvar="CHAINPROOF_SERVER", help="The ChainProof server.")
    ],
    rpc: Annotated[
        str,
        typer.Option("--rpc", envvar="CHAINPROOF_RPC_URL", help="A JSON-RPC node of the chain."),
    ],
    trust: PinnedTrustOption,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"valid", "selected", "reason"} only.')
    ] = False,
) -> None:
    """Recompute draw ID from the chain and compare it with the published selection."""

    from chainproof.chain.nodes import display_url
    from chainproof.draws.verify import verify_draw

    anchor = pinned_anchor(trust)
    published = _fetch(server, draw_id)
    _, w3 = reach(rpc, name_error=True)
    try:
        verdict = verify_draw(published, w3, trust=anchor)
    except Exception as exc:  # the node failing mid-way (a block it no longer serves, say)
        _fail(f"the node at {display_url(rpc)} failed during the checks: {exc}")
    if as_json:
        typer.echo(
            json.dumps(
                {"valid": verdict.valid, "selected": verdict.selected, "reason": verdict.reason},
                ensure_ascii=False,
            )
        )
    else:
        out = Console(width=240) if not Console().is_terminal else Console()
        for name, detail in verdict.checks:
            out.print(f" [green]✓[/green] {name:<12} {escape(detail)}", highlight=False)
        if verdict.selected is not None:
            out.print("selected, in draw order: " + escape(", ".join(verdict.selected)))
        if verdict.valid:
            out.print("[bold green]VALID[/bold green]: the published selection is the draw's")
        else:
            out.print(f"[bold red]INVALID[/bold red]: {escape(verdict.reason or '')}")
    if not verdict.valid:
        raise typer.Exit(1)
