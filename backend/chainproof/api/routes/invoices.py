"""Provable invoice uniqueness (issue #21): proofs from the append-only invoice map.

``GET /api/v1/subsidy/applications/{id}/invoice-proofs``: for each acceptance invoice or
contract of the application, a ``chainproof-invoice-proof/1`` document (membership: who
claimed it first; or non-membership) against the newest anchored root, which
``chainproof subsidy verify-invoice`` checks offline (docs/invoices.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api.deps import Caller, SessionDep, require_role
from chainproof.api.schemas import error_responses
from chainproof.invoices import service
from chainproof.roles import Role
from chainproof.subsidy.access import Actor, visible_application

router = APIRouter(prefix="/api/v1/subsidy")
MemberDep = Annotated[Caller, Depends(require_role(Role.SUBMITTER, Role.REVIEWER))]
_HEX = "0x" + "ab" * 32


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
