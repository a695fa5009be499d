"""Anchoring documents and reading their records: ``/api/v1/evidence``.

Routes parse, call one service function and shape the answer. Files are
hashed while they stream in (``api/upload.py``); only digests reach the services.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final, NamedTuple

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from chainproof.api import audited
from chainproof.api.deps import (
    Caller,
    ChainDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
    ViewerDep,
    get_runtime,
)
from chainproof.api.errors import BadRequestError, request_error
from chainproof.api.json_guard import is_json
from chainproof.api.routes.operations import OperationOut
from chainproof.api.schemas import (
    EX_EVIDENCE_ID,
    EX_RECEIPT,
    AcceptedItem,
    AcceptedOut,
    DigestsIn,
    EvidenceOut,
    RevokeIn,
    error_responses,
    public_id_path,
)
from chainproof.api.upload import FILE_FIELD, clean_label, clean_text, hash_upload
from chainproof.business import service as business
from chainproof.business.schemas import MetadataError, parse_metadata
from chainproof.chain.writer import operation_public
from chainproof.channels import service as channels
from chainproof.crosschain.proofs import receipt_with_checkpoint
from chainproof.crosschain.second_anchor import with_other_anchors
from chainproof.digests import ALGORITHMS, Algorithm
from chainproof.errors import InvalidInputError
from chainproof.evidence import intake, service
from chainproof.evidence.intake import MAX_BULK
from chainproof.evidence.proofs import trees_of
from chainproof.evidence.reception import receive
from chainproof.evidence.records import channel_of
from chainproof.receipts import Receipt
from chainproof.receipts.metadata import METADATA_TEXT_MAX
from chainproof.store.models import LABEL_LEN

router = APIRouter(prefix="/api/v1")

EvidenceId = Annotated[str, public_id_path("evidence", EX_EVIDENCE_ID)]

_UPLOAD_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "additionalProperties": False,  # other form fields are 422
                "properties": {
                    FILE_FIELD: {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "One or more documents; each becomes one evidence.",
                    },
                    "label": {
                        "type": "string",
                        "maxLength": 200,
                        "description": "Free text for all of them, kept off chain.",
                    },
                    "algorithm": {
                        "type": "string",
                        "enum": list(ALGORITHMS),
                        "default": "sha256",
                        "description": "Send it before the file parts (or use ?algorithm=).",
                    },
                    "business_type": {
                        "type": "string",
                        "maxLength": 64,
                        "description": "A business type's code: typed evidence (业务类型).",
                    },
                    "metadata": {
                        "type": "string",
                        "maxLength": 8192,
                        "description": (
                            "JSON object checked against the business type's schema (400 "
                            "naming the failing field) and committed in each leaf."
                        ),
                    },
                },
            },
            "example": {"label": "2023 示范应用申报材料", "algorithm": "sha256"},
        }
    },
}


def _ref(path: str, method: str) -> str:
    """An OpenAPI ``operationRef`` to one of this module's operations."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


# Added to the key's requirement FastAPI declares: the empty alternative says a caller
# without a key is answered too (what that caller may see is the route's business).
_KEY_OPTIONAL: Final[list[dict[str, list[str]]]] = [{}]
_RECORD: Final = "/api/v1/evidence/{evidence_id}"
# OpenAPI links from an accepted document to what can be done with it next, by its id: what
# API clients and stateful fuzzers (schemathesis) follow.
_ACCEPTED_LINKS: Final[dict[int | str, dict[str, Any]]] = {
    202: {
        "links": {
            name: {
                "operationRef": _ref(path, method),
                "parameters": {"evidence_id": "$response.body#/items/0/id"},
                "description": description,
            }
            for name, path, method, description in (
                ("ReadEvidence", _RECORD, "get", "The first accepted document's record."),
                ("ReadReceipt", _RECORD + "/receipt", "get", "Its receipt, once anchored."),
                ("RevokeEvidence", _RECORD + "/revoke", "post", "Revoke it, once anchored."),
            )
        }
    }
}


def _accepted(items: list[intake.Accepted]) -> AcceptedOut:
    return AcceptedOut(
        items=[
            AcceptedItem.model_validate(
                {
                    "id": a.public_id,
                    "algorithm": a.algorithm,
                    "digest": a.digest,
                    "status": a.status,
                }
            )
            for a in items
        ]
    )


