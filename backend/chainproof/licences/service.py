"""Issuing e-licences and changing their status; checking a credential or presentation.

Who may do what: an admin gives a member org the ``licence_issuer`` role
(:func:`designate`); that org's submitters define licence types and issue, suspend,
reinstate, revoke and renew its licences. Another org's licence is the 404 of a licence
nobody issued: an org never learns of, nor changes, another org's licences.

On chain (``docs/licences.md``): the claims root of every licence is anchored as evidence of
the issuer org through the regular intake, signed by the same custodial key that signs the
credential (so the anchor's submitter is the credential's issuer). Each status change is a
canonical record (licence, sequence, action, SHA-256 of the reason, the previous record's
digest) whose SHA-256 is anchored the same way: the history is on chain, with reason
hashes. A revocation also revokes the root's leaf in the evidence registry (the chain
writer, signed by the issuer's key), so a verifier holding only a JSON-RPC node and the
pinned trust anchor reads "revoked" from the chain itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_
from sqlmodel import Session, col, select

from chainproof import identity
from chainproof.chain.context import ChainContext
from chainproof.channels import service as channels
from chainproof.digests import parse_hex, to_hex
from chainproof.errors import AuthError, ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence import intake
from chainproof.evidence.service import build_receipt, revoke_evidence
from chainproof.evidence.verify import OPERATOR, Viewer
from chainproof.licences import credential as vc
from chainproof.licences.models import Licence, LicenceEvent, LicenceIssuer, LicenceType
from chainproof.licences.status import (
    ChainStatus,
    read_credential_status,
    record_digest,
    status_record,
)
from chainproof.public_ids import new_public_id
from chainproof.receipts import Receipt, ReceiptVerdict
from chainproof.store.lookup import by_public_id
from chainproof.store.models import Evidence, EvidenceStatus, Member

ACTIVE: Final = "active"
SUSPENDED: Final = "suspended"
REVOKED: Final = "revoked"
SUPERSEDED: Final = "superseded"
# action → (statuses it applies to, the status it leads to)
TRANSITIONS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "suspend": (frozenset({ACTIVE}), SUSPENDED),
    "reinstate": (frozenset({SUSPENDED}), ACTIVE),
    "revoke": (frozenset({ACTIVE, SUSPENDED}), REVOKED),
}
MAX_REASON: Final = 500
MAX_FIELDS: Final = vc.MAX_CLAIMS


def designate(*, session: Session, org: str, secret: str) -> Member:
    """Gives ``org`` the licence_issuer role (admin), with the custodial chain key it signs
    with; idempotent."""
    member = identity.get_member(session=session, name=org)
    identity.ensure_member_chain_key(session=session, member=member, secret=secret)
    if session.get(LicenceIssuer, member.id) is None:
        session.add(LicenceIssuer(member_id=member.id or 0))
        session.commit()
    return member


def _issuer(session: Session, member_id: int | None) -> Member:
    member = session.get(Member, member_id) if member_id is not None else None
    if member is None or session.get(LicenceIssuer, member.id) is None:
        raise AuthError("only an org with the licence_issuer role issues licences")
    return member


def create_type(
    *,
    session: Session,
    member_id: int | None,
    code: str,
    name: str,
    fields: list[str],
    validity_days: int,
) -> LicenceType:
    member = _issuer(session, member_id)
    if not 1 <= len(fields) <= MAX_FIELDS or len(set(fields)) != len(fields):
        raise InvalidInputError(f"a licence type has 1 to {MAX_FIELDS} distinct fields")
    if not 1 <= validity_days <= 100 * 366:
        raise InvalidInputError("validity_days must be 1 to 36600")
    found = session.exec(
        select(LicenceType).where(
            LicenceType.issuer_member_id == member.id, LicenceType.code == code
        )
    ).first()
    if found is not None:
        raise ConflictError(f"licence type {code!r} exists already")
    row = LicenceType(
        issuer_member_id=member.id or 0,
        code=code,
        name=name,
        fields=list(fields),
        validity_days=validity_days,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def issue(
    *,
    session: Session,
    chain_id: int,
    secret: str,
    member_id: int | None,
    type_code: str,
    holder: str,
    claims: Mapping[str, str],
    valid_from: datetime | None = None,
    supersedes: Licence | None = None,
    holder_org: str | None = None,
    channel_id: int | None = None,
) -> Licence:
    """Signs a new licence with the issuer org's custodial key and queues its root.
    ``holder_org``: the holder's org on this platform, whose people then see the licence;
    ``channel_id``: a channel whose members read it too (issue 25)."""
    member = _issuer(session, member_id)
    holder_member = None
    if holder_org:
        try:
            holder_member = identity.get_member(session=session, name=holder_org)
        except NotFoundError:
            raise InvalidInputError(f"no org called {holder_org!r} to hold the licence") from None
    ltype = session.exec(
        select(LicenceType).where(
            LicenceType.issuer_member_id == member.id, LicenceType.code == type_code
        )
    ).first()
    if ltype is None:
        raise NotFoundError(f"no licence type {type_code!r} of this issuer")
    if set(claims) != set(ltype.fields):
        raise InvalidInputError(
            f"a {ltype.code} licence has exactly the fields {', '.join(ltype.fields)}"
        )
    if not holder.strip():
        raise InvalidInputError("a licence needs a holder")
    start = (valid_from or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    end = start + timedelta(days=ltype.validity_days)
    identity.ensure_member_chain_key(session=session, member=member, secret=secret)
    account = identity.member_account(session=session, member=member, secret=secret)
    public_id = new_public_id()
    document = vc.issue(
        issuer=account,
        chain_id=chain_id,
        licence_id=f"urn:uuid:{public_id}",
        licence_type=ltype.code,
        claims={name: claims[name] for name in ltype.fields},
        valid_from=start,
        valid_until=end,
        status={
            "id": f"/api/v1/licences/{public_id}/public",
            "type": "ChainProofLicenceStatus",
        },
    )
    root = document["credentialSubject"]["claimsRoot"]
    licence = Licence(
        public_id=public_id,
        type_id=ltype.id or 0,
        issuer_member_id=member.id or 0,
        holder=holder.strip(),
        holder_member_id=holder_member.id if holder_member else None,
        credential=document,
        claims_root=root,
        status=ACTIVE,
        valid_from=start,
        valid_until=end,
        channel_id=channel_id if supersedes is None else supersedes.channel_id,
    )
    session.add(licence)
    if supersedes is not None:
        supersedes.status = SUPERSEDED
        supersedes.superseded_by = public_id
        session.add(supersedes)
    session.flush()
    digests = [parse_hex(root)]
    events = [_event(session, licence, "issue", "", digests)]
    if supersedes is not None:
        events.append(_event(session, supersedes, "renew", f"renewed as {public_id}", digests))
    session.add_all(events)
    return _queue(session, licence, digests, member_id=member.id, label=f"licence {public_id}")


def _queue(
    session: Session, licence: Licence, digests: list[bytes], *, member_id: int | None, label: str
) -> Licence:
    """Queues the anchoring of ``digests`` in the caller's commit (the licence, its events and
    their anchors' queue rows go together, invariant 4); ``licence`` as stored."""
    intake.submit_digests(
        session=session,
        algorithm="sha256",
        digests=digests,
        member_id=member_id,
        label=label,
        channel_id=licence.channel_id,  # its status records follow the licence's channel
    )
    session.refresh(licence)
    return licence


