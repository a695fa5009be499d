"""A receipt's ``checkpoint`` section, built by the server once its block is checkpointed.

From the ``crosschain_checkpoint`` row covering the receipt's block: the range, its root and
the block hash's proof (from the stored hashes: the range as anchored, whatever the node
says now), and, from the sub-chain node, the block's header and the anchoring receipt's
trie proof (``bundle/build.py``). A receipt whose block hash is not the stored leaf (the
sub-chain was reset or forked since) gets no section, ever: nothing proves the new block.
"""

from __future__ import annotations

import json

import structlog
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.bundle.build import proof_files
from chainproof.bundle.layout import HEADER, PROOF
from chainproof.crosschain.models import CrosschainCheckpoint
from chainproof.crosschain.ranges import leaf_proof, range_tree
from chainproof.crosschain.section import CheckpointSection
from chainproof.receipts import Receipt

log = structlog.get_logger("chainproof.crosschain")


def covering_checkpoint(
    session: Session, chain_id: int, block_number: int
) -> CrosschainCheckpoint | None:
    return session.exec(
        select(CrosschainCheckpoint).where(
            CrosschainCheckpoint.sub_chain_id == chain_id,
            col(CrosschainCheckpoint.from_block) <= block_number,
            col(CrosschainCheckpoint.to_block) >= block_number,
        )
    ).first()


def recent_checkpoints(
    session: Session, *, chain_id: int, limit: int = 10
) -> list[CrosschainCheckpoint]:
    """This chain's latest checkpoints on its main chain, newest first (the explorer)."""
    return list(
        session.exec(
            select(CrosschainCheckpoint)
            .where(CrosschainCheckpoint.sub_chain_id == chain_id)
            .order_by(col(CrosschainCheckpoint.from_block).desc())
            .limit(limit)
        )
    )


def checkpoint_section(session: Session, receipt: Receipt, w3: Web3) -> CheckpointSection | None:
    """The section for ``receipt`` (``w3``: the sub-chain's node), or None while its block is
    not checkpointed, or when the checkpointed hash at its height is another block's."""
    row = covering_checkpoint(session, receipt.chain_id, receipt.block_number)
    if row is None:
        return None
    leaf = row.block_hashes[receipt.block_number - row.from_block]
    if leaf.lower() != receipt.block_hash.lower():
        log.error(
            "receipt block is not the checkpointed one: sub-chain reset or fork",
            block_number=receipt.block_number,
            checkpointed=leaf,
            receipt_block=receipt.block_hash,
        )
        return None
    tree = range_tree(row.from_block, row.block_hashes)
    files = proof_files(w3, receipt)
    trie = json.loads(files[PROOF])
    return CheckpointSection(
        main_chain_id=row.main_chain_id,
        registry=row.chain_registry,
        index=row.checkpoint_index,
        from_block=row.from_block,
        to_block=row.to_block,
        root=row.root,
        proof=leaf_proof(tree, receipt.block_number, receipt.block_hash),
        main_tx_hash=row.main_tx_hash,
        main_block_number=row.main_block_number,
        header="0x" + files[HEADER].hex(),
        tx_index=int(trie["tx_index"]),
        receipt_proof=list(trie["nodes"]),
    )


def with_checkpoint(session: Session, receipt: Receipt, w3: Web3) -> Receipt:
    """``receipt`` with its section when there is one (unchanged otherwise)."""
    section = checkpoint_section(session, receipt, w3)
    return receipt.model_copy(update={"checkpoint": section}) if section else receipt


def receipt_with_checkpoint(session: Session, receipt: Receipt, w3: Web3) -> Receipt:
    """:func:`with_checkpoint` for the API: a sub-chain node that cannot give the header or
    the receipt proof now leaves the section out (the receipt stays valid without it)."""
    try:
        return with_checkpoint(session, receipt, w3)
    except Exception as exc:
        log.warning("no checkpoint section for now", error=f"{type(exc).__name__}: {exc}")
        return receipt
