"""Verification verdicts: anchored | pending | not_found | revoked | chain_mismatch.

The index says where to look; the chain decides. An "anchored" verdict is only given when
the registry's ``verify(root, leaf, proof)`` rule holds on the chain the server talks to, and
only when that chain is the one the batch was anchored on (docs/architecture.md, promise 6).

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
from typing import Any, Final, NamedTuple, Required, TypedDict

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from chainproof.chain.context import ChainContext
from chainproof.chain.endpoints import pool_of, quorum_check
from chainproof.digests import to_hex
from chainproof.errors import ChainError, ChainMismatchError, WouldBlock
from chainproof.evidence.proofs import leaf_proof, trees_of
from chainproof.evidence.roots import root_states
from chainproof.receipts import Receipt
from chainproof.store.models import Batch, Evidence, EvidenceStatus, Member
from chainproof.subsidy.models import Document, Manifest, Transition


@dataclass(frozen=True)
class Viewer:
    """Who asks. Everyone learns a record's status; its private fields (digest, member,
    chain data, salt, label, dates) go to the submitting member, admins, and reviewers of
    a subsidy application the record is a document of (docs/security.md, "Who sees what")."""

    member_id: int | None = None
    is_admin: bool = False
    is_reviewer: bool = False
    is_auditor: bool = False  # reads every record (issue 25), changes none

    def owns(self, member_id: int | None) -> bool:
        """The submitting member or an admin: who may also revoke."""
        return self.is_admin or (self.member_id is not None and member_id == self.member_id)


ANONYMOUS = Viewer()
# The operator's own tools (reindex checks, CLI maintenance, tests): sees every record.
OPERATOR = Viewer(is_admin=True)

_DOCUMENT: Final[Table] = Document.__table__  # type: ignore[attr-defined]
_MANIFEST: Final[Table] = Manifest.__table__  # type: ignore[attr-defined]
_TRANSITION: Final[Table] = Transition.__table__  # type: ignore[attr-defined]
# A record of an application: one of its documents (by row), or its frozen manifests and
# its anchored lifecycle trail (by the digest they were anchored under).
_IN_APPLICATION: Final = (
    sa_select(_DOCUMENT.c.id)
    .where(_DOCUMENT.c.evidence_id == bindparam("evidence_id"))
    .union_all(
        sa_select(_MANIFEST.c.id).where(_MANIFEST.c.digest == bindparam("digest")),
        sa_select(_TRANSITION.c.id).where(_TRANSITION.c.record_hash == bindparam("digest")),
    )
    .limit(1)
)


def may_see_private(
    db: Session | Connection,
    viewer: Viewer,
    *,
    evidence_id: int,
    member_id: int | None,
    digest: str,
    channel_id: int | None = None,
) -> bool:
    """Whether ``viewer`` sees the private fields of evidence ``evidence_id``: its member,
    an admin, or a reviewer when the record belongs to a subsidy application (a document,
    a manifest or a step of its trail; every reviewer reviews every application,
    subsidy/access.py)."""
    if viewer.owns(member_id) or viewer.is_auditor:
        return True
    if channel_id is not None and viewer.member_id is not None:
        from chainproof.channels.service import is_member  # channels import the ORM models

        if is_member(db, channel_id, viewer.member_id):
            return True
    if not viewer.is_reviewer:
        return False
    found = db.execute(_IN_APPLICATION, {"evidence_id": evidence_id, "digest": digest}).first()
    return found is not None


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


class _Found(NamedTuple):
    """One evidence row with its batch's chain data and its member's name: the columns
    the verdict needs, read in one query (no ORM objects on the verify hot path)."""

    id: int
    public_id: str
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
                "public_id",
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


class AnchorFields(TypedDict, total=False):
    """Where and when a digest's batch was anchored (``anchor`` of a record or a verdict).
    :func:`anchor_fields` sets every key; ``total=False`` lets a record's view carry them
    only once the record is anchored (``RecordView``)."""

    root: str
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    anchored_at: str | None
    chain_id: int | None
    contract: str | None
    submitter: str | None


def anchor_fields(src: Any) -> AnchorFields:
    """The anchor keys of a verdict or a record, from a ``Batch`` or a looked-up row (same
    attribute names): one list, so the record's view and the verdict cannot drift apart."""
    return AnchorFields(
        root=src.root,
        tx_hash=src.tx_hash,
        block_number=src.block_number,
        block_hash=src.block_hash,
        block_timestamp=src.block_timestamp,
        anchored_at=_iso(src.block_timestamp),
        chain_id=src.chain_id,
        contract=src.contract,
        submitter=src.signer,
    )


class RecordView(AnchorFields, total=False):
    """What a viewer may know of a record beyond the verdict (``_view``): the status alone
    for a stranger; the rest for those who may see the record (the anchor's fields once it
    is anchored)."""

    status: str
    member: str | None
    evidence_id: str
    label: str | None
    filename: str | None
    size: int | None
    created_at: str
    revoke_reason: str | None


class _Asked(TypedDict):
    algorithm: str
    digest: str
    matches: int  # how many records hold the digest


class _Said(TypedDict, total=False):
    verdict: Required[str]  # anchored, pending, revoked, not_found, chain_mismatch
    reason: Required[str | None]
    endpoints: dict[str, int]  # with a quorum: how many endpoints were asked, agreed


class DigestVerdict(_Asked, RecordView, _Said):
    """The verdict on a digest (:func:`verify_digest`): what was asked, what the viewer may
    see of the record, and what is said of it (``VerdictOut`` in the API)."""


