"""Virtual channels (issue 25, 虚拟通道): a channel may anchor in an EvidenceRegistry of its
own, ``channel.virtual``, ``channel.registry_address``, ``channel.registry_code_hash`` and
``channel.registry_op`` (the chain writer's deployment operation).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel") as batch:
        batch.add_column(
            sa.Column("virtual", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("registry_address", sa.String(length=42), nullable=True))
        batch.add_column(sa.Column("registry_code_hash", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("registry_op", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(op.f("uq_channel_registry_address"), ["registry_address"])
    with op.batch_alter_table("channel") as batch:
        batch.alter_column("virtual", server_default=None)  # as the model: no default in SQL


def downgrade() -> None:
    with op.batch_alter_table("channel") as batch:
        batch.drop_constraint(op.f("uq_channel_registry_address"), type_="unique")
        batch.drop_column("registry_op")
        batch.drop_column("registry_code_hash")
        batch.drop_column("registry_address")
        batch.drop_column("virtual")
