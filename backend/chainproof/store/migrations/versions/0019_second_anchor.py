"""Dual anchoring and cross-chain recalls (issue 22): ``second_anchor``,
``crosschain_recall``, ``crosschain_delivery``.

Revision ID: 0019
Revises: 0016

One row per batch root this deployment anchored on its second chain too
(``CHAINPROOF_SECOND_CHAIN``): where, so that receipts list both anchors. A main
deployment's verified recall messages from its sub-chains, and a sub deployment's record of
the recalls it delivered.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
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
    op.create_table(
        "crosschain_recall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sub_chain_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("lot_uri", sa.String(length=512), nullable=False),
        sa.Column("lot_code", sa.String(length=128), nullable=True),
        sa.Column("lot_key", sa.String(length=66), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("trace_registry", sa.String(length=42), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("tx_index", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosschain_recall")),
        sa.UniqueConstraint(
            "sub_chain_id",
            "block_number",
            "tx_index",
            "kind",
            "lot_key",
            name="uq_crosschain_recall_event",
        ),
    )
    op.create_index(op.f("ix_crosschain_recall_lot_uri"), "crosschain_recall", ["lot_uri"])
    op.create_table(
        "crosschain_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosschain_delivery")),
        sa.UniqueConstraint(
            "recall_id", "kind", name=op.f("uq_crosschain_delivery_recall_id_kind")
        ),
    )


def downgrade() -> None:
    op.drop_table("crosschain_delivery")
    op.drop_table("crosschain_recall")
    op.drop_table("second_anchor")
