"""Factories and helpers the suites share: receipts from raw values, the trust anchor of a
deployed registry, serving an app over real HTTP, and changing what a server holds the way
a faulty or dishonest one would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import uvicorn
from sqlmodel import col, delete, select
from web3 import Web3

from chainproof.chain.nodes import free_port
from chainproof.chain.registry import registry_version
from chainproof.digests import Algorithm, to_hex
from chainproof.merkle import leaf_hash
from chainproof.receipts import RECEIPT_VERSION, Receipt, evidence_leaf
from chainproof.store import db
from chainproof.trace.models import TraceLink, TraceNode
from chainproof.trust import TRUST_ANCHOR_FORMAT, TrustAnchor, code_hash


def pinned(w3: Web3, registry: str) -> TrustAnchor:
    """A trust anchor for the ``registry`` a test deployed itself, read from its node (the
    test knows what it deployed; a real verifier gets its anchor out of band)."""
    return TrustAnchor.from_dict(
        {
            "format": TRUST_ANCHOR_FORMAT,
            "chain_id": int(w3.eth.chain_id),
            "genesis_hash": "0x" + bytes(w3.eth.get_block(0)["hash"]).hex(),
            "registry": registry,
            "registry_code_hash": code_hash(w3, registry),
            "registry_version": registry_version(w3, registry),
            "trace_registry": None,
            "trace_registry_code_hash": None,
            "rpc_url": None,
            "past_registries": [],
        }
    )


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free port in a thread (no lifespan: the caller's test
    client already ran it); yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def hide_newest_event(
    database_url: str, *, code: str | None = None, uri: str | None = None
) -> None:
    """The server "forgets" an item's newest event: its last chain link is deleted from the
    index (the event row stays), as a server hiding a recall would."""
    with db.open_session(database_url) as s:
        where = TraceNode.code == code if code is not None else TraceNode.uri == uri
        node = s.exec(select(TraceNode).where(where)).one()
        newest = s.exec(
            select(TraceLink)
            .where(TraceLink.node_id == node.id)
            .order_by(col(TraceLink.seq).desc())
        ).first()
        assert newest is not None, f"{code or uri} has no events"
        s.exec(delete(TraceLink).where(col(TraceLink.id) == newest.id))
        s.commit()


def wait_anchored(client: Any, evidence_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The record once anchored, as its owner sees it (strangers get its status only)."""
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(f"/api/v1/evidence/{evidence_id}", headers=headers).json()
        if body["status"] == "anchored":
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def receipt_from(
    *,
    algorithm: Algorithm,
    digest: bytes,
    salt: bytes,
    proof: Sequence[bytes],
    root: bytes,
    chain_id: int,
    contract: str,
    tx_hash: bytes | str,
    block_number: int,
    block_hash: bytes | str,
    block_timestamp: int,
    submitter: str,
    issued_at: datetime | None = None,
    evidence_id: int | str | None = None,
    label: str | None = None,
) -> Receipt:
    """A receipt from raw values (bytes or hex), the leaf and its hash computed: the tests'
    way to a receipt of a batch they anchored themselves (the server builds its own with
    ``evidence.service.build_receipt``)."""
    leaf_types, leaf_values = evidence_leaf(algorithm, digest, salt)
    return Receipt.from_dict(
        {
            "version": RECEIPT_VERSION,
            "algorithm": algorithm,
            "digest": to_hex(digest),
            "salt": to_hex(salt),
            "leaf_types": leaf_types,
            "leaf_values": leaf_values,
            "leaf_hash": to_hex(leaf_hash(leaf_types, leaf_values)),
            "proof": [to_hex(p) for p in proof],
            "root": to_hex(root),
            "chain_id": chain_id,
            "contract": contract,
            "tx_hash": tx_hash if isinstance(tx_hash, str) else to_hex(tx_hash),
            "block_number": block_number,
            "block_hash": block_hash if isinstance(block_hash, str) else to_hex(block_hash),
            "block_timestamp": block_timestamp,
            "submitter": submitter,
            "issued_at": issued_at,
            "evidence_id": evidence_id,
            "label": label,
        }
    )
