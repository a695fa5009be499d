"""Cross-chain evidence revocations (issue 22): ``crosschain_revocation``,
``crosschain_revocation_delivery``.

Revision ID: 0022
Revises: 0019

A main deployment's verified leaf revocations from its sub-chains (its receipt verdicts show
them), and a sub deployment's record of the revocations it delivered.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crosschain_revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sub_chain_id", sa.BigInteger(), nullable=False),
        sa.Column("evidence_registry", sa.String(length=42), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("leaf_hash", sa.String(length=66), nullable=False),
        sa.Column("reason_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosschain_revocation")),
        sa.UniqueConstraint(
            "sub_chain_id",
            "evidence_registry",
            "root",
            "leaf_hash",
            name="uq_crosschain_revocation_leaf",
        ),
    )
    op.create_index(op.f("ix_crosschain_revocation_root"), "crosschain_revocation", ["root"])
    op.create_table(
        "crosschain_revocation_delivery",
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("leaf_hash", sa.String(length=66), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "root", "leaf_hash", name=op.f("pk_crosschain_revocation_delivery")
        ),
    )


def downgrade() -> None:
    op.drop_table("crosschain_revocation_delivery")
    op.drop_table("crosschain_revocation")
