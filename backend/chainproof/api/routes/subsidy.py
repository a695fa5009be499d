"""The 2023 subsidy applications: ``/api/v1/subsidy`` (issue #4).

Routes parse, call one service function of ``chainproof.subsidy`` and shape the answer
(docs/architecture.md, Layers). Files are hashed while they stream in (``api/upload.py``): only
digests reach the services. Roles: a ``submitter`` key is its applicant unit, ``reviewer`` keys
review and decide, ``admin`` keys manage rounds and may act in either role.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import (
    AdminDep,
    Caller,
    ChainDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
    require_role,
)
from chainproof.api.errors import UnsupportedMediaTypeError, error_body
from chainproof.api.schemas import DigestHex, error_responses
from chainproof.api.upload import FILE_FIELD, hash_multipart, is_json, is_multipart, read_json
from chainproof.digests import Algorithm
from chainproof.errors import NotFoundError
from chainproof.store.models import Role, utcnow
from chainproof.subsidy import acceptance, applications, checks, lifecycle, review, rounds
from chainproof.subsidy.access import Actor, visible_application
from chainproof.subsidy.catalog import parse_kind
from chainproof.subsidy.manifests import get_manifest
from chainproof.subsidy.models import ApplicationStatus, Phase
from chainproof.subsidy.schemas import (
    EX_DIGEST,
    AcceptanceDocIn,
    AcceptanceOut,
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    AssessIn,
    AssessOut,
    CatalogOut,
    DocumentOut,
    IntegrityOut,
    ReportOut,
    RoundIn,
    RoundOut,
    RoundPatch,
    StatusName,
    SubmitIn,
    TrailOut,
    TransitionIn,
)
from chainproof.vocabulary import ALGORITHMS

router = APIRouter(prefix="/api/v1/subsidy", tags=["subsidy"])

# The routes that stream multipart files: BodyLimitMiddleware must give them the upload limit
# (it matches exact paths today, so these need a pattern; see api/middleware.py STREAMING_PATHS).
STREAMING_PATTERNS: Final = (
    re.compile(
        r"/api/v1/subsidy/applications/\d+/(documents|acceptance/documents|integrity-check)"
    ),
)

MAX_ID: Final = 2**63 - 1
MAX_FILES: Final = 64
ApplicationId = Annotated[int, Path(ge=1, le=MAX_ID, description="Application id.", examples=[5])]
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="Document id.", examples=[3])]
RoundCode = Annotated[str, Path(max_length=32, description="Round code.", examples=["2023"])]
ReviewerDep = Annotated[Caller, Depends(require_role(Role.REVIEWER))]
MemberDep = Annotated[Caller, Depends(require_role(Role.SUBMITTER, Role.REVIEWER))]


def get_clock() -> Callable[[], datetime]:
    """The clock; tests override it through ``dependency_overrides``."""
    return utcnow


ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


def _actor(caller: Caller) -> Actor:
    return Actor(member_id=caller.member_id, role=caller.role, key_id=caller.key_id)


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], raw: Any) -> M:
    """A body read by hand, validated with the same 422 a declared body would give."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def _move(
    *,
    session: SessionDep,
    chain: ChainDep,
    caller: Caller,
    application_id: int,
    to: ApplicationStatus,
    comment: str | None,
    now: datetime,
) -> ApplicationOut | JSONResponse:
    """One lifecycle move; an illegal one is 409 with the moves allowed from here."""
    actor = _actor(caller)
    try:
        moved = applications.change_status(
            session=session,
            chain=chain,
            actor=actor,
            application_id=application_id,
            to=to,
            comment=comment,
            now=now,
        )
    except lifecycle.IllegalTransitionError as exc:
        body = error_body(exc.code, exc.message, allowed=exc.allowed)
        return JSONResponse(body, status_code=409)
    return applications.application_out(session, actor, moved)


def _multipart(fields: dict[str, str], description: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        FILE_FIELD: {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": description,
        },
        "algorithm": {"type": "string", "enum": list(ALGORITHMS)},
    }
    properties.update({name: {"type": "string", "description": d} for name, d in fields.items()})
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD, *fields],
                    "properties": properties,
                },
                "example": {name: ex for name, ex in _FIELD_EXAMPLES.items() if name in fields},
            }
        },
    }


