"""Where to verify (``/api/v1/chain``), anchoring batches, and the probes.

``/healthz`` says the process answers; ``/readyz`` says a request can be served correctly: the
database answers, the chain is reachable and is still the chain the index was built on
(docs/architecture.md, promise 6), and the batcher is alive. A failure is 503 naming the check that
failed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from chainproof.api.deps import (
    ChainDep,
    RowId,
    Runtime,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
    published_rpc_url,
)
from chainproof.api.errors import error_body
from chainproof.api.routes.network import cached_status
from chainproof.api.schemas import (
    BatchOut,
    ChainOut,
    CheckOut,
    HealthOut,
    NetworkSummaryOut,
    NotReadyOut,
    ReadyOut,
    error_responses,
)
from chainproof.chain.context import ChainContext
from chainproof.chain.endpoints import pool_of
from chainproof.crosschain.service import relay_check, second_anchor_check
from chainproof.errors import NotFoundError
from chainproof.runtime import UnavailableChain
from chainproof.store.models import Batch, BatchStatus

router = APIRouter()
log = structlog.get_logger("chainproof.api")


@router.get(
    "/api/v1/chain",
    tags=["chain"],
    summary="Where to verify",
    description=(
        "The chain id, registry contract and genesis hash this server anchors on, and a "
        "JSON-RPC URL a third party can verify receipts with (the configured public URL, "
        "else the managed node's). 503 while the server's chain is not the right one."
    ),
    response_model=ChainOut,
    responses=error_responses(503),
)
def read_chain(
    chain: ChainDep, settings: SettingsDep, request: Request, session: SessionDep
) -> ChainOut:
    chain.require_ok()  # a degraded server names no chain rather than a wrong one
    return ChainOut(
        network=NetworkSummaryOut(**cached_status(request, session).summary()),
        chain_id=chain.chain_id,
        contract=chain.contract,
        genesis_hash=chain.deployment.genesis_hash,
        rpc_url=published_rpc_url(settings, chain),
        kind=chain.node.kind,
        deployment_block=chain.deployment.block_number,
    )


def _get_batch(session: Session, batch_id: int) -> Batch:
    # Private stand-in for a service function evidence.service does not have yet.
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}", batch_id=batch_id)
    return batch


@router.get(
    "/api/v1/batches/{batch_id}",
    tags=["chain"],
    summary="Read one anchoring batch",
    description=(
        "A batch's root, transaction and block: public chain data once mined. Until the "
        "batch is confirmed its root, nonce and transaction hash are shown to admins only."
    ),
    response_model=BatchOut,
    responses=error_responses(401, 404, 422),
)
def read_batch(
    batch_id: RowId,
    session: SessionDep,
    viewer: ViewerDep,
) -> BatchOut:
    out = BatchOut.model_validate(_get_batch(session, batch_id), from_attributes=True)
    if out.status != BatchStatus.CONFIRMED.value and not viewer.is_admin:
        # A planned root, published, could be anchored by someone else first.
        out = out.model_copy(update={"root": None, "nonce": None, "tx_hash": None})
    return out


@router.get(
    "/healthz",
    tags=["system"],
    summary="Liveness",
    description="200 whenever the process answers; it checks nothing else.",
    response_model=HealthOut,
)
async def healthz() -> HealthOut:
    # async: a liveness answer needs no worker thread (a sync route would take a hop).
    return HealthOut(status="ok")


def _check_database(runtime: Runtime) -> tuple[CheckOut, str]:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        # The driver's text names hosts, users, paths: logged, never answered (F21).
        log.warning("readiness: database check failed", error=f"{type(exc).__name__}: {exc}")
        return CheckOut(ok=False, detail="the database does not answer"), "database_unavailable"
    return CheckOut(ok=True, detail="SELECT 1"), "ok"


# A probe must answer promptly even when the node accepts connections and never replies:
# the status check waits for the RPC timeout (30 s, times web3's retries), so it runs on a
# small pool of its own and the probe gives up on it after this long.
PROBE_TIMEOUT_S = 3.0
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chain-probe")


# A probe's answer is public, and a node's error text may hold its private URL: a fixed
# text, the details in the server's log.
_CHAIN_DETAIL = "chain node unreachable"


def _check_chain(chain: ChainContext) -> tuple[CheckOut, str]:
    pending = _probes.submit(chain.status, fresh=True)
    try:
        status = pending.result(timeout=PROBE_TIMEOUT_S)
    except FutureTimeout:
        detail = f"chain node unreachable: no answer within {PROBE_TIMEOUT_S:g} s"
        return CheckOut(ok=False, detail=detail), "unreachable"
    if not status.ok:
        # A mismatch is explained in our own words (chain ids, genesis, what to run); any
        # other failure by a fixed text.
        said = status.reason if status.code == "chain_mismatch" else None
        return CheckOut(ok=False, detail=said or _CHAIN_DETAIL), status.code
    return CheckOut(ok=True, detail=f"chain {chain.chain_id}, contract {chain.contract}"), "ok"


def _check_endpoints(chain: ChainContext) -> tuple[CheckOut, str] | None:
    """With several RPC endpoints: each one and why it is set aside (None with one node).
    Ready while one is healthy: the pool sends everything there. A degraded server's
    stand-in has no deployment, only the node it could start (its standby)."""
    node = chain.standby if isinstance(chain, UnavailableChain) else chain.node
    pool = pool_of(node) if node is not None else None
    if pool is None:
        return None
    return CheckOut(ok=bool(pool.healthy()), detail=pool.summary()), "unreachable"


def _check_batcher(runtime: Runtime) -> tuple[CheckOut, str]:
    batcher = runtime.batcher
    if batcher is None:
        note = runtime.batcher_note or "not started"
        # Another process's batcher, or none by choice: this replica still serves.
        return CheckOut(ok=not runtime.degraded, detail=note), "batcher_unavailable"
    if not batcher.alive:
        return CheckOut(ok=False, detail="the batcher thread has stopped"), "batcher_failed"
    if batcher.last_error is not None:  # its text is in the log (batcher.py)
        return CheckOut(ok=False, detail="the last batcher step failed"), "batcher_failed"
    return CheckOut(ok=True, detail=f"running; {batcher.batches_confirmed} batches confirmed"), "ok"


@router.get(
    "/readyz",
    tags=["system"],
    summary="Readiness",
    description=(
        "200 when the database answers, the chain is reachable and is the one the index "
        "was built on, and the batcher runs; otherwise 503 naming what failed."
    ),
    response_model=ReadyOut,
    responses={503: {"model": NotReadyOut, "description": "A check failed; see `checks`."}},
)
def readyz(runtime: RuntimeDep) -> Any:
    results = {
        "database": _check_database(runtime),
        "chain": _check_chain(runtime.chain),
        "batcher": _check_batcher(runtime),
    }
    endpoints = _check_endpoints(runtime.chain)
    if endpoints is not None:
        results["endpoints"] = endpoints
    if runtime.relay is not None:  # a fork of this chain under its checkpoints (issue 22)
        ok, detail = relay_check(runtime.relay)
        results["crosschain"] = CheckOut(ok=ok, detail=detail), "chain_mismatch"
    if runtime.second_anchorer is not None:  # dual anchoring: informative, never fails
        detail = second_anchor_check(runtime.second_anchorer)
        results["second_anchor"] = CheckOut(ok=True, detail=detail), "unreachable"
    checks = {name: check for name, (check, _) in results.items()}
    failed = [(name, check, code) for name, (check, code) in results.items() if not check.ok]
    if not failed:
        return ReadyOut(status="ready", checks=checks)
    _, _, code = failed[0]
    message = "; ".join(f"{name}: {check.detail}" for name, check, _ in failed)
    return JSONResponse(
        {
            **error_body(code, message),
            "checks": {name: check.model_dump() for name, check in checks.items()},
        },
        status_code=503,
    )
