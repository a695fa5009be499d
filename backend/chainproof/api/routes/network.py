"""``GET /api/v1/chain/network``: each RPC endpoint, the writer, the queue, gas and warnings
(admins and auditors); ``GET /api/v1/chain`` carries the same reading in counts only."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from chainproof.api.deps import AuditorDep, SessionDep, get_runtime
from chainproof.api.schemas import error_responses
from chainproof.chain.network import CACHE_SECONDS, NetworkStatus, network_status

router = APIRouter(prefix="/api/v1", tags=["chain"])


class EndpointOut(BaseModel):
    endpoint: str
    state: str
    head: int | None
    lag: int | None
    latency_ms: float | None
    reason: str | None


class NetworkOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "external",
                    "endpoints": [
                        {
                            "endpoint": "http://10.0.0.5:8545",
                            "state": "preferred",
                            "head": 1234,
                            "lag": 0,
                            "latency_ms": 3.1,
                            "reason": None,
                        },
                        {
                            "endpoint": "http://10.0.0.6:8545",
                            "state": "down",
                            "head": None,
                            "lag": None,
                            "latency_ms": None,
                            "reason": "no answer (ConnectError)",
                        },
                    ],
                    "best_head": 1234,
                    "head_age_seconds": 2.0,
                    "writer": "leading",
                    "queue_depth": 0,
                    "gas_today": 412000,
                    "signer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                    "signer_balance_wei": 10**20,
                    "warnings": ["http://10.0.0.6:8545 is down: no answer (ConnectError)"],
                }
            ]
        }
    )

    kind: str
    endpoints: list[EndpointOut]
    best_head: int | None
    head_age_seconds: float | None
    writer: str
    queue_depth: int
    gas_today: int
    signer: str | None
    signer_balance_wei: int | None
    warnings: list[str]


def cached_status(request: Request, session: Session) -> NetworkStatus:
    """One reading per app every CACHE_SECONDS: an anonymous route must not cost every
    caller two RPC calls and two counts (kept on the app, not in a module global)."""
    now = time.monotonic()
    cached: tuple[float, NetworkStatus] | None = getattr(request.app.state, "network", None)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    status = network_status(get_runtime(request), session)
    request.app.state.network = (now, status)
    return status


@router.get(
    "/chain/network",
    summary="Network health (admin, auditor)",
    description=(
        "For each configured JSON-RPC endpoint: its state (preferred, healthy, down), head, "
        "lag behind the best head, latency and why it is down; the chain head's age, the "
        "writer (leading or standby), the queue depth, gas spent today by anchoring, the "
        "signing account's balance, and warnings (an endpoint down, no block while records "
        "wait, a low balance). The same figures are Prometheus metrics (`/metrics`)."
    ),
    response_model=NetworkOut,
    responses=error_responses(401, 403),
)
def read_network(_caller: AuditorDep, request: Request, session: SessionDep) -> NetworkOut:
    return NetworkOut.model_validate(cached_status(request, session).as_dict())
