"""The index of checkpoints this deployment posted to its main chain (``crosschain_checkpoint``).

One row per range, written in the same commit that confirms the range's ``chain_op`` (so a
kill at any step leaves either the live operation or the row, never both or neither). The
range's block hashes are kept: a receipt's checkpoint proof is built from them with no
sub-chain node, and a reset of the sub-chain shows as a stored hash the node no longer has.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

import chainproof.store.models  # noqa: F401  (the naming convention comes first)
from chainproof.store.models import ADDRESS_LEN, HEX32_LEN, utcnow


class CrosschainCheckpoint(SQLModel, table=True):
    __tablename__ = "crosschain_checkpoint"
    __table_args__ = (UniqueConstraint("chain_registry", "sub_chain_id", "from_block"),)

    id: int | None = Field(default=None, primary_key=True)
    main_chain_id: int = Field(sa_type=BigInteger)
    chain_registry: str = Field(max_length=ADDRESS_LEN)  # the main chain's ChainRegistry
    sub_chain_id: int = Field(sa_type=BigInteger)
    checkpoint_index: int = Field(sa_type=BigInteger)  # the checkpoint's number in ChainRegistry
    from_block: int = Field(sa_type=BigInteger, index=True)
    to_block: int = Field(sa_type=BigInteger, index=True)
    root: str = Field(max_length=HEX32_LEN)
    block_hashes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    main_tx_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    main_block_number: int | None = Field(default=None, sa_type=BigInteger)
    main_block_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    op_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class SecondAnchor(SQLModel, table=True):
    """A batch root anchored on the deployment's second chain too (dual anchoring), written
    in the commit that confirms its ``chain_op``; one per (chain, root)."""

    __tablename__ = "second_anchor"
    __table_args__ = (UniqueConstraint("chain_id", "root"),)

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(max_length=HEX32_LEN, index=True)
    chain_id: int = Field(sa_type=BigInteger)
    contract: str = Field(max_length=ADDRESS_LEN)
    tx_hash: str = Field(max_length=HEX32_LEN)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str = Field(max_length=HEX32_LEN)
    block_timestamp: int = Field(sa_type=BigInteger)
    submitter: str = Field(max_length=ADDRESS_LEN)
    op_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class CrosschainRecall(SQLModel, table=True):
    """A recall (or lift) on a sub-chain's TraceRegistry, received as a verified message
    (``crosschain/messages.py``): the main deployment's scan pages show it for the lot's URI.
    One per event (sub-chain block, transaction index, kind, lot key)."""

    __tablename__ = "crosschain_recall"
    __table_args__ = (
        UniqueConstraint(
            "sub_chain_id",
            "block_number",
            "tx_index",
            "kind",
            "lot_key",
            name="uq_crosschain_recall_event",  # the convention's name is over 63 characters
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    sub_chain_id: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=8)  # "recall" | "lift"
    lot_uri: str = Field(max_length=512, index=True)
    lot_code: str | None = Field(default=None, max_length=128)
    lot_key: str = Field(max_length=HEX32_LEN)
    reason: str = Field(max_length=500)
    trace_registry: str = Field(max_length=ADDRESS_LEN)
    tx_hash: str = Field(max_length=HEX32_LEN)
    block_number: int = Field(sa_type=BigInteger)
    block_timestamp: int = Field(sa_type=BigInteger)
    tx_index: int = Field(sa_type=BigInteger)
    checkpoint_index: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class CrosschainDelivery(SQLModel, table=True):
    """A sub-chain recall (or lift) delivered to the main deployment: sent once, then not."""

    __tablename__ = "crosschain_delivery"
    __table_args__ = (UniqueConstraint("recall_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    recall_id: int = Field(sa_type=BigInteger)  # trace_recall.id
    kind: str = Field(max_length=8)
    delivered_at: datetime = Field(default_factory=utcnow)


class CrosschainRevocation(SQLModel, table=True):
    """A leaf revoked on a sub-chain's EvidenceRegistry, received as a verified message
    (``crosschain/revocations.py``): the main deployment's receipt verdicts show a receipt of
    that leaf revoked. One per (sub-chain, registry, root, leaf)."""

    __tablename__ = "crosschain_revocation"
    __table_args__ = (
        UniqueConstraint(
            "sub_chain_id",
            "evidence_registry",
            "root",
            "leaf_hash",
            name="uq_crosschain_revocation_leaf",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    sub_chain_id: int = Field(sa_type=BigInteger)
    evidence_registry: str = Field(max_length=ADDRESS_LEN)  # the sub-chain's
    root: str = Field(max_length=HEX32_LEN, index=True)
    leaf_hash: str = Field(max_length=HEX32_LEN)
    reason_hash: str = Field(max_length=HEX32_LEN)
    tx_hash: str = Field(max_length=HEX32_LEN)
    block_number: int = Field(sa_type=BigInteger)
    block_timestamp: int = Field(sa_type=BigInteger)
    checkpoint_index: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class CrosschainRevocationDelivery(SQLModel, table=True):
    """A sub-chain leaf revocation delivered to the main deployment: sent once, then not."""

    __tablename__ = "crosschain_revocation_delivery"

    root: str = Field(max_length=HEX32_LEN, primary_key=True)
    leaf_hash: str = Field(max_length=HEX32_LEN, primary_key=True)
    delivered_at: datetime = Field(default_factory=utcnow)
