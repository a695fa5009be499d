"""The offline bundle carries the cross-chain proofs (issue 22): a checkpointed sub-chain
receipt's bundle verifies with no network through the main-chain block that posted its
checkpoint (and, with --rpc, on a main-chain node alone); a dual-anchored receipt's bundle
proves each anchor under --policy any/all; tampered checkpoint or anchor material is refused."""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes
from sqlmodel import Session
from web3 import Web3

from chainproof.bundle import layout
from chainproof.bundle.build import build_bundle
from chainproof.bundle.verify import verify_bundle
from chainproof.chain.compiler import ContractArtifact
from chainproof.chain.deployments import deploy_registry, genesis_hash
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.crosschain.bundle_files import checkpoint_files, other_anchor_files
from chainproof.crosschain.proofs import with_checkpoint
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.digests import keccak256, to_hex
from chainproof.merkle import EVIDENCE_LEAF_TYPES, StandardMerkleTree
from chainproof.receipts import OtherAnchor, Receipt, evidence_leaf
from chainproof.store.db import make_engine, upgrade
from chainproof.timestamping.authority import Issued, TimeStampAuthority, make_query
from chainproof.timestamping.pki import Pki, load_pki
from chainproof.trust import TrustAnchor
from tests.crosschain.conftest import TwoChains
from tests.factories import pinned, receipt_from


def _anchor(w3: Web3, admin: Any, artifact: ContractArtifact, root: bytes) -> dict[str, Any]:
    deployment = deploy_registry(w3, admin, artifact)
    client = EvidenceRegistryClient(w3, deployment.address, artifact.abi)
    mined = client.anchor(TxSender(w3, admin), root, 2, b"\0" * 32)
    block = w3.eth.get_block(mined.block_number)
    return {
        "chain_id": int(w3.eth.chain_id),
        "contract": deployment.address,
        "tx_hash": mined.tx_hash,
        "block_number": mined.block_number,
        "block_hash": HexBytes(block["hash"]).to_0x_hex(),
        "block_timestamp": int(block["timestamp"]),
        "submitter": admin.address,
    }


def _root_of_two() -> tuple[list[tuple[bytes, bytes]], StandardMerkleTree]:
    docs = [(secrets.token_bytes(32), secrets.token_bytes(32)) for _ in range(2)]
    leaves = [evidence_leaf("sha256", d, s)[1] for d, s in docs]
    return docs, StandardMerkleTree.of(leaves, EVIDENCE_LEAF_TYPES)


def _bundle(receipt: Receipt, w3: Web3, pki: Pki, extra: dict[str, bytes]) -> bytes:
    answer = TimeStampAuthority(pki.tsa).respond(
        make_query("sha256", bytes.fromhex(receipt.digest[2:]))
    )
    assert isinstance(answer, Issued)
    return build_bundle(
        receipt=receipt.model_copy(update={"tsa_token": base64.b64encode(answer.token).decode()}),
        w3=w3,
        trust=pinned(w3, receipt.contract),
        tsa_reply=answer.reply,
        ca_pem=pki.ca_pem(),
        tsa_pem=pki.tsa_pem(),
        extra=extra,
    )


