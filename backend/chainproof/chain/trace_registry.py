"""Typed wrapper over the TraceRegistry contract, and finding or deploying it.

Version 2 of the contract (``version()`` = 2) lifts recalls (``liftRecall``, ``recallOf``).
Reverts are decoded into :class:`~chainproof.errors.ContractRevertError` (``StaleHead``,
``LotAlreadyRecalled``, ``LotNotRecalled``...) by :class:`~chainproof.chain.client.ContractClient`,
the base both registry clients share with its signing and sending.

Where it lives: a deployment record ``TraceRegistry-<chain id>.json`` next to the
EvidenceRegistry's, checked like it (genesis, code). A recorded TraceRegistry v1 (it has no
``version()``) is replaced by a v2 deployment on first use, its record kept aside; the heads
and recalls go to the new contract because migration 0005 marked them all unpublished. The
embedded chain gets a fresh deployment per :class:`~chainproof.chain.context.ChainContext`
(it dies with the process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction

from chainproof.chain.client import ContractClient
from chainproof.chain.compiler import ContractArtifact, load_artifact, runtime_matches
from chainproof.chain.context import ChainContext
from chainproof.chain.deployments import (
    Deployment,
    OnDeployment,
    check_deployment,
    deploy_contract,
    genesis_hash,
    load_record,
    record_path,
    save_record,
)
from chainproof.chain.sender import MinedTx, TxSender
from chainproof.errors import ChainError
from chainproof.vocabulary import ChainKind

TRACE_REGISTRY = "TraceRegistry"
PUBLISHER_ROLE = keccak(text="PUBLISHER_ROLE")
RECALLER_ROLE = keccak(text="RECALLER_ROLE")
ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class OnChainHead:
    head: str  # 0x hex; all zero when nothing was published
    count: int
    updated_at: int  # block timestamp, 0 when never


@dataclass(frozen=True)
class OnChainRecall:
    recalled_at: int  # block timestamp of the recall in force, 0 when none is
    lifted_at: int  # block timestamp of the last lift, 0 when never lifted
    recalls: int


def _b32(value: bytes | str) -> bytes:
    b = bytes(HexBytes(value))
    if len(b) != 32:
        raise ValueError(f"expected 32 bytes, got {len(b)}")
    return b


class TraceRegistryClient(ContractClient):
    """Calls and transactions of one deployed TraceRegistry."""

    contract_name = "TraceRegistry"

    def head_of(self, item_key: bytes | str) -> OnChainHead:
        fn = self.contract.functions.headOf(_b32(item_key))
        head, count, updated = self.call(fn.call)
        return OnChainHead(HexBytes(head).to_0x_hex(), int(count), int(updated))

    def recalled_at(self, lot_key: bytes | str) -> int:
        fn = self.contract.functions.recalledAt(_b32(lot_key))
        return int(self.call(fn.call))

    def recall_of(self, lot_key: bytes | str) -> OnChainRecall:
        fn = self.contract.functions.recallOf(_b32(lot_key))
        recalled, lifted, count = self.call(fn.call)
        return OnChainRecall(int(recalled), int(lifted), int(count))

    def version(self) -> int:
        return int(self.call(self.contract.functions.version().call))

    def has_role(self, role: bytes, account: str) -> bool:
        fn = self.contract.functions.hasRole(role, Web3.to_checksum_address(account))
        return bool(self.call(fn.call))

    def set_heads_call(
        self, item_keys: Sequence[bytes | str], heads: Sequence[bytes | str], counts: Sequence[int]
    ) -> ContractFunction:
        """``setHeads`` for the chain writer (``trace/ops.py``) to sign."""
        return self.contract.functions.setHeads(
            [_b32(k) for k in item_keys], [_b32(h) for h in heads], [int(c) for c in counts]
        )

    def recall_call(self, lot_key: bytes | str, reason_hash: bytes | str) -> ContractFunction:
        return self.contract.functions.recall(_b32(lot_key), _b32(reason_hash))

    def lift_recall_call(self, lot_key: bytes | str, reason_hash: bytes | str) -> ContractFunction:
        return self.contract.functions.liftRecall(_b32(lot_key), _b32(reason_hash))

    def set_heads(
        self,
        sender: TxSender,
        item_keys: Sequence[bytes | str],
        heads: Sequence[bytes | str],
        counts: Sequence[int],
    ) -> MinedTx:
        """One transaction for the batch; holds the sender's lock while signing and sending
        (``transact`` does), so it never races the batcher for a nonce."""
        fn = self.contract.functions.setHeads(
            [_b32(k) for k in item_keys], [_b32(h) for h in heads], [int(c) for c in counts]
        )
        return self.transact(sender, fn)

    def recall(self, sender: TxSender, lot_key: bytes | str, reason_hash: bytes | str) -> MinedTx:
        fn = self.contract.functions.recall(_b32(lot_key), _b32(reason_hash))
        return self.transact(sender, fn)

    def lift_recall(
        self, sender: TxSender, lot_key: bytes | str, reason_hash: bytes | str
    ) -> MinedTx:
        fn = self.contract.functions.liftRecall(_b32(lot_key), _b32(reason_hash))
        return self.transact(sender, fn)

    def grant_role(self, sender: TxSender, role: bytes, account: str) -> MinedTx:
        fn = self.contract.functions.grantRole(role, Web3.to_checksum_address(account))
        return self.transact(sender, fn)


def deploy_trace_registry(
    w3: Web3, sender: TxSender, artifact: ContractArtifact, *, admin: str | None = None
) -> Deployment:
    """Deploys TraceRegistry with ``admin`` (default: the sender's account), and makes the
    sender a publisher and recaller when it is the admin."""
    deployer: LocalAccount = sender.account
    admin_address = Web3.to_checksum_address(admin or deployer.address)
    deployment = deploy_contract(w3, sender, artifact, (admin_address,))
    if admin_address == deployer.address:
        client = TraceRegistryClient(w3, deployment.address, artifact.abi)
        client.grant_role(sender, PUBLISHER_ROLE, deployer.address)
        client.grant_role(sender, RECALLER_ROLE, deployer.address)
    return deployment


@dataclass(frozen=True)
class TraceChain(OnDeployment):
    """The TraceRegistry of one chain context."""

    client: TraceRegistryClient
    deployment: Deployment


def _retire(data_dir: Path, chain_id: int) -> None:
    """Moves the v1 record aside (kept for the audit trail), as ``deploy --new`` does."""
    path = record_path(data_dir, chain_id, TRACE_REGISTRY)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    os.replace(path, path.with_name(f"{path.stem}.retired-{stamp}.json"))


def _is_v1(w3: Web3, record: Deployment, artifact: ContractArtifact) -> bool:
    """True when the recorded contract is a TraceRegistry v1 on this chain: same chain, code
    that answers ``headOf`` but not ``version()`` (v2 added it). Anything else unexpected at
    the address is left to :func:`check_deployment` to refuse."""
    if int(w3.eth.chain_id) != record.chain_id or genesis_hash(w3) != record.genesis_hash:
        return False
    address = Web3.to_checksum_address(record.address)
    code = bytes(w3.eth.get_code(address))
    if not code or runtime_matches(artifact, code):
        return False
    contract = w3.eth.contract(address=address, abi=artifact.abi)
    try:
        contract.functions.headOf(b"\x01" * 32).call()
    except Exception:
        return False  # not a TraceRegistry at all
    try:
        contract.functions.version().call()
    except Exception:
        return True
    return False


class TraceRegistryNotDeployed(ChainError):
    """A process that may not deploy found no TraceRegistry (yet): 503 until the operator
    key's leader has deployed it."""


@dataclass
class DeployRole:
    """Whether this chain context's process may deploy the TraceRegistry: only the operator
    key's nonce owner (the chain writer's leader) may. An API replica (``serve
    --no-batcher``) or a standby worker finds it only (``find_only``): a deployment of its
    own would send with the key beside the leader's writer, and other hosts would never
    find it. ``refresh`` brings in the records the leader stored in the database
    (``store/shared_files.py``), at most every ``every`` seconds."""

    find_only: bool = False
    refresh: Callable[[], object] | None = None
    every: float = 5.0
    _last: float = field(default=0.0, repr=False)

    def refreshed(self) -> bool:
        if self.refresh is None or time.monotonic() - self._last < self.every:
            return False
        self._last = time.monotonic()
        self.refresh()
        return True


def deploy_role(chain: ChainContext) -> DeployRole:
    return chain.local(DeployRole, DeployRole)


def find_only(
    chain: ChainContext, *, refresh: Callable[[], object] | None = None, every: float = 5.0
) -> None:
    """Marks ``chain``'s process as one that never deploys the TraceRegistry."""
    role = deploy_role(chain)
    role.find_only, role.refresh, role.every = True, refresh, every


def trace_chain(chain: ChainContext, *, data_dir: Path | None) -> TraceChain:
    """The TraceRegistry for ``chain``: the recorded one (checked) or, in the key's leader
    only, a new deployment; found once per chain context and kept on it.

    ``data_dir`` None (or an embedded chain) keeps the deployment in memory only. A
    find-only process (:class:`DeployRole`) raises TraceRegistryNotDeployed while there is
    no record, and asks again (records refreshed from the database) on a later call.
    """
    return chain.local(TraceChain, lambda: _find_or_deploy(chain, data_dir))


def _find_or_deploy(chain: ChainContext, data_dir: Path | None) -> TraceChain:
    artifact = load_artifact(TRACE_REGISTRY)
    w3 = chain.w3
    record = None
    persist = data_dir is not None and chain.node.kind != ChainKind.EMBEDDED
    role = deploy_role(chain)
    if persist:
        assert data_dir is not None
        record = load_record(data_dir, int(w3.eth.chain_id), TRACE_REGISTRY)
        missing = record is None or _is_v1(w3, record, artifact)
        if role.find_only and missing and role.refreshed():
            record = load_record(data_dir, int(w3.eth.chain_id), TRACE_REGISTRY)
    if role.find_only and (record is None or _is_v1(w3, record, artifact)):
        raise TraceRegistryNotDeployed(
            "the TraceRegistry is not deployed yet: the chain writer's leader (the "
            "operator key's one sender) deploys it; this process only finds it"
        )
    if record is not None and _is_v1(w3, record, artifact):
        assert data_dir is not None
        _retire(data_dir, record.chain_id)
        record = None
    if record is not None:
        check_deployment(w3, record, artifact)
    else:
        record = deploy_trace_registry(w3, chain.sender, artifact)
        if persist:
            assert data_dir is not None
            save_record(data_dir, record)
    return TraceChain(TraceRegistryClient(w3, record.address, artifact.abi), record)
