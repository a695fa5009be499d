"""``chainproof tender commit | reveal | verify``: a bidder's client for sealed bids.

``commit`` hashes the bid file here (SHA-256), draws a 32-byte salt, computes the commitment
and signs it (EIP-712) with the bidder's key; only the commitment and the signature leave the
machine (the server relays them to the TenderRegistry). The digest and salt are written to a
local record the bidder keeps until the reveal window. ``reveal`` sends the file's digest and
the salt. ``verify`` compares what the server shows with the chain itself (``--rpc``):
the node is the chain and the registry the TenderRegistry the trust anchor (``--trust``)
pins, and every deadline, commitment, opening and award the server lists is on chain.
Exit 0 yes, 1 no, 2 could not ask.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from chainproof.cli.console import err as _err
from chainproof.cli.console import fail as _fail
from chainproof.cli.verdicts import PinnedTrustOption, pinned_anchor

app = typer.Typer(help="Sealed bids (公共资源交易): commit, reveal, verify.", no_args_is_help=True)
_TIMEOUT = 30.0

ServerOpt = Annotated[
    str, typer.Option("--server", envvar="CHAINPROOF_SERVER", help="The ChainProof server.")
]
TenderOpt = Annotated[str, typer.Option("--tender", help="The tender's reference (招标编号).")]


def _call(method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = httpx.request(method, url, timeout=_TIMEOUT, **kwargs)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}")
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        _fail(f"{url} answered {response.status_code}: {message}", 1)
    return response.json()


def _settled(base: str, tender: str, answer: Any, timeout: float = 600.0) -> dict[str, Any]:
    """The transaction of a relayed write: at once (200), or after the chain writer settled
    the operation a 202 named, its status shown on stderr as it moves."""
    if "operation" in answer:
        return dict(answer)
    op_id, status = answer["id"], answer["status"]
    _err.print(f"operation {op_id}: {status}", highlight=False)
    deadline = time.monotonic() + timeout
    while status not in ("confirmed", "failed"):
        if time.monotonic() > deadline:
            _fail(f"operation {op_id} still {status} after {timeout:.0f} s")
        time.sleep(0.25)
        now = _call("GET", f"{base}/api/v1/tenders/{tender}/operations/{op_id}")
        if now["status"] != status:
            status = now["status"]
            _err.print(f"operation {op_id}: {status}", highlight=False)
    if status == "failed":
        _fail(f"the TenderRegistry refused it: {now['error']}", 1)
    return {"tx_hash": now["tx_hash"], "block_number": now["block_number"], "operation": now}


def _sha256(path: Path) -> bytes:
    from chainproof.digests import hash_file

    try:
        return hash_file(path, "sha256")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc}")


@app.command("commit")
def commit(
    bid_file: Annotated[Path, typer.Argument(help="The bid file (投标文件).")],
    tender: TenderOpt,
    key_file: Annotated[Path, typer.Option("--key-file", help="The bidder's private key (hex).")],
    server: ServerOpt,
    record: Annotated[
        Path | None, typer.Option("--record", help="Where to keep the digest and salt.")
    ] = None,
) -> None:
    """Commit to BID_FILE: only a salted commitment, signed by the bidder, is sent."""
    from eth_account import Account

    from chainproof.tenders import commitments as c

    try:
        account = Account.from_key(key_file.read_text().strip())
    except (OSError, ValueError) as exc:
        _fail(f"cannot read a private key from {key_file}: {exc}")
    base = server.rstrip("/")
    info = _call("GET", f"{base}/api/v1/tenders/{tender}")
    tid = bytes.fromhex(info["tender_id"][2:])
    digest, salt = _sha256(bid_file), c.new_salt()
    commitment = c.commitment(tid, account.address, digest, salt)
    signature = c.sign_commitment(
        account,
        chain_id=int(info["chain_id"]),
        registry=info["registry"],
        tender=tid,
        commitment=commitment,
    )
    out = record or bid_file.with_name(f"{bid_file.name}.{tender}.bid.json")
    out.write_text(
        json.dumps(
            {
                "tender": tender,
                "bidder": account.address,
                "bid_digest": "0x" + digest.hex(),
                "salt": "0x" + salt.hex(),
                "commitment": "0x" + commitment.hex(),
            },
            indent=2,
        )
    )
    out.chmod(0o600)  # the salt opens the bid: keep it until the reveal window
    answer = _call(
        "POST",
        f"{base}/api/v1/tenders/{tender}/commitments",
        json={
            "bidder": account.address,
            "commitment": "0x" + commitment.hex(),
            "signature": "0x" + signature.hex(),
        },
    )
    mined = _settled(base, tender, answer)
    typer.echo(
        f"committed 0x{commitment.hex()} for {account.address} in block "
        f"{mined['block_number']}; keep {out} until the reveal window"
    )


@app.command("reveal")
def reveal(
    bid_file: Annotated[Path, typer.Argument(help="The bid file committed to.")],
    record: Annotated[Path, typer.Option("--record", help="The record `commit` wrote.")],
    server: ServerOpt,
) -> None:
    """Open the bid: its digest and salt go on chain, checked against the commitment."""
    try:
        kept = json.loads(record.read_text())
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {record}: {exc}")
    digest = _sha256(bid_file)
    if "0x" + digest.hex() != kept["bid_digest"]:
        _fail(f"{bid_file} is not the file committed to (its digest differs)", 1)
    base = server.rstrip("/")
    answer = _call(
        "POST",
        f"{base}/api/v1/tenders/{kept['tender']}/reveals",
        json={"bidder": kept["bidder"], "bid_digest": kept["bid_digest"], "salt": kept["salt"]},
    )
    mined = _settled(base, kept["tender"], answer)
    typer.echo(f"revealed {kept['bid_digest']} in block {mined['block_number']}")


@app.command("verify")
def verify(
    tender: TenderOpt,
    server: ServerOpt,
    rpc: Annotated[str, typer.Option("--rpc", envvar="CHAINPROOF_RPC_URL", help="A node.")],
    trust: PinnedTrustOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check what the server shows of TENDER against the chain, pinned by --trust."""
    from web3 import Web3

    from chainproof.tenders.verify import chain_problems, pinned_problems

    anchor = pinned_anchor(trust)
    shown = _call("GET", f"{server.rstrip('/')}/api/v1/tenders/{tender}")
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": _TIMEOUT}))
    try:
        # The registry must be the pinned one before its events mean anything.
        problems = pinned_problems(shown, w3, anchor) or chain_problems(shown, w3)
    except Exception as exc:
        _fail(f"the node at {rpc} could not be asked: {exc}")
    if as_json:
        typer.echo(json.dumps({"valid": not problems, "problems": problems}))
    else:
        for p in problems:
            typer.echo(f"✗ {p}")
        typer.echo("VALID: the server shows the chain's tender" if not problems else "INVALID")
    if problems:
        raise typer.Exit(1)