_FIELD_EXAMPLES: Final = {
    "kind": "发票",
    "amount_wan": "95.5",
    "number": "No.45012345",
    "issuer": "广西某软件有限公司",
}
_ALGORITHM_QUERY = Query(description="Digest algorithm for the files (default the server's).")


# --- the guide -------------------------------------------------------------------------------


@router.post(
    "/assess",
    summary="Apply the guide's rules to amounts",
    description=(
        "Cash subsidy tier by self-funded investment, the acceptance minimum (3 ×), the "
        "cloud-resource cap by headcount, 附件4-1 packages against it, and one training "
        "class. Each answer is null where its input was absent or nothing applies; every "
        "`reasons` line cites the guide. Public."
    ),
    response_model=AssessOut,
    responses=error_responses(422),
)
def assess(body: AssessIn) -> AssessOut:
    return checks.assess(body)


@router.get(
    "/catalog",
    summary="The guide as data",
    description="Scopes and their fields, document kinds, 附件4-1 and the tier tables. Public.",
    response_model=CatalogOut,
)
def catalog() -> CatalogOut:
    return CatalogOut.current()


# --- rounds ----------------------------------------------------------------------------------


@router.get(
    "/rounds",
    summary="List rounds",
    description="Program rounds and their deadlines, earliest deadline first. Public.",
    response_model=list[RoundOut],
)
def list_rounds(session: SessionDep, clock: ClockDep) -> list[RoundOut]:
    now = clock()
    return [rounds.round_out(r, now) for r in rounds.list_rounds(session=session)]


@router.post(
    "/rounds",
    status_code=201,
    summary="Create a round",
    description="A new program round with its deadline (admin).",
    response_model=RoundOut,
    responses=error_responses(401, 403, 409, 422),
)
def create_round(body: RoundIn, caller: AdminDep, session: SessionDep, clock: ClockDep) -> RoundOut:
    created = rounds.create_round(session=session, actor=_actor(caller), body=body)
    return rounds.round_out(created, clock())


@router.patch(
    "/rounds/{code}",
    summary="Change a round",
    description="Rename a round or move its deadline (admin); late flags follow on read.",
    response_model=RoundOut,
    responses=error_responses(401, 403, 404, 422),
)
def update_round(
    code: RoundCode, body: RoundPatch, caller: AdminDep, session: SessionDep, clock: ClockDep
) -> RoundOut:
    changed = rounds.update_round(session=session, actor=_actor(caller), code=code, body=body)
    return rounds.round_out(changed, clock())


# --- applications ----------------------------------------------------------------------------


