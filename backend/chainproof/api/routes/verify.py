"""Public verification: a file or digest against the index and chain, a receipt against the
chain alone. No key needed; a key only adds its own records' metadata to the answer."""

from __future__ import annotations

from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Body, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from chainproof.accounts.cookies import has_session_cookie
from chainproof.api.deps import (
    ChainDep,
    Runtime,
    SessionDep,
    SettingsDep,
    bearer_scheme,
    get_caller,
    get_runtime,
    published_rpc_url,
    rpc_web3,
)
from chainproof.api.errors import UnsupportedMediaTypeError, request_error
from chainproof.api.schemas import (
    EX_DIGEST,
    EX_RECEIPT,
    ReceiptCheckOut,
    ReceiptVerdictOut,
    VerdictOut,
    VerifyDigestIn,
    error_responses,
)
from chainproof.api.upload import FILE_FIELD, hash_upload, is_json, is_multipart, read_json
from chainproof.chain.trust_anchor import server_trust_anchor
from chainproof.crosschain.revocations import relayed_revocation, revocation_detail
from chainproof.digests import Algorithm
from chainproof.errors import ChainError, WouldBlock
from chainproof.evidence.verify import (
    ANONYMOUS,
    DigestVerdict,
    Viewer,
    receipt_holder_view,
    verify_digest,
)
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor
from chainproof.vocabulary import ALGORITHMS

log = structlog.get_logger("chainproof.api")
router = APIRouter(prefix="/api/v1")

_VERIFY_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": VerifyDigestIn.model_json_schema(),
            "example": {"algorithm": "sha256", "digest": EX_DIGEST},
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "additionalProperties": False,  # other form fields are 422
                "properties": {
                    FILE_FIELD: {"type": "string", "format": "binary"},
                    "algorithm": {
                        "type": "string",
                        "enum": list(ALGORITHMS),
                        "default": "sha256",
                    },
                },
            },
            "example": {"algorithm": "sha256"},
        },
    },
}


_ALGORITHM_DOC: Final = "For a file: the digest algorithm (default sha256)."
_ALGORITHM: Final = TypeAdapter(Algorithm | None)
_ALGORITHM_PARAM: Final[dict[str, Any]] = {
    "name": "algorithm",
    "in": "query",
    "required": False,
    "schema": {**_ALGORITHM.json_schema(), "description": _ALGORITHM_DOC, "title": "Algorithm"},
    "description": _ALGORITHM_DOC,
}


def _query_algorithm(request: Request) -> Algorithm | None:
    """``?algorithm=``, validated as a declared ``Query`` parameter would be (same 422)."""
    raw = request.query_params.get("algorithm")
    if raw is None:
        return None
    try:
        return _ALGORITHM.validate_python(raw)
    except ValidationError as exc:
        raise request_error(exc, "query", "algorithm") from None


@router.post(
    "/verify",
    tags=["verify"],
    summary="Verify a file or a digest",
    description=(
        "Send the file (multipart `file`, hashed as it streams, never stored) or its digest "
        "(JSON). The verdict is `anchored` (with block, transaction, time and member), "
        "`pending`, `not_found`, `revoked` (with the reason, for its member) or "
        "`chain_mismatch` when this server's chain is not the one the document was anchored "
        "on: it never says `anchored` then."
    ),
    response_model=VerdictOut,
    response_model_exclude_unset=True,
    responses=error_responses(400, 401, 413, 415, 422),
    openapi_extra={
        "requestBody": _VERIFY_BODY,
        "parameters": [_ALGORITHM_PARAM],
        # The key is optional: the empty alternative is "no key".
        "security": [{"HTTPBearer": []}, {}],
    },
)
async def verify(request: Request) -> Any:
    # The hot public endpoint, so no declared parameters or dependencies: FastAPI's solving
    # of them (query, header, cookie and path parameters, for the route and each dependency)
    # cost more CPU than the lookup, and each sync dependency was a thread-pool hop. The
    # query parameter and the key are read here with the same rules and the same errors
    # (``openapi_extra`` documents them as the declarations did). An anonymous verify then
    # makes no hop at all when the answer is in the database and memory, and one otherwise
    # (below). The runtime comes straight from the app, as ``deps.get_runtime`` gives it.
    algorithm = _query_algorithm(request)
    runtime = get_runtime(request)
    viewer = ANONYMOUS
    if request.headers.get("authorization") or has_session_cookie(request):
        # A key (or a person's session) is checked before the body is read, as the
        # dependency did: a bad key is a 401 whatever the body (and a file is not hashed
        # for a caller that gets a 401).
        credentials = await bearer_scheme(request)
        viewer = await run_in_threadpool(_viewer_of, request, runtime, credentials)
    if is_multipart(request):
        form = await hash_upload(request, runtime.settings, algorithm=algorithm, max_files=1)
        chosen, digest = form.algorithm, form.files[0].digest
    elif is_json(request):
        raw = await read_json(request)
        try:
            body = VerifyDigestIn.model_validate(raw)
        except ValidationError as exc:
            raise request_error(exc, "body") from None
        chosen, digest = body.algorithm, bytes.fromhex(body.digest[2:])
    else:
        raise UnsupportedMediaTypeError(
            "send the file as multipart/form-data (`file` part) or the digest as JSON "
            '{"algorithm": "sha256", "digest": "0x…"}'
        )
    verdict = _verify_on_loop(runtime, viewer, chosen, digest)
    if verdict is None:
        verdict = await run_in_threadpool(_verify_in_thread, runtime, viewer, chosen, digest)
    return verdict


