"""The server's side of offline proof bundles (``bundle/``): the evidence's receipt with its
RFC 3161 token (issued now when the document came without one), the node's header and
receipt proof, the TSA root, the server's trust anchor and, when the batch committed to an
earlier block, the proof of its lower time bound (``evidence/freshness.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlmodel import Session
from web3 import Web3

from chainproof.bundle import layout
from chainproof.bundle.build import build_bundle
from chainproof.chain.context import ChainContext
from chainproof.crosschain.bundle_files import checkpoint_files, other_anchor_files
from chainproof.crosschain.proofs import receipt_with_checkpoint
from chainproof.crosschain.second_anchor import with_other_anchors
from chainproof.evidence import freshness, service
from chainproof.evidence.verify import Viewer
from chainproof.timestamping.authority import granted_reply
from chainproof.timestamping.service import Tsa, ensure_stamp
from chainproof.trust import TrustAnchor

log = structlog.get_logger("chainproof.bundle")


def evidence_bundle(
    *,
    session: Session,
    evidence_id: str,
    viewer: Viewer,
    chain: ChainContext,
    tsa: Tsa,
    anchor: TrustAnchor,
    main_w3: Web3 | None = None,
    other_nodes: Mapping[int, Web3] | None = None,
) -> bytes:
    """The bundle's zip for one anchored evidence the viewer may see (404 / 409 as for its
    receipt); ``main_w3`` (the main chain) and ``other_nodes`` (the other anchors' chains)
    add the cross-chain proofs (issue 22)."""
    receipt = service.build_receipt(session=session, evidence_id=evidence_id, viewer=viewer)
    ev = service.visible_evidence(session=session, evidence_id=evidence_id, viewer=viewer)
    stamp = ensure_stamp(session, ev, tsa)
    receipt = service.build_receipt(session=session, evidence_id=evidence_id, viewer=viewer)
    # Its checkpoint section once its block is checkpointed into a main chain (issue 22).
    receipt = receipt_with_checkpoint(session, receipt, chain.w3)
    extra: dict[str, Any] = {}
    if receipt.checkpoint is not None:
        try:
            extra.update(checkpoint_files(receipt, main_w3) if main_w3 is not None else {})
        except Exception as exc:  # the main chain's node away: the section is left out
            log.warning("bundle without its checkpoint", error=f"{type(exc).__name__}: {exc}")
        if layout.CHECKPOINT_PROOF not in extra:  # unprovable offline here: not claimed
            receipt = receipt.model_copy(update={"checkpoint": None})
    receipt = with_other_anchors(session, receipt)  # dual anchoring, each anchor proven
    extra.update(other_anchor_files(receipt, other_nodes or {}))
    time_doc = freshness.time_document(session, ev, chain.w3)
    if time_doc is not None:
        extra[layout.TIME] = time_doc
    return build_bundle(
        receipt=receipt,
        w3=chain.w3,
        trust=anchor,
        tsa_reply=granted_reply(stamp.token),
        ca_pem=tsa.pki.ca_pem(),
        tsa_pem=tsa.pki.tsa_pem(),
        extra=extra,
    )
