"""Chains behind one interface, one class per node kind (in the style of ApeWorX providers)::

    Node (abc)        kind      rpc_url                managed
    ├── EmbeddedNode  embedded  None                   yes  eth-tester + py-evm, in process
    ├── AnvilNode     anvil     http://127.0.0.1:PORT  yes  node_modules' anvil, --state FILE
    ├── GanacheNode   ganache   http://127.0.0.1:PORT  yes  node_modules' ganache, --database.dbPath
    └── ExternalNode  external  any http(s) URL        no   Besu, geth, a testnet

AnvilNode and GanacheNode live in :mod:`chainproof.chain.managed` with the process handling
they share; :func:`make_node` builds any kind from a ``CHAINPROOF_CHAIN`` value.

Every dev chain funds the same ten accounts at genesis (the keys of the public mnemonic
"test test ... junk", 10,000 ETH each, block gas limit 30,000,000), so code and tests sign
locally with :func:`dev_accounts` whatever the kind. ChainProof never uses node-managed
accounts: it signs with eth-account and sends with ``send_raw_transaction``.

Chain ids: embedded 131277322940537 (fixed by eth-tester), anvil 31337, ganache 1337.
"""

from __future__ import annotations

import abc
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import Web3Exception
from web3.types import RPCEndpoint, RPCResponse

from chainproof import tls
from chainproof.devchain import DEV_HD_PATH, DEV_MNEMONIC, DEV_PRIVATE_KEYS
from chainproof.errors import ChainError, ConfigError
from chainproof.vocabulary import ChainKind, chain_kind

__all__ = [
    "DEV_MNEMONIC",
    "EmbeddedNode",
    "ExternalNode",
    "Node",
    "bindable",
    "dev_accounts",
    "free_port",
    "make_node",
    "use_port_range",
    "wait_for_rpc",
]

DEV_BALANCE_ETH = 10_000  # Anvil's default; Ganache and eth-tester are told to match
DEV_GAS_LIMIT = 30_000_000
_RPC_TIMEOUT = 30.0  # per HTTP request once a node is up


def dev_accounts(count: int = len(DEV_PRIVATE_KEYS)) -> list[LocalAccount]:
    """The accounts every dev chain funds at genesis (public keys: dev chains only)."""
    return [Account.from_key(key) for key in DEV_PRIVATE_KEYS[:count]]


def display_url(url: str) -> str:
    """``url`` safe for logs and errors: hosted RPC URLs carry API keys in the path or query.
    A comma-separated list of endpoints is shown URL by URL."""
    if "," in url:
        return ", ".join(display_url(u.strip()) for u in url.split(",") if u.strip())
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return "<malformed URL>"
    host = parts.hostname or "?"
    netloc = f"{host}:{parts.port}" if parts.port else host
    hidden = parts.path not in ("", "/") or parts.query or parts.username or parts.password
    return f"{parts.scheme}://{netloc}{'/…' if hidden else ''}"


def http_web3(url: str) -> Web3:
    """A ``Web3`` over HTTP whose provider answers ``eth_chainId`` from its cache after the
    first call: web3's middleware and the sender asked for it before every transaction, 5 of
    a batch's JSON-RPC calls (tests/integration/test_rpc_calls.py). A node's chain id does not
    change under a running process; a reset chain is caught by the chain context's own,
    uncached check (a batch request), and a transaction signed for a stale id is refused."""
    provider = Web3.HTTPProvider(
        url,
        request_kwargs={"timeout": _RPC_TIMEOUT},
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
        # None: cache without first checking the chain's finality (that check is one more
        # eth_chainId and only matters to the block-keyed requests, which are not cached).
        request_cache_validation_threshold=None,
    )
    return Web3(provider)


class _PortRange:
    """Ports handed out in turn from one range (see :func:`use_port_range`)."""

    def __init__(self, first: int, last: int, start: int) -> None:
        self.first, self.size = first, last - first + 1
        self.next = start - first
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            for _ in range(self.size):
                port = self.first + self.next
                self.next = (self.next + 1) % self.size
                if bindable(port):
                    return port
        raise ConfigError(f"no free port left in {self.first}-{self.first + self.size - 1}")


_port_range: _PortRange | None = None


def use_port_range(first: int, last: int, *, start: int | None = None) -> None:
    """Makes :func:`free_port` hand out ports from ``first..last`` in turn (each checked free)
    instead of asking the kernel.

    Why: a port the kernel picks (bind port 0) comes from its ephemeral range, which it also
    hands to outgoing connections and to every other process asking the same way; a port
    freed a moment ago (a node just killed, to restart on the same port) can be handed to
    someone else before its owner binds it again. Several launchers on one host (test
    workers, servers) each given a disjoint range below ``ip_local_port_range`` never pick
    each other's ports, and walking the range in turn does not return a port soon after it
    was given out."""
    global _port_range
    if not 1024 <= first <= last <= 65535:
        raise ConfigError(f"not a port range: {first}-{last}")
    _port_range = _PortRange(first, last, first if start is None else start)