@router.post(
    "/evidence",
    tags=["evidence"],
    status_code=202,
    summary="Anchor files",
    description=(
        "Multipart upload of one or more `file` parts. Each file is hashed while it streams "
        "in (nothing is stored but its digest, size and name) and queued for the next "
        "anchoring batch. Needs a submitter (or admin) key."
    ),
    response_model=AcceptedOut,
    responses={**_ACCEPTED_LINKS, **error_responses(400, 401, 403, 404, 409, 413, 415, 422)},
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def anchor_files(
    request: Request,
    caller: SubmitterDep,
    settings: SettingsDep,
    algorithm: Annotated[
        Algorithm | None,
        Query(description="Digest algorithm; default the server's (sha256)."),
    ] = None,
) -> AcceptedOut:
    form = await hash_upload(
        request,
        settings,
        algorithm=algorithm,
        max_files=MAX_BULK,
        fields=("label", "channel", "business_type", "metadata"),
        field_bytes={"metadata": 4 * METADATA_TEXT_MAX},
    )
    label = clean_label(form.fields.get("label"))
    accepted = await _receive_bulk(
        request,
        caller,
        algorithm=form.algorithm,
        digests=[f.digest for f in form.files],
        label=label,
        names=[f.filename for f in form.files],
        sizes=[f.size for f in form.files],
        types=[f.content_type for f in form.files],
        channel=form.fields.get("channel"),
        typed=_typed(form.fields.get("business_type"), form.fields.get("metadata")),
    )
    return _accepted(accepted)


def _typed(code: str | None, metadata: Any) -> tuple[str, dict[str, Any] | None] | None:
    """(business type code, metadata) of a typed upload, None for untyped; metadata given
    without a type is 400, as is metadata that is not a JSON object (form fields: text)."""
    try:
        values = parse_metadata(metadata) if isinstance(metadata, str) else metadata
        if code is None or not code.strip():
            if values is not None:
                raise MetadataError("metadata needs a business_type", field="business_type")
            return None
    except MetadataError as exc:
        raise BadRequestError(exc.message, field=exc.field) from None
    return code.strip(), values


async def _receive_bulk(
    request: Request,
    caller: Caller,
    *,
    algorithm: Algorithm,
    digests: list[bytes],
    label: str | None,
    names: list[str | None] | None = None,
    sizes: list[int | None] | None = None,
    types: list[str | None] | None = None,
    channel: str | None = None,
    typed: tuple[str, dict[str, Any] | None] | None = None,
) -> list[intake.Accepted]:
    """The digests into this app's group commit (``Runtime.engine_state``), each with its
    before-the-chain record (issue 19), in ``channel`` if one is named (issue 25); typed
    documents (``typed``: business type code and metadata) commit in their own transaction
    with their metadata rows."""
    runtime = get_runtime(request)
    engine = runtime.engine
    channel_name = (channel or "").strip()
    channel_id = (
        await run_in_threadpool(_channel_id, engine, channel_name, caller.member_id)
        if channel_name
        else None
    )

    def submit() -> list[intake.Accepted]:
        if typed is None:
            return intake.submit_bulk(
                group=runtime.engine_state.group,
                algorithm=algorithm,
                digests=digests,
                member_id=caller.member_id,
                label=label,
                filenames=names,
                sizes=sizes,
                channel_id=channel_id,
            )
        with Session(engine) as session:
            try:
                text = business.typed_text(session, *typed)
            except MetadataError as exc:  # before anything is stored
                raise BadRequestError(exc.message, field=exc.field) from None
            assert text is not None
            return business.submit_typed(
                session=session,
                text=text,
                algorithm=algorithm,
                digests=digests,
                member_id=caller.member_id,
                label=label,
                filenames=names,
                sizes=sizes,
                channel_id=channel_id,
            )

    return await run_in_threadpool(
        lambda: receive(
            engine=engine,
            chain=runtime.chain,
            submit=submit,
            channel=channel_of(request.headers),
            api_key_id=caller.key_id,
            names=names,
            sizes=sizes,
            types=types,
        )
    )


def _channel_id(engine: Any, name: str, member_id: int | None) -> int:
    """The channel named in the form, if the caller's org is one of its members (else 404)."""
    with Session(engine) as session:
        return channels.for_submitter(session, name[:100], member_id)


_DIGESTS_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {"application/json": {"schema": DigestsIn.model_json_schema()}},
}