@router.post(
    "/applications",
    status_code=201,
    summary="Create the unit's application",
    description=(
        "A draft application of the caller's member org in a round. One per unit and round "
        "(每个单位只能申报1个项目): a second is 409."
    ),
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_application(
    body: ApplicationIn, caller: SubmitterDep, session: SessionDep, clock: ClockDep
) -> ApplicationOut:
    actor = _actor(caller)
    created = applications.create_application(session=session, actor=actor, body=body, now=clock())
    return applications.application_out(session, actor, created)


@router.get(
    "/applications",
    summary="List applications",
    description="Reviewers and admins see all; an applicant unit sees its own.",
    response_model=list[ApplicationOut],
    responses=error_responses(401, 403, 404, 422),
)
def list_applications(
    caller: MemberDep,
    session: SessionDep,
    round: Annotated[str | None, Query(max_length=32, description="Round code.")] = None,
    status: Annotated[StatusName | None, Query(description="Only in this state.")] = None,
) -> list[ApplicationOut]:
    actor = _actor(caller)
    found = applications.list_applications(
        session=session, actor=actor, round_code=round, status=status
    )
    return [applications.application_out(session, actor, a) for a in found]


@router.get(
    "/applications/{application_id}",
    summary="Read an application",
    description="Its fields, documents, manifests and the moves the caller may make.",
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_application(
    application_id: ApplicationId, caller: MemberDep, session: SessionDep
) -> ApplicationOut:
    actor = _actor(caller)
    found = applications.get_application(
        session=session, actor=actor, application_id=application_id
    )
    return applications.application_out(session, actor, found)


@router.patch(
    "/applications/{application_id}",
    summary="Change a draft",
    description="Any subset of the declared fields; only while the application is a draft.",
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_application(
    application_id: ApplicationId,
    body: ApplicationPatch,
    caller: SubmitterDep,
    session: SessionDep,
    clock: ClockDep,
) -> ApplicationOut:
    actor = _actor(caller)
    changed = applications.update_application(
        session=session, actor=actor, application_id=application_id, body=body, now=clock()
    )
    return applications.application_out(session, actor, changed)


@router.post(
    "/applications/{application_id}/documents",
    status_code=201,
    summary="Attach documents to a draft",
    description=(
        "Multipart: a `kind` (申报书, 合同, 发票, 人员名单, 培训材料 or 其他) and one or more "
        "`file` parts. Each file is hashed as it streams in, anchored as the unit's evidence "
        "and linked to the application. Only while it is a draft."
    ),
    response_model=list[DocumentOut],
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra={
        "requestBody": _multipart({"kind": "Document type."}, "The documents of that type.")
    },
)
async def attach_documents(
    application_id: ApplicationId,
    request: Request,
    caller: SubmitterDep,
    session: SessionDep,
    settings: SettingsDep,
    algorithm: Annotated[Algorithm | None, _ALGORITHM_QUERY] = None,
) -> list[DocumentOut]:
    form = await hash_multipart(
        request,
        max_bytes=settings.max_upload_bytes,
        algorithm=algorithm,
        default_algorithm=settings.hash_algorithm,
        text_fields=frozenset({"kind", "algorithm"}),
        max_files=MAX_FILES,
    )
    kind = parse_kind(form.fields.get("kind", ""))
    return await run_in_threadpool(
        lambda: applications.attach_documents(
            session=session,
            actor=_actor(caller),
            application_id=application_id,
            kind=kind,
            algorithm=form.algorithm,
            files=list(form.files),
        )
    )


@router.delete(
    "/applications/{application_id}/documents/{document_id}",
    status_code=204,
    summary="Take a document out of a draft",
    description="The link goes; the evidence stays anchored (nothing on chain is unwritten).",
    responses=error_responses(401, 403, 404, 409, 422),
)
def detach_document(
    application_id: ApplicationId,
    document_id: DocumentId,
    caller: SubmitterDep,
    session: SessionDep,
) -> Response:
    applications.detach_document(
        session=session,
        actor=_actor(caller),
        application_id=application_id,
        document_id=document_id,
    )
    return Response(status_code=204)


@router.get(
    "/applications/{application_id}/manifest",
    summary="The anchored manifest, byte for byte",
    description=(
        "The canonical JSON (RFC 8785) frozen at submission (`phase=application`) or at "
        "acceptance submission: its SHA-256 is the digest of the manifest's evidence, so its "
        "receipt proves the whole package."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "The manifest bytes.",
            "content": {
                "application/json": {
                    "example": {
                        "kind": "chainproof-subsidy-manifest",
                        "version": 1,
                        "phase": "application",
                        "application": 5,
                        "documents": [{"kind": "发票", "algorithm": "sha256", "digest": EX_DIGEST}],
                    }
                }
            },
        },
        **error_responses(401, 403, 404, 422),
    },
)
def read_manifest(
    application_id: ApplicationId,
    caller: MemberDep,
    session: SessionDep,
    phase: Annotated[Literal["application", "acceptance"], Query()] = "application",
) -> Response:
    found = visible_application(session, application_id, _actor(caller))
    assert found.id is not None
    manifest = get_manifest(session, found.id, Phase(phase))
    if manifest is None:
        raise NotFoundError(f"application {application_id} has no {phase} manifest yet")
    return Response(manifest.body.encode("utf-8"), media_type="application/json")


# --- lifecycle -------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/submit",
    summary="Submit the package",
    description=(
        "draft → submitted. Refused (409, with the reasons) while a blocking rule fails. The "
        "manifest (fields + every document's digest) and the transition are anchored in one "
        "commit; the manifest's receipt proves the whole package."
    ),
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def submit(
    application_id: ApplicationId,
    caller: SubmitterDep,
    session: SessionDep,
    chain: ChainDep,
    clock: ClockDep,
    body: SubmitIn | None = None,
) -> Any:
    return _move(
        session=session,
        chain=chain,
        caller=caller,
        application_id=application_id,
        to=ApplicationStatus.SUBMITTED,
        comment=body.comment if body else None,
        now=clock(),
    )


@router.post(
    "/applications/{application_id}/transitions",
    summary="Move the application through its lifecycle",
    description=(
        "draft → submitted → under_review → approved | rejected → acceptance_submitted → "
        "accepted | acceptance_failed. The applicant unit makes the moves out of draft and "
        "approved, reviewers the others. An illegal move is 409 with `allowed`; each move is "
        "anchored (who, when, comment), chained to the previous one."
    ),
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def transition(
    application_id: ApplicationId,
    body: TransitionIn,
    caller: MemberDep,
    session: SessionDep,
    chain: ChainDep,
    clock: ClockDep,
) -> Any:
    return _move(
        session=session,
        chain=chain,
        caller=caller,
        application_id=application_id,
        to=ApplicationStatus(body.to),
        comment=body.comment,
        now=clock(),
    )


@router.get(
    "/applications/{application_id}/transitions",
    summary="The audit trail, verified",
    description="Every move with its record hash, link to the previous one and anchor.",
    response_model=TrailOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_trail(
    application_id: ApplicationId, caller: MemberDep, session: SessionDep, chain: ChainDep
) -> TrailOut:
    found = visible_application(session, application_id, _actor(caller))
    return lifecycle.trail(session, chain, found)


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
        form = await hash_multipart(
            request,
            max_bytes=settings.max_upload_bytes,
            algorithm=algorithm,
            default_algorithm=settings.hash_algorithm,
            text_fields=frozenset({"algorithm"}),
            max_files=10_000,
        )
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


# --- acceptance ------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/acceptance/documents",
    status_code=201,
    summary="Upload an acceptance contract or invoice",
    description=(
        "Multipart: one `file` with `kind` (合同 or 发票), `amount_wan` (万元, to the fen), "
        "`number` and `issuer`. Anchored as the unit's evidence. Only while approved."
    ),
    response_model=DocumentOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra={
        "requestBody": _multipart(
            {
                "kind": "合同 or 发票.",
                "amount_wan": "Amount in 万元 (decimal text).",
                "number": "Invoice or contract number.",
                "issuer": "Who issued it.",
            },
            "Exactly one file.",
        )
    },
)
async def attach_acceptance_document(
    application_id: ApplicationId,
    request: Request,
    caller: SubmitterDep,
    session: SessionDep,
    settings: SettingsDep,
    algorithm: Annotated[Algorithm | None, _ALGORITHM_QUERY] = None,
) -> DocumentOut:
    form = await hash_multipart(
        request,
        max_bytes=settings.max_upload_bytes,
        algorithm=algorithm,
        default_algorithm=settings.hash_algorithm,
        text_fields=frozenset({"kind", "amount_wan", "number", "issuer", "algorithm"}),
        max_files=1,
    )
    fields = {k: v for k, v in form.fields.items() if k != "algorithm"}
    body = _validate(AcceptanceDocIn, fields)
    return await run_in_threadpool(
        lambda: acceptance.attach_acceptance_document(
            session=session,
            actor=_actor(caller),
            application_id=application_id,
            body=body,
            algorithm=form.algorithm,
            file=form.files[0],
        )
    )


@router.get(
    "/applications/{application_id}/acceptance",
    summary="The acceptance check",
    description=(
        "The acceptance documents, each proven on chain, and the 3× rule on the amounts of "
        "those that verify (a file or number + issuer counted once); reused ones flagged."
    ),
    response_model=AcceptanceOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_acceptance(
    application_id: ApplicationId, caller: MemberDep, session: SessionDep, chain: ChainDep
) -> AcceptanceOut:
    actor = _actor(caller)
    found = visible_application(session, application_id, actor)
    return acceptance.evaluate(session, chain, actor, found)


@router.post(
    "/applications/{application_id}/acceptance/submit",
    summary="Submit for acceptance",
    description=(
        "approved → acceptance_submitted: the acceptance documents are frozen in a manifest, "
        "anchored with the transition."
    ),
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def submit_acceptance(
    application_id: ApplicationId,
    caller: SubmitterDep,
    session: SessionDep,
    chain: ChainDep,
    clock: ClockDep,
    body: SubmitIn | None = None,
) -> Any:
    return _move(
        session=session,
        chain=chain,
        caller=caller,
        application_id=application_id,
        to=ApplicationStatus.ACCEPTANCE_SUBMITTED,
        comment=body.comment if body else None,
        now=clock(),
    )
