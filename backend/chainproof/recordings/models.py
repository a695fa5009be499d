"""Tables of live recordings and their segments (migration 0014).

Only digests are kept (invariant 3): the recording's bytes stay with the recorder. Each
segment's link is also an ``evidence`` row (its digest), queued by the evidence intake in the
same transaction, so anchoring is the regular batches' and the segment's anchor is found
by that digest (``service.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from chainproof.public_ids import PUBLIC_ID_LEN, new_public_id
from chainproof.store.models import HEX32_LEN, LABEL_LEN, utcnow  # naming convention first


class Recording(SQLModel, table=True):
    __tablename__ = "recording"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(
        default_factory=new_public_id, max_length=PUBLIC_ID_LEN, unique=True, index=True
    )
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    # Issue 25: the channel whose members read it too (None: its org alone); its segments'
    # evidence rows name the same channel.
    channel_id: int | None = Field(default=None, index=True)
    nonce: str = Field(max_length=HEX32_LEN)  # 0x + 32 bytes: the chain's genesis input
    segment_bytes: int = Field(sa_type=BigInteger)
    label: str | None = Field(default=None, max_length=LABEL_LEN)
    segment_count: int = 0
    size: int = Field(default=0, sa_type=BigInteger)  # bytes the segments cover
    head: str = Field(max_length=HEX32_LEN)  # the last link (the genesis before any)
    file_digest: str | None = Field(default=None, max_length=HEX32_LEN)
    file_evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


class RecordingSegment(SQLModel, table=True):
    __tablename__ = "recording_segment"
    __table_args__ = (UniqueConstraint("recording_id", "idx"),)

    id: int | None = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recording.id")
    idx: int  # from 0
    offset: int = Field(sa_type=BigInteger)
    length: int = Field(sa_type=BigInteger)
    digest: str = Field(max_length=HEX32_LEN)  # SHA-256 of the segment's bytes
    link: str = Field(max_length=HEX32_LEN)  # links.link_of: anchored as evidence
    claimed_at: datetime | None = None  # the recorder's clock: a claim, not a proof
    received_at: datetime = Field(default_factory=utcnow)
