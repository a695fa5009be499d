"""Block headers and receipt-trie proofs: what ties an ``Anchored`` log to one block hash.

An Ethereum block hash is keccak-256 of the RLP of its header, and the header commits to
every transaction receipt of the block through ``receiptsRoot``, the root of a
Merkle-Patricia trie keyed by ``rlp(transaction index)``. So a header and a trie proof for
one receipt prove, with nothing but the block hash, that the receipt (its status and its
logs) is in that block. RLP is the ``rlp`` library's and the trie ``trie``'s (py-trie); the
building side (:func:`header_fields`, :func:`receipt_proof`) reads JSON-RPC answers, the
checking side (:func:`decode_header`, :func:`prove_receipt`) needs nothing but bytes.

No web3 here: both sides take plain mappings, so the offline verifier imports this alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import rlp
from eth_hash.auto import keccak
from trie import HexaryTrie
from trie.exceptions import BadTrieProof
from trie.exceptions import ValidationError as TrieNodeError

# The header's fields in RLP order (yellow paper + London, Shanghai, Cancun, Prague), as
# JSON-RPC names them. A block has a prefix of them: the fields its fork defines.
HEADER_FIELDS: Final = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
)
_INTS: Final = frozenset(
    {
        "difficulty",
        "number",
        "gasLimit",
        "gasUsed",
        "timestamp",
        "baseFeePerGas",
        "blobGasUsed",
        "excessBlobGas",
    }
)
_BASE_FIELDS: Final = 15  # up to nonce: every header has these
BLOOM_SIZE: Final = 256


class ProofError(ValueError):
    """Bytes that do not prove what they claim."""


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


# --- headers ---------------------------------------------------------------------------------


def header_fields(block: Mapping[str, Any]) -> list[Any]:
    """The RLP list of a JSON-RPC block's header (ints as ints, the rest as bytes)."""
    fields: list[Any] = []
    for name in HEADER_FIELDS:
        if name not in block or block[name] is None:
            break  # an older fork's header ends here
        fields.append(_int(block[name]) if name in _INTS else _bytes(block[name]))
    if len(fields) < _BASE_FIELDS:
        raise ProofError(f"the block has only {len(fields)} header fields")
    # A bloom is 256 bytes; eth-tester reports it with its leading zero bytes dropped.
    fields[6] = fields[6].rjust(BLOOM_SIZE, b"\0")
    return fields


def header_rlp(block: Mapping[str, Any]) -> bytes:
    """The header's RLP; raises if it does not hash to the block's own hash (a node whose
    fields we do not encode as its fork does)."""
    fields = header_fields(block)
    encoded = rlp.encode(fields)
    if "hash" not in block or keccak(encoded) == _bytes(block["hash"]):
        return encoded
    # eth-tester (the embedded chain) reports extraData zero-padded to 32 bytes; the hash
    # decides which encoding is the header's, so trying the unpadded one proves nothing false.
    fields[12] = fields[12].rstrip(b"\0")
    encoded = rlp.encode(fields)
    if keccak(encoded) != _bytes(block["hash"]):
        raise ProofError(
            f"the header of block {block.get('number')} re-encodes to another hash: a fork "
            "whose header fields this version does not know"
        )
    return encoded


@dataclass(frozen=True)
class Header:
    hash: bytes
    number: int
    timestamp: int
    receipts_root: bytes
    parent_hash: bytes


def decode_header(encoded: bytes) -> Header:
    """The fields a verifier needs from a header's RLP, and its hash."""
    try:
        fields = rlp.decode(encoded)
    except rlp.DecodingError as exc:
        raise ProofError(f"header.rlp is not RLP: {exc}") from None
    if not isinstance(fields, list) or len(fields) < _BASE_FIELDS:
        raise ProofError("header.rlp is not a block header")
    return Header(
        hash=keccak(encoded),
        number=int.from_bytes(fields[8], "big"),
        timestamp=int.from_bytes(fields[11], "big"),
        receipts_root=bytes(fields[5]),
        parent_hash=bytes(fields[0]),
    )


# --- receipts ----------------------------------------------------------------------------------


def receipt_rlp(receipt: Mapping[str, Any]) -> bytes:
    """A JSON-RPC transaction receipt's consensus encoding (EIP-2718 typed when type > 0)."""
    logs: list[tuple[bytes, list[bytes], bytes]] = [
        (_bytes(log["address"]), [_bytes(t) for t in log["topics"]], _bytes(log["data"]))
        for log in receipt["logs"]
    ]
    bloom = receipt.get("logsBloom")
    if bloom is None:  # eth-tester leaves it out: it is a function of the logs
        # eth-bloom comes with py-evm, as eth-tester does (the embedded extra): imported
        # only for the embedded chain's receipts, the one node that leaves the bloom out.
        from eth_bloom import BloomFilter

        built = BloomFilter()
        for address, topics, _ in logs:
            built.add(address)
            for topic in topics:
                built.add(topic)
        bloom = int(built).to_bytes(256, "big")
    body = rlp.encode(
        [
            _int(receipt["status"]),
            _int(receipt["cumulativeGasUsed"]),
            _bytes(bloom),
            [list(log) for log in logs],
        ]
    )
    kind = _int(receipt.get("type", 0))
    return body if kind == 0 else bytes([kind]) + body


def receipt_proof(receipts: Sequence[Mapping[str, Any]], index: int) -> tuple[bytes, list[bytes]]:
    """The receipts trie of a block's ``receipts`` (in order): its root, and the RLP nodes
    proving the one at ``index``."""
    trie = HexaryTrie(db={})
    for i, receipt in enumerate(receipts):
        trie[rlp.encode(i)] = receipt_rlp(receipt)
    nodes = trie.get_proof(rlp.encode(index))
    return trie.root_hash, [rlp.encode(node) for node in nodes]


@dataclass(frozen=True)
class ProvenLog:
    address: bytes
    topics: list[bytes]
    data: bytes


@dataclass(frozen=True)
class ProvenReceipt:
    status: int
    logs: list[ProvenLog]


def prove_receipt(receipts_root: bytes, index: int, nodes: Sequence[bytes]) -> ProvenReceipt:
    """The receipt at ``index`` that ``nodes`` prove under ``receipts_root``."""
    try:
        decoded = [rlp.decode(n) for n in nodes]
        value = HexaryTrie.get_from_proof(receipts_root, rlp.encode(index), decoded)
    # TrieNodeError: a malformed node (the trie library's own, not a ValueError).
    except (BadTrieProof, TrieNodeError, rlp.DecodingError, ValueError, KeyError, TypeError) as exc:
        raise ProofError(f"the receipt proof does not lead to receiptsRoot: {exc}") from None
    if not value:
        raise ProofError(f"the receipts trie has no receipt at index {index}")
    body = value[1:] if value[0] < 0x80 else value  # EIP-2718: a type byte first
    try:
        status, _gas, _bloom, logs = rlp.decode(body)
        proven = [
            ProvenLog(bytes(a), [bytes(t) for t in topics], bytes(d)) for a, topics, d in logs
        ]
    except (rlp.DecodingError, ValueError, TypeError) as exc:
        raise ProofError(f"the proven receipt is not a receipt: {exc}") from None
    return ProvenReceipt(status=int.from_bytes(status, "big"), logs=proven)
