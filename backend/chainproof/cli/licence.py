"""``chainproof licence verify``: check an e-licence or a presentation with no server.

Everything comes from the file, the chain and what the verifier pinned: the issuer's
EIP-712 signature and each disclosed claim's proof (``licences/credential.py``), the
validity dates, and, from the JSON-RPC node against the pinned trust anchor, that the claims
root was anchored by the issuer's own key and whether the issuer revoked it (the root's
receipt in ``credentialStatus``, checked as ``verify-receipt`` checks any receipt).

Exit codes as the other commands: 0 valid, 1 not (invalid, revoked, expired, issuer not
pinned), 2 the question could not be asked (unreadable file or anchor, node unreachable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from chainproof.cli.evidence import _fail, _out
from chainproof.errors import ChainProofError

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
) -> None:
    """Verify a licence or presentation against the chain, with no ChainProof server."""
    from web3 import Web3

    from chainproof.licences.credential import check, credential_of, parse_did
    from chainproof.receipts import Receipt, verify_receipt
    from chainproof.trust import TrustAnchor

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        credential = credential_of(document)
        anchor = TrustAnchor.load(trust)
    except (OSError, ValueError, ChainProofError) as exc:
        _fail(f"cannot read {file} or the trust anchor: {getattr(exc, 'message', exc)}")
    raw = credential.get("credentialStatus", {}).get("receipt")
    chain: dict[str, Any] = {}

    def on_chain(root: bytes) -> bool:
        if raw is None:
            chain["why"] = "the licence carries no receipt for its root"
            return False
        try:
            receipt = Receipt.from_dict(raw)
            did_chain, issuer_address = parse_did(str(credential["issuer"]))
        except ChainProofError as exc:
            chain["why"] = exc.message
            return False
        w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 10.0}))
        try:
            verdict = verify_receipt(receipt, w3, trust=anchor)
        except Exception as exc:  # the node: "could not ask", never "invalid"
            _fail(f"cannot reach the JSON-RPC node: {type(exc).__name__}: {exc}")
        chain["status"] = verdict.status
        chain["why"] = verdict.reason or f"block {receipt.block_number}"
        if did_chain != receipt.chain_id:
            chain["why"] = (
                f"the issuer's DID names chain {did_chain}, the anchor {receipt.chain_id}"
            )
            return False
        return (
            receipt.digest.lower() == "0x" + root.hex()
            and receipt.submitter.lower() == issuer_address.lower()
            and verdict.status in ("valid", "revoked")
        )

    def status(_: Any) -> str:
        return "revoked" if chain.get("status") == "revoked" else "active"

    verdict = check(document, trusted_issuers=issuers or [], anchored=on_chain, status=status)
    out = _out()
    for c in verdict.checks:
        detail = c.detail if c.name != "anchored" else f"{c.detail} ({chain.get('why', '')})"
        mark = "[green]✓[/green]" if c.ok else "[red]✗[/red]"
        out.print(f" {mark} {c.name:<20} {escape(detail)}", soft_wrap=True, highlight=False)
    for name, value in verdict.disclosed.items():
        out.print(f"   {escape(name)}: {escape(value)}", soft_wrap=True, highlight=False)
    if verdict.valid:
        out.print(f"[bold green]VALID[/bold green] licence of {escape(str(verdict.issuer))}")
        return
    out.print(f"[bold red]{verdict.status.upper()}[/bold red]", highlight=False)
    raise typer.Exit(1)
