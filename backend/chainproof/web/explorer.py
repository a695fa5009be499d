"""The block explorer's reads (桂链 区块链浏览器): blocks, registry transactions, decoded events.

Pages get typed views (dataclasses) and never a web3 dict. Events are decoded with the
registry wrapper (``chain/registry.py``): its ``anchored_events``/``revocation_events`` for
lists, and its contract ABI for the logs of one transaction (which also names OpenZeppelin's
``RoleGranted``/``RoleRevoked``, i.e. member admission).

Every function takes the :class:`ChainContext` and asks :meth:`ChainContext.status` first: when the
server's chain is not the one anchored on (docs/architecture.md, promise 6) the explorer says why
(:class:`ExplorerUnavailableError`) instead of showing another chain's data as ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from hexbytes import HexBytes
from sqlmodel import Session, col, select
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound

from chainproof.chain.context import ChainContext
from chainproof.errors import ChainError, ChainProofError
from chainproof.store.models import Batch, Evidence, Member

LATEST_BLOCKS: Final = 10
# Recent events are looked for in this many blocks back from the head: a bounded scan.
EVENT_WINDOW: Final = 5_000
MAX_LISTED: Final = 100

_HEX32: Final = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_ADDRESS: Final = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")
_NUMBER: Final = re.compile(r"^#?[0-9]{1,19}$")


class ExplorerUnavailableError(ChainError):
    """The chain cannot be shown: unreachable, or not the chain the index was built on."""

    code = "explorer_unavailable"


@dataclass(frozen=True)
class ChainSummary:
    chain_id: int
    contract: str
    kind: str
    rpc_url: str | None
    latest_block: int
    deployment_block: int


@dataclass(frozen=True)
class EventView:
    """One decoded log of the registry: its name and its arguments, in ABI order."""

    name: str
    tx_hash: str
    block_number: int
    log_index: int
    args: list[tuple[str, str]]

    def arg(self, name: str) -> str | None:
        return next((value for key, value in self.args if key == name), None)


@dataclass(frozen=True)
class TxSummary:
    hash: str
    sender: str
    to: str | None
    to_registry: bool
    method: str | None


@dataclass(frozen=True)
class BlockView:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    gas_used: int
    transactions: list[TxSummary]

    @property
    def registry_tx_count(self) -> int:
        return sum(1 for tx in self.transactions if tx.to_registry)


@dataclass(frozen=True)
class TxView:
    hash: str
    block_number: int
    block_hash: str
    timestamp: int
    sender: str
    to: str | None
    to_registry: bool
    status: int
    gas_used: int
    nonce: int
    method: str | None
    method_args: list[tuple[str, str]]
    events: list[EventView]
    other_logs: int


@dataclass(frozen=True)
class RootView:
    """A Merkle root: what the registry says of it, and the batch in our index."""

    root: str
    on_chain: bool
    submitter: str | None
    timestamp: int | None
    leaf_count: int | None
    block_number: int | None
    revoked: bool
    batch_id: int | None
    tx_hash: str | None
    evidence: list[tuple[str, str, str]]  # (public id, algorithm, status), at most MAX_LISTED


@dataclass(frozen=True)
class AddressView:
    address: str
    is_registry: bool
    is_member: bool
    is_admin: bool
    member_name: str | None
    events: list[EventView]


@dataclass(frozen=True)
class DigestMatch:
    # No id: an id leads to its root's page and so to the submitting account, and this
    # page answers any guessed digest (docs/security.md, "Who sees what").
    algorithm: str
    status: str


SearchKind = Literal["block", "tx", "root", "digest", "address"]


@dataclass(frozen=True)
class SearchResult:
    """Where a search leads: one ``(kind, value)`` per match; empty when nothing matched."""

    query: str
    matches: list[tuple[SearchKind, str]] = field(default_factory=list)
    problem: str | None = None


# --- helpers -----------------------------------------------------------------------------


def _require(chain: ChainContext) -> None:
    status = chain.status()
    if not status.ok:
        raise ExplorerUnavailableError(status.reason or "the chain is unavailable")


def _hex(value: Any) -> str:
    return HexBytes(value).to_0x_hex()


def _show(value: Any) -> str:
    """An ABI value as text: bytes as 0x hex, lists item by item."""
    if isinstance(value, bytes | bytearray):
        return _hex(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def normalise_hex32(value: str) -> str:
    """``0x`` + 64 lowercase hex digits; ValueError for anything else."""
    text = value.strip()
    if not _HEX32.match(text):
        raise ValueError(f"not 32 bytes of hex: {value!r}")
    return "0x" + text.removeprefix("0x").removeprefix("0X").lower()


def normalise_address(value: str) -> str:
    text = value.strip()
    if not _ADDRESS.match(text):
        raise ValueError(f"not an address: {value!r}")
    return Web3.to_checksum_address("0x" + text.removeprefix("0x").removeprefix("0X").lower())


def _is_registry(chain: ChainContext, address: str | None) -> bool:
    return address is not None and address.lower() == chain.contract.lower()


def _method(chain: ChainContext, to: str | None, data: Any) -> tuple[str | None, list[Any]]:
    if not _is_registry(chain, to) or not data or len(HexBytes(data)) < 4:
        return None, []
    try:
        fn, args = chain.registry.contract.decode_function_input(HexBytes(data))
    except ValueError:  # a selector the ABI does not know
        return _hex(HexBytes(data)[:4]), []
    return str(fn.fn_name), [(name, _show(value)) for name, value in args.items()]


# --- chain and blocks --------------------------------------------------------------------


def chain_summary(*, chain: ChainContext, public_rpc_url: str | None = None) -> ChainSummary:
    _require(chain)
    return ChainSummary(
        chain_id=chain.chain_id,
        contract=chain.contract,
        kind=chain.node.kind,
        rpc_url=public_rpc_url,  # only what the settings publish (Settings.published_rpc_url)
        latest_block=int(chain.w3.eth.block_number),
        deployment_block=chain.deployment.block_number,
    )


def block(*, chain: ChainContext, number: int) -> BlockView | None:
    _require(chain)
    try:
        raw = chain.w3.eth.get_block(number, full_transactions=True)
    except BlockNotFound:
        return None
    txs = []
    for tx in raw.get("transactions", []):
        assert not isinstance(tx, bytes)  # full_transactions=True gives dicts
        to = tx.get("to")
        method, _ = _method(chain, to, tx.get("input"))
        txs.append(
            TxSummary(
                hash=_hex(tx["hash"]),
                sender=str(tx["from"]),
                to=str(to) if to else None,
                to_registry=_is_registry(chain, to),
                method=method,
            )
        )
    return BlockView(
        number=int(raw["number"]),
        hash=_hex(raw["hash"]),
        parent_hash=_hex(raw["parentHash"]),
        timestamp=int(raw["timestamp"]),
        gas_used=int(raw["gasUsed"]),
        transactions=txs,
    )


def latest_blocks(*, chain: ChainContext, count: int = LATEST_BLOCKS) -> list[BlockView]:
    _require(chain)
    head = int(chain.w3.eth.block_number)
    out = []
    for number in range(head, max(head - count, -1), -1):
        found = block(chain=chain, number=number)
        if found is not None:
            out.append(found)
    return out


# --- events ------------------------------------------------------------------------------


def _events(chain: ChainContext, *, from_block: int, to_block: int | str) -> list[EventView]:
    out: list[EventView] = []
    for a in chain.registry.anchored_events(from_block=from_block, to_block=to_block):
        out.append(
            EventView(
                name="Anchored",
                tx_hash=a.tx_hash,
                block_number=a.block_number,
                log_index=a.log_index,
                args=[
                    ("root", a.root),
                    ("submitter", a.submitter),
                    ("leafCount", str(a.leaf_count)),
                    ("metadataHash", a.metadata_hash),
                    ("timestamp", str(a.timestamp)),
                ],
            )
        )
    for r in chain.registry.revocation_events(from_block=from_block, to_block=to_block):
        args = [("root", r["root"])]
        if r.get("leaf"):
            args.append(("leaf", r["leaf"]))
        args += [("revoker", r["revoker"]), ("reasonHash", r["reason_hash"])]
        out.append(
            EventView(
                name=r["event"],
                tx_hash=r["tx_hash"],
                block_number=r["block_number"],
                log_index=r["log_index"],
                args=args,
            )
        )
    out.sort(key=lambda e: (e.block_number, e.log_index), reverse=True)
    return out


def recent_events(*, chain: ChainContext, limit: int = 20) -> list[EventView]:
    """The registry's latest Anchored / RootRevoked / LeafRevoked events, newest first."""
    _require(chain)
    head = int(chain.w3.eth.block_number)
    start = max(chain.deployment.block_number, head - EVENT_WINDOW)
    return _events(chain, from_block=start, to_block=head)[:limit]