def _event(
    session: Session, licence: Licence, action: str, reason: str, digests: list[bytes]
) -> LicenceEvent:
    """The next status record of ``licence``; its digest joins ``digests`` to be queued."""
    last = session.exec(
        select(LicenceEvent)
        .where(LicenceEvent.licence_id == licence.id)
        .order_by(col(LicenceEvent.seq).desc())
    ).first()
    seq = last.seq + 1 if last else 0
    reason_hash = to_hex(hashlib.sha256(reason.encode("utf-8")).digest())
    record = status_record(
        licence=licence.public_id,
        seq=seq,
        action=action,
        reason_hash=reason_hash,
        prev=last.record_digest if last else None,
        claims_root=licence.claims_root,
    )
    digest = record_digest(record)
    digests.append(digest)
    return LicenceEvent(
        licence_id=licence.id or 0,
        seq=seq,
        action=action,
        reason_hash=reason_hash,
        record_digest=to_hex(digest),
    )


def owned(*, session: Session, licence_id: str, viewer: Viewer) -> Licence:
    row = by_public_id(session, Licence, licence_id)
    if row is None or not viewer.owns(row.issuer_member_id):
        raise NotFoundError(f"no licence with id {licence_id!r}")
    return row


def readable(*, session: Session, licence_id: str, viewer: Viewer) -> Licence:
    """The licence for its issuer org, admins, auditors and its channel's members (issue
    25); anyone else gets :func:`owned`'s 404. Only the issuer (``owned``) changes it."""
    row = by_public_id(session, Licence, licence_id)
    if row is None or not channels.may_read(
        session, viewer, member_id=row.issuer_member_id, channel_id=row.channel_id
    ):
        raise NotFoundError(f"no licence with id {licence_id!r}")
    return row


