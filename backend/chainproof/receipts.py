"""The self-contained evidence receipt, and its verification offline and against any chain.

A receipt is to a ChainProof document what an OpenTimestamps ``.ots`` file is to a
timestamped one: it carries everything needed to prove "this digest was anchored on chain
``chain_id`` by ``submitter`` in block ``block_number`` at ``block_timestamp``" with nothing
but a JSON-RPC endpoint, no ChainProof server or database (docs/architecture.md, promise 2).

A receipt names its own chain and contract, so :func:`verify_receipt` checks it against a
trust anchor pinned out of band (:mod:`chainproof.trust`: chain id, genesis hash, registry
address and code hash); without one its verdict is never valid (docs/architecture.md, promise 7).

The leaf is OpenZeppelin ``StandardMerkleTree``'s over ``(string algorithm, bytes32 digest,
bytes32 salt)``. The salt (32 random bytes per document) keeps the on-chain data from
confirming a guess: without it anyone could hash a candidate document and look for it.

The format is documented in ``docs/receipt.md``; ``docs/receipt.schema.json`` is generated
from :class:`Receipt` (``write_receipt_schema``) and a test keeps the two in step.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final

from eth_abi import decode as abi_decode
from eth_typing import HexStr
from eth_utils import is_checksum_address, to_checksum_address
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound

from chainproof.chain.abi import (
    ANCHORED_TOPIC,
    VERIFIER_ABI,
    VERIFIER_ABI_V1,
    VERSION_SELECTOR,
)
from chainproof.crosschain.section import CheckpointSection
from chainproof.digests import DIGEST_SIZE, Algorithm, check_algorithm, keccak256, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import EVIDENCE_LEAF_TYPES as LEAF_TYPES
from chainproof.merkle import leaf_hash, process_proof
from chainproof.vocabulary import SaltSource as SaltSource  # random_salt is one

if TYPE_CHECKING:  # trust.py builds on this module's types; only the checks need the anchor
    from chainproof.trust import TrustAnchor

RECEIPT_VERSION: Final = 1
SALT_SIZE: Final = 32
TSA_TOKEN_MAX_B64: Final = 16384  # a token with its certificates is 2-4 KiB


def random_salt() -> bytes:
    """32 bytes from the OS CSPRNG: the default :data:`SaltSource`."""
    return secrets.token_bytes(SALT_SIZE)


def evidence_leaf(algorithm: Algorithm, digest: bytes, salt: bytes) -> tuple[list[str], list[Any]]:
    """``(leaf_types, leaf_values)`` of a document's leaf, values in JSON form.

    ``leaf_values`` is ``[algorithm, "0x<digest>", "0x<salt>"]``: what a receipt stores and
    what ``StandardMerkleTree.of``/``verify`` (here or in JS) accept as they are.
    """
    check_algorithm(algorithm)
    for what, value in (("digest", digest), ("salt", salt)):
        if len(value) != DIGEST_SIZE:
            raise InvalidInputError(f"{what} must be {DIGEST_SIZE} bytes, got {len(value)}")
    return list(LEAF_TYPES), [algorithm, to_hex(digest), to_hex(salt)]


def evidence_leaf_hash(algorithm: Algorithm, digest: bytes, salt: bytes) -> bytes:
    """The Merkle leaf hash of a document (what the registry's ``verify`` takes as ``leaf``)."""
    return leaf_hash(*evidence_leaf(algorithm, digest, salt))


# --- the model ---------------------------------------------------------------------------

_HEX_BODY = re.compile(r"[0-9a-fA-F]*")


def _hex_of(size: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.startswith("0x"):
            raise ValueError(f"must start with 0x, got {value[:12]!r}")
        body = value[2:]
        if not _HEX_BODY.fullmatch(body):
            raise ValueError(f"must be hexadecimal after 0x, got {value!r}")
        if len(body) != 2 * size:
            raise ValueError(
                f"must be {2 * size} hex digits ({size} bytes) after 0x, got {len(body)}"
            )
        return "0x" + body.lower()

    return check


def _address(value: str) -> str:
    _hex_of(20)(value)
    body = value[2:]
    # Mixed case claims an EIP-55 checksum: a wrong one is a typo, not an address.
    if body not in (body.lower(), body.upper()) and not is_checksum_address(value):
        raise ValueError(f"bad EIP-55 checksum in address {value}")
    return to_checksum_address(value)


Hex32 = Annotated[
    str,
    AfterValidator(_hex_of(32)),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}),
]
Address = Annotated[
    str,
    AfterValidator(_address),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}),
]
# Strict: "12" or 12.0 or true for a block number is a producer bug, not a number.
_Count = Annotated[int, Field(strict=True, ge=0)]


