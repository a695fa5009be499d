"""Cross-chain evidence revocations (跨链消息): a leaf revoked on a sub-chain's
EvidenceRegistry (its ``LeafRevoked`` log), carried to the main chain's deployment with its
checkpoint proof, as recalls are (``crosschain/messages.py``, ``crosschain/recalls.py``).

The sub deployment delivers each ``revoked_leaf`` row of its registry once its block is
checkpointed (``POST /api/v1/crosschain/revocations``; a ``crosschain_revocation_delivery``
row marks it sent). The main deployment believes a message exactly as far as a checkpoint:
the sub-chain is registered with that EvidenceRegistry among its registries, the checkpoint
holds the block, and the receipts trie under the block's header holds ``LeafRevoked(root,
leaf, …, reasonHash)`` from it (:func:`prove_event`). It keeps one ``crosschain_revocation``
row per leaf; its receipt verdicts (``POST /api/v1/receipts/verify``) then say a receipt of
that leaf revoked (:func:`relayed_revocation`).
"""

from __future__ import annotations

from typing import Final, Literal

import structlog
from eth_utils import keccak
from pydantic import BaseModel, ConfigDict, JsonValue
from sqlmodel import Session, select
from web3 import Web3

from chainproof.crosschain.messages import (
    EVENT_PROOF_EXAMPLE,
    ChainId,
    EventProof,
    MessageRefused,
    prove_event,
)
from chainproof.crosschain.models import CrosschainRevocation, CrosschainRevocationDelivery
from chainproof.crosschain.recalls import DELIVERIES_PER_ROUND, located, post_message
from chainproof.crosschain.section import Address, Hex32
from chainproof.digests import to_hex
from chainproof.receipts import Receipt
from chainproof.store.models import MAX_ID, RevokedLeaf
from chainproof.store.unique import insert_once

log = structlog.get_logger("chainproof.crosschain")

REVOCATION_FORMAT: Final = "chainproof-crosschain-revocation/1"
REVOCATIONS_PATH: Final = "/api/v1/crosschain/revocations"
LEAF_REVOKED: Final = keccak(text="LeafRevoked(bytes32,bytes32,address,bytes32)")

_H: Final = "0x" + "ab" * 32
_EXAMPLE: Final[dict[str, JsonValue]] = {
    "format": REVOCATION_FORMAT,
    "sub_chain_id": 4242,
    "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "root": _H,
    "leaf_hash": _H,
    "reason_hash": _H,
    **EVENT_PROOF_EXAMPLE,
}


class _Revocation(BaseModel):
    format: Literal["chainproof-crosschain-revocation/1"]
    sub_chain_id: ChainId
    registry: Address  # the sub-chain's EvidenceRegistry
    root: Hex32
    leaf_hash: Hex32
    reason_hash: Hex32


