"""Cross-chain recalls on both sides: the sub deployment builds and delivers a message for
each recall (and lift) it sent to its TraceRegistry once its block is checkpointed; the main
deployment verifies a message against its own chain's ChainRegistry and keeps it, and its
scan pages show the recall for the lot's URI (``crosschain/messages.py`` for the proof).

Delivery (``CHAINPROOF_MAIN_DEPLOYMENT``) is a POST of the message to the main deployment's
``/api/v1/crosschain/messages``; a ``crosschain_delivery`` row marks it sent, so each is
delivered once (a lost answer sends it again: the main side keeps one row per event).
Acceptance (``CHAINPROOF_CHAIN_REGISTRY`` on the main deployment) keeps one
``crosschain_recall`` row per proven event; a second copy changes nothing.
"""

from __future__ import annotations

from typing import Any, Final

import httpx
import structlog
from hexbytes import HexBytes
from pydantic import BaseModel
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.bundle.build import block_receipts
from chainproof.bundle.ethproofs import header_rlp, receipt_proof
from chainproof.crosschain.messages import (
    MESSAGE_FORMAT,
    CheckpointProof,
    RecallMessage,
    verify_message,
)
from chainproof.crosschain.models import CrosschainDelivery, CrosschainRecall
from chainproof.crosschain.proofs import covering_checkpoint
from chainproof.crosschain.ranges import leaf_proof, range_tree
from chainproof.errors import ChainError
from chainproof.store.unique import insert_once
from chainproof.trace.models import TraceNode, TraceRecall

log = structlog.get_logger("chainproof.crosschain")

MESSAGES_PATH: Final = "/api/v1/crosschain/messages"
DELIVERY_TIMEOUT_S: Final = 10.0
DELIVERIES_PER_ROUND: Final = 16


# ---- the sub deployment: build and deliver ----------------------------------------------


def located(session: Session, sub_w3: Web3, tx_hash: str) -> dict[str, Any] | None:
    """Where ``tx_hash``'s event is, with its proofs (a message's common fields), or None
    while its block is not checkpointed (or the checkpointed hash at its height is another
    block's: a fork)."""
    tx = sub_w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    number, block_hash = int(tx["blockNumber"]), HexBytes(tx["blockHash"]).to_0x_hex()
    row = covering_checkpoint(session, int(sub_w3.eth.chain_id), number)
    if row is None or row.block_hashes[number - row.from_block].lower() != block_hash.lower():
        return None
    block = sub_w3.eth.get_block(HexBytes(block_hash))
    index = int(tx["transactionIndex"])
    trie_root, nodes = receipt_proof(block_receipts(sub_w3, block), index)
    if trie_root != bytes(block["receiptsRoot"]):
        raise ChainError(f"the node's receipts of block {number} do not build its receiptsRoot")
    return {
        "sub_chain_id": int(sub_w3.eth.chain_id),
        "tx_hash": HexBytes(tx_hash).to_0x_hex(),
        "block_number": number,
        "block_hash": block_hash,
        "block_timestamp": int(block["timestamp"]),
        "header": "0x" + header_rlp(block).hex(),
        "tx_index": index,
        "receipt_proof": ["0x" + n.hex() for n in nodes],
        "checkpoint": CheckpointProof(
            index=row.checkpoint_index,
            from_block=row.from_block,
            to_block=row.to_block,
            root=row.root,
            proof=leaf_proof(range_tree(row.from_block, row.block_hashes), number, block_hash),
        ),
    }


def build_message(
    session: Session,
    sub_w3: Web3,
    *,
    kind: str,
    tx_hash: str,
    trace_registry: str,
    lot_uri: str,
    lot_salt: str,
    lot_code: str | None,
    reason: str,
) -> RecallMessage | None:
    """The message of the ``kind`` event sent in ``tx_hash``, or None while its block is not
    checkpointed (:func:`located`)."""
    where = located(session, sub_w3, tx_hash)
    if where is None:
        return None
    return RecallMessage(
        format=MESSAGE_FORMAT,
        kind=kind,  # type: ignore[arg-type]
        trace_registry=Web3.to_checksum_address(trace_registry),
        lot_uri=lot_uri,
        lot_code=lot_code,
        lot_salt=lot_salt,
        reason=reason,
        **where,
    )


def _pending(session: Session) -> list[tuple[TraceRecall, TraceNode, str, str, str]]:
    """(recall, lot, kind, tx hash, reason) of every event sent on chain, not delivered."""
    delivered = {(d.recall_id, d.kind) for d in session.exec(select(CrosschainDelivery))}
    rows = session.exec(
        select(TraceRecall, TraceNode)
        .where(TraceRecall.lot_node_id == TraceNode.id, col(TraceRecall.tx_hash).is_not(None))
        .order_by(col(TraceRecall.id))
    ).all()
    out = []
    for r, lot in rows:
        assert r.id is not None and r.tx_hash is not None
        if (r.id, "recall") not in delivered:
            out.append((r, lot, "recall", r.tx_hash, r.reason))
        if r.lift_tx_hash and r.lift_reason and (r.id, "lift") not in delivered:
            out.append((r, lot, "lift", r.lift_tx_hash, r.lift_reason))
    return out[:DELIVERIES_PER_ROUND]


