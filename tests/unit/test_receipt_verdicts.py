"""verify_receipt's verdicts word for word, on an embedded chain (issue 27: what mutation
testing of receipts.py found unasserted).

Every sentence a verifier reads, with the trust anchor and without; each anchor field that
differs from the node failing its own check while the verdict stays ``pinned``; the success
path with every field checked; a transaction that reverted; a version-1 registry honoured,
pinned, or no longer honoured (its receipts use v1's calls); and what only a dishonest
registry answers (two roots in one transaction, an event time that is not its block's, an
anchor the registry does not hold or holds elsewhere, ``verify()`` saying no), from a small
contract deployed for the purpose, on the same chain.

One chain per module, everything mined while it is set up: the tests only read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from web3 import Web3
from web3.middleware import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse

from chainproof.chain.compiler import compile_contracts, load_artifact
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.deployments import deploy_registry
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import MinedTx
from chainproof.config import DEV_OPERATOR_KEY, find_project_root
from chainproof.digests import hash_bytes, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import StandardMerkleTree, leaf_hash
from chainproof.receipts import (
    LEAF_TYPES,
    ONLINE_CHECKS,
    RECEIPT_VERSION,
    Receipt,
    check_receipt_offline,
    evidence_leaf,
    evidence_leaf_hash,
    verify_receipt,
)
from chainproof.trust import TrustAnchor, code_hash

from ..factories import pinned

REPO = find_project_root()  # not this file's parents: `make mutation` runs a copy
MEMBER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER = "0x1111111111111111111111111111111111111111"
STRANGER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

# Says whatever its caller asks, in the v1 registry's shape (no version()): the registry a
# forger would deploy, or the answers a compromised node would give.
LIAR = """\
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Liar {
    struct Anchor {
        address submitter; uint64 timestamp; uint32 leafCount; uint64 blockNumber; bool revoked;
    }
    event Anchored(
        bytes32 indexed root, address indexed submitter, uint32 leafCount, bytes32 metadataHash,
        uint64 timestamp
    );
    mapping(bytes32 => Anchor) private _anchors;
    mapping(bytes32 => bool) private _verifies;
    bytes private _unknownCallAnswer;

    /// Any other call (version() among them) is answered with these raw bytes.
    constructor(bytes memory unknownCallAnswer) { _unknownCallAnswer = unknownCallAnswer; }
    fallback(bytes calldata) external returns (bytes memory) { return _unknownCallAnswer; }

    /// Emits Anchored(root, who, 1, 0, eventTime or this block's time) for each root; when
    /// `store`, getAnchor(root) answers (storedBy, this block's time, 1, block + blockShift).
    function say(
        bytes32[] calldata roots, address who, uint64 eventTime, bool store, address storedBy,
        uint64 blockShift, bool verifies
    ) external {
        uint64 t = eventTime == 0 ? uint64(block.timestamp) : eventTime;
        for (uint256 i = 0; i < roots.length; i++) {
            if (store) {
                _anchors[roots[i]] = Anchor(
                    storedBy, uint64(block.timestamp), 1, uint64(block.number) + blockShift, false
                );
            }
            _verifies[roots[i]] = verifies;
            emit Anchored(roots[i], who, 1, bytes32(0), t);
        }
    }
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }
    function isLeafRevoked(bytes32, bytes32) external pure returns (bool) { return false; }
    function verify(bytes32 root, bytes32, bytes32[] calldata) external view returns (bool) {
        return _verifies[root];
    }
}
"""


@dataclass
class Chain:
    ctx: ChainContext
    receipt: Receipt  # document 1 of a v2 batch
    failed: Receipt  # the same document, its transaction a reverted one
    v1: Receipt  # document 0 of a batch on a version-1 registry on the same chain
    v1_code_hash: str
    lies: dict[str, Receipt]  # scenario -> a receipt of the Liar's

    @property
    def w3(self) -> Web3:
        return self.ctx.w3


def _docs(tag: str, n: int) -> tuple[list[bytes], list[bytes], StandardMerkleTree]:
    digests = [hash_bytes(f"{tag} {i}".encode(), "sha256") for i in range(n)]
    salts = [keccak(text=f"{tag} salt {i}") for i in range(n)]
    values = [evidence_leaf("sha256", d, s)[1] for d, s in zip(digests, salts, strict=True)]
    return digests, salts, StandardMerkleTree.of(values, LEAF_TYPES)


def _receipt_of(**fields: Any) -> Receipt:
    """A receipt from raw values, its leaf and leaf hash computed (through ``from_dict``, so
    this file does not depend on where a builder lives)."""
    leaf_types, leaf_values = evidence_leaf(fields["algorithm"], fields["digest"], fields["salt"])
    hexed = {k: to_hex(v) if isinstance(v, bytes) else v for k, v in fields.items()}
    return Receipt.from_dict(
        {
            **hexed,
            "version": RECEIPT_VERSION,
            "leaf_types": leaf_types,
            "leaf_values": leaf_values,
            "leaf_hash": to_hex(leaf_hash(leaf_types, leaf_values)),
            "proof": [to_hex(p) for p in fields["proof"]],
        }
    )


def _receipt(
    w3: Web3,
    mined: MinedTx,
    contract: str,
    docs: tuple[list[bytes], list[bytes], StandardMerkleTree],
    index: int,
    *,
    timestamp: int | None = None,
) -> Receipt:
    digests, salts, tree = docs
    block = w3.eth.get_block(mined.block_number)
    return _receipt_of(
        algorithm="sha256",
        digest=digests[index],
        salt=salts[index],
        proof=tree.get_proof(index),
        root=tree.root,
        chain_id=w3.eth.chain_id,
        contract=contract,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=bytes(block["hash"]),
        block_timestamp=int(block["timestamp"]) if timestamp is None else timestamp,
        submitter=MEMBER,
    )


def _liar(ctx: ChainContext, tmp: Path, version_answer: bytes = b"") -> EvidenceRegistryClient:
    """A Liar that answers ``version()`` (and any call it lacks) with ``version_answer``."""
    if not (tmp / "contracts").exists():
        (tmp / "contracts").mkdir(parents=True)
        (tmp / "contracts" / "Liar.sol").write_text(LIAR)
        (tmp / "bin").mkdir()
        (tmp / "bin" / "solc").symlink_to(REPO / "bin" / "solc")
        (tmp / "node_modules").symlink_to(REPO / "node_modules")
    artifact = compile_contracts(root=tmp, cache_dir=REPO / ".cache" / "contracts").contracts[
        "Liar"
    ]
    factory = ctx.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    ctor = factory.constructor(version_answer)
    tx = dict(ctor.build_transaction({"from": ctx.operator.address, "gas": 3_000_000}))
    tx.pop("nonce", None)
    signed = ctx.sender.sign(tx)
    ctx.sender.send_raw(signed)
    mined = ctx.sender.wait_sent(signed)
    address = ctx.w3.eth.get_transaction_receipt(mined.tx_hash)["contractAddress"]  # type: ignore[arg-type]
    assert address, "the Liar was not deployed"
    return EvidenceRegistryClient(ctx.w3, address, artifact.abi)


def _lie(
    ctx: ChainContext,
    liar: EvidenceRegistryClient,
    tag: str,
    *,
    extra_root: bool = False,
    event_time: int = 0,
    store: bool = True,
    stored_by: str = MEMBER,
    block_shift: int = 0,
    verifies: bool = True,
) -> Receipt:
    docs = _docs(tag, 1)  # one document: root = leaf, an empty proof
    root = docs[2].root
    roots = [keccak(text=f"{tag} A"), keccak(text=f"{tag} B")] if extra_root else [root]
    fn = liar.contract.functions.say(
        roots, MEMBER, event_time, store, stored_by, block_shift, verifies
    )
    mined = liar.transact(ctx.sender, fn, gas=500_000)
    return _receipt(ctx.w3, mined, liar.address, docs, 0, timestamp=event_time or None)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    tmp = tmp_path_factory.mktemp("receipt-verdicts")
    ctx = open_chain(chain="embedded", data_dir=tmp / "chain", operator_key=DEV_OPERATOR_KEY)
    try:
        assert ctx.operator.address == MEMBER
        docs = _docs("verdicts", 4)
        mined = ctx.registry.anchor(ctx.sender, docs[2].root, 4, bytes(32))
        receipt = _receipt(ctx.w3, mined, ctx.deployment.address, docs, 1)
        # A transaction that reverted (revoking a root nobody anchored), mined all the same.
        revoke = ctx.registry.contract.functions.revokeRoot(keccak(text="nobody's"), bytes(32))
        signed = ctx.registry.sign_call(ctx.sender, revoke, gas=200_000)
        ctx.sender.send_raw(signed)
        reverted = ctx.sender.wait_sent(signed)
        assert reverted.status == 0
        failed = receipt.model_copy(
            update={
                "tx_hash": reverted.tx_hash,
                "block_number": reverted.block_number,
                "block_hash": reverted.block_hash,
            }
        )
        v1_artifact = load_artifact("EvidenceRegistryV1")
        v1 = deploy_registry(ctx.w3, ctx.operator, v1_artifact)
        v1_client = EvidenceRegistryClient(ctx.w3, v1.address, v1_artifact.abi)
        v1_docs = _docs("version one", 3)
        v1_mined = v1_client.anchor(ctx.sender, v1_docs[2].root, 3, bytes(32))
        liar = _liar(ctx, tmp / "liar")
        lies = {
            "two roots": _lie(ctx, liar, "two roots", extra_root=True),
            "event time": _lie(ctx, liar, "event time", event_time=1_000_000_000),
            "not stored": _lie(ctx, liar, "not stored", store=False),
            "stored elsewhere": _lie(ctx, liar, "stored elsewhere", block_shift=1),
            "stored by another": _lie(ctx, liar, "stored by another", stored_by=STRANGER),
            "verify says no": _lie(ctx, liar, "verify says no", verifies=False),
            "honest": _lie(ctx, liar, "honest"),
            # version() answered with 1 byte (0x02) or 33 (a 32-byte 1, then 0x07): neither
            # is a v2 answer, so v1's calls are used, which the Liar answers.
            "short version": _lie(ctx, _liar(ctx, tmp / "liar", b"\x02"), "short version"),
            "long version": _lie(
                ctx, _liar(ctx, tmp / "liar", (1).to_bytes(32, "big") + b"\x07"), "long version"
            ),
        }
        yield Chain(
            ctx=ctx,
            receipt=receipt,
            failed=failed,
            v1=_receipt(ctx.w3, v1_mined, v1.address, v1_docs, 0),
            v1_code_hash=v1.bytecode_hash,
            lies=lies,
        )
    finally:
        ctx.stop()


def _changed(anchor: TrustAnchor, **fields: Any) -> TrustAnchor:
    return TrustAnchor.from_dict({**anchor.document(), **fields})


def _fails_at(receipt: Receipt, w3: Web3, check: str, trust: TrustAnchor | None = None) -> str:
    """The reason of a verdict that failed ``check`` after every earlier check passed."""
    verdict = verify_receipt(receipt, w3, trust=trust)
    assert verdict.valid is False
    assert verdict.pinned is (trust is not None)
    names = [name for name, _, _ in verdict.checks]
    assert names == list(ONLINE_CHECKS[: ONLINE_CHECKS.index(check) + 1]), verdict.checks
    assert [ok for _, ok, _ in verdict.checks] == [True] * (len(names) - 1) + [False]
    assert verdict.reason == verdict.checks[-1][2] and verdict.reason is not None
    assert verdict.status == ("revoked" if verdict.reason.startswith("revoked") else "invalid")
    return verdict.reason


def _details(receipt: Receipt, w3: Web3, trust: TrustAnchor | None) -> dict[str, str]:
    verdict = verify_receipt(receipt, w3, trust=trust)
    assert [(name, ok) for name, ok, _ in verdict.checks] == [(n, True) for n in ONLINE_CHECKS]
    return {name: detail for name, _, detail in verdict.checks}


# --- the receipt model: what a producer's mistakes read like -------------------------------


def test_an_address_in_mixed_case_must_carry_its_checksum() -> None:
    # Only the first hex digit upper case: still mixed case, so a (wrong) checksum claim.
    claim = "0xF" + MEMBER[3:].lower()
    with pytest.raises(InvalidInputError) as info:
        Receipt.from_dict({**_receipt_dict(), "submitter": claim})
    assert info.value.message == (
        f"invalid receipt: submitter: bad EIP-55 checksum in address {claim}"
    )
    # One case throughout claims no checksum: upper case is as good as lower case.
    for plain in (MEMBER.lower(), "0x" + MEMBER[2:].upper()):
        assert Receipt.from_dict({**_receipt_dict(), "submitter": plain}).submitter == MEMBER


def test_a_hex_field_without_0x_quotes_its_first_twelve_characters() -> None:
    with pytest.raises(InvalidInputError) as info:
        Receipt.from_dict({**_receipt_dict(), "tx_hash": "abcdefghijklmnopqrstuvwxyz"})
    assert info.value.message == (
        "invalid receipt: tx_hash: must start with 0x, got 'abcdefghijkl'"
    )


def test_validation_details_carry_no_context_objects() -> None:
    with pytest.raises(InvalidInputError) as info:
        Receipt.from_dict({**_receipt_dict(), "label": "x" * 1025, "chain_id": 0})
    errors = info.value.details["errors"]
    assert {e["loc"][0] for e in errors} == {"label", "chain_id"}
    assert all(set(e) == {"type", "loc", "msg"} for e in errors), errors


def _build_kwargs() -> dict[str, Any]:
    digests, salts, tree = _docs("model", 2)
    return {
        "algorithm": "sha256",
        "digest": digests[0],
        "salt": salts[0],
        "proof": tree.get_proof(0),
        "root": tree.root,
        "chain_id": 31337,
        "contract": OTHER,
        "tx_hash": keccak(text="tx"),
        "block_number": 7,
        "block_hash": keccak(text="block"),
        "block_timestamp": 1_718_000_000,
        "submitter": MEMBER,
    }


def _receipt_dict() -> dict[str, Any]:
    return _receipt_of(**_build_kwargs()).model_dump(mode="json", exclude_none=True)


# --- verdicts without a chain --------------------------------------------------------------


def test_a_node_error_names_the_exception() -> None:
    w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 3}))
    with pytest.raises(Exception) as raised:
        _ = w3.eth.chain_id
    verdict = verify_receipt(_receipt_of(**_build_kwargs()), w3)
    assert verdict.reason is not None
    assert verdict.reason.startswith(f"chain_id check could not run: {raised.type.__name__}: ")
    assert raised.type.__name__ != "NoneType"


def test_every_offline_problem_is_in_the_reason() -> None:
    r = _receipt_of(**_build_kwargs())
    wrong = r.model_copy(update={"leaf_values": (r.algorithm, to_hex(keccak(text="x")), r.salt)})
    problems = check_receipt_offline(wrong)
    assert len(problems) == 3
    w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 3}))
    verdict = verify_receipt(wrong, w3)
    assert verdict.reason == "; ".join(problems)
    assert verdict.checks == [("offline", False, "; ".join(problems))]


# --- the success path, pinned and not ------------------------------------------------------


def test_pinned_success_every_field(chain: Chain) -> None:
    r, w3 = chain.receipt, chain.w3
    anchor = pinned(w3, r.contract)
    verdict = verify_receipt(r, w3, trust=anchor)
    assert verdict.valid is True
    assert verdict.reason is None
    assert verdict.pinned is True
    assert verdict.status == "valid"
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(r.contract)))
    details = _details(r, w3, anchor)
    assert details["chain_id"] == f"chain {r.chain_id}"
    assert details["genesis"] == f"genesis {anchor.genesis_hash}, as pinned"
    assert details["registry"] == f"{r.contract} is the pinned registry (version 2)"
    assert details["contract_code"] == (
        f"{len(code)} bytes of code at {r.contract}, keccak {to_hex(keccak(code))} as pinned"
    )
    assert details["anchor"] == f"root anchored by {MEMBER} over 4 leaves, not revoked"


def test_code_hash_is_the_keccak_of_the_code_or_none_without_code(chain: Chain) -> None:
    w3, registry = chain.w3, chain.receipt.contract
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(registry)))
    assert code and code_hash(w3, registry.lower()) == to_hex(keccak(code))
    assert code_hash(w3, OTHER) is None


def test_unpinned_every_check_passes_and_says_so(chain: Chain) -> None:
    r, w3 = chain.receipt, chain.w3
    verdict = verify_receipt(r, w3)
    assert verdict.valid is False
    assert verdict.pinned is False
    assert verdict.status == "unpinned"
    assert verdict.reason == (
        f"not pinned: every check passed against the node, but no trust anchor pins chain "
        f"{r.chain_id} and registry {r.contract}, and a look-alike contract or a private chain "
        "passes these checks too. Verify against the operator's trust anchor "
        "(docs/receipt.md, 'What to pin')"
    )
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(r.contract)))
    genesis = to_hex(bytes(w3.eth.get_block(0)["hash"]))
    details = _details(r, w3, None)
    assert details["chain_id"] == f"chain {r.chain_id} (not pinned: no trust anchor)"
    assert details["genesis"] == f"genesis {genesis} (not pinned: no trust anchor)"
    assert details["registry"] == f"registry {r.contract} (not pinned: no trust anchor)"
    assert details["contract_code"] == (
        f"{len(code)} bytes of code at {r.contract}, keccak {to_hex(keccak(code))} (not pinned)"
    )


# --- each anchor field on its own ----------------------------------------------------------


def test_each_anchor_field_fails_its_own_check_in_its_own_words(chain: Chain) -> None:
    r, w3 = chain.receipt, chain.w3
    anchor = pinned(w3, r.contract)
    chain_id = r.chain_id
    assert _fails_at(r, w3, "chain_id", _changed(anchor, chain_id=chain_id + 1)) == (
        f"the receipt and the node are on chain {chain_id}, the trust anchor pins chain "
        f"{chain_id + 1}"
    )
    genesis = to_hex(keccak(text="another genesis"))
    assert _fails_at(r, w3, "genesis", _changed(anchor, genesis_hash=genesis)) == (
        f"the node's genesis block is {anchor.genesis_hash}, the trust anchor pins {genesis}: "
        "another chain with the same chain id (a private or reset chain), whose blocks and "
        "times prove nothing"
    )
    assert _fails_at(r, w3, "registry", _changed(anchor, registry=OTHER)) == (
        f"contract {r.contract} is not the pinned registry {OTHER}: any contract can emit "
        "Anchored events, only the pinned one counts"
    )
    elsewhere = {"address": STRANGER, "code_hash": anchor.registry_code_hash, "version": 1}
    with_past = _changed(anchor, registry=OTHER, past_registries=[elsewhere])
    assert _fails_at(r, w3, "registry", with_past) == (
        f"contract {r.contract} is not the pinned registry {OTHER} nor a past registry the "
        "anchor honours: any contract can emit Anchored events, only the pinned one counts"
    )
    code = to_hex(keccak(text="other code"))
    found = anchor.registry_code_hash
    assert _fails_at(r, w3, "contract_code", _changed(anchor, registry_code_hash=code)) == (
        f"the code at {r.contract} hashes to {found}, the trust anchor pins {code}"
    )


def test_a_reverted_transaction_is_refused(chain: Chain) -> None:
    f = chain.failed
    assert _fails_at(f, chain.w3, "transaction") == f"transaction {f.tx_hash} failed (status 0)"


# --- a version-1 registry ------------------------------------------------------------------


def test_a_v1_registry_honoured_pinned_or_dropped(chain: Chain) -> None:
    r, w3 = chain.v1, chain.w3
    current = pinned(w3, chain.receipt.contract)
    past = {"address": r.contract, "code_hash": chain.v1_code_hash, "version": 1}
    honoured = _changed(current, past_registries=[past])
    verdict = verify_receipt(r, w3, trust=honoured)
    assert verdict.valid is True, verdict.reason
    details = _details(r, w3, honoured)
    assert details["registry"] == (
        f"{r.contract} is a past registry the anchor still honours (version 1)"
    )
    assert details["anchor"] == f"root anchored by {MEMBER} over 3 leaves, not revoked"
    assert details["leaf_revocation"] == "leaf not revoked"
    assert details["contract_verify"] == "registry verify(root, leaf, proof) is true"
    # Pinned as the registry itself.
    v1_pinned = pinned(w3, r.contract)
    assert v1_pinned.registry_version == 1
    assert _details(r, w3, v1_pinned)["registry"] == (
        f"{r.contract} is the pinned registry (version 1)"
    )
    # No longer honoured.
    assert _fails_at(r, w3, "registry", current) == (
        f"contract {r.contract} is not the pinned registry {current.registry}: any contract "
        "can emit Anchored events, only the pinned one counts"
    )
    # Honoured under another code hash: its own hash is checked, not the current registry's.
    wrong_code = _changed(
        current, past_registries=[{**past, "code_hash": current.registry_code_hash}]
    )
    assert _fails_at(r, w3, "contract_code", wrong_code) == (
        f"the code at {r.contract} hashes to {chain.v1_code_hash}, the trust anchor pins "
        f"{current.registry_code_hash}"
    )


# --- what only a dishonest registry answers -------------------------------------------------


def test_a_dishonest_registry_is_caught_at_each_answer(chain: Chain) -> None:
    w3, lies = chain.w3, chain.lies
    for name in ("honest", "short version", "long version"):
        assert _details(lies[name], w3, None)["anchor"] == (
            f"root anchored by {MEMBER} over 1 leaves, not revoked"
        ), name

    r = lies["two roots"]
    a, b = to_hex(keccak(text="two roots A")), to_hex(keccak(text="two roots B"))
    assert _fails_at(r, w3, "anchored_event") == (
        f"transaction {r.tx_hash} anchored {a}, {b}, not root {r.root}"
    )
    r = lies["event time"]
    actual = w3.eth.get_block(r.block_number)["timestamp"]
    assert actual != r.block_timestamp == 1_000_000_000
    assert _fails_at(r, w3, "block") == (
        f"block {r.block_number} has timestamp {actual}, not {r.block_timestamp}"
    )
    r = lies["not stored"]
    assert _fails_at(r, w3, "anchor") == (
        f"root {r.root} is not anchored by {r.submitter} on {r.contract}"
    )
    r = lies["stored elsewhere"]
    assert _fails_at(r, w3, "anchor") == (
        f"the registry has root {r.root} anchored at {r.block_timestamp} in block "
        f"{r.block_number + 1}, the receipt says {r.block_timestamp} in {r.block_number}"
    )
    r = lies["stored by another"]
    assert _fails_at(r, w3, "anchor") == (
        f"the registry says {STRANGER} anchored {r.root}, not {r.submitter}"
    )
    r = lies["verify says no"]
    assert _fails_at(r, w3, "contract_verify") == (
        f"the registry's verify() rejects leaf {r.leaf_hash} under {r.root}"
    )
    assert r.leaf_hash == r.root == to_hex(evidence_leaf_hash("sha256", _b(r.digest), _b(r.salt)))


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


# --- what only a lying node answers ---------------------------------------------------------


def _lying_about(w3: Web3, number: int, lie: Callable[[Any], Any]) -> Web3:
    """``w3``'s node, except that block ``number`` is ``lie(the real one)``: a node that
    answers the transaction receipt honestly and the block lookup after it falsely (or a
    reorganisation between the two calls)."""

    class Lie(Web3Middleware):
        def wrap_make_request(self, make_request: Any) -> Any:
            def middleware(method: RPCEndpoint, params: Any) -> RPCResponse:
                response = make_request(method, params)
                if method == "eth_getBlockByNumber" and int(params[0], 16) == number:
                    return {**response, "result": lie(response["result"])}
                return response

            return middleware

    liar = Web3(w3.provider)
    liar.middleware_onion.add(Lie)
    return liar


def test_a_node_lying_about_the_block_is_caught(chain: Chain) -> None:
    r, w3 = chain.receipt, chain.w3
    anchor = pinned(w3, r.contract)
    n = r.block_number
    assert verify_receipt(r, _lying_about(w3, n, lambda block: block), trust=anchor).valid
    assert _fails_at(r, _lying_about(w3, n, lambda _: None), "block", anchor) == (
        f"this chain has no block {n} yet"
    )
    other = to_hex(keccak(text="a block of another branch"))
    moved = _lying_about(w3, n, lambda block: {**block, "hash": other})
    assert _fails_at(r, moved, "block", anchor) == (
        f"block {n} is {other} on this chain, not {r.block_hash} (a reorganised or different chain)"
    )
    pending = _lying_about(w3, n, lambda block: {**block, "hash": None})
    assert _fails_at(r, pending, "block", anchor) == (
        f"block {n} is nothing on this chain, not {r.block_hash} (a reorganised or different chain)"
    )
