"""``/api/v1/subsidy/applications/{id}``: submitting, moving through review, the trail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chainproof.api.deps import (
    ChainDep,
    MemberDep,
    SessionDep,
)
from chainproof.api.routes.subsidy.common import (
    PREFIX,
    ApplicationId,
    ClockDep,
    _actor,
    _move,
    submit_route,
)
from chainproof.api.schemas import error_responses
from chainproof.subsidy import lifecycle
from chainproof.subsidy.access import visible_application
from chainproof.subsidy.models import ApplicationStatus
from chainproof.subsidy.schemas import (
    ApplicationOut,
    TrailOut,
    TransitionIn,
)

router = APIRouter(prefix=PREFIX, tags=["subsidy"])


# --- lifecycle -------------------------------------------------------------------------------


router.post(
    "/applications/{application_id}/submit",
    summary="Submit the package",
    description=(
        "draft → submitted. Refused (409, with the reasons) while a blocking rule fails. The "
        "manifest (fields + every document's digest) and the transition are anchored in one "
        "commit; the manifest's receipt proves the whole package."
    ),
    response_model=ApplicationOut,
    responses=error_responses(401, 403, 404, 409, 422),
    name="submit",
)(submit_route(ApplicationStatus.SUBMITTED))


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
