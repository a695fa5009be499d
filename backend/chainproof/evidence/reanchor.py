"""Re-anchoring after a chain reset: the index side of ``chainproof reanchor``.

``reanchor_index`` finds the confirmed batches that are not on the current deployment,
writes their documents' old anchors to a claims file (claims, not proofs: the chain that
proved them is gone) *before* changing anything, then marks those batches orphaned and
puts their anchored documents back in the queue. The command and the recovery procedure
are in ``cli/reanchor.py`` and docs/operations.md, "Chain reset".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select
from web3 import Web3
from web3.exceptions import BlockNotFound

from chainproof.channels.models import Channel
from chainproof.channels.registry_ops import redeploy
from chainproof.digests import to_hex
from chainproof.store.models import Batch, BatchStatus, Evidence, EvidenceStatus

CLAIM_NOTE = (
    "These anchoring times were proven by a chain that is no longer the one this server "
    "uses. They are claims recorded in the index, not proofs: the receipts issued then "
    "verify only against a copy of that chain. The documents were re-anchored on the new "
    "chain, whose receipts carry the new block's time."
)


def _on_chain(w3: Web3, batch: Batch) -> bool:
    """Whether the batch's block is on this chain, with the same hash."""
    if batch.block_number is None or batch.block_hash is None:
        return False
    try:
        block = w3.eth.get_block(batch.block_number)
    except BlockNotFound:
        return False
    return to_hex(bytes(block["hash"])) == batch.block_hash.lower()


def _stale_batches(
    session: Session,
    *,
    w3: Web3,
    chain_id: int,
    contract: str,
    honoured: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Batch]:
    """Confirmed batches that are not on the current deployment: another chain id or
    contract (a past registry of this chain still ``honoured``, v1 after an upgrade, is
    current), or (a reset node often has the same chain id and, deployed by the same key
    at nonce 0, the same contract address) a block that the chain does not hold."""
    query = select(Batch).where(Batch.status == BatchStatus.CONFIRMED.value)
    current = {contract.lower(), *(a.lower() for a in honoured)}
    # Virtual channels' registries are current too, while their blocks are on the chain.
    current |= {
        str(a).lower()
        for a in session.exec(
            select(Channel.registry_address).where(col(Channel.registry_address).is_not(None))
        ).all()
    }
    stale = []
    batches = session.exec(query.order_by(col(Batch.id))).all()
    for done, batch in enumerate(batches, start=1):
        moved = batch.chain_id != chain_id or batch.contract.lower() not in current
        if moved or not _on_chain(w3, batch):  # one block read per batch: the slow part
            stale.append(batch)
        if on_progress is not None:
            on_progress(done, len(batches))
    return stale


def _claim(ev: Evidence, batch: Batch) -> dict[str, Any]:
    return {
        "evidence_id": ev.public_id,
        "algorithm": ev.algorithm,
        "digest": ev.digest,
        "leaf_hash": ev.leaf_hash,
        "status": ev.status,
        "claimed_anchor": {
            "chain_id": batch.chain_id,
            "contract": batch.contract,
            "root": batch.root,
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
            "block_hash": batch.block_hash,
            "block_timestamp": batch.block_timestamp,
            "anchored_at": ev.anchored_at.isoformat() if ev.anchored_at else None,
            "proof": ev.proof,
        },
    }


def reanchor_index(
    *,
    session: Session,
    w3: Web3,
    chain_id: int,
    contract: str,
    claims_dir: Path,
    dry_run: bool = False,
    honoured: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[Path | None, int, int]:
    """Writes the claims file and re-queues; returns (file, documents re-queued, batches).
    ``on_progress(done, total)`` follows the confirmed batches as they are checked."""
    stale = _stale_batches(
        session,
        w3=w3,
        chain_id=chain_id,
        contract=contract,
        honoured=honoured,
        on_progress=on_progress,
    )
    if not stale:
        return None, 0, 0
    claims: list[dict[str, Any]] = []
    by_batch: dict[int, list[Evidence]] = {}
    for batch in stale:
        assert batch.id is not None
        rows = list(session.exec(select(Evidence).where(Evidence.batch_id == batch.id)).all())
        by_batch[batch.id] = rows
        claims.extend(_claim(ev, batch) for ev in rows)
    requeued = sum(1 for c in claims if c["status"] == EvidenceStatus.ANCHORED.value)
    if dry_run:
        return None, requeued, len(stale)
    now = datetime.now(UTC)
    claims_dir.mkdir(parents=True, exist_ok=True)
    path = claims_dir / f"claims-{now:%Y%m%dT%H%M%SZ}-chain{chain_id}.json"
    document = {
        "note": CLAIM_NOTE,
        "written_at": now.isoformat(),
        "new_chain": {"chain_id": chain_id, "contract": contract},
        "claims": claims,
    }
    # Written (and flushed to disk) before the index changes: the old times survive a crash.
    with path.open("x", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.flush()
    # A virtual channel's registry that went with the old chain: the writer deploys it a new
    # one (same commit), and the channel's re-queued records are anchored there.
    redeploy(session, w3, sorted({b.contract for b in stale}))
    for batch in stale:
        batch.status = BatchStatus.ORPHANED.value
        batch.last_error = (
            f"chain reset: re-anchored on chain {chain_id}, contract {contract}; "
            f"its time is a claim in {path.name}"
        )
        session.add(batch)
        for ev in by_batch[batch.id or 0]:
            if ev.status == EvidenceStatus.ANCHORED.value:
                ev.status = EvidenceStatus.QUEUED.value
                ev.batch_id = None
                ev.proof = None
                ev.anchored_at = None
                session.add(ev)
    session.commit()
    return path, requeued, len(stale)
