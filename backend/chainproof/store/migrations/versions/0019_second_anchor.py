"""Dual anchoring (issue 22): ``second_anchor``.

Revision ID: 0019
Revises: 0016

One row per batch root this deployment anchored on its second chain too
(``CHAINPROOF_SECOND_CHAIN``): where, so that receipts list both anchors.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "second_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("submitter", sa.String(length=42), nullable=False),
        sa.Column("op_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_anchor")),
        sa.UniqueConstraint("chain_id", "root", name=op.f("uq_second_anchor_chain_id_root")),
    )
    op.create_index(op.f("ix_second_anchor_root"), "second_anchor", ["root"])


def downgrade() -> None:
    op.drop_table("second_anchor")
