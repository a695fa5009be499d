"""The checkpoint relayer: the sub-chain's block-hash ranges posted to the main chain's
ChainRegistry, as a kind of chain operation (``chain/writer.py``), not an ad-hoc sender.

Every ``every_blocks`` new blocks, or ``every_seconds`` after the last checkpoint when fewer
have come, :meth:`Relay.plan` enqueues one ``crosschain_checkpoint`` row for the next range
``[next, head]`` (``next`` is what ChainRegistry expects: the chain is the truth). A second
:class:`~chainproof.chain.writer.ChainWriter`, bound to the main chain and to this kind only,
signs the EIP-712 checkpoint with the sub-chain's registered keys at sending time and sends it.

Exactly once per range, whatever is killed when (``CHAINPROOF_FAULT``): one live row at a
time (its ``dedupe_key``), the writer's outbox steps for the transaction, the row of
``crosschain_checkpoint`` written in the commit that confirms the operation, and on chain
the contiguity rule (a range already anchored can never be anchored again, the writer's
``build`` settles such a row without a transaction). A kill after enqueueing
(``relay_after_enqueue``) leaves the live row, which the next run sends.

A reset or fork of the sub-chain shows as the last checkpointed block's hash no longer being
the node's (blocks are hash-linked, so any change at or below that height changes it, and a
rollback below it removes it): :meth:`Relay.check_fork` logs an error, counts
``chainproof_crosschain_forks_total``, keeps the finding for ``/readyz`` and stops relaying;
nothing new is anchored, and a receipt in the new blocks at a checkpointed height never gets
a checkpoint proof (its hash is not the range's leaf).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, TypeVar, cast

import structlog
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from prometheus_client import Counter
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.chain_registry import ChainRegistryClient
from chainproof.chain.context import ChainContext, ChainStatus
from chainproof.chain.deployments import genesis_hash
from chainproof.chain.sender import MinedTx, TxSender
from chainproof.chain.writer import Call, ChainWriter, OpKind, enqueue
from chainproof.crosschain.models import CrosschainCheckpoint
from chainproof.crosschain.ranges import checkpoint_typed_data, range_tree, sign_checkpoint
from chainproof.crosschain.steploop import StepLoop
from chainproof.crosschain.validators import SignRequest, collect_signatures
from chainproof.errors import ChainError, ChainMismatchError, ConflictError
from chainproof.metrics import EVENTS
from chainproof.store.ops import LIVE, ChainOp

log = structlog.get_logger("chainproof.crosschain")

CHECKPOINT: Final = "crosschain_checkpoint"
# Ranges are cut at this many blocks (ChainRegistry.MAX_RANGE is 4096): one range's hashes
# are stored with its row and fetched from the sub-chain in one go.
MAX_RANGE: Final = 1024

FORKS: Final = Counter(
    "chainproof_crosschain_forks_total",
    "Sub-chain resets or forks found at an already checkpointed height",
    registry=EVENTS,
)


def _fault(point: str) -> None:
    if os.environ.get("CHAINPROOF_FAULT") == f"relay_{point}":
        os.kill(os.getpid(), signal.SIGKILL)


class SubChainForked(ChainMismatchError):
    """The sub-chain no longer has a block hash that is checkpointed on the main chain."""


class _Registry(Protocol):
    @property
    def address(self) -> str: ...


RegistryT = TypeVar("RegistryT", bound=_Registry)


@dataclass
class RemoteChain(Generic[RegistryT]):
    """A chain the relay key writes to (the main chain, a second chain): node, relay key,
    registry there, and the chain id and genesis hash it must keep answering with (else
    nothing is sent)."""

    w3: Web3
    sender: TxSender
    registry: RegistryT
    chain_id: int
    genesis_hash: str
    _status: ChainStatus | None = field(default=None, repr=False)

    def status(self, *, fresh: bool = False, may_block: bool = True) -> ChainStatus:
        del may_block
        self._status = remote_status(
            self.w3,
            chain_id=self.chain_id,
            genesis=self.genesis_hash,
            contract=self.registry.address,
            cached=None if fresh else self._status,
        )
        return self._status


@dataclass
class MainChain(RemoteChain[ChainRegistryClient]):
    """The main chain as the relay's writer sees it (its registry: ChainRegistry)."""