def change_status(
    *,
    session: Session,
    chain: ChainContext,
    licence: Licence,
    action: str,
    reason: str,
) -> Licence:
    """Suspends, reinstates or revokes (the issuer's, checked by :func:`owned`)."""
    if action not in TRANSITIONS:
        raise InvalidInputError(f"unknown action {action!r}: one of {', '.join(TRANSITIONS)}")
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInputError(f"a reason of 1 to {MAX_REASON} characters is required")
    allowed, to = TRANSITIONS[action]
    if licence.status not in allowed:
        raise ConflictError(f"a {licence.status} licence cannot be {action}d")
    current = _current_record(session, licence)
    root_evidence = _root_evidence(session, licence) if action == "revoke" else None
    if action == "revoke" and (
        root_evidence is None or root_evidence.status != EvidenceStatus.ANCHORED.value
    ):
        raise ConflictError("the licence's root is not anchored yet; revoke it once it is")
    if root_evidence is not None:
        # The licence's own leaf too, by the issuer's key: "revoked" for any verifier holding
        # the root's receipt, even one never shown a status record.
        revoke_evidence(
            session=session,
            chain=chain,
            evidence_id=root_evidence.public_id,
            viewer=OPERATOR,
            reason=reason,
        )
    _retire(session, chain, current, reason)
    digests: list[bytes] = []
    session.add(_event(session, licence, action, reason, digests))
    licence.status = to
    session.add(licence)
    return _queue(
        session,
        licence,
        digests,
        member_id=licence.issuer_member_id,
        label=f"licence {licence.public_id} {action}",
    )


def renew(
    *,
    session: Session,
    chain: ChainContext,
    secret: str,
    licence: Licence,
    valid_from: datetime | None,
) -> Licence:
    """A new licence with the same type, holder and claims; the old one is superseded."""
    if licence.status != ACTIVE:
        raise ConflictError(f"a {licence.status} licence cannot be renewed")
    ltype = session.get(LicenceType, licence.type_id)
    assert ltype is not None
    claims = {
        name: str(c["value"])
        for name, c in licence.credential["credentialSubject"]["claims"].items()
    }
    _retire(session, chain, _current_record(session, licence), "renewed")
    return issue(
        session=session,
        chain_id=chain.chain_id,
        secret=secret,
        member_id=licence.issuer_member_id,
        type_code=ltype.code,
        holder=licence.holder,
        claims=claims,
        valid_from=valid_from,
        supersedes=licence,
        holder_org=_holder_org(session, licence),
    )


def _holder_org(session: Session, licence: Licence) -> str | None:
    holder = session.get(Member, licence.holder_member_id) if licence.holder_member_id else None
    return holder.name if holder else None


