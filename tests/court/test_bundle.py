"""Offline proof bundles (issue 19, part 2) and two-sided time (part 4): a bundle fetched
over HTTP verifies with ``chainproof verify-bundle`` in a process with no network at all
(``unshare -n``), pinned to the server's trust anchor; each tampered part fails its named
check; with ``--rpc`` it fails against a chain that is not the anchored one (a reset)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rlp

from chainproof.bundle.verify import CHECKS, verify_bundle
from chainproof.chain.nodes import Node
from chainproof.trust import TrustAnchor

from ..apps import MULTIPART, multipart
from ..factories import served, wait_anchored

NO_NETWORK = ["unshare", "-n", "--"]


def cli(*args: str | Path, offline: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "chainproof.cli", *map(str, args)]
    if offline:
        command = NO_NETWORK + command
    return subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())


@pytest.fixture
def anchored(api: Any, submitter: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """A document uploaded as a file, anchored, its bundle and the server's trust anchor."""
    body = multipart(("file", "合同.pdf", b"%PDF-1.7 a contract"))
    accepted = api.client.post(
        "/api/v1/evidence",
        content=body,
        headers={**MULTIPART, **submitter, "X-ChainProof-Channel": "web"},
    )
    assert accepted.status_code == 202, accepted.text
    evidence_id = accepted.json()["items"][0]["id"]
    wait_anchored(api.client, evidence_id, submitter)
    response = api.client.get(f"/api/v1/evidence/{evidence_id}/bundle", headers=submitter)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    zip_path = tmp_path / "bundle.zip"
    zip_path.write_bytes(response.content)
    trust = tmp_path / "trust.json"
    trust.write_text(api.client.get("/.well-known/chainproof.json").text)
    return {"id": evidence_id, "zip": zip_path, "trust": trust, "data": response.content}