def remote_status(
    w3: Web3, *, chain_id: int, genesis: str, contract: str, cached: ChainStatus | None
) -> ChainStatus:
    """Another chain's status for its writer: still the pinned chain, with ``contract``'s
    code (a second's cache)."""
    now = time.monotonic()
    if cached is not None and now - cached.checked_at < 1.0:
        return cached
    try:
        same = (
            int(w3.eth.chain_id) == chain_id
            and genesis_hash(w3) == genesis
            and bool(w3.eth.get_code(contract))  # type: ignore[arg-type]
        )
        if same:
            return ChainStatus(True, None, "ok", now)
        return ChainStatus(False, f"chain {chain_id} is not the pinned one", "chain_mismatch", now)
    except Exception as exc:
        log.warning("other chain unreachable", chain_id=chain_id, error=f"{type(exc).__name__}")
        return ChainStatus(False, f"chain {chain_id} unreachable", "unreachable", now)


def open_main_chain(url: str, registry: str, relay_key: LocalAccount) -> MainChain:
    """The main chain at ``url``, pinned to the chain id and genesis it answers with now;
    ``relay_key`` sends there (``CHAINPROOF_RELAY_KEY``, never the operator key)."""
    from chainproof.chain.chain_registry import chain_registry_abi

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    return MainChain(
        w3=w3,
        sender=TxSender(w3, relay_key),
        registry=ChainRegistryClient(w3, registry, chain_registry_abi()),
        chain_id=int(w3.eth.chain_id),
        genesis_hash=genesis_hash(w3),
    )


def _block_hashes(w3: Web3, first: int, last: int) -> list[str]:
    # One JSON-RPC batch for the range rather than a request per block.
    with w3.batch_requests() as batch:
        for h in range(first, last + 1):
            batch.add(w3.eth.get_block(h))
        blocks = batch.execute()
    out = [HexBytes(cast(Mapping[str, Any], b)["hash"]).to_0x_hex() for b in blocks]
    if len(out) != last - first + 1:
        raise ChainError(f"the sub-chain did not return blocks {first}..{last}")
    return out


