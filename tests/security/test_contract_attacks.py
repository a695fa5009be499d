"""Attacks on EvidenceRegistry itself, on the embedded chain and on Anvil.

Each attack reverts with its custom error, decoded by ``chain/registry.py``'s ErrorDecoder
(``ContractRevertError.error_name``), or is rejected by the verifier:

* writes without the role: a non-member anchors, a member revokes another's root or leaf;
* root squatting: another member anchoring my root first (it becomes its own anchor, mine
  still goes through) and the same root twice by one member;
* EIP-712 signatures replayed, expired, made for another chain id or another contract,
  and the high-s twin of a valid signature (malleability);
* role escalation: a non-admin grants a role, a member grants itself admin, a member
  renounces someone else's role; the operator's key (MEMBER_ADMIN_ROLE) grants itself the
  admin role, takes it by transfer, or revokes a member's anchor; the admin transfer is
  accepted before its delay;
* an internal Merkle node presented as a leaf.

``tests/integration/test_evidence_registry.py`` covers the functions' normal behaviour.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from chainproof.chain.deployments import deploy_registry
from chainproof.chain.registry import MEMBER_ADMIN_ROLE, SUBMITTER_ROLE, EvidenceRegistryClient
from chainproof.errors import ContractRevertError
from chainproof.merkle import StandardMerkleTree, node_hash
from chainproof.receipts import LEAF_TYPES, Receipt, check_receipt_offline, verify_receipt

from ..conftest import Deployed
from ..factories import pinned, receipt_from

pytestmark = [
    pytest.mark.chain,
    # The logic is the same on every node; embedded for speed, Anvil for a real node.
    pytest.mark.parametrize("chain_node", ["embedded", "anvil"], indirect=True),
]

ZERO = b"\x00" * 32
ADMIN_ROLE = b"\x00" * 32  # OpenZeppelin's DEFAULT_ADMIN_ROLE
# secp256k1's group order: s and n - s are both valid ECDSA, only s <= n/2 is canonical.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def tree_of(n: int, tag: str) -> StandardMerkleTree:
    values = [
        ["sha256", keccak(text=f"{tag}-{i}"), keccak(text=f"salt-{tag}-{i}")] for i in range(n)
    ]
    return StandardMerkleTree.of(values, list(LEAF_TYPES))


def refused(name: str, exc: pytest.ExceptionInfo[ContractRevertError]) -> dict[str, object]:
    assert exc.value.error_name == name, exc.value
    return exc.value.error_args


def funded(d: Deployed, account: LocalAccount | None = None) -> LocalAccount:
    account = account or Account.create()
    sender = d.sender(d.admin)
    signed = sender.sign({"to": account.address, "value": 10**18, "gas": 21_000})
    sender.send_raw(signed)
    assert sender.wait(signed.tx_hash).status == 1
    return account


def member(d: Deployed) -> LocalAccount:
    account = funded(d)
    d.client().grant_member(d.sender(d.admin), account.address)
    return account


# --- writes without the right ---------------------------------------------------------------


def test_a_non_member_cannot_anchor(deployed: Deployed) -> None:
    outsider = funded(deployed)
    client = deployed.client()
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(deployed.sender(outsider), tree_of(1, "x").root, 1, ZERO)
    args = refused("AccessControlUnauthorizedAccount", exc)
    assert args["account"] == outsider.address
    assert args["neededRole"] == "0x" + SUBMITTER_ROLE.hex()
    assert client.get_anchor(outsider.address, tree_of(1, "x").root) is None


def test_a_member_cannot_revoke_another_members_root_or_leaf(deployed: Deployed) -> None:
    client = deployed.client()
    owner, rival = member(deployed), member(deployed)
    tree = tree_of(4, "owned")
    client.anchor(deployed.sender(owner), tree.root, 4, ZERO)
    # A rival revokes only in its own anchors: it has none of this root.
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_root(deployed.sender(rival), tree.root, ZERO)
    assert refused("UnknownRoot", exc)["submitter"] == rival.address
    with pytest.raises(ContractRevertError) as exc:
        client.revoke_leaf(
            deployed.sender(rival), tree.root, tree.leaf_hash_at(1), tree.get_proof(1), ZERO
        )
    refused("UnknownRoot", exc)
    # Nor by anchoring the same root itself and revoking that: its anchor is its own.
    client.anchor(deployed.sender(rival), tree.root, 4, ZERO)
    client.revoke_leaf(
        deployed.sender(rival), tree.root, tree.leaf_hash_at(1), tree.get_proof(1), ZERO
    )
    client.revoke_root(deployed.sender(rival), tree.root, ZERO)
    info = client.get_anchor(owner.address, tree.root)
    assert info is not None and not info.revoked
    assert not client.is_leaf_revoked(owner.address, tree.root, tree.leaf_hash_at(1))
    assert client.verify(owner.address, tree.root, tree.leaf_hash_at(1), tree.get_proof(1))


def test_a_root_anchored_first_by_another_member_is_not_squatted(deployed: Deployed) -> None:
    """Finding 4 (docs/security.md F15): in v1 the first account to anchor a root owned it,
    so a member who saw a planned root (mempool, batch endpoint) anchored it first and the
    victim's anchor reverted forever. In v2 the rival's anchor is the rival's; the victim's
    goes through, as the victim's. The same member twice is still refused."""
    client = deployed.client()
    victim, rival = member(deployed), member(deployed)
    tree = tree_of(2, "twice")
    client.anchor(deployed.sender(rival), tree.root, 2, ZERO)  # the front-run
    mined = client.anchor(deployed.sender(victim), tree.root, 2, ZERO)
    info = client.get_anchor(victim.address, tree.root)
    assert info is not None and info.submitter == victim.address
    assert info.block_number == mined.block_number
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(deployed.sender(victim), tree.root, 2, keccak(text="other metadata"))
    args = refused("RootAlreadyAnchored", exc)
    assert args["submitter"] == victim.address
    assert args["anchoredAt"] == deployed.w3.eth.get_block(mined.block_number)["timestamp"]


