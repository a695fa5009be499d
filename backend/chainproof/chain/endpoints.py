"""Several JSON-RPC endpoints of one chain, behind one ``Web3``.

A consortium chain (Besu QBFT, clique, FISCO BCOS) is reached through the RPC endpoints of
several member nodes. Any one of them may be down, lag behind, sit on a minority fork, or be
a node of another network altogether (a misconfigured URL). :class:`EndpointPool` keeps each
endpoint's health, checked in the background every ``check_interval`` seconds:

* it answers (``eth_chainId``, block 0 and ``eth_blockNumber`` in one batch, within
  ``timeout``);
* its chain id and genesis hash are the pinned ones (the deployment's; before a deployment
  is known, those of the majority of the endpoints that answer);
* its head is within ``max_lag`` blocks of the best head;
* it reports the same block hash as the majority at a height every endpoint has.

An endpoint that fails a check is *set aside*, loudly: a structlog warning naming it and why,
``/readyz`` detail, and the ``chainproof_rpc_endpoint_healthy`` gauge; it is taken back (an
info line) once a later check passes. Requests go to the *preferred* healthy endpoint, the
first healthy one in the configured order, reads and writes alike: one node answers a
transaction's nonce, its broadcast and its receipt, so a read never runs behind a write the
same process just made on another node. A request that gets no answer sets its endpoint
aside at once and goes to the next healthy one (a raw transaction sent twice is the same
transaction). :meth:`EndpointPool.agreement` asks every endpoint of the pinned chain for one
block's hash: verification can require k of n to agree (``CHAINPROOF_VERIFY_QUORUM``).

URLs are shown through :func:`display_url` only: a hosted endpoint's path carries its token.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from web3 import Web3
from web3.providers import HTTPProvider, JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from chainproof.chain.nodes import Node, display_url
from chainproof.config import Settings
from chainproof.errors import ChainError

log = structlog.get_logger("chainproof.endpoints")

DEFAULT_MAX_LAG = 3  # blocks: a clique network's out-of-turn sealing jitter, not a stall
DEFAULT_CHECK_INTERVAL = 1.0  # seconds between health rounds
DEFAULT_TIMEOUT = 2.0  # seconds an endpoint has to answer a health probe
_REQUEST_TIMEOUT = 10.0  # per request through the pool: a hung node fails over in bounded time


def pool_options(settings: Settings) -> dict[str, Any]:
    """The pool's tuning from the settings (CHAINPROOF_ENDPOINT_*, CHAINPROOF_VERIFY_QUORUM)."""
    return {
        "max_lag": settings.endpoint_max_lag,
        "check_interval": settings.endpoint_check_interval_ms / 1000,
        "quorum": settings.verify_quorum,
    }


def split_urls(spec: str) -> list[str]:
    """The endpoints of a ``CHAINPROOF_CHAIN`` value: one URL, or several separated by commas."""
    return [u.strip() for u in spec.split(",") if u.strip()]


@dataclass(eq=False)  # compared (and hashed) by identity: one object per configured URL
class Endpoint:
    """One JSON-RPC URL and what the last check found."""

    index: int
    url: str
    provider: HTTPProvider
    session: requests.Session  # the provider's one session, closed with the pool
    healthy: bool = False
    reason: str | None = "not checked yet"
    head: int | None = None
    chain_id: int | None = None
    genesis: str | None = None
    checked_at: float = 0.0
    latency: float | None = None  # seconds the last health round's batch took

    @property
    def shown(self) -> str:
        return f"#{self.index} {display_url(self.url)}"


@dataclass(frozen=True)
class Agreement:
    """How many endpoints of the pinned chain report ``block_hash`` at ``block_number``."""

    block_number: int
    block_hash: str
    agreed: int
    asked: int
    disagreeing: list[str] = field(default_factory=list)  # shown URL: what it said

    def as_dict(self, required: int) -> dict[str, int]:
        # Counts only: which endpoints said what names internal hosts (the log has it).
        return {"required": required, "agreed": self.agreed, "asked": self.asked}


def _member(index: int, url: str) -> Endpoint:
    # No web3 retries: failing over to the next endpoint is the retry, and web3's backoff
    # (about 2 s over five tries) would hold every request up behind a dead preferred node.
    # An explicit session, not web3's per-URL cache, so close() can close its sockets.
    session = requests.Session()
    provider = HTTPProvider(
        url,
        request_kwargs={"timeout": _REQUEST_TIMEOUT},
        session=session,
        exception_retry_configuration=None,
    )
    return Endpoint(index, url, provider, session)


