"""The EPCIS 2.0 repository (issue 24): events captured through /epcis, their EPCs, capture
jobs, named queries, webhook subscriptions and their deliveries.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "epcis_capture",
        sa.Column("capture_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("behaviour", sa.String(length=10), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("hashes", sa.JSON(), nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_epcis_capture_member_id_member")
        ),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_epcis_capture")),
    )
    op.create_index(
        op.f("ix_epcis_capture_member_id"), "epcis_capture", ["member_id"], unique=False
    )
    op.create_table(
        "epcis_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=512), nullable=False),
        sa.Column("event_hash", sa.String(length=120), nullable=False),
        sa.Column("prehash", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=24), nullable=False),
        sa.Column("event_time", _utc(), nullable=False),
        sa.Column("record_time", _utc(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=True),
        sa.Column("biz_step", sa.String(length=300), nullable=True),
        sa.Column("disposition", sa.String(length=300), nullable=True),
        sa.Column("read_point", sa.String(length=512), nullable=True),
        sa.Column("biz_location", sa.String(length=512), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("capture_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_epcis_event_evidence_id_evidence")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_epcis_event_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_epcis_event_event_id")),
    )
    for column in (
        "biz_location",
        "biz_step",
        "capture_id",
        "disposition",
        "event_hash",
        "event_time",
        "event_type",
        "member_id",
        "read_point",
        "record_time",
    ):
        op.create_index(op.f(f"ix_epcis_event_{column}"), "epcis_event", [column], unique=False)
    op.create_table(
        "epcis_event_epc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_pk", sa.Integer(), nullable=False),
        sa.Column("epc", sa.String(length=512), nullable=False),
        sa.Column("part", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_pk"], ["epcis_event.id"], name=op.f("fk_epcis_event_epc_event_pk_epcis_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_event_epc")),
    )
    op.create_index(op.f("ix_epcis_event_epc_epc"), "epcis_event_epc", ["epc"], unique=False)
    op.create_index(
        op.f("ix_epcis_event_epc_event_pk"), "epcis_event_epc", ["event_pk"], unique=False
    )

    op.create_table(
        "epcis_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_epcis_query_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_query")),
        sa.UniqueConstraint("member_id", "name", name=op.f("uq_epcis_query_member_id_name")),
    )
    op.create_index(op.f("ix_epcis_query_member_id"), "epcis_query", ["member_id"], unique=False)

    op.create_table(
        "epcis_subscription",
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("query_name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("dest", sa.String(length=2000), nullable=False),
        sa.Column("signature_token", sa.String(length=500), nullable=True),
        sa.Column("report_if_empty", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_epcis_subscription_member_id_member")
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_epcis_subscription")),
    )
    op.create_index(
        op.f("ix_epcis_subscription_member_id"), "epcis_subscription", ["member_id"], unique=False
    )
    op.create_table(
        "epcis_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _utc(), nullable=False),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["epcis_subscription.subscription_id"],
            name=op.f("fk_epcis_delivery_subscription_id_epcis_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_delivery")),
    )
    op.create_index(op.f("ix_epcis_delivery_next_at"), "epcis_delivery", ["next_at"], unique=False)
    op.create_index(
        op.f("ix_epcis_delivery_subscription_id"),
        "epcis_delivery",
        ["subscription_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("epcis_delivery")
    op.drop_table("epcis_subscription")
    op.drop_table("epcis_query")
    op.drop_table("epcis_event_epc")
    op.drop_table("epcis_event")
    op.drop_table("epcis_capture")
