"""The batcher's last step: a mined anchor becomes a confirmed batch with anchored rows; a
batch whose block was lost is orphaned and its rows go back to the queue
(``evidence/batcher.py`` draws the life of a batch)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from hexbytes import HexBytes
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from chainproof.chain.abi import ANCHORED_TOPIC
from chainproof.chain.context import ChainContext
from chainproof.chain.sender import MinedTx
from chainproof.chain.writer import ChainWriter
from chainproof.evidence.finality import FinalityPolicy, ReorgWatcher
from chainproof.evidence.writes import Turns
from chainproof.metrics import observe_anchored
from chainproof.store.models import (
    AnchorRecord,
    Batch,
    BatchStatus,
    Evidence,
    EvidenceStatus,
    utcnow,
)

log = structlog.get_logger("chainproof.batcher")


class BatcherBase:
    """The state every part of the batcher shares (set in ``Batcher.__init__``)."""

    engine: Engine
    chain: ChainContext
    batch_size: int
    interval: float
    confirmations: int
    finality: FinalityPolicy
    watcher: ReorgWatcher
    stuck_after: float
    replacements: int
    gas_cap: int
    clock: Callable[[], float]
    member_secret: str | None
    last_error: str | None
    batches_confirmed: int
    resalted_batches: int
    writer: ChainWriter | None
    _paused_reason: str | None
    _queue_empty: bool
    _admitted: set[str]
    _set_aside: dict[int | None, tuple[float, float]]
    _turns: Turns


class Confirming(BatcherBase):
    def _confirm(self, s: Session, b: Batch, mined: MinedTx) -> None:
        block = self.chain.w3.eth.get_block(mined.block_number)
        timestamp = int(block["timestamp"])
        log_index = 0
        for entry in mined.logs:
            topics = entry["topics"]
            if topics and bytes(HexBytes(topics[0])) == ANCHORED_TOPIC:
                log_index = int(entry["logIndex"])
        accepted = s.exec(
            select(Evidence.created_at).where(
                col(Evidence.batch_id) == b.id, col(Evidence.status) == EvidenceStatus.BATCHED.value
            )
        ).all()
        observe_anchored(b.leaf_count, mined.gas_used, accepted)
        b.status = BatchStatus.CONFIRMED.value
        b.tx_hash = mined.tx_hash
        b.block_number = mined.block_number
        b.block_hash = mined.block_hash
        b.block_timestamp = timestamp
        b.gas_used = mined.gas_used
        b.confirmed_at = utcnow()
        b.last_error = None
        s.execute(
            update(Evidence)
            .where(
                col(Evidence.batch_id) == b.id, col(Evidence.status) == EvidenceStatus.BATCHED.value
            )
            .values(status=EvidenceStatus.ANCHORED.value, anchored_at=utcnow())
        )
        s.merge(
            AnchorRecord(
                root=b.root,
                chain_id=b.chain_id,
                contract=b.contract,
                submitter=b.signer,
                leaf_count=b.leaf_count,
                metadata_hash=b.metadata_hash,
                tx_hash=mined.tx_hash,
                block_number=mined.block_number,
                block_hash=mined.block_hash,
                block_timestamp=timestamp,
                log_index=log_index,
            )
        )

    def _orphan(self, s: Session, b: Batch, reason: str) -> None:
        self._admitted.clear()
        b.status = BatchStatus.ORPHANED.value
        b.last_error = reason
        s.execute(
            update(Evidence)
            .where(col(Evidence.batch_id) == b.id)
            .values(status=EvidenceStatus.QUEUED.value, batch_id=None, proof=None, anchored_at=None)
        )
        s.execute(delete(AnchorRecord).where(col(AnchorRecord.root) == b.root))
