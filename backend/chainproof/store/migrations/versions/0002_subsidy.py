"""Subsidy applications (issue #4): rounds, applications, documents, manifests, transitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand like 0001: every constraint named, enumerated values spelled out (the
models will move on, a migration must not). Seeds the "2023" round of the guide. The guide
gives no deadline; 2023-12-31 23:59:59 Beijing time (the end of the program year) stands
in for it until an admin sets the real one (``PATCH /api/v1/subsidy/rounds/2023``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEX32 = 66
STATUSES = (
    "'draft', 'submitted', 'under_review', 'approved', 'rejected', "
    "'acceptance_submitted', 'accepted', 'acceptance_failed'"
)
PHASES = "'application', 'acceptance'"
KINDS = "'申报书', '合同', '发票', '人员名单', '培训材料', '其他'"
BEIJING = timezone(timedelta(hours=8))


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    rounds = op.create_table(
        "subsidy_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("deadline", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_round")),
        sa.UniqueConstraint("code", name=op.f("uq_subsidy_round_code")),
    )

    op.create_table(
        "subsidy_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("scope_category", sa.String(length=16), nullable=False),
        sa.Column("scope_field", sa.String(length=32), nullable=False),
        sa.Column("project_name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("requests", sa.JSON(), nullable=False),
        sa.Column("self_investment_fen", sa.BigInteger(), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("training_classes", sa.JSON(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_application")),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["subsidy_round.id"],
            name=op.f("fk_subsidy_application_round_id_subsidy_round"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_subsidy_application_member_id_member")
        ),
        sa.UniqueConstraint(
            "round_id", "member_id", name=op.f("uq_subsidy_application_round_id_member_id")
        ),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_subsidy_application_status")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_subsidy_application_round_id"), "subsidy_application", ["round_id"])
    op.create_index(op.f("ix_subsidy_application_member_id"), "subsidy_application", ["member_id"])
    op.create_index(op.f("ix_subsidy_application_status"), "subsidy_application", ["status"])

    op.create_table(
        "subsidy_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("invoice_number", sa.String(length=64), nullable=True),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_document")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_application.id"],
            name=op.f("fk_subsidy_document_application_id_subsidy_application"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name=op.f("fk_subsidy_document_evidence_id_evidence")
        ),
        sa.UniqueConstraint("evidence_id", name=op.f("uq_subsidy_document_evidence_id")),
        sa.CheckConstraint(f"phase IN ({PHASES})", name=op.f("ck_subsidy_document_phase")),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_subsidy_document_kind")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_subsidy_document_application_id"), "subsidy_document", ["application_id"]
    )
    op.create_index(
        op.f("ix_subsidy_document_invoice_number"), "subsidy_document", ["invoice_number"]
    )

    op.create_table(
        "subsidy_manifest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=HEX32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_manifest")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_application.id"],
            name=op.f("fk_subsidy_manifest_application_id_subsidy_application"),
        ),
        sa.UniqueConstraint(
            "application_id", "phase", name=op.f("uq_subsidy_manifest_application_id_phase")
        ),
        sa.CheckConstraint(f"phase IN ({PHASES})", name=op.f("ck_subsidy_manifest_phase")),
    )
    op.create_index(op.f("ix_subsidy_manifest_digest"), "subsidy_manifest", ["digest"])

    op.create_table(
        "subsidy_transition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_member_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("record_hash", sa.String(length=HEX32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_transition")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["subsidy_application.id"],
            name=op.f("fk_subsidy_transition_application_id_subsidy_application"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_member_id"],
            ["member.id"],
            name=op.f("fk_subsidy_transition_actor_member_id_member"),
        ),
        sa.UniqueConstraint(
            "application_id", "seq", name=op.f("uq_subsidy_transition_application_id_seq")
        ),
        sa.CheckConstraint(
            f"to_status IN ({STATUSES})", name=op.f("ck_subsidy_transition_to_status")
        ),
    )
    op.create_index(
        op.f("ix_subsidy_transition_record_hash"), "subsidy_transition", ["record_hash"]
    )

    op.bulk_insert(
        rounds,
        [
            {
                "code": "2023",
                "name": "中国—东盟区块链创新中心2023年专项补贴项目",
                "deadline": datetime(2023, 12, 31, 23, 59, 59, tzinfo=BEIJING).astimezone(UTC),
                "created_at": datetime(2026, 11, 23, tzinfo=UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("subsidy_transition")
    op.drop_table("subsidy_manifest")
    op.drop_table("subsidy_document")
    op.drop_table("subsidy_application")
    op.drop_table("subsidy_round")
