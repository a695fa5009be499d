"""SQLModel tables: members, API keys, evidence, batches (the outbox) and the anchor index.

One model family per exposed table, as in the FastAPI full-stack template: ``XBase`` holds the
fields a client may see and send, ``X(table=True)`` adds what only the server sets. Routes
return the response models of ``api/schemas.py`` (never the table row itself: it would leak
key hashes and encrypted chain keys).

The database is an index (docs/architecture.md, promise 1): ``AnchorRecord`` and
``RevokedLeaf`` are rebuilt from contract events by ``reindex``; ``Evidence`` and ``Batch`` are
the queue and the outbox that make "nothing accepted is lost, nothing is anchored twice"
(promise 4) hold across crashes.

Conventions that matter for migrations:

- Every constraint and index has a deterministic name (``NAMING_CONVENTION``), so SQLite
  batch migrations can drop them and SQLite and PostgreSQL agree on names. Modules that add
  tables must import this module first, so the convention is in place when they are defined.
- Chain integers (chain id, block number, timestamp, gas) are ``BigInteger``: chain ids and
  gas exceed int32. EIP-2294 bounds chain ids to below 2**63, so int64 is enough.
- ``datetime`` fields map to SQLModel's ``UTCDateTime``: aware datetimes in, UTC-aware
  datetimes out on SQLite and PostgreSQL alike; a naive datetime is refused at write time.
- Enumerated strings (status, role) are plain ``VARCHAR`` with a CHECK constraint, not a
  database ENUM type: adding a value is then a one-line migration on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from chainproof.public_ids import PUBLIC_ID_LEN, new_public_id
from chainproof.roles import Role

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Set before any table class below is created: SQLAlchemy names constraints when they are
# attached to their table, reading the convention of the table's MetaData at that moment.
SQLModel.metadata.naming_convention = NAMING_CONVENTION

HEX32_LEN = 66  # "0x" + 64 hex digits: digests, leaves, roots, tx and block hashes
ADDRESS_LEN = 42  # "0x" + 40 hex digits, EIP-55 checksummed
LABEL_LEN = 200
MAX_ID = 2**63 - 1  # the largest BIGINT: a larger id in a path is a 422, not a database error
FILENAME_LEN = 255  # the usual file-system limit on a file name


def utcnow() -> datetime:
    """Now, as a timezone-aware UTC datetime (the only kind the tables accept)."""
    return datetime.now(UTC)


class EvidenceStatus(StrEnum):
    QUEUED = "queued"  # accepted, waiting for a batch
    BATCHED = "batched"  # in a planned or sent batch
    ANCHORED = "anchored"  # its batch reached the confirmations; proof stored
    REVOKED = "revoked"  # revoked on chain (leaf or whole root)


class BatchStatus(StrEnum):
    PLANNED = "planned"  # written before the transaction is sent (the outbox)
    SENT = "sent"  # raw transaction broadcast, waiting for a receipt
    CONFIRMED = "confirmed"  # enough confirmations
    ORPHANED = "orphaned"  # dropped or reorganised away; its evidence goes back to the queue


def _in_check(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


# --- members -------------------------------------------------------------------------------


class MemberBase(SQLModel):
    name: str = Field(max_length=200, min_length=1, unique=True)


class Member(MemberBase, table=True):
    """A member organisation (成员单位). Writers are members; their chain key proves it."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    chain_address: str | None = Field(default=None, max_length=ADDRESS_LEN)
    # The custodial private key, encrypted with a key derived from CHAINPROOF_SECRET_KEY
    # (store/crypto.py). Null for members that bring their own key (EIP-712 signatures).
    chain_key_encrypted: str | None = Field(default=None, sa_type=Text)


# --- API keys ------------------------------------------------------------------------------


class ApiKeyBase(SQLModel):
    role: str = Field(max_length=16)


