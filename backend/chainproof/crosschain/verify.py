"""Verifying a sub-chain receipt through the main chain alone (no sub-chain node).

Light: web3, the receipt model, the trust anchor, the header and trie proof checks of
``bundle/ethproofs.py``; no server, no database. The chain of facts, each checked here:

1. the receipt's own Merkle proof leads to its root (offline);
2. the anchor pins the receipt's chain (its chain id) and registry, and names a main chain;
   the node asked is that main chain (chain id, genesis) and the ChainRegistry there has
   the pinned code;
3. ChainRegistry registers the sub-chain with the pinned genesis hash, and its checkpoint
   covering ``block_number`` has the section's range and root;
4. ``(block_number, block_hash)`` is a leaf under that root (the section's proof);
5. the section's header hashes to ``block_hash`` with the receipt's number and timestamp;
6. the receipts trie under its ``receiptsRoot`` holds, at ``tx_index``, a successful receipt
   with the ``Anchored(root, submitter, ...)`` log of the pinned registry at that timestamp.

What it cannot see without a sub-chain node: a revocation made after anchoring (state, not a
log of that block). The verdict says so in its checks (docs/crosschain.md, trust model).
"""

from __future__ import annotations

from typing import Any, Final

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from chainproof.bundle.ethproofs import ProofError, decode_header, prove_receipt
from chainproof.chain.abi import ANCHORED_TOPIC
from chainproof.crosschain.ranges import block_in_root
from chainproof.digests import keccak256, to_hex
from chainproof.receipts import Receipt, ReceiptVerdict, check_receipt_offline
from chainproof.trust import TrustAnchor

# The two ChainRegistry views a verifier calls (no compiler on a verifier's machine).
_CHECKPOINT_TUPLE: Final = {
    "type": "tuple",
    "name": "cp",
    "components": [
        {"name": "fromBlock", "type": "uint64"},
        {"name": "toBlock", "type": "uint64"},
        {"name": "epoch", "type": "uint64"},
        {"name": "postedAt", "type": "uint64"},
        {"name": "root", "type": "bytes32"},
    ],
}
CHAIN_REGISTRY_VIEWS: Final[list[dict[str, Any]]] = [
    {
        "type": "function",
        "name": "checkpointFor",
        "stateMutability": "view",
        "inputs": [{"name": "chainId", "type": "uint256"}, {"name": "height", "type": "uint64"}],
        "outputs": [
            {"name": "found", "type": "bool"},
            {"name": "index", "type": "uint256"},
            _CHECKPOINT_TUPLE,
        ],
    },
    {
        "type": "function",
        "name": "chainOf",
        "stateMutability": "view",
        "inputs": [{"name": "chainId", "type": "uint256"}],
        "outputs": [
            {
                "type": "tuple",
                "name": "",
                "components": [
                    {"name": "genesisHash", "type": "bytes32"},
                    {"name": "name", "type": "string"},
                    {"name": "registries", "type": "address[]"},
                    {"name": "epoch", "type": "uint64"},
                    {"name": "nextHeight", "type": "uint64"},
                    {"name": "threshold", "type": "uint8"},
                    {"name": "retired", "type": "bool"},
                    {"name": "known", "type": "bool"},
                ],
            }
        ],
    },
]


class _Failed(Exception):
    pass


def _hx(value: Any) -> str:
    return HexBytes(value).to_0x_hex().lower()


def _check_main(receipt: Receipt, w3: Web3, trust: TrustAnchor) -> str:
    main = trust.main_chain
    if main is None:
        raise _Failed("the trust anchor names no main chain")
    if receipt.chain_id != trust.chain_id:
        raise _Failed(
            f"the receipt is for chain {receipt.chain_id}, the anchor pins chain {trust.chain_id}"
        )
    if to_checksum_address(receipt.contract) not in trust.honoured():
        raise _Failed(f"contract {receipt.contract} is not a registry the anchor pins")
    if int(w3.eth.chain_id) != main.chain_id:
        raise _Failed(f"the node is on chain {w3.eth.chain_id}, not main chain {main.chain_id}")
    genesis = _hx(w3.eth.get_block(0)["hash"])
    if genesis != main.genesis_hash:
        raise _Failed(f"the node's genesis is {genesis}, the anchor pins {main.genesis_hash}")
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(main.checkpoint_registry)))
    if not code or to_hex(keccak256(code)) != main.checkpoint_registry_code_hash:
        raise _Failed(f"the code at {main.checkpoint_registry} is not the pinned ChainRegistry")
    return f"main chain {main.chain_id} (genesis {genesis}), ChainRegistry code as pinned"


