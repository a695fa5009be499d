"""Tables of the EPCIS 2.0 repository (the ``/epcis`` REST binding).

- ``epcis_event``: an event as captured through ``/epcis``, keyed by its EPCIS ``eventID``
  (its CBV 2.0 hash when the client gave none), with the fields the standard queries filter
  on, the CBV 2.0 hash and pre-hash, and the evidence row that anchors the hash;
- ``epcis_event_epc``: each EPC or EPC class an event names, with its part (``epc``,
  ``parent``, ``child``, ``input``, ``output``, ``class``), for the ``MATCH_*`` queries;
- ``epcis_query``: a named query (GS1's ``/queries``): its name, its org and its standard
  query parameters;
- ``epcis_subscription`` / ``epcis_delivery``: webhook subscriptions to a named query (stream:
  every new matching event) and the outbox of their signed deliveries;
- ``epcis_capture``: a capture job: the document, its error behaviour, state and errors.
  The job's events and its end state are committed in one transaction, so a job killed
  half way is run again from the start (under ``rollback`` nothing of it was stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import chainproof.store.models  # noqa: F401  (naming convention first)
from chainproof.store.models import utcnow

ID_LEN = 512  # eventIDs and EPCs are URIs; GS1 sets no length, 512 bounds the index
VOCAB_LEN = 300


class EpcisEvent(SQLModel, table=True):
    __tablename__ = "epcis_event"
    # orderBy pages by keyset: one org's events in time order are an index range (0021).
    __table_args__ = (
        Index("ix_epcis_event_member_event_time", "member_id", "event_time", "id"),
        Index("ix_epcis_event_member_record_time", "member_id", "record_time", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=ID_LEN, unique=True)
    event_hash: str = Field(max_length=120, index=True)
    prehash: str = Field(sa_type=Text)
    event_type: str = Field(max_length=24, index=True)
    event_time: datetime = Field(index=True)
    record_time: datetime = Field(default_factory=utcnow, index=True)
    action: str | None = Field(default=None, max_length=8)
    biz_step: str | None = Field(default=None, max_length=VOCAB_LEN, index=True)
    disposition: str | None = Field(default=None, max_length=VOCAB_LEN, index=True)
    read_point: str | None = Field(default=None, max_length=ID_LEN, index=True)
    biz_location: str | None = Field(default=None, max_length=ID_LEN, index=True)
    body: dict[str, Any] = Field(sa_type=JSON)
    context: Any = Field(default=None, sa_type=JSON, nullable=True)  # the @context captured
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    capture_id: str | None = Field(default=None, max_length=40, index=True)


class EpcisEventEpc(SQLModel, table=True):
    __tablename__ = "epcis_event_epc"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="epcis_event.id", index=True)
    epc: str = Field(max_length=ID_LEN, index=True)
    part: str = Field(max_length=8)


class EpcisCapture(SQLModel, table=True):
    __tablename__ = "epcis_capture"

    capture_id: str = Field(primary_key=True, max_length=40)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    running: bool = True
    success: bool | None = None
    behaviour: str = Field(max_length=10)  # rollback | proceed
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    document: str = Field(sa_type=Text)  # the body as received, until the job finishes
    # The CBV 2.0 [pre-hash, hash] of each event, computed when the body was taken: the job
    # stores them rather than hashing the document again.
    hashes: list[list[str]] | None = Field(default=None, sa_type=JSON)
    lease_until: datetime | None = None  # a runner owns the job until then
    attempts: int = 0


class EpcisQuery(SQLModel, table=True):
    __tablename__ = "epcis_query"
    __table_args__ = (UniqueConstraint("member_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    query: dict[str, Any] = Field(sa_type=JSON)  # parameter → list of values
    created_at: datetime = Field(default_factory=utcnow)


class EpcisSubscription(SQLModel, table=True):
    __tablename__ = "epcis_subscription"

    subscription_id: str = Field(primary_key=True, max_length=40)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    query_name: str = Field(max_length=200)
    query: dict[str, Any] = Field(sa_type=JSON)  # the named query's parameters when subscribed
    dest: str = Field(max_length=2000)
    signature_token: str | None = Field(default=None, max_length=500)
    report_if_empty: bool = False
    cursor: int = 0  # the last epcis_event.id handed to a delivery
    created_at: datetime = Field(default_factory=utcnow)


class EpcisDelivery(SQLModel, table=True):
    __tablename__ = "epcis_delivery"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(foreign_key="epcis_subscription.subscription_id", index=True)
    body: str = Field(sa_type=Text)
    attempts: int = 0
    next_at: datetime = Field(default_factory=utcnow, index=True)
    delivered_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
