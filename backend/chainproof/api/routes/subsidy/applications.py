"""``/api/v1/subsidy/applications``: applications, their documents and manifests."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import (
    MemberDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
)
from chainproof.api.routes.subsidy.common import (
    _ALGORITHM_QUERY,
    MAX_FILES,
    PREFIX,
    ApplicationId,
    ClockDep,
    DocumentId,
    _actor,
    _multipart,
)
from chainproof.api.schemas import error_responses
from chainproof.api.upload import hash_upload
from chainproof.digests import Algorithm
from chainproof.errors import NotFoundError
from chainproof.subsidy import applications
from chainproof.subsidy.access import visible_application
from chainproof.subsidy.catalog import parse_kind
from chainproof.subsidy.manifests import get_manifest
from chainproof.subsidy.models import Phase
from chainproof.subsidy.schemas import (
    EX_DIGEST,
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    DocumentOut,
    StatusName,
)

router = APIRouter(prefix=PREFIX, tags=["subsidy"])


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
    form = await hash_upload(
        request, settings, algorithm=algorithm, max_files=MAX_FILES, fields=("kind",)
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
