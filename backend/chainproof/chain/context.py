"""The chain a running ChainProof talks to: node, deployed registry, operator key, and a
guard that keeps checking it is still the chain the index was built on (docs/architecture.md,
promise 6)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import structlog
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint

from chainproof.background import Renewal
from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.deployments import (
    REGISTRY,
    REGISTRY_V1,
    Deployment,
    OnDeployment,
    artifact_version,
    check_deployment,
    deploy_registry,
    ensure_registry,
    genesis_hash,
    load_honoured,
    load_record,
)
from chainproof.chain.endpoints import pool_of
from chainproof.chain.nodes import Node, make_node
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender, TxType
from chainproof.errors import ChainError, ChainMismatchError, ConfigError, WouldBlock
from chainproof.vocabulary import MANAGED_CHAINS, ChainKind, chain_kind

_T = TypeVar("_T")

log = structlog.get_logger("chainproof.chain")


class ChainLocals:
    """The working state kept per chain context, one of each kind, made on first use: the
    root states (``evidence/roots.py``), the trace registry client
    (``chain/trace_registry.py``), the recent head (``evidence/freshness.py``), the trust
    anchor (``chain/trust_anchor.py``) and the batch trees (``evidence/proofs.py``).

    It lives and dies with its context, which the runtime owns, so two runtimes in one
    process never share any of it and nothing outlives the chain it describes. Services
    reach it through the context they are handed (``chain.local(RootStates, ...)``); the
    kinds are defined where they are used, so this module imports none of them.
    """

    def __init__(self) -> None:
        self._items: dict[type, object] = {}
        # Held while one is made: a trace registry is found or deployed once per context.
        self._lock = threading.RLock()

    def get(self, kind: type[_T], make: Callable[[], _T]) -> _T:
        with self._lock:
            found = self._items.get(kind)
            if found is None:
                found = self._items[kind] = make()
            assert isinstance(found, kind)
            return found


@dataclass(frozen=True)
class ChannelRegistryRef:
    """A virtual channel's own EvidenceRegistry on this chain (docs/channels.md): where it
    is, the keccak-256 of its runtime code when deployed, and the channel's name."""

    address: str
    code_hash: str
    channel: str
    block_number: int = 0  # the deployment's block: events are read from there


def _no_channel_registries() -> Sequence[ChannelRegistryRef]:
    return ()


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    reason: str | None
    code: str  # "ok" | "chain_mismatch" | "unreachable"
    checked_at: float


