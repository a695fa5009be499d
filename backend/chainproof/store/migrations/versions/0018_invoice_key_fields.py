"""Invoice key fields (issue 21): ``subsidy_document.issuer_tax_id`` and ``invoice_code``.

Revision ID: 0018
Revises: 0016

The invoice map's key is ``keccak256(abi.encode("chainproof-invoice-key/2", tax id, invoice
code, number))`` for documents declared with the issuer's tax id (统一社会信用代码) and the
invoice code (发票代码) as fields of their own. Rows from before keep their declared issuer
and number (and their keys in the append-only map): nullable columns, nothing backfilled.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table(
        "subsidy_document", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.add_column(sa.Column("issuer_tax_id", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("invoice_code", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(
        "subsidy_document", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_column("invoice_code")
        batch.drop_column("issuer_tax_id")
