"""Issue 25: business types (``business_type``, ``evidence_metadata``), data resources
(``data_resource``, ``data_grant``), channels on recordings and licences
(``recording.channel_id``, ``licence.channel_id``), and the settings last recorded
(``settings_state``, for the audit log's ``settings.change``).

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
down_revision: str | Sequence[str] | None = "0019"
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
    op.create_table(
        "data_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("owner_member_id", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_member_id"], ["member.id"], name=op.f("fk_data_resource_owner_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_data_resource_evidence_id_evidence")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_resource")),
    )
    op.create_index(op.f("ix_data_resource_public_id"), "data_resource", ["public_id"], unique=True)
    op.create_index(op.f("ix_data_resource_owner_member_id"), "data_resource", ["owner_member_id"])
    op.create_table(
        "data_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["data_resource.id"],
            name=op.f("fk_data_grant_resource_id_data_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_data_grant_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_grant")),
        sa.UniqueConstraint(
            "resource_id", "member_id", name=op.f("uq_data_grant_resource_id_member_id")
        ),
    )
    op.create_index(op.f("ix_data_grant_resource_id"), "data_grant", ["resource_id"])
    op.create_index(op.f("ix_data_grant_member_id"), "data_grant", ["member_id"])
    op.create_table(
        "settings_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_state")),
    )
    for table in ("recording", "licence"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
            batch.create_index(op.f(f"ix_{table}_channel_id"), ["channel_id"])


def downgrade() -> None:
    op.drop_table("settings_state")
    for table in ("licence", "recording"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_channel_id"))
            batch.drop_column("channel_id")
    op.drop_table("data_grant")
    op.drop_table("data_resource")
    op.drop_table("evidence_metadata")
    op.drop_table("business_type")