def _decode_logs(chain: ChainContext, logs: list[Any]) -> tuple[list[EventView], int]:
    """The registry's logs of one receipt decoded with its ABI; other logs are counted."""
    events: list[EventView] = []
    other = 0
    abi_events = [str(e["name"]) for e in chain.registry.contract.abi if e["type"] == "event"]
    for log in logs:
        if not _is_registry(chain, log.get("address")):
            other += 1
            continue
        decoded = None
        for name in abi_events:
            try:
                decoded = chain.registry.contract.events[name]().process_log(log)
                break
            except Exception:  # web3 raises several types for "not this event"
                continue
        if decoded is None:
            other += 1
            continue
        events.append(
            EventView(
                name=str(decoded["event"]),
                tx_hash=_hex(log["transactionHash"]),
                block_number=int(log["blockNumber"]),
                log_index=int(log["logIndex"]),
                args=[(k, _show(v)) for k, v in decoded["args"].items()],
            )
        )
    return events, other


def transaction(*, chain: ChainContext, tx_hash: str) -> TxView | None:
    _require(chain)
    try:
        tx = chain.w3.eth.get_transaction(normalise_hex32(tx_hash))  # type: ignore[arg-type]
        receipt = chain.w3.eth.get_transaction_receipt(tx["hash"])
    except (TransactionNotFound, ValueError):
        return None
    if tx.get("blockNumber") is None:
        return None
    header = chain.w3.eth.get_block(int(tx["blockNumber"]))
    to = tx.get("to")
    method, args = _method(chain, to, tx.get("input"))
    events, other = _decode_logs(chain, list(receipt["logs"]))
    return TxView(
        hash=_hex(tx["hash"]),
        block_number=int(tx["blockNumber"]),
        block_hash=_hex(receipt["blockHash"]),
        timestamp=int(header["timestamp"]),
        sender=str(tx["from"]),
        to=str(to) if to else None,
        to_registry=_is_registry(chain, to),
        status=int(receipt["status"]),
        gas_used=int(receipt["gasUsed"]),
        nonce=int(tx["nonce"]),
        method=method,
        method_args=args,
        events=events,
        other_logs=other,
    )


