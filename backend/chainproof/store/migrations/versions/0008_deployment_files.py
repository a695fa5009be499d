"""Deployment records in the database (issue 15): every host finds the same contracts.

Revision ID: 0008
Revises: 0007

The files under ``<data dir>/deployments/`` are mirrored in ``deployment_file`` (name,
body); the database's copy wins (``store/shared_files.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployment_file",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_deployment_file")),
    )


def downgrade() -> None:
    op.drop_table("deployment_file")
