"""``/tsa``: the RFC 3161 time-stamp authority over HTTP (RFC 3161 §3.4).

``POST /tsa`` takes a DER ``TimeStampReq`` (``application/timestamp-query``) and answers a
``TimeStampResp`` (``application/timestamp-reply``): granted, or a rejection with its failure
bit. The body is read at most ``MAX_QUERY_BYTES`` + 1 bytes before anything parses it; the
route is rate-limited per key, or per address for anonymous callers (``api/ratelimit.py``).
Each granted token's imprint is queued for anchoring as evidence of the key's org, or of the
platform when anonymous (``CHAINPROOF_TSA_ANONYMOUS``, on by default).

``GET /tsa/ca.pem`` is the root to verify tokens with; ``GET /tsa/tsa.pem`` the TSA's own
certificate (``openssl ts -verify -untrusted tsa.pem`` when a query did not ask for it).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import CallerDep, SettingsDep, get_runtime
from chainproof.api.errors import NotAuthenticatedError, PayloadTooLargeError
from chainproof.api.schemas import error_responses
from chainproof.errors import AuthError
from chainproof.evidence.reception import receive
from chainproof.roles import Role
from chainproof.timestamping.authority import (
    MAX_QUERY_BYTES,
    QUERY_MEDIA_TYPE,
    REPLY_MEDIA_TYPE,
    Issued,
)
from chainproof.timestamping.service import queue_stamp, tsa_of

router = APIRouter(tags=["timestamps"])

_PEM: Final = "application/x-pem-file"
# A granted token's evidence: its receipt (with the token) at /api/v1/evidence/{id}/receipt.
EVIDENCE_HEADER: Final = "ChainProof-Evidence-Id"
_QUERY_BODY: Final = {
    "required": True,
    "content": {
        QUERY_MEDIA_TYPE: {
            "schema": {"type": "string", "format": "binary"},
            "example": "(DER bytes: openssl ts -query -data FILE -sha256 -cert -out q.tsq)",
        }
    },
}
_PEM_ANSWER: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "content": {
            _PEM: {"example": "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"}
        },
        "description": "PEM certificate.",
    }
}


async def _bounded_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_QUERY_BYTES:
            raise PayloadTooLargeError(
                f"a time-stamp query is at most {MAX_QUERY_BYTES} bytes", limit=MAX_QUERY_BYTES
            )
    return bytes(body)


@router.post(
    "/tsa",
    summary="RFC 3161 time stamp",
    description=(
        "An RFC 3161 time-stamp query (DER, `application/timestamp-query`: `openssl ts "
        "-query -data FILE -sha256 -cert`) answered with a token (`application/timestamp-"
        "reply`), or a `rejection` naming the failure (badAlg, badRequest, badDataFormat, "
        "unacceptedPolicy, unacceptedExtension). SHA-256, SHA-384, SHA-512 and SM3 imprints; "
        "nonce, certReq and the policy OID honoured; ESSCertIDv2 (RFC 5816). Each token's "
        "imprint is queued for anchoring as the key's org's evidence (the platform's when "
        "anonymous, if the server allows it). Verify with `openssl ts -verify -queryfile Q "
        "-in R -CAfile ca.pem` (`GET /tsa/ca.pem`)."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {REPLY_MEDIA_TYPE: {"example": "(DER bytes: a TimeStampResp)"}},
            "description": "A TimeStampResp; when granted, the evidence id in a header.",
            "headers": {
                EVIDENCE_HEADER: {
                    "description": "The public id the token's imprint was queued as.",
                    "schema": {"type": "string"},
                }
            },
        },
        **error_responses(401, 403, 413),
    },
    openapi_extra={"requestBody": _QUERY_BODY, "security": [{}]},  # a key is optional
)
async def timestamp(request: Request, caller: CallerDep, settings: SettingsDep) -> Response:
    if caller.authenticated:
        if caller.role not in (Role.SUBMITTER, Role.ADMIN):
            raise AuthError(
                "a time stamp is queued as your org's evidence: it needs a submitter key"
            )
    elif not settings.tsa_anonymous:
        raise NotAuthenticatedError("this TSA needs an API key: send `Authorization: Bearer <key>`")
    query = await _bounded_body(request)
    runtime = get_runtime(request)
    tsa = await run_in_threadpool(tsa_of, request.app.state, settings)
    answer = await run_in_threadpool(tsa.authority.respond, query)
    headers = {}
    if isinstance(answer, Issued):
        issued = answer
        accepted = await run_in_threadpool(
            lambda: receive(
                engine=runtime.engine,
                chain=runtime.chain,
                submit=lambda: [
                    queue_stamp(
                        engine=runtime.engine,
                        issued=issued,
                        member_id=caller.member_id,
                        api_key_id=caller.key_id,
                    )
                ],
                channel="tsa",
                api_key_id=caller.key_id,
            )
        )
        headers[EVIDENCE_HEADER] = accepted[0].public_id
    return Response(answer.reply, media_type=REPLY_MEDIA_TYPE, headers=headers)


@router.get(
    "/tsa/ca.pem",
    summary="The TSA's root certificate",
    description="The root CA (PEM) that tokens and signed certificates chain to.",
    response_class=Response,
    responses=_PEM_ANSWER,
)
async def ca_pem(request: Request, settings: SettingsDep) -> Response:
    tsa = await run_in_threadpool(tsa_of, request.app.state, settings)
    return Response(tsa.pki.ca_pem(), media_type=_PEM)


@router.get(
    "/tsa/tsa.pem",
    summary="The TSA's certificate",
    description="The TSA's own certificate (PEM), for tokens issued without certReq.",
    response_class=Response,
    responses=_PEM_ANSWER,
)
async def tsa_pem(request: Request, settings: SettingsDep) -> Response:
    tsa = await run_in_threadpool(tsa_of, request.app.state, settings)
    return Response(tsa.pki.tsa_pem(), media_type=_PEM)
