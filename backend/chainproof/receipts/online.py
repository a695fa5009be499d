"""A receipt verified against any JSON-RPC node and a pinned trust anchor
(docs/architecture.md, promises 2 and 7): the chain, the registry and its code, the
transaction, its ``Anchored`` event, the block, the registry's anchor, revocations and
``verify``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from eth_abi import decode as abi_decode
from eth_typing import HexStr
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound

from chainproof.chain.abi import (
    ANCHORED_TOPIC,
    VERIFIER_ABI,
    VERIFIER_ABI_V1,
    VERSION_SELECTOR,
)
from chainproof.digests import keccak256, to_hex
from chainproof.vocabulary import SaltSource as SaltSource  # random_salt is one

if TYPE_CHECKING:  # trust.py builds on this module's types; only the checks need the anchor
    from chainproof.trust import TrustAnchor

from chainproof.receipts.model import Receipt, _b
from chainproof.receipts.offline import check_receipt_offline


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
        channel = self.trust.channel_of(contract)
        if channel is not None:
            return f"{r.contract} is the pinned registry of channel {channel!r} (version {version})"
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
