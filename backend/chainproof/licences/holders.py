"""What a licence's holder org does with it (issue 20): list what it holds, print it, show
chosen fields as a link and QR code (``licences/links.py``).

A licence is the holder org's when the issuer named that org (``holder_member_id``); the
issuer org sees its own licences too. To any other org a licence is the 404 of one nobody
issued, as in ``service.owned``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlmodel import Session, col, or_, select

from chainproof.errors import InvalidInputError, NotFoundError
from chainproof.evidence.verify import Viewer
from chainproof.licences.links import presentation_url
from chainproof.licences.models import Licence, LicenceType
from chainproof.store.lookup import by_public_id
from chainproof.store.models import Member

MAX_LISTED = 200


def held_or_issued(*, session: Session, licence_id: str, viewer: Viewer) -> Licence:
    """The licence, for its holder org, its issuer org or an admin; else 404."""
    row = by_public_id(session, Licence, licence_id)
    if row is None or not (
        viewer.owns(row.issuer_member_id)
        or (row.holder_member_id is not None and viewer.member_id == row.holder_member_id)
    ):
        raise NotFoundError(f"no licence with id {licence_id!r}")
    return row


def card(session: Session, licence: Licence) -> dict[str, Any]:
    """What the holder's and issuer's pages show of one licence (every claim's value)."""
    ltype = session.get(LicenceType, licence.type_id)
    issuer = session.get(Member, licence.issuer_member_id)
    claims = licence.credential["credentialSubject"]["claims"]
    return {
        "id": licence.public_id,
        "type": ltype.code if ltype else "",
        "type_name": ltype.name if ltype else "",
        "issuer_org": issuer.name if issuer else "",
        "issuer": licence.credential["issuer"],
        "holder": licence.holder,
        "status": licence.status,
        "valid_from": licence.valid_from,
        "valid_until": licence.valid_until,
        "superseded_by": licence.superseded_by,
        "fields": [(name, str(c["value"])) for name, c in claims.items()],
    }


def listed(*, session: Session, member_id: int | None) -> dict[str, list[dict[str, Any]]]:
    """The org's licences: those it issued and those it holds, newest first."""
    if member_id is None:
        return {"issued": [], "held": []}
    rows = session.exec(
        select(Licence)
        .where(
            or_(
                col(Licence.issuer_member_id) == member_id,
                col(Licence.holder_member_id) == member_id,
            )
        )
        .order_by(col(Licence.id).desc())
        .limit(MAX_LISTED)
    ).all()
    return {
        "issued": [card(session, r) for r in rows if r.issuer_member_id == member_id],
        "held": [card(session, r) for r in rows if r.holder_member_id == member_id],
    }


def presentation_link(*, licence: Licence, disclose: Collection[str], base_url: str) -> str:
    """The page link showing ``disclose`` of the licence's claims (none: just its status)."""
    claims = licence.credential["credentialSubject"]["claims"]
    unknown = set(disclose) - set(claims)
    if unknown:
        raise InvalidInputError(f"the licence has no field {sorted(unknown)[0]!r}")
    return presentation_url(base_url, licence.public_id, claims, disclose)
