"""The bundle's files and limits, shared by the builder and the verifier.

A zip (``chainproof-bundle-<id>.zip``) holding:

===================== =====================================================================
``receipt.json``      the receipt (docs/receipt.md), with its ``tsa_token``
``header.rlp``        the RLP of the header of the receipt's block: keccak-256 is its hash
``receipt-proof.json`` the anchoring transaction's receipt proved against ``receiptsRoot``:
                      ``{"format", "tx_index", "key", "nodes"}`` (hex RLP trie nodes)
``tsa.tsr``           an RFC 3161 TimeStampResp over the document (``openssl ts -reply``)
``tsa.pem``           the TSA's certificate (for ``openssl ts -verify -untrusted``)
``ca.pem``            the root the token chains to
``trust.json``        the server's trust anchor (``chainproof-trust-anchor/1``)
``time.json``         optional: the block committed to before the documents were accepted,
                      with its header (two-sided time, ``evidence/freshness.py``)
``checkpoint/``       a sub-chain receipt with a ``checkpoint`` section: ``header.rlp`` and
                      ``receipt-proof.json`` of the main-chain block and transaction that
                      posted the checkpoint (its ``CheckpointPosted`` log, issue 22)
``anchors/<n>/``      a dual-anchored receipt: ``header.rlp`` and ``receipt-proof.json`` of
                      its ``other_anchors[n]`` (that chain's ``Anchored`` log)
``VERIFY.txt``        how to check it with stock tools and ``chainproof verify-bundle``
===================== =====================================================================
"""

from __future__ import annotations

from typing import Final

BUNDLE_FORMAT: Final = "chainproof-bundle/1"
PROOF_FORMAT: Final = "chainproof-receipt-proof/1"
TIME_FORMAT: Final = "chainproof-time/1"
RECEIPT: Final = "receipt.json"
HEADER: Final = "header.rlp"
PROOF: Final = "receipt-proof.json"
TSR: Final = "tsa.tsr"
TSA_PEM: Final = "tsa.pem"
CA_PEM: Final = "ca.pem"
TRUST: Final = "trust.json"
TIME: Final = "time.json"
README: Final = "VERIFY.txt"
CHECKPOINT_HEADER: Final = "checkpoint/header.rlp"
CHECKPOINT_PROOF: Final = "checkpoint/receipt-proof.json"


def anchor_header(n: int) -> str:
    return f"anchors/{n}/header.rlp"


def anchor_proof(n: int) -> str:
    return f"anchors/{n}/receipt-proof.json"


REQUIRED: Final = (RECEIPT, HEADER, PROOF, TSR, CA_PEM, TRUST)
# A real bundle is a few KiB. A file or a zip past these is not one: read no further (a
# zip bomb's entries declare small sizes and inflate to gigabytes).
MAX_MEMBER_BYTES: Final = 1024 * 1024
MAX_BUNDLE_BYTES: Final = 8 * 1024 * 1024
MAX_MEMBERS: Final = 32