class ChainContext(OnDeployment):
    """One node + one EvidenceRegistry deployment + the operator's sender."""

    # Where the virtual channels' registries are listed (the database): set by the runtime
    # (``use_channel_registries``), since this package reads no tables. None until then.
    _channel_source: Callable[[], Sequence[ChannelRegistryRef]] = staticmethod(
        _no_channel_registries
    )

    def __init__(
        self,
        *,
        node: Node,
        deployment: Deployment,
        artifact: ContractArtifact,
        operator: LocalAccount,
        status_ttl: float = 1.0,
        honoured: list[Deployment] | None = None,
        tx_type: TxType = "auto",
        gas_price: int | None = None,
    ) -> None:
        self.node = node
        self.w3: Web3 = node.web3()
        self.deployment = deployment
        self.artifact = artifact
        self.operator = operator
        self.registry = EvidenceRegistryClient(self.w3, deployment.address, artifact.abi)
        # Past registries of this chain still honoured (v1 after an upgrade): their anchors
        # still verify and their members may still revoke in them.
        self.honoured: list[Deployment] = list(honoured or [])
        self._past: dict[str, EvidenceRegistryClient] = {}
        self.sender = TxSender(self.w3, operator, tx_type=tx_type, gas_price=gas_price)
        self._status_ttl = status_ttl
        self._status: ChainStatus | None = None
        self._lock = threading.Lock()  # held while the node is asked
        self._locals = ChainLocals()
        # Renews the status in the background at half its age: under a steady verify load
        # no request waits for the node to be asked.
        self._ahead = Renewal(self._check_ahead, name="chainproof-chain-status")

    def local(self, kind: type[_T], make: Callable[[], _T]) -> _T:
        """This context's one ``kind`` (made by ``make`` the first time): see ChainLocals."""
        return self._locals.get(kind, make)

    def use_channel_registries(self, source: Callable[[], Sequence[ChannelRegistryRef]]) -> None:
        """Where :meth:`channel_registries` reads the virtual channels' registries from."""
        self._channel_source = source

    def channel_registries(self) -> Sequence[ChannelRegistryRef]:
        """The virtual channels' own registries on this chain (deployed ones only)."""
        return self._channel_source()

    def honours(self, address: str) -> bool:
        """Whether anchors in the registry at ``address`` count here: the current one, an
        honoured past one, or a virtual channel's (the registries ``registry_at`` serves)."""
        wanted = address.lower()
        return (
            wanted == self.deployment.address.lower()
            or any(d.address.lower() == wanted for d in self.honoured)
            or any(c.address.lower() == wanted for c in self.channel_registries())
        )

    def registry_at(self, address: str) -> EvidenceRegistryClient:
        """The client of the registry at ``address``: the current one, an honoured past
        one (with the ABI of its version), or a virtual channel's (deployed from today's
        sources). Anything else raises ChainMismatchError: a batch anchored on a registry
        this server no longer honours proves nothing here."""
        if address.lower() == self.deployment.address.lower():
            return self.registry
        client = self._past.get(address.lower())
        if client is not None:
            return client
        for d in self.honoured:
            if d.address.lower() == address.lower():
                name = REGISTRY if d.version == artifact_version(self.artifact) else REGISTRY_V1
                abi = self.artifact.abi if name == REGISTRY else load_artifact(name).abi
                client = EvidenceRegistryClient(self.w3, d.address, abi)
                self._past[address.lower()] = client
                return client
        for ref in self.channel_registries():
            if ref.address.lower() == address.lower():
                client = EvidenceRegistryClient(self.w3, ref.address, load_artifact(REGISTRY).abi)
                self._past[address.lower()] = client
                return client
        raise ChainMismatchError(
            f"the registry {address} is neither this server's ({self.deployment.address}) "
            "nor one it still honours",
            address=address,
        )

    def status(self, *, fresh: bool = False, may_block: bool = True) -> ChainStatus:
        """Is the node reachable and still the deployment's chain? Cached for ``status_ttl``
        seconds so a verify storm costs one genesis lookup a second, not one per request.

        ``may_block=False`` answers only from that cache and raises ``WouldBlock`` when it is
        stale (the caller is an event loop: it must not wait for the node, nor for the lock
        another thread holds while it asks the node)."""
        cached = self._status  # one attribute read: no lock needed to see a whole status
        if cached and not fresh:
            age = time.monotonic() - cached.checked_at
            if age < self._status_ttl:
                if age > self._status_ttl / 2:
                    self._ahead.start()
                return cached
        if not may_block:
            self._ahead.start()
            raise WouldBlock("the chain status is stale")
        with self._lock:
            cached = self._status
            if cached and not fresh and time.monotonic() - cached.checked_at < self._status_ttl:
                return cached
            self._status = self._check()
            return self._status

    def _check_ahead(self) -> None:
        with self._lock:
            cached = self._status
            if cached is None or time.monotonic() - cached.checked_at > self._status_ttl / 2:
                self._status = self._check()  # never raises: a failure is a status

    def _same_chain(self) -> bool:
        """The three facts of the check in one JSON-RPC batch, raw: chain id, genesis hash,
        code at the registry's address. True when all match; False sends the caller to the
        detailed checks (which name what differs). Through web3 they were three requests
        and a full block decode, twice a second under a verify load, each time holding up
        the event loop (docs/performance.md). Connection errors propagate (unreachable)."""
        provider = self.w3.provider
        if not isinstance(provider, JSONBaseProvider):  # HTTP, or the endpoint pool
            return False
        answers = provider.make_batch_request(
            [
                (RPCEndpoint("eth_chainId"), []),
                (RPCEndpoint("eth_getBlockByNumber"), ["0x0", False]),
                (RPCEndpoint("eth_getCode"), [self.deployment.address, "latest"]),
            ]
        )
        if not isinstance(answers, list) or len(answers) != 3:
            return False
        chain_id, genesis, code = (
            a.get("result") if isinstance(a, dict) else None for a in answers
        )
        return (
            isinstance(chain_id, str)
            and int(chain_id, 16) == self.deployment.chain_id
            and isinstance(genesis, dict)
            and str(genesis.get("hash", "")).lower() == self.deployment.genesis_hash.lower()
            and isinstance(code, str)
            and len(code) > 2
        )

    def _check(self) -> ChainStatus:
        now = time.monotonic()
        try:
            if self._same_chain():
                return ChainStatus(True, None, "ok", now)
            if int(self.w3.eth.chain_id) != self.deployment.chain_id or (
                genesis_hash(self.w3) != self.deployment.genesis_hash
            ):
                check_deployment(self.w3, self.deployment, self.artifact)  # raises with details
            if not self.w3.eth.get_code(Web3.to_checksum_address(self.deployment.address)):
                check_deployment(self.w3, self.deployment, self.artifact)
        except ChainMismatchError as exc:
            return ChainStatus(False, exc.message, "chain_mismatch", now)
        except Exception as exc:  # connection refused, timeouts: the node is unreachable
            # The exception's text may hold the node's private URL (and a token in it): it
            # goes to the log only; the status, which answers reach, says a fixed thing.
            log.warning("chain node unreachable", error=f"{type(exc).__name__}: {exc}")
            return ChainStatus(False, "chain node unreachable", "unreachable", now)
        return ChainStatus(True, None, "ok", now)

    def require_ok(self) -> None:
        st = self.status()
        if not st.ok:
            cls = ChainMismatchError if st.code == "chain_mismatch" else ChainError
            raise cls(st.reason or "chain unavailable")

    def stop(self) -> None:
        self.node.stop()