def _check_checkpoint(receipt: Receipt, w3: Web3, trust: TrustAnchor) -> str:
    section = receipt.checkpoint
    main = trust.main_chain
    assert section is not None and main is not None
    if to_checksum_address(section.registry) != main.checkpoint_registry:
        raise _Failed(f"the section names registry {section.registry}, not the pinned one")
    registry = w3.eth.contract(
        address=Web3.to_checksum_address(main.checkpoint_registry), abi=CHAIN_REGISTRY_VIEWS
    )
    record = registry.functions.chainOf(receipt.chain_id).call()
    if not record[7]:
        raise _Failed(f"chain {receipt.chain_id} is not registered on the main chain")
    if _hx(record[0]) != trust.genesis_hash:
        raise _Failed(
            f"the main chain registers chain {receipt.chain_id} with genesis {_hx(record[0])}, "
            f"the anchor pins {trust.genesis_hash}"
        )
    found, index, cp = registry.functions.checkpointFor(
        receipt.chain_id, receipt.block_number
    ).call()
    if not found:
        raise _Failed(f"block {receipt.block_number} is not checkpointed on the main chain yet")
    if (int(index), int(cp[0]), int(cp[1]), _hx(cp[4])) != (
        section.index,
        section.from_block,
        section.to_block,
        section.root.lower(),
    ):
        raise _Failed(
            f"the main chain's checkpoint {index} is [{cp[0]}, {cp[1]}] root {_hx(cp[4])}, "
            f"not the section's [{section.from_block}, {section.to_block}] {section.root}"
        )
    if not block_in_root(section.root, receipt.block_number, receipt.block_hash, section.proof):
        raise _Failed(
            f"block {receipt.block_number} ({receipt.block_hash}) is not the block checkpointed "
            f"at that height: a reset or forked sub-chain, or a forged receipt"
        )
    return (
        f"block {receipt.block_number} is in checkpoint {index} [{cp[0]}, {cp[1]}] "
        f"posted at main block {cp[3]}"
    )


def _check_block_and_log(receipt: Receipt) -> str:
    section = receipt.checkpoint
    assert section is not None
    try:
        header = decode_header(bytes(HexBytes(section.header)))
        if _hx(header.hash) != receipt.block_hash.lower():
            raise _Failed(f"the header hashes to {_hx(header.hash)}, not {receipt.block_hash}")
        if (header.number, header.timestamp) != (receipt.block_number, receipt.block_timestamp):
            raise _Failed("the header's number or timestamp is not the receipt's")
        proven = prove_receipt(
            header.receipts_root,
            section.tx_index,
            [bytes(HexBytes(n)) for n in section.receipt_proof],
        )
    except ProofError as exc:
        raise _Failed(str(exc)) from None
    if proven.status != 1:
        raise _Failed("the proven transaction failed")
    for log in proven.logs:
        if (
            log.address.hex() == receipt.contract[2:].lower()
            and len(log.topics) >= 3
            and log.topics[0] == ANCHORED_TOPIC
            and _hx(log.topics[1]) == receipt.root
            and to_checksum_address(log.topics[2][12:]) == receipt.submitter
        ):
            _count, _meta, timestamp = abi_decode(["uint32", "bytes32", "uint64"], log.data)
            if timestamp != receipt.block_timestamp:
                raise _Failed("the Anchored log's timestamp is not the receipt's")
            return (
                f"header hashes to block_hash; receipt {section.tx_index} has "
                f"Anchored({receipt.root}, {receipt.submitter})"
            )
    raise _Failed(f"the proven receipt has no Anchored({receipt.root}) from {receipt.contract}")


def verify_via_checkpoint(receipt: Receipt, w3: Web3, *, trust: TrustAnchor) -> ReceiptVerdict:
    """Verifies a sub-chain ``receipt`` with ``w3`` on the anchor's main chain only."""
    checks: list[tuple[str, bool, str]] = []
    steps: list[tuple[str, Any]] = [
        ("offline", lambda: _offline(receipt)),
        ("main_chain", lambda: _check_main(receipt, w3, trust)),
        ("checkpoint", lambda: _check_checkpoint(receipt, w3, trust)),
        ("block_and_log", lambda: _check_block_and_log(receipt)),
    ]
    if receipt.checkpoint is None:
        reason = "the receipt has no checkpoint section (its block is not checkpointed yet)"
        return ReceiptVerdict(False, reason, [("checkpoint", False, reason)], pinned=True)
    for name, step in steps:
        try:
            detail, ok = step(), True
        except _Failed as failed:
            detail, ok = str(failed), False
        except Exception as exc:  # node errors are failed checks, never a crash
            detail, ok = f"{name} check could not run: {type(exc).__name__}: {exc}", False
        checks.append((name, ok, detail))
        if not ok:
            return ReceiptVerdict(False, detail, checks, pinned=True)
    checks.append(
        (
            "revocation",
            True,
            "not visible through a checkpoint (sub-chain state): ask a sub-chain node",
        )
    )
    return ReceiptVerdict(True, None, checks, pinned=True)


def _offline(receipt: Receipt) -> str:
    problems = check_receipt_offline(receipt)
    if problems:
        raise _Failed("; ".join(problems))
    return "leaf values, leaf hash and proof agree with the root"
