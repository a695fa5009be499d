"""``/api/v1/subsidy/applications/{id}``: the reviewer's integrity check and report."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import (
    ChainDep,
    ReviewerDep,
    SessionDep,
    SettingsDep,
)
from chainproof.api.errors import UnsupportedMediaTypeError
from chainproof.api.routes.subsidy.common import (
    _ALGORITHM_QUERY,
    PREFIX,
    ApplicationId,
    ClockDep,
    _actor,
    _multipart,
    _validate,
)
from chainproof.api.schemas import DigestHex, error_responses
from chainproof.api.upload import hash_upload, is_json, is_multipart, read_json
from chainproof.digests import Algorithm
from chainproof.subsidy import review
from chainproof.subsidy.schemas import (
    EX_DIGEST,
    IntegrityOut,
    ReportOut,
)

router = APIRouter(prefix=PREFIX, tags=["subsidy"])


# --- review ----------------------------------------------------------------------------------


class FileDigestIn(BaseModel):
    name: str = Field(min_length=1, max_length=1024, description="The file's name, for the answer.")
    digest: DigestHex


class IntegrityIn(BaseModel):
    """Digests computed on the reviewer's machine (what ``chainproof subsidy check`` sends)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"algorithm": "sha256", "files": [{"name": "申报书.pdf", "digest": EX_DIGEST}]}
            ]
        },
    )

    algorithm: Algorithm = "sha256"
    files: list[FileDigestIn] = Field(min_length=1, max_length=10_000)


_INTEGRITY_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": IntegrityIn.model_json_schema(),
            "example": {
                "algorithm": "sha256",
                "files": [{"name": "申报书.pdf", "digest": EX_DIGEST}],
            },
        },
        **_multipart({}, "The files in front of the reviewer.")["content"],
    },
}


@router.post(
    "/applications/{application_id}/integrity-check",
    summary="Check files against an application",
    description=(
        "Files (multipart, hashed as they stream, never stored) or their digests (JSON, as "
        "`chainproof subsidy check` sends them). One row per file: `match` (a document of "
        "this application, with its anchor), `other_application`, `anchored_elsewhere` or "
        "`unknown` (modified, or never submitted). Reviewer."
    ),
    response_model=IntegrityOut,
    responses=error_responses(400, 401, 403, 404, 413, 415, 422),
    openapi_extra={"requestBody": _INTEGRITY_BODY},
)
async def integrity_check(
    application_id: ApplicationId,
    request: Request,
    caller: ReviewerDep,
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
    algorithm: Annotated[Algorithm | None, _ALGORITHM_QUERY] = None,
) -> IntegrityOut:
    if is_multipart(request):
        form = await hash_upload(request, settings, algorithm=algorithm, max_files=10_000)
        chosen = form.algorithm
        files = [(f.filename or f"file {i}", f.digest) for i, f in enumerate(form.files, 1)]
    elif is_json(request):
        body = _validate(IntegrityIn, await read_json(request))
        chosen = body.algorithm
        files = [(f.name, bytes.fromhex(f.digest[2:])) for f in body.files]
    else:
        raise UnsupportedMediaTypeError(
            "send the files as multipart/form-data (`file` parts) or their digests as JSON "
            '{"algorithm": "sha256", "files": [{"name": "…", "digest": "0x…"}]}'
        )
    return await run_in_threadpool(
        lambda: review.integrity_check(
            session=session,
            chain=chain,
            actor=_actor(caller),
            application_id=application_id,
            algorithm=chosen,
            files=files,
        )
    )


@router.get(
    "/applications/{application_id}/report",
    summary="The reviewer's report",
    description=(
        "Every document with digest, anchor, verdict, late and reuse flags; the manifests; "
        "the rule checks with their reasons; the acceptance check; the audit trail, each "
        "verified on chain. Reviewer."
    ),
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_report(
    application_id: ApplicationId,
    caller: ReviewerDep,
    session: SessionDep,
    chain: ChainDep,
    clock: ClockDep,
) -> ReportOut:
    return review.report(
        session=session,
        chain=chain,
        actor=_actor(caller),
        application_id=application_id,
        now=clock(),
    )
