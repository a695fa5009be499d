"""The batcher: queued evidence → Merkle batch → one anchoring transaction → anchored.

The batch is an outbox row written *before* anything is sent, holding the root, the planned
nonce and the signed raw transaction. Every step after that is idempotent, so a crash at
any point resumes on restart (docs/architecture.md, promise 4):

    planned ──send raw tx──▶ sent ──receipt + confirmations──▶ confirmed
       │                       │
       └──── nonce taken by another tx / reverted / block lost ──▶ orphaned (rows requeued)

* crash before send: the stored raw tx is sent on restart (same nonce, same hash);
* crash after send: the receipt is looked up by hash; a tx the node forgot is re-sent;
* crash after the receipt, before the commit: the receipt is found again and committed;
* a managed node that comes back without its last blocks: ``recover()`` walks confirmed
  batches from the newest and requeues every one whose block hash the chain no longer has.

One batch is in flight at a time per signing key, so nonces never race; a file lock keeps a
second batcher on the same data directory from starting at all.

A member's batch that the registry refuses through no fault of ours never holds up the
queue: a root someone else already holds (registry v1: first come, first served) is
re-salted (new salts, new leaves, a new root) and planned again; any other refusal at
planning sets that member aside for a while (``MEMBER_BACKOFF``) and the next member's
documents go first. Roots are published (``GET /api/v1/batches/{id}``) only once mined.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import IO, Any, TypedDict

import structlog
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from sqlalchemy import CursorResult, Engine, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chainproof.chain.abi import ANCHORED_TOPIC
from chainproof.chain.context import ChainContext
from chainproof.chain.registry import ALREADY_ANCHORED
from chainproof.chain.sender import MinedTx, SignedTx
from chainproof.chain.writer import ChainWriter, enqueue
from chainproof.digests import canonical_json, to_hex
from chainproof.errors import ChainError, ConflictError, ContractRevertError, TransactionError
from chainproof.evidence import freshness
from chainproof.evidence.finality import FinalityPolicy, ReorgWatcher
from chainproof.evidence.intake import resalt
from chainproof.evidence.ops import GRANT_MEMBER, evidence_kinds
from chainproof.evidence.writes import Turns, new_turns
from chainproof.identity import ensure_member_chain_key, member_account
from chainproof.merkle import packed_root, packed_tree
from chainproof.metrics import observe_anchored
from chainproof.store.models import (
    AnchorRecord,
    Batch,
    BatchStatus,
    BatchTree,
    Evidence,
    EvidenceStatus,
    Member,
    utcnow,
)

log = structlog.get_logger("chainproof.batcher")
IN_FLIGHT = (BatchStatus.PLANNED.value, BatchStatus.SENT.value)
# A member's signature stays valid this long after the batch is planned: long enough for any
# crash recovery to re-send it, short enough that a leaked signature soon expires.
SIGNATURE_TTL = 7 * 24 * 3600
# How long a member whose batch the registry refused at planning is set aside, at first
# (doubling on each refusal, up to MEMBER_BACKOFF_MAX), while the other members go on.
MEMBER_BACKOFF = 1.0
MEMBER_BACKOFF_MAX = 60.0
# How often a member waiting for its role grant (with the chain writer) is looked at again.
ADMISSION_POLL = 0.1


def _fault(point: str) -> None:
    """Failpoint for the crash tests: CHAINPROOF_FAULT=<point> kills this process right
    here with SIGKILL, as a power cut would. Unset in normal runs, where it costs a lookup."""
    if os.environ.get("CHAINPROOF_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class AwaitingAdmission(Exception):
    """The member's role grant is with the chain writer: plan its batch once it is mined."""


