"""The receipt format: the model, its fields' checks, the evidence leaf and salts, and the
JSON Schema generated from it (``docs/receipt.schema.json``, ``docs/receipt.md``)."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

from eth_utils import is_checksum_address, to_checksum_address
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from chainproof.crosschain.section import CheckpointSection
from chainproof.digests import DIGEST_SIZE, Algorithm, check_algorithm, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import EVIDENCE_LEAF_TYPES as LEAF_TYPES
from chainproof.merkle import leaf_hash
from chainproof.receipts.metadata import METADATA_TEXT_MAX
from chainproof.validation import invalid_input
from chainproof.vocabulary import Hash32
from chainproof.vocabulary import SaltSource as SaltSource  # random_salt is one

if TYPE_CHECKING:  # trust.py builds on this module's types; only the checks need the anchor
    pass


RECEIPT_VERSION: Final = 1
SALT_SIZE: Final = 32
TSA_TOKEN_MAX_B64: Final = 16384  # a token with its certificates is 2-4 KiB


def random_salt() -> Hash32:
    """32 bytes from the OS CSPRNG: the default :data:`SaltSource`."""
    return secrets.token_bytes(SALT_SIZE)


def evidence_leaf(
    algorithm: Algorithm, digest: Hash32, salt: Hash32
) -> tuple[list[str], list[Any]]:
    """``(leaf_types, leaf_values)`` of a document's leaf, values in JSON form.

    ``leaf_values`` is ``[algorithm, "0x<digest>", "0x<salt>"]``: what a receipt stores and
    what ``StandardMerkleTree.of``/``verify`` (here or in JS) accept as they are.
    """
    check_algorithm(algorithm)
    for what, value in (("digest", digest), ("salt", salt)):
        if len(value) != DIGEST_SIZE:
            raise InvalidInputError(f"{what} must be {DIGEST_SIZE} bytes, got {len(value)}")
    return list(LEAF_TYPES), [algorithm, to_hex(digest), to_hex(salt)]


def evidence_leaf_hash(algorithm: Algorithm, digest: Hash32, salt: Hash32) -> Hash32:
    """The Merkle leaf hash of a document (what the registry's ``verify`` takes as ``leaf``)."""
    return leaf_hash(*evidence_leaf(algorithm, digest, salt))


# --- the model ---------------------------------------------------------------------------

_HEX_BODY = re.compile(r"[0-9a-fA-F]*")


def _hex_of(size: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.startswith("0x"):
            raise ValueError(f"must start with 0x, got {value[:12]!r}")
        body = value[2:]
        if not _HEX_BODY.fullmatch(body):
            raise ValueError(f"must be hexadecimal after 0x, got {value!r}")
        if len(body) != 2 * size:
            raise ValueError(
                f"must be {2 * size} hex digits ({size} bytes) after 0x, got {len(body)}"
            )
        return "0x" + body.lower()

    return check


def _address(value: str) -> str:
    _hex_of(20)(value)
    body = value[2:]
    # Mixed case claims an EIP-55 checksum: a wrong one is a typo, not an address.
    if body not in (body.lower(), body.upper()) and not is_checksum_address(value):
        raise ValueError(f"bad EIP-55 checksum in address {value}")
    return to_checksum_address(value)


Hex32 = Annotated[
    str,
    AfterValidator(_hex_of(32)),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}),
]
Address = Annotated[
    str,
    AfterValidator(_address),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}),
]
# Strict: "12" or 12.0 or true for a block number is a producer bug, not a number.
_Count = Annotated[int, Field(strict=True, ge=0)]


MAX_OTHER_ANCHORS: Final = 4


