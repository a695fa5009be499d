"""Live recordings (issue 20): ``recording`` and ``recording_segment``.

Revision ID: 0014
Revises: 0009

A recorder sends each segment's SHA-256 as the segment completes; the server keeps the
hash chain of the segments here and queues each link as an evidence digest. (0009 is on
main already, so this chains after it rather than after 0008: two heads would stop every
``upgrade``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("nonce", sa.String(length=66), nullable=False),
        sa.Column("segment_bytes", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("segment_count", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("file_digest", sa.String(length=66), nullable=True),
        sa.Column("file_evidence_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_recording_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["file_evidence_id"],
            ["evidence.id"],
            name=op.f("fk_recording_file_evidence_id_evidence"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording")),
    )
    op.create_index(op.f("ix_recording_public_id"), "recording", ["public_id"], unique=True)
    op.create_index(op.f("ix_recording_member_id"), "recording", ["member_id"])
    op.create_table(
        "recording_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=66), nullable=False),
        sa.Column("link", sa.String(length=66), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recording.id"],
            name=op.f("fk_recording_segment_recording_id_recording"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_segment")),
        sa.UniqueConstraint(
            "recording_id", "idx", name=op.f("uq_recording_segment_recording_id_idx")
        ),
    )


def downgrade() -> None:
    op.drop_table("recording_segment")
    op.drop_index(op.f("ix_recording_member_id"), table_name="recording")
    op.drop_index(op.f("ix_recording_public_id"), table_name="recording")
    op.drop_table("recording")
