"""Publishing heads and recall flags on chain, in batches, behind the captures.

:func:`publish_pending` sends one ``setHeads`` transaction for up to ``limit`` nodes whose
head moved since it was last published, then sends the recalls and recall lifts not yet on
chain. It signs through the operator's :class:`~chainproof.chain.sender.TxSender` while holding its
``sending()`` lock, so it never races the batcher for a nonce. A crash between the
transaction and the commit re-sends the same heads, which the contract takes as a no-op.

:class:`HeadPublisher` runs it in a thread, started and stopped by the app's lifespan next
to the batcher; tests and the CLI call :func:`publish_pending` directly.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.chain.sender import MinedTx
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
    lifts: int = 0


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
    recalls, lifts = 0, 0
    with Session(engine) as s:
        # In id order: a lot recalled, lifted and recalled again goes on chain in that order.
        pending = s.exec(
            select(TraceRecall)
            .where(
                col(TraceRecall.tx_hash).is_(None)
                | (
                    col(TraceRecall.lifted_at).is_not(None)
                    & col(TraceRecall.lift_tx_hash).is_(None)
                )
            )
            .order_by(col(TraceRecall.id))
        ).all()
        todo = []
        for r in pending:
            lot = s.get(TraceNode, r.lot_node_id)
            if lot is not None:
                todo.append((r.id, lot.chain_key, r.tx_hash, r.reason_hash, r.lift_reason_hash))
    for rid, key, sent, reason, lift_reason in todo:
        if sent is None:
            tx = _send(partial(tc.client.recall, chain.sender, key, reason), "LotAlreadyRecalled")
            _record(engine, rid, "tx_hash", tx)
            txs.append(tx)
            recalls += 1
        if lift_reason is not None:
            tx = _send(
                partial(tc.client.lift_recall, chain.sender, key, lift_reason), "LotNotRecalled"
            )
            _record(engine, rid, "lift_tx_hash", tx)
            txs.append(tx)
            lifts += 1
    return Published(len(batch), recalls, tuple(txs), lifts)


def _send(send: Callable[[], MinedTx], done_before: str) -> str:
    """Sends a recall or a lift; ``done_before`` is the revert saying a crash lost our record
    of having sent it already."""
    try:
        return send().tx_hash
    except ContractRevertError as exc:
        if exc.error_name != done_before:
            raise
        return "already-on-chain"


def _record(engine: Engine, recall_id: int | None, column: str, tx: str) -> None:
    with Session(engine) as s:
        done = s.get(TraceRecall, recall_id)
        if done is not None:
            setattr(done, column, tx[:66])
            s.add(done)
            s.commit()


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
