"""EvidenceRegistry on embedded, Anvil and Ganache: every function and every revert path."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from chainproof.chain.registry import SUBMITTER_ROLE
from chainproof.errors import ContractRevertError
from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import LEAF_TYPES

from ..conftest import Deployed

pytestmark = pytest.mark.chain

GAS_SNAPSHOT = Path(__file__).resolve().parents[1] / "gas-snapshot.json"
ZERO = b"\x00" * 32


def tree_of(n: int, tag: str = "doc") -> StandardMerkleTree:
    values = [
        ["sha256", keccak(text=f"{tag}-{i}"), keccak(text=f"salt-{tag}-{i}")] for i in range(n)
    ]
    return StandardMerkleTree.of(values, list(LEAF_TYPES))


def reverts(name: str, exc: pytest.ExceptionInfo[ContractRevertError]) -> dict[str, object]:
    assert exc.value.error_name == name, exc.value
    return exc.value.error_args


def funded(d: Deployed, account: LocalAccount) -> LocalAccount:
    """Gives a fresh key some ether so it can send transactions."""
    sender = d.sender(d.admin)
    signed = sender.sign({"to": account.address, "value": 10**18, "gas": 21_000})
    sender.send_raw(signed)
    assert sender.wait(signed.tx_hash).status == 1
    return account


def test_anchor_stores_and_emits(deployed: Deployed) -> None:
    client, tree = deployed.client(), tree_of(3)
    meta = keccak(text="batch metadata")
    mined = client.anchor(deployed.sender(deployed.admin), tree.root, 3, meta)
    info = client.get_anchor(tree.root)
    assert info is not None
    assert info.submitter == deployed.admin.address
    assert info.leaf_count == 3 and not info.revoked
    assert info.block_number == mined.block_number
    block = deployed.w3.eth.get_block(mined.block_number)
    assert info.timestamp == block["timestamp"]
    [event] = client.anchored_events(from_block=mined.block_number, to_block=mined.block_number)
    assert event.root == "0x" + tree.root.hex()
    assert event.metadata_hash == "0x" + meta.hex()
    assert event.submitter == deployed.admin.address
    assert event.tx_hash == mined.tx_hash


def test_unknown_root_reads_as_none(deployed: Deployed) -> None:
    assert deployed.client().get_anchor(keccak(text="never anchored")) is None


def test_double_anchor_reverts_with_first_time(deployed: Deployed) -> None:
    client, tree = deployed.client(), tree_of(2)
    sender = deployed.sender(deployed.admin)
    client.anchor(sender, tree.root, 2, ZERO)
    first = client.get_anchor(tree.root)
    assert first is not None
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(sender, tree.root, 2, ZERO)
    args = reverts("RootAlreadyAnchored", exc)
    assert args["anchoredAt"] == first.timestamp
    assert args["root"] == "0x" + tree.root.hex()


def test_empty_root_and_zero_leaves_revert(deployed: Deployed) -> None:
    client, sender = deployed.client(), deployed.sender(deployed.admin)
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(sender, ZERO, 1, ZERO)
    reverts("EmptyRoot", exc)
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(sender, keccak(text="r"), 0, ZERO)
    reverts("ZeroLeafCount", exc)


def test_non_member_cannot_anchor(deployed: Deployed) -> None:
    outsider = funded(deployed, Account.create())
    with pytest.raises(ContractRevertError) as exc:
        deployed.client().anchor(deployed.sender(outsider), tree_of(1).root, 1, ZERO)
    args = reverts("AccessControlUnauthorizedAccount", exc)
    assert args["account"] == outsider.address
    assert args["neededRole"] == "0x" + SUBMITTER_ROLE.hex()


def test_verify_every_leaf_and_reject_others(deployed: Deployed) -> None:
    client, tree = deployed.client(), tree_of(7)
    client.anchor(deployed.sender(deployed.admin), tree.root, 7, ZERO)
    for i in range(7):
        assert client.verify(tree.root, tree.leaf_hash_at(i), tree.get_proof(i))
    # A proof for another leaf, a leaf of another tree, and an unanchored root all fail.
    assert not client.verify(tree.root, tree.leaf_hash_at(0), tree.get_proof(1))
    other = tree_of(7, tag="other")
    assert not client.verify(tree.root, other.leaf_hash_at(0), tree.get_proof(0))
    assert not client.verify(other.root, other.leaf_hash_at(0), other.get_proof(0))
    assert not client.is_included(other.root, other.leaf_hash_at(0), other.get_proof(0))


def test_membership_granted_and_revoked_by_admin_only(deployed: Deployed) -> None:
    client = deployed.client()
    member = funded(deployed, Account.create())
    client.grant_member(deployed.sender(deployed.admin), member.address)
    assert client.is_member(member.address)
    client.anchor(deployed.sender(member), tree_of(1, "m").root, 1, ZERO)
    # A member is not an admin: it cannot admit others.
    with pytest.raises(ContractRevertError) as exc:
        client.grant_member(deployed.sender(member), Account.create().address)
    reverts("AccessControlUnauthorizedAccount", exc)
    client.revoke_member(deployed.sender(deployed.admin), member.address)
    assert not client.is_member(member.address)
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(deployed.sender(member), tree_of(1, "m2").root, 1, ZERO)
    reverts("AccessControlUnauthorizedAccount", exc)


def test_revoke_root_rules(deployed: Deployed) -> None:
    client = deployed.client()
    member = funded(deployed, Account.create())
    stranger = funded(deployed, Account.create())
    client.grant_member(deployed.sender(deployed.admin), member.address)
    client.grant_member(deployed.sender(deployed.admin), stranger.address)
    tree = tree_of(2)
    client.anchor(deployed.sender(member), tree.root, 2, ZERO)
    reason = keccak(text="wrong file")

    with pytest.raises(ContractRevertError) as exc:  # another member is not the submitter
        client.revoke_root(deployed.sender(stranger), tree.root, reason)
    args = reverts("NotSubmitterOrAdmin", exc)
    assert args["caller"] == stranger.address
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(member), keccak(text="nope"), reason)
    reverts("UnknownRoot", exc)

    client.revoke_root(deployed.sender(member), tree.root, reason)
    info = client.get_anchor(tree.root)
    assert info is not None and info.revoked
    assert not client.verify(tree.root, tree.leaf_hash_at(0), tree.get_proof(0))
    assert client.is_included(tree.root, tree.leaf_hash_at(0), tree.get_proof(0))
    [ev] = client.revocation_events()
    assert ev["event"] == "RootRevoked" and ev["reason_hash"] == "0x" + reason.hex()
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(deployed.admin), tree.root, reason)
    reverts("RootAlreadyRevoked", exc)


def test_admin_may_revoke_any_root(deployed: Deployed) -> None:
    client = deployed.client()
    member = funded(deployed, Account.create())
    client.grant_member(deployed.sender(deployed.admin), member.address)
    tree = tree_of(1)
    client.anchor(deployed.sender(member), tree.root, 1, ZERO)
    client.revoke_root(deployed.sender(deployed.admin), tree.root, ZERO)
    info = client.get_anchor(tree.root)
    assert info is not None and info.revoked


def test_revoke_leaf_rules(deployed: Deployed) -> None:
    client, tree = deployed.client(), tree_of(4)
    sender = deployed.sender(deployed.admin)
    client.anchor(sender, tree.root, 4, ZERO)
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(sender, tree.root, tree.leaf_hash_at(0), tree.get_proof(1), ZERO)
    reverts("InvalidProof", exc)
    client.revoke_leaf(sender, tree.root, tree.leaf_hash_at(2), tree.get_proof(2), ZERO)
    assert client.is_leaf_revoked(tree.root, tree.leaf_hash_at(2))
    assert not client.verify(tree.root, tree.leaf_hash_at(2), tree.get_proof(2))
    assert client.verify(tree.root, tree.leaf_hash_at(1), tree.get_proof(1))  # others intact
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(sender, tree.root, tree.leaf_hash_at(2), tree.get_proof(2), ZERO)
    reverts("LeafAlreadyRevoked", exc)
    outsider = funded(deployed, Account.create())
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(
            deployed.sender(outsider), tree.root, tree.leaf_hash_at(1), tree.get_proof(1), ZERO
        )
    reverts("NotSubmitterOrAdmin", exc)


def _sign_anchor(
    d: Deployed, signer: LocalAccount, root: bytes, leaf_count: int, nonce: int, deadline: int
) -> bytes:
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Anchor": [
                {"name": "root", "type": "bytes32"},
                {"name": "leafCount", "type": "uint32"},
                {"name": "metadataHash", "type": "bytes32"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Anchor",
        "domain": {
            "name": "ChainProof EvidenceRegistry",
            "version": "1",
            "chainId": d.w3.eth.chain_id,
            "verifyingContract": d.deployment.address,
        },
        "message": {
            "root": root,
            "leafCount": leaf_count,
            "metadataHash": ZERO,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    return bytes(
        Account.sign_message(encode_typed_data(full_message=message), signer.key).signature
    )


def test_anchor_with_signature_relayed(deployed: Deployed) -> None:
    client = deployed.client()
    org = Account.create()  # holds no ether: a relayer pays, the signature proves the org
    client.grant_member(deployed.sender(deployed.admin), org.address)
    relayer = funded(deployed, Account.create())
    deadline = int(time.time()) + 3600
    tree = tree_of(2, "sig")
    sig = _sign_anchor(deployed, org, tree.root, 2, client.nonce_of(org.address), deadline)
    client.anchor_with_signature(
        deployed.sender(relayer),
        root=tree.root,
        leaf_count=2,
        metadata_hash=ZERO,
        signer=org.address,
        deadline=deadline,
        signature=sig,
    )
    info = client.get_anchor(tree.root)
    assert info is not None and info.submitter == org.address

    # Replaying the same signature fails: the nonce moved on, so it recovers another address.
    with pytest.raises(ContractRevertError) as exc:
        client.anchor_with_signature(
            deployed.sender(relayer),
            root=tree.root,
            leaf_count=2,
            metadata_hash=ZERO,
            signer=org.address,
            deadline=deadline,
            signature=sig,
        )
    reverts("InvalidSigner", exc)


def test_signature_expired_forged_and_non_member(deployed: Deployed) -> None:
    client = deployed.client()
    org = Account.create()
    client.grant_member(deployed.sender(deployed.admin), org.address)
    relayer = funded(deployed, Account.create())
    tree = tree_of(1, "sig2")
    nonce = client.nonce_of(org.address)
    latest = deployed.w3.eth.get_block("latest")["timestamp"]

    expired = _sign_anchor(deployed, org, tree.root, 1, nonce, latest - 1)
    with pytest.raises(ContractRevertError) as exc:
        client.anchor_with_signature(
            deployed.sender(relayer),
            root=tree.root,
            leaf_count=1,
            metadata_hash=ZERO,
            signer=org.address,
            deadline=latest - 1,
            signature=expired,
        )
    reverts("SignatureExpired", exc)

    deadline = latest + 3600
    forged = _sign_anchor(deployed, Account.create(), tree.root, 1, nonce, deadline)
    with pytest.raises(ContractRevertError) as exc:
        client.anchor_with_signature(
            deployed.sender(relayer),
            root=tree.root,
            leaf_count=1,
            metadata_hash=ZERO,
            signer=org.address,
            deadline=deadline,
            signature=forged,
        )
    reverts("InvalidSigner", exc)

    outsider = Account.create()
    sig = _sign_anchor(deployed, outsider, tree.root, 1, 0, deadline)
    with pytest.raises(ContractRevertError) as exc:
        client.anchor_with_signature(
            deployed.sender(relayer),
            root=tree.root,
            leaf_count=1,
            metadata_hash=ZERO,
            signer=outsider.address,
            deadline=deadline,
            signature=sig,
        )
    assert reverts("NotMember", exc)["account"] == outsider.address


def test_gas_snapshot(deployed: Deployed) -> None:
    """Gas of anchor, revoke and verify per chain kind, compared with tests/gas-snapshot.json.

    Set CHAINPROOF_UPDATE_GAS_SNAPSHOT=1 to rewrite the file after an intended change; the
    diff then shows the gas change in review.
    """
    client, sender = deployed.client(), deployed.sender(deployed.admin)
    tree = tree_of(16, "gas")
    anchor = client.anchor(sender, tree.root, 16, keccak(text="m")).gas_used
    verify = client.contract.functions.verify(
        tree.root, tree.leaf_hash_at(5), tree.get_proof(5)
    ).estimate_gas()
    revoke_leaf = client.revoke_leaf(
        sender, tree.root, tree.leaf_hash_at(5), tree.get_proof(5), keccak(text="r")
    ).gas_used
    revoke_root = client.revoke_root(sender, tree.root, keccak(text="r")).gas_used
    # Fixed key and deadline: calldata gas depends on the bytes (zero bytes are cheaper), so
    # a random org or deadline would make the figure wobble.
    org = Account.from_key(keccak(text="gas snapshot org"))
    client.grant_member(sender, org.address)
    signed_tree = tree_of(16, "gas-signed")
    deadline = 2**40
    signature = client.sign_anchor(
        org,
        root=signed_tree.root,
        leaf_count=16,
        metadata_hash=keccak(text="m"),
        nonce=0,
        deadline=deadline,
    )
    relayed = client.anchor_with_signature(
        sender,
        root=signed_tree.root,
        leaf_count=16,
        metadata_hash=keccak(text="m"),
        signer=org.address,
        deadline=deadline,
        signature=signature,
    ).gas_used
    measured = {
        "anchor": anchor,
        "anchorWithSignature (first of the member)": relayed,
        "revokeLeaf (16 leaves)": revoke_leaf,
        "revokeRoot": revoke_root,
        "verify (16 leaves, estimate)": verify,
    }
    kind = deployed.node.kind
    snapshot = json.loads(GAS_SNAPSHOT.read_text()) if GAS_SNAPSHOT.exists() else {}
    if os.environ.get("CHAINPROOF_UPDATE_GAS_SNAPSHOT") == "1":
        snapshot[kind] = measured
        GAS_SNAPSHOT.write_text(json.dumps(snapshot, indent=2, sort_keys=True) + "\n")
    assert snapshot.get(kind) == measured, (
        f"gas changed on {kind}: {measured} vs snapshot {snapshot.get(kind)}; "
        "rerun with CHAINPROOF_UPDATE_GAS_SNAPSHOT=1 if intended"
    )
