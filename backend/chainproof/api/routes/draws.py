"""Verifiable random draws (issue #21): ``/api/v1/draws`` and the reviewer's spot audits.

Creating a draw needs a reviewer or admin key (or a signed-in reviewer); reading one is
public: a draw is worth something only if anyone can recompute it (docs/draws.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api.deps import (
    ChainDep,
    ReviewerDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
)
from chainproof.api.schemas import error_responses
from chainproof.draws import selection, service
from chainproof.errors import InvalidInputError
from chainproof.runtime import finality_policy
from chainproof.subsidy.access import Actor
from chainproof.subsidy.applications import list_applications
from chainproof.subsidy.models import ApplicationStatus

router = APIRouter(prefix="/api/v1", tags=["draws"])

DrawId = Annotated[
    str,
    Path(
        max_length=64,
        description="The draw's public id.",
        examples=["01938f4e-7c2a-7b3d-9e1f-0a2b3c4d5e6f"],
    ),
]
_HEX = "0x" + "ab" * 32
_EXAMPLE_OUT: dict[str, Any] = {
    "id": "01938f4e-7c2a-7b3d-9e1f-0a2b3c4d5e6f",
    "title": "2023年示范应用验收抽查",
    "purpose": None,
    "status": "drawn",
    "candidates": ["application-1", "application-2", "application-3"],
    "count": 1,
    "chain_id": 31337,
    "target_block": 120,
    "commitments": {
        "candidates_hash": _HEX,
        "secret_commitment": _HEX,
        "record": {"format": selection.DRAW_FORMAT, "target_block": 120},
        "record_digest": _HEX,
        "evidence_id": "01938f4e-7c2a-7b3d-9e1f-0a2b3c4d5e70",
        "anchor_block": 111,
        "receipt": None,
    },
    "block_hash": _HEX,
    "secret": _HEX,
    "selected": ["application-2"],
    "void_reason": None,
    "created_at": "2026-12-07T14:00:00+00:00",
    "drawn_at": "2026-12-07T14:02:00+00:00",
}


class DrawCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "title": "专家抽取：第3批评审",
                "candidates": ["专家A", "专家B", "专家C", "专家D"],
                "count": 2,
                "blocks_ahead": 5,
            }
        },
    )

    title: str = Field(min_length=1, max_length=selection.MAX_TITLE_LEN)
    candidates: list[
        Annotated[str, Field(min_length=1, max_length=selection.MAX_CANDIDATE_LEN)]
    ] = Field(min_length=1, max_length=selection.MAX_CANDIDATES)
    count: int = Field(ge=1, le=selection.MAX_CANDIDATES, description="How many to draw.")
    blocks_ahead: int = Field(
        ge=service.MIN_BLOCKS_AHEAD,
        le=service.MAX_BLOCKS_AHEAD,
        description="The target block is the current head plus this many.",
    )
    secret_commitment: str | None = Field(
        None,
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description=(
            "keccak256 of a 32-byte secret the organiser keeps: the server never learns it, "
            "and the organiser reveals it (POST /api/v1/draws/{id}/reveal) after the target block."
        ),
    )


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"secret": _HEX}})

    secret: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")


class SpotAuditCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "round": "2023-1",
                "status": "acceptance_submitted",
                "count": 2,
                "blocks_ahead": 5,
            }
        },
    )

    round: str | None = Field(None, max_length=64, description="Only this round's applications.")
    status: ApplicationStatus = Field(
        ApplicationStatus.ACCEPTANCE_SUBMITTED,
        description="The review queue to draw from (applications in this status).",
    )
    count: int = Field(ge=1, le=selection.MAX_CANDIDATES)
    blocks_ahead: int = Field(ge=service.MIN_BLOCKS_AHEAD, le=service.MAX_BLOCKS_AHEAD)


class DrawOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _EXAMPLE_OUT})

    id: str
    title: str
    purpose: str | None
    status: str = Field(description="committed → drawn, or void (see docs/draws.md).")
    candidates: list[str]
    count: int
    chain_id: int
    target_block: int
    commitments: dict[str, Any] = Field(
        description="Candidate-list hash, secret commitment, the anchored record and its receipt."
    )
    block_hash: str | None = Field(description="The target block's hash, once drawn.")
    secret: str | None = Field(description="The revealed secret, once drawn.")
    selected: list[str] | None = Field(description="The selection in draw order, once drawn.")
    void_reason: str | None
    created_at: str
    drawn_at: str | None


@router.post(
    "/draws",
    summary="Commit to a random draw",
    description=(
        "Fixes the candidates, the count, a future target block and a commitment to a "
        "secret, and anchors them on chain; the server reveals the secret once the target "
        "block exists. Reviewer or admin."
    ),
    status_code=201,
    response_model=DrawOut,
    responses=error_responses(401, 403, 409, 422, 503),
)
def create_draw(
    body: DrawCreate,
    caller: ReviewerDep,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    draw = service.create_draw(
        session=session,
        chain=chain,
        secret_key=settings.secret_key.get_secret_value(),
        title=body.title,
        candidates=body.candidates,
        count=body.count,
        blocks_ahead=body.blocks_ahead,
        member_id=caller.member_id,
        organiser_commitment=body.secret_commitment,
    )
    return service.draw_public(session=session, draw=draw)


@router.post(
    "/draws/{draw_id}/reveal",
    summary="Reveal an organiser-held secret after the target block",
    description="Checked against the commitment on chain. Reviewer or admin.",
    response_model=DrawOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def reveal_draw(
    draw_id: DrawId,
    body: RevealIn,
    caller: ReviewerDep,
    session: SessionDep,
    chain: ChainDep,
    runtime: RuntimeDep,
) -> Any:
    draw = service.reveal_secret(
        session=session,
        w3=chain.w3,
        draw=service.get_draw(session=session, draw_id=draw_id),
        secret=body.secret,
        confirmations=finality_policy(chain, runtime.settings).confirmations,
    )
    return service.draw_public(session=session, draw=draw)


@router.get(
    "/draws/{draw_id}",
    summary="A draw: commitments, target block, and once drawn the secret and selection",
    description="Public: anyone recomputes it (`chainproof draw verify`).",
    response_model=DrawOut,
    responses=error_responses(404, 422),
)
def get_draw(draw_id: DrawId, session: SessionDep) -> Any:
    return service.draw_public(
        session=session, draw=service.get_draw(session=session, draw_id=draw_id)
    )


@router.post(
    "/subsidy/spot-audits",
    summary="Draw applications from the review queue for a spot audit (抽查)",
    description=(
        "A draw whose candidates are the applications in the queue (`application-<id>`, by "
        "id), in one status and optionally one round. Reviewer or admin."
    ),
    status_code=201,
    response_model=DrawOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def spot_audit(
    body: SpotAuditCreate,
    caller: ReviewerDep,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    actor = Actor(member_id=caller.member_id, role=caller.role, key_id=caller.key_id)
    queue = list_applications(
        session=session, actor=actor, round_code=body.round, status=body.status.value
    )
    if not queue:
        raise InvalidInputError(f"no application is {body.status.value}: nothing to draw from")
    candidates = [f"application-{a.id}" for a in queue]
    title = f"抽查 spot audit: {body.status.value}" + (
        f", round {body.round}" if body.round else ""
    )
    draw = service.create_draw(
        session=session,
        chain=chain,
        secret_key=settings.secret_key.get_secret_value(),
        title=title,
        candidates=candidates,
        count=min(body.count, len(candidates)),
        blocks_ahead=body.blocks_ahead,
        member_id=caller.member_id,
        purpose="spot_audit",
    )
    return service.draw_public(session=session, draw=draw)
