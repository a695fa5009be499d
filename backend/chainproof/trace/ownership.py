"""Who may name a traced thing: company prefixes, ownership and custody.

Ownership. An admin admits prefixes to an org (:func:`admit_prefix`): GS1 company prefixes
(4-12 digits; a GTIN falls under one when its GTIN-13 digits, after GTIN-14's indicator
digit, start with it) and platform-code namespaces (``CP`` + 1-4 Crockford base-32
characters; a platform code falls under one when it starts with it). Two orgs never hold
overlapping prefixes. An org registers items and lots only under its own prefixes, and a
capture creates an unknown item or lot only under the capturing org's: the creator owns it.

Custody (who holds it now), after the EPCIS 2.0 / CBV 2.0 business steps:

* a thing starts in its owner's custody;
* an event may name a thing only when the capturing org holds it, with two exceptions: a
  regulator names any thing (inspecting, sampling, holding, destroying: its role's steps),
  and the org a thing was shipped to names it in a ``receiving`` or ``accepting`` event;
* a ``shipping`` event by the holder whose ``destinationList`` names a GLN (``location``,
  ``possessing_party`` or ``owning_party``; SGLN or PGLN) of another org sends the thing to
  that org; custody stays with the shipper until the receiver's ``receiving`` (or
  ``accepting``) event names the thing, which makes the receiver its holder. A shipment to
  a party outside the platform sends it to no one; a later shipping event re-addresses it;
* the outputs of a TransformationEvent must be the capturing org's own (it owns them, or
  they are new under its prefixes), whoever holds its inputs.

Ownership never moves by events: the owner (or a regulator) recalls a lot, whoever holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from chainproof.errors import AuthError, ConflictError, InvalidInputError
from chainproof.trace import codes, epcis
from chainproof.trace.models import (
    PrefixKind,
    TraceLocation,
    TraceNode,
    TraceOrg,
    TracePrefix,
    TraceRole,
)

SHIPPING = "shipping"
RECEIVING = frozenset({"receiving", "accepting"})
DESTINATION_TYPES = frozenset({"location", "possessing_party", "owning_party"})
_GS1_PREFIX = re.compile(r"^[0-9]{4,12}$")
_PLATFORM_NAMESPACE = re.compile(r"^CP[0-9A-HJKMNP-TV-Z]{1,4}$")


def parse_prefix(text: str) -> tuple[PrefixKind, str]:
    """``(kind, prefix)``: a GS1 company prefix, or a platform-code namespace."""
    t = text.strip().upper()
    if _GS1_PREFIX.match(t):
        return PrefixKind.GS1, t
    if _PLATFORM_NAMESPACE.match(t):
        return PrefixKind.PLATFORM, t
    raise InvalidInputError(
        f"{text!r} is neither a GS1 company prefix (4-12 digits) nor a platform-code "
        "namespace (CP + 1-4 Crockford base-32 characters)"
    )


def admit_prefix(*, session: Session, org: TraceOrg, prefix: str) -> TracePrefix:
    """Admits ``prefix`` to ``org`` (idempotent); ConflictError when it overlaps another
    org's (one a prefix of the other), so no code ever falls under two orgs."""
    kind, value = parse_prefix(prefix)
    rows = session.exec(select(TracePrefix).where(TracePrefix.kind == kind.value)).all()
    for row in rows:
        if row.prefix.startswith(value) or value.startswith(row.prefix):
            if row.org_id == org.id and row.prefix == value:
                return row
            if row.org_id != org.id:
                raise ConflictError(f"{value} overlaps {row.prefix}, which another org holds")
    assert org.id is not None
    row = TracePrefix(org_id=org.id, kind=kind.value, prefix=value)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def prefixes_of(session: Session, org: TraceOrg) -> list[TracePrefix]:
    return list(
        session.exec(
            select(TracePrefix).where(TracePrefix.org_id == org.id).order_by(col(TracePrefix.id))
        ).all()
    )


def _covered(code: codes.Code, prefix: TracePrefix) -> bool:
    if code.gtin is not None:
        return prefix.kind == PrefixKind.GS1.value and code.gtin[1:].startswith(prefix.prefix)
    return prefix.kind == PrefixKind.PLATFORM.value and code.code.startswith(prefix.prefix)


