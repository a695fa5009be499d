"""What the subsidy routes share: path parameters, role dependencies, the clock, one lifecycle move,
multipart documentation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from chainproof.api.deps import (
    Caller,
    ChainDep,
    SessionDep,
    SubmitterDep,
)
from chainproof.api.errors import error_body, request_error
from chainproof.api.upload import FILE_FIELD
from chainproof.store.models import MAX_ID, utcnow
from chainproof.subsidy import applications, lifecycle
from chainproof.subsidy.access import Actor
from chainproof.subsidy.models import ApplicationStatus
from chainproof.subsidy.schemas import (
    ApplicationOut,
    SubmitIn,
)
from chainproof.vocabulary import ALGORITHMS

PREFIX: Final = "/api/v1/subsidy"
MAX_FILES: Final = 64
ApplicationId = Annotated[int, Path(ge=1, le=MAX_ID, description="Application id.", examples=[5])]
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="Document id.", examples=[3])]
RoundCode = Annotated[str, Path(max_length=32, description="Round code.", examples=["2023"])]


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
        raise request_error(exc, "body") from None


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


def submit_route(to: ApplicationStatus) -> Callable[..., Any]:
    """The route of an applicant's submission (the package, or the acceptance documents):
    the move to ``to`` with the optional comment, nothing else."""

    def submit_to(
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
            to=to,
            comment=body.comment if body else None,
            now=clock(),
        )

    return submit_to


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
