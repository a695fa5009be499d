"""Licence holders on the platform (issue 20): ``licence.holder_member_id``.

Revision ID: 0017
Revises: 0016

A licence may name its holder's org (a member): that org's people see the licence, print it
and make presentations of it. Nullable: a holder without an org here is the text it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("licence") as batch:
        batch.add_column(sa.Column("holder_member_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_licence_holder_member_id"), ["holder_member_id"], unique=False)
        batch.create_foreign_key(
            op.f("fk_licence_holder_member_id_member"), "member", ["holder_member_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("licence") as batch:
        batch.drop_constraint(op.f("fk_licence_holder_member_id_member"), type_="foreignkey")
        batch.drop_index(op.f("ix_licence_holder_member_id"))
        batch.drop_column("holder_member_id")
