"""Tables of the trace area (溯源).

- ``trace_org`` / ``trace_location``: which member org writes as which supply-chain role,
  and the GLNs it owns (an org writes only its role's steps, only at its own locations);
- ``trace_node``: an item or a lot (canonical URI, salted chain key, current head and how
  far the head is published on chain);
- ``trace_event``: an EPCIS 2.0 event as captured, with its CBV 2.0 hash and pre-hash;
- ``trace_link``: the hash chain of one node: its events in order, ``prev`` → ``link``;
- ``trace_edge``: lineage, input → output (transformation), child → parent (aggregation),
  lot → item (membership);
- ``trace_prefix``: the GS1 company prefixes and platform-code namespaces an admin admitted
  to an org: an org registers (and creates by capture) only things under its own;
- ``trace_recall``: a recall of a lot and, once lifted, when, by whom and why (a lot may be
  recalled again after a lift: one row per recall); ``trace_scan``: public scan counters.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import chainproof.store.models  # noqa: F401  (naming convention first)
from chainproof.store.models import HEX32_LEN, utcnow

URI_LEN = 300


class TraceRole(StrEnum):
    PRODUCER = "producer"
    PROCESSOR = "processor"
    LOGISTICS = "logistics"
    RETAILER = "retailer"
    REGULATOR = "regulator"


class NodeKind(StrEnum):
    ITEM = "item"
    LOT = "lot"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class TraceOrg(SQLModel, table=True):
    __tablename__ = "trace_org"
    __table_args__ = (CheckConstraint(_in("role", TraceRole), name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", unique=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class TraceLocation(SQLModel, table=True):
    __tablename__ = "trace_location"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="trace_org.id", index=True)
    gln: str = Field(max_length=13, unique=True)
    name: str | None = Field(default=None, max_length=200)


class PrefixKind(StrEnum):
    GS1 = "gs1"  # a GS1 company prefix: the GTIN-13 digits after GTIN-14's indicator start so
    PLATFORM = "platform"  # a platform-code namespace: the platform code starts so


class TracePrefix(SQLModel, table=True):
    __tablename__ = "trace_prefix"
    __table_args__ = (
        CheckConstraint(_in("kind", PrefixKind), name="kind"),
        UniqueConstraint("kind", "prefix"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="trace_org.id", index=True)
    kind: str = Field(max_length=8)
    prefix: str = Field(max_length=14)
    created_at: datetime = Field(default_factory=utcnow)


class TraceNode(SQLModel, table=True):
    __tablename__ = "trace_node"
    __table_args__ = (CheckConstraint(_in("kind", NodeKind), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    uri: str = Field(max_length=URI_LEN, unique=True)
    code: str = Field(max_length=URI_LEN, unique=True)
    gtin: str | None = Field(default=None, max_length=14)
    serial: str | None = Field(default=None, max_length=20)
    lot: str | None = Field(default=None, max_length=20)
    product: str | None = Field(default=None, max_length=200)
    lot_node_id: int | None = Field(default=None, foreign_key="trace_node.id", index=True)
    owner_member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    # Who holds it now (custody: the owner at first; a receiving event moves it), and to
    # whom the holder's last shipping event sent it (None: not in transit to anyone).
    custodian_member_id: int | None = Field(default=None, foreign_key="member.id")
    shipped_to_member_id: int | None = Field(default=None, foreign_key="member.id")
    salt: str = Field(max_length=HEX32_LEN)
    chain_key: str = Field(max_length=HEX32_LEN, unique=True)
    head: str | None = Field(default=None, max_length=HEX32_LEN)
    count: int = 0
    published_count: int = Field(default=0, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class TraceEvent(SQLModel, table=True):
    __tablename__ = "trace_event"

    id: int | None = Field(default=None, primary_key=True)
    event_hash: str = Field(max_length=120, unique=True)
    prehash: str = Field(sa_type=Text)
    event_type: str = Field(max_length=24)
    biz_step: str | None = Field(default=None, max_length=40, index=True)
    event_time: datetime = Field(index=True)
    event_time_zone_offset: str = Field(max_length=6)
    location: str | None = Field(default=None, max_length=URI_LEN)
    body: dict[str, Any] = Field(sa_type=JSON)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    created_at: datetime = Field(default_factory=utcnow)


class TraceLink(SQLModel, table=True):
    __tablename__ = "trace_link"
    __table_args__ = (
        UniqueConstraint("node_id", "seq"),
        UniqueConstraint("node_id", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    node_id: int = Field(foreign_key="trace_node.id")
    event_id: int = Field(foreign_key="trace_event.id", index=True)
    seq: int  # 1-based position in the node's chain
    prev: str = Field(max_length=HEX32_LEN)
    link: str = Field(max_length=HEX32_LEN)
    role: str = Field(max_length=16)  # epc, parent, child, input, output, quantity


class TraceEdge(SQLModel, table=True):
    __tablename__ = "trace_edge"
    __table_args__ = (UniqueConstraint("src_id", "dst_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    src_id: int = Field(foreign_key="trace_node.id", index=True)
    dst_id: int = Field(foreign_key="trace_node.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="trace_event.id")
    kind: str = Field(max_length=16)  # transformation, aggregation, lot


class TraceRecall(SQLModel, table=True):
    __tablename__ = "trace_recall"

    id: int | None = Field(default=None, primary_key=True)
    lot_node_id: int = Field(foreign_key="trace_node.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    reason: str = Field(max_length=500)
    reason_hash: str = Field(max_length=HEX32_LEN)
    created_at: datetime = Field(default_factory=utcnow)
    tx_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    by_regulator: bool = False  # a regulator's recall is lifted by a regulator only
    lifted_at: datetime | None = None
    lifted_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    lift_reason: str | None = Field(default=None, max_length=500)
    lift_reason_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    lift_tx_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    # The chain_op sending the recall / the lift (``trace/ops.py``).
    op_id: str | None = Field(default=None, max_length=32)
    lift_op_id: str | None = Field(default=None, max_length=32)


class TraceScan(SQLModel, table=True):
    __tablename__ = "trace_scan"

    node_id: int = Field(foreign_key="trace_node.id", primary_key=True)
    count: int = 0
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow)
    window_start: datetime = Field(default_factory=utcnow)
    window_count: int = 0
