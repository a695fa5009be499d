"""Typed wrapper over the EvidenceRegistry contract, version 2 or version 1.

Raw web3 dicts and exceptions stop here: callers get dataclasses and
:class:`~chainproof.errors.ContractRevertError` with the decoded custom error name and
arguments (``RootAlreadyAnchored(submitter, root, anchoredAt)`` and the like).

One API for both versions: an anchor is named by (submitter, root). Version 2 keys its
anchors so; version 1 held one anchor per root, and the client reads it as
"``submitter``'s anchor" only when it was ``submitter`` who anchored it. Which version a
client speaks follows from the ABI it is given (v2 has ``version()``); a deployed contract's
version is read with :func:`registry_version`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction

from chainproof.chain.abi import VERSION_SELECTOR
from chainproof.chain.client import ContractClient
from chainproof.chain.sender import MinedTx, TxSender
from chainproof.eip712 import Eip712Domain, typed_data
from chainproof.errors import TransactionError

T = TypeVar("T")
SUBMITTER_ROLE = keccak(text="SUBMITTER_ROLE")
MEMBER_ADMIN_ROLE = keccak(text="MEMBER_ADMIN_ROLE")  # v2: admits members (the operator)
DEFAULT_ADMIN_ROLE = b"\x00" * 32
# The custom errors that say "this (submitter, root) or this root is taken": v1's first
# come, first served, or an anchor of ours that landed through another transaction.
ALREADY_ANCHORED = frozenset({"RootAlreadyAnchored"})


def registry_version(w3: Web3, address: str) -> int:
    """The version a deployed registry reports: ``version()``, or 1 when it has none (v1
    has no such getter: the call reverts or returns nothing)."""
    try:
        raw = w3.eth.call({"to": Web3.to_checksum_address(address), "data": VERSION_SELECTOR})
    except Exception:  # a revert, whatever the node calls it
        return 1
    data = bytes(raw)
    return int.from_bytes(data[:32], "big") if len(data) >= 32 else 1


@dataclass(frozen=True)
class AnchorInfo:
    root: str
    submitter: str
    timestamp: int
    leaf_count: int
    block_number: int
    revoked: bool


@dataclass(frozen=True)
class AnchoredEvent:
    root: str
    submitter: str
    leaf_count: int
    metadata_hash: str
    timestamp: int
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int


@dataclass(frozen=True)
class RootState:
    """What the registry holds for one root, read at ``fetched_at`` (monotonic seconds)."""

    anchored: bool
    revoked: bool
    revoked_leaves: frozenset[bytes]
    fetched_at: float


Hex32 = bytes | str  # 32 bytes, raw or as 0x hex (``_b32`` checks the length)


def _b32(value: Hex32) -> bytes:
    b = HexBytes(value)
    if len(b) != 32:
        raise ValueError(f"expected 32 bytes, got {len(b)}")
    return bytes(b)


def _hex(value: bytes) -> str:
    return HexBytes(value).to_0x_hex()


class EvidenceRegistryClient(ContractClient):
    """Calls and transactions of one deployed EvidenceRegistry."""

    contract_name = "EvidenceRegistry"

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        super().__init__(w3, address, abi)
        self.version = 2 if any(e.get("name") == "version" for e in abi) else 1
        self._domain: Eip712Domain | None = None

    # ---- views -------------------------------------------------------------------------

    def get_anchor(self, submitter: str, root: Hex32) -> AnchorInfo | None:
        """``submitter``'s anchor of ``root``, or None when it never anchored it."""
        who = Web3.to_checksum_address(submitter)
        if self.version >= 2:
            fn = self.contract.functions.getAnchor(who, _b32(root))
        else:
            fn = self.contract.functions.getAnchor(_b32(root))
        found, timestamp, leaf_count, block_number, revoked = self.call(fn.call)
        if int(timestamp) == 0 or Web3.to_checksum_address(found) != who:
            return None  # v1: the root is someone else's anchor, not submitter's
        return AnchorInfo(
            root=_hex(_b32(root)),
            submitter=who,
            timestamp=int(timestamp),
            leaf_count=int(leaf_count),
            block_number=int(block_number),
            revoked=bool(revoked),
        )

    def _proof_call(
        self,
        name: str,
        submitter: str,
        root: Hex32,
        leaf: Hex32,
        proof: Sequence[Hex32],
    ) -> bool:
        args = (_b32(root), _b32(leaf), [_b32(p) for p in proof])
        if self.version >= 2:
            fn = getattr(self.contract.functions, name)(Web3.to_checksum_address(submitter), *args)
            return bool(self.call(fn.call))
        # v1 holds one anchor per root: it must be submitter's.
        if self.get_anchor(submitter, root) is None:
            return False
        return bool(self.call(getattr(self.contract.functions, name)(*args).call))

    def verify(self, submitter: str, root: Hex32, leaf: Hex32, proof: Sequence[Hex32]) -> bool:
        """The contract's ``verify`` for ``submitter``'s anchor of ``root``."""
        return self._proof_call("verify", submitter, root, leaf, proof)

    def _leaf_revoked_logs(self, submitter: str, root: bytes, from_block: int) -> list[Any]:
        filters: dict[str, Any] = {"root": root}
        if self.version >= 2:  # only the submitter revokes in its own anchor
            filters["revoker"] = Web3.to_checksum_address(submitter)
        return list(
            self.contract.events.LeafRevoked().get_logs(
                argument_filters=filters, from_block=from_block, to_block="latest"
            )
        )

    def root_state(self, submitter: str, root: Hex32) -> RootState:
        """The registry's state for ``submitter``'s anchor of ``root``, read now: anchored,
        revoked, its revoked leaves (``getAnchor`` and the anchor's ``LeafRevoked`` events).
        ``evidence.roots.RootStates`` keeps these fresh enough for the verify hot path."""
        key = (Web3.to_checksum_address(submitter), _b32(root))
        anchor = self.get_anchor(*key)
        leaves: frozenset[bytes] = frozenset()
        if anchor is not None:
            logs = self._leaf_revoked_logs(key[0], key[1], anchor.block_number)
            leaves = frozenset(bytes(HexBytes(log["args"]["leaf"])) for log in logs)
        return RootState(
            anchored=anchor is not None,
            revoked=bool(anchor and anchor.revoked),
            revoked_leaves=leaves,
            fetched_at=time.monotonic(),
        )

    def is_included(self, submitter: str, root: Hex32, leaf: Hex32, proof: Sequence[Hex32]) -> bool:
        return self._proof_call("isIncluded", submitter, root, leaf, proof)

    def is_leaf_revoked(self, submitter: str, root: Hex32, leaf: Hex32) -> bool:
        if self.version >= 2:
            fn = self.contract.functions.isLeafRevoked(
                Web3.to_checksum_address(submitter), _b32(root), _b32(leaf)
            )
        else:
            fn = self.contract.functions.isLeafRevoked(_b32(root), _b32(leaf))
        return bool(self.call(fn.call))

    def is_member(self, account: str) -> bool:
        fn = self.contract.functions.isMember(Web3.to_checksum_address(account))
        return bool(self.call(fn.call))

    def is_admin(self, account: str) -> bool:
        fn = self.contract.functions.hasRole(DEFAULT_ADMIN_ROLE, Web3.to_checksum_address(account))
        return bool(self.call(fn.call))

    def nonce_of(self, account: str) -> int:
        fn = self.contract.functions.nonces(Web3.to_checksum_address(account))
        return int(self.call(fn.call))

    def default_admin(self) -> str:
        """v2: the one holder of ``DEFAULT_ADMIN_ROLE`` (meant to be an offline key)."""
        return Web3.to_checksum_address(self.call(self.contract.functions.defaultAdmin().call))

    # ---- transactions ------------------------------------------------------------------

    def anchor_call(self, root: Hex32, leaf_count: int, metadata_hash: Hex32) -> ContractFunction:
        return self.contract.functions.anchor(_b32(root), leaf_count, _b32(metadata_hash))

    def anchor(
        self, sender: TxSender, root: Hex32, leaf_count: int, metadata_hash: Hex32
    ) -> MinedTx:
        return self.transact(sender, self.anchor_call(root, leaf_count, metadata_hash))

    def eip712_domain(self) -> Eip712Domain:
        """The registry's EIP-712 domain as the contract reports it (ERC-5267
        ``eip712Domain()``, read once per client): name and version are the contract's
        constructor's, never a copy of them here."""
        if self._domain is None:
            fields, name, version, chain_id, contract, _, _ = self.call(
                self.contract.functions.eip712Domain().call
            )
            if bytes(fields) != b"\x0f":  # name, version, chainId, verifyingContract; no salt
                raise TransactionError(f"unexpected EIP-712 domain fields {bytes(fields).hex()}")
            self._domain = Eip712Domain(
                name=str(name),
                version=str(version),
                chainId=int(chain_id),
                verifyingContract=Web3.to_checksum_address(contract),
            )
        return self._domain.copy()

    def sign_anchor(
        self,
        signer: LocalAccount,
        *,
        root: Hex32,
        leaf_count: int,
        metadata_hash: Hex32,
        nonce: int,
        deadline: int,
    ) -> bytes:
        """The member's EIP-712 signature over an anchor: it proves the org, the chain the time."""
        return self._sign_typed(
            signer,
            "Anchor",
            [
                ("root", "bytes32", _b32(root)),
                ("leafCount", "uint32", leaf_count),
                ("metadataHash", "bytes32", _b32(metadata_hash)),
                ("nonce", "uint256", nonce),
                ("deadline", "uint256", deadline),
            ],
        )

    def _sign_typed(
        self, signer: LocalAccount, primary: str, fields: Sequence[tuple[str, str, Any]]
    ) -> bytes:
        """``signer``'s EIP-712 signature over ``primary`` in this registry's domain; each
        field is (name, Solidity type, value), in the struct's order."""
        message = typed_data(primary, fields, self.eip712_domain())
        return bytes(signer.sign_message(encode_typed_data(full_message=message)).signature)

    def anchor_with_signature_call(
        self,
        *,
        root: Hex32,
        leaf_count: int,
        metadata_hash: Hex32,
        signer: str,
        deadline: int,
        signature: bytes | str,
    ) -> ContractFunction:
        return self.contract.functions.anchorWithSignature(
            _b32(root),
            leaf_count,
            _b32(metadata_hash),
            Web3.to_checksum_address(signer),
            deadline,
            bytes(HexBytes(signature)),
        )

    def anchor_with_signature(
        self,
        sender: TxSender,
        *,
        root: Hex32,
        leaf_count: int,
        metadata_hash: Hex32,
        signer: str,
        deadline: int,
        signature: bytes | str,
    ) -> MinedTx:
        fn = self.anchor_with_signature_call(
            root=root,
            leaf_count=leaf_count,
            metadata_hash=metadata_hash,
            signer=signer,
            deadline=deadline,
            signature=signature,
        )
        return self.transact(sender, fn)

    def revoke_root(self, sender: TxSender, root: Hex32, reason_hash: Hex32) -> MinedTx:
        """Revokes ``root``: in v2 the sender's own anchor of it (no one else's can be)."""
        return self.transact(
            sender, self.contract.functions.revokeRoot(_b32(root), _b32(reason_hash))
        )

    def revoke_leaf(
        self,
        sender: TxSender,
        root: Hex32,
        leaf: Hex32,
        proof: Sequence[Hex32],
        reason_hash: Hex32,
    ) -> MinedTx:
        """Revokes ``leaf`` of ``root``: in v2 of the sender's own anchor of it."""
        return self.transact(sender, self.revoke_leaf_call(root, leaf, proof, reason_hash))

    def revoke_leaf_signed(
        self,
        sender: TxSender,
        signer: LocalAccount,
        *,
        root: Hex32,
        leaf: Hex32,
        proof: Sequence[Hex32],
        reason_hash: Hex32,
    ) -> MinedTx:
        """v2: ``signer`` revokes ``leaf`` of its anchor of ``root`` by an EIP-712
        signature, relayed (and paid for) by ``sender``: a member's custodial key needs no
        ether, and the operator's key needs no power over anyone's anchors."""
        fn = self.revoke_leaf_signed_call(
            signer, root=root, leaf=leaf, proof=proof, reason_hash=reason_hash
        )
        return self.transact(sender, fn)

    def revoke_leaf_call(
        self,
        root: Hex32,
        leaf: Hex32,
        proof: Sequence[Hex32],
        reason_hash: Hex32,
    ) -> ContractFunction:
        return self.contract.functions.revokeLeaf(
            _b32(root), _b32(leaf), [_b32(p) for p in proof], _b32(reason_hash)
        )

    def revoke_leaf_signed_call(
        self,
        signer: LocalAccount,
        *,
        root: Hex32,
        leaf: Hex32,
        proof: Sequence[Hex32],
        reason_hash: Hex32,
    ) -> ContractFunction:
        """``revokeLeafWithSignature``, signed now by ``signer`` with its next revocation
        nonce: build it only when it is about to be sent (the chain writer signs one
        transaction at a time), or two calls signed ahead would carry the same nonce."""
        fn_nonce = self.contract.functions.revocationNonce(signer.address)
        nonce = int(self.call(fn_nonce.call))
        deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + 3600
        signature = self._sign_typed(
            signer,
            "RevokeLeaf",
            [
                ("root", "bytes32", _b32(root)),
                ("leaf", "bytes32", _b32(leaf)),
                ("reasonHash", "bytes32", _b32(reason_hash)),
                ("nonce", "uint256", nonce),
                ("deadline", "uint256", deadline),
            ],
        )
        return self.contract.functions.revokeLeafWithSignature(
            _b32(root),
            _b32(leaf),
            [_b32(p) for p in proof],
            _b32(reason_hash),
            signer.address,
            deadline,
            signature,
        )

    def grant_member_call(self, account: str) -> ContractFunction:
        return self.contract.functions.grantRole(SUBMITTER_ROLE, Web3.to_checksum_address(account))

    def revoke_member_call(self, account: str) -> ContractFunction:
        return self.contract.functions.revokeRole(SUBMITTER_ROLE, Web3.to_checksum_address(account))

    def grant_member(self, sender: TxSender, account: str) -> MinedTx:
        return self.transact(sender, self.grant_member_call(account))

    def revoke_member(self, sender: TxSender, account: str) -> MinedTx:
        return self.transact(sender, self.revoke_member_call(account))

    # ---- events ------------------------------------------------------------------------

    def anchored_events(
        self,
        *,
        from_block: int = 0,
        to_block: int | str = "latest",
        root: Hex32 | None = None,
    ) -> list[AnchoredEvent]:
        """``Anchored`` events, of one ``root`` when given (in v2 one per submitter)."""
        filters = {} if root is None else {"root": _b32(root)}
        logs = self.contract.events.Anchored().get_logs(
            argument_filters=filters, from_block=from_block, to_block=to_block
        )
        out = []
        for log in logs:
            a = log["args"]
            out.append(
                AnchoredEvent(
                    root=_hex(a["root"]),
                    submitter=Web3.to_checksum_address(a["submitter"]),
                    leaf_count=int(a["leafCount"]),
                    metadata_hash=_hex(a["metadataHash"]),
                    timestamp=int(a["timestamp"]),
                    tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
                    block_number=int(log["blockNumber"]),
                    block_hash=HexBytes(log["blockHash"]).to_0x_hex(),
                    log_index=int(log["logIndex"]),
                )
            )
        return out

    def revocation_events(
        self, *, from_block: int = 0, to_block: int | str = "latest"
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in ("RootRevoked", "LeafRevoked"):
            event = getattr(self.contract.events, name)()
            for log in event.get_logs(from_block=from_block, to_block=to_block):
                a = log["args"]
                out.append(
                    {
                        "event": name,
                        "root": _hex(a["root"]),
                        "leaf": _hex(a["leaf"]) if "leaf" in a else None,
                        "revoker": Web3.to_checksum_address(a["revoker"]),
                        "reason_hash": _hex(a["reasonHash"]),
                        "tx_hash": HexBytes(log["transactionHash"]).to_0x_hex(),
                        "block_number": int(log["blockNumber"]),
                        "log_index": int(log["logIndex"]),
                    }
                )
        out.sort(key=lambda e: (e["block_number"], e["log_index"]))
        return out
