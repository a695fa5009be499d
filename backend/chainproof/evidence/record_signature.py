"""The member's EIP-712 signature over a document's leaf and its before-the-chain record.

A custodial member (whose key the server keeps, encrypted) signs, once, the typed message
``EvidenceRecord(bytes32 leaf, uint64 receivedAt, string channel, string fileName, uint256
fileSize, string fileType)`` in the domain ``ChainProof Evidence Record`` / ``1`` / chain id /
registry: anyone recovers the member's address from it (``recover_record``), so the
certificate's "who and how it arrived" is the member's statement, not only the server's.
Members that bring their own key sign the anchor themselves; they have no such signature.
"""

from __future__ import annotations

from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlmodel import Session

from chainproof.eip712 import domain, typed_data
from chainproof.errors import ChainProofError
from chainproof.evidence.records import EvidenceRecord
from chainproof.identity import member_account
from chainproof.store.models import Evidence, Member

DOMAIN_NAME: Final = "ChainProof Evidence Record"


def record_message(
    ev: Evidence, record: EvidenceRecord, *, chain_id: int, registry: str
) -> dict[str, Any]:
    """The full EIP-712 message (``encode_typed_data(full_message=...)``)."""
    return typed_data(
        "EvidenceRecord",
        [
            ("leaf", "bytes32", bytes.fromhex(ev.leaf_hash[2:])),
            ("receivedAt", "uint64", int(record.received_at.timestamp())),
            ("channel", "string", record.channel),
            ("fileName", "string", record.client_name or ""),
            ("fileSize", "uint256", record.client_size or 0),
            ("fileType", "string", record.client_type or ""),
        ],
        domain(DOMAIN_NAME, "1", chain_id, registry),
    )


def ensure_member_signature(
    session: Session,
    ev: Evidence,
    record: EvidenceRecord,
    *,
    chain_id: int,
    registry: str,
    secret: str,
) -> str | None:
    """The record's member signature (hex), made and kept the first time; None for the
    platform's own documents and members without a custodial key."""
    if record.member_signature is not None:
        return record.member_signature
    member = session.get(Member, ev.member_id) if ev.member_id is not None else None
    if member is None or member.chain_key_encrypted is None:
        return None
    try:
        account = member_account(session=session, member=member, secret=secret)
    except ChainProofError:
        return None  # a key the secret cannot open: say "not signed", never guess
    message = record_message(ev, record, chain_id=chain_id, registry=registry)
    signature = account.sign_message(encode_typed_data(full_message=message)).signature
    record.member_signature = "0x" + bytes(signature).hex()
    session.add(record)
    session.commit()
    return record.member_signature


def recover_record(
    ev: Evidence, record: EvidenceRecord, *, chain_id: int, registry: str
) -> str | None:
    """The address that signed the record (None: unsigned)."""
    if record.member_signature is None:
        return None
    message = record_message(ev, record, chain_id=chain_id, registry=registry)
    address: str = Account.recover_message(
        encode_typed_data(full_message=message), signature=record.member_signature
    )
    return address