def _verify_on_loop(
    runtime: Runtime, viewer: Viewer, algorithm: Algorithm, digest: bytes
) -> DigestVerdict | None:
    """The verdict from the database and memory alone, right here on the event loop; None
    when it needs the node or a wait (``WouldBlock``, or SQLite busy: the reader never
    waits), and the caller asks from a worker thread instead. Under a verify load almost
    every answer comes from here: the chain status and the root states are renewed in the
    background before they go stale (``ChainContext.status``, ``roots.RootStates``)."""
    if runtime.reader is None:
        return None
    try:
        with runtime.reader.connect() as connection:
            return verify_digest(
                db=connection,
                chain=runtime.chain,
                algorithm=algorithm,
                digest=digest,
                viewer=viewer,
                may_block=False,
            )
    except (WouldBlock, OperationalError):
        return None


def _viewer_of(
    request: Request, runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> Viewer:
    """``get_caller`` itself, so a bad key is the same 401 as on every other route."""
    with runtime.sessions() as session:
        return get_caller(request, session, runtime.settings, credentials).viewer


def _verify_in_thread(
    runtime: Runtime, viewer: Viewer, algorithm: Algorithm, digest: bytes
) -> DigestVerdict:
    with runtime.engine.connect() as connection:
        return verify_digest(
            db=connection, chain=runtime.chain, algorithm=algorithm, digest=digest, viewer=viewer
        )


@router.post(
    "/receipts/verify",
    tags=["receipts"],
    summary="Verify a receipt",
    description=(
        "Checks a receipt the way a third party would, with only this server's JSON-RPC "
        "node, against this server's own trust anchor (`GET /.well-known/chainproof.json`): "
        "the node's chain id and genesis hash, the receipt's contract (this server's registry "
        "or a past one it honours) and the code hash there, then the proof, the transaction, "
        "its Anchored event, the block, and the registry's own views. A receipt of any other "
        "chain or registry is `valid: false` with the reason; a body that is not a receipt "
        "at all is 422. Whoever presents a receipt holds its salt, so when the receipt's "
        "algorithm, digest and salt are those of a record here, the answer also names the "
        "record (`evidence_id`) and its `member`."
    ),
    response_model=ReceiptVerdictOut,
    response_model_exclude_unset=True,
    responses=error_responses(401, 422, 503),
)
def verify_receipt_route(
    receipt: Annotated[
        Receipt,
        Body(openapi_examples={"receipt": {"summary": "A receipt", "value": EX_RECEIPT}}),
    ],
    chain: ChainDep,
    settings: SettingsDep,
    session: SessionDep,
) -> ReceiptVerdictOut:
    try:
        trust: TrustAnchor | None = server_trust_anchor(
            chain,
            data_dir=settings.data_dir,
            public_rpc_url=published_rpc_url(settings, chain),
        )
    except ChainError:
        # Degraded (the node is not the deployment's chain): the checks still say what is
        # wrong there, and without an anchor the verdict is never valid.
        trust = None
    verdict = verify_receipt(receipt, rpc_web3(chain), trust=trust)
    checks = [(name, ok, _public_detail(name, detail)) for name, ok, detail in verdict.checks]
    reason = (
        _public_detail(checks[-1][0], verdict.reason)
        if checks and verdict.reason is not None
        else verdict.reason
    )
    extra: dict[str, Any] = {}
    relayed = relayed_revocation(session, receipt)  # a sub-chain's, relayed here (issue 22)
    if relayed is not None:
        reason = revocation_detail(relayed)
        checks.append(("crosschain_revocation", False, reason))
        extra["revoked"] = True
    return ReceiptVerdictOut(
        valid=verdict.valid and relayed is None,
        reason=reason,
        checks=[ReceiptCheckOut(name=name, ok=ok, detail=detail) for name, ok, detail in checks],
        pinned=verdict.pinned,
        **extra,
        **receipt_holder_view(session=session, receipt=receipt),
    )


def _public_detail(name: str, detail: str) -> str:
    """A check that could not run carries the node's exception text (which can name the
    private node URL): the public answer says only that the node failed; the log keeps it."""
    if detail.startswith(f"{name} check could not run:"):
        log.warning("receipt check could not run", check=name, detail=detail)
        return f"{name} check could not run: the chain node did not answer"
    return detail