def rezip(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in files.items():
            z.writestr(name, body)
    return out.getvalue()


def failed_check(data: bytes, anchor: TrustAnchor, **kwargs: Any) -> tuple[str, str]:
    verdict = verify_bundle(data, trust=anchor, **kwargs)
    assert not verdict.valid
    name, ok, detail = verdict.checks[-1]
    assert not ok
    return name, detail


def test_a_bundle_verifies_with_no_network_at_all(anchored: dict[str, Any]) -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare -n (root) to take the network away")
    # The namespace really has no network: a connection to the test's own server fails.
    probe = subprocess.run(
        [
            *NO_NETWORK,
            sys.executable,
            "-c",
            "import socket; s = socket.socket(); s.settimeout(2); "
            "print(s.connect_ex(('127.0.0.1', 80)) != 0 and s.connect_ex(('1.1.1.1', 443)) != 0)",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "True", probe.stderr
    done = cli("verify-bundle", anchored["zip"], "--trust", anchored["trust"], offline=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout and "between" in done.stdout  # both ends of the interval
    for name in CHECKS:
        assert f"✓ {name}" in done.stdout, (name, done.stdout)
    # The bundle's own trust.json is what a forger would ship: not pinned, exit 3.
    unpinned = cli("verify-bundle", anchored["zip"], offline=True)
    assert unpinned.returncode == 3 and "NOT PINNED" in unpinned.stdout, unpinned.stdout


def test_the_bundle_holds_what_stock_tools_read(anchored: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(anchored["zip"]) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "x")
    assert {
        "receipt.json",
        "header.rlp",
        "receipt-proof.json",
        "tsa.tsr",
        "ca.pem",
        "trust.json",
        "time.json",
    } <= names
    x = tmp_path / "x"
    receipt = json.loads((x / "receipt.json").read_text())
    # The token stamps the document's own SHA-256: openssl checks it against the digest.
    done = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-in",
            x / "tsa.tsr",
            "-digest",
            receipt["digest"][2:],
            "-CAfile",
            x / "ca.pem",
            "-untrusted",
            x / "tsa.pem",
        ],
        capture_output=True,
        text=True,
    )
    assert "Verification: OK" in done.stdout, done.stderr
    assert receipt["tsa_token"]  # the receipt carries the same token
    time_doc = json.loads((x / "time.json").read_text())
    assert time_doc["not_before"] <= receipt["block_timestamp"] == time_doc["not_after"]
    assert time_doc["metadata"]["not_before"]["number"] < receipt["block_number"]


def _flip_header(files: dict[str, bytes]) -> None:
    fields = rlp.decode(files["header.rlp"])
    fields[11] = (int.from_bytes(fields[11], "big") + 1).to_bytes(8, "big")  # the time
    files["header.rlp"] = rlp.encode(fields)


def _flip_proof_node(files: dict[str, bytes]) -> None:
    doc = json.loads(files["receipt-proof.json"])
    node = bytearray(bytes.fromhex(doc["nodes"][0][2:]))
    node[len(node) // 2] ^= 0x01
    doc["nodes"][0] = "0x" + node.hex()
    files["receipt-proof.json"] = json.dumps(doc).encode()


def _flip_log(files: dict[str, bytes]) -> None:
    """Changes the Anchored log's root inside the proven receipt (the last trie node)."""
    doc = json.loads(files["receipt-proof.json"])
    receipt = json.loads(files["receipt.json"])
    root = bytes.fromhex(receipt["root"][2:])
    node = bytes.fromhex(doc["nodes"][-1][2:])
    assert root in node
    doc["nodes"][-1] = "0x" + node.replace(root, bytes(32)).hex()
    files["receipt-proof.json"] = json.dumps(doc).encode()


def _flip_leaf_proof(files: dict[str, bytes]) -> None:
    receipt = json.loads(files["receipt.json"])
    receipt["proof"] = ["0x" + "11" * 32, *receipt["proof"]]
    files["receipt.json"] = json.dumps(receipt).encode()


def _flip_token(files: dict[str, bytes]) -> None:
    token = bytearray(files["tsa.tsr"])
    token[-40] ^= 0x01  # inside the signature
    files["tsa.tsr"] = bytes(token)


def _flip_time(files: dict[str, bytes]) -> None:
    doc = json.loads(files["time.json"])
    doc["metadata"]["not_before"]["number"] -= 1
    files["time.json"] = json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (_flip_header, "header"),
        (_flip_proof_node, "receipt_proof"),
        (_flip_log, "receipt_proof"),
        (_flip_leaf_proof, "leaf"),
        (_flip_token, "time_stamp"),
        (_flip_time, "not_before"),
    ],
)
def test_each_tampered_part_fails_its_check(
    anchored: dict[str, Any],
    change: Callable[[dict[str, bytes]], None],
    check: str,
    tmp_path: Path,
) -> None:
    anchor = TrustAnchor.from_file(anchored["trust"])
    assert verify_bundle(anchored["data"], trust=anchor).valid  # the control
    tampered = rezip(anchored["data"], change)
    assert failed_check(tampered, anchor)[0] == check
    path = tmp_path / "tampered.zip"
    path.write_bytes(tampered)
    done = cli("verify-bundle", path, "--trust", anchored["trust"])
    assert done.returncode == 1 and "INVALID" in done.stdout, done.stdout + done.stderr


def test_a_look_alike_registry_or_another_root_fails(
    anchored: dict[str, Any], tmp_path: Path
) -> None:
    anchor = TrustAnchor.from_file(anchored["trust"])
    other = TrustAnchor.from_dict({**anchor.document(), "registry": "0x" + "11" * 20})
    assert failed_check(anchored["data"], other)[0] == "anchor"
    # A TSA root the verifier pins that did not issue the token.
    from chainproof.timestamping.pki import load_pki

    foreign = load_pki(tmp_path / "pki", password=None, create=True).ca_pem()
    assert failed_check(anchored["data"], anchor, roots_pem=foreign)[0] == "time_stamp"


def test_a_zip_bomb_is_refused_unread(anchored: dict[str, Any]) -> None:
    anchor = TrustAnchor.from_file(anchored["trust"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("receipt.json", b"\0" * (64 * 1024 * 1024))  # 64 MiB inflating from ~64 KiB
    name, detail = failed_check(out.getvalue(), anchor)
    assert name == "contents" and "over" in detail


def test_rpc_confirms_the_block_and_fails_after_a_chain_reset(
    anchored: dict[str, Any], chain: Any
) -> None:
    anchor = TrustAnchor.from_file(anchored["trust"])

    def rpc(method: str, params: list[Any]) -> Any:
        assert method == "eth_getBlockByNumber"  # the only call the check makes
        block = chain.w3.eth.get_block(int(params[0], 16))
        return {"hash": "0x" + bytes(block["hash"]).hex()}

    verdict = verify_bundle(anchored["data"], trust=anchor, rpc=rpc)
    assert verdict.valid, verdict.reason
    assert "canonical on the node" in verdict.checks[-1][2]


@pytest.mark.parametrize("chain_node", ["anvil"], indirect=True)
def test_cli_rpc_on_another_chain_fails(anchored: dict[str, Any], chain_node: Node) -> None:
    """A fresh Anvil stands in for the anchored chain after a reset: same kind of node,
    another genesis; the bundle's block is not there."""
    assert chain_node.rpc_url is not None
    done = cli(
        "verify-bundle", anchored["zip"], "--trust", anchored["trust"], "--rpc", chain_node.rpc_url
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗ canonical" in done.stdout and "reset chain" in done.stdout


def test_cli_bundle_fetches_the_same_zip(
    api: Any, anchored: dict[str, Any], submitter: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "fetched.zip"
    key = submitter["Authorization"].removeprefix("Bearer ")
    with served(api.client.app) as url:
        done = cli("bundle", anchored["id"], "-o", out, "--server", url, "--api-key", key)
        assert done.returncode == 0, done.stderr
        stranger = cli("bundle", anchored["id"], "-o", tmp_path / "x.zip", "--server", url)
        assert stranger.returncode == 2 and not (tmp_path / "x.zip").exists()

    # The same proof every time (the token is kept); only the receipt's issued_at moves.
    def files(data: bytes) -> dict[str, Any]:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            found: dict[str, Any] = {n: z.read(n) for n in z.namelist()}
        found["receipt.json"] = json.loads(found["receipt.json"])
        found["receipt.json"].pop("issued_at")
        return found

    assert files(out.read_bytes()) == files(anchored["data"])
    ok = cli("verify-bundle", out, "--trust", anchored["trust"])
    assert ok.returncode == 0, ok.stdout


def test_the_verifier_imports_no_server_dependency(anchored: dict[str, Any]) -> None:
    """The light verifier's modules run with FastAPI, SQLModel, SQLAlchemy and uvicorn made
    unimportable (sayonce's light verifier package takes them as they are)."""
    script = (
        "import sys\n"
        "for m in ('fastapi', 'sqlmodel', 'sqlalchemy', 'starlette', 'uvicorn'):\n"
        "    sys.modules[m] = None\n"
        "from chainproof.bundle.verify import verify_bundle\n"
        "from chainproof.trust import TrustAnchor\n"
        f"anchor = TrustAnchor.from_file({str(anchored['trust'])!r})\n"
        f"data = open({str(anchored['zip'])!r}, 'rb').read()\n"
        "print(verify_bundle(data, trust=anchor).status)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "valid", done.stderr
