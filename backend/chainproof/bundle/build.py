"""Building an offline proof bundle from a receipt and the node it was anchored on.

The server's side (``GET /api/v1/evidence/{id}/bundle``): reads the receipt's block header
and every receipt of that block from the node, checks the header re-encodes to the block's
hash and the trie it builds to the header's ``receiptsRoot`` (a bundle the builder could not
verify is never handed out), and zips them with the TSA token, the root and the anchor.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

import rlp
from eth_typing import HexStr
from web3 import Web3

from chainproof.bundle import layout
from chainproof.bundle.ethproofs import ProofError, header_rlp, receipt_proof
from chainproof.errors import ChainError
from chainproof.receipts import Receipt
from chainproof.trust import TrustAnchor


def block_receipts(w3: Web3, block: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every transaction receipt of ``block``, in order: ``eth_getBlockReceipts`` where the
    node has it (Anvil, geth, Besu), else one ``eth_getTransactionReceipt`` each."""
    try:
        answer = w3.provider.make_request(
            "eth_getBlockReceipts",  # type: ignore[arg-type]
            [Web3.to_hex(block["hash"])],
        )
        found = answer.get("result")
        if isinstance(found, list) and len(found) == len(block["transactions"]):
            return found
    except Exception:  # a node without the method: ask for the receipts one by one
        pass
    return [w3.eth.get_transaction_receipt(h) for h in block["transactions"]]


def proof_files(w3: Web3, receipt: Receipt) -> dict[str, bytes]:
    """``header.rlp`` and ``receipt-proof.json`` for ``receipt``'s anchoring transaction."""
    return tx_proof_files(w3, receipt.tx_hash, receipt.block_hash, receipt.block_number)


def tx_proof_files(w3: Web3, tx_hash: str, block_hash: str, number: int) -> dict[str, bytes]:
    """The header of block ``block_hash`` and the trie proof of ``tx_hash``'s receipt in it
    (``layout.HEADER`` and ``layout.PROOF``), checked against the header before handed out."""
    block = w3.eth.get_block(HexStr(block_hash))
    tx = w3.eth.get_transaction_receipt(HexStr(tx_hash))
    if Web3.to_hex(tx["blockHash"]) != block_hash:
        raise ChainError(f"transaction {tx_hash} is no longer in {block_hash}")
    index = int(tx["transactionIndex"])
    try:
        header = header_rlp(block)
        root, nodes = receipt_proof(block_receipts(w3, block), index)
    except ProofError as exc:
        raise ChainError(f"cannot prove block {number}: {exc}") from exc
    if root != bytes(block["receiptsRoot"]):
        raise ChainError(
            f"the node's receipts of block {number} do not build its "
            "receiptsRoot: a node whose receipt encoding this version does not know"
        )
    proof = {
        "format": layout.PROOF_FORMAT,
        "tx_index": index,
        "key": "0x" + rlp.encode(index).hex(),  # the trie's key: rlp(transaction index)
        "nodes": ["0x" + n.hex() for n in nodes],
    }
    return {layout.HEADER: header, layout.PROOF: _json(proof)}


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def readme(receipt: Receipt) -> bytes:
    return f"""ChainProof offline proof bundle ({layout.BUNDLE_FORMAT})

Evidence {receipt.evidence_id}: {receipt.algorithm} {receipt.digest}
Anchored on chain {receipt.chain_id} by registry {receipt.contract}
in block {receipt.block_number} ({receipt.block_hash}), transaction {receipt.tx_hash}.

Verify with no network, pinning the operator's trust anchor got out of band:
    chainproof verify-bundle THIS.zip --trust ANCHOR.json
and, with a node, that the block is still canonical there:
    chainproof verify-bundle THIS.zip --trust ANCHOR.json --rpc URL

The time stamp with stock OpenSSL:
    openssl ts -reply -in tsa.tsr -text
    openssl ts -verify -in tsa.tsr -digest <imprint hex> -CAfile ca.pem -untrusted tsa.pem

The only things to trust: the anchor (chain id, genesis, registry and its code hash) and
that block {receipt.block_number} of that chain has hash {receipt.block_hash}.
""".encode()


def build_bundle(
    *,
    receipt: Receipt,
    w3: Web3,
    trust: TrustAnchor,
    tsa_reply: bytes,
    ca_pem: bytes,
    tsa_pem: bytes,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """The zip (bytes) of ``receipt``'s bundle; ``extra`` adds files (``time.json``)."""
    files: dict[str, bytes] = {
        layout.RECEIPT: receipt.to_json().encode() + b"\n",
        **proof_files(w3, receipt),
        layout.TSR: tsa_reply,
        layout.TSA_PEM: tsa_pem,
        layout.CA_PEM: ca_pem,
        layout.TRUST: _json(trust.document()),
        **(extra or {}),
        layout.README: readme(receipt),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            # A fixed date: the same proof zips to the same bytes whenever it is asked for.
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()
