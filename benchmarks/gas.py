"""Measurement 1: gas per document by batch size, against one anchoring tx per document.

Each batch is a real StandardMerkleTree of N evidence leaves whose root is anchored by the
operator, as the batcher does; gas is the mined receipt's ``gasUsed``. The baseline anchors
each document's leaf as its own root, one transaction per document.
"""

from __future__ import annotations

import os
from pathlib import Path

from eth_utils import keccak

from benchmarks.results import Result
from benchmarks.stack import fresh_chain
from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import LEAF_TYPES, evidence_leaf_hash

SIZES = (1, 10, 100, 1_000, 10_000)
# The largest batch: the anchoring transaction's gas does not grow with N (only the root
# goes on chain), so the per-transaction gas cap (EIP-7825, 2**24) never limits N; the
# bounds are uint32 leafCount on chain and the batcher's CHAINPROOF_BATCH_SIZE ceiling.
MAX_BATCH = 100_000


def _root_of(n: int) -> bytes:
    values = [["sha256", os.urandom(32), os.urandom(32)] for _ in range(n)]
    return StandardMerkleTree.of(values, list(LEAF_TYPES)).root


def measure(workdir: Path, *, quick: bool) -> list[Result]:
    sizes = (*SIZES, MAX_BATCH)
    baseline_docs = 5 if quick else 20
    with fresh_chain(workdir / "gas-chain") as chain:
        reg, sender = chain.registry, chain.sender
        meta = keccak(text="bench")
        per_doc_baseline: list[int] = []
        for _ in range(baseline_docs):
            leaf = evidence_leaf_hash("sha256", os.urandom(32), os.urandom(32))
            per_doc_baseline.append(reg.anchor(sender, leaf, 1, meta).gas_used)
        baseline = sum(per_doc_baseline) / len(per_doc_baseline)
        gas_cap = 16_777_216
        out: list[Result] = []
        for n in sizes:
            # Quick: the largest batch's root is random bytes. Its transaction's gas does not
            # depend on the root, and building a 100,000-leaf tree is most of this step.
            root = os.urandom(32) if quick and n == MAX_BATCH else _root_of(n)
            mined = reg.anchor(sender, root, n, meta)
            assert mined.gas_used <= gas_cap
            label = f"gas/doc, batch {n:,}" + (" (largest)" if n == MAX_BATCH else "")
            at_10k = n == 10_000
            out.append(
                Result(
                    measurement="gas",
                    name=label,
                    value=mined.gas_used / n,
                    unit="gas",
                    baseline=baseline,
                    baseline_name="1 tx per doc",
                    better="lower",
                    target=10.0 if at_10k else None,
                    target_text="<= 10" if at_10k else "",
                    notes=f"anchor tx {mined.gas_used} gas for {n} documents",
                )
            )
    return out
