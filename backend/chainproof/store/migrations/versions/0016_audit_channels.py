"""The audit side chain (issue 25): ``audit_entry``, and the read-only ``auditor`` role.

Revision ID: 0016
Revises: 0013

Each audited action is one row whose canonical record is hash-chained to the previous
row's and queued as evidence (``audit/log.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "role IN ('admin', 'submitter', 'reviewer')"
NEW_ROLES = "role IN ('admin', 'submitter', 'reviewer', 'auditor')"


def _roles(check: str) -> None:
    for table in ("api_key", "user_account"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_role"), type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_role"), sa.text(check))


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("actor_key_id", sa.Integer(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_org", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("record_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_entry_seq")),
    )
    op.create_index(op.f("ix_audit_entry_at"), "audit_entry", ["at"])
    op.create_index(op.f("ix_audit_entry_action"), "audit_entry", ["action"])
    op.create_index(op.f("ix_audit_entry_actor_org"), "audit_entry", ["actor_org"])
    op.create_index(op.f("ix_audit_entry_record_hash"), "audit_entry", ["record_hash"])
    _roles(NEW_ROLES)


def downgrade() -> None:
    op.execute("DELETE FROM api_key WHERE role = 'auditor'")
    op.execute("DELETE FROM user_account WHERE role = 'auditor'")
    _roles(OLD_ROLES)
    op.drop_table("audit_entry")
