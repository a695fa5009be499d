"""Evidence public ids (issue 14, finding 6): a UUIDv7 per evidence row.

Revision ID: 0005
Revises: 0004

URLs, receipts and certificates named evidence by its integer primary key, which anyone
could count through. Every row now gets ``public_id``, a UUIDv7 (``chainproof/public_ids.py``)
that public surfaces use instead; the integer key stays internal. Existing rows are
backfilled with ids whose time part is their ``created_at``, so the index stays in time
order, and whose random part comes from ``os.urandom``. Old integer URLs then answer 404.

The column is added nullable, filled, then made NOT NULL with its unique index (on SQLite
through a batch copy of the table, keeping ``AUTOINCREMENT``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5_000


def _uuid7(ms: int) -> str:
    # A frozen copy of public_ids.py's layout: a migration must not change with the code.
    r = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (r >> 68) << 64 | 0b10 << 62 | r & (2**62 - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ms(created: object) -> int:
    if isinstance(created, datetime):
        moment = created if created.tzinfo else created.replace(tzinfo=UTC)
    elif isinstance(created, str):
        moment = datetime.fromisoformat(created)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        moment = datetime.now(UTC)
    return int(moment.timestamp() * 1000)


def upgrade() -> None:
    op.add_column("evidence", sa.Column("public_id", sa.String(length=36), nullable=True))
    conn = op.get_bind()
    update = sa.text("UPDATE evidence SET public_id = :public_id WHERE id = :id")
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, created_at FROM evidence WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK},
        ).all()
        if not rows:
            break
        conn.execute(update, [{"id": i, "public_id": _uuid7(_ms(c))} for i, c in rows])
        last = rows[-1][0]
    with op.batch_alter_table("evidence", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=36), nullable=False)
        batch.create_index("ix_evidence_public_id", ["public_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("evidence", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index("ix_evidence_public_id")
        batch.drop_column("public_id")
