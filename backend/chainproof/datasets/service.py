"""Registering data sets (their root queued as evidence), who may read one, grants
(each audited), manifests and one file's proof."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, delete, select

from chainproof.audit import log
from chainproof.datasets.manifest import MAX_FILES, FileEntry, file_proof, tree_of
from chainproof.datasets.models import DataGrant, DataResource
from chainproof.digests import to_hex
from chainproof.errors import AuthError, InvalidInputError, NotFoundError
from chainproof.evidence import intake
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import Viewer
from chainproof.store.lookup import by_public_id
from chainproof.store.models import Evidence, Member


def register(
    session: Session,
    who: log.Who,
    *,
    member_id: int | None,
    name: str,
    licence: str,
    entries: Sequence[FileEntry],
) -> DataResource:
    """A new data resource of ``member_id``'s org: the root is computed here from the
    manifest (never taken from the client) and queued as evidence (algorithm keccak256, the
    tree's hash). Audited."""
    if member_id is None:
        raise AuthError("a data set belongs to an org: use a member's key")
    if len(entries) > MAX_FILES:
        raise InvalidInputError(f"at most {MAX_FILES} files a data set, got {len(entries)}")
    ordered = sorted(entries)
    root = tree_of(ordered).root
    total = sum(e.size for e in ordered)
    if total >= 2**63:  # the column is a signed 64-bit integer
        raise InvalidInputError(f"the files add up to {total} bytes, past 2**63 - 1")
    resource = DataResource(
        name=name.strip(),
        licence=licence.strip(),
        owner_member_id=member_id,
        root=to_hex(root),
        file_count=len(ordered),
        total_bytes=total,
        manifest=[e.leaf() for e in ordered],
    )
    session.add(resource)
    [accepted] = intake.submit_digests(  # commits the resource with its evidence row
        session=session,
        algorithm="keccak256",
        digests=[root],
        member_id=member_id,
        label=f"data set {resource.name}"[:200],
    )
    resource.evidence_id = accepted.id
    session.add(resource)
    session.commit()
    session.refresh(resource)
    log.append(
        session,
        who,
        action="dataset.register",
        target=f"dataset:{resource.public_id}",
        detail={"name": resource.name, "root": resource.root, "files": resource.file_count},
    )
    return resource


def _granted(session: Session, resource: DataResource, member_id: int | None) -> bool:
    if member_id is None:
        return False
    found = session.exec(
        select(DataGrant.id).where(
            DataGrant.resource_id == resource.id, DataGrant.member_id == member_id
        )
    ).first()
    return found is not None


def readable(session: Session, resource_id: str, viewer: Viewer) -> DataResource:
    """The resource, for its owner org, orgs granted it, admins and auditors; for anyone
    else the 404 of an id nobody has."""
    resource = by_public_id(session, DataResource, resource_id)
    if resource is None or not (
        viewer.is_admin
        or viewer.is_auditor
        or viewer.member_id == resource.owner_member_id
        or _granted(session, resource, viewer.member_id)
    ):
        raise NotFoundError(f"no data resource with id {resource_id[:64]!r}")
    return resource


def visible(session: Session, viewer: Viewer) -> list[DataResource]:
    statement = select(DataResource).order_by(col(DataResource.id))
    if not (viewer.is_admin or viewer.is_auditor):
        granted = select(DataGrant.resource_id).where(DataGrant.member_id == viewer.member_id)
        statement = statement.where(
            or_(
                col(DataResource.owner_member_id) == viewer.member_id,
                col(DataResource.id).in_(granted),
            )
        )
    return list(session.exec(statement).all())


def grants(session: Session, resource: DataResource) -> list[str]:
    return list(
        session.exec(
            select(Member.name)
            .join(DataGrant, col(DataGrant.member_id) == col(Member.id))
            .where(DataGrant.resource_id == resource.id)
            .order_by(col(Member.name))
        ).all()
    )


def owner_name(session: Session, resource: DataResource) -> str | None:
    member = session.get(Member, resource.owner_member_id)
    return None if member is None else member.name


def _owner_or_admin(resource: DataResource, viewer: Viewer) -> None:
    if not viewer.owns(resource.owner_member_id):
        raise AuthError("only the data set's owner org or an admin changes its grants")


def _member(session: Session, org: str) -> Member:
    member = session.exec(select(Member).where(Member.name == org.strip())).first()
    if member is None or member.id is None:
        raise InvalidInputError(f"org: no member called {org[:80]!r}", field="org")
    return member


def grant(
    session: Session, who: log.Who, resource: DataResource, *, org: str, viewer: Viewer
) -> bool:
    """Grants ``org`` read access; audited. False (and no entry) when it had it already."""
    _owner_or_admin(resource, viewer)
    member = _member(session, org)
    if member.id == resource.owner_member_id or _granted(session, resource, member.id):
        return False
    assert resource.id is not None and member.id is not None
    session.add(DataGrant(resource_id=resource.id, member_id=member.id))
    session.commit()
    _log_grant(session, who, "dataset.grant", resource, member)
    return True


def revoke_grant(
    session: Session, who: log.Who, resource: DataResource, *, org: str, viewer: Viewer
) -> bool:
    """Withdraws ``org``'s access; audited. False (and no entry) when it had none."""
    _owner_or_admin(resource, viewer)
    member = _member(session, org)
    if not _granted(session, resource, member.id):
        return False
    session.execute(
        delete(DataGrant).where(
            col(DataGrant.resource_id) == resource.id, col(DataGrant.member_id) == member.id
        )
    )
    session.commit()
    _log_grant(session, who, "dataset.revoke_grant", resource, member)
    return True


def _log_grant(
    session: Session, who: log.Who, action: str, resource: DataResource, member: Member
) -> None:
    log.append(
        session,
        who,
        action=action,
        target=f"dataset:{resource.public_id}",
        detail={"org": member.name, "name": resource.name},
    )


def entries_of(resource: DataResource) -> list[FileEntry]:
    return [FileEntry(str(p), int(s), str(h)) for p, s, h in resource.manifest]


def evidence_of(session: Session, resource: DataResource) -> Evidence | None:
    return session.get(Evidence, resource.evidence_id) if resource.evidence_id else None


def proof_of(session: Session, resource: DataResource, path: str) -> dict[str, Any]:
    """One file's proof document, with the receipt of the root once it is anchored: all a
    third party needs to check that file alone (``chainproof dataset check-proof``)."""
    proof = file_proof(entries_of(resource), path, resource=resource.public_id, name=resource.name)
    ev = evidence_of(session, resource)
    if ev is not None and ev.status == "anchored":
        # The root's receipt as its owner org sees it: the data set's readers may have it.
        owner = Viewer(member_id=resource.owner_member_id)
        receipt = build_receipt(session=session, evidence_id=ev.public_id, viewer=owner)
        proof["receipt"] = receipt.model_dump(mode="json", exclude_none=True)
    return proof
