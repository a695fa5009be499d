"""Registering items and capturing EPCIS events into per-item hash chains.

Capture is one database transaction: events, chain links, lineage edges and the evidence
rows of their hashes (through :func:`chainproof.evidence.intake.submit_digests`, which
commits). Heads go on chain later, from the publisher (``trace/heads.py``), so a chain
hiccup never fails a capture. An event whose CBV hash is already stored is not stored or
anchored again: a retried request answers the same hashes (idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from chainproof.digests import to_hex
from chainproof.errors import AuthError, ChainProofError, ConflictError, InvalidInputError
from chainproof.evidence import intake
from chainproof.store.models import Evidence
from chainproof.trace import codes, epcis, ownership, roles
from chainproof.trace.chains import GENESIS, next_link
from chainproof.trace.models import TraceEdge, TraceEvent, TraceLink, TraceNode
from chainproof.vocabulary import SaltSource

MAX_ITEMS = 10_000
CAPTURE_ATTEMPTS = 5
log = structlog.get_logger("chainproof.trace")


@dataclass(frozen=True)
class Captured:
    event_hash: str
    event_id: int
    created: bool  # False: the same event was captured before


def get_or_create_node(
    session: Session,
    code: codes.Code,
    *,
    product: str | None = None,
    owner_member_id: int | None = None,
    salt_source: SaltSource = codes.random_salt,
) -> TraceNode:
    node = session.exec(select(TraceNode).where(TraceNode.uri == code.uri)).first()
    if node is not None:
        if product and not node.product:
            node.product = product
        return node
    salt = salt_source()
    node = TraceNode(
        kind=code.kind,
        uri=code.uri,
        code=code.code,
        gtin=code.gtin,
        serial=code.serial,
        lot=code.lot,
        product=product,
        owner_member_id=owner_member_id,
        custodian_member_id=owner_member_id,
        salt=to_hex(salt),
        chain_key=to_hex(codes.chain_key(salt, code.uri)),
    )
    session.add(node)
    session.flush()
    return node


def _edge(
    session: Session, src: TraceNode, dst: TraceNode, kind: str, event_id: int | None
) -> None:
    found = session.exec(
        select(TraceEdge).where(
            TraceEdge.src_id == src.id, TraceEdge.dst_id == dst.id, TraceEdge.event_id == event_id
        )
    ).first()
    if found is None:
        assert src.id is not None and dst.id is not None
        session.add(TraceEdge(src_id=src.id, dst_id=dst.id, kind=kind, event_id=event_id))


def register_items(
    *,
    session: Session,
    member_id: int | None,
    product: str,
    gtin: str | None = None,
    lot: str | None = None,
    serials: Sequence[str] = (),
    count: int = 0,
    salt_source: SaltSource = codes.random_salt,
) -> list[TraceNode]:
    """Registers items: GTIN + serials (Digital Link), or ``count`` platform codes. Items of
    a lot get a lot → item lineage edge. Registering an existing item again is a no-op.

    Every code must fall under one of the org's prefixes (``ownership.py``): a GTIN under
    its GS1 company prefixes, new platform codes in its first namespace, a platform lot in
    one of its namespaces."""
    org = roles.writer_org(session, member_id)
    if org.role not in ("producer", "processor"):
        raise AuthError("only a producer or processor org registers items")
    if not product.strip() or len(product) > 200:
        raise InvalidInputError("product must be 1-200 characters")
    if gtin is None and serials:
        raise InvalidInputError("serials need a gtin; without one, ask for `count` platform codes")
    if gtin is not None and not serials:
        raise InvalidInputError("give the serials of the GTIN's items")
    n = len(serials) or count
    if not 1 <= n <= MAX_ITEMS:
        raise InvalidInputError(f"register 1 to {MAX_ITEMS} items at a time")
    if gtin is not None:
        item_codes = [codes.item_code(gtin, s) for s in serials]
    else:
        namespace = ownership.platform_namespace(session, org)
        item_codes = [
            codes.platform_code("item", codes.new_platform_code(namespace)) for _ in range(n)
        ]
    lot_c = None
    if lot is not None:
        lot_c = codes.lot_code(gtin, lot) if gtin else codes.platform_code("lot", lot.upper())
    for c in [*item_codes[:1], *([lot_c] if lot_c else [])]:
        ownership.check_own_code(session, org, c)  # the items share one GTIN or namespace
    for c in [*item_codes, *([lot_c] if lot_c else [])]:
        found = session.exec(select(TraceNode).where(TraceNode.uri == c.uri)).first()
        if found is not None and found.owner_member_id != member_id:
            raise AuthError(f"{c.code} is registered by another org")
    lot_node = None
    if lot_c is not None:
        lot_node = get_or_create_node(
            session, lot_c, product=product, owner_member_id=member_id, salt_source=salt_source
        )
    nodes = []
    for c in item_codes:
        node = get_or_create_node(
            session, c, product=product, owner_member_id=member_id, salt_source=salt_source
        )
        if lot_node is not None and node.lot_node_id is None:
            node.lot_node_id = lot_node.id
            if node.lot is None:
                node.lot = lot_node.lot or lot_node.code
            _edge(session, lot_node, node, "lot", None)
        nodes.append(node)
    session.commit()
    for node in nodes:
        session.refresh(node)
    return nodes


_EPC_FIELDS = (
    ("epcList", "epc"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)
_QTY_FIELDS = (
    ("quantityList", "quantity"),
    ("childQuantityList", "child"),
    ("inputQuantityList", "input"),
    ("outputQuantityList", "output"),
)


def event_things(event: dict[str, Any]) -> list[tuple[codes.Code, str]]:
    """Every item or lot the event names, with its part (epc, parent, child, input, output)."""
    found: list[tuple[codes.Code, str]] = []
    if isinstance(event.get("parentID"), str):
        c = codes.epc_code(event["parentID"])
        if c:
            found.append((c, "parent"))
    for field, part in _EPC_FIELDS:
        for epc in event.get(field) or []:
            c = codes.epc_code(str(epc))
            if c:
                found.append((c, part))
    for field, part in _QTY_FIELDS:
        for q in event.get(field) or []:
            c = codes.epc_code(str(q.get("epcClass", ""))) if isinstance(q, dict) else None
            if c:
                found.append((c, part))
    seen: set[str] = set()
    unique = []
    for c, part in found:
        if c.uri not in seen:
            seen.add(c.uri)
            unique.append((c, part))
    return unique


def capture_document(
    *,
    session: Session,
    member_id: int | None,
    doc: Any,
    salt_source: SaltSource = codes.random_salt,
    channel_id: int | None = None,
) -> list[Captured]:
    """Validates, checks the writer's role and locations, and stores the document's events.

    ``channel_id`` (issue 25) scopes the events' evidence rows (receipts, bundles,
    certificates) to a channel's members; the events stay on their items' public histories,
    whose on-chain heads commit to every event.

    Every writer is an org with a trace role, admins included (writers by role is a trust
    invariant): an admin key writes only what its own org's role allows, where it owns.

    Concurrent captures naming the same item are serialised (:func:`_lock_nodes`); a race
    the locks cannot prevent (two requests creating the same item or the same event at
    once) rolls the transaction back and runs it again, where it finds the other's rows.
    """
    hashed = epcis.hash_events(doc)
    org = roles.writer_org(session, member_id)
    glns = roles.owned_glns(session, org)
    for h in hashed:
        where = f"event {h.index} ({h.event.get('type')})"
        roles.check_event(org, glns, h.event, where)
        if not event_things(h.event):
            raise InvalidInputError(
                f"{where}: names no item or lot (GS1 Digital Link, EPC URN or platform code)"
            )
    for attempt in range(1, CAPTURE_ATTEMPTS + 1):
        try:
            custody = ownership.CustodyCheck(session, org)
            return _capture_once(session, hashed, member_id, salt_source, custody, channel_id)
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if not _is_write_race(exc):
                raise
            log.info("trace capture raced another writer; retrying", attempt=attempt)
        except ChainProofError:
            session.rollback()  # refused by ownership or custody: nothing is kept
            raise
    raise ConflictError(
        "the items of this document are being written by other requests right now; retry"
    )


def _is_write_race(exc: IntegrityError | OperationalError) -> bool:
    """A unique key taken by a concurrent transaction, a lock wait given up (SQLite), or a
    PostgreSQL serialisation failure or deadlock: all are cured by running again."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if code in ("40001", "40P01"):
        return True
    return "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower()


