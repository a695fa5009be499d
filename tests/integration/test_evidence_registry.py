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

from chainproof.chain.registry import SUBMITTER_ROLE, registry_version
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
    info = client.get_anchor(deployed.admin.address, tree.root)
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
    client = deployed.client()
    assert client.get_anchor(deployed.admin.address, keccak(text="never anchored")) is None


def test_version_is_2(deployed: Deployed) -> None:
    assert deployed.client().contract.functions.version().call() == 2
    assert registry_version(deployed.w3, deployed.deployment.address) == 2


def test_double_anchor_reverts_with_first_time(deployed: Deployed) -> None:
    client, tree = deployed.client(), tree_of(2)
    sender = deployed.sender(deployed.admin)
    client.anchor(sender, tree.root, 2, ZERO)
    first = client.get_anchor(deployed.admin.address, tree.root)
    assert first is not None
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(sender, tree.root, 2, ZERO)
    args = reverts("RootAlreadyAnchored", exc)
    assert args["anchoredAt"] == first.timestamp
    assert args["root"] == "0x" + tree.root.hex()
    assert args["submitter"] == deployed.admin.address


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
    me = deployed.admin.address
    for i in range(7):
        assert client.verify(me, tree.root, tree.leaf_hash_at(i), tree.get_proof(i))
    # A proof for another leaf, a leaf of another tree, an unanchored root, and the right
    # root under another submitter all fail.
    assert not client.verify(me, tree.root, tree.leaf_hash_at(0), tree.get_proof(1))
    other = tree_of(7, tag="other")
    assert not client.verify(me, tree.root, other.leaf_hash_at(0), tree.get_proof(0))
    assert not client.verify(me, other.root, other.leaf_hash_at(0), other.get_proof(0))
    assert not client.is_included(me, other.root, other.leaf_hash_at(0), other.get_proof(0))
    stranger = Account.create().address
    assert not client.verify(stranger, tree.root, tree.leaf_hash_at(0), tree.get_proof(0))
    assert not client.is_included(stranger, tree.root, tree.leaf_hash_at(0), tree.get_proof(0))


def test_membership_granted_and_revoked_by_the_member_admin_only(deployed: Deployed) -> None:
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

    # Another member revokes only its own anchors: it has none of this root.
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(stranger), tree.root, reason)
    args = reverts("UnknownRoot", exc)
    assert args["submitter"] == stranger.address
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(member), keccak(text="nope"), reason)
    reverts("UnknownRoot", exc)

    client.revoke_root(deployed.sender(member), tree.root, reason)
    info = client.get_anchor(member.address, tree.root)
    assert info is not None and info.revoked
    proof = tree.get_proof(0)
    assert not client.verify(member.address, tree.root, tree.leaf_hash_at(0), proof)
    assert client.is_included(member.address, tree.root, tree.leaf_hash_at(0), proof)
    [ev] = client.revocation_events()
    assert ev["event"] == "RootRevoked" and ev["reason_hash"] == "0x" + reason.hex()
    assert ev["revoker"] == member.address
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(member), tree.root, reason)
    reverts("RootAlreadyRevoked", exc)


def test_not_even_the_admin_may_revoke_a_members_root(deployed: Deployed) -> None:
    """v1 let the admin (the operator's online key) revoke any root: one server compromise
    revoked everything. In v2 an anchor is its submitter's alone (docs/security.md F19)."""
    client = deployed.client()
    member = funded(deployed, Account.create())
    client.grant_member(deployed.sender(deployed.admin), member.address)
    tree = tree_of(1)
    client.anchor(deployed.sender(member), tree.root, 1, ZERO)
    assert client.is_admin(deployed.admin.address)
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(deployed.admin), tree.root, ZERO)
    assert reverts("UnknownRoot", exc)["submitter"] == deployed.admin.address
    info = client.get_anchor(member.address, tree.root)
    assert info is not None and not info.revoked