def _current_record(session: Session, licence: Licence) -> Evidence:
    """The evidence of the licence's last status record, which must be anchored: a change
    revokes it on chain, and only an anchored leaf can be revoked."""
    last = session.exec(
        select(LicenceEvent)
        .where(LicenceEvent.licence_id == licence.id)
        .order_by(col(LicenceEvent.seq).desc())
    ).first()
    found = _evidence_of(session, licence, last.record_digest) if last else None
    if found is None or found.status != EvidenceStatus.ANCHORED.value:
        raise ConflictError(
            "the licence's last status change is not on chain yet; change it again once it is"
        )
    return found


def _retire(session: Session, chain: ChainContext, current: Evidence, reason: str) -> None:
    """Revokes the current status record's leaf (the issuer's key, the reason's hash): from
    then on the chain shows anyone presenting it that the status changed since
    (``licences/status.py``). Queued before the next record, so a crash between the two
    leaves a licence no verifier calls valid, never two live records."""
    revoke_evidence(
        session=session, chain=chain, evidence_id=current.public_id, viewer=OPERATOR, reason=reason
    )


def _evidence_of(session: Session, licence: Licence, digest: str) -> Evidence | None:
    return session.exec(
        select(Evidence)
        .where(Evidence.digest == digest, Evidence.member_id == licence.issuer_member_id)
        .order_by(col(Evidence.id))
    ).first()


def _root_evidence(session: Session, licence: Licence) -> Evidence | None:
    return _evidence_of(session, licence, licence.claims_root)


_ON_CHAIN: Final = (EvidenceStatus.ANCHORED.value, EvidenceStatus.REVOKED.value)


def _receipt(session: Session, evidence: Evidence | None) -> dict[str, Any] | None:
    if evidence is None or evidence.status not in _ON_CHAIN:
        return None
    built = build_receipt(session=session, evidence_id=evidence.public_id, viewer=OPERATOR)
    return dict(json.loads(built.to_json(indent=None)))


def credential_status(
    session: Session, licence: Licence, events: list[LicenceEvent]
) -> dict[str, Any]:
    """``credentialStatus``: where the status is read, with the receipts that prove it on
    chain (not signed: filled in as the chain moves). ``receipt``: the claims root's;
    ``statusRecord`` / ``statusReceipt``: the latest status record on chain and its receipt
    (``licences/status.py``); a verifier checks them against its node and pinned anchor."""
    root = _root_evidence(session, licence)
    out: dict[str, Any] = {
        **licence.credential.get("credentialStatus", {}),
        "id": f"/api/v1/licences/{licence.public_id}/public",
        "type": "ChainProofLicenceStatus",
    }
    receipt = _receipt(session, root)
    if root is not None and receipt is not None:
        out.update(evidenceId=root.public_id, receipt=receipt)
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        record_receipt = _receipt(session, _evidence_of(session, licence, event.record_digest))
        if record_receipt is None:
            continue
        out["statusRecord"] = status_record(
            licence=licence.public_id,
            seq=event.seq,
            action=event.action,
            reason_hash=event.reason_hash,
            prev=events[i - 1].record_digest if i else None,
            claims_root=licence.claims_root,
        )
        out["statusReceipt"] = record_receipt
        break
    return out


def _events(session: Session, licence: Licence) -> list[LicenceEvent]:
    return list(
        session.exec(
            select(LicenceEvent)
            .where(LicenceEvent.licence_id == licence.id)
            .order_by(col(LicenceEvent.seq))
        ).all()
    )


def public_status(*, session: Session, licence_id: str) -> dict[str, Any]:
    """``GET /api/v1/licences/{id}/public`` (anyone): the credential without its claims
    (no value, salt or name), with its ``credentialStatus``. What a verifier needs besides
    the claims a holder shows it; it proves nothing by itself, every part is checked."""
    row = by_public_id(session, Licence, licence_id)
    if row is None:
        raise NotFoundError(f"no licence with id {licence_id!r}")
    document = dict(row.credential)
    document["credentialSubject"] = {**document["credentialSubject"], "claims": {}}
    document["credentialStatus"] = credential_status(session, row, _events(session, row))
    return {"id": row.public_id, "credential": document}


