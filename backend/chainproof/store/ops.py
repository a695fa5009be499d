"""The chain writer's outbox: one row per intended transaction (``chain/writer.py``).

A row is written when a service asks for a chain write and before anything is signed; the
writer then stores the nonce, the signed raw transaction and its hash *before* it sends,
so a restart after a kill at any step finds what was meant and what was sent, and
reconciles with the chain by nonce and hash (``ChainWriter.recover``).

    queued ──sign (nonce, raw tx stored)──▶ signed ──send──▶ sent ──receipt──▶ confirmed
       │                                       │               │
       └── the contract refuses it ──▶ failed ◀┴── reverted ───┘

``public_id`` is the operation id callers see (``GET /api/v1/operations/{id}``): random,
so ids say nothing about other orgs' operations. ``dedupe_key`` keeps one live operation
per target (``revoke:evidence:7``): asking twice while the first is in flight is a conflict,
not a second transaction; a failed operation gives its key up so the caller may try again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Text
from sqlmodel import Field, SQLModel

import chainproof.store.models  # noqa: F401  (the naming convention comes first)
from chainproof.store.models import ADDRESS_LEN, HEX32_LEN, utcnow


class OpStatus(StrEnum):
    QUEUED = "queued"  # intended; nothing signed yet
    SIGNED = "signed"  # nonce and raw tx stored; maybe sent (a kill may have come between)
    SENT = "sent"  # handed to the node
    CONFIRMED = "confirmed"  # mined with status 1, its effect applied in the index
    FAILED = "failed"  # refused by the contract (at estimation or mined reverted)


LIVE = (OpStatus.QUEUED.value, OpStatus.SIGNED.value, OpStatus.SENT.value)
IN_FLIGHT = (OpStatus.SIGNED.value, OpStatus.SENT.value)


class ChainOp(SQLModel, table=True):
    __tablename__ = "chain_op"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'signed', 'sent', 'confirmed', 'failed')", name="status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    kind: str = Field(max_length=40)
    status: str = Field(default=OpStatus.QUEUED.value, max_length=16, index=True)
    # Whose operation it is: the member org that asked (None: the operator's own).
    member_id: int | None = Field(default=None, index=True)
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    # What to do: the kind's handler turns this into a contract call at signing time.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sender: str | None = Field(default=None, max_length=ADDRESS_LEN, index=True)
    nonce: int | None = Field(default=None, sa_type=BigInteger)
    raw_tx: str | None = Field(default=None, sa_type=Text)
    tx_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    # Earlier transactions of this row at the same nonce, replaced with higher fees while
    # stuck in the pool: any one of them may be the one mined (never two: one nonce).
    replaced: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    gas_used: int | None = Field(default=None, sa_type=BigInteger)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