class CheckpointKind:
    """``ChainRegistry.checkpoint`` of one range; ``confirmed`` writes its index row."""

    name = CHECKPOINT

    def __init__(
        self, *, sub_w3: Web3, signers: Sequence[LocalAccount], endpoints: Sequence[str] = ()
    ) -> None:
        self.sub_w3 = sub_w3
        self.signers = list(signers)
        self.endpoints = list(endpoints)  # validators' signing endpoints (validators.py)

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        main = cast(MainChain, chain)  # the relay's writer is bound to the main chain
        p = op.payload
        record = main.registry.chain_of(p["sub_chain_id"])
        if record.next_height > p["from"]:
            return None  # anchored already (a lost receipt): settled without a transaction
        if record.next_height != p["from"]:
            raise ChainError(
                f"ChainRegistry expects height {record.next_height} next, not {p['from']}"
            )
        # The range must still be the sub-chain's: a fork between planning and signing
        # must not be anchored (the writer retries; the relay reports the fork).
        now = HexBytes(self.sub_w3.eth.get_block(p["to"])["hash"]).to_0x_hex()
        if now != p["hashes"][-1]:
            raise SubChainForked(f"the sub-chain's block {p['to']} changed before it was anchored")
        typed = checkpoint_typed_data(
            main_chain_id=main.chain_id,
            registry=main.registry.address,
            sub_chain_id=p["sub_chain_id"],
            genesis_hash=record.genesis_hash,
            from_block=p["from"],
            to_block=p["to"],
            root=p["root"],
            epoch=record.epoch,
        )
        if self.endpoints:  # several validators: gathered, each recomputing the root
            signatures = collect_signatures(
                typed,
                SignRequest(p["sub_chain_id"], p["from"], p["to"], p["root"]),
                local=self.signers,
                endpoints=self.endpoints,
                signers=main.registry.signers_of(p["sub_chain_id"], record.epoch),
                threshold=record.threshold,
            )
        else:
            signatures = sign_checkpoint(self.signers, typed)
        fn = main.registry.checkpoint_call(
            p["sub_chain_id"], p["from"], p["to"], p["root"], signatures
        )
        return Call(main.registry, fn)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        main = cast(MainChain, chain)
        p = op.payload
        cp = main.registry.checkpoint_for(p["sub_chain_id"], p["from"])
        if cp is None or cp.from_block != p["from"]:
            raise ChainError(f"no checkpoint from height {p['from']} on the main chain")
        if cp.root != p["root"] or cp.to_block != p["to"]:
            raise SubChainForked(
                f"the main chain anchors another range from height {p['from']}: "
                f"[{cp.from_block}, {cp.to_block}] root {cp.root}"
            )
        tx_hash = mined.tx_hash if mined else None
        block_number = mined.block_number if mined else cp.posted_at
        block_hash = mined.block_hash if mined else None
        if mined is None:  # sent by a run whose receipt was lost: the event says which tx
            events = main.registry.contract.events.CheckpointPosted.get_logs(
                from_block=cp.posted_at,
                to_block=cp.posted_at,
                argument_filters={"chainId": p["sub_chain_id"]},
            )
            for ev in events:
                if int(ev["args"]["index"]) == cp.index:
                    tx_hash = HexBytes(ev["transactionHash"]).to_0x_hex()
                    block_hash = HexBytes(ev["blockHash"]).to_0x_hex()
        session.add(
            CrosschainCheckpoint(
                main_chain_id=main.chain_id,
                chain_registry=main.registry.address,
                sub_chain_id=p["sub_chain_id"],
                checkpoint_index=cp.index,
                from_block=p["from"],
                to_block=p["to"],
                root=p["root"],
                block_hashes=p["hashes"],
                main_tx_hash=tx_hash,
                main_block_number=block_number,
                main_block_hash=block_hash,
                op_id=op.public_id,
            )
        )

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None  # nothing was promised: the relay plans the range again


def crosschain_kinds(
    *, sub_w3: Web3, signers: Sequence[LocalAccount], endpoints: Sequence[str] = ()
) -> dict[str, OpKind]:
    kind = CheckpointKind(sub_w3=sub_w3, signers=signers, endpoints=endpoints)
    return {kind.name: kind}


@dataclass(frozen=True)
class ForkFinding:
    height: int
    checkpointed: str
    now: str | None  # None: the sub-chain has no block at that height any more

    def detail(self) -> str:
        return (
            f"sub-chain block {self.height} is {self.now or 'gone'}, "
            f"checkpointed as {self.checkpointed}: reset or fork"
        )


