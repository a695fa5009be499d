"""Verifying an offline proof bundle with no network (``chainproof verify-bundle``).

Trusts only the pinned trust anchor (and the TSA root) and the block hash; every other byte
is checked:

1. ``contents``: the zip holds the files (each bounded; a zip bomb is refused unread);
2. ``leaf``: the receipt's leaf, leaf hash and Merkle proof lead to its root;
3. ``anchor``: the receipt's chain and registry are the pinned anchor's;
4. ``header``: keccak-256 of ``header.rlp`` is the receipt's block hash, whose number and
   timestamp are the receipt's;
5. ``receipt_proof``: the proof leads from the header's ``receiptsRoot`` to a successful
   transaction receipt with an ``Anchored`` log *from the pinned registry* for the root, by
   the submitter, at the block's timestamp;
6. ``time_stamp``: the RFC 3161 token is signed by a TSA certificate under the pinned root
   and stamps this document (its digest, or the leaf);
7. ``not_before`` (when ``time.json`` is there): the batch's metadata, whose hash the proven
   log carries, commits to a block whose header is in the bundle: nothing in the batch was
   made before that block's time;
8. ``checkpoint`` (a sub-chain receipt with a ``checkpoint`` section): its block is a leaf
   of the section's range root, and ``checkpoint/`` proves, in a main-chain block, the
   ``CheckpointPosted`` log of the anchor's pinned ChainRegistry for that chain, index,
   range and root (the ChainRegistry checked the sub-chain's signers when it took it);
9. ``other_anchors`` (a dual-anchored receipt): each other anchor proven as in 4-5 from
   ``anchors/<n>/`` against the anchor's pin of its chain; ``all`` needs every one, ``any``
   the first (``crosschain/policy.py``);
10. ``canonical`` (only with ``rpc``): the node's block at that height is this block and its
    genesis the anchor's (a reset or another chain fails here); a node of the anchor's main
    chain confirms instead the block that posted the checkpoint.

Imports no server dependency (no FastAPI, no SQLModel, no web3): the light verifier's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak

from chainproof.bundle import layout
from chainproof.bundle.ethproofs import Header, ProofError, decode_header, prove_receipt
from chainproof.crosschain.ranges import block_in_root
from chainproof.digests import canonical_json
from chainproof.errors import ChainProofError
from chainproof.receipts import ANCHORED_TOPIC, Receipt, check_receipt_offline
from chainproof.timestamping.check import (
    CheckedToken,
    TokenError,
    check_token,
    load_roots,
    token_of_reply,
)
from chainproof.trust import TrustAnchor

CHECKS: Final = (
    "contents",
    "leaf",
    "anchor",
    "header",
    "receipt_proof",
    "time_stamp",
    "not_before",
    "checkpoint",
    "other_anchors",
    "canonical",
)
CHECKPOINT_POSTED_TOPIC: Final = keccak(
    b"CheckpointPosted(uint256,uint256,uint64,uint64,bytes32,uint64)"
)
POLICIES: Final = ("any", "all")

# (method, params) -> result: a JSON-RPC call, for the ``canonical`` check only.
RpcCall = Callable[[str, list[Any]], Any]


class _Failed(Exception):
    pass


@dataclass
class BundleVerdict:
    """Every check run, in order, as (name, ok, detail); stops at the first failure."""

    valid: bool
    reason: str | None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    pinned: bool = False
    receipt: Receipt | None = None
    token: CheckedToken | None = None
    interval: tuple[int | None, int] | None = None  # (not before, not after), Unix seconds

    @property
    def status(self) -> str:
        if self.valid:
            return "valid"
        if not self.pinned and self.checks and all(ok for _, ok, _ in self.checks):
            return "unpinned"
        return "invalid"


@dataclass
class _Run:
    files: dict[str, bytes]
    trust: TrustAnchor | None
    roots_pem: bytes | None
    rpc: RpcCall | None
    policy: str = "all"
    receipt: Receipt | None = None
    anchor: TrustAnchor | None = None
    header: Header | None = None
    metadata_hash: bytes | None = None
    token: CheckedToken | None = None
    lower_bound: int | None = None
    main_header: Header | None = None  # the main-chain block that posted the checkpoint

    def contents(self) -> str:
        missing = [n for n in layout.REQUIRED if n not in self.files]
        if missing:
            raise _Failed(f"the bundle lacks {', '.join(missing)}")
        return f"{len(self.files)} files"

    def leaf(self) -> str:
        try:
            self.receipt = Receipt.from_json(self.files[layout.RECEIPT])
        except ChainProofError as exc:
            raise _Failed(f"receipt.json: {exc.message}") from None
        problems = check_receipt_offline(self.receipt)
        if problems:
            raise _Failed("; ".join(problems))
        return f"the Merkle proof leads from leaf {self.receipt.leaf_hash} to {self.receipt.root}"

    def anchor_(self) -> str:
        r = self._receipt()
        try:
            bundled = TrustAnchor.from_json(self.files[layout.TRUST])
        except ChainProofError as exc:
            raise _Failed(f"trust.json: {exc.message}") from None
        anchor = self.trust or bundled
        self.anchor = anchor
        if r.chain_id != anchor.chain_id:
            raise _Failed(
                f"the receipt is for chain {r.chain_id}, the anchor pins {anchor.chain_id}"
            )
        if r.contract not in anchor.honoured():
            raise _Failed(
                f"contract {r.contract} is not the pinned registry {anchor.registry}: any "
                "contract can emit Anchored events, only the pinned one counts"
            )
        source = "pinned" if self.trust else "from the bundle itself, NOT pinned"
        return f"chain {anchor.chain_id}, registry {r.contract} ({source})"

    def header_(self) -> str:
        r = self._receipt()
        self.header = _block_header(self.files[layout.HEADER], r, layout.HEADER)
        return f"block {self.header.number} {r.block_hash} at {self.header.timestamp}"

    def receipt_proof(self) -> str:
        r, header = self._receipt(), self._header()
        index, logs = _proven_logs(self.files[layout.PROOF], header, layout.PROOF)
        self.metadata_hash = _anchored(logs, r, header)
        return (
            f"transaction {index} of the block emitted Anchored({r.root}, "
            f"{r.submitter}) from {r.contract}"
        )

    def checkpoint(self) -> str:
        """A sub-chain receipt's checkpoint: its block is a leaf of a range whose root the
        pinned ChainRegistry's ``CheckpointPosted`` log, proven in a main-chain block,
        carries (the trust moves to that main-chain block's hash)."""
        r, anchor = self._receipt(), self.anchor
        assert anchor is not None
        section, main = r.checkpoint, anchor.main_chain
        if section is None:
            return "no checkpoint section: the receipt's own chain is the one to trust"
        if layout.CHECKPOINT_HEADER not in self.files or layout.CHECKPOINT_PROOF not in self.files:
            raise _Failed(
                "the receipt has a checkpoint section the bundle does not prove "
                f"({layout.CHECKPOINT_HEADER}, {layout.CHECKPOINT_PROOF} missing)"
            )
        if main is None:
            raise _Failed("the anchor names no main chain: a checkpoint proves nothing to it")
        if (section.main_chain_id, section.registry.lower()) != (
            main.chain_id,
            main.checkpoint_registry.lower(),
        ):
            raise _Failed(
                f"the section names ChainRegistry {section.registry} on chain "
                f"{section.main_chain_id}, the anchor pins {main.checkpoint_registry} on "
                f"{main.chain_id}"
            )
        if not block_in_root(section.root, r.block_number, r.block_hash, section.proof):
            raise _Failed(
                f"block {r.block_number} ({r.block_hash}) is not a leaf of the section's range "
                "root: a reset or forked sub-chain, or a forged section"
            )
        try:
            header = decode_header(self.files[layout.CHECKPOINT_HEADER])
        except ProofError as exc:
            raise _Failed(f"{layout.CHECKPOINT_HEADER}: {exc}") from None
        if section.main_block_number is not None and header.number != section.main_block_number:
            raise _Failed(
                f"{layout.CHECKPOINT_HEADER} is main block {header.number}, the section says "
                f"{section.main_block_number}"
            )
        index, logs = _proven_logs(
            self.files[layout.CHECKPOINT_PROOF], header, layout.CHECKPOINT_PROOF
        )
        registry = bytes.fromhex(main.checkpoint_registry[2:])
        want = (section.from_block, section.to_block, bytes.fromhex(section.root[2:]))
        for log in logs:
            if (
                log.address == registry
                and len(log.topics) == 3
                and log.topics[0] == CHECKPOINT_POSTED_TOPIC
                and int.from_bytes(log.topics[1], "big") == r.chain_id
                and int.from_bytes(log.topics[2], "big") == section.index
            ):
                first, last, root, _epoch = abi_decode(
                    ["uint64", "uint64", "bytes32", "uint64"], log.data
                )
                if (first, last, bytes(root)) != want:
                    raise _Failed(
                        f"the main chain's checkpoint {section.index} is [{first}, {last}] "
                        f"root 0x{bytes(root).hex()}, not the section's [{section.from_block}, "
                        f"{section.to_block}] {section.root}"
                    )
                self.main_header = header
                return (
                    f"block {r.block_number} is in checkpoint {section.index} "
                    f"[{first}, {last}], posted by {main.checkpoint_registry} in transaction "
                    f"{index} of main-chain {main.chain_id} block {header.number} "
                    f"(0x{header.hash.hex()})"
                )
        raise _Failed(
            f"the proven main-chain receipt has no CheckpointPosted({r.chain_id}, "
            f"{section.index}) from {main.checkpoint_registry}"
        )

    def other_anchors(self) -> str:
        """A dual-anchored receipt's other anchors, each proven as the first one is against
        the anchor's pin of its chain, combined under the policy (``crosschain/policy.py``):
        ``all`` needs every one; ``any`` holds with the first, proven above."""
        r, anchor = self._receipt(), self.anchor
        assert anchor is not None
        others = r.other_anchors or []
        if not others:
            return "one anchor"
        results: list[tuple[int, str | None]] = []  # (chain id, failure or None)
        for n, other in enumerate(others):
            pin = anchor.for_other_chain(other.chain_id)
            located = r.anchored_at(other)
            try:
                if pin is None or other.chain_id == anchor.chain_id:
                    raise _Failed(f"the trust anchor pins no chain {other.chain_id} for it")
                if other.contract not in pin.honoured():
                    raise _Failed(f"{other.contract} is not the pinned registry {pin.registry}")
                name_h, name_p = layout.anchor_header(n), layout.anchor_proof(n)
                if name_h not in self.files or name_p not in self.files:
                    raise _Failed(f"not proven in the bundle ({name_h} missing)")
                header = _block_header(self.files[name_h], located, name_h)
                _index, logs = _proven_logs(self.files[name_p], header, name_p)
                _anchored(logs, located, header)
                results.append((other.chain_id, None))
            except _Failed as failed:
                results.append((other.chain_id, str(failed)))
        shown = "; ".join(f"chain {cid}: {'valid' if why is None else why}" for cid, why in results)
        proven = 1 + sum(why is None for _, why in results)
        if self.policy == "all" and proven < 1 + len(results):
            raise _Failed(f"policy all: {proven} of {1 + len(results)} anchors proven; {shown}")
        return f"policy {self.policy}: {proven} of {1 + len(results)} anchors proven; {shown}"

    def time_stamp(self) -> str:
        r = self._receipt()
        try:
            token = token_of_reply(self.files[layout.TSR])
            roots = load_roots(self.roots_pem or self.files[layout.CA_PEM])
            untrusted = (
                load_roots(self.files[layout.TSA_PEM]) if layout.TSA_PEM in self.files else []
            )
            checked = check_token(token, roots, untrusted)
        except TokenError as exc:
            raise _Failed(f"tsa.tsr: {exc}") from None
        if r.tsa_token is not None and base64.b64decode(r.tsa_token) != token:
            raise _Failed("tsa.tsr holds another token than the receipt's tsa_token")
        how = _stamps(checked, r)
        if how is None:
            raise _Failed(
                f"the token stamps {checked.algorithm} {checked.imprint.hex()}: neither this "
                "document's digest, its leaf, nor a TSTInfo the document's digest names"
            )
        self.token = checked
        source = "pinned root" if self.roots_pem else "the bundle's ca.pem, NOT pinned"
        return (
            f"RFC 3161 token {checked.serial} from {checked.tsa} at "
            f"{checked.gen_time.isoformat()} over {how} ({source})"
        )

    def not_before(self) -> str:
        if layout.TIME not in self.files:
            return "no time.json: only the upper bound (the block's time) is proven"
        header = self._header()
        try:
            doc = json.loads(self.files[layout.TIME])
            if doc.get("format") != layout.TIME_FORMAT:
                raise _Failed(f"time.json is not {layout.TIME_FORMAT}")
            metadata = doc["metadata"]
            committed = bytes.fromhex(metadata["not_before"]["hash"][2:])
            earlier = decode_header(bytes.fromhex(doc["header"][2:]))
        except _Failed:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, ProofError) as exc:
            raise _Failed(f"time.json cannot be read: {exc}") from None
        if keccak(canonical_json(metadata)) != self.metadata_hash:
            raise _Failed(
                "the batch metadata in time.json does not hash to the metadataHash of the "
                "proven Anchored log"
            )
        if earlier.hash != committed:
            raise _Failed("the header in time.json is not the block the batch committed to")
        if earlier.number >= header.number:
            raise _Failed("the committed block is not before the anchoring block")
        self.lower_bound = earlier.timestamp
        return (
            f"the batch committed to block {earlier.number} (0x{committed.hex()}) at "
            f"{earlier.timestamp}: made no earlier; anchored by {header.timestamp}, "
            f"{header.timestamp - earlier.timestamp} s later"
        )

    def canonical(self) -> str:
        if self.rpc is None:
            return "not checked (no --rpc): the block hash above is the one thing to confirm"
        r, anchor = self._receipt(), self.anchor
        assert anchor is not None
        try:
            genesis = self.rpc("eth_getBlockByNumber", ["0x0", False])
        except Exception as exc:  # any transport or node error
            raise _Failed(f"canonical check could not run: {type(exc).__name__}: {exc}") from None
        found_genesis = (genesis or {}).get("hash")
        main, main_header = anchor.main_chain, self.main_header
        if main is not None and main_header is not None and found_genesis == main.genesis_hash:
            # A node of the main chain: the block that posted the checkpoint is the one to
            # confirm (no sub-chain node needed).
            number, want, where = main_header.number, "0x" + main_header.hash.hex(), " (main chain)"
        elif found_genesis != anchor.genesis_hash:
            raise _Failed(
                f"the node's genesis is {found_genesis}, the anchor pins {anchor.genesis_hash}: "
                "another or a reset chain"
            )
        else:
            number, want, where = r.block_number, r.block_hash, ""
        try:
            block = self.rpc("eth_getBlockByNumber", [hex(number), False])
        except Exception as exc:  # any transport or node error
            raise _Failed(f"canonical check could not run: {type(exc).__name__}: {exc}") from None
        found = (block or {}).get("hash")
        if found != want:
            raise _Failed(
                f"the node's block {number} is {found}, not {want}: "
                "reorganised away or a reset chain"
            )
        return f"block {number} is canonical on the node{where} (genesis as pinned)"

    def _receipt(self) -> Receipt:
        assert self.receipt is not None
        return self.receipt

    def _header(self) -> Header:
        assert self.header is not None
        return self.header