class RevocationMessage(EventProof, _Revocation):
    """A leaf revoked on a sub-chain's EvidenceRegistry, with its proof."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [_EXAMPLE]}
    )


def verify_revocation(msg: RevocationMessage, w3: Web3, *, chain_registry: str) -> int:
    """Checks ``msg`` against the main chain behind ``w3``: its checkpoint index, or
    MessageRefused naming the fact that does not hold."""
    index, logs = prove_event(
        msg, w3, chain_registry=chain_registry, sub_chain_id=msg.sub_chain_id, emitter=msg.registry
    )
    for entry in logs:
        if (
            entry.address.hex() == msg.registry[2:].lower()
            and len(entry.topics) == 4
            and entry.topics[0] == LEAF_REVOKED
            and to_hex(entry.topics[1]) == msg.root.lower()
            and to_hex(entry.topics[2]) == msg.leaf_hash.lower()
            and to_hex(entry.data[:32]) == msg.reason_hash.lower()
        ):
            return index
    raise MessageRefused(
        f"the proven receipt has no LeafRevoked of that root, leaf and reason from {msg.registry}"
    )


# ---- the sub deployment: build and deliver ----------------------------------------------


def build_revocation(
    session: Session, sub_w3: Web3, *, registry: str, revoked: RevokedLeaf
) -> RevocationMessage | None:
    """The message of ``revoked``, or None while its block is not checkpointed."""
    where = located(session, sub_w3, revoked.tx_hash)
    if where is None:
        return None
    return RevocationMessage(
        format=REVOCATION_FORMAT,
        registry=Web3.to_checksum_address(registry),
        root=revoked.root,
        leaf_hash=revoked.leaf_hash,
        reason_hash=revoked.reason_hash,
        **where,
    )


def deliver_revocations(
    session: Session, sub_w3: Web3, *, registry: str, main_deployment: str
) -> int:
    """Delivers every checkpointed, undelivered leaf revocation; how many went."""
    delivered = {(d.root, d.leaf_hash) for d in session.exec(select(CrosschainRevocationDelivery))}
    pending = [
        r for r in session.exec(select(RevokedLeaf)) if (r.root, r.leaf_hash) not in delivered
    ][:DELIVERIES_PER_ROUND]
    url = main_deployment.rstrip("/") + REVOCATIONS_PATH
    sent = 0
    for revoked in pending:
        msg = build_revocation(session, sub_w3, registry=registry, revoked=revoked)
        if msg is None:
            continue  # not checkpointed yet
        if not post_message(url, msg, "revocation message", root=revoked.root):
            continue
        session.add(CrosschainRevocationDelivery(root=revoked.root, leaf_hash=revoked.leaf_hash))
        session.commit()
        log.info("revocation message delivered", root=revoked.root, leaf=revoked.leaf_hash)
        sent += 1
    return sent


# ---- the main deployment: accept and show -------------------------------------------------


def accept_revocation(
    session: Session, w3: Web3, *, chain_registry: str, message: RevocationMessage
) -> tuple[CrosschainRevocation, bool]:
    """Verifies ``message`` on this deployment's chain and keeps it: (row, created)."""
    index = verify_revocation(message, w3, chain_registry=chain_registry)
    m = message
    registry = Web3.to_checksum_address(m.registry)
    root, leaf = m.root.lower(), m.leaf_hash.lower()
    row, created = insert_once(
        session,
        lambda: _revocation(session, m.sub_chain_id, registry, root, leaf),
        lambda: CrosschainRevocation(
            sub_chain_id=m.sub_chain_id,
            evidence_registry=registry,
            root=root,
            leaf_hash=leaf,
            reason_hash=m.reason_hash.lower(),
            tx_hash=m.tx_hash.lower(),
            block_number=m.block_number,
            block_timestamp=m.block_timestamp,
            checkpoint_index=index,
        ),
    )
    if created:
        log.info("cross-chain revocation accepted", chain_id=m.sub_chain_id, leaf=leaf)
    return row, created


def _revocation(
    session: Session, chain_id: int, registry: str, root: str, leaf_hash: str
) -> CrosschainRevocation | None:
    return session.exec(
        select(CrosschainRevocation).where(
            CrosschainRevocation.sub_chain_id == chain_id,
            CrosschainRevocation.evidence_registry == registry,
            CrosschainRevocation.root == root,
            CrosschainRevocation.leaf_hash == leaf_hash,
        )
    ).first()


def relayed_revocation(session: Session, receipt: Receipt) -> CrosschainRevocation | None:
    """The relayed revocation of ``receipt``'s leaf, when its (sub-)chain sent one here."""
    if receipt.chain_id > MAX_ID:  # no sub-chain has it (EIP-2294; no BIGINT column holds it)
        return None
    return _revocation(
        session,
        receipt.chain_id,
        Web3.to_checksum_address(receipt.contract),
        receipt.root.lower(),
        receipt.leaf_hash.lower(),
    )


def revocation_detail(row: CrosschainRevocation) -> str:
    return (
        f"revoked on chain {row.sub_chain_id} in block {row.block_number} (transaction "
        f"{row.tx_hash}, reason hash {row.reason_hash}), relayed with checkpoint "
        f"{row.checkpoint_index} of this chain"
    )