def _view(
    db: Session | Connection, r: _Found, viewer: Viewer, digest: str, *, with_chain: bool
) -> RecordView:
    """What ``viewer`` may know of a looked-up row beyond the verdict. A stranger gets the
    status alone: the member, the chain data (whose transaction names the submitting
    account) and the time would answer "which org anchored this file, and when" for any
    file one can guess; and without the salt, which only the receipt holds, nobody could
    check the leaf on chain with them anyway."""
    out: RecordView = {"status": r.status}
    if not may_see_private(db, viewer, evidence_id=r.id, member_id=r.member_id, digest=digest):
        return out
    out["member"] = r.member
    if with_chain and r.block_number is not None:
        out.update(anchor_fields(r))
    out["evidence_id"] = r.public_id
    out["label"] = r.label
    out["filename"] = r.filename
    out["size"] = r.size
    out["created_at"] = r.created_at.isoformat()
    out["revoke_reason"] = r.revoke_reason
    return out


def verify_digest(
    *,
    db: Session | Connection,
    chain: ChainContext,
    algorithm: str,
    digest: bytes,
    viewer: Viewer = ANONYMOUS,
    may_block: bool = True,
) -> DigestVerdict:
    """The verdict on ``digest``. ``may_block=False`` is for a caller on an event loop: the
    answer then comes only from the database and what is cached in memory (chain status,
    root states, trees), and anything that would wait for the node or read a tree raises
    ``WouldBlock`` before an answer is given, so the caller asks again from a thread."""
    digest_hex = to_hex(digest)
    rows = [
        _Found._make(row)
        for row in db.execute(_LOOKUP, {"algorithm": algorithm, "digest": digest_hex})
    ]
    base: _Asked = {"algorithm": algorithm, "digest": digest_hex, "matches": len(rows)}
    if not rows:
        return {**base, "verdict": "not_found", "reason": "no evidence with this digest"}

    anchored = [r for r in rows if r.status == EvidenceStatus.ANCHORED.value]
    revoked = [r for r in rows if r.status == EvidenceStatus.REVOKED.value]
    if not anchored and not revoked:
        return {
            **base,
            **_view(db, rows[0], viewer, digest_hex, with_chain=False),
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
    return chain.registry_at(ev.contract or "").verify(submitter, root, leaf, proof)


def _anchored_here(chain: ChainContext, ev: _Found) -> bool:
    """Anchored on this chain, on the current registry, one still honoured, or a virtual
    channel's own (docs/channels.md)."""
    return ev.chain_id == chain.chain_id and chain.honours(ev.contract or "")


def _agreed(chain: ChainContext, ev: _Found, *, may_block: bool) -> _Said:
    """The anchored verdict, unless the endpoints' quorum (CHAINPROOF_VERIFY_QUORUM) does not
    agree on the anchoring block's hash: then the chain is in dispute and nothing is said to
    be anchored (invariant 6). With a quorum, ``endpoints`` says how many agreed."""
    pool = pool_of(chain.node)
    if pool is None or pool.quorum <= 0 or not ev.block_hash:
        return {"verdict": "anchored", "reason": None}
    if not may_block:
        raise WouldBlock("the endpoints are asked for the anchoring block")
    counts, enough = quorum_check(chain.node, int(ev.block_number or 0), ev.block_hash)
    if enough:
        said: _Said = {"verdict": "anchored", "reason": None}
        if counts:
            said["endpoints"] = counts
        return said
    return {
        "verdict": "chain_mismatch",
        "reason": (
            f"only {counts['agreed']} of {counts['asked']} JSON-RPC endpoints report the "
            f"anchoring block's hash; {counts['required']} must agree"
        ),
        "endpoints": counts,
    }


def _verify_candidates(
    db: Session | Connection,
    chain: ChainContext,
    candidates: list[_Found],
    base: _Asked,
    viewer: Viewer,
    *,
    may_block: bool,
) -> DigestVerdict:
    last_problem: DigestVerdict | None = None
    for ev in candidates:
        if ev.batch_id is None or ev.root is None or ev.block_number is None:
            continue
        view = _view(db, ev, viewer, base["digest"], with_chain=True)
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
            trees=trees_of(chain),
            may_block=may_block,
        )
        if _holds(chain, ev, ev.root, ev.leaf_hash, proof, may_block=may_block):
            return {**base, **view, **_agreed(chain, ev, may_block=may_block)}
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
                + (f": {ev.revoke_reason}" if ev.revoke_reason and "revoke_reason" in view else ""),
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


class HolderView(TypedDict, total=False):
    """The record a receipt's holder is shown (``ReceiptVerdictOut``'s extra fields)."""

    evidence_id: str  # the record's public id
    member: str | None


def receipt_holder_view(*, session: Session, receipt: Receipt) -> HolderView:
    """What the holder of ``receipt`` learns beyond the chain checks: the record's public id
    and member, when the receipt's algorithm, digest and salt are a record's here. The salt
    is the secret (only receipts carry it; strangers never see it), so presenting it is
    what proves one holds the receipt. Empty when no record matches."""
    row = session.execute(
        sa_select(_EV.c.public_id, _MEMBER.c.name)
        .select_from(_EV.outerjoin(_MEMBER, _MEMBER.c.id == _EV.c.member_id))
        .where(
            _EV.c.algorithm == receipt.algorithm,
            _EV.c.digest == receipt.digest.lower(),
            _EV.c.salt == receipt.salt.lower(),
        )
        .limit(1)
    ).first()
    if row is None:
        return {}
    return {"evidence_id": row[0], "member": row[1]}
