"""Traceability (issue #5): orgs and locations, items and lots, EPCIS events, hash chains,
lineage edges, recalls and scan counters.

Revision ID: 0003
Revises: 0002

Written from the models in ``chainproof/trace/models.py`` (every constraint named through
the naming convention, enumerated values spelled out), like 0001 and 0002.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trace_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("uri", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=300), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("serial", sa.String(length=20), nullable=True),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("lot_node_id", sa.Integer(), nullable=True),
        sa.Column("owner_member_id", sa.Integer(), nullable=True),
        sa.Column("salt", sa.String(length=66), nullable=False),
        sa.Column("chain_key", sa.String(length=66), nullable=False),
        sa.Column("head", sa.String(length=66), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("published_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint("kind IN ('item', 'lot')", name=op.f("ck_trace_node_kind")),
        sa.ForeignKeyConstraint(
            ["lot_node_id"], ["trace_node.id"], name=op.f("fk_trace_node_lot_node_id_trace_node")
        ),
        sa.ForeignKeyConstraint(
            ["owner_member_id"], ["member.id"], name=op.f("fk_trace_node_owner_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_node")),
        sa.UniqueConstraint("chain_key", name=op.f("uq_trace_node_chain_key")),
        sa.UniqueConstraint("code", name=op.f("uq_trace_node_code")),
        sa.UniqueConstraint("uri", name=op.f("uq_trace_node_uri")),
    )
    op.create_index(op.f("ix_trace_node_lot_node_id"), "trace_node", ["lot_node_id"], unique=False)
    op.create_index(
        op.f("ix_trace_node_owner_member_id"), "trace_node", ["owner_member_id"], unique=False
    )
    op.create_index(
        op.f("ix_trace_node_published_count"), "trace_node", ["published_count"], unique=False
    )
    op.create_table(
        "trace_org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "role IN ('producer', 'processor', 'logistics', 'retailer', 'regulator')",
            name=op.f("ck_trace_org_role"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_trace_org_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_org")),
        sa.UniqueConstraint("member_id", name=op.f("uq_trace_org_member_id")),
    )
    op.create_table(
        "trace_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(length=120), nullable=False),
        sa.Column("prehash", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=24), nullable=False),
        sa.Column("biz_step", sa.String(length=40), nullable=True),
        sa.Column("event_time", _utc(), nullable=False),
        sa.Column("event_time_zone_offset", sa.String(length=6), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_trace_event_evidence_id_evidence")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_trace_event_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_event")),
        sa.UniqueConstraint("event_hash", name=op.f("uq_trace_event_event_hash")),
    )
    op.create_index(op.f("ix_trace_event_biz_step"), "trace_event", ["biz_step"], unique=False)
    op.create_index(op.f("ix_trace_event_event_time"), "trace_event", ["event_time"], unique=False)
    op.create_index(op.f("ix_trace_event_member_id"), "trace_event", ["member_id"], unique=False)
    op.create_table(
        "trace_location",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("gln", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["trace_org.id"], name=op.f("fk_trace_location_org_id_trace_org")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_location")),
        sa.UniqueConstraint("gln", name=op.f("uq_trace_location_gln")),
    )
    op.create_index(op.f("ix_trace_location_org_id"), "trace_location", ["org_id"], unique=False)
    op.create_table(
        "trace_recall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_node_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reason_hash", sa.String(length=66), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.ForeignKeyConstraint(
            ["lot_node_id"], ["trace_node.id"], name=op.f("fk_trace_recall_lot_node_id_trace_node")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_trace_recall_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_recall")),
        sa.UniqueConstraint("lot_node_id", name=op.f("uq_trace_recall_lot_node_id")),
    )
    op.create_table(
        "trace_scan",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", _utc(), nullable=False),
        sa.Column("last_at", _utc(), nullable=False),
        sa.Column("window_start", _utc(), nullable=False),
        sa.Column("window_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["trace_node.id"], name=op.f("fk_trace_scan_node_id_trace_node")
        ),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_trace_scan")),
    )
    op.create_table(
        "trace_edge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("src_id", sa.Integer(), nullable=False),
        sa.Column("dst_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["dst_id"], ["trace_node.id"], name=op.f("fk_trace_edge_dst_id_trace_node")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["trace_event.id"], name=op.f("fk_trace_edge_event_id_trace_event")
        ),
        sa.ForeignKeyConstraint(
            ["src_id"], ["trace_node.id"], name=op.f("fk_trace_edge_src_id_trace_node")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_edge")),
        sa.UniqueConstraint(
            "src_id", "dst_id", "event_id", name=op.f("uq_trace_edge_src_id_dst_id_event_id")
        ),
    )
    op.create_index(op.f("ix_trace_edge_dst_id"), "trace_edge", ["dst_id"], unique=False)
    op.create_index(op.f("ix_trace_edge_src_id"), "trace_edge", ["src_id"], unique=False)
    op.create_table(
        "trace_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("prev", sa.String(length=66), nullable=False),
        sa.Column("link", sa.String(length=66), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["trace_event.id"], name=op.f("fk_trace_link_event_id_trace_event")
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["trace_node.id"], name=op.f("fk_trace_link_node_id_trace_node")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_link")),
        sa.UniqueConstraint("node_id", "event_id", name=op.f("uq_trace_link_node_id_event_id")),
        sa.UniqueConstraint("node_id", "seq", name=op.f("uq_trace_link_node_id_seq")),
    )
    op.create_index(op.f("ix_trace_link_event_id"), "trace_link", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_table("trace_link")
    op.drop_table("trace_edge")
    op.drop_table("trace_scan")
    op.drop_table("trace_recall")
    op.drop_table("trace_location")
    op.drop_table("trace_event")
    op.drop_table("trace_org")
    op.drop_table("trace_node")
