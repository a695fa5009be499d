"""Trace ownership (issue #14, finding 5): prefixes per org, custody, recall lifts.

Revision ID: 0006
Revises: 0005

- ``trace_prefix``: GS1 company prefixes and platform-code namespaces admitted to an org;
- ``trace_node.custodian_member_id`` / ``shipped_to_member_id``: who holds a thing now, and
  to whom its holder shipped it. Existing things are held by their owner;
- ``trace_recall``: one row per recall (a lifted lot may be recalled again), with the lift.

- every head and recall is marked unpublished: TraceRegistry v2 replaces a v1 deployment
  on first use (``chain/trace_registry.py``), and the publisher sends them all to it.

Existing orgs own no prefix after the upgrade: an admin admits theirs
(``chainproof trace prefix add``) before they register anything new.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trace_prefix",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("prefix", sa.String(length=14), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint("kind IN ('gs1', 'platform')", name=op.f("ck_trace_prefix_kind")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["trace_org.id"], name=op.f("fk_trace_prefix_org_id_trace_org")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_prefix")),
        sa.UniqueConstraint("kind", "prefix", name=op.f("uq_trace_prefix_kind_prefix")),
    )
    op.create_index(op.f("ix_trace_prefix_org_id"), "trace_prefix", ["org_id"], unique=False)
    with op.batch_alter_table("trace_node") as batch:
        batch.add_column(sa.Column("custodian_member_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("shipped_to_member_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_trace_node_custodian_member_id_member"),
            "member",
            ["custodian_member_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_trace_node_shipped_to_member_id_member"),
            "member",
            ["shipped_to_member_id"],
            ["id"],
        )
    op.execute("UPDATE trace_node SET custodian_member_id = owner_member_id")
    with op.batch_alter_table("trace_recall") as batch:
        batch.drop_constraint(op.f("uq_trace_recall_lot_node_id"), type_="unique")
        batch.add_column(
            sa.Column("by_regulator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("lifted_at", _utc(), nullable=True))
        batch.add_column(sa.Column("lifted_by_member_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lift_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("lift_reason_hash", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("lift_tx_hash", sa.String(length=66), nullable=True))
        batch.create_foreign_key(
            op.f("fk_trace_recall_lifted_by_member_id_member"),
            "member",
            ["lifted_by_member_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_trace_recall_lot_node_id"), ["lot_node_id"], unique=False)
    with op.batch_alter_table("trace_recall") as batch:
        batch.alter_column("by_regulator", server_default=None)
    op.execute("UPDATE trace_node SET published_count = 0")
    op.execute("UPDATE trace_recall SET tx_hash = NULL")


def downgrade() -> None:
    # A lot recalled more than once keeps its newest recall (the old table has one per lot).
    op.execute(
        "DELETE FROM trace_recall WHERE id NOT IN "
        "(SELECT MAX(id) FROM trace_recall GROUP BY lot_node_id)"
    )
    with op.batch_alter_table("trace_recall") as batch:
        batch.drop_index(op.f("ix_trace_recall_lot_node_id"))
        batch.drop_constraint(
            op.f("fk_trace_recall_lifted_by_member_id_member"), type_="foreignkey"
        )
        for column in (
            "lift_tx_hash",
            "lift_reason_hash",
            "lift_reason",
            "lifted_by_member_id",
            "lifted_at",
            "by_regulator",
        ):
            batch.drop_column(column)
        batch.create_unique_constraint(op.f("uq_trace_recall_lot_node_id"), ["lot_node_id"])
    with op.batch_alter_table("trace_node") as batch:
        batch.drop_constraint(op.f("fk_trace_node_shipped_to_member_id_member"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_trace_node_custodian_member_id_member"), type_="foreignkey")
        batch.drop_column("shipped_to_member_id")
        batch.drop_column("custodian_member_id")
    op.drop_index(op.f("ix_trace_prefix_org_id"), table_name="trace_prefix")
    op.drop_table("trace_prefix")
