"""Evidence a court accepts (issue 19): RFC 3161 tokens issued, and the record of how each
document arrived before the chain.

Revision ID: 0011
Revises: 0010

``tsa_stamp``: every granted token, with the evidence its imprint was queued as.
``evidence_record``: receive time, channel, uploading key, the client's name, size and type,
and the newest block known when the document was accepted (two-sided time).
``batch_meta``: each batch's metadata as its hash was anchored (its ``not_before`` block).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tsa_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=48), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("imprint", sa.String(length=130), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_tsa_stamp_evidence_id_evidence")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_tsa_stamp_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tsa_stamp")),
        sa.UniqueConstraint("serial", name=op.f("uq_tsa_stamp_serial")),
    )
    op.create_index(op.f("ix_tsa_stamp_evidence_id"), "tsa_stamp", ["evidence_id"])
    op.create_table(
        "evidence_record",
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("client_name", sa.String(length=255), nullable=True),
        sa.Column("client_size", sa.BigInteger(), nullable=True),
        sa.Column("client_type", sa.String(length=255), nullable=True),
        sa.Column("head_number", sa.BigInteger(), nullable=True),
        sa.Column("head_hash", sa.String(length=66), nullable=True),
        sa.Column("member_signature", sa.String(length=132), nullable=True),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_evidence_record_evidence_id_evidence")
        ),
        sa.PrimaryKeyConstraint("evidence_id", name=op.f("pk_evidence_record")),
    )
    op.create_table(
        "batch_meta",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("meta", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_batch_meta_batch_id_batch")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_meta")),
    )


def downgrade() -> None:
    op.drop_table("batch_meta")
    op.drop_table("evidence_record")
    op.drop_index(op.f("ix_tsa_stamp_evidence_id"), table_name="tsa_stamp")
    op.drop_table("tsa_stamp")
