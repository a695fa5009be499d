"""Typed evidence (业务类型): how a leaf commits a business type and its metadata.

The leaf stays ``(string algorithm, bytes32 digest, bytes32 salt)``: what changes is where the
salt comes from. For a document with metadata the salt is not 32 random bytes but

    salt = keccak256(nonce ‖ keccak256(utf8(text)))

where ``nonce`` is 32 random bytes and ``text`` is the RFC 8785 canonical JSON of
``{"business_type": <code>, "metadata": <object>}``. The receipt carries ``text`` and
``nonce`` (its ``metadata`` section); a verifier recomputes the salt from them, and the
unchanged leaf, proof and chain checks do the rest. Why this form:

- every leaf of a batch keeps one encoding, so the batch tree stays an OpenZeppelin
  ``StandardMerkleTree`` and nothing on chain, in the batcher or in old receipts changes;
- the commitment is binding (a different text needs a keccak-256 preimage of the salt) and
  hiding (the random nonce keeps guessed metadata from being confirmed, as the salt did for
  guessed documents);
- a verifier hashes the committed bytes as they are: no JSON canonicalization to reproduce
  in a browser or a third party's code (the server canonicalizes once, on intake).

Stripping the section leaves a receipt that proves the document but not its metadata;
adding a section to a receipt that had none would need that preimage. Pure: no server code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from chainproof.digests import canonical_json, keccak256
from chainproof.errors import InvalidInputError
from chainproof.vocabulary import Hash32

# The committed text's bound, in characters (the receipt's field and the intake's). Metadata is
# a few named fields (amounts, numbers, parties), not a document.
METADATA_TEXT_MAX: Final = 8192
NONCE_SIZE: Final = 32


@dataclass(frozen=True)
class TypedMetadata:
    """A business type's code and its metadata object, as committed."""

    business_type: str
    metadata: dict[str, Any]


def metadata_text(business_type: str, metadata: dict[str, Any]) -> str:
    """The committed text: canonical JSON of ``{"business_type", "metadata"}``."""
    text = canonical_json({"business_type": business_type, "metadata": metadata}).decode("utf-8")
    if len(text) > METADATA_TEXT_MAX:
        raise InvalidInputError(
            f"metadata: {len(text)} characters once canonical, at most {METADATA_TEXT_MAX}",
            field="metadata",
        )
    return text


def metadata_salt(nonce: Hash32, text: str) -> Hash32:
    """The leaf's salt for ``text``: ``keccak256(nonce ‖ keccak256(utf8(text)))``."""
    if len(nonce) != NONCE_SIZE:
        raise InvalidInputError(f"nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")
    return keccak256(bytes(nonce) + keccak256(text.encode("utf-8")))


def read_metadata_text(text: str) -> TypedMetadata:
    """The business type and metadata of a committed text; InvalidInputError when it is not
    ``{"business_type": string, "metadata": object}`` and nothing else."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInputError("metadata.text is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"business_type", "metadata"}:
        raise InvalidInputError(
            'metadata.text must be an object of exactly "business_type" and "metadata"'
        )
    code, values = data["business_type"], data["metadata"]
    if not isinstance(code, str) or not isinstance(values, dict):
        raise InvalidInputError(
            "metadata.text: business_type must be a string and metadata an object"
        )
    return TypedMetadata(business_type=code, metadata=values)
