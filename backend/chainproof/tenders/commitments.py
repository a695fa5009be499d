"""What a bidder's client computes locally (contracts/TenderRegistry.sol is the reference):
the commitment to a bid file, and the EIP-712 message it signs so that a relayer (the
platform) can put the commitment on chain but cannot change it.

``commitment = keccak256(abi.encode(tenderId, bidder, bidDigest, salt))``: bound to the
tender, the bidder and the bid file's digest; the random 32-byte salt hides the digest (a
bid file's digest could otherwise be confirmed by whoever guesses the file).
"""

from __future__ import annotations

import os
from typing import Any, Final

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from chainproof.digests import keccak256
from chainproof.eip712 import domain, typed_data

DOMAIN_NAME: Final = "ChainProof TenderRegistry"
DOMAIN_VERSION: Final = "1"
SALT_SIZE: Final = 32


def new_salt() -> bytes:
    return os.urandom(SALT_SIZE)


def tender_id(name: str) -> bytes:
    """A tender's on-chain id from its public reference (招标编号)."""
    return keccak256(b"chainproof-tender/1:" + name.encode("utf-8"))


def commitment(tender: bytes, bidder: str, bid_digest: bytes, salt: bytes) -> bytes:
    return keccak256(
        encode(["bytes32", "address", "bytes32", "bytes32"], [tender, bidder, bid_digest, salt])
    )


def typed_commitment(
    *, chain_id: int, registry: str, tender: bytes, bidder: str, commitment: bytes
) -> dict[str, Any]:
    """The EIP-712 message ``BidCommitment(bytes32 tenderId,address bidder,bytes32 commitment)``."""
    return typed_data(
        "BidCommitment",
        [
            ("tenderId", "bytes32", tender),
            ("bidder", "address", bidder),
            ("commitment", "bytes32", commitment),
        ],
        domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, registry),
    )


def sign_commitment(
    account: LocalAccount, *, chain_id: int, registry: str, tender: bytes, commitment: bytes
) -> bytes:
    message = typed_commitment(
        chain_id=chain_id,
        registry=registry,
        tender=tender,
        bidder=account.address,
        commitment=commitment,
    )
    signed = Account.sign_message(encode_typed_data(full_message=message), account.key)
    return bytes(signed.signature)
