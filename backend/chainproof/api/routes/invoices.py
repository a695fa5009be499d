"""Provable invoice uniqueness (issue #21): proofs from the append-only invoice map.

``GET /api/v1/subsidy/applications/{id}/invoice-proofs``: for each acceptance invoice or
contract of the application, a ``chainproof-invoice-proof/1`` document (membership: who
claimed it first; or non-membership) against the newest anchored root, which
``chainproof subsidy verify-invoice`` checks offline (docs/invoices.md).

``GET /api/v1/invoices/consistency?from=R1&to=R2`` (reviewers): the append-only proof from
one anchored root to a later one (``chainproof-invoice-consistency/1``), which
``chainproof subsidy verify-consistency`` checks offline.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api.deps import MemberDep, ReviewerDep, SessionDep
from chainproof.api.schemas import error_responses
from chainproof.invoices import service
from chainproof.subsidy.access import Actor, visible_application

router = APIRouter(prefix="/api/v1/subsidy")
consistency_router = APIRouter(prefix="/api/v1/invoices")
_HEX = "0x" + "ab" * 32
_ROOT = r"^0x[0-9a-fA-F]{64}$"
FromRoot = Annotated[
    str,
    Query(
        alias="from",
        pattern=_ROOT,
        description="The older root (`root_record.root` of a proof file), or 32 zero bytes.",
        examples=["0x" + "00" * 32],
    ),
]
ToRoot = Annotated[
    str,
    Query(alias="to", pattern=_ROOT, description="The newer root.", examples=[_HEX]),
]


class InvoiceProofOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "document_id": 12,
                "state": "claimed_here",
                "proof": {
                    "format": "chainproof-invoice-proof/1",
                    "key": _HEX,
                    "claimed": True,
                    "claimed_by": {"application": 5, "document": 12},
                    "siblings": [_HEX],
                    "terminal": {"key": _HEX, "value": _HEX},
                    "root_record": {
                        "format": "chainproof-invoice-map/1",
                        "root": _HEX,
                        "size": 3,
                    },
                    "receipt": {"version": 1},
                },
            }
        }
    )

    document_id: int
    state: str = Field(description="claimed_here, claimed_elsewhere (reused) or unclaimed.")
    proof: dict[str, Any] = Field(description="The proof file (docs/invoices.md).")


@router.get(
    "/applications/{application_id}/invoice-proofs",
    tags=["subsidy"],
    summary="Proofs that the application's invoices are claimed once (invoice map)",
    description=(
        "For each acceptance invoice or contract: a membership or non-membership proof in "
        "the append-only invoice map against its newest anchored root. 409 until a root is "
        "anchored. The unit and reviewers."
    ),
    response_model=list[InvoiceProofOut],
    responses=error_responses(401, 404, 409, 422),
)
def invoice_proofs(
    application_id: Annotated[int, Path(ge=1, le=2**62)],
    caller: MemberDep,
    session: SessionDep,
) -> Any:
    actor = Actor(member_id=caller.member_id, role=caller.role, key_id=caller.key_id)
    application = visible_application(session, application_id, actor)
    return service.application_proofs(session=session, application=application)


class RootEnd(BaseModel):
    root_record: dict[str, Any] = Field(description="`chainproof-invoice-map/1`: root, size.")
    receipt: dict[str, Any] | None = Field(
        description="The root record's anchoring receipt (null: the empty map)."
    )


class ConsistencyOut(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "example": {
                "format": "chainproof-invoice-consistency/1",
                "from": {
                    "root_record": {"format": "chainproof-invoice-map/1", "root": _HEX, "size": 1},
                    "receipt": {"version": 1},
                },
                "to": {
                    "root_record": {"format": "chainproof-invoice-map/1", "root": _HEX, "size": 2},
                    "receipt": {"version": 1},
                },
                "steps": [{"key": _HEX, "value": _HEX, "siblings": [], "terminal": None}],
            }
        },
    )

    format: str = Field(description="`chainproof-invoice-consistency/1`.")
    from_: RootEnd = Field(alias="from")
    to: RootEnd
    steps: list[dict[str, Any]] = Field(
        description="The claims added, in log order, each with its non-membership proof."
    )


@consistency_router.get(
    "/consistency",
    tags=["subsidy"],
    summary="Proof that the invoice map only grew from one anchored root to a later one",
    description=(
        "A `chainproof-invoice-consistency/1` document: both roots' records with their "
        "anchoring receipts and the claims added in between, each with its non-membership "
        "proof (docs/invoices.md). `from` may be the empty map (32 zero bytes). 404 for a "
        "root this server never had, 409 while one is not anchored, 422 for roots out of "
        "order or more than 10,000 claims apart. Reviewers (it lists the claims' hashes)."
    ),
    response_model=ConsistencyOut,
    response_model_by_alias=True,
    responses=error_responses(401, 403, 404, 409, 422),
)
def invoice_consistency(
    caller: ReviewerDep,
    session: SessionDep,
    from_root: FromRoot,
    to_root: ToRoot,
) -> Any:
    return service.consistency_proof(session, from_root=from_root, to_root=to_root)