class OtherAnchor(BaseModel):
    """The same root anchored on another chain (dual anchoring, docs/crosschain.md): where,
    as the receipt's own fields say it for its first chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: Annotated[int, Field(strict=True, ge=1)] = Field(description="EIP-155 chain id.")
    contract: Address = Field(description="EvidenceRegistry there.")
    tx_hash: Hex32 = Field(description="The anchoring transaction there.")
    block_number: _Count = Field(description="Its block.")
    block_hash: Hex32 = Field(description="That block's hash.")
    block_timestamp: _Count = Field(description="That block's timestamp (Unix seconds).")
    submitter: Address = Field(description="Who anchored the root there (event submitter).")


class MetadataSection(BaseModel):
    """A typed document's business type and metadata, committed in its salt
    (``receipts/metadata.py``, docs/receipt.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(
        max_length=METADATA_TEXT_MAX,
        description=(
            'The committed text: RFC 8785 canonical JSON of {"business_type": code, '
            '"metadata": object}, hashed as these UTF-8 bytes.'
        ),
    )
    nonce: Hex32 = Field(
        description="32 random bytes: salt = keccak256(nonce ‖ keccak256(utf8(text)))."
    )


class Receipt(BaseModel):
    """A ChainProof evidence receipt (version 1). Hex is ``0x`` + lowercase, addresses EIP-55."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="ChainProof receipt",
        json_schema_extra={
            "description": (
                "Self-contained proof that a document digest was anchored on an EVM chain "
                "through the ChainProof EvidenceRegistry. See docs/receipt.md."
            )
        },
    )

    version: int = Field(
        description="Receipt format version.",
        json_schema_extra={"const": RECEIPT_VERSION},
    )
    algorithm: Algorithm = Field(description="Digest algorithm of the document.")
    digest: Hex32 = Field(description="Digest of the document's bytes.")
    salt: Hex32 = Field(description="32 random bytes hashed into the leaf with the digest.")
    leaf_types: list[str] = Field(
        description="ABI types of the leaf values (StandardMerkleTree leafEncoding).",
        json_schema_extra={"const": list(LEAF_TYPES)},
    )
    leaf_values: tuple[Algorithm, Hex32, Hex32] = Field(
        description="The leaf: [algorithm, digest, salt]."
    )
    leaf_hash: Hex32 = Field(
        description="keccak256(keccak256(abi.encode(leaf_values))), as in StandardMerkleTree."
    )
    proof: list[Hex32] = Field(description="Sibling hashes from the leaf up to the root.")
    root: Hex32 = Field(description="Merkle root anchored on chain.")
    chain_id: Annotated[int, Field(strict=True, ge=1)] = Field(description="EIP-155 chain id.")
    contract: Address = Field(description="EvidenceRegistry contract address.")
    tx_hash: Hex32 = Field(description="Hash of the anchoring transaction.")
    block_number: _Count = Field(description="Block that mined the anchoring transaction.")
    block_hash: Hex32 = Field(description="Hash of that block.")
    block_timestamp: _Count = Field(description="That block's timestamp (Unix seconds).")
    submitter: Address = Field(description="Member that anchored the root (event submitter).")
    issued_at: AwareDatetime | None = Field(
        None, description="When ChainProof issued this receipt (informational)."
    )
    # str: ChainProof's public id (a UUIDv7); int: receipts issued before it (the SQL key).
    evidence_id: int | Annotated[str, Field(max_length=128)] | None = Field(
        None, description="ChainProof's id for the evidence (informational)."
    )
    label: str | None = Field(
        None, max_length=1024, description="Free label, e.g. a file name; not proven."
    )
    tsa_token: Annotated[str, Field(max_length=TSA_TOKEN_MAX_B64)] | None = Field(
        None,
        description=(
            "An RFC 3161 TimeStampToken (base64 of its DER) from the operator's TSA: over "
            "the digest (SHA-256, SM3), over the SHA-256 of leaf_hash (keccak-256), or, "
            "queued from a SHA-384/512 query, a TSTInfo whose SHA-256 is the digest. The "
            "TSA's time beside the chain's (docs/receipt.md)."
        ),
    )

    metadata: MetadataSection | None = Field(
        None,
        description=(
            "Present for typed evidence (业务类型): its business type and metadata, proven "
            "because the leaf's salt commits to them (docs/receipt.md, typed evidence)."
        ),
    )

    checkpoint: CheckpointSection | None = Field(
        None,
        description=(
            "Present once the receipt's block (on a sub-chain) is checkpointed on the main "
            "chain: proves block_hash through the main chain's ChainRegistry, with the "
            "header and receipt proof of the Anchored log (docs/crosschain.md)."
        ),
    )

    other_anchors: Annotated[list[OtherAnchor], Field(max_length=MAX_OTHER_ANCHORS)] | None = Field(
        None,
        description=(
            "The root anchored on other chains too (dual anchoring): the receipt's own "
            "fields are its first anchor, these the others; a verifier's policy (any, "
            "all) says which must hold (docs/crosschain.md)."
        ),
    )

    def anchored_at(self, other: OtherAnchor) -> Receipt:
        """This receipt as if ``other`` were its one anchor (its own checks verify it)."""
        return self.model_copy(
            update={
                **other.model_dump(),
                "other_anchors": None,
                "checkpoint": None,
                "tsa_token": None,
            }
        )

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != RECEIPT_VERSION:
            raise ValueError(
                f"unsupported receipt version {value}: this ChainProof reads version "
                f"{RECEIPT_VERSION}"
            )
        return value

    @field_validator("leaf_types")
    @classmethod
    def _evidence_leaf_types(cls, value: list[str]) -> list[str]:
        if tuple(value) != LEAF_TYPES:
            raise ValueError(f"must be {list(LEAF_TYPES)} in receipt version {RECEIPT_VERSION}")
        return value

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        """Validates ``data``; InvalidInputError says what is wrong where."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Receipt:
        """Parses receipt JSON; InvalidInputError says what is wrong where."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise _invalid(exc) from None

    def to_json(self, *, indent: int | None = 2) -> str:
        """The receipt as JSON (absent optional fields left out)."""
        return self.model_dump_json(indent=indent, exclude_none=True)


def _invalid(exc: ValidationError) -> InvalidInputError:
    return invalid_input(exc, "receipt", "receipt")


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


RECEIPT_JSON_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **Receipt.model_json_schema(),
}


def receipt_schema_text() -> str:
    """``docs/receipt.schema.json`` as it must read."""
    return json.dumps(RECEIPT_JSON_SCHEMA, indent=2, ensure_ascii=False) + "\n"


def write_receipt_schema(path: str | os.PathLike[str]) -> None:
    """Writes the receipt JSON Schema to ``path`` (``docs/receipt.schema.json``)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(receipt_schema_text())
