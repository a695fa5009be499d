"""EPCIS ``orderBy`` (issue 24): ``epcis_event`` indexes on (member_id, event_time, id) and
(member_id, record_time, id).

Revision ID: 0021
Revises: 0019

An ordered query pages by keyset (the last event's time and id): with these indexes each
page of one org's events is an index range read, not a sort of all its events.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_epcis_event_member_event_time",
        "epcis_event",
        ["member_id", "event_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_epcis_event_member_record_time",
        "epcis_event",
        ["member_id", "record_time", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_epcis_event_member_record_time", table_name="epcis_event")
    op.drop_index("ix_epcis_event_member_event_time", table_name="epcis_event")