@router.post(
    "/evidence/digests",
    tags=["evidence"],
    status_code=202,
    summary="Anchor digests",
    description=(
        f"Queue up to {MAX_BULK:,} digests computed by the client. All or nothing: one "
        "malformed digest (the message names its index) and none is stored."
    ),
    response_model=AcceptedOut,
    responses={**_ACCEPTED_LINKS, **error_responses(400, 401, 403, 404, 409, 413, 422)},
    openapi_extra={"requestBody": _DIGESTS_BODY},
)
async def anchor_digests(request: Request, caller: SubmitterDep) -> Response:
    # The body is parsed here rather than declared: the declared ``DigestsIn`` ran a Python
    # validator per digest, more than anything else the request does on the event loop
    # (docs/performance.md). ``_digests_body`` checks the common well-formed body in a few C-speed
    # passes and hands anything else to ``DigestsIn`` itself, so errors are unchanged.
    body = _digests_body(await request.body(), request.headers.get("content-type"))
    accepted = await _receive_bulk(
        request,
        caller,
        algorithm=body.algorithm,
        digests=body.digests,
        label=clean_label(body.label),
        typed=body.typed,
        channel=body.channel,
    )
    return _accepted_json(accepted)


_BULK_KEYS: Final = frozenset({"algorithm", "digests", "label"})
_HEX: Final = re.compile("[0-9a-fA-F]*")


class _Digests(NamedTuple):
    algorithm: Algorithm
    digests: list[bytes]
    label: str | None
    typed: tuple[str, dict[str, Any] | None] | None = None  # business type and metadata
    channel: str | None = None


def _digests_body(raw: bytes, content_type: str | None) -> _Digests:
    """The values of a ``DigestsIn`` body, parsed as FastAPI parses a declared JSON body
    (a JSON content type is required; a body that is not JSON is 422 ``json_invalid``)."""
    body: Any = None
    if raw:
        if is_json(content_type):  # the JSON guard's rule: it checked this body
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise RequestValidationError(
                    [
                        {
                            "type": "json_invalid",
                            "loc": ("body", exc.pos),
                            "msg": "JSON decode error",
                            "input": {},
                            "ctx": {"error": exc.msg},
                        }
                    ]
                ) from None
            except UnicodeDecodeError:
                raise HTTPException(400, "There was an error parsing the body") from None
        else:
            body = raw
    fast = _fast_digests(body)
    if fast is not None:
        return _Digests(*fast)
    try:
        model = DigestsIn.model_validate(body)
    except ValidationError as exc:
        raise request_error(exc, "body") from None
    # DigestHex normalised each digest to 0x + 64 lowercase hex digits.
    typed = _typed(model.business_type, model.metadata)
    digests = [bytes.fromhex(d[2:]) for d in model.digests]
    return _Digests(model.algorithm, digests, model.label, typed, model.channel)


def _fast_digests(body: Any) -> tuple[Algorithm, list[bytes], str | None] | None:
    """The values of a body ``DigestsIn`` accepts, when it is in the plain form every client
    sends (0x + 64 hex digits each); None for anything else, left to ``DigestsIn``. A
    subset of what the model accepts, giving the same values: never more lenient."""
    if type(body) is not dict or not body.keys() <= _BULK_KEYS:
        return None
    algorithm = body.get("algorithm", "sha256")
    digests = body.get("digests")
    label = body.get("label")
    if algorithm not in ALGORITHMS or type(digests) is not list:
        return None
    if not 1 <= len(digests) <= MAX_BULK:
        return None
    if label is not None and (type(label) is not str or len(label) > LABEL_LEN):
        return None
    if not all(type(d) is str and len(d) == 66 and d[1] in "xX" and d[0] == "0" for d in digests):
        return None
    joined = "".join([d[2:] for d in digests])
    if not _HEX.fullmatch(joined):
        return None
    packed = bytes.fromhex(joined)
    return algorithm, [packed[i : i + 32] for i in range(0, len(packed), 32)], label