class Receipt(BaseModel):
    """A ChainProof evidence receipt (version 1). Hex is ``0x`` + lowercase, addresses EIP-55."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="ChainProof receipt",
        json_schema_extra={
            "description": (
                "Self-contained proof that a document digest was anchored on an EVM chain "
                "through the ChainProof EvidenceRegistry. See docs/receipt.md."
            )
        },
    )

    version: int = Field(
        description="Receipt format version.",
        json_schema_extra={"const": RECEIPT_VERSION},
    )
    algorithm: Algorithm = Field(description="Digest algorithm of the document.")
    digest: Hex32 = Field(description="Digest of the document's bytes.")
    salt: Hex32 = Field(description="32 random bytes hashed into the leaf with the digest.")
    leaf_types: list[str] = Field(
        description="ABI types of the leaf values (StandardMerkleTree leafEncoding).",
        json_schema_extra={"const": list(LEAF_TYPES)},
    )
    leaf_values: tuple[Algorithm, Hex32, Hex32] = Field(
        description="The leaf: [algorithm, digest, salt]."
    )
    leaf_hash: Hex32 = Field(
        description="keccak256(keccak256(abi.encode(leaf_values))), as in StandardMerkleTree."
    )
    proof: list[Hex32] = Field(description="Sibling hashes from the leaf up to the root.")
    root: Hex32 = Field(description="Merkle root anchored on chain.")
    chain_id: Annotated[int, Field(strict=True, ge=1)] = Field(description="EIP-155 chain id.")
    contract: Address = Field(description="EvidenceRegistry contract address.")
    tx_hash: Hex32 = Field(description="Hash of the anchoring transaction.")
    block_number: _Count = Field(description="Block that mined the anchoring transaction.")
    block_hash: Hex32 = Field(description="Hash of that block.")
    block_timestamp: _Count = Field(description="That block's timestamp (Unix seconds).")
    submitter: Address = Field(description="Member that anchored the root (event submitter).")
    issued_at: AwareDatetime | None = Field(
        None, description="When ChainProof issued this receipt (informational)."
    )
    # str: ChainProof's public id (a UUIDv7); int: receipts issued before it (the SQL key).
    evidence_id: int | Annotated[str, Field(max_length=128)] | None = Field(
        None, description="ChainProof's id for the evidence (informational)."
    )
    label: str | None = Field(
        None, max_length=1024, description="Free label, e.g. a file name; not proven."
    )
    tsa_token: Annotated[str, Field(max_length=TSA_TOKEN_MAX_B64)] | None = Field(
        None,
        description=(
            "An RFC 3161 TimeStampToken (base64 of its DER) from the operator's TSA: over "
            "the digest (SHA-256, SM3), over the SHA-256 of leaf_hash (keccak-256), or, "
            "queued from a SHA-384/512 query, a TSTInfo whose SHA-256 is the digest. The "
            "TSA's time beside the chain's (docs/receipt.md)."
        ),
    )

    checkpoint: CheckpointSection | None = Field(
        None,
        description=(
            "Present once the receipt's block (on a sub-chain) is checkpointed on the main "
            "chain: proves block_hash through the main chain's ChainRegistry, with the "
            "header and receipt proof of the Anchored log (docs/crosschain.md)."
        ),
    )

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != RECEIPT_VERSION:
            raise ValueError(
                f"unsupported receipt version {value}: this ChainProof reads version "
                f"{RECEIPT_VERSION}"
            )
        return value

    @field_validator("leaf_types")
    @classmethod
    def _evidence_leaf_types(cls, value: list[str]) -> list[str]:
        if tuple(value) != LEAF_TYPES:
            raise ValueError(f"must be {list(LEAF_TYPES)} in receipt version {RECEIPT_VERSION}")
        return value

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        """Validates ``data``; InvalidInputError says what is wrong where."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Receipt:
        """Parses receipt JSON; InvalidInputError says what is wrong where."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise _invalid(exc) from None

    def to_json(self, *, indent: int | None = 2) -> str:
        """The receipt as JSON (absent optional fields left out)."""
        return self.model_dump_json(indent=indent, exclude_none=True)


def _invalid(exc: ValidationError) -> InvalidInputError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"]) or "receipt"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    shown = "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")
    return InvalidInputError(f"invalid receipt: {shown}", errors=errors)


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


RECEIPT_JSON_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **Receipt.model_json_schema(),
}


def receipt_schema_text() -> str:
    """``docs/receipt.schema.json`` as it must read."""
    return json.dumps(RECEIPT_JSON_SCHEMA, indent=2, ensure_ascii=False) + "\n"


def write_receipt_schema(path: str | os.PathLike[str]) -> None:
    """Writes the receipt JSON Schema to ``path`` (``docs/receipt.schema.json``)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(receipt_schema_text())