def require_admin_off(registry_admin: str | None, operator: str) -> None:
    """Production deploys a registry only with an admin that is not the operator's online
    key (docs/security.md F19): raises ConfigError otherwise."""
    if not registry_admin or registry_admin.lower() == operator.lower():
        raise ConfigError(
            "refusing to deploy EvidenceRegistry with the operator's online key as its admin: "
            "set CHAINPROOF_REGISTRY_ADMIN to an offline key's address (docs/operations.md, "
            "'Registry keys')"
        )


def open_chain(
    *,
    chain: str,
    data_dir: Path,
    operator_key: str,
    port: int | None = None,
    deploy_if_missing: bool = True,
    artifact: ContractArtifact | None = None,
    registry_admin: str | None = None,
    require_offline_admin: bool = False,
    tx_type: TxType = "auto",
    gas_price: int | None = None,
    pool_options: dict[str, Any] | None = None,
) -> ChainContext:
    """Starts (or connects to) the node and finds or deploys the registry.

    ``require_offline_admin`` (production) refuses to deploy a registry whose admin would be
    the operator's key; an embedded chain, which dies with the process, is exempt.

    A recorded deployment whose chain is gone raises ChainMismatchError: the caller decides
    whether to refuse to start (CLI) or to run degraded and say so (the server).
    """
    # A port only means something for a node we start ourselves.
    managed = chain_kind(chain) in MANAGED_CHAINS
    node = make_node(
        chain, data_dir=data_dir, port=port if managed else None, pool_options=pool_options
    )
    node.start()
    try:
        artifact = artifact or load_artifact(REGISTRY)
        operator: LocalAccount = Account.from_key(operator_key)
        w3 = node.web3()
        if node.kind == ChainKind.EMBEDDED:
            # An in-process chain dies with the process: a record of it would only make the
            # next start report a chain mismatch. Deploy afresh every time instead.
            fresh = deploy_registry(w3, operator, artifact, admin=registry_admin)
            return ChainContext(
                node=node,
                deployment=fresh,
                artifact=artifact,
                operator=operator,
                tx_type=tx_type,
                gas_price=gas_price,
            )
        chain_id = int(w3.eth.chain_id)
        record = load_record(data_dir, chain_id)
        if record is None and deploy_if_missing and require_offline_admin:
            require_admin_off(registry_admin, operator.address)
        if record is not None and record.version != artifact_version(artifact):
            # Not upgraded yet (`contracts deploy --upgrade`): keep anchoring on the
            # recorded registry, spoken to with its own version's ABI.
            artifact = load_artifact(REGISTRY_V1)
        deployment, _ = ensure_registry(
            w3,
            deployer=operator,
            artifact=artifact,
            data_dir=data_dir,
            deploy_if_missing=deploy_if_missing,
            admin=registry_admin,
        )
        if deployment.abi is not None and deployment.abi != artifact.abi:
            # Deployed from older sources whose interface differs: speak its own ABI.
            artifact = replace(artifact, abi=deployment.abi)
        pool = pool_of(node)
        if pool is not None:  # several endpoints: the deployment's chain is the one they must be on
            pool.pin(deployment.chain_id, deployment.genesis_hash)
        honoured = load_honoured(data_dir, chain_id)
        for past in honoured:
            check_deployment(w3, past, artifact)
        return ChainContext(
            node=node,
            deployment=deployment,
            artifact=artifact,
            operator=operator,
            honoured=[d for d in honoured if d.genesis_hash == deployment.genesis_hash],
            tx_type=tx_type,
            gas_price=gas_price,
        )
    except BaseException:
        node.stop()
        raise
