"""The chain writer's outbox (issue 15): one ``chain_op`` row per intended transaction.

Revision ID: 0007
Revises: 0006

Revocations, member grants and removals and deployments used to sign, send and wait in the
caller's thread; they are now rows the one writer per signing key signs, sends and confirms
(``chain/writer.py``). Anchoring keeps its own outbox, the ``batch`` table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_op",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("replaced", sa.JSON(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'signed', 'sent', 'confirmed', 'failed')",
            name=op.f("ck_chain_op_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_op")),
        sa.UniqueConstraint("public_id", name=op.f("uq_chain_op_public_id")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_chain_op_dedupe_key")),
    )
    op.create_index(op.f("ix_chain_op_status"), "chain_op", ["status"], unique=False)
    op.create_index(op.f("ix_chain_op_member_id"), "chain_op", ["member_id"], unique=False)
    op.create_index(op.f("ix_chain_op_sender"), "chain_op", ["sender"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chain_op_sender"), table_name="chain_op")
    op.drop_index(op.f("ix_chain_op_member_id"), table_name="chain_op")
    op.drop_index(op.f("ix_chain_op_status"), table_name="chain_op")
    op.drop_table("chain_op")
