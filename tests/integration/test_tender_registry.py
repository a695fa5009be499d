"""TenderRegistry (sealed bids, issue #21) on embedded, Anvil and Ganache.

Commit before / after the deadline, reveal before / during / after the window, matching and
mismatched reveals, and a relayer (the platform) that cannot alter or forge a commitment:
it lives on chain under the bidder's EIP-712 signature. Each test runs on the session's node
of each kind, isolated by snapshot and revert; the chain's clock is moved explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from chainproof.chain.compiler import load_artifact
from chainproof.chain.nodes import Node
from chainproof.chain.sender import TxSender
from chainproof.chain.tender_registry import TenderRegistryClient, deploy_tender_registry
from chainproof.digests import keccak256
from chainproof.errors import ContractRevertError
from chainproof.tenders import commitments as c

pytestmark = pytest.mark.chain

COMMIT_S = 3600
REVEAL_S = 3600


@dataclass
class Tenders:
    node: Node
    client: TenderRegistryClient
    admin: LocalAccount
    organiser: LocalAccount
    bidders: list[LocalAccount]

    def sender(self, account: LocalAccount) -> TxSender:
        return TxSender(self.node.web3(), account)

    @property
    def now(self) -> int:
        return int(self.node.web3().eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        provider = self.node.web3().provider
        if self.node.kind == "embedded":
            provider.make_request("testing_timeTravel", [self.now + seconds])  # type: ignore[arg-type]
        else:
            provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def open(self, name: str) -> bytes:
        tender = c.tender_id(name)
        now = self.now
        self.client.open_tender(
            self.sender(self.organiser),
            tender,
            now + COMMIT_S,
            now + COMMIT_S + REVEAL_S,
            keccak256(b"tender documents"),
        )
        return tender

    def commit(self, tender: bytes, bidder: LocalAccount, bid: bytes, salt: bytes) -> bytes:
        commitment = c.commitment(tender, bidder.address, keccak256(bid), salt)
        signature = c.sign_commitment(
            bidder,
            chain_id=int(self.node.web3().eth.chain_id),
            registry=self.client.address,
            tender=tender,
            commitment=commitment,
        )
        # The platform relays it (pays the gas); the bidder signs.
        self.client.commit_bid(
            self.sender(self.admin), tender, bidder.address, commitment, signature
        )
        return commitment


@pytest.fixture(scope="session")
def tenders_session(chain_node: Node) -> Tenders:
    accounts = chain_node.dev_accounts()
    admin, organiser = accounts[0], accounts[1]
    w3 = chain_node.web3()
    artifact = load_artifact("TenderRegistry")
    deployment = deploy_tender_registry(w3, TxSender(w3, admin), artifact)
    client = TenderRegistryClient(w3, deployment.address, artifact.abi)
    client.grant_organiser(TxSender(w3, admin), organiser.address)
    return Tenders(chain_node, client, admin, organiser, accounts[2:5])


@pytest.fixture
def tenders(tenders_session: Tenders) -> Iterator[Tenders]:
    snap = tenders_session.node.snapshot()
    try:
        yield tenders_session
    finally:
        tenders_session.node.revert(snap)


def refused(name: str, exc: pytest.ExceptionInfo[ContractRevertError]) -> dict[str, object]:
    assert exc.value.error_name == name, exc.value
    return exc.value.error_args


def test_commit_before_the_deadline_reveal_in_the_window_award_after(tenders: Tenders) -> None:
    tender = tenders.open("GXZC2026-001")
    a, b = tenders.bidders[:2]
    salt_a, salt_b = c.new_salt(), c.new_salt()
    committed = tenders.commit(tender, a, b"bid of A: 1,200,000", salt_a)
    tenders.commit(tender, b, b"bid of B: 1,150,000", salt_b)
    bid = tenders.client.bid(tender, a.address)
    # Before opening nobody can read a bid: the chain holds only the salted commitment.
    assert bid.commitment == "0x" + committed.hex() and bid.bid_digest == "0x" + "00" * 32
    with pytest.raises(ContractRevertError) as exc:  # no early opening
        tenders.client.reveal_bid(
            tenders.sender(a), tender, a.address, keccak256(b"bid of A: 1,200,000"), salt_a
        )
    refused("RevealNotOpen", exc)

    tenders.advance(COMMIT_S + 1)
    with pytest.raises(ContractRevertError) as exc:  # the contract refuses a late commit
        tenders.commit(tender, tenders.bidders[2], b"late bid", c.new_salt())
    refused("CommitClosed", exc)

    digest_a = keccak256(b"bid of A: 1,200,000")
    tenders.client.reveal_bid(tenders.sender(a), tender, a.address, digest_a, salt_a)
    assert tenders.client.bid(tender, a.address).bid_digest == "0x" + digest_a.hex()
    with pytest.raises(ContractRevertError) as exc:  # B opens another file: refused, flagged
        tenders.client.reveal_bid(
            tenders.sender(b), tender, b.address, keccak256(b"bid of B: 990,000"), salt_b
        )
    refused("CommitmentMismatch", exc)
    with pytest.raises(ContractRevertError) as exc:  # the organiser cannot award yet
        tenders.client.award(tenders.sender(tenders.organiser), tender, bytes(32), bytes(32))
    refused("AwardTooEarly", exc)

    tenders.advance(REVEAL_S + 1)
    with pytest.raises(ContractRevertError) as exc:  # and the window closes
        tenders.client.reveal_bid(
            tenders.sender(b), tender, b.address, keccak256(b"bid of B: 1,150,000"), salt_b
        )
    refused("RevealClosed", exc)
    report, award = keccak256(b"evaluation report"), keccak256(b"award: A")
    with pytest.raises(ContractRevertError) as exc:
        tenders.client.award(tenders.sender(tenders.admin), tender, report, award)
    refused("NotOrganiser", exc)
    tenders.client.award(tenders.sender(tenders.organiser), tender, report, award)
    on_chain = tenders.client.tender(tender)
    assert (on_chain.bids, on_chain.revealed) == (2, 1)
    assert on_chain.award_hash == "0x" + award.hex()


def test_the_relayer_cannot_alter_or_forge_a_commitment(tenders: Tenders) -> None:
    tender = tenders.open("GXZC2026-002")
    a = tenders.bidders[0]
    real = c.commitment(tender, a.address, keccak256(b"A's bid"), c.new_salt())
    signature = c.sign_commitment(
        a,
        chain_id=int(tenders.node.web3().eth.chain_id),
        registry=tenders.client.address,
        tender=tender,
        commitment=real,
    )
    platform = tenders.sender(tenders.admin)
    swapped = c.commitment(tender, a.address, keccak256(b"the platform's bid"), c.new_salt())
    with pytest.raises(ContractRevertError) as exc:  # A's signature, another commitment
        tenders.client.commit_bid(platform, tender, a.address, swapped, signature)
    args = refused("BadSignature", exc)
    assert args["bidder"] == a.address and args["recovered"] != a.address
    with pytest.raises(ContractRevertError) as exc:  # in another bidder's name
        tenders.client.commit_bid(platform, tender, tenders.bidders[1].address, real, signature)
    refused("BadSignature", exc)
    other = c.tender_id("GXZC2026-other")
    tenders.client.open_tender(
        tenders.sender(tenders.organiser), other, tenders.now + 60, tenders.now + 120, bytes(32)
    )
    with pytest.raises(ContractRevertError) as exc:  # replayed on another tender
        tenders.client.commit_bid(platform, other, a.address, real, signature)
    refused("BadSignature", exc)
    tenders.client.commit_bid(platform, tender, a.address, real, signature)
    with pytest.raises(ContractRevertError) as exc:  # and once committed, never replaced
        tenders.client.commit_bid(platform, tender, a.address, real, signature)
    refused("AlreadyCommitted", exc)


def test_tenders_need_the_organiser_role_and_a_sane_window(tenders: Tenders) -> None:
    outsider = tenders.bidders[0]
    now = tenders.now
    with pytest.raises(ContractRevertError) as exc:
        tenders.client.open_tender(
            tenders.sender(outsider), c.tender_id("x"), now + 60, now + 120, bytes(32)
        )
    refused("AccessControlUnauthorizedAccount", exc)
    with pytest.raises(ContractRevertError) as exc:
        tenders.client.open_tender(
            tenders.sender(tenders.organiser), c.tender_id("x"), now + 120, now + 60, bytes(32)
        )
    refused("BadWindow", exc)
    tenders.open("dup")
    with pytest.raises(ContractRevertError) as exc:
        tenders.open("dup")
    refused("TenderExists", exc)