def bindable(port: int) -> bool:
    """Whether a node could listen on 127.0.0.1:``port`` now. As nodes bind: sockets of an
    earlier run in TIME_WAIT do not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago: the next free one of the range
    :func:`use_port_range` set, else one the kernel picks (bind port 0)."""
    if _port_range is not None:
        return _port_range.take()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_chain_id(url: str, *, timeout: float = 5.0) -> int:
    """One raw ``eth_chainId`` call. Raw httpx rather than Web3: no retries, no backoff."""
    response = httpx.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        timeout=timeout,
        verify=tls.client_context(),  # a readiness poll calls this many times
    )
    response.raise_for_status()
    body = response.json()
    if "result" not in body:
        raise ChainError(f"eth_chainId failed: {body.get('error')}")
    return int(body["result"], 16)


def wait_for_rpc(url: str, timeout: float, *, alive: Callable[[], bool] | None = None) -> None:
    """Poll ``eth_chainId`` until the node at ``url`` answers; ``ChainError`` after ``timeout``.

    ``alive`` lets a launcher give up at once when its child has already exited (a bad flag,
    a port in use) instead of waiting out the whole timeout.
    """
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    # Short tries first, so a dead child is noticed fast even when something else holds the
    # port and accepts without answering; longer ones later, for a slow node on a busy box.
    per_try = 0.2
    while True:
        try:
            rpc_chain_id(url, timeout=min(per_try, timeout))
            return
        except httpx.TimeoutException as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            per_try = min(per_try * 2, 2.0)
        except (httpx.HTTPError, ValueError, ChainError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if alive is not None and not alive():
            raise ChainError(f"the node exited before answering at {url}", url=url)
        if time.monotonic() >= deadline:
            raise ChainError(
                f"no JSON-RPC answer at {url} after {timeout:.1f}s ({last_error})", url=url
            )
        time.sleep(0.02)


class Node(abc.ABC):
    """A chain ChainProof can talk to. Use as a context manager to start and stop it."""

    kind: ClassVar[str]
    managed: ClassVar[bool] = True  # False: someone else runs it; stop() leaves it alone
    rpc_url: str | None = None

    @abc.abstractmethod
    def start(self) -> None:
        """Bring the node up (idempotent) and return once it answers."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Shut it down (idempotent); external nodes are left running."""

    @abc.abstractmethod
    def is_running(self) -> bool: ...

    @abc.abstractmethod
    def web3(self) -> Web3:
        """A connected ``Web3``; raises ``ChainError`` before ``start()``."""

    def dev_accounts(self) -> list[LocalAccount]:
        return dev_accounts()

    def chain_id(self) -> int:
        return int(self.web3().eth.chain_id)

    def snapshot(self) -> str:
        """Save the chain state; ``revert(id)`` returns to it. On Anvil and Ganache a revert
        consumes the snapshot (and later ones): take a fresh one after each revert."""
        return str(self._rpc("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        if self._rpc("evm_revert", [snapshot_id]) is not True:
            raise ChainError(f"{self.kind} node refused to revert to snapshot {snapshot_id}")

    def _rpc(self, method: str, params: list[Any]) -> Any:
        try:
            return self.web3().manager.request_blocking(RPCEndpoint(method), params)
        except (Web3Exception, OSError, ValueError) as exc:
            raise ChainError(f"{method} failed on the {self.kind} node: {exc}") from exc

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        url = display_url(self.rpc_url) if self.rpc_url else "in process"
        state = "running" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {url} {state}>"


def embedded_backend() -> tuple[Any, Any]:
    """eth-tester's ``EthereumTester`` and ``PyEVMBackend``, or a ``ConfigError`` naming the
    ``embedded`` extra that installs them (pre-releases, so not a runtime dependency)."""
    # Imported here: py-evm is a heavy import that only the embedded node needs.
    try:
        from eth_tester import EthereumTester, PyEVMBackend
    except ImportError as exc:
        raise ConfigError(
            "the embedded chain needs the 'embedded' extra (eth-tester and py-evm): "
            "pip install 'chainproof[embedded]' (make install does), or choose anvil, "
            f"ganache or an http(s):// JSON-RPC URL ({exc})",
            extra="embedded",
        ) from exc
    return EthereumTester, PyEVMBackend


class _SerialTesterProvider(EthereumTesterProvider):
    """eth-tester is not thread-safe, and a server calls it from its request threads, the
    batcher and the trace head publisher at once: a view call that lands while a block is
    being mined can fail ("chain unavailable") or see half a state. One request at a time,
    as a node's JSON-RPC endpoint would serve them."""

    def __init__(self, tester: Any) -> None:
        super().__init__(tester)
        self._serial = threading.RLock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._serial:
            return super().make_request(method, params)


class EmbeddedNode(Node):
    """eth-tester + py-evm in this process: fast to start, gone on ``stop()``."""

    kind = "embedded"

    def __init__(self) -> None:
        self._tester: Any = None  # eth_tester.EthereumTester (untyped library)
        self._w3: Web3 | None = None

    def start(self) -> None:
        if self._tester is not None:
            return
        EthereumTester, PyEVMBackend = embedded_backend()
        backend = PyEVMBackend.from_mnemonic(
            DEV_MNEMONIC,
            num_accounts=len(DEV_PRIVATE_KEYS),
            # eth-tester's default path is m/44'/60'/0'/i, which gives other addresses.
            hd_path=DEV_HD_PATH,
            genesis_state_overrides={"balance": Web3.to_wei(DEV_BALANCE_ETH, "ether")},
            genesis_parameters=PyEVMBackend.generate_genesis_params(
                overrides={"gas_limit": DEV_GAS_LIMIT}
            ),
        )
        self._tester = EthereumTester(backend)
        self._w3 = Web3(_SerialTesterProvider(self._tester))

    def stop(self) -> None:
        self._tester = None
        self._w3 = None

    def is_running(self) -> bool:
        return self._tester is not None

    def web3(self) -> Web3:
        if self._w3 is None:
            raise ChainError("the embedded node is not started; call start() first")
        return self._w3

    def snapshot(self) -> str:
        self.web3()  # the not-started error
        return str(self._tester.take_snapshot())

    def revert(self, snapshot_id: str) -> None:
        from eth_tester.exceptions import SnapshotNotFound

        self.web3()
        try:
            self._tester.revert_to_snapshot(int(snapshot_id))
        except (SnapshotNotFound, ValueError) as exc:
            raise ChainError(f"no snapshot {snapshot_id!r} on the embedded node") from exc


class ExternalNode(Node):
    """Any EVM JSON-RPC endpoint someone else runs (Besu, geth, a testnet)."""

    kind = "external"
    managed = False

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.rpc_url = url
        self.timeout = timeout
        self._w3: Web3 | None = None

    def start(self) -> None:
        try:
            rpc_chain_id(self.url, timeout=self.timeout)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, ChainError) as exc:
            shown = display_url(self.url)
            raise ChainError(
                f"cannot reach the JSON-RPC node at {shown}: {type(exc).__name__}: {exc}",
                url=shown,
            ) from exc
        self._w3 = http_web3(self.url)

    def stop(self) -> None:
        self._w3 = None  # not ours to shut down

    def is_running(self) -> bool:
        try:
            rpc_chain_id(self.url, timeout=self.timeout)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, ChainError):
            return False
        return True

    def web3(self) -> Web3:
        if self._w3 is None:
            raise ChainError("the external node is not checked yet; call start() first")
        return self._w3

    def dev_accounts(self) -> list[LocalAccount]:
        return []  # a real chain funds nobody for us


def make_node(
    spec: str,
    *,
    data_dir: Path,
    port: int | None = None,
    pool_options: dict[str, Any] | None = None,
) -> Node:
    """The node for a ``CHAINPROOF_CHAIN`` value; managed nodes keep their state in
    ``data_dir`` (``anvil-state.json`` or ``ganache-db/``). ``pool_options`` tune a list of
    URLs (:func:`chainproof.chain.endpoints.pool_options`; unset: from the environment)."""
    # Imported here: managed.py builds on Node, so a top-level import would be circular.
    from chainproof.chain.managed import AnvilNode, GanacheNode

    choice = spec.strip()
    kind = chain_kind(choice)
    shown = display_url(choice) if "://" in choice else repr(choice)
    if kind == ChainKind.ANVIL:
        return AnvilNode(state_file=data_dir / "anvil-state.json", port=port)
    if kind == ChainKind.GANACHE:
        return GanacheNode(db_path=data_dir / "ganache-db", port=port)
    if "," in choice:
        return _pool_node(choice, pool_options)
    if kind == ChainKind.EMBEDDED or choice.lower().startswith(("http://", "https://")):
        if port is not None:
            raise ConfigError(f"a port applies to anvil or ganache only, not to {shown}")
        return EmbeddedNode() if kind == ChainKind.EMBEDDED else ExternalNode(choice)
    raise ConfigError(
        f"unknown chain {shown}: choose embedded, anvil, ganache or an http(s):// JSON-RPC URL",
        spec=shown,
    )


def _pool_node(spec: str, options: dict[str, Any] | None) -> Node:
    """Several JSON-RPC URLs of one chain (chain/endpoints.py)."""
    # Imported here: endpoints.py builds on Node; settings are read when a pool is asked for.
    from chainproof.chain.endpoints import PoolNode, pool_options, split_urls
    from chainproof.config import get_settings

    urls = split_urls(spec)
    bad = [display_url(u) for u in urls if not u.lower().startswith(("http://", "https://"))]
    if bad or len(urls) < 2:
        raise ConfigError(
            f"a list of chains must be two or more http(s):// JSON-RPC URLs of one chain, "
            f"not {display_url(spec)}",
            spec=display_url(spec),
        )
    return PoolNode(urls, **(options if options is not None else pool_options(get_settings())))