# --- roots, digests, addresses -----------------------------------------------------------


def root_view(*, chain: ChainContext, session: Session, root: str) -> RootView | None:
    _require(chain)
    root = normalise_hex32(root)
    batch = session.exec(select(Batch).where(Batch.root == root)).first()
    # In v2 an anchor is (submitter, root): ours is the batch's signer's; a root we never
    # batched shows its first anchor on the current registry.
    registry = chain.registry
    submitter = batch.signer if batch is not None else None
    if batch is not None and batch.contract.lower() != chain.contract.lower():
        registry = chain.registry_at(batch.contract)
    if submitter is None:
        first = registry.anchored_events(from_block=chain.deployment.block_number, root=root)
        submitter = first[0].submitter if first else None
    anchor = registry.get_anchor(submitter, root) if submitter else None
    if anchor is None and batch is None:
        return None
    evidence: list[tuple[str, str, str]] = []
    if batch is not None:
        rows = session.exec(
            select(Evidence)
            .where(Evidence.batch_id == batch.id)
            .order_by(col(Evidence.id))
            .limit(MAX_LISTED)
        ).all()
        evidence = [(r.public_id, r.algorithm, r.status) for r in rows]
    return RootView(
        root=root,
        on_chain=anchor is not None,
        submitter=anchor.submitter if anchor else None,
        timestamp=anchor.timestamp if anchor else None,
        leaf_count=anchor.leaf_count if anchor else (batch.leaf_count if batch else None),
        block_number=anchor.block_number if anchor else None,
        revoked=bool(anchor and anchor.revoked),
        batch_id=batch.id if batch else None,
        tx_hash=batch.tx_hash if batch else None,
        evidence=evidence,
    )


def digest_matches(*, session: Session, digest: str) -> list[DigestMatch]:
    """Evidence rows with this digest, any algorithm (public: algorithm and status)."""
    digest = normalise_hex32(digest)
    rows = session.exec(
        select(Evidence)
        .where(Evidence.digest == digest)
        .order_by(col(Evidence.id))
        .limit(MAX_LISTED)
    ).all()
    return [DigestMatch(r.algorithm, r.status) for r in rows]


def address_view(*, chain: ChainContext, session: Session, address: str) -> AddressView:
    _require(chain)
    checksummed = normalise_address(address)
    member = session.exec(
        select(Member).where(col(Member.chain_address).in_([checksummed, checksummed.lower()]))
    ).first()
    events = [
        e
        for e in _events(chain, from_block=chain.deployment.block_number, to_block="latest")
        if checksummed in {e.arg("submitter"), e.arg("revoker")}
    ]
    return AddressView(
        address=checksummed,
        is_registry=_is_registry(chain, checksummed),
        is_member=chain.registry.is_member(checksummed),
        is_admin=chain.registry.is_admin(checksummed),
        member_name=member.name if member else None,
        events=events[:MAX_LISTED],
    )


def search(*, chain: ChainContext, session: Session, query: str) -> SearchResult:
    """Classifies ``query``: block number, address, or a 32-byte hash that may be a
    transaction, a Merkle root or a document digest (each is looked up)."""
    q = query.strip()
    if not q:
        return SearchResult(query=q)
    if _NUMBER.match(q):
        return SearchResult(query=q, matches=[("block", str(int(q.lstrip("#"))))])
    if _ADDRESS.match(q):
        return SearchResult(query=q, matches=[("address", normalise_address(q))])
    if not _HEX32.match(q):
        return SearchResult(query=q, problem="format")
    value = normalise_hex32(q)
    matches: list[tuple[SearchKind, str]] = []
    try:
        if transaction(chain=chain, tx_hash=value) is not None:
            matches.append(("tx", value))
        if root_view(chain=chain, session=session, root=value) is not None:
            matches.append(("root", value))
    except ChainProofError:
        # The chain is unavailable: the index can still answer for digests.
        pass
    if digest_matches(session=session, digest=value):
        matches.append(("digest", value))
    return SearchResult(query=q, matches=matches)
