"""Verification verdicts: anchored | pending | not_found | revoked | chain_mismatch.

The index says where to look; the chain decides. An "anchored" verdict is only given when
the registry's ``verify(root, leaf, proof)`` rule holds on the chain the server talks to, and
only when that chain is the one the batch was anchored on (invariant 6).

The rule is evaluated by ``roots.RootStates.holds``, the registry's own rule: the root's
on-chain state (anchored, revoked, revoked leaves) is read at most once a second, for all
the roots being verified together, and the Merkle proof is checked here, so a verify storm
does not cost one node round trip per request. A revocation or rollback by anyone else is
therefore seen within ``ROOT_STATE_TTL`` (1 s), the same bound as the chain status check;
this server's own revocations at once.

The hot path reads one row per match (evidence, its batch, its member: one query) into
plain tuples, no ORM objects. The API's verify route runs it on the event loop with
``may_block=False`` (answers from the database and memory only, ``WouldBlock`` otherwise)
and asks again from a worker thread when that raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, NamedTuple

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from chainproof.chain.context import ChainContext
from chainproof.digests import to_hex
from chainproof.errors import ChainError, ChainMismatchError, WouldBlock
from chainproof.evidence.proofs import leaf_proof
from chainproof.evidence.roots import root_states
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
        out.update(_anchor_fields(batch))
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


class _Found(NamedTuple):
    """One evidence row with its batch's chain data and its member's name: the columns
    the verdict needs, read in one query (no ORM objects on the verify hot path)."""

    id: int
    member_id: int | None
    status: str
    batch_id: int | None
    leaf_hash: str
    proof: list[str] | None
    label: str | None
    filename: str | None
    size: int | None
    created_at: datetime
    anchored_at: datetime | None
    revoke_reason: str | None
    member: str | None
    root: str | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    chain_id: int | None
    contract: str | None
    signer: str | None


_EV: Final[Table] = Evidence.__table__  # type: ignore[attr-defined]
_BATCH: Final[Table] = Batch.__table__  # type: ignore[attr-defined]
_MEMBER: Final[Table] = Member.__table__  # type: ignore[attr-defined]
# One round trip instead of three (rows, then each row's batch, then its member), with the
# compiled statement cached by SQLAlchemy: this query is the whole database cost of a verify.
_LOOKUP: Final = (
    sa_select(
        *(
            _EV.c[name]
            for name in (
                "id",
                "member_id",
                "status",
                "batch_id",
                "leaf_hash",
                "proof",
                "label",
                "filename",
                "size",
                "created_at",
                "anchored_at",
                "revoke_reason",
            )
        ),
        _MEMBER.c.name,
        *(
            _BATCH.c[name]
            for name in (
                "root",
                "tx_hash",
                "block_number",
                "block_hash",
                "block_timestamp",
                "chain_id",
                "contract",
                "signer",
            )
        ),
    )
    .select_from(
        _EV.outerjoin(_MEMBER, _MEMBER.c.id == _EV.c.member_id).outerjoin(
            _BATCH, _BATCH.c.id == _EV.c.batch_id
        )
    )
    .where(_EV.c.algorithm == bindparam("algorithm"), _EV.c.digest == bindparam("digest"))
    .order_by(_EV.c.id)
)


def _may_see(viewer: Viewer, member_id: int | None) -> bool:
    """``Viewer.may_see`` for a looked-up row (it takes an ``Evidence``)."""
    return viewer.is_admin or (viewer.member_id is not None and member_id == viewer.member_id)


def _anchor_fields(src: Any) -> dict[str, Any]:
    """The anchor keys of a verdict, from a ``Batch`` or a looked-up row (same attribute
    names): one list, so the ORM view and the fast path cannot drift apart."""
    return {
        "root": src.root,
        "tx_hash": src.tx_hash,
        "block_number": src.block_number,
        "block_hash": src.block_hash,
        "block_timestamp": src.block_timestamp,
        "anchored_at": _iso(src.block_timestamp),
        "chain_id": src.chain_id,
        "contract": src.contract,
        "submitter": src.signer,
    }


def _view(r: _Found, viewer: Viewer, *, with_chain: bool) -> dict[str, Any]:
    """``evidence_view`` of a looked-up row: the same keys, from plain columns."""
    out: dict[str, Any] = {"status": r.status, "member": r.member}
    if with_chain and r.block_number is not None:
        out.update(_anchor_fields(r))
    if _may_see(viewer, r.member_id):
        out.update(
            evidence_id=r.id,
            label=r.label,
            filename=r.filename,
            size=r.size,
            created_at=r.created_at.isoformat(),
            revoke_reason=r.revoke_reason,
        )
    return out


def verify_digest(
    *,
    db: Session | Connection,
    chain: ChainContext,
    algorithm: str,
    digest: bytes,
    viewer: Viewer = ANONYMOUS,
    may_block: bool = True,
) -> dict[str, Any]:
    """The verdict on ``digest``. ``may_block=False`` is for a caller on an event loop: the
    answer then comes only from the database and what is cached in memory (chain status,
    root states, trees), and anything that would wait for the node or read a tree raises
    ``WouldBlock`` before an answer is given, so the caller asks again from a thread."""
    digest_hex = to_hex(digest)
    rows = [
        _Found._make(row)
        for row in db.execute(_LOOKUP, {"algorithm": algorithm, "digest": digest_hex})
    ]
    base: dict[str, Any] = {"algorithm": algorithm, "digest": digest_hex, "matches": len(rows)}
    if not rows:
        return {**base, "verdict": "not_found", "reason": "no evidence with this digest"}

    anchored = [r for r in rows if r.status == EvidenceStatus.ANCHORED.value]
    revoked = [r for r in rows if r.status == EvidenceStatus.REVOKED.value]
    if not anchored and not revoked:
        return {
            **base,
            **_view(rows[0], viewer, with_chain=False),
            "verdict": "pending",
            "reason": "accepted, waiting to be anchored",
        }

    status = chain.status(may_block=may_block)
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
        return _verify_candidates(db, chain, candidates, base, viewer, may_block=may_block)
    except ChainMismatchError as exc:
        return {**base, "verdict": "chain_mismatch", "reason": exc.message}


def _holds(
    chain: ChainContext,
    ev: _Found,
    root: str,
    leaf: str,
    proof: list[bytes],
    *,
    may_block: bool,
) -> bool:
    """The registry's verify for the batch's submitter (the signer), on the registry the
    batch was anchored on: the current one through the shared root states, an honoured
    past one (v1 after an upgrade) through its own client."""
    submitter = ev.signer or ""
    if (ev.contract or "").lower() == chain.contract.lower():
        return root_states(chain).holds(
            submitter, bytes.fromhex(root[2:]), bytes.fromhex(leaf[2:]), proof, may_block=may_block
        )
    if not may_block:
        raise WouldBlock("a past registry's state is read from the node")
    return chain.registry_at(ev.contract or "").verify_fast(submitter, root, leaf, proof)


def _anchored_here(chain: ChainContext, ev: _Found) -> bool:
    """Anchored on this chain, on the current registry or one still honoured."""
    if ev.chain_id != chain.chain_id:
        return False
    contract = (ev.contract or "").lower()
    return contract == chain.contract.lower() or any(
        d.address.lower() == contract for d in chain.honoured
    )


def _verify_candidates(
    db: Session | Connection,
    chain: ChainContext,
    candidates: list[_Found],
    base: dict[str, Any],
    viewer: Viewer,
    *,
    may_block: bool,
) -> dict[str, Any]:
    last_problem: dict[str, Any] | None = None
    for ev in candidates:
        if ev.batch_id is None or ev.root is None or ev.block_number is None:
            continue
        view = _view(ev, viewer, with_chain=True)
        if not _anchored_here(chain, ev):
            last_problem = {
                **base,
                **view,
                "verdict": "chain_mismatch",
                "reason": (
                    f"anchored on chain {ev.chain_id} contract {ev.contract}; this server "
                    f"talks to chain {chain.chain_id} contract {chain.contract}"
                ),
            }
            continue
        proof = leaf_proof(
            db,
            evidence_id=ev.id,
            stored=ev.proof,
            leaf_hash=ev.leaf_hash,
            batch_id=ev.batch_id,
            root=ev.root,
            may_block=may_block,
        )
        if _holds(chain, ev, ev.root, ev.leaf_hash, proof, may_block=may_block):
            return {**base, **view, "verdict": "anchored", "reason": None}
        if not may_block:
            raise WouldBlock("telling revoked from rolled back asks the node")
        registry = chain.registry_at(ev.contract or "")
        if registry.is_included(ev.signer or "", ev.root, ev.leaf_hash, proof):
            anchor = registry.get_anchor(ev.signer or "", ev.root)
            what = "the whole batch" if anchor and anchor.revoked else "this document"
            last_problem = {
                **base,
                **view,
                "verdict": "revoked",
                "reason": f"{what} was revoked on chain"
                + (
                    f": {ev.revoke_reason}"
                    if ev.revoke_reason and _may_see(viewer, ev.member_id)
                    else ""
                ),
            }
            continue
        last_problem = last_problem or {
            **base,
            "verdict": "chain_mismatch",
            "reason": (
                f"the index records root {ev.root} in block {ev.block_number}, but the "
                "chain does not hold it: the chain was reset or rolled back"
            ),
        }
    return last_problem or {**base, "verdict": "pending", "reason": "waiting for its batch"}
