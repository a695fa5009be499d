"""receipts.py: the model, the JSON form and its schema, offline checks, and robustness online.

Online verification against a deployed registry lives in tests/integration; here the node
is unreachable on purpose, to show a verdict comes back instead of an exception.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from eth_utils import event_abi_to_log_topic, keccak
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from web3 import Web3

from chainproof.chain.abi import ANCHORED_EVENT_ABI, ANCHORED_TOPIC, INTERFACES, interfaces
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.sender import TxSender
from chainproof.config import DEV_OPERATOR_KEY, find_project_root
from chainproof.digests import ALGORITHMS, Algorithm, hash_bytes, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import StandardMerkleTree, leaf_hash, verify
from chainproof.receipts import (
    LEAF_TYPES,
    ONLINE_CHECKS,
    RECEIPT_JSON_SCHEMA,
    RECEIPT_VERSION,
    VERIFIER_ABI,
    VERIFIER_ABI_V1,
    Receipt,
    check_receipt_offline,
    evidence_leaf,
    evidence_leaf_hash,
    random_salt,
    receipt_schema_text,
    verify_receipt,
    write_receipt_schema,
)

from ..factories import pinned, receipt_from

# The checkout (not this file's parents): `make mutation` runs a copy of the tests elsewhere.
REPO = find_project_root()
DOCS = REPO / "docs"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MEMBER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def make_receipt(n_docs: int = 5, index: int = 2, algorithm: Algorithm = "sm3") -> Receipt:
    """A receipt for document ``index`` of a batch of ``n_docs`` (on-chain fields made up)."""
    digests = [hash_bytes(f"document {i}".encode(), algorithm) for i in range(n_docs)]
    salts = [keccak(text=f"salt {i}") for i in range(n_docs)]
    tree = StandardMerkleTree.of(
        [evidence_leaf(algorithm, d, s)[1] for d, s in zip(digests, salts, strict=True)], LEAF_TYPES
    )
    return receipt_from(
        algorithm=algorithm,
        digest=digests[index],
        salt=salts[index],
        proof=tree.get_proof(index),
        root=tree.root,
        chain_id=31337,
        contract=CONTRACT.lower(),
        tx_hash=keccak(text="tx"),
        block_number=7,
        block_hash=to_hex(keccak(text="block")).upper().replace("0X", "0x"),
        block_timestamp=1_718_000_000,
        submitter=MEMBER,
        issued_at=datetime(2024, 6, 10, tzinfo=UTC),
        evidence_id=42,
        label="invoice.pdf",
    )


def as_dict(receipt: Receipt) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(receipt.to_json())
    return data


# --- the evidence leaf ----------------------------------------------------------------------


@given(
    st.sampled_from(ALGORITHMS),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)
def test_evidence_leaf_is_a_standard_merkle_tree_leaf(
    algorithm: Algorithm, digest: bytes, salt: bytes
) -> None:
    types, values = evidence_leaf(algorithm, digest, salt)
    assert types == ["string", "bytes32", "bytes32"]
    assert values == [algorithm, to_hex(digest), to_hex(salt)]
    assert evidence_leaf_hash(algorithm, digest, salt) == leaf_hash(
        types, [algorithm, digest, salt]
    )


def test_evidence_leaf_rejects_bad_parts() -> None:
    with pytest.raises(InvalidInputError, match="digest must be 32 bytes"):
        evidence_leaf("sha256", b"\x00" * 20, b"\x00" * 32)
    with pytest.raises(InvalidInputError, match="salt must be 32 bytes"):
        evidence_leaf("sha256", b"\x00" * 32, b"")
    with pytest.raises(InvalidInputError, match="unknown digest algorithm"):
        evidence_leaf("md5", b"\x00" * 32, b"\x00" * 32)  # type: ignore[arg-type]


def test_random_salts_are_32_fresh_bytes() -> None:
    salts = {random_salt() for _ in range(50)}
    assert len(salts) == 50 and all(len(s) == 32 for s in salts)


# --- the model ------------------------------------------------------------------------------


def test_build_normalises_hex_and_addresses() -> None:
    r = make_receipt()
    assert r.version == RECEIPT_VERSION
    assert r.contract == CONTRACT  # lowercase in, EIP-55 out
    assert r.block_hash == to_hex(keccak(text="block"))  # uppercase in, lowercase out
    assert r.leaf_values == (r.algorithm, r.digest, r.salt)
    assert check_receipt_offline(r) == []


def test_json_round_trip() -> None:
    r = make_receipt()
    text = r.to_json()
    assert Receipt.from_json(text) == r
    assert Receipt.from_json(text.encode()) == r
    assert Receipt.from_dict(json.loads(text)) == r
    data = json.loads(text)
    assert list(data)[:3] == ["version", "algorithm", "digest"]
    assert data["issued_at"] == "2024-06-10T00:00:00Z"
    assert data["evidence_id"] == 42


def test_optional_fields_are_left_out_when_absent() -> None:
    data = as_dict(make_receipt())
    for key in ("issued_at", "evidence_id", "label"):
        del data[key]
    r = Receipt.from_dict(data)
    assert set(json.loads(r.to_json())) == set(data)


def test_single_document_batch_has_an_empty_proof() -> None:
    r = make_receipt(n_docs=1, index=0)
    assert r.proof == [] and r.root == r.leaf_hash
    assert check_receipt_offline(r) == []


def _with(change: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    data = as_dict(make_receipt())
    data.update(change)
    for key in drop:
        del data[key]
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"digest": "0x1234"}, "digest: must be 64 hex digits (32 bytes) after 0x, got 4"),
        ({"salt": "ab" * 32}, "salt: must start with 0x"),
        ({"root": "0x" + "zz" * 32}, "root: must be hexadecimal after 0x"),
        ({"proof": ["0x" + "00" * 32, "0x00"]}, "proof.1: must be 64 hex digits"),
        ({"leaf_values": ["sm3", "0x" + "00" * 32]}, "leaf_values"),
        ({"leaf_values": ["md5", "0x" + "00" * 32, "0x" + "00" * 32]}, "leaf_values.0"),
        (
            {"leaf_types": ["string", "bytes32"]},
            "leaf_types: must be ['string', 'bytes32', 'bytes32']",
        ),
        ({"version": 2}, "version: unsupported receipt version 2"),
        ({"algorithm": "sha1"}, "algorithm: Input should be 'sha256', 'sm3' or 'keccak256'"),
        (
            {"contract": "0x5fbdb2315678afecb367f032d93f642f64180aa"},
            "contract: must be 40 hex digits",
        ),
        (
            {"contract": "0x5FBDB2315678afecb367f032d93F642f64180aa3"},
            "contract: bad EIP-55 checksum",
        ),
        ({"chain_id": "31337"}, "chain_id: Input should be a valid integer"),
        ({"chain_id": 0}, "chain_id: Input should be greater than or equal to 1"),
        ({"block_number": -1}, "block_number: Input should be greater than or equal to 0"),
        ({"block_timestamp": True}, "block_timestamp: Input should be a valid integer"),
        ({"block_number": 7.5}, "block_number: Input should be a valid integer"),
        ({"issued_at": "2024-06-10T00:00:00"}, "issued_at: Input should have timezone info"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"label": "x" * 1025}, "label: String should have at most 1024 characters"),
    ],
)
def test_invalid_receipts_say_what_and_where(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)) as exc:
        Receipt.from_json(json.dumps(_with(change)))
    assert str(exc.value).startswith("invalid receipt: ")
    assert exc.value.details["errors"]  # the structured errors ride along for the API


def test_missing_fields_and_non_json() -> None:
    with pytest.raises(InvalidInputError, match="tx_hash: Field required"):
        Receipt.from_json(json.dumps(_with({}, drop=("tx_hash",))))
    with pytest.raises(InvalidInputError, match="invalid receipt: receipt: Invalid JSON"):
        Receipt.from_json("{not json")
    with pytest.raises(InvalidInputError, match=r"and 1[0-9] more"):
        Receipt.from_json("{}")


def test_receipts_are_immutable() -> None:
    r = make_receipt()
    with pytest.raises(ValidationError, match="frozen"):
        r.root = r.leaf_hash


def test_issued_at_keeps_its_offset() -> None:
    cst = datetime(2024, 6, 10, 8, tzinfo=timezone(timedelta(hours=8)))
    r = Receipt.from_dict(_with({"issued_at": cst.isoformat()}))
    assert r.issued_at == cst


# --- offline checks -------------------------------------------------------------------------


def _changed(**change: Any) -> Receipt:
    return Receipt.from_dict(_with(change))


def test_offline_check_catches_a_changed_digest() -> None:
    other = to_hex(hash_bytes(b"another document", "sm3"))
    problems = check_receipt_offline(_changed(digest=other))
    assert problems == [
        f"leaf_values[1] is {make_receipt().digest}, not the receipt's digest {other}"
    ]
    # Changing the leaf too moves the leaf hash, and then the proof no longer reaches the root.
    r = make_receipt()
    problems = check_receipt_offline(
        _changed(digest=other, leaf_values=[r.algorithm, other, r.salt])
    )
    assert len(problems) == 2
    assert problems[0].startswith("leaf_hash is ")
    assert problems[1].startswith("the proof leads to ")


def test_offline_check_catches_a_changed_salt() -> None:
    r = make_receipt()
    salt = to_hex(keccak(text="guess"))
    assert check_receipt_offline(_changed(salt=salt))[0].startswith("leaf_values[2] is ")
    problems = check_receipt_offline(_changed(salt=salt, leaf_values=[r.algorithm, r.digest, salt]))
    assert any("the proof leads to" in p for p in problems)


def test_offline_check_catches_a_changed_algorithm() -> None:
    assert check_receipt_offline(_changed(algorithm="sha256"))[0].startswith(
        "leaf_values[0] is sm3, not the receipt's algorithm sha256"
    )


def test_offline_check_catches_a_changed_proof() -> None:
    r = make_receipt()
    flipped = list(r.proof)
    flipped[0] = to_hex(
        bytes(
            a ^ b for a, b in zip(bytes.fromhex(flipped[0][2:]), b"\x01" + bytes(31), strict=True)
        )
    )
    for proof in (flipped, r.proof[:-1], [*r.proof, r.root], list(reversed(r.proof)), []):
        problems = check_receipt_offline(_changed(proof=proof))
        assert len(problems) == 1 and problems[0].startswith("the proof leads to "), proof


def test_offline_check_catches_a_changed_root_and_leaf_hash() -> None:
    r = make_receipt()
    [problem] = check_receipt_offline(_changed(root=to_hex(keccak(text="other root"))))
    assert "not to root" in problem
    [problem] = check_receipt_offline(_changed(leaf_hash=r.root))
    assert problem == f"leaf_hash is {r.root} but the leaf values hash to {r.leaf_hash}"


@given(st.integers(1, 40), st.data())
def test_every_receipt_of_a_batch_checks_offline(n: int, data: st.DataObject) -> None:
    r = make_receipt(
        n_docs=n,
        index=data.draw(st.integers(0, n - 1)),
        algorithm=data.draw(st.sampled_from(ALGORITHMS)),
    )
    assert check_receipt_offline(r) == []
    assert verify(r.root, r.leaf_types, list(r.leaf_values), r.proof)


# --- the schema -----------------------------------------------------------------------------


def test_schema_file_is_in_sync_with_the_model() -> None:
    path = DOCS / "receipt.schema.json"
    hint = (
        'regenerate: python -c "from chainproof.receipts import write_receipt_schema; '
        "write_receipt_schema('docs/receipt.schema.json')\""
    )
    assert json.loads(path.read_text(encoding="utf-8")) == RECEIPT_JSON_SCHEMA, hint
    assert path.read_text(encoding="utf-8") == receipt_schema_text(), hint


def test_write_receipt_schema(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    write_receipt_schema(out)
    assert json.loads(out.read_text(encoding="utf-8")) == RECEIPT_JSON_SCHEMA


def test_receipts_validate_against_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(RECEIPT_JSON_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(RECEIPT_JSON_SCHEMA)
    validator.validate(as_dict(make_receipt()))
    validator.validate(as_dict(make_receipt(n_docs=1, index=0)))
    for bad in ({"digest": "0x12"}, {"leaf_types": ["bytes32"]}, {"version": 2}, {"surprise": 1}):
        assert not validator.is_valid(_with(bad)), bad


# --- the docs -------------------------------------------------------------------------------


def _doc_block(language: str) -> str:
    text = (DOCS / "receipt.md").read_text(encoding="utf-8")
    match = re.search(rf"```{language}\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/receipt.md has no {language} block"
    return match.group(1)


def test_docs_example_is_a_real_receipt() -> None:
    r = Receipt.from_json(_doc_block("json"))
    assert check_receipt_offline(r) == []
    assert r.digest == to_hex(hash_bytes(b"2023 subsidy application form.pdf", "sha256"))


def _need_node_and(path: Path, what: str) -> None:
    missing = None
    if shutil.which("node") is None:
        missing = "`node` is not on PATH"
    elif not path.exists():
        missing = f"{path} is missing (run `make install`)"
    if missing:
        if os.environ.get("CHAINPROOF_REQUIRE_ALL") == "1":
            pytest.fail(f"CHAINPROOF_REQUIRE_ALL=1 and {missing}: cannot check {what}")
        pytest.skip(f"SKIPPED LOUDLY: {missing}: {what} NOT checked")


def test_docs_js_snippet_verifies_the_example(tmp_path: Path) -> None:
    _need_node_and(
        REPO / "node_modules/@openzeppelin/merkle-tree/package.json", "the docs' JS snippet"
    )
    script, good, bad = (
        tmp_path / "verify-receipt.js",
        tmp_path / "good.json",
        tmp_path / "bad.json",
    )
    script.write_text(_doc_block("js"))
    good.write_text(_doc_block("json"))
    tampered = json.loads(_doc_block("json"))
    tampered["proof"] = tampered["proof"][::-1]
    bad.write_text(json.dumps(tampered))
    env = {**os.environ, "NODE_PATH": str(REPO / "node_modules")}
    ok = subprocess.run(
        ["node", str(script), str(good)], capture_output=True, text=True, env=env, timeout=60
    )
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    no = subprocess.run(
        ["node", str(script), str(bad)], capture_output=True, text=True, env=env, timeout=60
    )
    assert no.returncode == 1 and "FAILED" in no.stdout, no.stdout + no.stderr


# --- online: ABI fragments and robustness ---------------------------------------------------


def test_anchored_topic_matches_the_event_abi() -> None:
    assert event_abi_to_log_topic(ANCHORED_EVENT_ABI) == ANCHORED_TOPIC  # type: ignore[arg-type]


def test_the_stored_interfaces_are_the_compilers() -> None:
    """chain/interfaces.json (what a verifier reads, no compiler needed) is what compiling
    contracts/ gives now: `python -m chainproof.chain.compiler` rewrites it."""
    _need_node_and(REPO / "node_modules/solc/package.json", "chain/interfaces.json")
    from chainproof.chain.compiler import compile_contracts

    compiled = compile_contracts().contracts
    assert interfaces() == {name: compiled[name].abi for name in INTERFACES}


def _strip_internal_types(item: Any) -> Any:
    if isinstance(item, dict):
        return {k: _strip_internal_types(v) for k, v in item.items() if k != "internalType"}
    if isinstance(item, list):
        return [_strip_internal_types(v) for v in item]
    return item


@pytest.mark.parametrize(
    ("path", "interface", "fragments"),
    [
        ("IEvidenceRegistry.sol", "IEvidenceRegistry", VERIFIER_ABI),
        ("v1/IEvidenceRegistryV1.sol", "IEvidenceRegistryV1", VERIFIER_ABI_V1),
    ],
)
def test_abi_fragments_match_the_solidity_interface(
    path: str, interface: str, fragments: list[dict[str, Any]]
) -> None:
    solc = REPO / "bin" / "solc"
    _need_node_and(REPO / "node_modules/solc/package.json", "the hand-written ABI fragments")
    source = (REPO / "contracts" / path).read_text(encoding="utf-8")
    request = {
        "language": "Solidity",
        "sources": {"IEvidenceRegistry.sol": {"content": source}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    done = subprocess.run(
        [str(solc), "--standard-json"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"], output["errors"]
    compiled = output["contracts"]["IEvidenceRegistry.sol"][interface]["abi"]
    for fragment in fragments:
        [match] = [
            f
            for f in compiled
            if f["type"] == fragment["type"] and f.get("name") == fragment["name"]
        ]
        assert _strip_internal_types(match) == _strip_internal_types(fragment), fragment["name"]


def test_unreachable_node_is_a_failed_check_not_an_exception() -> None:
    w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 3}))
    verdict = verify_receipt(make_receipt(), w3)
    assert not verdict.valid
    assert [(name, ok) for name, ok, _ in verdict.checks] == [
        ("offline", True),
        ("chain_id", False),
    ]
    assert verdict.reason is not None and verdict.reason.startswith(
        "chain_id check could not run: "
    )


def test_offline_failure_stops_before_touching_the_node() -> None:
    w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 3}))
    verdict = verify_receipt(_changed(root=to_hex(keccak(text="x"))), w3)
    assert not verdict.valid
    assert len(verdict.checks) == 1 and verdict.checks[0][:2] == ("offline", False)
    assert verdict.reason is not None and "not to root" in verdict.reason


# --- issue 27: the on-chain checks against a real (embedded) chain ---------------------------
# Every check passing on a genuine receipt, then each check failing on the one field it guards,
# with the sentence a verifier shows. One in-process chain per module (eth-tester, ~1 s).


@dataclass
class OnChain:
    ctx: ChainContext
    receipt: Receipt
    other: Receipt  # document 0 of a second anchored batch


def _anchor_batch(ctx: ChainContext, tag: str, index: int) -> Receipt:
    digests = [hash_bytes(f"{tag} {i}".encode(), "sha256") for i in range(5)]
    salts = [keccak(text=f"{tag} salt {i}") for i in range(5)]
    values = [evidence_leaf("sha256", d, s)[1] for d, s in zip(digests, salts, strict=True)]
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    mined = ctx.registry.anchor(ctx.sender, tree.root, 5, bytes(32))
    block = ctx.w3.eth.get_block(mined.block_number)
    return receipt_from(
        algorithm="sha256",
        digest=digests[index],
        salt=salts[index],
        proof=tree.get_proof(index),
        root=tree.root,
        chain_id=ctx.w3.eth.chain_id,
        contract=ctx.deployment.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=mined.block_hash,
        block_timestamp=block["timestamp"],
        submitter=ctx.operator.address,
    )


@pytest.fixture(scope="module")
def on_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnChain]:
    """A registry on an embedded chain with two anchored batches of five documents."""
    tmp = tmp_path_factory.mktemp("receipts-chain")
    ctx = open_chain(chain="embedded", data_dir=tmp, operator_key=DEV_OPERATOR_KEY)
    try:
        yield OnChain(ctx, _anchor_batch(ctx, "first", 2), _anchor_batch(ctx, "second", 0))
    finally:
        ctx.stop()


@pytest.fixture
def chain_snapshot(on_chain: OnChain) -> Iterator[OnChain]:
    """``on_chain``, rolled back after the test (for revocations)."""
    snap = on_chain.ctx.node.snapshot()
    try:
        yield on_chain
    finally:
        on_chain.ctx.node.revert(snap)


def test_a_genuine_receipt_passes_every_check_in_order(on_chain: OnChain) -> None:
    r, w3 = on_chain.receipt, on_chain.ctx.w3
    assert check_receipt_offline(r) == []
    anchor = pinned(w3, r.contract)
    verdict = verify_receipt(r, w3, trust=anchor)
    assert verdict.valid is True and verdict.reason is None and verdict.pinned
    assert [(name, ok) for name, ok, _ in verdict.checks] == [(n, True) for n in ONLINE_CHECKS]
    code = w3.eth.get_code(Web3.to_checksum_address(r.contract))
    depth = w3.eth.block_number - r.block_number + 1
    details = dict((name, detail) for name, _, detail in verdict.checks)
    assert details["offline"] == "leaf values, leaf hash and proof agree with the root"
    assert details["chain_id"].startswith(f"chain {r.chain_id}")
    assert details["genesis"] == f"genesis {anchor.genesis_hash}, as pinned"
    assert details["registry"] == f"{r.contract} is the pinned registry (version 2)"
    assert details["contract_code"].startswith(f"{len(code)} bytes of code at {r.contract}")
    assert anchor.registry_code_hash in details["contract_code"]
    assert details["transaction"] == (
        f"transaction {r.tx_hash} succeeded in block {r.block_number}"
    )
    assert details["anchored_event"] == (
        f"Anchored(root, {r.submitter}, leafCount=5, timestamp={r.block_timestamp})"
    )
    assert details["block"] == (
        f"block {r.block_number} at {r.block_timestamp}, {depth} confirmation(s)"
    )
    assert details["anchor"] == f"root anchored by {r.submitter} over 5 leaves, not revoked"
    assert details["leaf_revocation"] == "leaf not revoked"
    assert details["contract_verify"] == "registry verify(root, leaf, proof) is true"
    # Unpinned, the same checks pass and the verdict is still not valid.
    unpinned = verify_receipt(r, w3)
    assert not unpinned.valid and not unpinned.pinned
    assert [ok for _, ok, _ in unpinned.checks] == [True] * len(ONLINE_CHECKS)
    # Addresses compare in any case; the second batch's receipt verifies too.
    lower = on_chain.receipt.model_copy(update={"contract": r.contract.lower()})
    assert verify_receipt(lower, w3, trust=anchor).valid
    assert verify_receipt(on_chain.other, w3, trust=anchor).valid


def _fails_at(receipt: Receipt, w3: Web3, check: str) -> str:
    verdict = verify_receipt(receipt, w3)
    assert verdict.valid is False
    names = [name for name, _, _ in verdict.checks]
    assert names == list(ONLINE_CHECKS[: ONLINE_CHECKS.index(check) + 1])
    assert [ok for _, ok, _ in verdict.checks] == [True] * (len(names) - 1) + [False]
    assert verdict.reason == verdict.checks[-1][2]
    assert verdict.reason is not None
    return verdict.reason


def test_each_on_chain_field_is_checked(on_chain: OnChain) -> None:
    r, other, w3 = on_chain.receipt, on_chain.other, on_chain.ctx.w3
    chain_id = w3.eth.chain_id

    def changed(**update: Any) -> Receipt:
        return r.model_copy(update=update)

    assert _fails_at(changed(chain_id=chain_id + 1), w3, "chain_id") == (
        f"the node is on chain {chain_id}, the receipt is for chain {chain_id + 1}"
    )
    nobody = "0x" + "12" * 20
    assert _fails_at(changed(contract=nobody), w3, "contract_code") == (
        f"no contract code at {nobody} on this chain"
    )
    unknown = to_hex(keccak(text="never sent"))
    assert _fails_at(changed(tx_hash=unknown), w3, "transaction") == (
        f"transaction {unknown} is not on this chain (never mined here, or reorganised out)"
    )
    moved = changed(block_number=r.block_number + 1)
    assert _fails_at(moved, w3, "transaction") == (
        f"transaction {r.tx_hash} is in block {r.block_number} ({r.block_hash}), "
        f"not in block {r.block_number + 1} ({r.block_hash})"
    )
    other_hash = to_hex(keccak(text="another block"))
    assert _fails_at(changed(block_hash=other_hash), w3, "transaction") == (
        f"transaction {r.tx_hash} is in block {r.block_number} ({r.block_hash}), "
        f"not in block {r.block_number} ({other_hash})"
    )
    # The second batch's transaction, block and time with the first batch's root.
    swapped = changed(
        tx_hash=other.tx_hash,
        block_number=other.block_number,
        block_hash=other.block_hash,
        block_timestamp=other.block_timestamp,
    )
    assert _fails_at(swapped, w3, "anchored_event") == (
        f"transaction {other.tx_hash} anchored {other.root}, not root {r.root}"
    )
    impostor = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert _fails_at(changed(submitter=impostor), w3, "anchored_event") == (
        f"root {r.root} was anchored by {r.submitter}, not by {impostor}"
    )
    assert _fails_at(changed(block_timestamp=r.block_timestamp + 1), w3, "anchored_event") == (
        f"the Anchored event says timestamp {r.block_timestamp}, the receipt "
        f"{r.block_timestamp + 1}"
    )


def test_a_transaction_without_an_anchored_event_is_refused(chain_snapshot: OnChain) -> None:
    ctx, r = chain_snapshot.ctx, chain_snapshot.receipt
    sender = TxSender(ctx.w3, ctx.operator)  # its own nonce count, rolled back with the chain
    granted = ctx.registry.grant_member(sender, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    receipt = r.model_copy(
        update={
            "tx_hash": granted.tx_hash,
            "block_number": granted.block_number,
            "block_hash": granted.block_hash,
        }
    )
    assert _fails_at(receipt, ctx.w3, "anchored_event") == (
        f"transaction {granted.tx_hash} emitted no Anchored event from {r.contract}"
    )


def test_a_transaction_to_another_address_is_refused(on_chain: OnChain) -> None:
    """The registry's own deployment: a successful transaction in a real block, not sent to
    the registry (a contract creation has no ``to``)."""
    d, r, w3 = on_chain.ctx.deployment, on_chain.receipt, on_chain.ctx.w3
    block = w3.eth.get_block(d.block_number)
    receipt = r.model_copy(
        update={
            "tx_hash": d.tx_hash,
            "block_number": d.block_number,
            "block_hash": to_hex(bytes(block["hash"])),
        }
    )
    to = w3.eth.get_transaction_receipt(d.tx_hash).get("to")
    assert not to  # None or "" depending on the node
    assert _fails_at(receipt, w3, "transaction") == (
        f"transaction {d.tx_hash} was sent to {to}, not {r.contract}"
    )


def test_revocations_are_reported_as_revoked(chain_snapshot: OnChain) -> None:
    ctx, r = chain_snapshot.ctx, chain_snapshot.receipt
    sender = TxSender(ctx.w3, ctx.operator)  # its own nonce count, rolled back with the chain
    ctx.registry.revoke_leaf(sender, r.root, r.leaf_hash, r.proof, bytes(32))
    assert _fails_at(r, ctx.w3, "leaf_revocation") == (
        f"revoked: leaf {r.leaf_hash} of root {r.root} was revoked"
    )
    ctx.registry.revoke_root(sender, r.root, bytes(32))
    assert _fails_at(r, ctx.w3, "anchor") == (f"revoked: root {r.root} was revoked on {r.contract}")


def test_offline_problems_word_for_word() -> None:
    r = make_receipt()
    assert check_receipt_offline(r) == []
    wrong_salt = to_hex(keccak(text="other salt"))
    values = list(r.leaf_values)
    values[2] = wrong_salt
    problems = check_receipt_offline(r.model_copy(update={"leaf_values": values}))
    computed = to_hex(leaf_hash(LEAF_TYPES, values))
    assert problems[:2] == [
        f"leaf_values[2] is {wrong_salt}, not the receipt's salt {r.salt}",
        f"leaf_hash is {r.leaf_hash} but the leaf values hash to {computed}",
    ]
    assert problems[2].startswith("the proof leads to 0x") and problems[2].endswith(
        f", not to root {r.root}"
    )
    other_root = to_hex(keccak(text="root"))
    assert check_receipt_offline(r.model_copy(update={"root": other_root})) == [
        f"the proof leads to {r.root}, not to root {other_root}"
    ]


def test_invalid_receipt_messages_show_five_problems_then_count() -> None:
    fields = ("tx_hash", "root", "salt", "digest", "submitter", "contract", "block_hash")
    messages = {}
    for n in (1, 5, 6, 7):
        with pytest.raises(InvalidInputError) as info:
            Receipt.from_dict(_with({}, drop=fields[:n]))
        messages[n] = info.value.message
        assert len(info.value.details["errors"]) == n
        assert all("url" not in e and "input" not in e for e in info.value.details["errors"])
    assert messages[1] == "invalid receipt: tx_hash: Field required"
    for n, message in messages.items():
        # Problems come in the model's field order, joined by "; ", five at most.
        in_order = [f for f in Receipt.model_fields if f in fields[:n]]
        shown = "; ".join(f"{f}: Field required" for f in in_order[:5])
        more = f"; and {n - 5} more" if n > 5 else ""
        assert message == f"invalid receipt: {shown}{more}", n


def test_receipt_json_is_indented_unless_asked_otherwise() -> None:
    r = make_receipt()
    assert r.to_json().startswith('{\n  "version": ')
    compact = r.to_json(indent=None)
    assert "\n" not in compact and json.loads(compact) == json.loads(r.to_json())
    assert "issued_at" in compact and "null" not in compact  # absent fields are left out
    assert "issued_at" not in make_receipt().model_copy(update={"issued_at": None}).to_json()
