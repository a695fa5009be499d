"""``chainproof licence verify``: check an e-licence or a presentation with no server.

Everything comes from the file, the chain and what the verifier pinned: the issuer's
EIP-712 signature and each disclosed claim's proof (``licences/credential.py``), the
validity dates, and, from the JSON-RPC node against the pinned trust anchor, that the claims
root was anchored by the issuer's own key and the licence's status: the latest status record
(``credentialStatus.statusRecord``, or fetched with ``--status-from``, trusted neither way)
anchored by the issuer and not revoked (``licences/status.py``; each receipt checked as
``verify-receipt`` checks any receipt).

Exit codes as the other commands: 0 valid, 1 not (invalid, revoked, suspended, superseded,
stale, expired, issuer not pinned), 2 the question could not be asked (unreadable file or
anchor, node unreachable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.markup import escape

from chainproof.cli.evidence import _fail, _out
from chainproof.errors import ChainProofError

MAX_STATUS_BYTES: Final = 256 * 1024


def _fetched_status(base_url: str, licence: str, fallback: dict[str, Any]) -> dict[str, Any]:
    """The ``credentialStatus`` a server publishes for ``licence`` (bounded read); checked on
    the chain like any other, so a server that lies gets "invalid" or "stale", never "valid"."""
    import httpx

    public_id = licence.removeprefix("urn:uuid:")
    url = base_url.rstrip("/") + f"/api/v1/licences/{public_id}/public"
    try:
        with httpx.stream("GET", url, timeout=10.0) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_STATUS_BYTES:
                    _fail(f"{url} answered more than {MAX_STATUS_BYTES} bytes")
        if response.status_code != 200:
            _fail(f"{url} answered {response.status_code}")
        fetched = json.loads(body)["credential"]["credentialStatus"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        _fail(f"cannot fetch the status from {url}: {exc}")
    return dict(fetched) if isinstance(fetched, dict) else fallback


app = typer.Typer(help="E-licences (电子证照): verify a licence or a holder's presentation.")


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A licence credential or a presentation (JSON).")],
    rpc: Annotated[
        str, typer.Option("--rpc", envvar="CHAINPROOF_RPC_URL", help="A JSON-RPC node.")
    ],
    trust: Annotated[
        str,
        typer.Option(
            "--trust",
            envvar="CHAINPROOF_TRUST",
            help="The trust anchor (a file, or a server's base URL), got out of band.",
        ),
    ],
    issuers: Annotated[
        list[str] | None,
        typer.Option(
            "--issuer",
            help="A licence issuer you trust, as its did:pkh (repeatable); got out of band.",
        ),
    ] = None,
    status_from: Annotated[
        str | None,
        typer.Option(
            "--status-from",
            help="A server's base URL to fetch the licence's latest status record from "
            "(not trusted: checked on the chain like the copy in the file).",
        ),
    ] = None,
) -> None:
    """Verify a licence or presentation against the chain, with no ChainProof server.

    The status is the chain's: the status record in the file (or fetched with
    --status-from) must be anchored by the issuer and not revoked; a revoked one means the
    issuer changed the status since (STALE)."""
    from web3 import Web3

    from chainproof.licences.credential import check, credential_of
    from chainproof.licences.status import ChainStatus, read_credential_status
    from chainproof.receipts import Receipt, ReceiptVerdict, verify_receipt
    from chainproof.trust import TrustAnchor

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        credential = credential_of(document)
        anchor = TrustAnchor.load(trust)
    except (OSError, ValueError, ChainProofError) as exc:
        _fail(f"cannot read {file} or the trust anchor: {getattr(exc, 'message', exc)}")
    status = dict(credential.get("credentialStatus") or {})
    if status_from:
        status = _fetched_status(status_from, str(credential.get("id", "")), status)
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 10.0}))

    def on_node(receipt: Receipt) -> ReceiptVerdict:
        verdict = verify_receipt(receipt, w3, trust=anchor)
        if any(not ok and "could not run" in detail for _, ok, detail in verdict.checks):
            _fail(f"cannot ask the JSON-RPC node: {verdict.reason}")  # "could not ask", exit 2
        return verdict

    said: dict[str, ChainStatus] = {}

    def on_chain() -> ChainStatus:
        if not said:
            try:
                said["it"] = read_credential_status(credential, status, verify=on_node)
            except ChainProofError as exc:  # the issuer is not a DID
                said["it"] = ChainStatus(False, exc.message, "unknown", exc.message)
        return said["it"]

    verdict = check(
        document,
        trusted_issuers=issuers or [],
        anchored=lambda _root: on_chain().anchored,
        status=lambda _credential: on_chain().status,
    )
    out = _out()
    for c in verdict.checks:
        why = {"anchored": said["it"].anchored_detail, "status": said["it"].status_detail}
        detail = f"{c.detail} ({why[c.name]})" if c.name in why and said else c.detail
        mark = "[green]✓[/green]" if c.ok else "[red]✗[/red]"
        out.print(f" {mark} {c.name:<20} {escape(detail)}", soft_wrap=True, highlight=False)
    for name, value in verdict.disclosed.items():
        out.print(f"   {escape(name)}: {escape(value)}", soft_wrap=True, highlight=False)
    if verdict.valid:
        out.print(f"[bold green]VALID[/bold green] licence of {escape(str(verdict.issuer))}")
        return
    out.print(f"[bold red]{verdict.status.upper()}[/bold red]", highlight=False)
    raise typer.Exit(1)
