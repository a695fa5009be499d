"""Dual anchoring: every confirmed batch root anchored on a second chain too
(``CHAINPROOF_SECOND_CHAIN``), so a receipt survives one chain's loss or reset.

A chain-writer kind (``second_anchor``), sent by the relay key on the second chain: by the
relay's own writer when the second chain is the main chain (one writer per key and chain:
one nonce owner), else by a writer of its own bound to the second chain. The planner
enqueues one operation per confirmed batch whose root is not anchored there yet (its
``dedupe_key``: one live operation per root); ``build`` settles a root the second registry
holds already (a lost receipt, a rerun) without a transaction, and ``confirmed`` writes the
``second_anchor`` row (where) in the commit that confirms the operation. Receipts then list
the anchor in ``other_anchors`` (:func:`with_other_anchors`).

The second chain's anchor is the relay key's, not the member's: it proves the root existed
by that block's time on that chain. Revocations are made on the first chain only; a
verifier reads a revocation on any chain as the receipt's (``crosschain/policy.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

import structlog
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.chain.deployments import (
    REGISTRY,
    deploy_registry,
    genesis_hash,
    load_record,
    save_record,
)
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import MinedTx, TxSender
from chainproof.chain.writer import Call, ChainWriter, enqueue
from chainproof.crosschain.models import SecondAnchor
from chainproof.crosschain.relay import RemoteChain
from chainproof.crosschain.steploop import StepLoop
from chainproof.digests import keccak256, to_hex
from chainproof.errors import ChainError, ConflictError
from chainproof.receipts import OtherAnchor, Receipt
from chainproof.store.models import Batch, BatchStatus
from chainproof.store.ops import LIVE, ChainOp
from chainproof.trust import OtherChainAnchor

if TYPE_CHECKING:
    from chainproof.config import Settings
    from chainproof.crosschain.relay import Relay

log = structlog.get_logger("chainproof.crosschain")

SECOND_ANCHOR: Final = "second_anchor"
PLAN_LIMIT: Final = 32  # batches enqueued per planning round


@dataclass
class SecondChain(RemoteChain[EvidenceRegistryClient]):
    """The second chain as its writer sees it (its registry: an EvidenceRegistry)."""


class SecondAnchorKind:
    """``EvidenceRegistry.anchor`` of one batch root on the second chain."""

    name = SECOND_ANCHOR

    def __init__(self, second: SecondChain) -> None:
        self.second = second  # not the writer's context when that is the main chain's

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        p, registry = op.payload, self.second.registry
        if registry.get_anchor(self.second.sender.address, p["root"]) is not None:
            return None  # anchored already (a lost receipt): settled without a transaction
        return Call(registry, registry.anchor_call(p["root"], p["leaf_count"], p["metadata_hash"]))

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        p, second = op.payload, self.second
        # From the mined block when this run saw it; a lost receipt: the whole history.
        since = mined.block_number if mined is not None else 0
        events = second.registry.anchored_events(from_block=since, root=p["root"])
        mine = [e for e in events if e.submitter == second.sender.address]
        if not mine:
            raise ChainError(f"no Anchored event of root {p['root']} on chain {second.chain_id}")
        ev = mine[0]
        session.add(
            SecondAnchor(
                root=p["root"],
                chain_id=second.chain_id,
                contract=second.registry.address,
                tx_hash=ev.tx_hash,
                block_number=ev.block_number,
                block_hash=ev.block_hash,
                block_timestamp=ev.timestamp,
                submitter=ev.submitter,
                op_id=op.public_id,
            )
        )

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None  # nothing was promised: the planner enqueues the root again


class SecondAnchorer(StepLoop):
    """Plans a ``second_anchor`` operation per confirmed batch not anchored on the second
    chain yet, and runs that chain's writer (unless the relay's writer sends them)."""

    what = "the second anchorer"
    thread_name = "chainproof-second"

    def __init__(
        self, *, engine: Engine, second: SecondChain, writer: ChainWriter | None = None
    ) -> None:
        super().__init__()
        self.engine = engine
        self.second = second
        kind = SecondAnchorKind(second)
        if writer is None:
            writer = ChainWriter(
                engine=engine, chain=cast(ChainContext, second), kinds={kind.name: kind}
            )
            self.own_writer = True
        else:
            writer.kinds[kind.name] = kind  # the main chain's writer: same key, same chain
            self.own_writer = False
        self.writer = writer

    def plan(self) -> int:
        """Enqueues the roots due; how many."""
        planned = 0
        with Session(self.engine) as s:
            done = select(SecondAnchor.root).where(SecondAnchor.chain_id == self.second.chain_id)
            live = select(ChainOp.dedupe_key).where(
                ChainOp.kind == SECOND_ANCHOR, col(ChainOp.status).in_(LIVE)
            )
            live_keys = set(s.exec(live))
            batches = s.exec(
                select(Batch)
                .where(
                    Batch.status == BatchStatus.CONFIRMED.value,
                    col(Batch.root).not_in(done),
                )
                .order_by(col(Batch.id))
                .limit(PLAN_LIMIT + len(live_keys))
            ).all()
            for batch in batches:
                key = f"{SECOND_ANCHOR}:{self.second.chain_id}:{batch.root}"
                if key in live_keys:
                    continue
                try:
                    enqueue(
                        s,
                        kind=SECOND_ANCHOR,
                        payload={
                            "root": batch.root,
                            "leaf_count": batch.leaf_count,
                            "metadata_hash": batch.metadata_hash,
                            "chain_id": self.second.chain_id,
                        },
                        dedupe_key=key,
                    )
                except (ConflictError, IntegrityError):
                    continue  # planned by another process meanwhile
                planned += 1
                if planned >= PLAN_LIMIT:
                    break
        return planned

    def step(self) -> bool:
        planned = self.plan() > 0
        if self.own_writer:
            return self.writer.step() or planned
        return planned

    def paused(self) -> str | None:
        status = self.second.status()
        return None if status.ok else status.reason


def open_second_chain(
    *,
    settings: Settings,
    primary: ChainContext,
    relay_key: LocalAccount,
    relay: Relay | None,
) -> SecondChain:
    """The second chain with its registry: ``CHAINPROOF_SECOND_CHAIN_REGISTRY``, else the data
    dir's record, else (development) one deployed by the relay key. When it is the main
    chain the relay's sender is shared (one nonce counter per key and chain)."""
    assert settings.second_chain is not None
    w3 = Web3(Web3.HTTPProvider(settings.second_chain, request_kwargs={"timeout": 10}))
    chain_id, genesis = int(w3.eth.chain_id), genesis_hash(w3)
    if chain_id == primary.chain_id and genesis == primary.deployment.genesis_hash:
        raise ChainError("CHAINPROOF_SECOND_CHAIN is this deployment's own chain")
    same_as_main = relay is not None and (relay.main.chain_id, relay.main.genesis_hash) == (
        chain_id,
        genesis,
    )
    if relay is not None and same_as_main:
        w3, sender = relay.main.w3, relay.main.sender
    else:
        sender = TxSender(w3, relay_key)
    address = settings.second_chain_registry
    if address is None:
        record = load_record(settings.data_dir, chain_id, REGISTRY)
        if record is None or record.genesis_hash != genesis:
            record = deploy_registry(w3, relay_key, primary.artifact)
            save_record(settings.data_dir, record, standard_input=primary.artifact.standard_input)
            log.warning("deployed an EvidenceRegistry on the second chain", address=record.address)
        address = record.address
    return SecondChain(
        w3=w3,
        sender=sender,
        registry=EvidenceRegistryClient(w3, address, primary.artifact.abi),
        chain_id=chain_id,
        genesis_hash=genesis,
    )