class Relay(StepLoop):
    """Plans the next checkpoint range and runs the main chain's writer for it."""

    what = "the relay"
    thread_name = "chainproof-relay"

    def __init__(
        self,
        *,
        engine: Engine,
        sub_w3: Web3,
        main: MainChain,
        signers: Sequence[LocalAccount],
        every_blocks: int = 64,
        every_seconds: float = 60.0,
        confirmations: int = 1,
        max_range: int = MAX_RANGE,
        signer_endpoints: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.engine = engine
        self.sub_w3 = sub_w3
        self.main = main
        self.sub_chain_id = int(sub_w3.eth.chain_id)
        self.every_blocks = every_blocks
        self.every_seconds = every_seconds
        self.confirmations = confirmations
        self.max_range = min(max_range, MAX_RANGE)
        self.fork: ForkFinding | None = None
        self.writer = ChainWriter(
            engine=engine,
            chain=cast(ChainContext, main),
            kinds=crosschain_kinds(sub_w3=sub_w3, signers=signers, endpoints=signer_endpoints),
        )
        # Run after each step (``service``: delivering recall messages); returns how many.
        self.after_step: Callable[[], int] | None = None

    # ---- the checks and the plan -------------------------------------------------------

    def last_checkpoint(self, s: Session) -> CrosschainCheckpoint | None:
        return s.exec(
            select(CrosschainCheckpoint)
            .where(
                CrosschainCheckpoint.chain_registry == self.main.registry.address,
                CrosschainCheckpoint.sub_chain_id == self.sub_chain_id,
            )
            .order_by(col(CrosschainCheckpoint.to_block).desc())
        ).first()

    def check_fork(self) -> ForkFinding | None:
        """The sub-chain still has the last checkpointed block? (Loud when not.)"""
        with Session(self.engine) as s:
            last = self.last_checkpoint(s)
        if last is None:
            return self.fork
        try:
            block = self.sub_w3.eth.get_block(last.to_block)
            now: str | None = HexBytes(block["hash"]).to_0x_hex()
        except Exception as exc:
            if "not found" not in str(exc).lower():
                raise
            now = None
        if now != last.block_hashes[-1]:
            finding = ForkFinding(last.to_block, last.block_hashes[-1], now)
            if self.fork != finding:
                FORKS.inc()
                log.error(
                    "sub-chain reset or fork: checkpointed block hash changed",
                    sub_chain_id=self.sub_chain_id,
                    height=finding.height,
                    checkpointed=finding.checkpointed,
                    now=finding.now,
                )
            self.fork = finding
        return self.fork

    def plan(self) -> ChainOp | None:
        """Enqueues the next range when it is due; None when not due, live, or forked."""
        if self.check_fork() is not None:
            return None
        with Session(self.engine, expire_on_commit=False) as s:
            live = s.exec(
                select(ChainOp.id).where(ChainOp.kind == CHECKPOINT, col(ChainOp.status).in_(LIVE))
            ).first()
            if live is not None:
                return None
            record = self.main.registry.chain_of(self.sub_chain_id)
            if not record.known or record.retired:
                raise ChainError(
                    f"sub-chain {self.sub_chain_id} is not registered (or retired) on the "
                    "main chain's ChainRegistry"
                )
            head = int(self.sub_w3.eth.block_number) - (self.confirmations - 1)
            first = record.next_height
            if head < first:
                return None
            last = self.last_checkpoint(s)
            waited = time.time() - last.created_at.timestamp() if last is not None else float("inf")
            if head - first + 1 < self.every_blocks and waited < self.every_seconds:
                return None
            to = min(head, first + self.max_range - 1)
            hashes = _block_hashes(self.sub_w3, first, to)
            root = HexBytes(range_tree(first, hashes).root).to_0x_hex()
            try:
                op = enqueue(
                    s,
                    kind=CHECKPOINT,
                    payload={
                        "sub_chain_id": self.sub_chain_id,
                        "from": first,
                        "to": to,
                        "root": root,
                        "hashes": hashes,
                    },
                    dedupe_key=f"{CHECKPOINT}:{self.sub_chain_id}:{first}",
                )
            except (ConflictError, IntegrityError):
                return None  # another process planned it meanwhile
            log.info("checkpoint planned", sub_chain_id=self.sub_chain_id, first=first, to=to)
        _fault("after_enqueue")
        return op

    def step(self) -> bool:
        """Plans, then advances the writer by one step: True when something happened."""
        planned = self.plan() is not None
        worked = self.writer.step() or planned
        delivered = self.after_step() if self.after_step is not None else 0
        return worked or delivered > 0
