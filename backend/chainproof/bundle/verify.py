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
8. ``canonical`` (only with ``rpc``): the node's block at that height is this block and its
   genesis the anchor's (a reset or another chain fails here).

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
    "canonical",
)

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
    receipt: Receipt | None = None
    anchor: TrustAnchor | None = None
    header: Header | None = None
    metadata_hash: bytes | None = None
    token: CheckedToken | None = None
    lower_bound: int | None = None

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
        try:
            header = decode_header(self.files[layout.HEADER])
        except ProofError as exc:
            raise _Failed(str(exc)) from None
        if "0x" + header.hash.hex() != r.block_hash:
            raise _Failed(
                f"header.rlp hashes to 0x{header.hash.hex()}, not the receipt's block "
                f"{r.block_hash}"
            )
        if (header.number, header.timestamp) != (r.block_number, r.block_timestamp):
            raise _Failed(
                f"the header is block {header.number} at {header.timestamp}, the receipt "
                f"says {r.block_number} at {r.block_timestamp}"
            )
        self.header = header
        return f"block {header.number} {r.block_hash} at {header.timestamp}"

    def receipt_proof(self) -> str:
        r, header = self._receipt(), self._header()
        try:
            doc = json.loads(self.files[layout.PROOF])
            if doc.get("format") != layout.PROOF_FORMAT:
                raise _Failed(f"receipt-proof.json is not {layout.PROOF_FORMAT}")
            index = doc["tx_index"]
            if not isinstance(index, int) or index < 0:
                raise _Failed("receipt-proof.json: tx_index must be an integer ≥ 0")
            nodes = [bytes.fromhex(n.removeprefix("0x")) for n in doc["nodes"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _Failed(f"receipt-proof.json cannot be read: {exc}") from None
        try:
            proven = prove_receipt(header.receipts_root, index, nodes)
        except ProofError as exc:
            raise _Failed(str(exc)) from None
        if proven.status != 1:
            raise _Failed(f"the proven transaction failed (status {proven.status})")
        registry = bytes.fromhex(r.contract[2:])
        submitter = bytes(12) + bytes.fromhex(r.submitter[2:])
        root = bytes.fromhex(r.root[2:])
        for log in proven.logs:
            if (
                log.address == registry
                and len(log.topics) == 3
                and log.topics[0] == ANCHORED_TOPIC
                and log.topics[1] == root
                and log.topics[2] == submitter
            ):
                _count, metadata_hash, timestamp = abi_decode(
                    ["uint32", "bytes32", "uint64"], log.data
                )
                if timestamp != header.timestamp:
                    raise _Failed(
                        f"the Anchored log says {timestamp}, the block {header.timestamp}"
                    )
                self.metadata_hash = bytes(metadata_hash)
                return (
                    f"transaction {index} of the block emitted Anchored({r.root}, "
                    f"{r.submitter}) from {r.contract}"
                )
        raise _Failed(
            f"the proven receipt has no Anchored log from {r.contract} for root {r.root} "
            f"by {r.submitter}"
        )

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
            block = self.rpc("eth_getBlockByNumber", [hex(r.block_number), False])
        except Exception as exc:  # any transport or node error
            raise _Failed(f"canonical check could not run: {type(exc).__name__}: {exc}") from None
        found_genesis = (genesis or {}).get("hash")
        if found_genesis != anchor.genesis_hash:
            raise _Failed(
                f"the node's genesis is {found_genesis}, the anchor pins {anchor.genesis_hash}: "
                "another or a reset chain"
            )
        found = (block or {}).get("hash")
        if found != r.block_hash:
            raise _Failed(
                f"the node's block {r.block_number} is {found}, not {r.block_hash}: "
                "reorganised away or a reset chain"
            )
        return f"block {r.block_number} is canonical on the node (genesis as pinned)"

    def _receipt(self) -> Receipt:
        assert self.receipt is not None
        return self.receipt

    def _header(self) -> Header:
        assert self.header is not None
        return self.header


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
) -> BundleVerdict:
    """Verifies a bundle's bytes offline (and, with ``rpc``, that its block is canonical).

    ``trust`` is the pinned anchor and ``roots_pem`` the pinned TSA root; without them the
    bundle's own ``trust.json`` / ``ca.pem`` are used and the verdict is never valid (its
    status is ``unpinned``): a forger would ship their own.
    """
    checks: list[tuple[str, bool, str]] = []
    pinned = trust is not None
    try:
        files = read_bundle(data)
    except _Failed as failed:
        checks.append(("contents", False, str(failed)))
        return BundleVerdict(False, str(failed), checks, pinned)
    run = _Run(files, trust, roots_pem, rpc)
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
