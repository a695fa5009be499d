"""trust.py: the trust-anchor model (bad input gives clear errors), loading it bounded, and
the ``/.well-known/chainproof.json`` document a server publishes (test_receipt_trust.py in
e2e drives the anchors against forged receipts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient

from chainproof.config import find_project_root
from chainproof.errors import InvalidInputError
from chainproof.trust import (
    MAX_ANCHOR_BYTES,
    TRUST_ANCHOR_FORMAT,
    TrustAnchor,
    well_known_url,
)

from .conftest import AnswerHandler

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OLD_REGISTRY = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def good() -> dict[str, Any]:
    return {
        "format": TRUST_ANCHOR_FORMAT,
        "chain_id": 31337,
        "genesis_hash": "0x" + "ab" * 32,
        "registry": REGISTRY,
        "registry_code_hash": "0x" + "cd" * 32,
        "registry_version": 2,
        "trace_registry": None,
        "trace_registry_code_hash": None,
        "rpc_url": "https://rpc.example.org",
        "past_registries": [{"address": OLD_REGISTRY, "code_hash": "0x" + "ef" * 32, "version": 1}],
    }


def test_a_good_anchor_reads_and_round_trips() -> None:
    anchor = TrustAnchor.from_dict(good())
    assert anchor.document() == good()
    assert TrustAnchor.from_json(json.dumps(good())) == anchor
    assert anchor.honoured() == {
        REGISTRY: ("0x" + "cd" * 32, 2),
        OLD_REGISTRY: ("0x" + "ef" * 32, 1),
    }
    # Any case in, lowercase hex and EIP-55 addresses out.
    shouting = {**good(), "genesis_hash": "0x" + "AB" * 32, "registry": REGISTRY.lower()}
    read = TrustAnchor.from_dict(shouting)
    assert read.genesis_hash == "0x" + "ab" * 32 and read.registry == REGISTRY


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**good(), "format": "chainproof-trust-anchor/2"}), "format is"),
        (json.dumps({k: v for k, v in good().items() if k != "format"}), "format is None"),
        (json.dumps({**good(), "genesis_hash": "0x1234"}), "genesis_hash: must be 64 hex"),
        (json.dumps({**good(), "genesis_hash": "ab" * 32}), "genesis_hash: must start with 0x"),
        (json.dumps({**good(), "registry_code_hash": "0x" + "zz" * 32}), "hexadecimal"),
        (
            json.dumps({**good(), "registry": REGISTRY.replace("F", "f", 1)}),
            "registry: bad EIP-55 checksum",
        ),
        (json.dumps({**good(), "chain_id": "31337"}), "chain_id"),
        (json.dumps({**good(), "chain_id": 0}), "chain_id"),
        (json.dumps({**good(), "trace_registry": REGISTRY}), "go together"),
        (json.dumps({**good(), "extra": 1}), "extra: Extra inputs are not permitted"),
        (
            json.dumps({**good(), "past_registries": [{"address": OLD_REGISTRY}]}),
            "past_registries.0.code_hash: Field required",
        ),
    ],
)
def test_bad_anchors_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        TrustAnchor.from_json(text)
    assert exc.value.message.startswith("invalid trust anchor: "), exc.value.message
    assert says in exc.value.message, exc.value.message


def test_files_are_read_bounded(tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    path.write_text(json.dumps(good()))
    assert TrustAnchor.load(str(path)).registry == REGISTRY
    path.write_bytes(b" " * (MAX_ANCHOR_BYTES + 1) + json.dumps(good()).encode())
    with pytest.raises(InvalidInputError, match="not an anchor"):
        TrustAnchor.load(str(path))
    with pytest.raises(InvalidInputError, match="cannot read trust anchor"):
        TrustAnchor.load(str(tmp_path / "missing.json"))


def test_well_known_url() -> None:
    assert well_known_url("https://cp.example.org") == (
        "https://cp.example.org/.well-known/chainproof.json"
    )
    assert well_known_url("https://cp.example.org/base/") == (
        "https://cp.example.org/base/.well-known/chainproof.json"
    )
    assert well_known_url("https://x.org/pinned.json") == "https://x.org/pinned.json"
    with pytest.raises(InvalidInputError):
        well_known_url("file:///etc/passwd")


def test_fetching_is_bounded_and_follows_no_redirect(http_server: str) -> None:
    AnswerHandler.answers = {
        "/.well-known/chainproof.json": (200, json.dumps(good()).encode()),
        "/big/.well-known/chainproof.json": (200, b"[" * (MAX_ANCHOR_BYTES + 10)),
        "/moved/.well-known/chainproof.json": (302, b""),
    }
    assert TrustAnchor.load(http_server).registry == REGISTRY
    with pytest.raises(InvalidInputError, match="sent over"):
        TrustAnchor.load(http_server + "/big")
    with pytest.raises(InvalidInputError, match="answered HTTP 302"):
        TrustAnchor.load(http_server + "/moved")
    with pytest.raises(InvalidInputError, match="answered HTTP 404"):
        TrustAnchor.load(http_server + "/nothing")


def test_the_server_publishes_its_anchor_cacheable(client: TestClient) -> None:
    response = client.get("/.well-known/chainproof.json")
    assert response.status_code == 200, response.text
    body = response.json()
    anchor = TrustAnchor.from_dict(body)  # exactly the format: every key, nothing else
    assert list(body) == list(good())
    chain = client.app.state.runtime.chain  # type: ignore[attr-defined]
    w3 = chain.w3
    assert anchor.chain_id == w3.eth.chain_id
    assert anchor.genesis_hash == "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    assert anchor.registry == chain.contract
    assert anchor.registry_code_hash == "0x" + keccak(bytes(w3.eth.get_code(chain.contract))).hex()
    assert anchor.registry_version == 2  # EvidenceRegistry v2 answers version()
    assert anchor.trace_registry is not None and anchor.trace_registry_code_hash == (
        "0x" + keccak(bytes(w3.eth.get_code(anchor.trace_registry))).hex()
    )
    assert anchor.trace_registry != anchor.registry
    assert anchor.rpc_url is None  # no public RPC URL configured: the private one never shows
    assert anchor.past_registries == []

    assert "public" in response.headers["cache-control"]
    etag = response.headers["etag"]
    again = client.get("/.well-known/chainproof.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/.well-known/chainproof.json", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.json() == body


def test_the_documented_example_is_an_anchor() -> None:
    # The checkout, not this file's parents: `make mutation` runs a copy of the tests.
    text = (find_project_root() / "docs" / "receipt.md").read_text("utf-8")
    [block] = [b for b in text.split("```json\n")[1:] if TRUST_ANCHOR_FORMAT in b.split("```")[0]]
    anchor = TrustAnchor.from_json(block.split("```")[0])
    assert anchor.registry == REGISTRY and anchor.chain_id == 31337


def test_public_receipt_checks_carry_no_node_exception_text() -> None:
    """`POST /api/v1/receipts/verify` is public: a check that could not run says so without
    the node's exception text (it can hold the private RPC URL and its token)."""
    from chainproof.api.routes.verify import _public_detail

    leaked = "chain_id check could not run: ConnectionError: http://node:8545/?token=s3cret"
    assert "s3cret" not in _public_detail("chain_id", leaked)
    assert _public_detail("chain_id", leaked).startswith("chain_id check could not run")
    assert _public_detail("genesis", "genesis hash differs") == "genesis hash differs"


