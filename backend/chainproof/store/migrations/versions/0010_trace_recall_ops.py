"""Recalls and their lifts go on chain through the chain writer (issue 15).

Revision ID: 0010
Revises: 0009

``trace_recall.op_id`` / ``lift_op_id`` name the ``chain_op`` that sends the recall / the
lift (``trace/ops.py``): a recall is enqueued once, and one whose operation failed is not
sent again behind the operator's back (``POST /api/v1/trace/publish`` retries it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trace_recall") as batch:
        batch.add_column(sa.Column("op_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("lift_op_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trace_recall") as batch:
        batch.drop_column("lift_op_id")
        batch.drop_column("op_id")
