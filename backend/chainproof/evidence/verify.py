"""Verification verdicts: anchored | pending | not_found | revoked | chain_mismatch.

The index says where to look; the chain decides. An "anchored" verdict is only given when
the registry's ``verify(root, leaf, proof)`` rule holds on the chain the server talks to, and
only when that chain is the one the batch was anchored on (invariant 6).

The rule is evaluated by ``EvidenceRegistryClient.verify_fast``: the root's on-chain state
(anchored, revoked, revoked leaves) is read at most once a second per root and the Merkle
proof is checked here, so a verify storm does not cost one node round trip per request. A
revocation or rollback by anyone else is therefore seen within ``ROOT_STATE_TTL`` (1 s),
the same bound as the chain status check; this server's own revocations at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.digests import to_hex
from chainproof.errors import ChainError, ChainMismatchError
from chainproof.evidence.proofs import proof_of
from chainproof.store.models import Batch, Evidence, EvidenceStatus, Member

Verdict = Literal["anchored", "pending", "not_found", "revoked", "chain_mismatch"]


@dataclass(frozen=True)
class Viewer:
    """Who asks: members see their own records' metadata; everyone sees verdict + chain data."""

    member_id: int | None = None
    is_admin: bool = False

    def may_see(self, ev: Evidence) -> bool:
        return self.is_admin or (self.member_id is not None and ev.member_id == self.member_id)


ANONYMOUS = Viewer()


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _member_name(session: Session, member_id: int | None) -> str | None:
    if member_id is None:
        return None
    m = session.get(Member, member_id)
    return m.name if m else None


def evidence_view(
    session: Session, ev: Evidence, batch: Batch | None, viewer: Viewer
) -> dict[str, Any]:
    """The chain data of one evidence row, plus its metadata if the viewer may see it."""
    out: dict[str, Any] = {
        "algorithm": ev.algorithm,
        "digest": ev.digest,
        "status": ev.status,
        "member": _member_name(session, ev.member_id),
    }
    if batch is not None and batch.block_number is not None:
        out.update(
            root=batch.root,
            tx_hash=batch.tx_hash,
            block_number=batch.block_number,
            block_hash=batch.block_hash,
            block_timestamp=batch.block_timestamp,
            anchored_at=_iso(batch.block_timestamp),
            chain_id=batch.chain_id,
            contract=batch.contract,
            submitter=batch.signer,
        )
    if viewer.may_see(ev):
        out.update(
            evidence_id=ev.id,
            label=ev.label,
            filename=ev.filename,
            size=ev.size,
            created_at=ev.created_at.isoformat(),
            revoke_reason=ev.revoke_reason,
        )
    return out


def verify_digest(
    *,
    session: Session,
    chain: ChainContext,
    algorithm: str,
    digest: bytes,
    viewer: Viewer = ANONYMOUS,
) -> dict[str, Any]:
    digest_hex = to_hex(digest)
    rows = session.exec(
        select(Evidence)
        .where(Evidence.algorithm == algorithm, Evidence.digest == digest_hex)
        .order_by(col(Evidence.id))
    ).all()
    base: dict[str, Any] = {"algorithm": algorithm, "digest": digest_hex, "matches": len(rows)}
    if not rows:
        return {**base, "verdict": "not_found", "reason": "no evidence with this digest"}

    anchored = [r for r in rows if r.status == EvidenceStatus.ANCHORED.value]
    revoked = [r for r in rows if r.status == EvidenceStatus.REVOKED.value]
    if not anchored and not revoked:
        ev = rows[0]
        return {
            **base,
            **evidence_view(session, ev, None, viewer),
            "verdict": "pending",
            "reason": "accepted, waiting to be anchored",
        }

    status = chain.status()
    if not status.ok and status.code != "chain_mismatch":
        # Unreachable is not a verdict about the document: answer 503, try again later.
        raise ChainError(status.reason or "the chain node is unreachable")
    if not status.ok:
        return {
            **base,
            "verdict": "chain_mismatch",
            "reason": status.reason,
        }

    # The earliest anchor proves the earliest existence: check candidates in that order.
    candidates = sorted(
        anchored + revoked,
        key=lambda r: (
            r.status != EvidenceStatus.ANCHORED.value,
            r.anchored_at or r.created_at,
            r.id,
        ),
    )
    try:
        return _verify_candidates(session, chain, candidates, base, viewer)
    except ChainMismatchError as exc:
        return {**base, "verdict": "chain_mismatch", "reason": exc.message}


def _verify_candidates(
    session: Session,
    chain: ChainContext,
    candidates: list[Evidence],
    base: dict[str, Any],
    viewer: Viewer,
) -> dict[str, Any]:
    last_problem: dict[str, Any] | None = None
    for ev in candidates:
        batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
        if batch is None or batch.block_number is None:
            continue
        view = evidence_view(session, ev, batch, viewer)
        if batch.chain_id != chain.chain_id or batch.contract.lower() != chain.contract.lower():
            last_problem = {
                **base,
                **view,
                "verdict": "chain_mismatch",
                "reason": (
                    f"anchored on chain {batch.chain_id} contract {batch.contract}; this server "
                    f"talks to chain {chain.chain_id} contract {chain.contract}"
                ),
            }
            continue
        proof = proof_of(session, ev, batch)
        if chain.registry.verify_fast(batch.root, ev.leaf_hash, proof):
            return {**base, **view, "verdict": "anchored", "reason": None}
        if chain.registry.is_included(batch.root, ev.leaf_hash, proof):
            anchor = chain.registry.get_anchor(batch.root)
            what = "the whole batch" if anchor and anchor.revoked else "this document"
            last_problem = {
                **base,
                **view,
                "verdict": "revoked",
                "reason": f"{what} was revoked on chain"
                + (f": {ev.revoke_reason}" if ev.revoke_reason and viewer.may_see(ev) else ""),
            }
            continue
        last_problem = last_problem or {
            **base,
            "verdict": "chain_mismatch",
            "reason": (
                f"the index records root {batch.root} in block {batch.block_number}, but the "
                "chain does not hold it: the chain was reset or rolled back"
            ),
        }
    return last_problem or {**base, "verdict": "pending", "reason": "waiting for its batch"}