# --- offline checks ----------------------------------------------------------------------


def check_receipt_offline(receipt: Receipt) -> list[str]:
    """Problems found without a chain (none: the leaf is in the tree of ``root``).

    Checks that the leaf values are this receipt's algorithm, digest and salt, that
    ``leaf_hash`` is their StandardMerkleTree hash, and that ``proof`` leads to ``root``.
    """
    problems = []
    expected = (receipt.algorithm, receipt.digest, receipt.salt)
    for i, (name, want) in enumerate(zip(("algorithm", "digest", "salt"), expected, strict=True)):
        if receipt.leaf_values[i] != want:
            problems.append(
                f"leaf_values[{i}] is {receipt.leaf_values[i]}, not the receipt's {name} {want}"
            )
    computed = leaf_hash(receipt.leaf_types, list(receipt.leaf_values))
    if to_hex(computed) != receipt.leaf_hash:
        problems.append(
            f"leaf_hash is {receipt.leaf_hash} but the leaf values hash to {to_hex(computed)}"
        )
    reached = process_proof(computed, [_b(p) for p in receipt.proof])
    if to_hex(reached) != receipt.root:
        problems.append(f"the proof leads to {to_hex(reached)}, not to root {receipt.root}")
    return problems


# --- online verification -----------------------------------------------------------------


@dataclass
class ReceiptVerdict:
    """The outcome of :func:`verify_receipt`: every check run, in order, as (name, ok, detail).

    Checks stop at the first failure, whose detail is ``reason``. ``pinned`` says the checks
    ran against a trust anchor; without one ``valid`` is never true (see :attr:`status`).
    """

    valid: bool
    reason: str | None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    pinned: bool = False

    @property
    def status(self) -> str:
        """``valid``, ``revoked``, ``invalid``, or ``unpinned`` (every check passed, but
        against no trust anchor: a look-alike contract or a private chain would too)."""
        if self.valid:
            return "valid"
        if self.reason and self.reason.startswith("revoked"):
            return "revoked"
        if not self.pinned and self.checks and all(ok for _, ok, _ in self.checks):
            return "unpinned"
        return "invalid"


class _Failed(Exception):
    """A check found the receipt wrong (as opposed to the RPC failing)."""