CHANNEL_REGISTRY = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


def test_channel_registries_round_trip_and_an_anchor_without_them_reads_as_before() -> None:
    """Issue 25: a virtual channel's registry is pinned (address, code hash, channel name)
    and honoured; the key is left out when there are none, so a document from before (or a
    deployment without virtual channels) is read and written back unchanged."""
    entry = {
        "address": CHANNEL_REGISTRY,
        "code_hash": "0x" + "77" * 32,
        "channel": "检测通道",
        "version": 2,
    }
    with_channel = {**good(), "channel_registries": [entry]}
    anchor = TrustAnchor.from_json(json.dumps(with_channel))
    assert anchor.document() == with_channel
    assert anchor.honoured()[CHANNEL_REGISTRY] == ("0x" + "77" * 32, 2)
    assert anchor.channel_of(CHANNEL_REGISTRY) == "检测通道"

    old = TrustAnchor.from_dict(good())  # no key at all: an older document
    assert "channel_registries" not in old.document() and CHANNEL_REGISTRY not in old.honoured()
    empty = TrustAnchor.from_dict({**good(), "channel_registries": []})
    assert empty.document() == good()

    # Bounded, and one pin per address: a channel entry never re-pins the registry.
    for bad, says in (
        ([entry] * 2, "appears twice"),
        ([{**entry, "address": REGISTRY}], "appears twice"),
        ([{**entry, "address": OLD_REGISTRY}], "appears twice"),
        ([{**entry, "channel": ""}], "channel_registries.0.channel"),
        ([{**entry, "extra": 1}], "channel_registries.0.extra"),
        (
            [{**entry, "address": "0x" + f"{i:040x}"} for i in range(1, 66)],
            "channel_registries",
        ),
    ):
        with pytest.raises(InvalidInputError, match=says):
            TrustAnchor.from_dict({**good(), "channel_registries": bad})
