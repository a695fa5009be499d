"""Virtual channels (issue 25, 虚拟通道): a channel created with ``virtual: true`` gets an
EvidenceRegistry of its own, deployed by the chain writer; its members' records are anchored
there, receipts name it, the served trust anchor pins it, and a receipt from another
deployment of the very same contract that the anchor does not pin fails."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import ChainContext
from chainproof.chain.deployments import deploy_registry
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor
from tests.apps import Api, StartApi, assert_error

CHANNEL = "检测通道"


def _make_channel(api: Api, admin: dict[str, str]) -> dict[str, Any]:
    made = api.client.post(
        "/api/v1/channels",
        json={"name": CHANNEL, "members": ["甲检测", "乙物流"], "virtual": True},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    assert body["virtual"] is True and body["registry_operation"]
    op = api.wait_operation(body["registry_operation"], admin)
    assert op["status"] == "confirmed", op
    [listed] = api.client.get("/api/v1/channels", headers=admin).json()
    return dict(listed)


def test_a_virtual_channel_anchors_in_its_own_pinned_registry(
    start_api: StartApi, chain: ChainContext
) -> None:
    api = start_api()
    admin, a = api.key("运营方", "admin"), api.key("甲检测", "submitter")
    api.key("乙物流", "submitter")
    outsider = api.key("丙零售", "submitter")
    listed = _make_channel(api, admin)
    registry = listed["registry"]
    assert registry and registry != chain.contract

    # Visibility as for any channel: a non-member cannot put a record in it.
    assert_error(api.upload(outsider, ("x.txt", b"not mine"), channel=CHANNEL), 404)
    sent = api.upload(a, ("report.pdf", b"a lab report for the channel only"), channel=CHANNEL)
    assert sent.status_code == 202, sent.text
    [item] = sent.json()["items"]
    api.wait_anchored(item["id"], a)
    plain = api.upload(a, ("own.txt", b"the org's own record, main registry"))
    [own] = plain.json()["items"]
    api.wait_anchored(own["id"], a)
    assert api.client.get(f"/api/v1/evidence/{item['id']}", headers=outsider).status_code == 404

    data = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=a).json()
    receipt = Receipt.from_dict(data)
    assert receipt.contract == registry  # anchored in the channel's registry...
    main = api.client.get(f"/api/v1/evidence/{own['id']}/receipt", headers=a).json()
    assert main["contract"] == chain.contract  # ...the org's other records in the main one

    served = api.client.get("/.well-known/chainproof.json").json()
    [entry] = served["channel_registries"]
    assert (entry["address"], entry["channel"]) == (registry, CHANNEL)
    trust = TrustAnchor.from_dict(served)
    verdict = verify_receipt(receipt, chain.w3, trust=trust)
    assert verdict.valid, verdict.reason
    assert "channel" in dict((n, d) for n, _, d in verdict.checks)["registry"]
    answer = api.client.post("/api/v1/receipts/verify", json=data).json()
    assert answer["valid"] is True, answer

    # The same anchor without the channel's entry (a verifier pinned before it existed)
    # does not take the channel's receipt: the pin is what makes it count.
    older = TrustAnchor.from_dict({k: v for k, v in served.items() if k != "channel_registries"})
    assert verify_receipt(receipt, chain.w3, trust=older).reason.startswith(
        f"contract {registry} is not the pinned registry"
    )

    # A look-alike: another deployment of the very same contract by someone else, the same
    # root anchored there. Every check but the pin passes; against the anchor it fails.
    other = chain.node.dev_accounts()[3]
    artifact = load_artifact("EvidenceRegistry")
    twin = deploy_registry(chain.w3, other, artifact)
    client = EvidenceRegistryClient(chain.w3, twin.address, artifact.abi)
    mined = client.anchor(TxSender(chain.w3, other), receipt.root, 1, "0x" + "00" * 32)
    block = chain.w3.eth.get_block(mined.block_number)
    fake = receipt.model_copy(
        update={
            "contract": twin.address,
            "tx_hash": mined.tx_hash,
            "block_number": mined.block_number,
            "block_hash": Web3.to_hex(block["hash"]),
            "block_timestamp": int(block["timestamp"]),
            "submitter": other.address,
            "tsa_token": None,
        }
    )
    assert verify_receipt(fake, chain.w3).status == "unpinned"  # a perfect receipt but for it
    rejected = verify_receipt(fake, chain.w3, trust=trust)
    assert not rejected.valid and rejected.checks[-1][0] == "registry", rejected.reason
    fake_answer = api.client.post("/api/v1/receipts/verify", json=fake.model_dump(mode="json"))
    assert fake_answer.json()["valid"] is False
