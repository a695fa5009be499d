"""When an anchoring block is final, and what happens when one is reorganised away.

**The policy** (:class:`FinalityPolicy`, ``CHAINPROOF_FINALITY``) says which blocks count as
final, per chain kind:

* ``finalized``: the node's ``finalized`` block tag, where the engine has one with meaning
  (Besu QBFT/IBFT 2.0: every block is final once sealed, and the tag follows the head;
  post-merge Ethereum);
* ``confirmations``: the block and ``N - 1`` more on top of it (``CHAINPROOF_CONFIRMATIONS``):
  clique, FISCO BCOS' EVM, engines without the tag. On an external chain N defaults to
  :data:`CLIQUE_CONFIRMATIONS`; on a dev chain (Anvil, Ganache, embedded, also when reached
  by URL: told by ``web3_clientVersion``) to 1;
* ``auto`` (the default): ``finalized`` on an external chain whose node answers the tag with a
  block, ``confirmations`` otherwise. Anvil answers the tag too, but 64 blocks behind the
  head of a chain that only mines on demand: dev chains count confirmations.

No document is ``anchored`` and no receipt is issued before its block is final: the batcher
keeps the batch ``sent`` until :meth:`FinalityPolicy.is_final` says so.

**The watcher** (:class:`ReorgWatcher`) covers what a policy cannot promise: a reorganisation
deeper than N (a clique network split, a misjudged N, a dev chain rolled back). Every
``interval`` seconds it compares the block hash of each recently confirmed batch with the
canonical chain's; a batch whose block is gone is orphaned, its documents go back to the
queue and are anchored again (their salts, so their leaves and root, stay the same: a
receipt handed out for the lost block fails verification against the chain, and the
re-anchored record gives a new one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from hexbytes import HexBytes
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.store.models import Batch, BatchStatus

log = structlog.get_logger("chainproof.finality")

FinalityMode = Literal["auto", "finalized", "confirmations"]
# Clique: a signer seals at most one of every floor(S/2)+1 consecutive blocks, so competing
# branches of a network of up to 10 signers settle within that many blocks; 6 leaves margin
# for the 4-6 nodes of a 桂链 tier (docs/consortium.md).
CLIQUE_CONFIRMATIONS = 6
DEV_KINDS = ("anvil", "ganache", "embedded")
# web3_clientVersion prefixes of development nodes, also when reached by URL (a worker
# sharing its server's Anvil): they mine on demand, so a count above 1 would never be met.
DEV_CLIENTS = ("anvil", "ganache", "ethereumtester", "hardhatnetwork")
WATCH_INTERVAL = 1.0  # seconds between the watcher's looks
WATCH_BATCHES = 64  # the newest confirmed batches it re-checks each time


@dataclass(frozen=True)
class FinalityPolicy:
    mode: Literal["finalized", "confirmations"]
    confirmations: int = 1

    def final_block(self, w3: Web3) -> int:
        """The highest block number that counts as final now (-1: none yet)."""
        if self.mode == "finalized":
            block = w3.eth.get_block("finalized")
            return int(block["number"]) if block else -1
        return int(w3.eth.block_number) - max(self.confirmations, 1) + 1

    def is_final(self, w3: Web3, block_number: int) -> bool:
        return block_number <= self.final_block(w3)

    def describe(self) -> str:
        if self.mode == "finalized":
            return "the node's finalized block"
        return f"{self.confirmations} confirmation{'s' if self.confirmations != 1 else ''}"


def supports_finalized(w3: Web3) -> bool:
    """Whether the node answers the ``finalized`` tag with a block past genesis."""
    try:
        block = w3.eth.get_block("finalized")
    except Exception:  # "unknown block", an old node: the tag is not supported
        return False
    return bool(block) and int(block["number"]) > 0


def is_dev_chain(kind: str, w3: Web3) -> bool:
    if kind in DEV_KINDS:
        return True
    try:
        version = str(w3.client_version).lower().replace(" ", "")
    except Exception:  # a node without web3_clientVersion is no dev node we know
        return False
    return version.startswith(DEV_CLIENTS)


def choose_policy(
    *, mode: FinalityMode, confirmations: int | None, kind: str, w3: Web3
) -> FinalityPolicy:
    """The policy for a chain of ``kind`` (a node kind) under the settings.
    ``confirmations`` None: the kind's default (1 on dev chains, clique's elsewhere)."""
    dev = is_dev_chain(kind, w3)
    n = confirmations if confirmations is not None else (1 if dev else CLIQUE_CONFIRMATIONS)
    if mode == "finalized" and not supports_finalized(w3):
        # Asked for, but the node has no such block: waiting for it would anchor nothing.
        log.error(
            "CHAINPROOF_FINALITY=finalized but the node answers no finalized block; "
            "counting confirmations instead",
            confirmations=n,
        )
        return FinalityPolicy("confirmations", n)
    if mode == "finalized" or (mode == "auto" and not dev and supports_finalized(w3)):
        return FinalityPolicy("finalized", n)
    return FinalityPolicy("confirmations", n)


class ReorgWatcher:
    """Orphans confirmed batches whose block the canonical chain no longer holds."""

    def __init__(
        self,
        *,
        engine: Engine,
        chain: ChainContext,
        orphan: Callable[[Session, Batch, str], None],
        interval: float = WATCH_INTERVAL,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.orphan = orphan  # the batcher's: requeues the rows, forgets the anchor
        self.interval = interval
        self._next = 0.0
        self.orphaned = 0  # batches requeued after a reorg (tests, logs)
        # (head block hash, newest confirmed batch id) at the last look that found nothing
        # lost: while both are the same, no block can have changed (each block commits to
        # its parent, so any reorg changes the head's hash) and no batch is new, so the
        # next look is one request instead of one per watched batch (up to 64 a second).
        self._clean: tuple[str, int] | None = None

    def tick(self) -> int:
        """``check()`` when ``interval`` has passed since the last one; else nothing."""
        now = time.monotonic()
        if now < self._next:
            return 0
        self._next = now + self.interval
        return self.check()

    def check(self) -> int:
        """Looks at the newest confirmed batches; returns how many it orphaned."""
        w3 = self.chain.w3
        hashes: dict[int, str | None] = {}
        try:
            head: str | None = HexBytes(w3.eth.get_block("latest")["hash"]).to_0x_hex()
        except Exception:  # the node is away: the full look below says what it can
            head = None
        with Session(self.engine) as s:
            newest = s.exec(
                select(func.max(Batch.id)).where(Batch.status == BatchStatus.CONFIRMED.value)
            ).one()
            marker = (head, int(newest or 0)) if head is not None else None
            if marker is not None and marker == self._clean:
                return 0
            recent = s.exec(
                select(Batch)
                .where(Batch.status == BatchStatus.CONFIRMED.value)
                .order_by(col(Batch.block_number).desc(), col(Batch.id).desc())
                .limit(WATCH_BATCHES)
            ).all()
            lost = []
            for b in recent:
                number = int(b.block_number or 0)
                if number not in hashes:
                    try:
                        block = w3.eth.get_block(number)
                        hashes[number] = HexBytes(block["hash"]).to_0x_hex()
                    except Exception:  # not there: the chain is shorter now
                        hashes[number] = None
                if hashes[number] != b.block_hash:
                    lost.append(b)
            if lost and not self.chain.status(fresh=True).ok:
                # Not a reorganisation but another chain (reset, other genesis, contract
                # gone): its anchors are not lost, they are elsewhere, and the batcher pauses
                # on the status. Requeueing them would anchor them again on a chain not ours.
                return 0
            for b in lost:
                log.warning(
                    "anchoring block reorganised away; requeueing its documents",
                    batch_id=b.id,
                    block=b.block_number,
                    block_hash=b.block_hash,
                    now=hashes.get(int(b.block_number or 0)),
                )
                self.orphan(s, b, f"block {b.block_number} ({b.block_hash}) reorganised away")
            if lost:
                s.commit()
                self.chain.sender.reset_nonce()  # the lost transactions' nonces are free again
        self._clean = None if lost else marker
        self.orphaned += len(lost)
        return len(lost)