def _same_address(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.lower() == b.lower()


def _hb(value: Any) -> str:
    return to_hex(bytes(value)) if value is not None else "nothing"


@dataclass
class _Online:
    """One verification: the receipt, the node, and what earlier checks fetched."""

    receipt: Receipt
    w3: Web3
    trust: TrustAnchor | None = None
    tx: Any = None
    registry_version: int | None = None  # read once, by _version()

    def offline(self) -> str:
        problems = check_receipt_offline(self.receipt)
        if problems:
            raise _Failed("; ".join(problems))
        return "leaf values, leaf hash and proof agree with the root"

    def chain_id(self) -> str:
        actual = self.w3.eth.chain_id
        if actual != self.receipt.chain_id:
            raise _Failed(
                f"the node is on chain {actual}, the receipt is for chain {self.receipt.chain_id}"
            )
        if self.trust is not None and actual != self.trust.chain_id:
            raise _Failed(
                f"the receipt and the node are on chain {actual}, the trust anchor pins chain "
                f"{self.trust.chain_id}"
            )
        return f"chain {actual}" + ("" if self.trust else " (not pinned: no trust anchor)")

    def genesis(self) -> str:
        found = _hb(self.w3.eth.get_block(0).get("hash"))
        if self.trust is None:
            return f"genesis {found} (not pinned: no trust anchor)"
        if found != self.trust.genesis_hash:
            raise _Failed(
                f"the node's genesis block is {found}, the trust anchor pins "
                f"{self.trust.genesis_hash}: another chain with the same chain id (a private "
                "or reset chain), whose blocks and times prove nothing"
            )
        return f"genesis {found}, as pinned"

    def registry(self) -> str:
        r = self.receipt
        if self.trust is None:
            return f"registry {r.contract} (not pinned: no trust anchor)"
        honoured = self.trust.honoured()  # EIP-55 keys; an address is the same in any case
        contract = to_checksum_address(r.contract)
        if contract not in honoured:
            raise _Failed(
                f"contract {r.contract} is not the pinned registry {self.trust.registry}"
                + (" nor a past registry the anchor honours" if len(honoured) > 1 else "")
                + ": any contract can emit Anchored events, only the pinned one counts"
            )
        version = honoured[contract][1]
        if contract == self.trust.registry:
            return f"{r.contract} is the pinned registry (version {version})"
        return f"{r.contract} is a past registry the anchor still honours (version {version})"

    def contract_code(self) -> str:
        r = self.receipt
        code = bytes(self.w3.eth.get_code(to_checksum_address(r.contract)))
        if not code:
            raise _Failed(f"no contract code at {r.contract} on this chain")
        found = to_hex(keccak256(code))
        if self.trust is None:
            return f"{len(code)} bytes of code at {r.contract}, keccak {found} (not pinned)"
        pinned = self.trust.honoured()[to_checksum_address(r.contract)][0]
        if found != pinned:
            raise _Failed(
                f"the code at {r.contract} hashes to {found}, the trust anchor pins {pinned}"
            )
        return f"{len(code)} bytes of code at {r.contract}, keccak {found} as pinned"

    def transaction(self) -> str:
        r = self.receipt
        try:
            tx = self.w3.eth.get_transaction_receipt(HexStr(r.tx_hash))
        except TransactionNotFound:
            raise _Failed(
                f"transaction {r.tx_hash} is not on this chain (never mined here, or "
                "reorganised out)"
            ) from None
        self.tx = tx
        if tx["blockNumber"] != r.block_number or _hb(tx["blockHash"]) != r.block_hash:
            raise _Failed(
                f"transaction {r.tx_hash} is in block {tx['blockNumber']} "
                f"({_hb(tx['blockHash'])}), not in block {r.block_number} ({r.block_hash})"
            )
        if tx["status"] != 1:
            raise _Failed(f"transaction {r.tx_hash} failed (status {tx['status']})")
        if not _same_address(tx.get("to"), r.contract):
            raise _Failed(f"transaction {r.tx_hash} was sent to {tx.get('to')}, not {r.contract}")
        return f"transaction {r.tx_hash} succeeded in block {r.block_number}"

    def anchored_event(self) -> str:
        r = self.receipt
        anchored = [
            log
            for log in self.tx["logs"]
            if _same_address(log["address"], r.contract)
            and log["topics"]
            and bytes(log["topics"][0]) == ANCHORED_TOPIC
        ]
        if not anchored:
            raise _Failed(f"transaction {r.tx_hash} emitted no Anchored event from {r.contract}")
        mine = [log for log in anchored if _hb(log["topics"][1]) == r.root]
        if not mine:
            roots = ", ".join(_hb(log["topics"][1]) for log in anchored)
            raise _Failed(f"transaction {r.tx_hash} anchored {roots}, not root {r.root}")
        log = mine[0]
        submitter = to_checksum_address(bytes(log["topics"][2])[12:])
        if submitter != r.submitter:
            raise _Failed(f"root {r.root} was anchored by {submitter}, not by {r.submitter}")
        leaf_count, _metadata, timestamp = abi_decode(
            ["uint32", "bytes32", "uint64"], bytes(log["data"])
        )
        if timestamp != r.block_timestamp:
            raise _Failed(
                f"the Anchored event says timestamp {timestamp}, the receipt {r.block_timestamp}"
            )
        return f"Anchored(root, {submitter}, leafCount={leaf_count}, timestamp={timestamp})"

    def block(self) -> str:
        r = self.receipt
        try:
            block = self.w3.eth.get_block(r.block_number)
        except BlockNotFound:
            raise _Failed(f"this chain has no block {r.block_number} yet") from None
        if _hb(block.get("hash")) != r.block_hash:
            raise _Failed(
                f"block {r.block_number} is {_hb(block.get('hash'))} on this chain, not "
                f"{r.block_hash} (a reorganised or different chain)"
            )
        if block["timestamp"] != r.block_timestamp:
            raise _Failed(
                f"block {r.block_number} has timestamp {block['timestamp']}, "
                f"not {r.block_timestamp}"
            )
        depth = self.w3.eth.block_number - r.block_number + 1
        return f"block {r.block_number} at {r.block_timestamp}, {depth} confirmation(s)"

    def _version(self) -> int:
        """The registry's ``version()``; 1 when the call reverts or answers nothing (v1
        has no such getter)."""
        if self.registry_version is None:
            try:
                raw = bytes(
                    self.w3.eth.call(
                        {
                            "to": to_checksum_address(self.receipt.contract),
                            "data": VERSION_SELECTOR,
                        }
                    )
                )
            except Exception:  # a revert, whatever the node calls it
                raw = b""
            self.registry_version = int.from_bytes(raw[:32], "big") if len(raw) >= 32 else 1
        return self.registry_version

    def _registry(self) -> Any:
        abi = VERIFIER_ABI if self._version() >= 2 else VERIFIER_ABI_V1
        return self.w3.eth.contract(address=to_checksum_address(self.receipt.contract), abi=abi)

    def _key(self) -> tuple[Any, ...]:
        """The anchor's key: (submitter, root) in v2, the root alone in v1."""
        r = self.receipt
        if self._version() >= 2:
            return (to_checksum_address(r.submitter), _b(r.root))
        return (_b(r.root),)

    def anchor(self) -> str:
        r = self.receipt
        submitter, timestamp, leaf_count, block_number, revoked = (
            self._registry().functions.getAnchor(*self._key()).call()
        )
        if timestamp == 0:
            raise _Failed(f"root {r.root} is not anchored by {r.submitter} on {r.contract}")
        if (timestamp, block_number) != (r.block_timestamp, r.block_number):
            raise _Failed(
                f"the registry has root {r.root} anchored at {timestamp} in block "
                f"{block_number}, the receipt says {r.block_timestamp} in {r.block_number}"
            )
        if not _same_address(submitter, r.submitter):
            raise _Failed(f"the registry says {submitter} anchored {r.root}, not {r.submitter}")
        if revoked:
            raise _Failed(f"revoked: root {r.root} was revoked on {r.contract}")
        return f"root anchored by {submitter} over {leaf_count} leaves, not revoked"

    def leaf_revocation(self) -> str:
        r = self.receipt
        if self._registry().functions.isLeafRevoked(*self._key(), _b(r.leaf_hash)).call():
            raise _Failed(f"revoked: leaf {r.leaf_hash} of root {r.root} was revoked")
        return "leaf not revoked"

    def contract_verify(self) -> str:
        r = self.receipt
        proof = [_b(p) for p in r.proof]
        if not self._registry().functions.verify(*self._key(), _b(r.leaf_hash), proof).call():
            raise _Failed(f"the registry's verify() rejects leaf {r.leaf_hash} under {r.root}")
        return "registry verify(root, leaf, proof) is true"


ONLINE_CHECKS: Final = (
    "offline",
    "chain_id",
    "genesis",
    "registry",
    "contract_code",
    "transaction",
    "anchored_event",
    "block",
    "anchor",
    "leaf_revocation",
    "contract_verify",
)


def verify_receipt(
    receipt: Receipt, w3: Web3, *, trust: TrustAnchor | None = None
) -> ReceiptVerdict:
    """Verifies ``receipt`` with nothing but the JSON-RPC node behind ``w3`` and the pinned
    ``trust`` anchor.

    Runs, in order and stopping at the first failure: the offline checks; the node's chain
    id (the receipt's and the anchor's); its genesis hash (the anchor's); the receipt's
    contract (the anchor's registry or a past one it honours) and the keccak-256 of the code
    there (the one pinned for it); the transaction mined in ``block_number`` /
    ``block_hash`` with status 1 to the contract; its ``Anchored`` event for ``root`` and
    ``submitter``; the block's hash and timestamp; the registry's ``getAnchor`` (anchored at
    that time by that submitter, root not revoked), ``isLeafRevoked`` and ``verify``.
    Revocation gives a reason starting with "revoked". Never raises for RPC trouble: a node
    error is a failed check carrying its message.

    Without ``trust`` every check runs the same, but the verdict is never valid: whoever
    controls the node or the contract named in the receipt passes them all. Its status is
    ``unpinned`` and its reason starts with "not pinned".
    """
    run = _Online(receipt, w3, trust)
    pinned = trust is not None
    checks: list[tuple[str, bool, str]] = []
    for name in ONLINE_CHECKS:
        try:
            detail, ok = getattr(run, name)(), True
        except _Failed as failed:
            detail, ok = str(failed), False
        except Exception as exc:  # every node/web3 error is a failed check, never a crash
            detail, ok = f"{name} check could not run: {type(exc).__name__}: {exc}", False
        checks.append((name, ok, detail))
        if not ok:
            return ReceiptVerdict(valid=False, reason=detail, checks=checks, pinned=pinned)
    if not pinned:
        return ReceiptVerdict(
            valid=False,
            reason=(
                f"not pinned: every check passed against the node, but no trust anchor pins "
                f"chain {receipt.chain_id} and registry {receipt.contract}, and a look-alike "
                "contract or a private chain passes these checks too. Verify against the "
                "operator's trust anchor (docs/receipt.md, 'What to pin')"
            ),
            checks=checks,
        )
    return ReceiptVerdict(valid=True, reason=None, checks=checks, pinned=True)
