"""EIP-712 pieces every contract domain of ours shares (pure: no web3, no server).

Each of our contracts (EvidenceRegistry, TenderRegistry, ChainRegistry) declares its domain
with OpenZeppelin's ``EIP712(name, version)``: the four fields below, in this order.
"""

from __future__ import annotations

from typing import Final

DOMAIN_TYPES: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
