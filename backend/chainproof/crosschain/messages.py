"""Cross-chain messages (跨链消息): a recall, or its lift, raised on a sub-chain's
TraceRegistry, carried to the main chain's deployment with the proof that it happened.

A message names the lot (its URI and salt: the TraceRegistry's ``lotKey`` is
``keccak256(salt ‖ uri)``), the reason (its SHA-256 is the event's ``reasonHash``), and
where the event is: the sub-chain block (its RLP header), the receipts-trie proof of the
transaction's receipt, and the checkpoint on the main chain's ChainRegistry whose root holds
``(block_number, block_hash)``. Whoever carries it (the sub-chain deployment's relay, or
anyone) is not trusted: :func:`verify_message` checks it against the main chain alone —

1. ChainRegistry registers the sub-chain, and lists ``trace_registry`` among its registries;
2. its checkpoint covering ``block_number`` is the message's range and root, and the block
   is a leaf under that root;
3. the header hashes to ``block_hash``, and the receipts trie under it holds, at
   ``tx_index``, a successful receipt with ``LotRecalled`` (or ``RecallLifted``) from
   ``trace_registry`` for that lot key and reason hash.

So a message is believed exactly as far as a checkpoint is: the main chain's consensus and
the sub-chain's registered signers at their threshold (docs/crosschain.md, trust model).
The model's fields are bounded (linear-time patterns, list lengths) before anything runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from web3 import Web3

from chainproof.bundle.ethproofs import ProofError, decode_header, prove_receipt
from chainproof.crosschain.ranges import block_in_root
from chainproof.crosschain.section import MAX_TRIE_NODES, Address, HeaderRlp, Hex32, TrieNode
from chainproof.crosschain.verify import CHAIN_REGISTRY_VIEWS
from chainproof.errors import InvalidInputError

MESSAGE_FORMAT: Final = "chainproof-crosschain-recall/1"
LOT_RECALLED: Final = keccak(text="LotRecalled(bytes32,address,bytes32)")
RECALL_LIFTED: Final = keccak(text="RecallLifted(bytes32,address,bytes32,uint64)")
TOPICS: Final = {"recall": LOT_RECALLED, "lift": RECALL_LIFTED}

# Bounded as the contracts' and the database's integers are (uint64, BIGINT): a larger one
# would fail in the ABI encoder or the database, not in a check.
Count = Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]
ChainId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


class CheckpointProof(BaseModel):
    """The main chain's checkpoint holding the message's block, and the block's proof."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: Count
    from_block: Count
    to_block: Count
    root: Hex32
    proof: Annotated[list[Hex32], Field(max_length=16)]


class EventProof(BaseModel):
    """Where a relayed event is on its sub-chain, and the proof of it: what
    :func:`prove_event` checks, the common tail of every cross-chain message.

    A message declares its own fields in a base of their own and lists this class first
    (``class RecallMessage(EventProof, _Recall)``): pydantic orders fields from the last
    base to the first, so a message's fields come before these, as published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tx_hash: Hex32  # informational: the proof is the receipt at tx_index
    block_number: Count
    block_hash: Hex32
    block_timestamp: Count
    header: HeaderRlp
    tx_index: Count
    receipt_proof: Annotated[list[TrieNode], Field(max_length=MAX_TRIE_NODES)]
    checkpoint: CheckpointProof


_H: Final = "0x" + "ab" * 32
#: The example of :class:`EventProof`'s fields, the tail of every message's example.
EVENT_PROOF_EXAMPLE: Final[dict[str, JsonValue]] = {
    "tx_hash": _H,
    "block_number": 12,
    "block_hash": _H,
    "block_timestamp": 1732000000,
    "header": "0xf90200",
    "tx_index": 0,
    "receipt_proof": ["0xf851"],
    "checkpoint": {"index": 3, "from_block": 10, "to_block": 13, "root": _H, "proof": [_H]},
}
_EXAMPLE: Final[dict[str, JsonValue]] = {
    "format": MESSAGE_FORMAT,
    "kind": "recall",
    "sub_chain_id": 4242,
    "trace_registry": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    "lot_uri": "https://id.gs1.org/01/09506000135003/10/N1",
    "lot_code": "01/09506000135003/10/N1",
    "lot_salt": _H,
    "reason": "亚硝酸盐超标",
    **EVENT_PROOF_EXAMPLE,
}


class _Recall(BaseModel):
    format: Literal["chainproof-crosschain-recall/1"]
    kind: Literal["recall", "lift"]
    sub_chain_id: ChainId
    trace_registry: Address
    lot_uri: Annotated[str, Field(min_length=1, max_length=512)]
    lot_code: Annotated[str, Field(max_length=128)] | None = None  # the sub-chain's, shown
    lot_salt: Hex32
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RecallMessage(EventProof, _Recall):
    """A recall (or lift) on a sub-chain's TraceRegistry, with its proof."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [_EXAMPLE]}
    )

    @property
    def lot_key(self) -> str:
        return "0x" + keccak(bytes(HexBytes(self.lot_salt)) + self.lot_uri.encode()).hex()

    @property
    def reason_hash(self) -> str:
        # trace/heads.py's reason_hash: SHA-256 of the reason's UTF-8
        return "0x" + hashlib.sha256(self.reason.encode()).hexdigest()


