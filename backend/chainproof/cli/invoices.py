"""``chainproof subsidy verify-invoice PROOF --rpc URL --trust ANCHOR``: an invoice proof,
and ``chainproof subsidy verify-consistency FILE --rpc URL --trust ANCHOR``: the map's
append-only proof between two roots; each checked with no ChainProof server
(docs/invoices.md).

Exit 0: the proof holds against roots anchored on the pinned registry (verify-invoice prints
whether the invoice is claimed, by which application, or not claimed before that root's
block); 1: it does not; 2: the file, the node or the trust anchor cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from chainproof.cli.console import fail as _fail
from chainproof.cli.rpc import reach
from chainproof.cli.verdicts import pinned_anchor

if TYPE_CHECKING:
    from web3 import Web3

    from chainproof.trust import TrustAnchor

_MAX_FILE = 1 << 20


def _read_pinned(path: Path, rpc: str, trust: str) -> tuple[dict[str, Any], Web3, TrustAnchor]:
    """The JSON document at ``path``, a node at ``rpc`` and the anchor ``trust`` (exit 2 when
    any cannot be had)."""

    try:
        if path.stat().st_size > _MAX_FILE:
            _fail(f"{path} is larger than {_MAX_FILE} bytes")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {path}: {exc}")
    if not isinstance(doc, dict):
        _fail(f"{path} is not a proof document")
    anchor = pinned_anchor(trust)
    _, w3 = reach(rpc)
    return doc, w3, anchor


def _valid_or_exit(valid: bool, reason: str | None) -> Console:
    """The console to print a valid verdict on; an invalid one is printed here, exit 1."""
    out = Console(width=240)
    if not valid:
        out.print(f"INVALID: {escape(reason or '')}", highlight=False)
        raise typer.Exit(1)
    return out


RpcOpt = Annotated[str, typer.Option("--rpc", envvar="CHAINPROOF_RPC_URL", help="A JSON-RPC node.")]
TrustOpt = Annotated[
    str,
    typer.Option("--trust", envvar="CHAINPROOF_TRUST", help="The trust anchor to pin."),
]


def verify_invoice(
    proof_file: Annotated[Path, typer.Argument(metavar="PROOF", help="A proof file (JSON).")],
    rpc: RpcOpt,
    trust: TrustOpt,
) -> None:
    """Check an invoice (non-)membership proof against its anchored root."""
    from chainproof.invoices.proofs import verify_invoice_proof

    doc, w3, anchor = _read_pinned(proof_file, rpc, trust)
    verdict = verify_invoice_proof(doc, w3, trust=anchor)
    out = _valid_or_exit(verdict.valid, verdict.reason)
    root = doc["root_record"]
    where = f"root {root['root']} ({root['size']} claims) anchored in block {verdict.block_number}"
    if verdict.claimed:
        by = doc["claimed_by"]
        what = f"CLAIMED by application {by['application']} (document {by['document']})"
    else:
        what = "NOT CLAIMED by any application"
    out.print(f"VALID: {what} in {where}", highlight=False)


def verify_consistency(
    proof_file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="A consistency proof (GET /api/v1/invoices/consistency)."
        ),
    ],
    rpc: RpcOpt,
    trust: TrustOpt,
) -> None:
    """Check that the invoice map only grew between two roots anchored on chain."""
    from chainproof.invoices.consistency import verify_consistency_document

    doc, w3, anchor = _read_pinned(proof_file, rpc, trust)
    verdict = verify_consistency_document(doc, w3, trust=anchor)
    out = _valid_or_exit(verdict.valid, verdict.reason)
    old, new = doc["from"]["root_record"], doc["to"]["root_record"]
    since = "the empty map" if verdict.from_block is None else f"block {verdict.from_block}"
    out.print(
        f"VALID: root {new['root']} ({new['size']} claims, block {verdict.to_block}) holds "
        f"every claim of root {old['root']} ({old['size']} claims, {since}) unchanged, and "
        f"{len(doc['steps'])} more",
        highlight=False,
    )
