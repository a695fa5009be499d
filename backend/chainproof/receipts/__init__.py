"""The self-contained evidence receipt, and its verification offline and against any chain.

A receipt is to a ChainProof document what an OpenTimestamps ``.ots`` file is to a
timestamped one: it carries everything needed to prove "this digest was anchored on chain
``chain_id`` by ``submitter`` in block ``block_number`` at ``block_timestamp``" with nothing
but a JSON-RPC endpoint, no ChainProof server or database (docs/architecture.md, promise 2).

A receipt names its own chain and contract, so :func:`verify_receipt` checks it against a
trust anchor pinned out of band (:mod:`chainproof.trust`: chain id, genesis hash, registry
address and code hash); without one its verdict is never valid (docs/architecture.md, promise 7).

The leaf is OpenZeppelin ``StandardMerkleTree``'s over ``(string algorithm, bytes32 digest,
bytes32 salt)``. The salt (32 random bytes per document) keeps the on-chain data from
confirming a guess: without it anyone could hash a candidate document and look for it.

The format is documented in ``docs/receipt.md``; ``docs/receipt.schema.json`` is generated
from :class:`Receipt` (``write_receipt_schema``) and a test keeps the two in step.

One module a concern, every name importable from here as before: ``model`` (the format,
the leaf, salts, the schema), ``offline`` (the checks that need no chain), ``online``
(:func:`verify_receipt` against a node and a pinned anchor).
"""

from chainproof.chain.abi import ANCHORED_TOPIC, VERIFIER_ABI, VERIFIER_ABI_V1
from chainproof.merkle import EVIDENCE_LEAF_TYPES as LEAF_TYPES
from chainproof.receipts.model import (
    RECEIPT_JSON_SCHEMA,
    RECEIPT_VERSION,
    SALT_SIZE,
    TSA_TOKEN_MAX_B64,
    Address,
    Hex32,
    MetadataSection,
    OtherAnchor,
    Receipt,
    evidence_leaf,
    evidence_leaf_hash,
    random_salt,
    receipt_schema_text,
    write_receipt_schema,
)
from chainproof.receipts.offline import check_receipt_offline
from chainproof.receipts.online import ONLINE_CHECKS, ReceiptVerdict, verify_receipt
from chainproof.vocabulary import SaltSource

__all__ = [
    "ANCHORED_TOPIC",
    "LEAF_TYPES",
    "ONLINE_CHECKS",
    "RECEIPT_JSON_SCHEMA",
    "RECEIPT_VERSION",
    "SALT_SIZE",
    "TSA_TOKEN_MAX_B64",
    "VERIFIER_ABI",
    "VERIFIER_ABI_V1",
    "Address",
    "Hex32",
    "MetadataSection",
    "OtherAnchor",
    "Receipt",
    "ReceiptVerdict",
    "SaltSource",
    "check_receipt_offline",
    "evidence_leaf",
    "evidence_leaf_hash",
    "random_salt",
    "receipt_schema_text",
    "verify_receipt",
    "write_receipt_schema",
]