def check_own_code(session: Session, org: TraceOrg, code: codes.Code) -> None:
    """AuthError unless ``code`` falls under one of ``org``'s prefixes."""
    if not any(_covered(code, p) for p in prefixes_of(session, org)):
        raise AuthError(
            f"{code.code} is not under a company prefix or platform namespace of your org "
            "(an admin admits them: `chainproof trace prefix add`)"
        )


def platform_namespace(session: Session, org: TraceOrg) -> str:
    """The namespace new platform codes of ``org`` start with (its first admitted)."""
    for p in prefixes_of(session, org):
        if p.kind == PrefixKind.PLATFORM.value:
            return p.prefix
    raise AuthError("your org has no platform-code namespace (an admin admits one)")


@dataclass
class CustodyCheck:
    """Checks one capture's events in document order, and moves custody as they go."""

    session: Session
    org: TraceOrg
    glns_to_member: dict[str, int] = field(default_factory=dict)

    @property
    def member_id(self) -> int:
        return self.org.member_id

    def new_thing(self, code: codes.Code, where: str) -> None:
        """A capture creates a thing only under the capturing org's prefixes."""
        try:
            check_own_code(self.session, self.org, code)
        except AuthError as exc:
            raise AuthError(f"{where}: names unknown {code.code}; {exc.message}") from None

    def event(self, event: dict[str, Any], named: list[tuple[TraceNode, str]], where: str) -> None:
        """AuthError unless the org may name each thing; then applies the hand-over."""
        step = epcis.biz_step_of(event)
        regulator = self.org.role == TraceRole.REGULATOR.value
        transformation = event.get("type") == "TransformationEvent"
        for node, part in named:
            if transformation and part == "output":
                if node.owner_member_id != self.member_id:
                    raise AuthError(
                        f"{where}: output {node.code} is not your org's (a transformation "
                        "makes outputs under your own prefixes)"
                    )
                continue
            holds = node.custodian_member_id == self.member_id
            receives = step in RECEIVING and node.shipped_to_member_id == self.member_id
            if not (holds or receives or regulator):
                raise AuthError(
                    f"{where}: {node.code} is not in your org's custody (a shipping event of "
                    "its holder naming your GLN, then your receiving event, hands it over)"
                )
        if step == SHIPPING:
            to = self._destination(event, where)
            for node, part in named:
                if node.custodian_member_id == self.member_id and part != "output":
                    node.shipped_to_member_id = to
                    self.session.add(node)
        elif step in RECEIVING:
            for node, _ in named:
                if node.shipped_to_member_id == self.member_id:
                    node.custodian_member_id = self.member_id
                    node.shipped_to_member_id = None
                    self.session.add(node)

    def _destination(self, event: dict[str, Any], where: str) -> int | None:
        """The other org a shipping event sends its things to (None: no org of ours)."""
        found: set[int] = set()
        for d in event.get("destinationList") or []:
            # Bare, URN or Web URI form: "owning_party", "…:sdt:owning_party", "…/SDT-owning_party".
            kind = re.split(r"[:/-]", str(d.get("type", "")))[-1] if isinstance(d, dict) else ""
            if kind not in DESTINATION_TYPES:
                continue
            assert isinstance(d, dict)
            gln = codes.location_gln(str(d.get("destination", "")))
            member = self._member_of_gln(gln) if gln else None
            if member is not None and member != self.member_id:
                found.add(member)
        if len(found) > 1:
            raise InvalidInputError(f"{where}: a shipping event hands over to one org at most")
        return found.pop() if found else None

    def _member_of_gln(self, gln: str) -> int | None:
        if gln not in self.glns_to_member:
            row = self.session.exec(
                select(TraceOrg.member_id)
                .join(TraceLocation, col(TraceLocation.org_id) == col(TraceOrg.id))
                .where(TraceLocation.gln == gln)
            ).first()
            if row is None:
                return None
            self.glns_to_member[gln] = int(row)
        return self.glns_to_member[gln]
