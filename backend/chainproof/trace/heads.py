"""Publishing heads and recall flags on chain, in batches, behind the captures.

:func:`publish_pending` sends one ``setHeads`` transaction for up to ``limit`` nodes whose
head moved since it was last published, then flags recalls not yet on chain. It signs
through the operator's :class:`~chainproof.chain.sender.TxSender` while holding its
``sending()`` lock, so it never races the batcher for a nonce. A crash between the
transaction and the commit re-sends the same heads, which the contract takes as a no-op.

:class:`HeadPublisher` runs it in a thread, started and stopped by the app's lifespan next
to the batcher; tests and the CLI call :func:`publish_pending` directly.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.chain.trace_registry import trace_chain
from chainproof.errors import ChainProofError, ContractRevertError
from chainproof.trace.models import TraceNode, TraceRecall

log = structlog.get_logger("chainproof.trace")
DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class Published:
    heads: int
    recalls: int
    tx_hashes: tuple[str, ...]


def publish_pending(
    *, engine: Engine, chain: ChainContext, data_dir: Path | None, limit: int = DEFAULT_LIMIT
) -> Published:
    tc = trace_chain(chain, data_dir=data_dir)
    txs: list[str] = []
    with Session(engine) as s:
        nodes = s.exec(
            select(TraceNode)
            .where(col(TraceNode.count) > col(TraceNode.published_count))
            .order_by(col(TraceNode.id))
            .limit(limit)
        ).all()
        batch = [(n.id, n.chain_key, n.head, n.count) for n in nodes if n.head]
    if batch:
        mined = tc.client.set_heads(
            chain.sender, [b[1] for b in batch], [b[2] or "" for b in batch], [b[3] for b in batch]
        )
        txs.append(mined.tx_hash)
        with Session(engine) as s:
            for nid, _, _, count in batch:
                node = s.get(TraceNode, nid)
                if node is not None and node.published_count < count:
                    node.published_count = count
                    s.add(node)
            s.commit()
        log.info("trace heads published", count=len(batch), tx_hash=mined.tx_hash)
    recalls = 0
    with Session(engine) as s:
        pending = s.exec(select(TraceRecall).where(col(TraceRecall.tx_hash).is_(None))).all()
        todo = []
        for r in pending:
            lot = s.get(TraceNode, r.lot_node_id)
            if lot is not None:
                todo.append((r.id, lot.chain_key, r.reason_hash))
    for rid, key, reason_hash in todo:
        try:
            tx = tc.client.recall(chain.sender, key, reason_hash).tx_hash
        except ContractRevertError as exc:
            if exc.error_name != "LotAlreadyRecalled":
                raise
            tx = "already-on-chain"  # flagged before a crash lost our record of it
        with Session(engine) as s:
            done = s.get(TraceRecall, rid)
            if done is not None:
                done.tx_hash = tx[:66]
                s.add(done)
                s.commit()
        txs.append(tx)
        recalls += 1
    return Published(len(batch), recalls, tuple(txs))


def reason_hash(reason: str) -> str:
    return "0x" + hashlib.sha256(reason.encode()).hexdigest()


class HeadPublisher:
    """A thread calling :func:`publish_pending` every ``interval_ms``; errors are logged and
    retried on the next round (captures never wait for it)."""

    def __init__(
        self, *, engine: Engine, chain: ChainContext, data_dir: Path | None, interval_ms: int
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.data_dir = data_dir
        self.interval = interval_ms / 1000
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trace-heads", daemon=True)
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                publish_pending(engine=self.engine, chain=self.chain, data_dir=self.data_dir)
                self.last_error = None
            except ChainProofError as exc:
                self.last_error = exc.message
                log.warning("trace head publishing failed; retrying", error=exc.message)
            except Exception as exc:  # a node hiccup: keep the thread alive, retry later
                self.last_error = str(exc)
                log.warning("trace head publishing failed; retrying", error=str(exc))
