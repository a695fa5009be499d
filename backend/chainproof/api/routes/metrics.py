"""``GET /metrics``: the Prometheus exposition (``chainproof/metrics.py``).

Who may read it: an **admin key**, or anyone when ``CHAINPROOF_METRICS_PUBLIC`` is set. The
metrics name the signing key's address, queue depths and the chain's lag: internals an
anonymous caller has no business reading (docs/operations.md, "Metrics"). Set the setting
only where the port is reachable from the scraper's private network alone; otherwise give
the scraper an admin key (Prometheus ``authorization: {credentials: ...}``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import CallerDep, RuntimeDep, require_role
from chainproof.api.schemas import error_responses
from chainproof.metrics import render

router = APIRouter()
_require_admin = require_role()
_EXAMPLE = (
    "# TYPE chainproof_evidence gauge\n"
    'chainproof_evidence{status="queued"} 12.0\n'
    'chainproof_evidence{status="anchored"} 10480.0\n'
    "# TYPE chainproof_writer_leader gauge\n"
    'chainproof_writer_leader{signer="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"} 1.0\n'
)


@router.get(
    "/metrics",
    tags=["system"],
    summary="Prometheus metrics",
    description=(
        "Queue depth per evidence status, chain operations per status, batch sizes, time to "
        "anchor, gas per transaction, chain head lag, writer leadership, verify rate and "
        "latency, in the Prometheus text format. Needs an admin key unless the server sets "
        "`CHAINPROOF_METRICS_PUBLIC`."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {
                CONTENT_TYPE_LATEST: {"schema": {"type": "string"}, "example": _EXAMPLE},
            }
        },
        **error_responses(401, 403),
    },
)
async def metrics(runtime: RuntimeDep, caller: CallerDep) -> Response:
    if not runtime.settings.metrics_public:
        _require_admin(caller)
    # Two grouped counts and a block lookup: off the event loop.
    body = await run_in_threadpool(render, runtime)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