class ApiKey(ApiKeyBase, table=True):
    """An API key of a member. Only its SHA-256 is stored; the key is shown once."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(_in_check("role", Role), name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    prefix: str = Field(max_length=12, index=True)
    # Hex SHA-256 of the whole key. A fast unsalted hash is right here, unlike for passwords:
    # keys are 32 random bytes (256 bits of entropy), so neither brute force nor rainbow
    # tables can invert the hash, and a slow KDF would only add latency to every request.
    # Looking the key up by its hash also makes authentication constant-time in the key.
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


# --- batches (the outbox) ------------------------------------------------------------------


class BatchBase(SQLModel):
    root: str = Field(max_length=HEX32_LEN, unique=True)
    leaf_count: int = Field(ge=1)
    metadata_hash: str = Field(max_length=HEX32_LEN)
    chain_id: int = Field(sa_type=BigInteger)
    contract: str = Field(max_length=ADDRESS_LEN)
    signer: str = Field(max_length=ADDRESS_LEN)


class Batch(BatchBase, table=True):
    """One anchoring transaction, written *before* it is sent so a crash resumes it.

    The signed ``raw_tx`` is stored before broadcasting: after a restart the sender re-sends
    exactly the same bytes (same nonce, same hash) instead of signing a second transaction,
    and the contract refuses a root it already holds, so nothing is anchored twice.
    """

    __tablename__ = "batch"
    __table_args__ = (CheckConstraint(_in_check("status", BatchStatus), name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    # Indexed: the sender resumes "planned" and "sent" batches, the watcher polls "sent" ones.
    status: str = Field(default=BatchStatus.PLANNED.value, max_length=16, index=True)
    nonce: int | None = Field(default=None, sa_type=BigInteger)
    raw_tx: str | None = Field(default=None, sa_type=Text)
    tx_hash: str | None = Field(default=None, max_length=HEX32_LEN, index=True)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    block_timestamp: int | None = Field(default=None, sa_type=BigInteger)
    gas_used: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)


class BatchTree(SQLModel, table=True):
    """A batch's whole Merkle tree, written with the batch when it is planned.

    ``nodes`` is OpenZeppelin ``StandardMerkleTree``'s array layout, 32 bytes a node (root
    first, leaves last in reverse sorted order): every proof of the batch is derived from
    it on read, so planning a batch writes this one row instead of a proof into each of
    its evidence rows. A tree is fixed by its root, so a re-planned batch keeps its row.
    """

    __tablename__ = "batch_tree"

    batch_id: int = Field(foreign_key="batch.id", primary_key=True)
    nodes: bytes = Field(sa_type=LargeBinary)


# --- evidence (the queue) ------------------------------------------------------------------


class EvidenceBase(SQLModel):
    algorithm: str = Field(max_length=16)
    digest: str = Field(max_length=HEX32_LEN, index=True)
    label: str | None = Field(default=None, max_length=LABEL_LEN)
    filename: str | None = Field(default=None, max_length=FILENAME_LEN)
    size: int | None = Field(default=None, ge=0, sa_type=BigInteger)  # files exceed 2 GiB


class Evidence(EvidenceBase, table=True):
    """One accepted document digest: queued, then batched, then anchored (or revoked)."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(_in_check("status", EvidenceStatus), name="status"),
        # The batcher claims the oldest queued rows: WHERE status = 'queued' ORDER BY id.
        # The composite index serves that and every plain status filter, so status has no
        # index of its own.
        Index("ix_evidence_status_id", "status", "id"),
        # Ids appear in URLs and receipts: never hand out an id again after a delete.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    # The id every public surface names (URLs, receipts, certificates): a UUIDv7, so ids
    # cannot be walked one by one as the integer key could (public_ids.py). The integer
    # key stays internal (foreign keys, batch order).
    public_id: str = Field(
        default_factory=new_public_id, max_length=PUBLIC_ID_LEN, unique=True, index=True
    )
    # The salt makes the leaf unguessable from a known digest (docs/architecture.md, promise 3);
    # receipts carry it, so it is not secret from the submitter.
    salt: str = Field(max_length=HEX32_LEN)
    # Not indexed: nothing looks a row up by its leaf, and a random 66-character key costs
    # every bulk insert a write to a page anywhere in a large index (0004 dropped it).
    leaf_hash: str = Field(max_length=HEX32_LEN)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    status: str = Field(default=EvidenceStatus.QUEUED.value, max_length=16)
    # Issue 25: the channel (通道) whose members see the record; None: its member alone.
    channel_id: int | None = Field(default=None, index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    # Only rows batched before migration 0004 have one: proofs are now derived from the
    # batch's stored tree (``BatchTree``, evidence/proofs.py). Read it via ``proof_of``.
    proof: list[str] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    anchored_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = Field(default=None, max_length=500)


# --- the anchor index (rebuilt from contract events) ---------------------------------------


class AnchorRecordBase(SQLModel):
    root: str = Field(max_length=HEX32_LEN, primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    contract: str = Field(max_length=ADDRESS_LEN)
    submitter: str = Field(max_length=ADDRESS_LEN, index=True)
    # uint32 on chain: anyone with the role may declare up to 2**32 - 1, past int32.
    leaf_count: int = Field(sa_type=BigInteger)
    metadata_hash: str = Field(max_length=HEX32_LEN)
    tx_hash: str = Field(max_length=HEX32_LEN)
    # Indexed: reindex resumes from the highest block it has seen.
    block_number: int = Field(sa_type=BigInteger, index=True)
    block_hash: str = Field(max_length=HEX32_LEN)
    block_timestamp: int = Field(sa_type=BigInteger)
    log_index: int
    revoked: bool = False
    revoked_reason_hash: str | None = Field(default=None, max_length=HEX32_LEN)


class AnchorRecord(AnchorRecordBase, table=True):
    """An ``Anchored`` event (and any ``RootRevoked`` after it), as the chain reported it."""

    __tablename__ = "anchor_record"


class RevokedLeaf(SQLModel, table=True):
    """A ``LeafRevoked`` event. Internal: verification reports it, no route returns it.

    No foreign key to ``anchor_record``: this table mirrors events, and a partial reindex
    must not fail on the order in which it replays them.
    """

    __tablename__ = "revoked_leaf"

    root: str = Field(max_length=HEX32_LEN, primary_key=True)
    leaf_hash: str = Field(max_length=HEX32_LEN, primary_key=True)
    reason_hash: str = Field(max_length=HEX32_LEN)
    tx_hash: str = Field(max_length=HEX32_LEN)
    block_number: int = Field(sa_type=BigInteger)
