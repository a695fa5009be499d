"""Forged receipts against the trust anchor (issue 14, finding 1; docs/security.md F12).

Two forgeries that pass every check a receipt can make about itself:

* **look-alike**: a 20-line contract on the server's own Anvil that emits
  ``Anchored(root, <the operator, a real member>, …)`` and answers ``getAnchor``, ``verify``
  and ``isLeafRevoked`` as the registry does;
* **private chain**: a second, fresh Anvil (chain id 31337 too) with the real EvidenceRegistry
  deployed by dev key 0 at the same deterministic address, same code, its own genesis.

Each is refused by the three verifiers a third party has: the CLI with ``--trust`` (a real
subprocess), ``POST /api/v1/receipts/verify``, and the ``/receipt`` page in Chromium, with
the server's anchor (``/.well-known/chainproof.json``) pinned; the genuine receipt passes all
three. Without an anchor the forgeries pass every check (which is all the verifiers asked
before), and the verdict is "not pinned", never valid.

The server's Anvil is shared with the other browser tests and has a batcher running on it,
so nothing here reverts it: the look-alike's two transactions stay, harmlessly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from chainproof.chain.compiler import compile_contracts, load_artifact
from chainproof.chain.deployments import deploy_registry
from chainproof.chain.nodes import Node, dev_accounts, make_node
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.receipts import Receipt, evidence_leaf_hash, verify_receipt
from chainproof.trust import TrustAnchor, code_hash
from tests import forked
from tests.factories import receipt_from

from ..conftest import ROOT
from .conftest import LiveServer, shot
from .test_pages import no_script_errors
from .test_receipt_page import anchor_with_receipt, rows, rpc_url, run_page, verdict

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.chain

LOOK_ALIKE = """\
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Not ChainProof's registry: it says whatever its deployer likes, "by" whomever.
contract LookAlike {
    struct Anchor {
        address submitter; uint64 timestamp; uint32 leafCount; uint64 blockNumber; bool revoked;
    }
    event Anchored(
        bytes32 indexed root, address indexed submitter, uint32 leafCount, bytes32 metadataHash,
        uint64 timestamp
    );
    mapping(bytes32 => Anchor) private _anchors;

    function forge(bytes32 root, address victim) external {
        _anchors[root] = Anchor(victim, uint64(block.timestamp), 1, uint64(block.number), false);
        emit Anchored(root, victim, 1, bytes32(0), uint64(block.timestamp));
    }
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }
    function isLeafRevoked(bytes32, bytes32) external pure returns (bool) { return false; }
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata) external view returns (bool) {
        return leaf == root && _anchors[root].timestamp != 0;
    }
}
"""


@dataclass
class Forged:
    """A receipt file and the JSON-RPC node its forger points verifiers at."""

    receipt: Path
    rpc: str

    def parsed(self) -> Receipt:
        return Receipt.from_json(self.receipt.read_text())


def _leaf(label: str) -> tuple[bytes, bytes, bytes]:
    """Digest, salt and leaf hash of a made-up document (a one-leaf batch: root = leaf)."""
    digest, salt = keccak(text=f"forged {label}"), keccak(text=f"salt {label}")
    return digest, salt, evidence_leaf_hash("sha256", digest, salt)


def _single_leaf_receipt(
    w3: Web3, *, contract: str, tx_hash: str, block_number: int, label: str
) -> dict[str, Any]:
    """The receipt of ``label``'s one-document batch, anchored by ``tx_hash``."""
    digest, salt, root = _leaf(label)
    block = w3.eth.get_block(block_number)
    receipt = receipt_from(
        algorithm="sha256",
        digest=digest,
        salt=salt,
        proof=[],
        root=root,
        chain_id=int(w3.eth.chain_id),
        contract=contract,
        tx_hash=tx_hash,
        block_number=block_number,
        block_hash=bytes(block["hash"]),
        block_timestamp=int(block["timestamp"]),
        submitter=Account.from_key(DEV_OPERATOR_KEY).address,
    )
    data: dict[str, Any] = json.loads(receipt.to_json())
    return data


