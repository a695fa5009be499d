"""``chainproof subsidy verify-invoice PROOF --rpc URL --trust ANCHOR``: an invoice proof,
checked with no ChainProof server (docs/invoices.md).

Exit 0: the proof holds against a root anchored on the pinned registry (it prints whether
the invoice is claimed, by which application, or not claimed before that root's block); 1:
it does not; 2: the file, the node or the trust anchor cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from chainproof.cli.console import fail as _fail

_TIMEOUT = 10.0
_MAX_FILE = 1 << 20


def verify_invoice(
    proof_file: Annotated[Path, typer.Argument(metavar="PROOF", help="A proof file (JSON).")],
    rpc: Annotated[
        str, typer.Option("--rpc", envvar="CHAINPROOF_RPC_URL", help="A JSON-RPC node.")
    ],
    trust: Annotated[
        str,
        typer.Option("--trust", envvar="CHAINPROOF_TRUST", help="The trust anchor to pin."),
    ],
) -> None:
    """Check an invoice (non-)membership proof against its anchored root."""
    from web3 import Web3

    from chainproof.chain.nodes import display_url, rpc_chain_id
    from chainproof.errors import ChainProofError
    from chainproof.invoices.proofs import verify_invoice_proof
    from chainproof.trust import TrustAnchor

    try:
        if proof_file.stat().st_size > _MAX_FILE:
            _fail(f"{proof_file} is larger than {_MAX_FILE} bytes")
        doc = json.loads(proof_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {proof_file}: {exc}")
    if not isinstance(doc, dict):
        _fail(f"{proof_file} is not a proof document")
    try:
        anchor = TrustAnchor.load(trust)
    except ChainProofError as exc:
        _fail(f"no trust anchor from {trust}: {exc.message}")
    try:
        rpc_chain_id(rpc, timeout=_TIMEOUT)
    except Exception as exc:
        _fail(f"cannot reach the JSON-RPC node at {display_url(rpc)}: {exc}")
    w3 = Web3(
        Web3.HTTPProvider(
            rpc, request_kwargs={"timeout": _TIMEOUT}, exception_retry_configuration=None
        )
    )
    verdict = verify_invoice_proof(doc, w3, trust=anchor)
    out = Console(width=240)
    if not verdict.valid:
        out.print(f"INVALID: {escape(verdict.reason or '')}", highlight=False)
        raise typer.Exit(1)
    root = doc["root_record"]
    where = f"root {root['root']} ({root['size']} claims) anchored in block {verdict.block_number}"
    if verdict.claimed:
        by = doc["claimed_by"]
        what = f"CLAIMED by application {by['application']} (document {by['document']})"
    else:
        what = "NOT CLAIMED by any application"
    out.print(f"VALID: {what} in {where}", highlight=False)
