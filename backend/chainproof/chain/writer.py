"""The chain writer: every intended transaction but anchoring, through one outbox and one loop.

Services call :func:`enqueue` (a ``chain_op`` row, ``store/ops.py``) and return at once;
the process that owns the signing key (the one batcher per key: ``serve`` with its batcher,
or ``chainproof worker``) runs one :class:`ChainWriter`, which signs, sends and confirms the
rows one at a time through the key's one :class:`~chainproof.chain.sender.TxSender` (the
nonce counter the batcher uses too: one nonce owner per key).

What a row becomes on chain is its kind's business (:class:`OpKind`): ``build`` turns the
payload into a contract call when it is about to be signed, ``confirmed`` applies its effect
to the index in the same commit that marks the row confirmed, ``failed`` undoes what
enqueueing promised. Kinds are registered by the services (``evidence/ops.py``), so this
module imports no service.

The crash story, step by step (``CHAINPROOF_FAULT=writer_<step>`` kills the process there):

* ``before_send``: nonce, raw tx and hash are stored (status ``signed``) before the send;
  on restart the same raw tx is sent again: the same hash, so it lands at most once;
* ``after_send``: the receipt is looked up by hash; a tx the node forgot is sent again;
* ``after_receipt``: the receipt is found again and the effect committed then.

A stored tx that can never be mined (its nonce was used by another tx of the key and there
is no receipt for its hash; or its nonce is above the key's next one, behind a gap) is
signed again with a fresh nonce: it never landed, so it still lands exactly once.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from web3.contract.contract import ContractConstructor, ContractFunction

from chainproof.chain.client import ContractClient
from chainproof.chain.context import ChainContext
from chainproof.chain.sender import MinedTx, SignedTx
from chainproof.errors import ChainError, ConflictError, ContractRevertError, TransactionError
from chainproof.metrics import observe_gas
from chainproof.store.models import utcnow
from chainproof.store.ops import IN_FLIGHT, ChainOp, OpStatus

log = structlog.get_logger("chainproof.writer")


def _fault(point: str) -> None:
    """Failpoint for the crash tests (as in the batcher): SIGKILL here when asked."""
    if os.environ.get("CHAINPROOF_FAULT") == f"writer_{point}":
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Call:
    """A contract call to sign: ``client`` decodes its custom errors. A constructor is a
    call too (a deployment, ``channels/registry_ops.py``): the writer's crash story holds
    for it unchanged, since the new contract's address follows from the stored nonce."""

    client: ContractClient
    fn: ContractFunction | ContractConstructor


class OpKind(Protocol):
    """What one kind of operation does on chain and in the index."""

    name: str

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        """The call to send now, or None when the chain already holds the effect."""
        ...

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        """Applies the effect to the index (same commit as the row's ``confirmed``)."""
        ...

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        """Undoes what enqueueing promised (the contract refused the call)."""
        ...


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    member_id: int | None = None,
    dedupe_key: str | None = None,
) -> ChainOp:
    """Records an intended transaction and commits it; ConflictError (409) when a live
    operation holds ``dedupe_key`` already."""
    op = ChainOp(
        public_id=secrets.token_hex(16),
        kind=kind,
        payload=payload,
        member_id=member_id,
        dedupe_key=dedupe_key,
    )
    session.add(op)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(
            f"a {kind} operation for this target is in progress already", dedupe_key=dedupe_key
        ) from exc
    session.refresh(op)
    return op


class OperationPublic(TypedDict):
    """The API shape of one operation (``GET /api/v1/operations/{id}``)."""

    id: str
    kind: str
    status: str
    tx_hash: str | None
    block_number: int | None
    error: str | None
    created_at: str
    updated_at: str


def operation_public(op: ChainOp) -> OperationPublic:
    """The API shape of one operation (``GET /api/v1/operations/{id}``)."""
    return OperationPublic(
        id=op.public_id,
        kind=op.kind,
        status=op.status,
        tx_hash=op.tx_hash if op.status == OpStatus.CONFIRMED.value else None,
        block_number=op.block_number,
        error=op.error,
        created_at=op.created_at.isoformat(),
        updated_at=op.updated_at.isoformat(),
    )


