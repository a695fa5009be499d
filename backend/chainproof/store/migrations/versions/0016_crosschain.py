"""Cross-chain checkpoints (issue 22): ``crosschain_checkpoint``.

Revision ID: 0016
Revises: 0015

One row per sub-chain block range this deployment anchored on its main chain's
ChainRegistry, with the range's block hashes (receipts' checkpoint proofs, reset detection).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crosschain_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("main_chain_id", sa.BigInteger(), nullable=False),
        sa.Column("chain_registry", sa.String(length=42), nullable=False),
        sa.Column("sub_chain_id", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False),
        sa.Column("from_block", sa.BigInteger(), nullable=False),
        sa.Column("to_block", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("block_hashes", sa.JSON(), nullable=False),
        sa.Column("main_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("main_block_number", sa.BigInteger(), nullable=True),
        sa.Column("main_block_hash", sa.String(length=66), nullable=True),
        sa.Column("op_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosschain_checkpoint")),
        sa.UniqueConstraint(
            "chain_registry",
            "sub_chain_id",
            "from_block",
            name=op.f("uq_crosschain_checkpoint_chain_registry_sub_chain_id_from_block"),
        ),
    )
    for column in ("from_block", "to_block"):
        op.create_index(
            op.f(f"ix_crosschain_checkpoint_{column}"), "crosschain_checkpoint", [column]
        )


def downgrade() -> None:
    op.drop_table("crosschain_checkpoint")
