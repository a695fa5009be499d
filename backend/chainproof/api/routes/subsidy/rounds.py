"""``/api/v1/subsidy/rounds``: application rounds."""

from __future__ import annotations

from fastapi import APIRouter

from chainproof.api.deps import (
    AdminDep,
    SessionDep,
)
from chainproof.api.routes.subsidy.common import PREFIX, ClockDep, RoundCode, _actor
from chainproof.api.schemas import error_responses
from chainproof.subsidy import rounds
from chainproof.subsidy.schemas import (
    RoundIn,
    RoundOut,
    RoundPatch,
)

router = APIRouter(prefix=PREFIX, tags=["subsidy"])


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
