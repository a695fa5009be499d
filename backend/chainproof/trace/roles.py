"""Writers by role: which CBV business steps each supply-chain role may record, and where.

An org (a member) has one trace role and owns GLNs; an event it captures must carry a
``bizStep`` its role allows and name only locations (``readPoint``/``bizLocation``, as SGLN
URN or Digital Link 414) whose GLN it owns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from chainproof.errors import AuthError, InvalidInputError, NotFoundError
from chainproof.store.models import Member
from chainproof.trace import codes, epcis
from chainproof.trace.models import TraceLocation, TraceOrg, TraceRole

_COMMON = {"inspecting", "holding", "sensor_reporting", "sampling", "storing", "other"}
ROLE_STEPS: dict[TraceRole, frozenset[str]] = {
    TraceRole.PRODUCER: frozenset(
        _COMMON
        | {"commissioning", "creating_class_instance", "encoding", "packing", "shipping"}
        | {"departing", "loading", "staging_outbound", "destroying", "decommissioning"}
    ),
    TraceRole.PROCESSOR: frozenset(
        _COMMON
        | {"receiving", "arriving", "accepting", "commissioning", "creating_class_instance"}
        | {"assembling", "packing", "unpacking", "repackaging", "encoding", "picking"}
        | {"shipping", "departing", "loading", "staging_outbound", "destroying"}
        | {"decommissioning", "disassembling"}
    ),
    TraceRole.LOGISTICS: frozenset(
        _COMMON
        | {"departing", "arriving", "transporting", "loading", "unloading", "receiving"}
        | {"shipping", "staging_outbound", "accepting", "consigning"}
    ),
    TraceRole.RETAILER: frozenset(
        _COMMON
        | {"receiving", "arriving", "accepting", "unloading", "unpacking", "stocking"}
        | {"retail_selling", "picking", "removing", "void_shipping"}
    ),
    TraceRole.REGULATOR: frozenset(_COMMON | {"destroying"}),
}


def org_of(session: Session, member_id: int | None) -> TraceOrg | None:
    if member_id is None:
        return None
    return session.exec(select(TraceOrg).where(TraceOrg.member_id == member_id)).first()


def writer_org(session: Session, member_id: int | None) -> TraceOrg:
    """The trace org a write is made for; AuthError when there is none (an admin key too:
    admins manage roles and locations, but write only as their own org's role)."""
    if member_id is None:
        raise AuthError("this key belongs to no member org, so it writes no trace data")
    org = org_of(session, member_id)
    if org is None:
        raise AuthError("your org has no trace role yet (an admin assigns one)")
    return org


def register_org(
    *,
    session: Session,
    member_id: int,
    role: str,
    glns: Sequence[str],
    names: Sequence[str | None] | None = None,
) -> TraceOrg:
    """Gives member ``member_id`` a trace role and locations (idempotent for the same role;
    a GLN owned by another org is a 409-worthy InvalidInputError)."""
    try:
        r = TraceRole(role)
    except ValueError:
        allowed = ", ".join(x.value for x in TraceRole)
        raise InvalidInputError(f"role {role!r} is not one of {allowed}") from None
    if session.get(Member, member_id) is None:
        raise NotFoundError(f"no member {member_id}")
    checked = [codes.check_gln(g) for g in glns]
    org = org_of(session, member_id)
    if org is None:
        org = TraceOrg(member_id=member_id, role=r.value)
        session.add(org)
        session.flush()
    elif org.role != r.value:
        raise InvalidInputError(f"member {member_id} already writes as {org.role}")
    assert org.id is not None
    for i, gln in enumerate(checked):
        loc = session.exec(select(TraceLocation).where(TraceLocation.gln == gln)).first()
        name = names[i] if names and i < len(names) else None
        if loc is None:
            session.add(TraceLocation(org_id=org.id, gln=gln, name=name))
        elif loc.org_id != org.id:
            raise InvalidInputError(f"GLN {gln} belongs to another org")
        elif name and loc.name != name:
            loc.name = name  # a place may be (re)named; its GLN and owner stay
            session.add(loc)
    session.commit()
    session.refresh(org)
    return org


def place_names(session: Session, glns: set[str]) -> dict[str, str]:
    """GLN → what to call it: the location's name, else the name of the org that owns it."""
    if not glns:
        return {}
    rows = session.exec(
        select(TraceLocation.gln, TraceLocation.name, Member.name)
        .join(TraceOrg, col(TraceOrg.id) == col(TraceLocation.org_id))
        .join(Member, col(Member.id) == col(TraceOrg.member_id))
        .where(col(TraceLocation.gln).in_(glns))
    ).all()
    return {gln: name or org for gln, name, org in rows if name or org}


def owned_glns(session: Session, org: TraceOrg) -> set[str]:
    rows = session.exec(select(TraceLocation.gln).where(TraceLocation.org_id == org.id))
    return set(rows.all())


def check_event(org: TraceOrg, glns: set[str], event: dict[str, Any], where: str) -> None:
    """AuthError unless ``org`` may record ``event`` (step by role, locations owned)."""
    step = epcis.biz_step_of(event)
    if step is None:
        raise InvalidInputError(f"{where}: bizStep is required to capture an event")
    if step not in ROLE_STEPS[TraceRole(org.role)]:
        raise AuthError(f"{where}: a {org.role} may not record bizStep {step!r}")
    locations = [
        event[k]["id"] for k in ("readPoint", "bizLocation") if isinstance(event.get(k), dict)
    ]
    if not locations:
        raise InvalidInputError(f"{where}: a readPoint or bizLocation (GLN) is required")
    for loc in locations:
        gln = codes.location_gln(str(loc))
        if gln is None:
            if str(loc).startswith("geo:"):
                continue  # a position on the way (transporting), not a party's site
            raise InvalidInputError(f"{where}: location {loc!r} is not a GLN or SGLN")
        if gln not in glns:
            raise AuthError(f"{where}: location {loc} (GLN {gln}) is not one of your org's")