# --- EIP-712 signatures ---------------------------------------------------------------------


class Relayed:
    """A member that signs, a funded relayer that sends, and the tree to anchor."""

    def __init__(self, d: Deployed, tag: str) -> None:
        self.d = d
        self.client = d.client()
        self.org = Account.create()  # no ether: the signature is its only act
        self.client.grant_member(d.sender(d.admin), self.org.address)
        self.relayer = funded(d)
        self.tree = tree_of(1, tag)
        self.deadline = int(d.w3.eth.get_block("latest")["timestamp"]) + 3600

    def sign(self, *, domain: dict[str, Any] | None = None, **overrides: int) -> bytes:
        """The org's EIP-712 signature; ``domain`` entries replace the registry's own."""
        values = {"nonce": self.client.nonce_of(self.org.address), "deadline": self.deadline}
        values.update(overrides)
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
            "domain": {**self.client.eip712_domain(), **(domain or {})},
            "message": {"root": self.tree.root, "leafCount": 1, "metadataHash": ZERO, **values},
        }
        return bytes(self.org.sign_message(encode_typed_data(full_message=message)).signature)

    def send(self, signature: bytes, *, deadline: int | None = None) -> None:
        self.client.anchor_with_signature(
            self.d.sender(self.relayer),
            root=self.tree.root,
            leaf_count=1,
            metadata_hash=ZERO,
            signer=self.org.address,
            deadline=self.deadline if deadline is None else deadline,
            signature=signature,
        )