def public(session: Session, licence: Licence) -> dict[str, Any]:
    """The issuer's view: the credential (every claim, for the holder), status, history."""
    events = _events(session, licence)
    root = _root_evidence(session, licence)
    document = dict(licence.credential)
    document["credentialStatus"] = credential_status(session, licence, events)
    return {
        "id": licence.public_id,
        "holder": licence.holder,
        "holder_org": _holder_org(session, licence),
        "status": licence.status,
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat(),
        "superseded_by": licence.superseded_by,
        "root_evidence_id": root.public_id if root else None,
        "anchored": bool(root and root.status == EvidenceStatus.ANCHORED.value),
        # The latest status change is on chain (the next change needs it there).
        "status_anchored": document["credentialStatus"].get("statusRecord", {}).get("seq")
        == (events[-1].seq if events else None),
        "credential": document,
        "history": [
            {
                "seq": e.seq,
                "action": e.action,
                "reason_hash": e.reason_hash,
                "record_digest": e.record_digest,
                "at": e.created_at.isoformat(),
            }
            for e in events
        ],
    }


def by_holder(*, session: Session, viewer: Viewer, holder: str) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Licence)
        .where(
            Licence.holder == holder,
            or_(
                col(Licence.issuer_member_id) == viewer.member_id,
                col(Licence.channel_id).in_(channels.channel_ids_of(viewer.member_id)),
            ),
        )
        .order_by(col(Licence.id))
        .limit(200)
    ).all()
    return [
        {"id": r.public_id, "status": r.status, "valid_until": r.valid_until.isoformat()}
        for r in rows
    ]


def issuer_list(session: Session, chain_id: int) -> list[dict[str, str]]:
    """The issuer orgs this server knows, their DIDs and names (the page prefills them for
    the reader to compare with what they pinned out of band, like the trust anchor)."""
    rows = session.exec(
        select(Member)
        .join(LicenceIssuer, col(LicenceIssuer.member_id) == col(Member.id))
        .order_by(col(Member.id))
    ).all()
    return [
        {"did": vc.did_pkh(chain_id, m.chain_address), "org": m.name}
        for m in rows
        if m.chain_address
    ]


def trusted_issuers(session: Session, chain_id: int) -> set[str]:
    """The DIDs of the orgs with the licence_issuer role and a chain key, on this chain."""
    rows = session.exec(
        select(Member).join(LicenceIssuer, col(LicenceIssuer.member_id) == col(Member.id))
    ).all()
    return {vc.did_pkh(chain_id, m.chain_address) for m in rows if m.chain_address}


def verify(
    *,
    session: Session,
    chain_id: int,
    document: Mapping[str, Any],
    verify_receipt: Callable[[Receipt], ReceiptVerdict],
) -> dict[str, Any]:
    """``POST /api/v1/licences/verify``: the credential's checks; its anchoring and status
    read from the chain (``verify_receipt``: this server's node against its own trust
    anchor), from the receipts of the licence this server issued under the credential's id
    and root: never from this server's status column. A licence it did not issue is no
    trusted issuer's here, and costs no call to the node."""
    said: dict[str, ChainStatus] = {}

    def chain_status(credential: Mapping[str, Any]) -> ChainStatus:
        if not said:
            raw = str(credential.get("id", "")).removeprefix("urn:uuid:")
            row = by_public_id(session, Licence, raw)
            if row is None or row.claims_root != credential["credentialSubject"]["claimsRoot"]:
                # Not a licence this server issued: its issuer is none of ours, so it is
                # invalid whatever the chain says; an anonymous caller's receipts cost no
                # node calls.
                said["it"] = ChainStatus(False, "not issued here", "unknown", "not issued here")
                return said["it"]
            status = credential_status(session, row, _events(session, row))
            said["it"] = read_credential_status(credential, status, verify=verify_receipt)
        return said["it"]

    verdict = vc.check(
        document,
        trusted_issuers=trusted_issuers(session, chain_id),
        status=lambda credential: chain_status(credential).status,
        anchored=lambda _root: chain_status(vc.credential_of(document)).anchored,
    )
    return verdict.as_dict()