class ChainWriter:
    """Signs, sends and confirms ``chain_op`` rows for one signing key, one at a time."""

    def __init__(
        self,
        *,
        engine: Engine,
        chain: ChainContext,
        kinds: Mapping[str, OpKind],
        confirmations: int = 1,
        gas_cap: int = 16_777_216,
        poll: float = 0.05,
        stuck_after: float = 60.0,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.kinds = dict(kinds)
        self.confirmations = confirmations
        self.gas_cap = gas_cap
        self.poll = poll
        # A transaction pending this long (a fee spike, a pool that dropped its price) is
        # replaced at the same nonce with fees a quarter higher.
        self.stuck_after = stuck_after
        self.replacements = 0
        self.last_error: str | None = None
        self.confirmed = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return self.chain.sender.address

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="chainproof-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """A new row was enqueued in this process: look now rather than at the next poll."""
        self._wake.set()

    def run(self) -> None:
        backoff = self.poll
        while not self._stop.is_set():
            try:
                worked = self.step() if self.chain.status().ok else False
                backoff = self.poll
                self.last_error = None
            except Exception as exc:  # the rows are safe in the database: retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("writer step failed", error=self.last_error, retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not worked:
                self._wake.wait(self.poll)
                self._wake.clear()

    def drain(self, timeout: float = 60.0) -> None:
        """Runs steps in this thread until no operation is live (tests, one-shot commands)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.step() and self.live_count() == 0:
                return
        raise ChainError(f"the chain writer did not drain within {timeout}s")

    def live_count(self) -> int:
        with Session(self.engine) as s:
            rows = s.exec(
                select(ChainOp.id).where(
                    col(ChainOp.status).in_([OpStatus.QUEUED.value, *IN_FLIGHT]),
                    col(ChainOp.kind).in_(list(self.kinds)),
                )
            ).all()
            return len(rows)

    # ---- one step ----------------------------------------------------------------------

    def step(self) -> bool:
        """Advances the operation in flight, or signs and sends the next queued one."""
        with Session(self.engine) as s:
            inflight = s.exec(
                select(ChainOp.id)
                .where(
                    col(ChainOp.status).in_(IN_FLIGHT),
                    ChainOp.sender == self.address,
                    col(ChainOp.kind).in_(list(self.kinds)),
                )
                .order_by(col(ChainOp.nonce), col(ChainOp.id))
            ).first()
            queued = s.exec(
                select(ChainOp.id)
                .where(
                    ChainOp.status == OpStatus.QUEUED.value, col(ChainOp.kind).in_(list(self.kinds))
                )
                .order_by(col(ChainOp.id))
            ).first()
        if inflight is not None:
            return self._advance(int(inflight))
        if queued is None:
            return False
        sent = self._sign_and_send(int(queued))
        if sent:
            _fault("after_send")
            self._advance(int(queued))
        return True

    def _kind(self, op: ChainOp) -> OpKind:
        kind = self.kinds.get(op.kind)
        if kind is None:
            raise ChainError(f"no handler for chain operation kind {op.kind!r}")
        return kind

    def _sign_and_send(self, op_id: int) -> bool:
        """True when a transaction went out; False when the row was settled without one."""
        sender = self.chain.sender
        with sender.sending(), Session(self.engine) as s:
            # Claimed with SKIP LOCKED (PostgreSQL; SQLite ignores it): a row another
            # process is signing is left to it rather than waited for.
            op = s.exec(
                select(ChainOp)
                .where(ChainOp.id == op_id, ChainOp.status == OpStatus.QUEUED.value)
                .with_for_update(skip_locked=True)
            ).first()
            if op is None:
                return False
            kind = self._kind(op)
            try:
                call = kind.build(s, op, self.chain)
                signed = (
                    None
                    if call is None
                    else call.client.sign_call(sender, call.fn, gas_cap=self.gas_cap)
                )
            except ContractRevertError as exc:
                # Gas estimation replays the call: the contract refuses it now, for good.
                self._fail(s, op, kind, f"the contract refused it: {exc}")
                return False
            if signed is None:
                self._confirm(s, op, kind, None)
                return False
            try:
                op.sender, op.nonce, op.raw_tx, op.tx_hash = (
                    signed.sender,
                    signed.nonce,
                    signed.raw,
                    signed.tx_hash,
                )
                op.status = OpStatus.SIGNED.value
                op.updated_at = utcnow()
                s.add(op)
                s.commit()  # the nonce is recorded before anything is sent
            except BaseException:
                sender.reset_nonce()  # that nonce was never used: the next tx takes it
                raise
            _fault("before_send")
            self._send(s, op)
        return True

    def _send(self, s: Session, op: ChainOp) -> None:
        signed = SignedTx(
            raw=op.raw_tx or "", tx_hash=op.tx_hash or "", nonce=int(op.nonce or 0), sender=""
        )
        op.attempts += 1
        self.chain.sender.send_raw(signed)
        op.status = OpStatus.SENT.value
        op.updated_at = utcnow()
        s.add(op)
        s.commit()
        log.info("chain op sent", op=op.public_id, kind=op.kind, tx_hash=op.tx_hash)

    def _advance(self, op_id: int) -> bool:
        sender = self.chain.sender
        w3 = self.chain.w3
        with Session(self.engine) as s:
            op = s.get(ChainOp, op_id)
            assert op is not None and op.tx_hash is not None
            kind = self._kind(op)
            # Read the key's mined count before the receipt: a tx mined in between then
            # shows up in the receipt, never as "nonce used by another tx".
            mined_count = int(w3.eth.get_transaction_count(sender.account.address, "latest"))
            mined = self._find_receipt(op)
            if mined is None:
                if self.chain.sender.node_knows(op.tx_hash):
                    try:
                        mined = sender.wait(op.tx_hash, timeout=min(1.0, self.stuck_after))
                    except ChainError:
                        if (utcnow() - op.updated_at).total_seconds() >= self.stuck_after:
                            self._replace(s, op, kind)
                        return True  # still pending; look again next step
                elif int(op.nonce or 0) < mined_count:
                    self._requeue(s, op, "its nonce was used by another transaction")
                    return True
                else:
                    with sender.sending():
                        pending = int(
                            w3.eth.get_transaction_count(sender.account.address, "pending")
                        )
                        if int(op.nonce or 0) > pending:
                            self._requeue(s, op, "its nonce lies behind a gap")
                            return True
                        try:
                            self._send(s, op)  # never sent, or the node forgot it: again
                        except TransactionError as exc:
                            if "nonce" not in str(exc).lower():
                                raise
                            self._requeue(s, op, "its nonce was used by another transaction")
                    return True
            if mined.status != 1:
                self._fail(s, op, kind, f"transaction {mined.tx_hash} reverted (status 0)")
                return True
            if (
                self.confirmations > 1
                and w3.eth.block_number - mined.block_number + 1 < self.confirmations
            ):
                return True
            _fault("after_receipt")
            self._confirm(s, op, kind, mined)
            return True

    def _find_receipt(self, op: ChainOp) -> MinedTx | None:
        """The receipt of this row's transaction, or of one it replaced (same nonce: at most
        one of them is ever mined)."""
        for tx_hash in [op.tx_hash, *op.replaced]:
            if tx_hash and (mined := self.chain.sender.find_receipt(tx_hash)) is not None:
                return mined
        return None

    def _replace(self, s: Session, op: ChainOp, kind: OpKind) -> None:
        """Signs the row's call again at its nonce with higher fees and sends it; the old
        hash is kept, since the old transaction may still be the one mined."""
        sender = self.chain.sender
        try:
            old = self.chain.w3.eth.get_transaction(op.tx_hash)  # type: ignore[arg-type]
        except Exception:
            return  # gone from the pool meanwhile: the next step re-sends or finds it
        fees = _bumped(dict(old), sender.fee_fields())
        with sender.sending():
            try:
                call = kind.build(s, op, self.chain)
            except ContractRevertError:
                return  # the pending one may still land; its receipt decides
            if call is None:
                return
            signed = call.client.sign_call(
                sender, call.fn, gas_cap=self.gas_cap, nonce=int(op.nonce or 0), fees=fees
            )
            log.warning(
                "chain op stuck; replacing it with higher fees",
                op=op.public_id,
                old_tx=op.tx_hash,
                new_tx=signed.tx_hash,
            )
            op.replaced = [*op.replaced, str(op.tx_hash)]
            op.raw_tx, op.tx_hash = signed.raw, signed.tx_hash
            op.status = OpStatus.SIGNED.value
            op.updated_at = utcnow()
            s.add(op)
            s.commit()  # stored before it is sent, as every transaction of the writer
            self.replacements += 1
            _fault("before_send")
            self._send(s, op)

    def _requeue(self, s: Session, op: ChainOp, why: str) -> None:
        log.warning("chain op never landed; signing it again", op=op.public_id, why=why)
        self.chain.sender.reset_nonce()
        op.status = OpStatus.QUEUED.value
        op.nonce = op.raw_tx = op.tx_hash = None
        op.replaced = []
        op.error = why
        op.updated_at = utcnow()
        s.add(op)
        s.commit()

    def _confirm(self, s: Session, op: ChainOp, kind: OpKind, mined: MinedTx | None) -> None:
        kind.confirmed(s, op, self.chain, mined)
        op.status = OpStatus.CONFIRMED.value
        op.dedupe_key = None
        op.error = None
        if mined is not None:
            op.tx_hash = mined.tx_hash
            op.block_number = mined.block_number
            op.block_hash = mined.block_hash
            op.gas_used = mined.gas_used
        observe_gas(op.kind, op.gas_used)
        op.updated_at = utcnow()
        s.add(op)
        s.commit()
        self.confirmed += 1
        log.info("chain op confirmed", op=op.public_id, kind=op.kind, tx_hash=op.tx_hash)

    def _fail(self, s: Session, op: ChainOp, kind: OpKind, error: str) -> None:
        kind.failed(s, op, self.chain)
        op.status = OpStatus.FAILED.value
        op.dedupe_key = None  # the caller may ask again
        op.error = error[:2000]
        op.updated_at = utcnow()
        s.add(op)
        s.commit()
        log.warning("chain op failed", op=op.public_id, kind=op.kind, error=op.error)


def _bumped(old: dict[str, Any], current: dict[str, int]) -> dict[str, int]:
    """Fees for a replacement: the node's current ones, and at least a quarter above the
    stuck transaction's (nodes take a replacement only 10 % or more above the old fees)."""

    def above(value: Any) -> int:
        return int(int(value or 0) * 5 // 4) + 1

    if "maxFeePerGas" in current:
        return {
            "maxFeePerGas": max(current["maxFeePerGas"], above(old.get("maxFeePerGas"))),
            "maxPriorityFeePerGas": max(
                current["maxPriorityFeePerGas"], above(old.get("maxPriorityFeePerGas"))
            ),
        }
    return {"gasPrice": max(current["gasPrice"], above(old.get("gasPrice")))}