def test_a_replayed_signature_is_refused(deployed: Deployed) -> None:
    r = Relayed(deployed, "replay")
    signature = r.sign()
    r.send(signature)
    assert r.client.nonce_of(r.org.address) == 1
    # Same bytes again (another root would do the same): the nonce moved on, so the
    # signed message is not the one the contract now expects and recovers someone else.
    with pytest.raises(ContractRevertError) as exc:
        r.send(signature)
    args = refused("InvalidSigner", exc)
    assert args["signer"] == r.org.address and args["recovered"] != r.org.address


def test_an_expired_signature_is_refused(deployed: Deployed) -> None:
    r = Relayed(deployed, "expired")
    past = int(deployed.w3.eth.get_block("latest")["timestamp"]) - 1
    with pytest.raises(ContractRevertError) as exc:
        r.send(r.sign(deadline=past), deadline=past)
    assert refused("SignatureExpired", exc)["deadline"] == past
    assert r.client.get_anchor(r.org.address, r.tree.root) is None


def test_a_signature_for_another_chain_or_contract_is_refused(deployed: Deployed) -> None:
    r = Relayed(deployed, "cross")
    chain_id = r.client.eip712_domain()["chainId"]
    for name, domain in {
        "another chain id": {"chainId": chain_id + 1},
        "another contract": {"verifyingContract": Account.create().address},
        "another version (v1's domain)": {"version": "1"},
    }.items():
        with pytest.raises(ContractRevertError) as exc:
            r.send(r.sign(domain=domain))
        args = refused("InvalidSigner", exc)
        assert args["recovered"] != r.org.address, name
    assert r.client.nonce_of(r.org.address) == 0  # nothing was consumed
    r.send(r.sign())  # the genuine signature still works
    assert r.client.get_anchor(r.org.address, r.tree.root) is not None


def test_the_high_s_twin_of_a_valid_signature_is_refused(deployed: Deployed) -> None:
    r = Relayed(deployed, "malleable")
    signature = r.sign()
    rr, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    twin = rr + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    with pytest.raises(ContractRevertError) as exc:
        r.send(twin)
    assert refused("ECDSAInvalidSignatureS", exc)["s"] == "0x" + f"{SECP256K1_N - s:064x}"
    r.send(signature)  # the canonical one is accepted, once
    assert r.client.get_anchor(r.org.address, r.tree.root) is not None


# --- roles ----------------------------------------------------------------------------------


def test_roles_cannot_be_escalated(deployed: Deployed) -> None:
    client = deployed.client()
    functions = client.contract.functions
    insider, outsider = member(deployed), funded(deployed)
    grant, revoke = functions.grantRole, functions.revokeRole
    cases = {
        "an outsider makes itself a member": (outsider, grant(SUBMITTER_ROLE, outsider.address)),
        "a member admits another": (insider, grant(SUBMITTER_ROLE, outsider.address)),
        "a member removes another": (insider, revoke(SUBMITTER_ROLE, deployed.admin.address)),
        "a member makes itself member admin": (insider, grant(MEMBER_ADMIN_ROLE, insider.address)),
    }
    for name, (who, call) in cases.items():
        with pytest.raises(ContractRevertError) as exc:
            client.transact(deployed.sender(who), call)
        args = refused("AccessControlUnauthorizedAccount", exc)
        assert args["account"] == who.address, name
        needed = ADMIN_ROLE if "member admin" in name else MEMBER_ADMIN_ROLE
        assert args["neededRole"] == "0x" + needed.hex(), name
    # The admin role is never granted, by anyone: it only moves by the two-step transfer.
    with pytest.raises(ContractRevertError) as exc:
        client.transact(deployed.sender(insider), grant(ADMIN_ROLE, insider.address))
    refused("AccessControlEnforcedDefaultAdminRules", exc)
    # Nor renounced on someone else's behalf (nor, by the admin, without the delay).
    with pytest.raises(ContractRevertError) as exc:
        client.transact(
            deployed.sender(insider), functions.renounceRole(ADMIN_ROLE, deployed.admin.address)
        )
    refused("AccessControlEnforcedDefaultAdminDelay", exc)
    assert client.is_admin(deployed.admin.address) and not client.is_admin(insider.address)
    assert not client.is_member(outsider.address)
    # A member that renounces its own role is out for good.
    client.transact(
        deployed.sender(insider), functions.renounceRole(SUBMITTER_ROLE, insider.address)
    )
    with pytest.raises(ContractRevertError) as exc:
        client.anchor(deployed.sender(insider), tree_of(1, "gone").root, 1, ZERO)
    refused("AccessControlUnauthorizedAccount", exc)