@dataclass(frozen=True)
class VerifiedMessage:
    message: RecallMessage
    detail: str


class MessageRefused(InvalidInputError):
    """The message's proof does not hold on the main chain (422)."""


def _hx(value: object) -> str:
    return HexBytes(value).to_0x_hex().lower()  # type: ignore[arg-type]


def prove_event(
    msg: EventProof, w3: Web3, *, chain_registry: str, sub_chain_id: int, emitter: str
) -> tuple[int, list[Any]]:
    """Checks facts 1-3 (above) for ``msg``'s block on chain ``sub_chain_id``, with
    ``emitter`` one of that chain's registered registries: (checkpoint index, the proven
    receipt's logs). MessageRefused says which fact does not hold."""
    registry = w3.eth.contract(
        address=Web3.to_checksum_address(chain_registry), abi=CHAIN_REGISTRY_VIEWS
    )
    record = registry.functions.chainOf(sub_chain_id).call()
    if not record[7]:
        raise MessageRefused(f"chain {sub_chain_id} is not registered on the main chain")
    registries = {to_checksum_address(a) for a in record[2]}
    if to_checksum_address(emitter) not in registries:
        raise MessageRefused(
            f"{emitter} is not a registry the main chain registers for chain {sub_chain_id}"
        )
    found, index, cp = registry.functions.checkpointFor(sub_chain_id, msg.block_number).call()
    if not found:
        raise MessageRefused(f"block {msg.block_number} is not checkpointed on the main chain")
    c = msg.checkpoint
    if (int(index), int(cp[0]), int(cp[1]), _hx(cp[4])) != (
        c.index,
        c.from_block,
        c.to_block,
        c.root.lower(),
    ):
        raise MessageRefused(
            f"the main chain's checkpoint {index} is [{cp[0]}, {cp[1]}] root {_hx(cp[4])}, "
            "not the message's"
        )
    if not block_in_root(c.root, msg.block_number, msg.block_hash, c.proof):
        raise MessageRefused(
            f"block {msg.block_number} ({msg.block_hash}) is not the block checkpointed there"
        )
    try:
        header = decode_header(bytes(HexBytes(msg.header)))
        if _hx(header.hash) != msg.block_hash.lower():
            raise MessageRefused(f"the header hashes to {_hx(header.hash)}, not the block hash")
        if (header.number, header.timestamp) != (msg.block_number, msg.block_timestamp):
            raise MessageRefused("the header's number or timestamp is not the message's")
        proven = prove_receipt(
            header.receipts_root, msg.tx_index, [bytes(HexBytes(n)) for n in msg.receipt_proof]
        )
    except ProofError as exc:
        raise MessageRefused(f"the receipt proof does not hold: {exc}") from None
    except MessageRefused:
        raise
    except Exception as exc:  # the trie library's own errors on a malformed node
        raise MessageRefused(f"the receipt proof is malformed: {type(exc).__name__}") from None
    if proven.status != 1:
        raise MessageRefused("the proven transaction failed")
    return int(index), list(proven.logs)


def verify_message(msg: RecallMessage, w3: Web3, *, chain_registry: str) -> VerifiedMessage:
    """Checks ``msg`` against the ChainRegistry at ``chain_registry`` on the main chain
    behind ``w3``; MessageRefused says which fact does not hold."""
    index, logs = prove_event(
        msg,
        w3,
        chain_registry=chain_registry,
        sub_chain_id=msg.sub_chain_id,
        emitter=msg.trace_registry,
    )
    topic, key, why = TOPICS[msg.kind], msg.lot_key, msg.reason_hash
    for log in logs:
        if (
            log.address.hex() == msg.trace_registry[2:].lower()
            and len(log.topics) >= 2
            and log.topics[0] == topic
            and _hx(log.topics[1]) == key
            and _hx(log.data[:32]) == why
        ):
            return VerifiedMessage(
                msg,
                f"{msg.kind} of lot {msg.lot_uri} on chain {msg.sub_chain_id}, block "
                f"{msg.block_number} in checkpoint {index}",
            )
    raise MessageRefused(
        f"the proven receipt has no {msg.kind} event of that lot and reason from "
        f"{msg.trace_registry}"
    )
