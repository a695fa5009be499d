"""Prometheus metrics: what an operator watches (docs/operations.md, "Metrics").

Two kinds, kept apart so that no request pays for the other:

- **events**, counted where they happen, in :data:`EVENTS` (one per process, like the
  process itself): anchored batch sizes, time from a document's acceptance to its anchoring,
  gas per transaction, verify requests and their latency. A counter or a histogram costs a
  lock and an addition: the verify hot path takes nothing more (benchmarks/verify.py).
- **state**, read when ``/metrics`` is scraped and only then (:class:`RuntimeCollector`):
  evidence queue depth per status, chain operations per status, the chain head's block and
  age, blocks since the last anchor, and whether this process leads its signing key. Two
  grouped counts on the database and one ``eth_getBlockByNumber`` per scrape.

Who may read ``/metrics`` is decided in ``api/routes/metrics.py`` (an admin key, or
``CHAINPROOF_METRICS_PUBLIC``). ``chainproof worker`` has no API, yet its process is where
batches, gas and times to anchor are counted: ``CHAINPROOF_WORKER_METRICS`` ("host:port")
serves them (:func:`serve_worker_metrics`), without a key, so only on a private address.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from chainproof.chain.endpoints import pool_of
from chainproof.store.models import Batch, BatchStatus, Evidence, EvidenceStatus
from chainproof.store.ops import ChainOp, OpStatus

if TYPE_CHECKING:
    from chainproof.runtime import Runtime

__all__ = [
    "BATCH_SIZE",
    "EVENTS",
    "GAS_PER_TX",
    "TIME_TO_ANCHOR",
    "VERIFY_SECONDS",
    "RuntimeCollector",
    "observe_anchored",
    "render",
]

log = structlog.get_logger("chainproof.metrics")

EVENTS: Final = CollectorRegistry(auto_describe=True)

BATCH_SIZE: Final = Histogram(
    "chainproof_batch_size",
    "Documents in each anchored batch.",
    buckets=(1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000),
    registry=EVENTS,
)
TIME_TO_ANCHOR: Final = Histogram(
    "chainproof_time_to_anchor_seconds",
    "From a document's acceptance to its batch's confirmation.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
    registry=EVENTS,
)
GAS_PER_TX: Final = Histogram(
    "chainproof_gas_per_tx",
    "Gas used by each confirmed transaction, by kind (anchor, revoke, member, ...).",
    ["kind"],
    buckets=(30_000, 50_000, 75_000, 100_000, 150_000, 250_000, 500_000, 1_000_000, 3_000_000),
    registry=EVENTS,
)
VERIFY_SECONDS: Final = Histogram(
    "chainproof_verify_seconds",
    "Verify requests by route and status: the rate is its _count, the latency its buckets.",
    ["route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=EVENTS,
)
TX_CONFIRMED: Final = Counter(
    "chainproof_chain_tx_confirmed",
    "Confirmed chain transactions, by kind.",
    ["kind"],
    registry=EVENTS,
)


def observe_anchored(leaf_count: int, gas_used: int | None, accepted: Iterable[datetime]) -> None:
    """One anchoring transaction confirmed: its size, its gas, each document's wait."""
    BATCH_SIZE.observe(leaf_count)
    observe_gas("anchor", gas_used)
    now = datetime.now(UTC)
    for created in accepted:
        # SQLite hands back naive datetimes; the tables hold UTC only (models.utcnow).
        when = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
        TIME_TO_ANCHOR.observe(max(0.0, (now - when).total_seconds()))


def observe_gas(kind: str, gas_used: int | None) -> None:
    TX_CONFIRMED.labels(kind=kind).inc()
    if gas_used is not None:
        GAS_PER_TX.labels(kind=kind).observe(gas_used)


class RuntimeCollector(Collector):
    """The state of one runtime, read at scrape time (never on a request's path)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        yield self._leadership()
        yield from self._chain_head()
        pool = None if self.runtime.degraded else pool_of(self.runtime.chain.node)
        if pool is not None:
            yield from pool.metrics()

    def _queues(self) -> Iterator[Metric]:
        evidence = GaugeMetricFamily(
            "chainproof_evidence",
            "Evidence records by status (queued = the queue depth).",
            labels=["status"],
        )
        ops = GaugeMetricFamily(
            "chainproof_chain_ops",
            "Chain operations (the writer's outbox) by status.",
            labels=["status"],
        )
        with Session(self.runtime.engine) as s:
            by_evidence = dict(
                s.exec(select(Evidence.status, func.count()).group_by(Evidence.status)).all()
            )
            by_op = dict(
                s.exec(select(ChainOp.status, func.count()).group_by(ChainOp.status)).all()
            )
        for status in EvidenceStatus:
            evidence.add_metric([status.value], by_evidence.get(status.value, 0))
        for op_status in OpStatus:
            ops.add_metric([op_status.value], by_op.get(op_status.value, 0))
        yield evidence
        yield ops

    def _leadership(self) -> Metric:
        leader = GaugeMetricFamily(
            "chainproof_writer_leader",
            "1 where this process leads the signing key (runs its batcher and writer), else 0.",
            labels=["signer"],
        )
        runtime = self.runtime
        if not runtime.degraded:
            leads = runtime.batcher is not None
            leader.add_metric([runtime.chain.sender.address], 1 if leads else 0)
        return leader

    def _chain_head(self) -> Iterator[Metric]:
        runtime = self.runtime
        if runtime.degraded:
            return
        try:
            head = runtime.chain.w3.eth.get_block("latest")
        except Exception as exc:  # a scrape reports what it can; the node may be down
            log.warning("metrics: chain head unavailable", error=type(exc).__name__)
            return
        number, stamp = int(head["number"]), int(head["timestamp"])
        yield GaugeMetricFamily("chainproof_chain_head_block", "The node's latest block.", number)
        yield GaugeMetricFamily(
            "chainproof_chain_head_age_seconds",
            "Seconds since the latest block's timestamp (a stalled chain grows this).",
            max(0.0, time.time() - stamp),
        )
        with Session(runtime.engine) as s:
            last = s.exec(
                select(func.max(Batch.block_number)).where(
                    col(Batch.status) == BatchStatus.CONFIRMED.value
                )
            ).one()
        if last is not None:
            yield GaugeMetricFamily(
                "chainproof_blocks_since_last_anchor",
                "Blocks between the head and the last confirmed anchoring transaction.",
                max(0, number - int(last)),
            )


def serve_worker_metrics(runtime: Runtime, address: str) -> Callable[[], None]:
    """``chainproof worker``'s ``/metrics`` on ``address`` ("host:port"), in a thread; returns
    what stops it. No key is asked: the address is the access rule (a private network)."""
    host, _, port = address.rpartition(":")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Both(runtime))
    server, thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


class _Both(Collector):
    """This process's events and its runtime's state, as one registry."""

    def __init__(self, runtime: Runtime) -> None:
        self.state = RuntimeCollector(runtime)

    def collect(self) -> Iterator[Metric]:
        yield from EVENTS.collect()
        yield from self.state.collect()


def render(runtime: Runtime) -> bytes:
    """The text exposition: this process's events, then its runtime's state."""
    state = CollectorRegistry(auto_describe=False)
    state.register(RuntimeCollector(runtime))
    return generate_latest(EVENTS) + generate_latest(state)