# --- the admin role is off the operator's online key ---------------------------------------

ADMIN_DELAY = 3600


class OfflineAdmin:
    """A registry deployed as in production: the operator's key (the deployer) holds
    MEMBER_ADMIN_ROLE only, an offline key the admin role behind a one-hour delay."""

    def __init__(self, d: Deployed) -> None:
        self.d = d
        self.operator = d.admin  # the online key: deploys, relays, admits members
        self.offline = funded(d)
        deployment = deploy_registry(
            d.w3, self.operator, d.artifact, admin=self.offline.address, admin_delay=ADMIN_DELAY
        )
        self.client = EvidenceRegistryClient(d.w3, deployment.address, d.artifact.abi)
        self.functions = self.client.contract.functions

    def send(self, who: LocalAccount, call: Any) -> None:
        self.client.transact(self.d.sender(who), call)


def test_the_operator_key_cannot_take_the_admin_role_or_revoke_anchors(
    deployed: Deployed,
) -> None:
    """Finding 8 (docs/security.md F19): the operator's online key was the admin, so one
    server compromise revoked every root. Now it admits members and nothing more."""
    r = OfflineAdmin(deployed)
    op = r.operator
    assert r.client.default_admin() == r.offline.address
    assert not r.client.is_admin(op.address)
    assert r.client.contract.functions.hasRole(MEMBER_ADMIN_ROLE, op.address).call()
    with pytest.raises(ContractRevertError) as exc:
        r.send(op, r.functions.grantRole(ADMIN_ROLE, op.address))
    refused("AccessControlEnforcedDefaultAdminRules", exc)
    with pytest.raises(ContractRevertError) as exc:
        r.send(op, r.functions.beginDefaultAdminTransfer(op.address))
    args = refused("AccessControlUnauthorizedAccount", exc)
    assert args["neededRole"] == "0x" + ADMIN_ROLE.hex()
    with pytest.raises(ContractRevertError) as exc:
        r.send(op, r.functions.grantRole(MEMBER_ADMIN_ROLE, funded(deployed).address))
    refused("AccessControlUnauthorizedAccount", exc)
    # It still admits members, and cannot touch what they anchor.
    org = funded(deployed)
    r.client.grant_member(deployed.sender(op), org.address)
    tree = tree_of(2, "offline-admin")
    r.client.anchor(deployed.sender(org), tree.root, 2, ZERO)
    with pytest.raises(ContractRevertError) as exc:
        r.client.revoke_root(deployed.sender(op), tree.root, ZERO)
    refused("UnknownRoot", exc)
    with pytest.raises(ContractRevertError) as exc:  # nor can the offline admin
        r.client.revoke_root(deployed.sender(r.offline), tree.root, ZERO)
    refused("UnknownRoot", exc)
    info = r.client.get_anchor(org.address, tree.root)
    assert info is not None and not info.revoked
    assert r.client.contract.functions.version().call() == 2


