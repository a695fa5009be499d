"""A receipt's ``checkpoint`` section: what proves a sub-chain receipt through the main chain.

Light (imported by ``receipts.py``): pydantic only. The section carries the range the
receipt's block is in (as ``ChainRegistry`` on the main chain holds it), the block hash's
Merkle proof in that range, and, so that no sub-chain node is needed, the block's header
(RLP: it hashes to ``block_hash`` and commits to ``receiptsRoot``) with the trie proof of the
anchoring transaction's receipt (its ``Anchored`` log). Sizes are bounded: a range is at
most 4096 blocks (12 proof levels), a trie proof a few nodes of at most a few KiB.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_RANGE_PROOF = 16
MAX_TRIE_NODES = 16
MAX_NODE_HEX = 2 + 2 * 16384
MAX_HEADER_HEX = 2 + 2 * 4096

# The field types of a checkpoint proof, here and in the cross-chain messages. Pydantic's
# patterns run in Rust's regex crate: linear time on any input.
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
HeaderRlp = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]+$", max_length=MAX_HEADER_HEX)]
TrieNode = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]+$", max_length=MAX_NODE_HEX)]
_Count = Annotated[int, Field(strict=True, ge=0)]


class CheckpointSection(BaseModel):
    """The receipt's block, checkpointed on the main chain (docs/crosschain.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    main_chain_id: Annotated[int, Field(strict=True, ge=1)] = Field(
        description="EIP-155 chain id of the main chain."
    )
    registry: Address = Field(description="ChainRegistry on the main chain.")
    index: _Count = Field(description="The checkpoint's number in ChainRegistry.")
    from_block: _Count = Field(description="First sub-chain block of the range.")
    to_block: _Count = Field(description="Last sub-chain block of the range.")
    root: Hex32 = Field(description="Merkle root of the range's (height, block hash) leaves.")
    proof: Annotated[list[Hex32], Field(max_length=MAX_RANGE_PROOF)] = Field(
        description="Proof of (block_number, block_hash) under root."
    )
    main_tx_hash: Hex32 | None = Field(None, description="Main-chain tx that posted it.")
    main_block_number: _Count | None = Field(None, description="Main-chain block of that tx.")
    header: HeaderRlp = Field(
        description="RLP of the receipt's block header (hashes to block_hash)."
    )
    tx_index: _Count = Field(description="Index of the anchoring transaction in its block.")
    receipt_proof: Annotated[list[TrieNode], Field(max_length=MAX_TRIE_NODES)] = Field(
        description="Receipts-trie nodes (RLP) proving that transaction's receipt."
    )
