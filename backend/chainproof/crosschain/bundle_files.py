"""The cross-chain files of an offline bundle (``bundle/layout.py``), built by the server.

A checkpointed sub-chain receipt gets the main-chain block and transaction that posted its
checkpoint (the ``CheckpointPosted`` log proves the range root offline, as the receipt's own
files prove its ``Anchored`` log); a dual-anchored receipt gets each other anchor's block and
transaction. Each is checked against its header as it is built (``tx_proof_files``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog
from hexbytes import HexBytes
from web3 import Web3

from chainproof.bundle import layout
from chainproof.bundle.build import tx_proof_files
from chainproof.crosschain.second_anchor import second_chain_anchor
from chainproof.crosschain.service import main_chain_anchor
from chainproof.errors import ChainError
from chainproof.receipts import Receipt
from chainproof.trust import TrustAnchor

if TYPE_CHECKING:
    from chainproof.runtime import Runtime

log = structlog.get_logger("chainproof.bundle")


def checkpoint_files(receipt: Receipt, main_w3: Web3) -> dict[str, bytes]:
    """The main chain's proof of ``receipt``'s checkpoint (none without a section)."""
    section = receipt.checkpoint
    if section is None:
        return {}
    if section.main_tx_hash is None:
        raise ChainError("the checkpoint section names no main-chain transaction")
    tx = main_w3.eth.get_transaction_receipt(HexBytes(section.main_tx_hash))
    block_hash = HexBytes(tx["blockHash"]).to_0x_hex()
    files = tx_proof_files(main_w3, section.main_tx_hash, block_hash, int(tx["blockNumber"]))
    return {
        layout.CHECKPOINT_HEADER: files[layout.HEADER],
        layout.CHECKPOINT_PROOF: files[layout.PROOF],
    }


def other_anchor_files(receipt: Receipt, nodes: Mapping[int, Web3]) -> dict[str, bytes]:
    """Each other anchor's proof, from a node of its chain (an anchor whose chain has no
    node here is left out: the verifier counts it as not proven, as ``verify-receipt``
    counts an unreachable chain)."""
    out: dict[str, bytes] = {}
    for n, other in enumerate(receipt.other_anchors or []):
        w3 = nodes.get(other.chain_id)
        if w3 is None:
            continue
        try:
            files = tx_proof_files(w3, other.tx_hash, other.block_hash, other.block_number)
        except Exception as exc:  # that chain's node away: the anchor goes unproven
            log.warning("bundle without an anchor's proof", chain_id=other.chain_id, error=str(exc))
            continue
        out[layout.anchor_header(n)] = files[layout.HEADER]
        out[layout.anchor_proof(n)] = files[layout.PROOF]
    return out


def with_crosschain_pins(anchor: TrustAnchor, runtime: Runtime) -> TrustAnchor:
    """``anchor`` naming its main chain and its other chain, as this deployment has them
    (``/.well-known/chainproof.json`` and a bundle's ``trust.json``). Blocking: call it
    from a worker thread."""
    if runtime.relay is not None:  # the main chain it is checkpointed into
        anchor = anchor.model_copy(update={"main_chain": main_chain_anchor(runtime.relay)})
    if runtime.second_anchorer is not None:  # dual anchoring: the other chain, pinned too
        other = second_chain_anchor(runtime.second_anchorer.second)
        anchor = anchor.model_copy(update={"other_chains": [other]})
    return anchor


def crosschain_nodes(runtime: Runtime) -> tuple[Web3 | None, dict[int, Web3]]:
    """The main chain's node (None: no relay) and the other chains' nodes, by chain id."""
    main = runtime.relay.main.w3 if runtime.relay is not None else None
    others: dict[int, Web3] = {}
    if runtime.second_anchorer is not None:
        second = runtime.second_anchorer.second
        others[second.chain_id] = second.w3
    return main, others
