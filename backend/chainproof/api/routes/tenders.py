"""Sealed bids (issue #21): ``/api/v1/tenders`` over ``tenders/service.py`` and the chain.

Opening and awarding need an admin key (the platform organises for the trading centre);
relaying a commitment or a reveal needs no key: the bidder's EIP-712 signature, checked by
the contract, is the credential, and a reveal only opens what was committed. Reading a
tender is public: its commitments, openings and award come from the chain. Every write is an
operation of the chain writer: answered once settled, or 202 with the operation, whose
status is public at ``/api/v1/tenders/{reference}/operations/{id}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chainproof.api.deps import AdminDep, ChainDep, RuntimeDep, SessionDep
from chainproof.api.routes.operations import OPERATION_EXAMPLE, OperationId, OperationOut
from chainproof.api.schemas import error_responses
from chainproof.chain.writer import operation_public
from chainproof.errors import ChainError
from chainproof.runtime import Runtime, send_now
from chainproof.store.ops import LIVE, ChainOp
from chainproof.tenders import service

router = APIRouter(prefix="/api/v1/tenders", tags=["tenders"])
_HEX = "0x" + "ab" * 32
Reference = Annotated[
    str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$", examples=["GXZC2026-001"])
]
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=[_HEX])]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
_OPERATION_EXAMPLE: dict[str, Any] = {**OPERATION_EXAMPLE, "kind": "tender_commit"}


class TenderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "reference": "GXZC2026-001",
                "title": "区块链平台建设项目",
                "commit_deadline": "2026-12-20T09:00:00+08:00",
                "reveal_deadline": "2026-12-20T12:00:00+08:00",
                "document_digest": _HEX,
            }
        },
    )

    reference: str = Field(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    title: str = Field(min_length=1, max_length=200)
    commit_deadline: AwareDatetime
    reveal_deadline: AwareDatetime
    document_digest: Hex32


class CommitIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "bidder": "0x" + "12" * 20,
                "commitment": _HEX,
                "signature": "0x" + "cd" * 65,
            }
        },
    )

    bidder: Address
    commitment: Hex32
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class RevealIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"bidder": "0x" + "12" * 20, "bid_digest": _HEX, "salt": _HEX}
        },
    )

    bidder: Address
    bid_digest: Hex32
    salt: Hex32


class AwardIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"report_digest": _HEX, "award_digest": _HEX}},
    )

    report_digest: Hex32
    award_digest: Hex32


class TxOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"tx_hash": _HEX, "block_number": 42, "operation": _OPERATION_EXAMPLE}
        }
    )

    tx_hash: str | None = Field(
        description="The transaction that carried it (null: the chain held it already)."
    )
    block_number: int | None
    operation: OperationOut = Field(description="The chain writer's operation.")


class TenderOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "reference": "GXZC2026-001",
                "title": "区块链平台建设项目",
                "tender_id": _HEX,
                "registry": "0x" + "34" * 20,
                "chain_id": 31337,
                "organiser": "0x" + "56" * 20,
                "commit_deadline": 1766192400,
                "reveal_deadline": 1766203200,
                "document_hash": _HEX,
                "commitments": [],
                "openings": [],
                "award": None,
                "flags": [],
            }
        }
    )

    reference: str
    title: str
    tender_id: str
    registry: str
    chain_id: int
    organiser: str
    commit_deadline: int = Field(description="Unix seconds, block time.")
    reveal_deadline: int
    document_hash: str
    commitments: list[dict[str, Any]] = Field(description="BidCommitted events, block times.")
    openings: list[dict[str, Any]] = Field(description="BidRevealed events, block times.")
    award: dict[str, Any] | None
    flags: list[dict[str, Any]] = Field(description="Reveals that did not match.")


def _view(session: Any, chain: Any, reference: str) -> Any:
    return service.tender_public(session=session, chain=chain, reference=reference)


# A relay waits this long for the chain writer before answering 202 (anonymous callers hold
# a request thread no longer); the organiser's calls wait longer.
RELAY_WAIT_S = 5.0
ORGANISER_WAIT_S = 30.0
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": (
            "Enqueued; the chain writer has not settled it yet: poll "
            "`GET /api/v1/tenders/{reference}/operations/{id}` (the Location header)."
        ),
        "model": OperationOut,
    }
}


def _settle(runtime: Runtime, op: ChainOp, wait: float) -> ChainOp | None:
    """The operation once the chain writer settled it (this process's writer woken, or the
    key's lock taken for the moment), or None when it is still on its way."""
    try:
        settled = send_now(
            runtime.engine,
            runtime.chain,
            runtime.settings,
            [op],
            writer=runtime.writer,
            timeout=wait,
        )
    except ChainError:
        settled = False  # the queue did not drain in time: the operation stays queued
    if not settled:
        return None
    with runtime.sessions() as s:
        now = s.get(ChainOp, op.id)
    return now if now is not None and now.status not in LIVE else None


def _accepted(reference: str, op: ChainOp) -> JSONResponse:
    return JSONResponse(
        operation_public(op),
        status_code=202,
        headers={"Location": f"/api/v1/tenders/{reference}/operations/{op.public_id}"},
    )


def _tx_answer(runtime: Runtime, reference: str, op: ChainOp, wait: float) -> Any:
    done = _settle(runtime, op, wait)
    if done is None:
        return _accepted(reference, op)
    return {**service.settled_result(done), "operation": operation_public(done)}


@router.post(
    "",
    summary="Open a tender (commit deadline, reveal window) on chain",
    description=(
        "Enqueues `openTender` for the chain writer (the first tender deploys the "
        "TenderRegistry there too). 201 with the tender once on chain; 202 with the "
        "operation while the writer has not settled it; 409 when the contract refused it."
    ),
    status_code=201,
    response_model=TenderOut,
    responses={**_ACCEPTED, **error_responses(401, 403, 409, 422, 503)},
)
def open_tender(
    body: TenderCreate,
    caller: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Any:
    op = service.open_tender(
        session=session,
        chain=runtime.chain,
        reference=body.reference,
        title=body.title,
        commit_deadline=body.commit_deadline,
        reveal_deadline=body.reveal_deadline,
        document_digest=body.document_digest,
    )
    done = _settle(runtime, op, ORGANISER_WAIT_S)
    if done is None:
        return _accepted(body.reference, op)
    service.settled_result(done)
    with runtime.sessions() as s:
        return _view(s, runtime.chain, body.reference)


@router.get(
    "/{reference}",
    summary="A tender: commitments, openings, award (from the chain), flagged reveals",
    response_model=TenderOut,
    responses=error_responses(404, 422, 503),
)
def get_tender(reference: Reference, session: SessionDep, chain: ChainDep) -> Any:
    return _view(session, chain, reference)


@router.get(
    "/{reference}/operations/{operation_id}",
    summary="A tender operation's status (opening, commitment, reveal, award)",
    description=(
        "Public to whoever holds the id (a bidder has no API key): `queued` → `signed` → "
        "`sent` → `confirmed`, or `failed` with the contract's refusal in `error`."
    ),
    response_model=OperationOut,
    responses=error_responses(404, 422),
)
def tender_operation(reference: Reference, operation_id: OperationId, session: SessionDep) -> Any:
    return operation_public(service.tender_operation(session, reference, operation_id))


@router.post(
    "/{reference}/commitments",
    summary="Relay a bidder's signed commitment (the signature is the credential)",
    description=(
        "Enqueued for the chain writer: 200 with the transaction when it settled within a "
        "few seconds, 202 with the operation otherwise, 409 when the contract refused it "
        "(`CommitClosed`, `BadSignature`, `AlreadyCommitted`)."
    ),
    response_model=TxOut,
    responses={**_ACCEPTED, **error_responses(404, 409, 422, 503)},
)
def commit(reference: Reference, body: CommitIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    op = service.relay_commitment(
        session=session,
        chain=runtime.chain,
        reference=reference,
        bidder=body.bidder,
        commitment=body.commitment,
        signature=body.signature,
    )
    return _tx_answer(runtime, reference, op, RELAY_WAIT_S)


@router.post(
    "/{reference}/reveals",
    summary="Open a bid: its file digest and salt, checked against the commitment on chain",
    description=(
        "As a commitment: 200, 202 or 409 (`RevealNotOpen`, `CommitmentMismatch`: a "
        "mismatch is flagged on the tender page)."
    ),
    response_model=TxOut,
    responses={**_ACCEPTED, **error_responses(404, 409, 422, 503)},
)
def reveal(reference: Reference, body: RevealIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    op = service.relay_reveal(
        session=session,
        chain=runtime.chain,
        reference=reference,
        bidder=body.bidder,
        bid_digest=body.bid_digest,
        salt=body.salt,
    )
    return _tx_answer(runtime, reference, op, RELAY_WAIT_S)


@router.post(
    "/{reference}/award",
    summary="Anchor the evaluation report and the award (after the reveal window)",
    response_model=TxOut,
    responses={**_ACCEPTED, **error_responses(401, 403, 404, 409, 422, 503)},
)
def award(
    reference: Reference,
    body: AwardIn,
    caller: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Any:
    op = service.award(
        session=session,
        chain=runtime.chain,
        reference=reference,
        report_digest=body.report_digest,
        award_digest=body.award_digest,
    )
    return _tx_answer(runtime, reference, op, ORGANISER_WAIT_S)