def _lock_nodes(
    session: Session,
    hashed: Sequence[epcis.HashedEvent],
    member_id: int | None,
    salt_source: SaltSource,
    custody: ownership.CustodyCheck,
) -> None:
    """Takes the write locks this capture needs before it reads any chain head.

    SQLite has one writer at a time: a no-op write as the transaction's first statement
    takes the database's write lock (waiting its busy timeout), so the heads read next are
    current and stay so until commit. PostgreSQL: the nodes are created in URI order and
    then locked ``FOR UPDATE`` in id order (one order for every writer: no deadlock) and
    re-read, so a second capture of the same item waits for the first to commit.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(TraceNode)
            .where(col(TraceNode.id) < 0)
            .values(count=0)
            .execution_options(synchronize_session=False)
        )
    found = {c.uri: c for h in hashed for c, _ in event_things(h.event)}
    known = {
        n.uri
        for n in session.exec(select(TraceNode).where(col(TraceNode.uri).in_(list(found)))).all()
    }
    for uri in sorted(set(found) - known):  # a capture creates things under its own prefixes
        custody.new_thing(found[uri], "the document")
    nodes = [
        get_or_create_node(session, found[uri], owner_member_id=member_id, salt_source=salt_source)
        for uri in sorted(found)
    ]
    if session.get_bind().dialect.name != "sqlite":
        session.exec(
            select(TraceNode)
            .where(col(TraceNode.id).in_([n.id for n in nodes]))
            .order_by(col(TraceNode.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


def _capture_once(
    session: Session,
    hashed: Sequence[epcis.HashedEvent],
    member_id: int | None,
    salt_source: SaltSource,
    custody: ownership.CustodyCheck,
    channel_id: int | None = None,
) -> list[Captured]:
    _lock_nodes(session, hashed, member_id, salt_source, custody)
    out: list[Captured] = []
    new_events: list[tuple[TraceEvent, bytes]] = []
    seen: dict[str, Captured] = {}
    for h in hashed:
        if h.event_hash in seen:  # the same event twice in one document
            out.append(seen[h.event_hash])
            continue
        existing = session.exec(
            select(TraceEvent).where(TraceEvent.event_hash == h.event_hash)
        ).first()
        if existing is not None:
            assert existing.id is not None
            seen[h.event_hash] = Captured(h.event_hash, existing.id, False)
            out.append(seen[h.event_hash])
            continue
        row = _store_event(session, h, member_id, salt_source, custody)
        assert row.id is not None
        new_events.append((row, h.digest))
        seen[h.event_hash] = Captured(h.event_hash, row.id, True)
        out.append(seen[h.event_hash])
    if new_events:
        # Commits the events, links and edges together with their evidence rows.
        accepted = intake.submit_digests(
            session=session,
            algorithm="sha256",
            digests=[d for _, d in new_events],
            member_id=member_id,
            label="trace event",
            channel_id=channel_id,
        )
        for (row, _), acc in zip(new_events, accepted, strict=True):
            row.evidence_id = acc.id
            session.add(row)
        session.commit()
    else:
        session.rollback()
    return out


def _store_event(
    session: Session,
    h: epcis.HashedEvent,
    member_id: int | None,
    salt_source: SaltSource,
    custody: ownership.CustodyCheck,
) -> TraceEvent:
    ev = h.event
    named = [
        (get_or_create_node(session, c, owner_member_id=member_id, salt_source=salt_source), part)
        for c, part in event_things(ev)
    ]
    custody.event(ev, named, f"event {h.index} ({ev.get('type')})")
    loc = ev.get("bizLocation") or ev.get("readPoint") or {}
    row = TraceEvent(
        event_hash=h.event_hash,
        prehash=h.prehash,
        event_type=str(ev["type"]),
        biz_step=epcis.biz_step_of(ev),
        event_time=epcis.parse_time(ev["eventTime"], "eventTime"),
        event_time_zone_offset=str(ev["eventTimeZoneOffset"]),
        location=str(loc.get("id")) if isinstance(loc, dict) and loc.get("id") else None,
        body=ev,
        member_id=member_id,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    nodes: dict[str, list[TraceNode]] = {}
    for node, part in named:
        assert node.id is not None
        prev = node.head or GENESIS
        link = next_link(prev, h.digest)
        node.count += 1
        node.head = link
        session.add(node)
        session.add(
            TraceLink(
                node_id=node.id, event_id=row.id, seq=node.count, prev=prev, link=link, role=part
            )
        )
        nodes.setdefault(part, []).append(node)
    if ev["type"] == "TransformationEvent":
        for src in nodes.get("input", []):
            for dst in nodes.get("output", []):
                _edge(session, src, dst, "transformation", row.id)
    if ev["type"] == "AggregationEvent" and ev.get("action") == "ADD":
        for parent in nodes.get("parent", []):
            for child in nodes.get("child", []):
                _edge(session, child, parent, "aggregation", row.id)
    session.flush()
    return row


def evidence_of(session: Session, event: TraceEvent) -> Evidence | None:
    return session.get(Evidence, event.evidence_id) if event.evidence_id else None
