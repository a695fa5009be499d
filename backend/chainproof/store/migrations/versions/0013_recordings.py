"""Live recordings and e-licences (issue 20): ``recording``, ``recording_segment``,
``licence_issuer``, ``licence_type``, ``licence``, ``licence_event``.

Revision ID: 0013
Revises: 0012

A recorder sends each segment's SHA-256 as the segment completes; the server keeps the
hash chain of the segments here and queues each link as an evidence digest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
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

    _licences()


def _licences() -> None:
    op.create_table(
        "licence_issuer",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_licence_issuer_member_id_member")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_licence_issuer")),
    )
    op.create_table(
        "licence_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_member_id"],
            ["member.id"],
            name=op.f("fk_licence_type_issuer_member_id_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_type")),
        sa.UniqueConstraint(
            "issuer_member_id", "code", name=op.f("uq_licence_type_issuer_member_id_code")
        ),
    )
    op.create_table(
        "licence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("issuer_member_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("credential", sa.JSON(), nullable=False),
        sa.Column("claims_root", sa.String(length=66), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_member_id"], ["member.id"], name=op.f("fk_licence_issuer_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["type_id"], ["licence_type.id"], name=op.f("fk_licence_type_id_licence_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence")),
    )
    op.create_index(op.f("ix_licence_public_id"), "licence", ["public_id"], unique=True)
    op.create_index(op.f("ix_licence_issuer_member_id"), "licence", ["issuer_member_id"])
    op.create_index(op.f("ix_licence_holder"), "licence", ["holder"])
    op.create_index(op.f("ix_licence_claims_root"), "licence", ["claims_root"])
    op.create_table(
        "licence_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason_hash", sa.String(length=66), nullable=False),
        sa.Column("record_digest", sa.String(length=66), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"], ["licence.id"], name=op.f("fk_licence_event_licence_id_licence")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_event")),
        sa.UniqueConstraint("licence_id", "seq", name=op.f("uq_licence_event_licence_id_seq")),
    )


def downgrade() -> None:
    op.drop_table("licence_event")
    for index in ("claims_root", "holder", "issuer_member_id", "public_id"):
        op.drop_index(op.f(f"ix_licence_{index}"), table_name="licence")
    op.drop_table("licence")
    op.drop_table("licence_type")
    op.drop_table("licence_issuer")
    op.drop_table("recording_segment")
    op.drop_index(op.f("ix_recording_member_id"), table_name="recording")
    op.drop_index(op.f("ix_recording_public_id"), table_name="recording")
    op.drop_table("recording")
