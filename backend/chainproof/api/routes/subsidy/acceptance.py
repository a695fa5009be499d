"""``/api/v1/subsidy/applications/{id}/acceptance``: acceptance documents and checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import (
    ChainDep,
    MemberDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
)
from chainproof.api.routes.subsidy.common import (
    _ALGORITHM_QUERY,
    PREFIX,
    ApplicationId,
    _actor,
    _multipart,
    _validate,
    submit_route,
)
from chainproof.api.schemas import error_responses
from chainproof.api.upload import hash_upload
from chainproof.digests import Algorithm
from chainproof.subsidy import acceptance
from chainproof.subsidy.access import visible_application
from chainproof.subsidy.models import ApplicationStatus
from chainproof.subsidy.schemas import (
    AcceptanceDocIn,
    AcceptanceOut,
    ApplicationOut,
    DocumentOut,
)

router = APIRouter(prefix=PREFIX, tags=["subsidy"])


# --- acceptance ------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/acceptance/documents",
    status_code=201,
    summary="Upload an acceptance contract or invoice",
    description=(
        "Multipart: one `file` with `kind` (合同 or 发票), `amount_wan` (万元, to the fen), "
        "`number` and `issuer`, and for the invoice map's key `issuer_tax_id` "
        "(统一社会信用代码) and `invoice_code` (发票代码). Anchored as the unit's evidence. "
        "Only while approved."
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
                "issuer_tax_id": "The issuer's tax id (统一社会信用代码), optional.",
                "invoice_code": "The invoice code (发票代码), optional; with issuer_tax_id.",
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
    form = await hash_upload(
        request,
        settings,
        algorithm=algorithm,
        max_files=1,
        fields=("kind", "amount_wan", "number", "issuer", "issuer_tax_id", "invoice_code"),
    )
    # A form's empty optional field is an absent one (an all-electronic invoice's code).
    fields = {
        k: v
        for k, v in form.fields.items()
        if k != "algorithm" and not (k in ("issuer_tax_id", "invoice_code") and v == "")
    }
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


router.post(
    "/applications/{application_id}/acceptance/submit",
    summary="Submit for acceptance",
    description=(
        "approved → acceptance_submitted: the acceptance documents are frozen in a manifest, "
        "anchored with the transition."
    ),
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422),
    name="submit_acceptance",
)(submit_route(ApplicationStatus.ACCEPTANCE_SUBMITTED))
