"""Checking what a server shows of a tender against the chain, pinned by a trust anchor.

The TenderRegistry a tender names is believed only when it is the one the anchor pins: the
node is the anchor's chain (chain id and genesis hash) and the registry's address and
runtime code hash are the anchor's ``tender_registry`` pair. A look-alike registry (any
contract can emit ``BidCommitted``), another chain or a private copy of this one fail here,
before any event is compared. Used by ``chainproof tender verify``.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from chainproof.chain.compiler import load_artifact
from chainproof.chain.tender_registry import TENDER_REGISTRY, TenderRegistryClient
from chainproof.digests import to_hex
from chainproof.trust import TrustAnchor, code_hash


def pinned_problems(shown: dict[str, Any], w3: Web3, trust: TrustAnchor) -> list[str]:
    """Why the tender's chain or registry is not the pinned one (empty: it is)."""
    problems = []
    if int(w3.eth.chain_id) != trust.chain_id:
        problems.append(
            f"the node is chain {w3.eth.chain_id}, the trust anchor pins {trust.chain_id}"
        )
    genesis = to_hex(bytes(w3.eth.get_block(0)["hash"]))
    if genesis != trust.genesis_hash:
        problems.append(
            f"the node's genesis is {genesis}, the trust anchor pins {trust.genesis_hash}"
        )
    if int(shown["chain_id"]) != trust.chain_id:
        problems.append(
            f"the tender is on chain {shown['chain_id']}, the anchor pins {trust.chain_id}"
        )
    if trust.tender_registry is None:
        problems.append("the trust anchor pins no TenderRegistry")
    elif Web3.to_checksum_address(shown["registry"]) != trust.tender_registry:
        problems.append(
            f"the tender's registry {shown['registry']} is not the pinned {trust.tender_registry}"
        )
    elif code_hash(w3, trust.tender_registry) != trust.tender_registry_code_hash:
        problems.append("the code at the pinned TenderRegistry is not the code the anchor pins")
    return problems


def chain_problems(shown: dict[str, Any], w3: Web3) -> list[str]:
    """Where what the server shows differs from the (pinned) registry's state and events."""
    client = TenderRegistryClient(w3, shown["registry"], load_artifact(TENDER_REGISTRY).abi)
    tid = bytes.fromhex(shown["tender_id"][2:])
    t = client.tender(tid)
    problems = []
    if (t.commit_deadline, t.reveal_deadline) != (
        shown["commit_deadline"],
        shown["reveal_deadline"],
    ):
        problems.append("the deadlines shown are not the chain's")
    for kind, name in (("commitments", "BidCommitted"), ("openings", "BidRevealed")):
        if client.events(name, tid) != shown[kind]:
            problems.append(f"the {kind} shown are not the chain's")
    awards = client.events("TenderAwarded", tid)
    if (awards[0] if awards else None) != shown.get("award"):
        problems.append("the award shown is not the chain's")
    return problems
