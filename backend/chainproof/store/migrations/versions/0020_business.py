"""Issue 25: business types (``business_type``, ``evidence_metadata``) and data resources
(``data_resource``, ``data_grant``).

Revision ID: 0020
Revises: 0016

A typed document's metadata row is keyed by the salt it produced (``receipts/metadata.py``);
a data resource is a manifest committed as one Merkle root, anchored as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metadata_schema", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_type")),
        sa.UniqueConstraint("code", name=op.f("uq_business_type_code")),
    )
    op.create_table(
        "evidence_metadata",
        sa.Column("salt", sa.String(length=66), nullable=False),
        sa.Column("business_type_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=66), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_type_id"],
            ["business_type.id"],
            name=op.f("fk_evidence_metadata_business_type_id_business_type"),
        ),
        sa.PrimaryKeyConstraint("salt", name=op.f("pk_evidence_metadata")),
    )
    op.create_index(
        op.f("ix_evidence_metadata_business_type_id"), "evidence_metadata", ["business_type_id"]
    )


def downgrade() -> None:
    op.drop_table("evidence_metadata")
    op.drop_table("business_type")