class EndpointPool:
    def __init__(
        self,
        urls: list[str],
        *,
        max_lag: int = DEFAULT_MAX_LAG,
        check_interval: float = DEFAULT_CHECK_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
        quorum: int = 0,
    ) -> None:
        if not urls:
            raise ChainError("no JSON-RPC endpoint given")
        self.endpoints = [_member(i, u) for i, u in enumerate(urls)]
        self.max_lag = max_lag
        self.check_interval = check_interval
        self.timeout = timeout
        self.quorum = quorum  # k of n must agree on an anchoring block's hash (0: not asked)
        self.pinned: tuple[int, str] | None = None  # (chain id, genesis hash)
        self._pinned_by_deployment = False
        self._lock = threading.Lock()  # one health round at a time
        self._http = httpx.Client(timeout=timeout)
        self._probe = ThreadPoolExecutor(
            max_workers=min(8, len(urls)), thread_name_prefix="chainproof-rpc-probe"
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """One health round now (so the first request has a healthy endpoint), then one
        every ``check_interval`` seconds in a thread."""
        if self._http.is_closed:  # stopped before
            self._http = httpx.Client(timeout=self.timeout)
        self.check()
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="chainproof-rpc-health", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stops the checker and closes every connection (a stopped node holds no sockets;
        ``start`` opens them again)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._http.close()
        for ep in self.endpoints:
            ep.session.close()  # its connection pools; the session stays usable

    def close(self) -> None:
        self.stop()
        self._probe.shutdown(wait=False)

    def _run(self) -> None:
        while not self._stop.wait(self.check_interval):
            try:
                self.check()
            except Exception as exc:  # a round never kills the checker
                log.warning("endpoint health round failed", error=f"{type(exc).__name__}: {exc}")

    # ---- pinning --------------------------------------------------------------------------

    def pin(self, chain_id: int, genesis_hash: str) -> None:
        """The chain every endpoint must be on: the deployment's. Endpoints on another one
        are set aside from the next round on (this one, run now)."""
        self.pinned = (int(chain_id), genesis_hash.lower())
        self._pinned_by_deployment = True
        self.check()

    # ---- health ---------------------------------------------------------------------------

    def _rpc_batch(self, url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        body = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        answers = self._http.post(url, json=body).json()
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise ChainError("the endpoint did not answer the batch")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        out = []
        for i in range(len(calls)):
            a = by_id.get(i) or {}
            if "result" not in a:
                raise ChainError(f"{calls[i][0]} failed: {a.get('error')}")
            out.append(a["result"])
        return out

    def _probe_one(self, ep: Endpoint) -> str | None:
        """Fills ``ep``'s chain id, genesis and head; the reason it cannot be used, if any."""
        started = time.monotonic()
        try:
            chain_id, genesis, head = self._rpc_batch(
                ep.url,
                [
                    ("eth_chainId", []),
                    ("eth_getBlockByNumber", ["0x0", False]),
                    ("eth_blockNumber", []),
                ],
            )
            ep.chain_id = int(chain_id, 16)
            ep.genesis = str((genesis or {}).get("hash", "")).lower()
            ep.head = int(head, 16)
        except (httpx.HTTPError, ValueError, TypeError, AttributeError, ChainError) as exc:
            ep.head = ep.latency = None
            return f"no answer ({type(exc).__name__})"
        ep.latency = time.monotonic() - started
        return None

    def check(self) -> None:
        """One health round over every endpoint (in parallel: a hung one costs ``timeout``)."""
        with self._lock:
            reasons: dict[int, str | None] = dict(
                zip(
                    [ep.index for ep in self.endpoints],
                    self._probe.map(self._probe_one, self.endpoints),
                    strict=True,
                )
            )
            answering = [ep for ep in self.endpoints if reasons[ep.index] is None]
            if self.pinned is None and answering:
                # Before a deployment is known: the chain most endpoints are on (ties: the
                # one listed first). One wrong URL never decides which chain this is.
                votes = Counter((ep.chain_id, ep.genesis) for ep in answering)
                top = max(votes.values())
                first = next(ep for ep in answering if votes[(ep.chain_id, ep.genesis)] == top)
                self.pinned = (int(first.chain_id or 0), str(first.genesis))
            on_chain: list[Endpoint] = []
            for ep in answering:
                assert self.pinned is not None
                if ep.chain_id != self.pinned[0]:
                    reasons[ep.index] = f"another chain (chain id {ep.chain_id})"
                elif ep.genesis != self.pinned[1]:
                    reasons[ep.index] = f"another chain (genesis {ep.genesis})"
                else:
                    on_chain.append(ep)
            best = max((ep.head or 0 for ep in on_chain), default=0)
            current = []
            for ep in on_chain:
                lag = best - (ep.head or 0)
                if lag > self.max_lag:
                    reasons[ep.index] = f"lagging {lag} blocks behind the best head {best}"
                else:
                    current.append(ep)
            for ep, why in self._forks(current).items():
                reasons[ep.index] = why
            now = time.monotonic()
            for ep in self.endpoints:
                self._record(ep, reasons[ep.index], now)

    def _forks(self, current: list[Endpoint]) -> dict[Endpoint, str]:
        """Endpoints whose block hash at a height all of them have differs from the
        majority's (a minority fork); with fewer than two there is nothing to compare."""
        if len(current) < 2:
            return {}
        height = min(ep.head or 0 for ep in current)

        def block_hash(ep: Endpoint) -> str | None:
            try:
                (block,) = self._rpc_batch(ep.url, [("eth_getBlockByNumber", [hex(height), False])])
                return str(block["hash"]).lower()
            except (httpx.HTTPError, ValueError, TypeError, KeyError, ChainError):
                return None

        hashes = dict(zip(current, self._probe.map(block_hash, current), strict=True))
        votes = Counter(h for h in hashes.values() if h is not None)
        if not votes:
            return {}
        majority, count = votes.most_common(1)[0]
        if count * 2 <= len(current):
            return {}  # no majority: nobody can be named the odd one out
        out: dict[Endpoint, str] = {}
        for ep, h in hashes.items():
            if h is None:
                out[ep] = f"no answer for block {height}"
            elif h != majority:
                out[ep] = f"block {height} is {h} there, {majority} on the majority of endpoints"
        return out

    def _record(self, ep: Endpoint, reason: str | None, now: float) -> None:
        was_healthy, was_reason = ep.healthy, ep.reason
        ep.healthy, ep.reason, ep.checked_at = reason is None, reason, now
        if reason is not None and (was_healthy or was_reason != reason):
            if was_reason == "not checked yet" or was_healthy or was_reason is None:
                log.warning("rpc endpoint set aside", endpoint=ep.shown, reason=reason)
            else:
                log.warning("rpc endpoint still set aside", endpoint=ep.shown, reason=reason)
        elif reason is None and not was_healthy and was_reason != "not checked yet":
            log.info("rpc endpoint taken back", endpoint=ep.shown, was=was_reason)

    def set_aside(self, ep: Endpoint, reason: str) -> None:
        """A request through ``ep`` failed: stop sending it requests until a check passes."""
        self._record(ep, reason, time.monotonic())

    # ---- routing --------------------------------------------------------------------------

    def healthy(self) -> list[Endpoint]:
        return [ep for ep in self.endpoints if ep.healthy]

    def preferred(self) -> Endpoint:
        for ep in self.endpoints:
            if ep.healthy:
                return ep
        raise ChainError("no healthy JSON-RPC endpoint: " + self.summary())

    def summary(self) -> str:
        """Each endpoint and its state, for ``/readyz`` and errors."""
        parts = []
        preferred = next((ep for ep in self.endpoints if ep.healthy), None)
        for ep in self.endpoints:
            if ep.healthy:
                state = "preferred" if ep is preferred else "healthy"
            else:
                state = f"set aside: {ep.reason}"
            parts.append(f"{ep.shown} {state}")
        return "; ".join(parts)

    def agreement(self, block_number: int, block_hash: str) -> Agreement:
        """Asks every endpoint on the pinned chain (set aside for lag or a fork or not) for
        the hash of ``block_number``; endpoints of another chain or that do not answer are
        not asked / count as not agreeing."""
        asked = [
            ep
            for ep in self.endpoints
            if self.pinned is None or (ep.chain_id, ep.genesis) == self.pinned
        ]

        def hash_at(ep: Endpoint) -> str | None:
            try:
                (block,) = self._rpc_batch(
                    ep.url, [("eth_getBlockByNumber", [hex(block_number), False])]
                )
                return str(block["hash"]).lower() if block else None
            except (httpx.HTTPError, ValueError, TypeError, KeyError, ChainError):
                return None

        said = list(self._probe.map(hash_at, asked))
        want = block_hash.lower()
        disagreeing = [
            f"{ep.shown}: {h or 'no such block'}"
            for ep, h in zip(asked, said, strict=True)
            if h != want
        ]
        return Agreement(
            block_number, want, sum(1 for h in said if h == want), len(asked), disagreeing
        )

    def metrics(self) -> Iterator[Metric]:
        healthy = GaugeMetricFamily(
            "chainproof_rpc_endpoint_healthy",
            "1 while a JSON-RPC endpoint passes its health checks, 0 while it is set aside.",
            labels=["endpoint"],
        )
        head = GaugeMetricFamily(
            "chainproof_rpc_endpoint_head_block",
            "The head each JSON-RPC endpoint reported at its last check.",
            labels=["endpoint"],
        )
        lag = GaugeMetricFamily(
            "chainproof_rpc_endpoint_lag_blocks",
            "Blocks each JSON-RPC endpoint's head is behind the best head of the pool.",
            labels=["endpoint"],
        )
        latency = GaugeMetricFamily(
            "chainproof_rpc_endpoint_latency_seconds",
            "How long each JSON-RPC endpoint took to answer its last health check.",
            labels=["endpoint"],
        )
        best = self.best_head()
        for ep in self.endpoints:
            healthy.add_metric([ep.shown], 1 if ep.healthy else 0)
            if ep.head is not None:
                head.add_metric([ep.shown], ep.head)
                if best is not None:
                    lag.add_metric([ep.shown], best - ep.head)
            if ep.latency is not None:
                latency.add_metric([ep.shown], ep.latency)
        yield healthy
        yield head
        yield lag
        yield latency

    def best_head(self) -> int | None:
        """The highest head any endpoint reported at its last check."""
        heads = [ep.head for ep in self.endpoints if ep.head is not None]
        return max(heads) if heads else None


_FAILOVER_ERRORS = (OSError, requests.RequestException)


class PoolProvider(JSONBaseProvider):
    """A web3 provider that sends each request to the pool's preferred healthy endpoint and,
    when it gets no answer, sets that one aside and tries the next."""

    def __init__(self, pool: EndpointPool) -> None:
        super().__init__()
        self.pool = pool

    def __str__(self) -> str:
        return f"RPC pool of {len(self.pool.endpoints)} endpoints"

    def _each(self) -> Iterator[Endpoint]:
        tried: set[int] = set()
        while True:
            try:
                ep = self.pool.preferred()
            except ChainError as exc:
                # An OSError, as a single node that is down raises: callers already treat
                # that as "unreachable, try again later".
                raise ConnectionError(str(exc)) from exc
            if ep.index in tried:
                raise ConnectionError("no JSON-RPC endpoint answered")
            tried.add(ep.index)
            yield ep

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_chainId" and self.pool.pinned is not None:
            # Healthy endpoints are on the pinned chain by definition.
            return {"jsonrpc": "2.0", "id": 0, "result": hex(self.pool.pinned[0])}
        for ep in self._each():
            try:
                return ep.provider.make_request(method, params)
            except _FAILOVER_ERRORS as exc:
                self.pool.set_aside(ep, f"no answer to {method} ({type(exc).__name__})")
        raise AssertionError("unreachable")  # _each raises when it runs out

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        for ep in self._each():
            try:
                return ep.provider.make_batch_request(requests)
            except _FAILOVER_ERRORS as exc:
                self.pool.set_aside(ep, f"no answer to a batch ({type(exc).__name__})")
        raise AssertionError("unreachable")

    def is_connected(self, show_traceback: bool = False) -> bool:
        return bool(self.pool.healthy())


class PoolNode(Node):
    """Several external endpoints of one chain (``CHAINPROOF_CHAIN=url1,url2,...``)."""

    kind = "external"
    managed = False

    def __init__(self, urls: list[str], **pool_options: Any) -> None:
        self.urls = urls
        self.rpc_url = urls[0]
        self.pool = EndpointPool(urls, **pool_options)
        self._w3: Web3 | None = None

    def start(self) -> None:
        if self._w3 is not None:
            return
        self.pool.start()
        if not self.pool.healthy():
            summary = self.pool.summary()
            self.pool.stop()
            raise ChainError(f"no usable JSON-RPC endpoint: {summary}")
        self._w3 = Web3(PoolProvider(self.pool))

    def stop(self) -> None:
        self.pool.stop()
        self._w3 = None  # not ours to shut down

    def is_running(self) -> bool:
        return bool(self.pool.healthy())

    def web3(self) -> Web3:
        if self._w3 is None:
            raise ChainError("the endpoint pool is not started; call start() first")
        return self._w3

    def dev_accounts(self) -> list[Any]:
        return []  # a real chain funds nobody for us

    def __repr__(self) -> str:
        return f"<PoolNode {self.pool.summary()}>"


def quorum_check(node: Node, block_number: int, block_hash: str) -> tuple[dict[str, int], bool]:
    """``({"required", "agreed", "asked"}, enough)`` for an anchoring block, when the node is
    a pool with a quorum; ``({}, True)`` otherwise (nothing asked)."""
    pool = pool_of(node)
    if pool is None or pool.quorum <= 0:
        return {}, True
    agreement = pool.agreement(block_number, block_hash)
    if agreement.agreed < pool.quorum:
        log.warning(
            "endpoints disagree on an anchoring block",
            block=block_number,
            block_hash=block_hash,
            agreed=agreement.agreed,
            required=pool.quorum,
            disagreeing=agreement.disagreeing,
        )
    return agreement.as_dict(pool.quorum), agreement.agreed >= pool.quorum


def pool_of(node: Node) -> EndpointPool | None:
    """The endpoint pool behind ``node``, if it has one."""
    return node.pool if isinstance(node, PoolNode) else None
