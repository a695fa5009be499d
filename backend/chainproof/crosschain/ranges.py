"""Checkpoint ranges: the Merkle tree over a sub-chain's block hashes and its EIP-712 message.

Light (the verifier imports it): no server, no database. A leaf is the OpenZeppelin
StandardMerkleTree leaf of ``(uint256 height, bytes32 block_hash)``, so a proof says which
block hash the sub-chain had at which height; ``ChainRegistry.verifyBlock`` computes the same
leaf on chain. The message the sub-chain's signers sign is ``Checkpoint`` under the domain
``("ChainProof ChainRegistry", "1", main chain id, registry address)``; it names the
sub-chain's genesis hash and the signer epoch, so a signature is good for one range of one
chain under one signer set only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from chainproof.eip712 import domain, typed_data
from chainproof.merkle import StandardMerkleTree, verify

LEAF_TYPES = ("uint256", "bytes32")
DOMAIN_NAME = "ChainProof ChainRegistry"
DOMAIN_VERSION = "1"


def range_tree(first: int, block_hashes: Sequence[str | bytes]) -> StandardMerkleTree:
    """The tree of ``block_hashes`` at heights ``first, first + 1, ...``."""
    return StandardMerkleTree.of(
        [(first + i, HexBytes(h)) for i, h in enumerate(block_hashes)], LEAF_TYPES
    )


def leaf_proof(tree: StandardMerkleTree, height: int, block_hash: str | bytes) -> list[str]:
    """The proof of the block at ``height`` in ``tree`` (0x hex nodes)."""
    index = tree.index_of((height, HexBytes(block_hash)))
    return [HexBytes(p).to_0x_hex() for p in tree.get_proof(index)]


def block_in_root(root: str, height: int, block_hash: str, proof: Sequence[str]) -> bool:
    """True when ``proof`` proves ``block_hash`` is the block at ``height`` under ``root``."""
    return verify(HexBytes(root), LEAF_TYPES, (height, HexBytes(block_hash)), proof)


def checkpoint_typed_data(
    *,
    main_chain_id: int,
    registry: str,
    sub_chain_id: int,
    genesis_hash: str,
    from_block: int,
    to_block: int,
    root: str,
    epoch: int,
) -> dict[str, Any]:
    """The EIP-712 message ``ChainRegistry.checkpoint`` recovers its signers from."""
    return typed_data(
        "Checkpoint",
        [
            ("chainId", "uint256", sub_chain_id),
            ("genesisHash", "bytes32", HexBytes(genesis_hash)),
            ("fromBlock", "uint64", from_block),
            ("toBlock", "uint64", to_block),
            ("root", "bytes32", HexBytes(root)),
            ("epoch", "uint64", epoch),
        ],
        domain(DOMAIN_NAME, DOMAIN_VERSION, main_chain_id, registry),
    )


def sign_checkpoint(signers: Sequence[LocalAccount], typed: dict[str, Any]) -> list[str]:
    """Signatures of ``signers`` over ``typed``, in the ascending signer order the contract
    requires."""
    message = encode_typed_data(full_message=typed)
    ordered = sorted(signers, key=lambda a: int(a.address, 16))
    return [HexBytes(Account.sign_message(message, a.key).signature).to_0x_hex() for a in ordered]
