"""Chain operations a caller waits for: ``GET /api/v1/operations/{id}``.

A route that writes to the chain (a revocation) enqueues the transaction for the chain
writer and answers ``202`` with the operation; the caller polls here until the status is
``confirmed`` or ``failed``. Only the operation's org or an admin sees it: anyone else gets
the same 404 as for an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from chainproof.api.deps import CallerDep, SessionDep
from chainproof.api.errors import NotAuthenticatedError
from chainproof.api.schemas import error_responses
from chainproof.chain.writer import operation_public
from chainproof.errors import NotFoundError
from chainproof.store.ops import ChainOp, OpStatus

router = APIRouter(prefix="/api/v1")

OperationId = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{32}$",
        description="The operation id a 202 answer gave.",
        examples=["5f2c0d9e4b7a41c8a3e6f1b2c4d5e6f7"],
    ),
]


#: An operation as the API shows it; other routes' examples change its ``kind``.
OPERATION_EXAMPLE: Final[dict[str, Any]] = {
    "id": "5f2c0d9e4b7a41c8a3e6f1b2c4d5e6f7",
    "kind": "revoke_leaf",
    "status": "confirmed",
    "tx_hash": "0x" + "ab" * 32,
    "block_number": 42,
    "error": None,
    "created_at": "2026-12-07T14:00:00+00:00",
    "updated_at": "2026-12-07T14:00:01+00:00",
}


class OperationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": OPERATION_EXAMPLE})

    id: str = Field(description="The operation id.")
    kind: str = Field(description="revoke_leaf, grant_member, revoke_member, ...")
    status: OpStatus = Field(description="queued → signed → sent → confirmed, or failed.")
    tx_hash: str | None = Field(description="The transaction that carried it, once confirmed.")
    block_number: int | None
    error: str | None = Field(description="Why it failed (the contract's refusal).")
    created_at: str
    updated_at: str


@router.get(
    "/operations/{operation_id}",
    tags=["chain"],
    summary="One chain operation's status",
    description=(
        "The status of a chain write a route accepted with 202 (a revocation, say). Only "
        "the operation's org or an admin may read it."
    ),
    response_model=OperationOut,
    responses=error_responses(401, 404, 422),
)
def get_operation(operation_id: OperationId, caller: CallerDep, session: SessionDep) -> Any:
    if not caller.authenticated:
        raise NotAuthenticatedError("an API key is required to read an operation")
    op = session.exec(select(ChainOp).where(ChainOp.public_id == operation_id)).first()
    viewer = caller.viewer
    if op is None or not (
        viewer.is_admin or (viewer.member_id is not None and op.member_id == viewer.member_id)
    ):
        raise NotFoundError(f"no operation {operation_id}")
    return operation_public(op)