def _with(data: bytes, **changes: bytes | None) -> bytes:
    """The bundle with files replaced (or, for None, removed): names with ``/`` as ``__``."""
    changed = {k.replace("__", "/"): v for k, v in changes.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = changed.get(info.filename, old.read(info))
            if body is not None:
                new.writestr(info.filename, body)
    return out.getvalue()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return load_pki(tmp_path_factory.mktemp("pki"), password=None, create=True)


def test_checkpointed_sub_chain_bundle_verifies_through_the_main_chain(
    chains: TwoChains, registry_artifact: ContractArtifact, tmp_path: Path, pki: Pki
) -> None:
    sub_w3, main_w3 = chains.sub_w3, chains.main_w3
    docs, tree = _root_of_two()
    at = _anchor(sub_w3, chains.admin, registry_artifact, tree.root)
    digest, salt = docs[0]
    leaf = evidence_leaf("sha256", digest, salt)[1]
    receipt = receipt_from(
        algorithm="sha256",
        digest=digest,
        salt=salt,
        proof=tree.get_proof(tree.index_of(leaf)),
        root=tree.root,
        **at,
    )
    chains.client().register(
        chains.admin_sender(),
        chain_id=at["chain_id"],
        genesis_hash=genesis_hash(sub_w3),
        name="南宁",
        registries=[at["contract"]],
        signers=[chains.admin.address],
        threshold=1,
    )
    chains.mine_sub(sub_w3.eth.block_number + 2)
    url = f"sqlite:///{tmp_path / 'sub.db'}"
    upgrade(url)
    engine = make_engine(url)
    relay = Relay(
        engine=engine,
        sub_w3=sub_w3,
        main=open_main_chain(chains.main_url, chains.registry.address, chains.admin),
        signers=[chains.admin],
        every_blocks=1,
    )
    relay.drain()
    with Session(engine) as s:
        full = with_checkpoint(s, receipt, sub_w3)
    assert full.checkpoint is not None
    data = _bundle(full, sub_w3, pki, checkpoint_files(full, main_w3))
    code = bytes(main_w3.eth.get_code(Web3.to_checksum_address(chains.registry.address)))
    main_pin = {
        "chain_id": int(main_w3.eth.chain_id),
        "genesis_hash": genesis_hash(main_w3),
        "checkpoint_registry": chains.registry.address,
        "checkpoint_registry_code_hash": to_hex(keccak256(code)),
    }
    anchor = TrustAnchor.from_dict(
        {**pinned(sub_w3, at["contract"]).document(), "main_chain": main_pin}
    )

    def main_rpc(method: str, params: list[Any]) -> Any:
        return main_w3.provider.make_request(method, params)["result"]  # type: ignore[arg-type]

    verdict = verify_bundle(data, trust=anchor)
    assert verdict.valid, verdict.checks
    detail = dict((n, d) for n, _, d in verdict.checks)["checkpoint"]
    assert f"in checkpoint {full.checkpoint.index}" in detail and "main-chain" in detail
    # Only a main-chain node: it confirms the block that posted the checkpoint.
    online = verify_bundle(data, trust=anchor, rpc=main_rpc)
    assert online.valid and "(main chain)" in online.checks[-1][2], online.checks

    section = full.checkpoint
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        proof = json.loads(z.read(layout.CHECKPOINT_PROOF))
        bundled = Receipt.from_json(z.read(layout.RECEIPT))
    other_root = bundled.model_copy(
        update={"checkpoint": section.model_copy(update={"root": "0x" + "cd" * 32})}
    )
    wrong_index = bundled.model_copy(
        update={"checkpoint": section.model_copy(update={"index": section.index + 1})}
    )
    refused = {
        # the section's root is not the one the main chain's log carries (nor holds the block)
        "root": _with(data, **{"receipt.json": other_root.to_json().encode()}),
        "index": _with(data, **{"receipt.json": wrong_index.to_json().encode()}),
        # another block's header (the sub-chain's) in place of the main-chain block's
        "header": _with(data, **{"checkpoint__header.rlp": bytes(HexBytes(section.header))}),
        "proof": _with(
            data,
            **{
                "checkpoint__receipt-proof.json": json.dumps(
                    {**proof, "tx_index": proof["tx_index"] + 1}
                ).encode()
            },
        ),
        "missing": _with(data, **{"checkpoint__receipt-proof.json": None}),
    }
    for what, tampered in refused.items():
        bad = verify_bundle(tampered, trust=anchor)
        assert not bad.valid and bad.checks[-1][0] == "checkpoint", (what, bad.checks)
    # An anchor naming another main chain registry: the posted log is not its registry's.
    elsewhere = anchor.model_copy(
        update={
            "main_chain": anchor.main_chain.model_copy(  # type: ignore[union-attr]
                update={"checkpoint_registry": chains.accounts[3].address}
            )
        }
    )
    bad = verify_bundle(data, trust=elsewhere)
    assert not bad.valid and "the anchor pins" in (bad.reason or ""), bad.checks


def test_dual_anchored_bundle_under_both_policies(
    chains: TwoChains, registry_artifact: ContractArtifact, pki: Pki
) -> None:
    first_w3, second_w3 = chains.sub_w3, chains.main_w3
    docs, tree = _root_of_two()
    at_first = _anchor(first_w3, chains.admin, registry_artifact, tree.root)
    at_second = _anchor(second_w3, chains.admin, registry_artifact, tree.root)
    digest, salt = docs[0]
    leaf = evidence_leaf("sha256", digest, salt)[1]
    receipt = receipt_from(
        algorithm="sha256",
        digest=digest,
        salt=salt,
        proof=tree.get_proof(tree.index_of(leaf)),
        root=tree.root,
        **at_first,
    ).model_copy(update={"other_anchors": [OtherAnchor(**at_second)]})
    nodes = {at_second["chain_id"]: second_w3}
    data = _bundle(receipt, first_w3, pki, other_anchor_files(receipt, nodes))
    second_pin = pinned(second_w3, at_second["contract"]).document()
    trust = TrustAnchor.from_dict(
        {
            **pinned(first_w3, at_first["contract"]).document(),
            "other_chains": [
                {k: second_pin[k] for k in ("chain_id", "genesis_hash", "registry")}
                | {
                    "registry_code_hash": second_pin["registry_code_hash"],
                    "registry_version": second_pin.get("registry_version"),
                }
            ],
        }
    )
    for policy in ("any", "all"):
        verdict = verify_bundle(data, trust=trust, policy=policy)
        assert verdict.valid, (policy, verdict.checks)
        assert (
            "2 of 2 anchors proven" in dict((n, d) for n, _, d in verdict.checks)["other_anchors"]
        )
    # The second anchor's proof tampered (another transaction of its block), or left out, or
    # its chain not pinned: all refuses, any holds with the first anchor.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        proof = json.loads(z.read(layout.anchor_proof(0)))
    broken = json.dumps({**proof, "tx_index": proof["tx_index"] + 1}).encode()
    cases = [
        (_with(data, **{layout.anchor_proof(0).replace("/", "__"): broken}), trust),
        (_with(data, **{layout.anchor_proof(0).replace("/", "__"): None}), trust),
        (data, trust.model_copy(update={"other_chains": None})),
    ]
    for tampered, pin in cases:
        refused = verify_bundle(tampered, trust=pin, policy="all")
        assert not refused.valid and refused.checks[-1][0] == "other_anchors", refused.checks
        assert "1 of 2" in (refused.reason or "")
        held = verify_bundle(tampered, trust=pin, policy="any")
        assert held.valid and "1 of 2 anchors proven" in held.checks[-2][2], held.checks