class LeaderLock:
    """Only one batcher per data directory (and so per signing key) may run."""

    def __init__(self, data_dir: Path, signer: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / f"batcher-{signer.lower()}.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise ConflictError(
                f"another batcher holds {self.path}: one batcher per signing key"
            ) from exc
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class Batcher:
    def __init__(
        self,
        *,
        engine: Engine,
        chain: ChainContext,
        batch_size: int,
        interval_ms: int,
        confirmations: int = 1,
        gas_cap: int = 16_777_216,
        clock: Callable[[], float] = time.time,
        member_secret: str | None = None,
        finality: FinalityPolicy | None = None,
        stuck_after: float = 60.0,
        turns: Turns | None = None,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.batch_size = batch_size
        self.interval = interval_ms / 1000
        self.confirmations = confirmations
        # When a mined batch counts as anchored, and who requeues one a reorg took away.
        self.finality = finality or FinalityPolicy("confirmations", confirmations)
        self.watcher = ReorgWatcher(engine=engine, chain=chain, orphan=self._orphan)
        self.stuck_after = stuck_after  # a pending anchor this old is replaced (or re-sent)
        self.replacements = 0
        self.gas_cap = gas_cap
        self.clock = clock
        self.member_secret = member_secret  # unlocks members' custodial keys (None: operator)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue_empty = False  # the last look found nothing queued (run() polls slower)
        self._paused_reason: str | None = None
        self.last_error: str | None = None
        self.batches_confirmed = 0
        self._admitted: set[str] = set()  # member addresses known to hold the role on chain
        # member id (None: the operator's own documents) -> (monotonic time it may plan
        # again, its current backoff): members whose batch the registry refused.
        self._set_aside: dict[int | None, tuple[float, float]] = {}
        self.resalted_batches = 0  # planned roots re-salted after a refusal (tests, metrics)
        # The write lock, before the intake (writes.py): the runtime passes its engine's turns,
        # shared with the intake's group commit; a batcher on its own takes turns with nobody.
        self._turns = turns if turns is not None else new_turns(engine)
        # The chain writer of this key, when this process runs one: admissions go to it.
        self.writer: ChainWriter | None = None

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="chainproof-batcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        backoff = 0.05
        recovered = False
        while not self._stop.is_set():
            try:
                if not recovered:
                    recovered = self.recover()
                    if not recovered:
                        self._stop.wait(1.0)
                        continue
                worked = self.step()
                backoff = 0.05
                self.last_error = None
            except Exception as exc:  # keep the worker alive; the queue is safe in the DB
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("batcher step failed", error=self.last_error, retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not worked:
                # An empty queue is polled at half the batch interval (a step is a few
                # queries, which add up on an idle server); a queue with
                # rows too young to close, every 50 ms. The first row is then seen before it
                # is old enough to close, so no batch closes later than it did.
                self._stop.wait(
                    self.interval / 2 if self._queue_empty else min(0.05, self.interval / 4)
                )

    def drain(self, timeout: float = 60.0) -> None:
        """Runs steps in this thread until nothing is queued or in flight (tests, CLI)."""
        deadline = time.monotonic() + timeout
        self.recover()
        # Member admissions go through the chain writer: step one here too (a transient
        # one when none is attached, as in tests that drive a bare batcher).
        writer = self.writer or ChainWriter(
            engine=self.engine,
            chain=self.chain,
            kinds=evidence_kinds(member_secret=self.member_secret),
        )
        while time.monotonic() < deadline:
            wrote = writer.step()
            if not self.step(force=True) and not wrote and self.pending_count() == 0:
                return
        raise ChainError(f"the queue did not drain within {timeout}s")

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (readyz reports a dead batcher)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused_reason(self) -> str | None:
        return self._paused_reason

    def pending_count(self) -> int:
        """Documents accepted but not anchored yet (queued or in a batch in flight)."""
        with Session(self.engine) as s:
            q = (
                select(func.count())
                .select_from(Evidence)
                .where(
                    col(Evidence.status).in_(
                        [EvidenceStatus.QUEUED.value, EvidenceStatus.BATCHED.value]
                    )
                )
            )
            return int(s.exec(q).one())

    # ---- recovery ----------------------------------------------------------------------

    def recover(self) -> bool:
        """Requeues batches whose block the chain lost. False while the chain is not ours."""
        status = self.chain.status(fresh=True)
        if not status.ok:
            self._pause(status.reason or status.code)
            return False
        w3 = self.chain.w3
        with Session(self.engine) as s:
            confirmed = s.exec(
                select(Batch)
                .where(Batch.status == BatchStatus.CONFIRMED.value)
                .order_by(col(Batch.block_number).desc(), col(Batch.id).desc())
            )
            lost: list[Batch] = []
            for b in confirmed:
                try:
                    block = w3.eth.get_block(int(b.block_number or 0))
                    found = HexBytes(block["hash"]).to_0x_hex()
                except Exception:
                    found = None
                if found == b.block_hash:
                    break  # the chain is append-only below the first intact block
                lost.append(b)
            for b in lost:
                log.warning("batch block lost; requeueing", batch_id=b.id, block=b.block_number)
                self._orphan(s, b, f"block {b.block_number} ({b.block_hash}) no longer on chain")
            s.commit()
        self.chain.sender.reset_nonce()
        return True

    def _pause(self, reason: str) -> None:
        if self._paused_reason != reason:
            log.error("batcher paused: chain is not usable", reason=reason)
        self._paused_reason = reason

    # ---- one step ----------------------------------------------------------------------

    def step(self, *, force: bool = False) -> bool:
        """Advances the in-flight batch, or closes a new one. True when it did work."""
        self._queue_empty = False  # until _close_batch finds it so
        status = self.chain.status()
        if not status.ok:
            self._pause(status.reason or status.code)
            return False
        self._paused_reason = None
        self.watcher.tick()
        with Session(self.engine) as s:
            inflight = s.exec(
                select(Batch.id).where(col(Batch.status).in_(IN_FLIGHT)).order_by(col(Batch.id))
            ).first()
        if inflight is not None:
            return self._advance(int(inflight))
        with self.chain.sender.sending():
            try:
                batch_id = self._close_batch(force=force)
            except BaseException:
                self._admitted.clear()
                # Signing reserved a nonce before the batch row was stored; if storing it
                # failed ("database is locked"), that nonce was never used. Forget the
                # counter so the next transaction takes it, or every later one would wait
                # forever behind the gap. Safe: ``sending()`` is held, nothing else signed.
                self.chain.sender.reset_nonce()
                raise
            if batch_id is None:
                return False
            _fault("before_send")
            self._advance(batch_id, wait=False)
        self._advance(batch_id)
        return True

    def _close_batch(self, *, force: bool) -> int | None:
        with Session(self.engine) as s:
            # A batch holds one member's documents, so the member's own key can sign it:
            # take the oldest queued row, then that member's queue in order.
            oldest = s.execute(
                sa_select(col(Evidence.member_id), col(Evidence.created_at))
                .where(col(Evidence.status) == EvidenceStatus.QUEUED.value, *self._not_aside())
                .order_by(col(Evidence.id))
                .limit(1)
            ).first()
            self._queue_empty = oldest is None
            if oldest is None:
                return None
            member_id, oldest_created = oldest
            same_member = (
                col(Evidence.member_id).is_(None)
                if member_id is None
                else col(Evidence.member_id) == member_id
            )
            queued = (col(Evidence.status) == EvidenceStatus.QUEUED.value, same_member)
            if not force and self.clock() - oldest_created.timestamp() < self.interval:
                # Too young to close unless the member has a full batch waiting: count
                # (up to a batch) before reading thousands of rows only to wait again.
                waiting = s.execute(
                    sa_select(func.count()).select_from(
                        sa_select(col(Evidence.id)).where(*queued).limit(self.batch_size).subquery()
                    )
                ).scalar_one()
                if waiting < self.batch_size:
                    return None
            # Only the two columns the tree needs: 10,000 rows through the ORM with their
            # datetimes cost more than building the tree.
            rows = (
                s.connection()
                .execute(
                    sa_select(col(Evidence.id), col(Evidence.leaf_hash))
                    .where(*queued)
                    .order_by(col(Evidence.id))
                    .limit(self.batch_size)
                )
                .all()
            )
            if not rows:
                return None
            # The leaf hashes were computed from (algorithm, digest, salt) at intake; the
            # tree is built from them (the same tree as StandardMerkleTree.of the values).
            nodes = packed_tree([bytes.fromhex(r[1][2:]) for r in rows])
            root = packed_root(nodes)
            first_id, last_id = int(rows[0][0] or 0), int(rows[-1][0] or 0)  # ids: never None
            meta = {
                "kind": "chainproof-evidence-batch",
                "leaf_count": len(rows),
                "first_evidence_id": first_id,
                "last_evidence_id": last_id,
                **freshness.commitment(s, first_id, last_id),  # two-sided time (issue 19)
            }
            metadata_hash = keccak(canonical_json(meta))
            # The same rows requeued from an orphaned batch give the same root again (their
            # salts stay, so receipts already handed out stay meaningful): reuse that row.
            # No autoflush until the write turn below: signing reads (and may call the
            # chain), and a flush here would take the database's write lock before the turn.
            with s.no_autoflush:
                batch = s.exec(select(Batch).where(Batch.root == to_hex(root))).first()
                if batch is None:
                    batch = Batch(
                        root=to_hex(root),
                        leaf_count=len(rows),
                        metadata_hash=to_hex(metadata_hash),
                        chain_id=self.chain.chain_id,
                        contract=self.chain.contract,
                        signer=self.chain.sender.address,
                    )
                batch.status = BatchStatus.PLANNED.value
                batch.block_number = batch.block_hash = batch.block_timestamp = None
                batch.sent_at = batch.confirmed_at = None
                try:
                    self._sign_into(s, batch, member_id)
                except ContractRevertError as exc:
                    # Gas estimation replays the anchor: the registry refuses it now.
                    s.rollback()
                    self._refused(s, exc, member_id, [int(r[0] or 0) for r in rows], batch.root)
                    return None
                except AwaitingAdmission:
                    # The chain writer grants the member's role first; the others go on.
                    s.rollback()
                    self._set_aside[member_id] = (time.monotonic() + ADMISSION_POLL, 0.0)
                    return None
            with self._turns.turn(priority=True):
                s.add(batch)
                s.flush()
                assert batch.id is not None
                if s.get(BatchTree, batch.id) is None:  # a re-planned batch keeps its tree
                    s.add(BatchTree(batch_id=batch.id, nodes=nodes))
                freshness.keep_meta(s, batch.id, meta)
                # One range UPDATE instead of one per row (proofs come from the tree on
                # read). The claimed rows are exactly this member's queued rows in [first,
                # last]: the batcher is the only writer that moves rows out of "queued", so
                # a count that differs means a row was committed into the range since the
                # SELECT (possible on PostgreSQL, whose ids are handed out before commit).
                # Then the batch is not the rows its tree holds: roll back and plan again.
                claimed: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                    update(Evidence)
                    .where(
                        col(Evidence.status) == EvidenceStatus.QUEUED.value,
                        same_member,
                        col(Evidence.id).between(first_id, last_id),
                    )
                    .values(status=EvidenceStatus.BATCHED.value, batch_id=batch.id)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount != len(rows):
                    s.rollback()
                    raise ConflictError(
                        f"batch of {len(rows)} rows claimed {claimed.rowcount}: a row arrived "
                        "inside its id range; planning it again"
                    )
                s.commit()
            log.info("batch planned", batch_id=batch.id, leaves=len(rows), root=batch.root)
            return batch.id

    def _not_aside(self) -> list[Any]:
        """WHERE terms leaving out the members set aside (until their time is up)."""
        now = time.monotonic()
        for member_id, (until, _) in list(self._set_aside.items()):
            if until <= now:
                del self._set_aside[member_id]
        if not self._set_aside:
            return []
        ids = [m for m in self._set_aside if m is not None]
        terms: list[Any] = []
        if None in self._set_aside:
            terms.append(col(Evidence.member_id).is_not(None))
        if ids:
            terms.append(
                or_(col(Evidence.member_id).is_(None), col(Evidence.member_id).not_in(ids))
            )
        return terms

    def _refused(
        self,
        s: Session,
        exc: ContractRevertError,
        member_id: int | None,
        ids: list[int],
        root: str,
    ) -> None:
        """The registry refused a planned anchor. A root already anchored by someone else
        (v1: first come, first served) is re-salted, so the next plan makes a new root; any
        other refusal sets the member aside, so the next member's documents go first. Either
        way nobody else waits behind it."""
        self._admitted.clear()  # a lost role shows up here: ask the chain again next time
        if exc.error_name in ALREADY_ANCHORED:
            with self._turns.turn(priority=True):
                changed = resalt(s, ids)
                s.commit()
            self.resalted_batches += 1
            log.warning(
                "planned root refused as anchored already; re-salted its documents",
                root=root,
                member_id=member_id,
                rows=changed,
                error=exc.error_name,
            )
            return
        _, backoff = self._set_aside.get(member_id, (0.0, MEMBER_BACKOFF / 2))
        backoff = min(backoff * 2, MEMBER_BACKOFF_MAX)
        self._set_aside[member_id] = (time.monotonic() + backoff, backoff)
        self.last_error = f"member {member_id}: {exc}"
        log.warning(
            "registry refused a member's batch; other members go first",
            member_id=member_id,
            error=str(exc),
            retry_in=backoff,
        )

    def _member_signer(self, s: Session, member_id: int | None) -> LocalAccount | None:
        """The member's custodial key, created and admitted on chain on first use; None
        when the batch is the operator's own (no member, or no secret to unlock keys)."""
        if member_id is None or self.member_secret is None:
            return None
        member = s.get(Member, member_id)
        if member is None:
            return None
        address = ensure_member_chain_key(session=s, member=member, secret=self.member_secret)
        registry = self.chain.registry
        # A node round trip per batch saved: an address seen holding the role is taken to
        # keep it. If it lost it since, signing (gas estimation) or the transaction fails,
        # and both clear this set (step(), _orphan()), so the next try asks the chain again.
        if address not in self._admitted:
            if not registry.is_member(address):
                self._ask_admission(member_id, address)
                raise AwaitingAdmission(address)
            self._admitted.add(address)
        return member_account(session=s, member=member, secret=self.member_secret)

    def _ask_admission(self, member_id: int, address: str) -> None:
        """Enqueues the member's role grant for the chain writer (once: a live grant for
        this address holds its dedupe key)."""
        with Session(self.engine) as other:
            try:
                op = enqueue(
                    other,
                    kind=GRANT_MEMBER,
                    payload={"address": address},
                    member_id=member_id,
                    dedupe_key=f"grant:{address.lower()}",
                )
            except ConflictError:
                return  # asked already; the writer is on it
        log.info("member admission enqueued", member_id=member_id, address=address, op=op.public_id)
        if self.writer is not None:
            self.writer.wake()

    def _sign_into(
        self,
        s: Session,
        batch: Batch,
        member_id: int | None,
        *,
        nonce: int | None = None,
        fees: dict[str, int] | None = None,
    ) -> None:
        """Signs the anchoring transaction with a fresh nonce and stores it on the batch.

        A member's batch is anchored with the member's EIP-712 signature, relayed (and paid for) by
        the operator: the Anchored event then names the member, which is what proves who wrote it
        (docs/architecture.md, promise 5). The anchor costs the same whatever the batch size.
        """
        registry = self.chain.registry
        member = self._member_signer(s, member_id)
        if member is None:
            batch.signer = self.chain.sender.address
            fn = registry.anchor_call(batch.root, batch.leaf_count, batch.metadata_hash)
        else:
            batch.signer = str(member.address)
            deadline = int(self.chain.w3.eth.get_block("latest")["timestamp"]) + SIGNATURE_TTL
            signature = registry.sign_anchor(
                member,
                root=batch.root,
                leaf_count=batch.leaf_count,
                metadata_hash=batch.metadata_hash,
                nonce=registry.nonce_of(member.address),
                deadline=deadline,
            )
            fn = registry.anchor_with_signature_call(
                root=batch.root,
                leaf_count=batch.leaf_count,
                metadata_hash=batch.metadata_hash,
                signer=member.address,
                deadline=deadline,
                signature=signature,
            )
        signed = registry.sign_call(
            self.chain.sender, fn, gas_cap=self.gas_cap, nonce=nonce, fees=fees
        )
        batch.nonce = signed.nonce
        batch.raw_tx = signed.raw
        batch.tx_hash = signed.tx_hash

    def _advance(self, batch_id: int, *, wait: bool = True) -> bool:
        sender = self.chain.sender
        with Session(self.engine) as s:
            b = s.get(Batch, batch_id)
            assert b is not None and b.raw_tx is not None and b.tx_hash is not None
            if b.status == BatchStatus.PLANNED.value:
                with sender.sending():
                    self._resign_if_gapped(s, b)
                    self._send(s, b)
                b.status = BatchStatus.SENT.value
                b.sent_at = utcnow()
                with self._turns.turn(priority=True):
                    s.commit()
                _fault("after_send")
            if not wait:
                return True
            mined = sender.find_receipt(b.tx_hash)
            if mined is None:
                if self.chain.sender.node_knows(b.tx_hash):
                    try:
                        mined = sender.wait(b.tx_hash, timeout=1.0)
                    except ChainError:
                        self._replace_if_stuck(s, b)
                        return True  # still pending; look again next step
                else:
                    self._send(s, b)  # the node forgot it (restart, eviction): send again
                    s.commit()
                    return True
            if mined.status != 1:
                with self._turns.turn(priority=True):
                    self._handle_revert(s, b, mined)
                    s.commit()
                return True
            if not self.finality.is_final(self.chain.w3, mined.block_number):
                return True  # not final yet: not anchored, no receipt (finality.py)
            _fault("after_receipt")
            with self._turns.turn(priority=True):
                self._confirm(s, b, mined)
                s.commit()
            self.batches_confirmed += 1
            log.info("batch anchored", batch_id=b.id, tx_hash=b.tx_hash, block=mined.block_number)
            return True

    def _replace_if_stuck(self, s: Session, b: Batch) -> None:
        """A sent anchor pending for ``stuck_after`` seconds is signed again at its nonce with
        fees a quarter higher; at a zero gas price (a free-gas network) it is broadcast again
        instead. If the old one is mined after all, the new one cannot be (same nonce), and
        a re-send that finds the nonce used adopts the root through its Anchored event."""
        if b.sent_at is None:
            return
        sent_at = b.sent_at if b.sent_at.tzinfo else b.sent_at.replace(tzinfo=UTC)
        if (utcnow() - sent_at).total_seconds() < self.stuck_after:
            return
        sender = self.chain.sender
        fees = sender.replacement_fees(b.tx_hash or "")
        with sender.sending():
            if fees is not None:
                old = b.tx_hash
                member_id = s.exec(
                    select(Evidence.member_id).where(col(Evidence.batch_id) == b.id).limit(1)
                ).first()
                self._sign_into(s, b, member_id, nonce=int(b.nonce or 0), fees=fees)
                log.warning(
                    "anchor stuck; replacing it", batch_id=b.id, old_tx=old, new_tx=b.tx_hash
                )
                self.replacements += 1
            self._send(s, b)
        b.sent_at = utcnow()
        with self._turns.turn(priority=True):
            s.commit()

    def _resign_if_gapped(self, s: Session, b: Batch) -> None:
        """A planned transaction whose nonce is above the key's next one would never be
        mined (a nonce below it was reserved and never used): sign it again with the next
        nonce. Only planned batches: a sent one may already be in the node's pool."""
        sender = self.chain.sender
        next_nonce = int(self.chain.w3.eth.get_transaction_count(sender.account.address, "pending"))
        if b.nonce is None or int(b.nonce) <= next_nonce:
            return
        log.warning(
            "planned nonce above the chain's next; re-signing",
            batch_id=b.id,
            planned=b.nonce,
            next=next_nonce,
        )
        sender.reset_nonce()
        member_id = s.exec(
            select(Evidence.member_id).where(col(Evidence.batch_id) == b.id).limit(1)
        ).first()
        self._sign_into(s, b, member_id)
        s.commit()

    def _send(self, s: Session, b: Batch) -> None:
        sender = self.chain.sender
        signed = SignedTx(
            raw=b.raw_tx or "", tx_hash=b.tx_hash or "", nonce=int(b.nonce or 0), sender=b.signer
        )
        b.attempts += 1
        try:
            sender.send_raw(signed)
        except TransactionError as exc:
            if "nonce" not in str(exc).lower():
                b.last_error = str(exc)
                raise
            # Another transaction of this key took the nonce and ours was never mined:
            # the stored tx can never be mined now, so sign it again with a fresh nonce.
            log.warning("nonce taken; re-signing batch", batch_id=b.id, old_tx=b.tx_hash)
            sender.reset_nonce()
            member_id = s.exec(
                select(Evidence.member_id).where(col(Evidence.batch_id) == b.id).limit(1)
            ).first()
            self._sign_into(s, b, member_id)
            s.commit()
            sender.send_raw(
                SignedTx(
                    raw=b.raw_tx or "",
                    tx_hash=b.tx_hash or "",
                    nonce=int(b.nonce or 0),
                    sender=b.signer,
                )
            )

    def _handle_revert(self, s: Session, b: Batch, mined: MinedTx) -> None:
        anchor = self.chain.registry.get_anchor(b.signer, b.root)
        if anchor is not None:
            # Our root is on chain through an earlier transaction of ours (or of whoever
            # relayed our member's signature first): adopt that one.
            events = self.chain.registry.anchored_events(
                from_block=anchor.block_number, to_block=anchor.block_number, root=b.root
            )
            for ev in events:
                if ev.root == b.root and ev.submitter == b.signer:
                    b.tx_hash = ev.tx_hash
                    self._confirm(s, b, self.chain.sender.find_receipt(ev.tx_hash) or mined)
                    return
        self._orphan(s, b, f"anchoring transaction {mined.tx_hash} reverted")

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


class BatchSummary(TypedDict):
    """Rows by status (``queued``, ``anchored``...; ``planned``, ``sent``, ``confirmed``...)."""

    evidence: dict[str, int]
    batches: dict[str, int]


def batch_summary(engine: Engine) -> BatchSummary:
    """Counts by status, for readyz and the CLI."""

    with Session(engine) as s:
        ev = dict(s.exec(select(Evidence.status, func.count()).group_by(Evidence.status)).all())
        ba = dict(s.exec(select(Batch.status, func.count()).group_by(Batch.status)).all())
    return BatchSummary(evidence=ev, batches=ba)