def post_message(url: str, msg: BaseModel, what: str, **context: Any) -> bool:
    """POSTs a cross-chain message to the main deployment; whether it was taken (201 new,
    200 known already). A refusal is logged and left for the next round."""
    answer = httpx.post(
        url, json=msg.model_dump(mode="json"), timeout=DELIVERY_TIMEOUT_S, follow_redirects=False
    )
    if answer.status_code in (200, 201):
        return True
    log.warning(f"{what} refused", status=answer.status_code, body=answer.text[:300], **context)
    return False


def deliver_recalls(
    session: Session, sub_w3: Web3, *, trace_registry: str, main_deployment: str
) -> int:
    """Delivers every checkpointed, undelivered recall and lift; how many went."""
    sent = 0
    url = main_deployment.rstrip("/") + MESSAGES_PATH
    for recall, lot, kind, tx_hash, reason in _pending(session):
        msg = build_message(
            session,
            sub_w3,
            kind=kind,
            tx_hash=tx_hash,
            trace_registry=trace_registry,
            lot_uri=lot.uri,
            lot_salt=lot.salt,
            lot_code=lot.code,
            reason=reason,
        )
        if msg is None:
            continue  # not checkpointed yet
        if not post_message(url, msg, "recall message", lot=lot.code):
            continue
        assert recall.id is not None
        session.add(CrosschainDelivery(recall_id=recall.id, kind=kind))
        session.commit()
        log.info("recall message delivered", lot=lot.code, kind=kind)
        sent += 1
    return sent


# ---- the main deployment: accept and show -------------------------------------------------


def accept_message(
    session: Session, w3: Web3, *, chain_registry: str, message: RecallMessage
) -> tuple[CrosschainRecall, bool]:
    """Verifies ``message`` on this deployment's chain and keeps it: (row, created). Raises
    MessageRefused (422) when its proof does not hold."""
    verified = verify_message(message, w3, chain_registry=chain_registry)
    m = verified.message
    key = (m.sub_chain_id, m.block_number, m.tx_index, m.kind, m.lot_key)
    row, created = insert_once(
        session,
        lambda: _event(session, key),
        lambda: CrosschainRecall(
            sub_chain_id=m.sub_chain_id,
            kind=m.kind,
            lot_uri=m.lot_uri,
            lot_code=m.lot_code,
            lot_key=m.lot_key,
            reason=m.reason,
            trace_registry=m.trace_registry,
            tx_hash=m.tx_hash,
            block_number=m.block_number,
            block_timestamp=m.block_timestamp,
            tx_index=m.tx_index,
            checkpoint_index=m.checkpoint.index,
        ),
    )
    if created:
        log.info("cross-chain recall accepted", detail=verified.detail)
    return row, created


def _event(session: Session, key: tuple[int, int, int, str, str]) -> CrosschainRecall | None:
    chain_id, number, index, kind, lot_key = key
    return session.exec(
        select(CrosschainRecall).where(
            CrosschainRecall.sub_chain_id == chain_id,
            CrosschainRecall.block_number == number,
            CrosschainRecall.tx_index == index,
            CrosschainRecall.kind == kind,
            CrosschainRecall.lot_key == lot_key,
        )
    ).first()


def crosschain_recalls(session: Session, uris: list[str]) -> list[dict[str, Any]]:
    """The scan page's recall entries for the lots ``uris`` from sub-chains: each recall,
    lifted when a later lift of the same lot came (by sub-chain block)."""
    rows = session.exec(
        select(CrosschainRecall)
        .where(col(CrosschainRecall.lot_uri).in_(uris))
        .order_by(col(CrosschainRecall.block_number), col(CrosschainRecall.tx_index))
    ).all()
    out: list[dict[str, Any]] = []
    for r in rows:
        if r.kind == "recall":
            out.append(
                {
                    "lot": r.lot_code or r.lot_uri,
                    "reason": r.reason,
                    "recalled_at": r.created_at.isoformat(),
                    "on_chain": True,
                    "lifted_at": None,
                    "lift_reason": None,
                    "lift_on_chain": False,
                    "chain_recalled_at": None,
                    "chain_lifted_at": None,
                    "cross_chain": {
                        "chain_id": r.sub_chain_id,
                        "tx_hash": r.tx_hash,
                        "block_number": r.block_number,
                        "checkpoint_index": r.checkpoint_index,
                    },
                }
            )
        else:
            for entry in out:
                same = entry["cross_chain"]["chain_id"] == r.sub_chain_id
                if same and entry["lifted_at"] is None and entry["lot"] in (r.lot_code, r.lot_uri):
                    entry["lifted_at"] = r.created_at.isoformat()
                    entry["lift_reason"] = r.reason
                    entry["lift_on_chain"] = True
    return out