def _accepted_json(items: list[intake.Accepted]) -> Response:
    """``AcceptedOut`` as JSON text, written directly: for 10,000 items, validating and
    dumping them through pydantic costs more than storing them. Every field is a
    fixed-alphabet string (public id, algorithm name, 0x hex, status), so none needs
    escaping; a test compares the bytes with ``AcceptedOut``'s own dump."""
    body = ",".join(
        f'{{"id":"{a.public_id}","algorithm":"{a.algorithm}",'
        f'"digest":"{a.digest}","status":"{a.status}"}}'
        for a in items
    )
    return Response(content=f'{{"items":[{body}]}}', status_code=202, media_type="application/json")


@router.get(
    "/evidence/{evidence_id}",
    tags=["evidence"],
    summary="Read one evidence record",
    description=(
        "Id and status for everyone. Digest, member, anchor, label, file name and dates "
        "only for the member that submitted it, admins, and reviewers when the record is a "
        "document of a subsidy application. An id that is not one of ours is 404."
    ),
    response_model=EvidenceOut,
    response_model_exclude_unset=True,
    responses=error_responses(401, 404, 422),
    openapi_extra={"security": _KEY_OPTIONAL},
)
def read_evidence(evidence_id: EvidenceId, session: SessionDep, viewer: ViewerDep) -> Any:
    return service.evidence_public(session=session, evidence_id=evidence_id, viewer=viewer)


@router.get(
    "/evidence/{evidence_id}/receipt",
    tags=["receipts"],
    summary="Download the receipt",
    description=(
        "The self-contained receipt (see docs/receipt.md): verifiable with any JSON-RPC "
        "endpoint and no ChainProof server. For the submitting member, admins, and reviewers "
        "of a subsidy application the record belongs to; 404 for anyone else, as for a "
        "missing id. 409 while the document is not anchored yet. "
        "`?download=1` answers it as a file, `chainproof-receipt-<id>.json`."
    ),
    response_model=None,
    responses={
        200: {
            "model": Receipt,
            "description": "The receipt.",
            "content": {"application/json": {"example": EX_RECEIPT}},
        },
        **error_responses(401, 404, 409, 422),
    },
    openapi_extra={"security": _KEY_OPTIONAL},
)
def read_receipt(
    request: Request,
    evidence_id: EvidenceId,
    session: SessionDep,
    viewer: ViewerDep,
    chain: ChainDep,
    download: Annotated[bool, Query(description="Send as an attachment.")] = False,
) -> JSONResponse:
    receipt = service.build_receipt(
        session=session, evidence_id=evidence_id, viewer=viewer, trees=trees_of(chain)
    )
    if get_runtime(request).relay is not None:  # its checkpoint section, once there is one
        receipt = receipt_with_checkpoint(session, receipt, get_runtime(request).chain.w3)
    receipt = with_other_anchors(session, receipt)  # dual anchoring: its other chains
    headers = None
    if download:
        name = f"chainproof-receipt-{evidence_id}.json"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    # exclude_none: absent optional fields are left out, as in Receipt.to_json().
    return JSONResponse(receipt.model_dump(mode="json", exclude_none=True), headers=headers)


@router.post(
    "/evidence/{evidence_id}/revoke",
    tags=["evidence"],
    summary="Revoke an evidence",
    description=(
        "Revokes the document's leaf on chain, with a reason (its hash goes on chain). By "
        "the submitting member or an admin (404 for another member's record, as for a "
        "missing one); only anchored documents can be revoked. The "
        "transaction goes through the chain writer: the answer is 202 with the operation "
        "(`GET /api/v1/operations/{id}` until `confirmed`; the evidence then reads "
        "`revoked`). A second revocation while one is in flight is a 409."
    ),
    status_code=202,
    response_model=OperationOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def revoke_evidence(
    evidence_id: EvidenceId,
    body: RevokeIn,
    caller: SubmitterDep,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
) -> Any:
    reason = clean_text(body.reason)
    if not reason:
        raise InvalidInputError("reason: give a reason for the revocation", field="reason")
    op = service.revoke_evidence(
        session=session,
        chain=chain,
        evidence_id=evidence_id,
        viewer=caller.viewer,
        reason=reason,
    )
    audited.record(
        session,
        caller,
        action="evidence.revoke",
        target=f"evidence:{evidence_id}",
        detail={"reason": reason, "operation": op.public_id},
    )
    writer = get_runtime(request).writer
    if writer is not None:
        writer.wake()  # this process writes: no need to wait for its next poll
    return JSONResponse(
        operation_public(op),
        status_code=202,
        headers={"Location": f"/api/v1/operations/{op.public_id}"},
    )