def advance_time(d: Deployed, seconds: int) -> None:
    """Moves the chain's clock on: ``evm_increaseTime`` on Anvil, eth-tester's time travel
    on the embedded chain; then a block at the new time."""
    provider = d.w3.provider
    if d.node.kind == "embedded":
        now = int(d.w3.eth.get_block("latest")["timestamp"])
        provider.make_request("testing_timeTravel", [now + seconds])  # type: ignore[arg-type]
    else:
        provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_the_admin_transfer_takes_two_steps_and_a_delay(deployed: Deployed) -> None:
    r = OfflineAdmin(deployed)
    successor = funded(deployed)
    w3 = deployed.w3
    with pytest.raises(ContractRevertError) as exc:  # the new key cannot just take it
        r.send(successor, r.functions.acceptDefaultAdminTransfer())
    refused("AccessControlInvalidDefaultAdmin", exc)
    r.send(r.offline, r.functions.beginDefaultAdminTransfer(successor.address))
    pending, schedule = r.functions.pendingDefaultAdmin().call()
    assert pending == successor.address
    assert schedule >= w3.eth.get_block("latest")["timestamp"] + ADMIN_DELAY - 1
    with pytest.raises(ContractRevertError) as exc:  # step two, before the delay
        r.send(successor, r.functions.acceptDefaultAdminTransfer())
    assert refused("AccessControlEnforcedDefaultAdminDelay", exc)["schedule"] == schedule
    assert r.client.default_admin() == r.offline.address
    advance_time(deployed, ADMIN_DELAY + 1)
    r.send(successor, r.functions.acceptDefaultAdminTransfer())
    assert r.client.default_admin() == successor.address
    assert not r.client.is_admin(r.offline.address)


# --- Merkle: an internal node is not a leaf -------------------------------------------------


def test_an_internal_node_presented_as_a_leaf_is_rejected(deployed: Deployed) -> None:
    """The registry's ``verify(root, leaf, proof)`` takes a leaf *hash*, and, like any
    OpenZeppelin MerkleProof, accepts an internal node with the rest of the path: the
    contract alone cannot tell a node from a leaf. What can is the leaf encoding: a leaf
    is keccak(keccak(abi.encode(values))), a hash of 32 bytes, while a node hashes 64, so
    no values hash to a node. Receipts carry the values, and every verifier recomputes the
    leaf from them: the forged receipt fails, offline and online (docs/security.md)."""
    client = deployed.client()
    tree = tree_of(4, "nodes")
    mined = client.anchor(deployed.sender(deployed.admin), tree.root, 4, ZERO)
    proof = tree.get_proof(0)
    node = node_hash(tree.leaf_hash_at(0), proof[0])  # the parent of leaf 0 and its sibling
    assert client.verify(deployed.admin.address, tree.root, node, proof[1:]), (
        "the raw contract check (by design)"
    )

    block = deployed.w3.eth.get_block(mined.block_number)
    digest, salt = keccak(text="nodes-0"), keccak(text="salt-nodes-0")
    genuine = receipt_from(
        algorithm="sha256",
        digest=digest,
        salt=salt,
        proof=proof,
        root=tree.root,
        chain_id=deployed.w3.eth.chain_id,
        contract=deployed.deployment.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=mined.block_hash,
        block_timestamp=int(block["timestamp"]),
        submitter=deployed.admin.address,
    )
    assert tree.leaf_hash_at(0).hex() in genuine.leaf_hash  # the tree's leaf 0 indeed
    assert check_receipt_offline(genuine) == []
    anchor = pinned(deployed.w3, deployed.deployment.address)
    assert verify_receipt(genuine, deployed.w3, trust=anchor).valid

    forged = Receipt.from_dict(
        {
            **genuine.model_dump(mode="json", exclude_none=True),
            "leaf_hash": "0x" + node.hex(),
            "proof": ["0x" + p.hex() for p in proof[1:]],
        }
    )
    problems = check_receipt_offline(forged)
    assert any("leaf_hash" in p for p in problems), problems
    verdict = verify_receipt(forged, deployed.w3, trust=anchor)
    assert not verdict.valid and "leaf_hash" in (verdict.reason or ""), verdict.reason
    # And the leaf hash of any values is never that node (a 32-byte vs a 64-byte preimage).
    assert all(tree.leaf_hash_at(i) != node for i in range(4))
