"""Batch trees (issue #8, bulk ingest): one stored Merkle tree per batch, proofs on read.

Revision ID: 0004
Revises: 0003

Planning a batch used to write a JSON proof into each of its evidence rows (10,000 row
updates a batch); now the batch's whole tree goes into one ``batch_tree`` row and a row's
proof is derived from it when a receipt or a verdict needs it (``evidence/proofs.py``).
Existing rows keep their ``evidence.proof``, which readers still use as it is, so upgrading
moves no data. Downgrading writes the derived proofs back into the rows that have none,
so the previous code finds every proof where it looks.

Also drops ``ix_evidence_leaf_hash``: no query looks evidence up by its leaf, and a random
66-character key made every bulk insert dirty pages all over a large index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NODE = 32


def upgrade() -> None:
    op.create_table(
        "batch_tree",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("nodes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_batch_tree_batch_id_batch")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_tree")),
    )
    # A plain DROP INDEX on both databases (no batch copy of the evidence table needed).
    op.drop_index("ix_evidence_leaf_hash", table_name="evidence")


def _proof(nodes: bytes, leaf: bytes) -> list[str] | None:
    # A frozen copy of evidence/proofs.py's walk: a migration must not change with the code.
    total = len(nodes) // NODE
    index = {nodes[i * NODE : (i + 1) * NODE]: i for i in range(total // 2, total)}
    node = index.get(leaf)
    if node is None:
        return None
    out = []
    while node > 0:
        sibling = node + 1 if node % 2 else node - 1
        out.append("0x" + nodes[sibling * NODE : (sibling + 1) * NODE].hex())
        node = (node - 1) // 2
    return out


def downgrade() -> None:
    conn = op.get_bind()
    trees = conn.execute(sa.text("SELECT batch_id, nodes FROM batch_tree")).all()
    for batch_id, nodes in trees:
        rows = conn.execute(
            sa.text("SELECT id, leaf_hash FROM evidence WHERE batch_id = :b AND proof IS NULL"),
            {"b": batch_id},
        ).all()
        updates = []
        for row_id, leaf_hash in rows:
            proof = _proof(bytes(nodes), bytes.fromhex(leaf_hash[2:]))
            if proof is not None:
                updates.append({"id": row_id, "proof": proof})
        if updates:
            # Typed as JSON so PostgreSQL gets a json value, SQLite its JSON text.
            update = sa.text("UPDATE evidence SET proof = :proof WHERE id = :id").bindparams(
                sa.bindparam("proof", type_=sa.JSON())
            )
            conn.execute(update, updates)
    op.create_index("ix_evidence_leaf_hash", "evidence", ["leaf_hash"])
    op.drop_table("batch_tree")