def _block_header(data: bytes, r: Receipt, name: str) -> Header:
    """``data`` decoded as the header of ``r``'s block (its hash, number and timestamp)."""
    try:
        header = decode_header(data)
    except ProofError as exc:
        raise _Failed(f"{name}: {exc}") from None
    if "0x" + header.hash.hex() != r.block_hash:
        raise _Failed(
            f"{name} hashes to 0x{header.hash.hex()}, not the receipt's block {r.block_hash}"
        )
    if (header.number, header.timestamp) != (r.block_number, r.block_timestamp):
        raise _Failed(
            f"the header is block {header.number} at {header.timestamp}, the receipt "
            f"says {r.block_number} at {r.block_timestamp}"
        )
    return header


def _proven_logs(data: bytes, header: Header, name: str) -> tuple[int, list[Any]]:
    """The logs of the successful transaction receipt ``data`` proves under ``header``."""
    try:
        doc = json.loads(data)
        if doc.get("format") != layout.PROOF_FORMAT:
            raise _Failed(f"{name} is not {layout.PROOF_FORMAT}")
        index = doc["tx_index"]
        if not isinstance(index, int) or index < 0:
            raise _Failed(f"{name}: tx_index must be an integer ≥ 0")
        nodes = [bytes.fromhex(n.removeprefix("0x")) for n in doc["nodes"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _Failed(f"{name} cannot be read: {exc}") from None
    try:
        proven = prove_receipt(header.receipts_root, index, nodes)
    except ProofError as exc:
        raise _Failed(str(exc)) from None
    if proven.status != 1:
        raise _Failed(f"the proven transaction failed (status {proven.status})")
    return index, list(proven.logs)


def _anchored(logs: list[Any], r: Receipt, header: Header) -> bytes:
    """The metadata hash of the ``Anchored`` log of ``r``'s registry for its root, by its
    submitter, at the block's time, among ``logs``."""
    registry = bytes.fromhex(r.contract[2:])
    submitter = bytes(12) + bytes.fromhex(r.submitter[2:])
    root = bytes.fromhex(r.root[2:])
    for log in logs:
        if (
            log.address == registry
            and len(log.topics) == 3
            and log.topics[0] == ANCHORED_TOPIC
            and log.topics[1] == root
            and log.topics[2] == submitter
        ):
            _count, metadata_hash, timestamp = abi_decode(["uint32", "bytes32", "uint64"], log.data)
            if timestamp != header.timestamp:
                raise _Failed(f"the Anchored log says {timestamp}, the block {header.timestamp}")
            return bytes(metadata_hash)
    raise _Failed(
        f"the proven receipt has no Anchored log from {r.contract} for root {r.root} "
        f"by {r.submitter}"
    )


def _stamps(token: CheckedToken, r: Receipt) -> str | None:
    """How the token is bound to the receipt's document, or None."""
    digest = bytes.fromhex(r.digest[2:])
    if token.algorithm == r.algorithm and token.imprint == digest:
        return f"the document's {r.algorithm} digest"
    if r.algorithm == "sha256" and hashlib.sha256(token.tst_info).digest() == digest:
        return "a TSTInfo whose SHA-256 is the anchored digest"
    leaf = bytes.fromhex(r.leaf_hash[2:])
    if token.algorithm == "sha256" and token.imprint == hashlib.sha256(leaf).digest():
        return "the SHA-256 of the document's leaf"
    return None


def read_bundle(data: bytes) -> dict[str, bytes]:
    """The bundle's files, each read at most ``MAX_MEMBER_BYTES`` (+1 to notice more)."""
    if len(data) > layout.MAX_BUNDLE_BYTES:
        raise _Failed(f"over {layout.MAX_BUNDLE_BYTES} bytes: not a bundle")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > layout.MAX_MEMBERS:
                raise _Failed(f"{len(infos)} files: a bundle has at most {layout.MAX_MEMBERS}")
            files = {}
            for info in infos:
                with z.open(info) as member:
                    body = member.read(layout.MAX_MEMBER_BYTES + 1)
                if len(body) > layout.MAX_MEMBER_BYTES:
                    raise _Failed(f"{info.filename} is over {layout.MAX_MEMBER_BYTES} bytes")
                files[info.filename] = body
            return files
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise _Failed(f"not a zip: {exc}") from None


def verify_bundle(
    data: bytes,
    *,
    trust: TrustAnchor | None = None,
    roots_pem: bytes | None = None,
    rpc: RpcCall | None = None,
    policy: str = "all",
) -> BundleVerdict:
    """Verifies a bundle's bytes offline (and, with ``rpc``, that its block is canonical).

    ``trust`` is the pinned anchor and ``roots_pem`` the pinned TSA root; without them the
    bundle's own ``trust.json`` / ``ca.pem`` are used and the verdict is never valid (its
    status is ``unpinned``): a forger would ship their own. ``policy`` (``any``, ``all``)
    says which of a dual-anchored receipt's anchors must be proven.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    checks: list[tuple[str, bool, str]] = []
    pinned = trust is not None
    try:
        files = read_bundle(data)
    except _Failed as failed:
        checks.append(("contents", False, str(failed)))
        return BundleVerdict(False, str(failed), checks, pinned)
    run = _Run(files, trust, roots_pem, rpc, policy)
    methods = {"anchor": run.anchor_, "header": run.header_}
    for name in CHECKS:
        step = methods.get(name) or getattr(run, name)
        try:
            detail, ok = step(), True
        except _Failed as failed:
            detail, ok = str(failed), False
        checks.append((name, ok, detail))
        if not ok:
            return BundleVerdict(False, detail, checks, pinned, run.receipt, run.token)
    r = run._receipt()
    interval = (run.lower_bound, r.block_timestamp)
    if not pinned:
        return BundleVerdict(
            False,
            "not pinned: every check passed, but against the bundle's own trust.json; pass "
            "the operator's anchor (--trust), got out of band",
            checks,
            False,
            r,
            run.token,
            interval,
        )
    return BundleVerdict(True, None, checks, True, r, run.token, interval)


def utc(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()
