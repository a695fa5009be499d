"""The subsidy area on chain: anchoring its own records, and proving one evidence row.

Records (manifests, lifecycle transitions) are canonical JSON (RFC 8785, ``digests``); their
SHA-256 goes through the ordinary evidence queue (``evidence.intake.submit_digests``), so a
manifest or a transition has a receipt like any document. ``submit_digests`` commits the
session it is given: the rows staged with a record (the manifest row, the transition row,
the status change) land in the same commit as its evidence row, or none of them does.

:func:`prove` answers "does *this* evidence row verify on chain?", which is what a document
of an application needs (its own anchor decides whether it is late, its own revocation
whether it counts). ``evidence.verify.verify_digest`` answers the wider "is this digest on
chain at all?", which the integrity check uses for files outside any application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.digests import Algorithm, canonical_json, hash_bytes, to_hex
from chainproof.errors import ChainError, ConflictError
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.proofs import proof_of, trees_of
from chainproof.store.models import Batch, Evidence, EvidenceStatus
from chainproof.vocabulary import Verdict

RECORD_ALGORITHM: Final[Algorithm] = "sha256"


@dataclass(frozen=True)
class Record:
    """A structured record ready to anchor: its canonical bytes and their SHA-256."""

    body: bytes
    digest: str  # 0x + hex
    filename: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def make_record(obj: Any, *, filename: str) -> Record:
    body = canonical_json(obj)
    return Record(body=body, digest=to_hex(hash_bytes(body, RECORD_ALGORITHM)), filename=filename)


def anchor_records(
    session: Session, *, records: Sequence[Record], member_id: int | None, label: str
) -> None:
    """Queues ``records`` for anchoring and commits everything staged in ``session``.

    A unique-constraint violation (a transition written concurrently, a second manifest)
    rolls the whole commit back and becomes a ConflictError.
    """
    try:
        submit_digests(
            session=session,
            algorithm=RECORD_ALGORITHM,
            digests=[bytes.fromhex(r.digest[2:]) for r in records],
            member_id=member_id,
            label=label,
            filenames=[r.filename for r in records],
            sizes=[len(r.body) for r in records],
        )
    except IntegrityError:
        session.rollback()
        raise ConflictError(
            "the application changed while this step was being recorded; reload and try again"
        ) from None


def record_evidence(session: Session, digest: str) -> Evidence | None:
    """The first evidence row of a record's digest: the one written with the record."""
    return session.exec(
        select(Evidence)
        .where(Evidence.algorithm == RECORD_ALGORITHM, Evidence.digest == digest)
        .order_by(col(Evidence.id))
    ).first()


@dataclass(frozen=True)
class Proof:
    """What the chain says about one evidence row."""

    verdict: Verdict
    reason: str | None
    evidence_id: str | None  # the public id
    anchor: dict[str, Any] | None  # root, tx_hash, block_number/hash/timestamp, chain, contract

    @property
    def block_timestamp(self) -> int | None:
        return None if self.anchor is None else int(self.anchor["block_timestamp"])

    def late(self, deadline: datetime) -> bool | None:
        """Anchored after ``deadline`` (by the block's time)? None while not anchored."""
        ts = self.block_timestamp
        return None if ts is None else ts > deadline.timestamp()


def _anchor_of(batch: Batch) -> dict[str, Any]:
    return {
        "root": batch.root,
        "tx_hash": batch.tx_hash,
        "block_number": batch.block_number,
        "block_hash": batch.block_hash,
        "block_timestamp": batch.block_timestamp,
        "chain_id": batch.chain_id,
        "contract": batch.contract,
        "submitter": batch.signer,
    }


def prove(session: Session, chain: ChainContext, ev: Evidence | None) -> Proof:
    """Checks ``ev``'s own leaf against the registry on the server's chain (docs/architecture.md,
    promise 6)."""
    if ev is None:
        return Proof("not_found", "no evidence row", None, None)
    batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
    if (
        ev.status in (EvidenceStatus.QUEUED.value, EvidenceStatus.BATCHED.value)
        or batch is None
        or batch.block_number is None
    ):
        return Proof("pending", "accepted, waiting to be anchored", ev.public_id, None)
    anchor = _anchor_of(batch)
    status = chain.status()
    if not status.ok:
        return Proof("chain_mismatch", status.reason, ev.public_id, anchor)
    try:
        if batch.chain_id != chain.chain_id or not chain.honours(batch.contract):
            return Proof(
                "chain_mismatch",
                f"anchored on chain {batch.chain_id} contract {batch.contract}; this server "
                f"talks to chain {chain.chain_id} contract {chain.contract}",
                ev.public_id,
                anchor,
            )
        proof = proof_of(session, ev, batch, trees=trees_of(chain))
        registry = chain.registry_at(batch.contract)
        if registry.verify(batch.signer, batch.root, ev.leaf_hash, proof):
            return Proof("anchored", None, ev.public_id, anchor)
        if registry.is_included(batch.signer, batch.root, ev.leaf_hash, proof):
            return Proof("revoked", "revoked on chain", ev.public_id, anchor)
    except ChainError as exc:  # unreachable node, mismatch found mid-way: never "anchored"
        return Proof("chain_mismatch", exc.message, ev.public_id, anchor)
    return Proof(
        "chain_mismatch",
        f"the index records root {batch.root} in block {batch.block_number}, but the chain "
        "does not hold it: the chain was reset or rolled back",
        ev.public_id,
        anchor,
    )
