"""The batcher's first step: queued rows grouped into a batch (one member's documents for one
registry, at most ``batch_size``), its Merkle tree built and the batch row written, with the
member's signature over the root, before anything is sent (the outbox). A member the
registry refuses is set aside, a root already held is re-salted (``evidence/batcher.py``).

Rows are partitioned by the registry they go to: the main one, or a virtual channel's own
(``channel.registry_address``, docs/channels.md). A virtual channel whose registry is not
deployed yet holds no rows (the intake refuses them), and any that got in wait for it."""

from __future__ import annotations

import time
from typing import Any

import structlog
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import CursorResult, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chainproof.business.service import resalt_keeping_metadata
from chainproof.chain.registry import ALREADY_ANCHORED, EvidenceRegistryClient
from chainproof.chain.writer import enqueue
from chainproof.channels.models import Channel, ChannelMember
from chainproof.channels.registry_ops import role_op
from chainproof.digests import canonical_json, to_hex
from chainproof.errors import ConflictError, ContractRevertError
from chainproof.evidence import freshness
from chainproof.evidence.batch_confirm import BatcherBase
from chainproof.evidence.ops import GRANT_MEMBER
from chainproof.identity import ensure_member_chain_key, member_account
from chainproof.merkle import packed_root, packed_tree
from chainproof.store.models import (
    Batch,
    BatchStatus,
    BatchTree,
    Evidence,
    EvidenceStatus,
    Member,
)

log = structlog.get_logger("chainproof.batcher")
# A member's signature stays valid this long after the batch is planned: long enough for any
# crash recovery to re-send it, short enough that a leaked signature soon expires.
SIGNATURE_TTL = 7 * 24 * 3600
# How long a member whose batch the registry refused at planning is set aside, at first
# (doubling on each refusal, up to MEMBER_BACKOFF_MAX), while the other members go on.
MEMBER_BACKOFF = 1.0
MEMBER_BACKOFF_MAX = 60.0
# How often a member waiting for its role grant (with the chain writer) is looked at again.
ADMISSION_POLL = 0.1


class AwaitingAdmission(Exception):
    """The member's role grant is with the chain writer: plan its batch once it is mined."""


def _ready() -> Any:
    """Rows that may be batched: outside any virtual channel, or in one whose registry is
    deployed (the outer join with ``channel`` leaves its columns null for no channel)."""
    return or_(
        col(Channel.id).is_(None),
        col(Channel.virtual).is_(False),
        col(Channel.registry_address).is_not(None),
    )


def in_registry(registry: str | None) -> Any:
    """The WHERE term of the rows anchored in ``registry``: a virtual channel's (its
    address), or the main one (None: no channel, or a channel that is not virtual)."""
    if registry is None:
        virtual = sa_select(col(Channel.id)).where(col(Channel.virtual).is_(True))
        return or_(col(Evidence.channel_id).is_(None), col(Evidence.channel_id).not_in(virtual))
    ids = sa_select(col(Channel.id)).where(col(Channel.registry_address) == registry)
    return col(Evidence.channel_id).in_(ids)


def _in_channel_of(s: Session, registry: str, member_id: int) -> bool:
    """Whether org ``member_id`` is a current member of the virtual channel whose registry
    is at ``registry``."""
    found = s.exec(
        select(ChannelMember.id)
        .join(Channel, col(Channel.id) == col(ChannelMember.channel_id))
        .where(Channel.registry_address == registry, ChannelMember.member_id == member_id)
    ).first()
    return found is not None


class Closing(BatcherBase):
    def _close_batch(self, *, force: bool) -> int | None:
        with Session(self.engine) as s:
            # A batch holds one member's documents, so the member's own key can sign it:
            # take the oldest queued row, then that member's queue in order.
            # ... and for one registry: the oldest row's (the main one, or its virtual
            # channel's), so one transaction anchors the batch in one contract.
            oldest = s.execute(
                sa_select(
                    col(Evidence.member_id),
                    col(Evidence.created_at),
                    col(Channel.registry_address),
                )
                .select_from(Evidence)
                .outerjoin(Channel, col(Channel.id) == col(Evidence.channel_id))
                .where(
                    col(Evidence.status) == EvidenceStatus.QUEUED.value,
                    _ready(),
                    *self._not_aside(),
                )
                .order_by(col(Evidence.id))
                .limit(1)
            ).first()
            self._queue_empty = oldest is None
            if oldest is None:
                return None
            member_id, oldest_created, channel_registry = oldest
            same_member = (
                col(Evidence.member_id).is_(None)
                if member_id is None
                else col(Evidence.member_id) == member_id
            )
            same_registry = in_registry(channel_registry)
            target = channel_registry or self.chain.contract
            queued = (
                col(Evidence.status) == EvidenceStatus.QUEUED.value,
                same_member,
                same_registry,
            )
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
                        contract=target,
                        signer=self.chain.sender.address,
                    )
                batch.contract = target  # a re-planned batch goes where its rows go now
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
                        same_registry,
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
                # Typed documents keep their metadata's commitment (issue 25).
                changed = resalt_keeping_metadata(s, ids)
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

    def _member_signer(
        self, s: Session, member_id: int | None, registry: EvidenceRegistryClient
    ) -> LocalAccount | None:
        """The member's custodial key, created and admitted on ``registry`` on first use;
        None when the batch is the operator's own (no member, or no secret to unlock keys),
        whose role on a virtual channel's registry is then checked likewise."""
        channel_registry = registry.address != self.chain.registry.address
        if (
            member_id is None
            or self.member_secret is None
            or (channel_registry and not _in_channel_of(s, registry.address, member_id))
        ):
            # A member removed from a virtual channel keeps no role on its registry (the
            # change revoked it); the records it left queued there are still anchored
            # (nothing accepted is lost), by the operator, never by granting it back.
            if channel_registry:
                self._admit(registry, self.chain.sender.address, None)
            return None
        member = s.get(Member, member_id)
        if member is None:
            return None
        address = ensure_member_chain_key(session=s, member=member, secret=self.member_secret)
        self._admit(registry, address, member_id)
        return member_account(session=s, member=member, secret=self.member_secret)

    def _admit(self, registry: EvidenceRegistryClient, address: str, member_id: int | None) -> None:
        """Raises AwaitingAdmission (the grant enqueued) unless ``address`` holds the role
        on ``registry``. A node round trip per batch saved: an address seen holding the role
        is taken to keep it. If it lost it since, signing (gas estimation) or the
        transaction fails, and both clear this set (step(), _orphan()), so the next try
        asks the chain again."""
        seen = f"{registry.address}:{address}"
        if seen in self._admitted:
            return
        if not registry.is_member(address):
            main = registry.address == self.chain.registry.address
            self._ask_admission(member_id, address, None if main else registry.address)
            raise AwaitingAdmission(address)
        self._admitted.add(seen)

    def _ask_admission(self, member_id: int | None, address: str, contract: str | None) -> None:
        """Enqueues the role grant on the main registry (``contract`` None) or a virtual
        channel's for the chain writer (once: a live grant holds its dedupe key)."""
        wanted = (
            role_op(grant=True, contract=contract, address=address, member_id=member_id)
            if contract is not None
            else None
        )
        with Session(self.engine) as other:
            try:
                op = enqueue(
                    other,
                    kind=GRANT_MEMBER,
                    payload={"address": address} if wanted is None else wanted.payload,
                    member_id=member_id,
                    dedupe_key=f"grant:{address.lower()}" if wanted is None else wanted.dedupe_key,
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
        registry = self.chain.registry_at(batch.contract)
        member = self._member_signer(s, member_id, registry)
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
