"""EIP-712 pieces every contract domain of ours shares (pure: no web3, no server).

Each of our contracts (EvidenceRegistry, TenderRegistry, ChainRegistry) declares its domain
with OpenZeppelin's ``EIP712(name, version)``: the four fields below, in this order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypedDict

__all__ = ["DOMAIN_TYPES", "Eip712Domain", "domain", "typed_data"]

DOMAIN_TYPES: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


class Eip712Domain(TypedDict):
    """An EIP-712 domain as ``eip712Domain()`` reports it (no salt, no extensions)."""

    name: str
    version: str
    chainId: int
    verifyingContract: str


def domain(name: str, version: str, chain_id: int, contract: str) -> Eip712Domain:
    return Eip712Domain(name=name, version=version, chainId=chain_id, verifyingContract=contract)


def typed_data(
    primary: str, fields: Sequence[tuple[str, str, Any]], in_domain: Eip712Domain
) -> dict[str, Any]:
    """The full EIP-712 message (``encode_typed_data(full_message=...)``) of the struct
    ``primary`` in ``in_domain``; each field is (name, Solidity type, value), in the
    struct's order."""
    return {
        "types": {
            "EIP712Domain": DOMAIN_TYPES,
            primary: [{"name": name, "type": kind} for name, kind, _ in fields],
        },
        "primaryType": primary,
        "domain": in_domain,
        "message": {name: value for name, _, value in fields},
    }
