"""``GET /api/v1/evidence/{id}/court``: what the certificate states for a court (issue 19,
``web/court_facts.py``), as JSON: the certificate page's script shows it with the tab's key."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import RuntimeDep, SessionDep, ViewerDep
from chainproof.api.schemas import EX_EVIDENCE_ID, error_responses
from chainproof.web.court_facts import certificate_of, court_facts, court_json, trust_anchor_of

router = APIRouter(prefix="/api/v1")

_EXAMPLE: Final[dict[str, Any]] = {
    "received_at": "2026-12-07T15:50:23+00:00",
    "channel": "web",
    "channel_label": "网页 / web page",
    "uploader": "#1 cpk_XCNKXCV0… (submitter)",
    "client_name": "合同.pdf",
    "client_size": 28,
    "client_type": "application/pdf",
    "member_name": "示范企业甲",
    "member_address": "0x19A399de854a085d3F67E58Aa40191B457cE8C6c",
    "member_signature": "0xd291…1c",
    "tsa_time": "2026-12-07T15:50:25.029416+00:00",
    "tsa_serial": "21203362528977879552680130736761735706",
    "tsa_name": "CN=ChainProof Development TSA,O=ChainProof (development),C=CN",
    "genesis_hash": "0x3a7b6b49c62f46175967953863c7d343f9f1612bdecc1993cd96346bf8f1f297",
    "confirmations": 4,
    "not_before": 1796658623,
    "not_before_block": 2,
    "not_after": 1796658625,
    "width": 2,
    "checks": [{"name": "genesis", "ok": True, "detail": "…", "zh": "创世区块", "en": "genesis"}],
    "cli_command": "chainproof bundle ID -o proof.zip && chainproof verify-bundle proof.zip …",
    "bundle_path": "/api/v1/evidence/ID/bundle",
    "anchor_url": "http://127.0.0.1:8000/.well-known/chainproof.json",
}


@router.get(
    "/evidence/{evidence_id}/court",
    tags=["receipts"],
    summary="What the certificate states for a court",
    description=(
        "The record before the chain (receive time, channel, uploading key, the file name, "
        "size and type as received, the depositor and its EIP-712 signature), the time "
        "interval [not before, not after], the RFC 3161 time and serial, genesis and "
        "confirmations, how to verify, and the verification report with named checks. For "
        "those who may see the record (404 otherwise); 409 while not anchored."
    ),
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        **error_responses(401, 404, 409, 422),
    },
    openapi_extra={"security": [{}]},  # a key is optional: what it may see decides
)
async def read_court(
    evidence_id: Annotated[str, Path(examples=[EX_EVIDENCE_ID])],
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        anchor = trust_anchor_of(runtime)
        cert = certificate_of(
            session=session, runtime=runtime, evidence_id=evidence_id, viewer=viewer, anchor=anchor
        )
        facts = court_facts(
            session=session,
            runtime=runtime,
            cert=cert,
            viewer=viewer,
            anchor=anchor,
            tsa_state=request.app.state,
        )
        return court_json(facts)

    return await run_in_threadpool(build)
