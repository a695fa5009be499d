"""Verifiable random draws, the invoice map and sealed bids (issue 21): ``draw``,
``invoice_claim``, ``invoice_root``, ``tender``, ``tender_flag``.

Revision ID: 0014
Revises: 0013

A draw's commitment record is anchored as an ordinary evidence row (``evidence_id``); the
secret stays encrypted until the target block exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("target_block", sa.Integer(), nullable=False),
        sa.Column("candidates_hash", sa.String(length=66), nullable=False),
        sa.Column("secret_commitment", sa.String(length=66), nullable=False),
        sa.Column("record_digest", sa.String(length=66), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(length=66), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("selected", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("void_reason", sa.String(length=300), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('committed', 'drawn', 'void')", name=op.f("ck_draw_status")),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_draw_evidence_id_evidence")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_draw_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw")),
    )
    op.create_index(op.f("ix_draw_public_id"), "draw", ["public_id"], unique=True)
    op.create_index(op.f("ix_draw_evidence_id"), "draw", ["evidence_id"])
    op.create_index(op.f("ix_draw_status"), "draw", ["status"])
    op.create_table(
        "invoice_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=66), nullable=False),
        sa.Column("value", sa.String(length=66), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_application.id"],
            name=op.f("fk_invoice_claim_application_id_subsidy_application"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["subsidy_document.id"],
            name=op.f("fk_invoice_claim_document_id_subsidy_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_claim")),
        sa.UniqueConstraint("key", name=op.f("uq_invoice_claim_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_invoice_claim_application_id"), "invoice_claim", ["application_id"])
    op.create_table(
        "invoice_root",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("record_digest", sa.String(length=66), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_root")),
        sa.UniqueConstraint("size", name=op.f("uq_invoice_root_size")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_invoice_root_record_digest"), "invoice_root", ["record_digest"])
    op.create_table(
        "tender",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tender_id", sa.String(length=66), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender")),
        sa.UniqueConstraint("reference", name=op.f("uq_tender_reference")),
    )
    op.create_table(
        "tender_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender", sa.Integer(), nullable=False),
        sa.Column("bidder", sa.String(length=42), nullable=False),
        sa.Column("bid_digest", sa.String(length=66), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender"], ["tender.id"], name=op.f("fk_tender_flag_tender_tender")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_flag")),
    )
    op.create_index(op.f("ix_tender_flag_tender"), "tender_flag", ["tender"])


def downgrade() -> None:
    op.drop_table("tender_flag")
    op.drop_table("tender")
    op.drop_table("invoice_root")
    op.drop_table("invoice_claim")
    op.drop_table("draw")
