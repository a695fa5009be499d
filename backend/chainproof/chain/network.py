"""The network the operator runs, as the admin panel and ``GET /api/v1/chain`` show it.

Read at request time from what the endpoint pool's health rounds already found
(``chain/endpoints.py``), the main node's latest block, the signing account's balance, the
queue and today's confirmed batches. Thresholds for the warnings are here, said once.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import func
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.endpoints import pool_of
from chainproof.chain.nodes import display_url
from chainproof.runtime import Runtime
from chainproof.store.models import Batch, BatchStatus, Evidence, EvidenceStatus

STALLED_AFTER_SECONDS: Final = 300  # no new block for this long: the chain has stopped
CACHE_SECONDS: Final = 2.0  # anonymous callers of GET /api/v1/chain share one reading
LOW_BALANCE_WEI: Final = 10**17  # 0.1 ETH-equivalent: a few hundred anchoring transactions


@dataclass(frozen=True)
class EndpointStatus:
    endpoint: str  # shown without credentials or path (display_url)
    state: str  # preferred, healthy, down
    head: int | None
    lag: int | None  # blocks behind the best head
    latency_ms: float | None
    reason: str | None


@dataclass
class NetworkStatus:
    kind: str
    endpoints: list[EndpointStatus] = field(default_factory=list)
    best_head: int | None = None
    head_age_seconds: float | None = None
    writer: str = "stopped"  # leading (this process signs) or standby
    queue_depth: int = 0
    gas_today: int = 0
    signer: str | None = None
    signer_balance_wei: int | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """Counts only, for anonymous callers: no internal host names (F21)."""
        return {
            "endpoints": len(self.endpoints),
            "healthy": sum(1 for e in self.endpoints if e.state != "down"),
            "head": self.best_head,
            "ok": not self.warnings,
            "warnings": len(self.warnings),
        }


def network_status(runtime: Runtime, session: Session) -> NetworkStatus:
    chain = runtime.chain
    status = NetworkStatus(kind="degraded" if runtime.degraded else chain.node.kind)
    status.writer = "leading" if runtime.batcher is not None else "standby"
    status.queue_depth = int(
        session.exec(
            select(func.count())
            .select_from(Evidence)
            .where(col(Evidence.status) == EvidenceStatus.QUEUED.value)
        ).one()
    )
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    status.gas_today = int(
        session.exec(
            select(func.sum(Batch.gas_used)).where(
                col(Batch.status) == BatchStatus.CONFIRMED.value,
                col(Batch.confirmed_at) >= midnight,
            )
        ).one()
        or 0
    )
    if runtime.degraded:
        status.warnings.append("the server runs degraded: its chain is not the right one")
        return status
    pool = pool_of(chain.node)
    if pool is not None:
        best = pool.best_head()
        preferred = next((ep for ep in pool.endpoints if ep.healthy), None)
        for ep in pool.endpoints:
            state = "preferred" if ep is preferred else "healthy" if ep.healthy else "down"
            status.endpoints.append(
                EndpointStatus(
                    endpoint=display_url(ep.url),
                    state=state,
                    head=ep.head,
                    lag=None if best is None or ep.head is None else best - ep.head,
                    latency_ms=None if ep.latency is None else round(ep.latency * 1000, 1),
                    reason=ep.reason,
                )
            )
            if not ep.healthy:
                status.warnings.append(f"{display_url(ep.url)} is down: {ep.reason}")
    try:
        started = time.monotonic()
        latest = chain.w3.eth.get_block("latest")
        took = time.monotonic() - started
        status.signer = Web3.to_checksum_address(chain.sender.address)
        status.signer_balance_wei = int(chain.w3.eth.get_balance(status.signer))
    except Exception as exc:  # a page reports what it can; the node may be down
        status.warnings.append(f"the chain does not answer ({type(exc).__name__})")
        return status
    head, stamp = int(latest["number"]), int(latest["timestamp"])
    status.best_head = max(head, status.best_head or 0)
    if pool is None:
        shown = display_url(chain.node.rpc_url) if chain.node.rpc_url else "in-process"
        status.endpoints.append(
            EndpointStatus(shown, "preferred", head, 0, round(took * 1000, 1), None)
        )
    else:
        status.best_head = max(status.best_head, pool.best_head() or 0)
    status.head_age_seconds = round(max(0.0, time.time() - stamp), 1)
    # Development chains mine only when sent a transaction: a quiet chain is not a stalled
    # one, unless records are waiting for a block that does not come.
    if status.head_age_seconds > STALLED_AFTER_SECONDS and status.queue_depth:
        status.warnings.append(
            f"no new block for {status.head_age_seconds:.0f} s while "
            f"{status.queue_depth} records wait"
        )
    if status.signer_balance_wei < LOW_BALANCE_WEI:
        status.warnings.append(
            f"the signing account {status.signer} runs low: "
            f"{status.signer_balance_wei / 10**18:.4f} left"
        )
    return status