def test_revoke_leaf_rules(deployed: Deployed) -> None:
    client, tree = deployed.client(), tree_of(4)
    sender, me = deployed.sender(deployed.admin), deployed.admin.address
    client.anchor(sender, tree.root, 4, ZERO)
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(sender, tree.root, tree.leaf_hash_at(0), tree.get_proof(1), ZERO)
    reverts("InvalidProof", exc)
    client.revoke_leaf(sender, tree.root, tree.leaf_hash_at(2), tree.get_proof(2), ZERO)
    assert client.is_leaf_revoked(me, tree.root, tree.leaf_hash_at(2))
    assert not client.verify(me, tree.root, tree.leaf_hash_at(2), tree.get_proof(2))
    assert client.verify(me, tree.root, tree.leaf_hash_at(1), tree.get_proof(1))  # intact
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(sender, tree.root, tree.leaf_hash_at(2), tree.get_proof(2), ZERO)
    reverts("LeafAlreadyRevoked", exc)
    outsider = funded(deployed, Account.create())
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(
            deployed.sender(outsider), tree.root, tree.leaf_hash_at(1), tree.get_proof(1), ZERO
        )
    reverts("UnknownRoot", exc)


def test_revoke_leaf_by_the_submitters_signature_relayed(deployed: Deployed) -> None:
    """A custodial member key holds no ether: the operator relays its signed revocation.
    A signature by anyone else, or replayed, is refused."""
    client = deployed.client()
    org = Account.create()
    client.grant_member(deployed.sender(deployed.admin), org.address)
    tree = tree_of(3, "signed-revoke")
    relayer = deployed.sender(deployed.admin)
    deadline = int(deployed.w3.eth.get_block("latest")["timestamp"]) + 3600
    sig = client.sign_anchor(
        org, root=tree.root, leaf_count=3, metadata_hash=ZERO, nonce=0, deadline=deadline
    )
    client.anchor_with_signature(
        relayer,
        root=tree.root,
        leaf_count=3,
        metadata_hash=ZERO,
        signer=org.address,
        deadline=deadline,
        signature=sig,
    )
    leaf, proof = tree.leaf_hash_at(1), tree.get_proof(1)
    impostor = Account.create()
    with pytest.raises(ContractRevertError):  # the impostor has no anchor of this root
        client.revoke_leaf_signed(
            relayer, impostor, root=tree.root, leaf=leaf, proof=proof, reason_hash=ZERO
        )
    assert not client.is_leaf_revoked(org.address, tree.root, leaf)
    mined = client.revoke_leaf_signed(
        relayer, org, root=tree.root, leaf=leaf, proof=proof, reason_hash=ZERO
    )
    assert mined.status == 1
    assert client.is_leaf_revoked(org.address, tree.root, leaf)
    [ev] = client.revocation_events()
    assert ev["revoker"] == org.address  # the revoker is the submitter, not the relayer


def test_the_same_root_anchored_by_two_members_is_two_anchors(deployed: Deployed) -> None:
    """No squatting (docs/security.md F15): a root anchored by B does not block A; each
    anchor has its own submitter, time and revocations."""
    client = deployed.client()
    a, b = funded(deployed, Account.create()), funded(deployed, Account.create())
    for m in (a, b):
        client.grant_member(deployed.sender(deployed.admin), m.address)
    tree = tree_of(4, "shared")
    first = client.anchor(deployed.sender(b), tree.root, 4, ZERO)
    second = client.anchor(deployed.sender(a), tree.root, 4, ZERO)
    anchor_a, anchor_b = (
        client.get_anchor(a.address, tree.root),
        client.get_anchor(b.address, tree.root),
    )
    assert anchor_a is not None and anchor_b is not None
    assert (anchor_b.block_number, anchor_a.block_number) == (
        first.block_number,
        second.block_number,
    )
    client.revoke_root(deployed.sender(b), tree.root, ZERO)  # B revokes its own only
    proof = tree.get_proof(0)
    assert client.verify(a.address, tree.root, tree.leaf_hash_at(0), proof)
    assert not client.verify(b.address, tree.root, tree.leaf_hash_at(0), proof)
    submitters = [e.submitter for e in client.anchored_events(root=tree.root)]
    assert submitters == [b.address, a.address]


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
            "version": "2",
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
    info = client.get_anchor(org.address, tree.root)
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
        deployed.admin.address, tree.root, tree.leaf_hash_at(5), tree.get_proof(5)
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
