"""Issue 25: the audit side chain (``audit_entry``, the read-only ``auditor`` role) and
channels (``channel``, ``channel_member``, ``evidence.channel_id``).

Revision ID: 0015
Revises: 0014

Each audited action is one row whose canonical record is hash-chained to the previous
row's and queued as evidence (``audit/log.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
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
    op.create_table(
        "channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel")),
        sa.UniqueConstraint("name", name=op.f("uq_channel_name")),
    )
    op.create_table(
        "channel_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channel.id"], name=op.f("fk_channel_member_channel_id_channel")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_channel_member_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_member")),
        sa.UniqueConstraint(
            "channel_id", "member_id", name=op.f("uq_channel_member_channel_id_member_id")
        ),
    )
    op.create_index(op.f("ix_channel_member_channel_id"), "channel_member", ["channel_id"])
    op.create_index(op.f("ix_channel_member_member_id"), "channel_member", ["member_id"])
    op.add_column("evidence", sa.Column("channel_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_evidence_channel_id"), "evidence", ["channel_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_channel_id"), table_name="evidence")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("channel_id")
    op.drop_table("channel_member")
    op.drop_table("channel")
    op.execute("DELETE FROM api_key WHERE role = 'auditor'")
    op.execute("DELETE FROM user_account WHERE role = 'auditor'")
    _roles(OLD_ROLES)
    op.drop_table("audit_entry")