_pins: dict[int, tuple[float, OtherChainAnchor]] = {}


def second_chain_anchor(second: SecondChain) -> OtherChainAnchor:
    """What ``/.well-known/chainproof.json`` pins of the second chain (``other_chains``);
    its code read from that chain at most once a minute (an anonymous route)."""
    cached = _pins.get(id(second))
    if cached is not None and time.monotonic() - cached[0] < 60.0:
        return cached[1]
    code = bytes(second.w3.eth.get_code(second.registry.address))
    pin = OtherChainAnchor(
        chain_id=second.chain_id,
        genesis_hash=second.genesis_hash,
        registry=second.registry.address,
        registry_code_hash=to_hex(keccak256(code)),
        registry_version=second.registry.version,
    )
    _pins[id(second)] = (time.monotonic(), pin)
    return pin


def with_other_anchors(session: Session, receipt: Receipt) -> Receipt:
    """``receipt`` with its root's anchors on other chains listed (none: unchanged)."""
    rows = session.exec(
        select(SecondAnchor)
        .where(SecondAnchor.root == receipt.root, SecondAnchor.chain_id != receipt.chain_id)
        .order_by(col(SecondAnchor.id))
    ).all()
    if not rows:
        return receipt
    others = [
        OtherAnchor(
            chain_id=r.chain_id,
            contract=r.contract,
            tx_hash=r.tx_hash,
            block_number=r.block_number,
            block_hash=r.block_hash,
            block_timestamp=r.block_timestamp,
            submitter=r.submitter,
        )
        for r in rows
    ]
    return receipt.model_copy(update={"other_anchors": others})