def _compile_look_alike(tmp: Path) -> Any:
    """LookAlike through the project's compiler helper, in a project of its own."""
    (tmp / "contracts").mkdir(parents=True)
    (tmp / "contracts" / "LookAlike.sol").write_text(LOOK_ALIKE)
    (tmp / "bin").mkdir()
    (tmp / "bin" / "solc").symlink_to(ROOT / "bin" / "solc")
    (tmp / "node_modules").symlink_to(ROOT / "node_modules")
    result = compile_contracts(root=tmp, cache_dir=ROOT / ".cache" / "contracts")
    return result.contracts["LookAlike"]


def deployment_abi() -> list[dict[str, Any]]:
    return load_artifact("EvidenceRegistry").abi


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trust")


@pytest.fixture(scope="module")
def genuine(anvil_server: LiveServer, folder: Path) -> Forged:
    """A real receipt from the server (the control: it must pass everywhere)."""
    _document, receipt, _record = anchor_with_receipt(anvil_server, folder, "真的回执.txt")
    return Forged(receipt, rpc_url(anvil_server))


@pytest.fixture(scope="module")
def look_alike(anvil_server: LiveServer, folder: Path) -> Forged:
    """A receipt from a look-alike contract on the server's own chain, "by" the operator."""
    url = rpc_url(anvil_server)
    w3 = Web3(Web3.HTTPProvider(url))
    artifact = _compile_look_alike(folder / "look-alike")
    forger = TxSender(w3, dev_accounts()[1])  # not the server's key: no nonce race with it
    ctor = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor()
    tx = dict(ctor.build_transaction({"from": forger.address, "gas": 1_000_000}))
    for key in ("nonce", "maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
        tx.pop(key, None)  # the sender fills them in
    with forger.sending():
        signed = forger.sign(tx)
        forger.send_raw(signed)
    address = w3.eth.get_transaction_receipt(forger.wait(signed.tx_hash).tx_hash)["contractAddress"]
    assert address and w3.eth.get_code(address), "the look-alike was not deployed"
    fake = EvidenceRegistryClient(w3, address, artifact.abi)  # its send/wait fit any ABI
    victim = Account.from_key(DEV_OPERATOR_KEY).address
    mined = fake.transact(forger, fake.contract.functions.forge(_leaf("x")[2], victim))
    assert mined.status == 1
    data = _single_leaf_receipt(
        w3, contract=address, tx_hash=mined.tx_hash, block_number=mined.block_number, label="x"
    )
    path = folder / "look-alike-receipt.json"
    path.write_text(json.dumps(data, indent=2))
    return Forged(path, url)


@pytest.fixture(scope="module")
def private_chain(
    anvil_server: LiveServer, folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Forged]:
    """A second, fresh Anvil: the real registry at the same address, anchored by dev key 0."""
    node: Node = make_node("anvil", data_dir=tmp_path_factory.mktemp("private-anvil"))
    node.start()
    try:
        w3 = node.web3()
        operator = dev_accounts()[0]
        assert operator.address == Account.from_key(DEV_OPERATOR_KEY).address
        deployment = deploy_registry(w3, operator, load_artifact("EvidenceRegistry"))
        client = EvidenceRegistryClient(w3, deployment.address, deployment_abi())
        mined = client.anchor(TxSender(w3, operator), _leaf("p")[2], 1, b"\x00" * 32)
        data = _single_leaf_receipt(
            w3,
            contract=deployment.address,
            tx_hash=mined.tx_hash,
            block_number=mined.block_number,
            label="p",
        )
        path = folder / "private-chain-receipt.json"
        path.write_text(json.dumps(data, indent=2))
        assert node.rpc_url
        yield Forged(path, node.rpc_url)
    finally:
        node.stop()


@pytest.fixture(scope="module")
def anchor(anvil_server: LiveServer) -> TrustAnchor:
    """The server's trust anchor, as a verifier pins it."""
    return TrustAnchor.fetch(anvil_server.url)


def test_the_forgeries_are_what_the_issue_says(
    anchor: TrustAnchor, look_alike: Forged, private_chain: Forged
) -> None:
    """Same chain id; the private chain has the registry's address and code, another genesis;
    and without an anchor each passes every check (all the verifiers used to ask)."""
    fake = look_alike.parsed()
    assert fake.chain_id == anchor.chain_id and fake.contract != anchor.registry
    private = private_chain.parsed()
    w3 = Web3(Web3.HTTPProvider(private_chain.rpc))
    assert private.chain_id == anchor.chain_id and private.contract == anchor.registry
    assert code_hash(w3, private.contract) == anchor.registry_code_hash
    assert "0x" + bytes(w3.eth.get_block(0)["hash"]).hex() != anchor.genesis_hash
    assert fake.submitter == private.submitter == Account.from_key(DEV_OPERATOR_KEY).address
    for forged in (look_alike, private_chain):
        verdict = verify_receipt(forged.parsed(), Web3(Web3.HTTPProvider(forged.rpc)))
        assert all(ok for _, ok, _ in verdict.checks) and len(verdict.checks) == 11, verdict
        assert verdict.status == "unpinned" and not verdict.valid
        assert (verdict.reason or "").startswith("not pinned")


# --- the CLI (a real subprocess, the server's URL as --trust) --------------------------------


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINPROOF_")}
    return forked.run(
        [sys.executable, "-m", "chainproof.cli", "verify-receipt", *map(str, args)],
        env=env,
        cwd=Path.cwd(),
        timeout=120,
    )


@pytest.mark.parametrize(
    ("which", "failed"), [("look_alike", "registry"), ("private_chain", "genesis")]
)
def test_the_cli_refuses_forgeries_against_the_anchor(
    anvil_server: LiveServer, request: pytest.FixtureRequest, which: str, failed: str
) -> None:
    forged: Forged = request.getfixturevalue(which)
    done = _cli(forged.receipt, "--rpc", forged.rpc, "--trust", anvil_server.url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"✗ {failed}" in done.stdout and "INVALID" in done.stdout, done.stdout
    assert "VALID:" not in done.stdout.replace("INVALID", "")
    # Without --trust: every check passes, and still no "valid" (exit 3, not 0).
    bare = _cli(forged.receipt, "--rpc", forged.rpc)
    assert bare.returncode == 3, bare.stdout + bare.stderr
    assert "NOT PINNED" in bare.stdout and "✗" not in bare.stdout


def test_the_cli_accepts_the_genuine_receipt(anvil_server: LiveServer, genuine: Forged) -> None:
    done = _cli(genuine.receipt, "--rpc", genuine.rpc, "--trust", anvil_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout and "✗" not in done.stdout
    assert "genesis" in done.stdout and "as pinned" in done.stdout


# --- the API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "failed"), [("look_alike", "registry"), ("private_chain", "transaction")]
)
def test_the_api_refuses_forgeries(
    anvil_server: LiveServer, request: pytest.FixtureRequest, which: str, failed: str
) -> None:
    """The look-alike lives on the server's own chain: refused for its address. The private
    chain's transaction is not on the server's chain at all (the server asks its own node:
    its genesis is the anchor's by construction)."""
    forged: Forged = request.getfixturevalue(which)
    body = anvil_server.post("/api/v1/receipts/verify", json=json.loads(forged.receipt.read_text()))
    assert body.status_code == 200, body.text
    answer = body.json()
    assert answer["valid"] is False and answer["pinned"] is True, answer
    assert answer["checks"][-1]["name"] == failed and not answer["checks"][-1]["ok"], answer
    if failed == "registry":
        assert "is not the pinned registry" in answer["reason"], answer


def test_the_api_accepts_the_genuine_receipt(anvil_server: LiveServer, genuine: Forged) -> None:
    answer = anvil_server.post(
        "/api/v1/receipts/verify", json=json.loads(genuine.receipt.read_text())
    ).json()
    assert answer["valid"] is True and answer["pinned"] is True, answer
    assert [c["name"] for c in answer["checks"]][1:4] == ["chain_id", "genesis", "registry"]


# --- the /receipt page in Chromium -----------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "failed"), [("look_alike", "registry"), ("private_chain", "genesis")]
)
def test_the_page_refuses_forgeries_against_the_prefilled_anchor(
    anvil_server: LiveServer,
    anchor: TrustAnchor,
    request: pytest.FixtureRequest,
    page: Page,
    which: str,
    failed: str,
) -> None:
    forged: Forged = request.getfixturevalue(which)
    run_page(page, anvil_server, forged.receipt, url=forged.rpc, lang="en")
    # The anchor shown is the server's well-known document, as the page fetched it.
    shown = TrustAnchor.from_json(page.locator("#trust-anchor").input_value())
    assert shown == anchor
    assert verdict(page) == "invalid", rows(page)
    got = rows(page)
    assert got[-1][0] == failed and not got[-1][1], got
    assert all(ok for _, ok, _ in got[:-1]), got
    python = verify_receipt(forged.parsed(), Web3(Web3.HTTPProvider(forged.rpc)), trust=anchor)
    assert python.checks[-1][:2] == (failed, False)
    assert got[-1][2] == python.checks[-1][2]  # the same words as the CLI's
    shot(page, f"receipt-forged-{which}")
    no_script_errors(page)

    # With the anchor field emptied: every check passes, and the page still says no.
    run_page(page, anvil_server, forged.receipt, url=forged.rpc, lang="en", anchor="")
    assert verdict(page) == "unpinned", rows(page)
    assert all(ok for _, ok, _ in rows(page)) and len(rows(page)) == 11
    assert "Not pinned" in page.locator("#receipt-verdict").inner_text()
    no_script_errors(page)


def test_the_page_accepts_the_genuine_receipt_and_refuses_a_bad_anchor(
    anvil_server: LiveServer, genuine: Forged, page: Page
) -> None:
    run_page(page, anvil_server, genuine.receipt)
    assert verdict(page) == "valid", rows(page)
    assert [name for name, _, _ in rows(page)][1:4] == ["chain_id", "genesis", "registry"]

    text = json.loads(page.locator("#trust-anchor").input_value())
    for bad, says in (
        ({**text, "format": "chainproof-trust-anchor/9"}, "format"),
        ({**text, "genesis_hash": "0x1234"}, "genesis_hash"),
        ("not json", "JSON"),
    ):
        edited = bad if isinstance(bad, str) else json.dumps(bad)
        run_page(page, anvil_server, genuine.receipt, lang="en", anchor=edited)
        assert verdict(page) == "bad_anchor", rows(page)
        assert rows(page) == []  # refused before asking any node
        assert says in page.get_by_test_id("receipt-reason").inner_text()
    # Another registry pinned: the genuine receipt is not the pinned one's.
    other = {**text, "registry": "0x" + "11" * 20}
    run_page(page, anvil_server, genuine.receipt, lang="en", anchor=json.dumps(other))
    assert verdict(page) == "invalid" and rows(page)[-1][0] == "registry"
    # A virtual channel's registry (issue 25) counts when the anchor pins it, as the Python
    # verifier's TrustAnchor.channel_registries; another address pinned there does not.
    channel = {
        "address": text["registry"],
        "code_hash": text["registry_code_hash"],
        "channel": "检测通道",
        "version": text["registry_version"],
    }
    run_page(
        page,
        anvil_server,
        genuine.receipt,
        lang="en",
        anchor=json.dumps({**other, "channel_registries": [channel]}),
    )
    assert verdict(page) == "valid", rows(page)
    assert "channel '检测通道'" in rows(page)[3][2]
    elsewhere = {**channel, "address": "0x" + "22" * 20}
    run_page(
        page,
        anvil_server,
        genuine.receipt,
        lang="en",
        anchor=json.dumps({**other, "channel_registries": [elsewhere]}),
    )
    assert verdict(page) == "invalid" and rows(page)[-1][0] == "registry"
    no_script_errors(page)
