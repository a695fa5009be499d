"""``GET /.well-known/chainproof.json``: this server's trust anchor, for third parties to pin.

Public and cacheable (``Cache-Control`` + ``ETag``, ``If-None-Match`` answers 304): the
document changes only when the registry is redeployed. 503 while the node is not the
deployment's chain: a server publishes no anchor it cannot stand behind.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import ChainDep, RuntimeDep, SettingsDep, published_rpc_url
from chainproof.api.schemas import TrustAnchorOut, error_responses
from chainproof.chain.trust_anchor import server_trust_anchor
from chainproof.crosschain.bundle_files import with_crosschain_pins
from chainproof.trust import WELL_KNOWN_PATH

router = APIRouter()

CACHE_CONTROL: Final = "public, max-age=300"


@router.get(
    WELL_KNOWN_PATH,
    tags=["chain"],
    summary="Trust anchor",
    description=(
        "What a verifier pins before it believes a receipt: chain id, genesis hash, the "
        "registry's address and the keccak-256 of its runtime code, the TraceRegistry "
        "likewise, the public JSON-RPC URL, and past registries still honoured on this "
        "chain (format `chainproof-trust-anchor/1`, docs/receipt.md). Pin it out of band: "
        "a copy from the server you are checking proves only what that server says."
    ),
    response_model=TrustAnchorOut,
    responses={304: {"description": "Not modified (If-None-Match)."}, **error_responses(503)},
)
async def trust_anchor_document(
    request: Request, chain: ChainDep, settings: SettingsDep, runtime: RuntimeDep
) -> Response:
    anchor = await run_in_threadpool(
        server_trust_anchor,
        chain,
        data_dir=settings.data_dir,
        public_rpc_url=published_rpc_url(settings, chain),
    )
    # The main chain it is checkpointed into, its other chain (issue 22).
    anchor = await run_in_threadpool(with_crosschain_pins, anchor, runtime)
    body = json.dumps(anchor.document(), indent=2).encode() + b"\n"
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    asked = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in asked.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
