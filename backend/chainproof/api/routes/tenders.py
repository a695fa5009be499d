"""Sealed bids (issue #21): ``/api/v1/tenders`` over ``tenders/service.py`` and the chain.

Opening and awarding need an admin key (the platform organises for the trading centre);
relaying a commitment or a reveal needs no key: the bidder's EIP-712 signature, checked by
the contract, is the credential, and a reveal only opens what was committed. Reading a
tender is public: its commitments, openings and award come from the chain.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chainproof.api.deps import AdminDep, ChainDep, SessionDep, SettingsDep
from chainproof.api.schemas import error_responses
from chainproof.tenders import service

router = APIRouter(prefix="/api/v1/tenders")
_HEX = "0x" + "ab" * 32
Reference = Annotated[
    str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$", examples=["GXZC2026-001"])
]
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=[_HEX])]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


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
    model_config = ConfigDict(json_schema_extra={"example": {"tx_hash": _HEX, "block_number": 42}})

    tx_hash: str
    block_number: int


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


def _view(session: Any, chain: Any, settings: Any, reference: str) -> Any:
    return service.tender_public(
        session=session, chain=chain, data_dir=settings.data_dir, reference=reference
    )


@router.post(
    "",
    tags=["tenders"],
    summary="Open a tender (commit deadline, reveal window) on chain",
    status_code=201,
    response_model=TenderOut,
    responses=error_responses(401, 403, 409, 422, 503),
)
def open_tender(
    body: TenderCreate,
    caller: AdminDep,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    service.open_tender(
        session=session,
        chain=chain,
        data_dir=settings.data_dir,
        reference=body.reference,
        title=body.title,
        commit_deadline=body.commit_deadline,
        reveal_deadline=body.reveal_deadline,
        document_digest=body.document_digest,
    )
    return _view(session, chain, settings, body.reference)


@router.get(
    "/{reference}",
    tags=["tenders"],
    summary="A tender: commitments, openings, award (from the chain), flagged reveals",
    response_model=TenderOut,
    responses=error_responses(404, 422, 503),
)
def get_tender(
    reference: Reference, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Any:
    return _view(session, chain, settings, reference)


@router.post(
    "/{reference}/commitments",
    tags=["tenders"],
    summary="Relay a bidder's signed commitment (the signature is the credential)",
    response_model=TxOut,
    responses=error_responses(404, 409, 422, 503),
)
def commit(
    reference: Reference,
    body: CommitIn,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    return service.relay_commitment(
        session=session,
        chain=chain,
        data_dir=settings.data_dir,
        reference=reference,
        bidder=body.bidder,
        commitment=body.commitment,
        signature=body.signature,
    )


@router.post(
    "/{reference}/reveals",
    tags=["tenders"],
    summary="Open a bid: its file digest and salt, checked against the commitment on chain",
    response_model=TxOut,
    responses=error_responses(404, 409, 422, 503),
)
def reveal(
    reference: Reference,
    body: RevealIn,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    return service.relay_reveal(
        session=session,
        chain=chain,
        data_dir=settings.data_dir,
        reference=reference,
        bidder=body.bidder,
        bid_digest=body.bid_digest,
        salt=body.salt,
    )


@router.post(
    "/{reference}/award",
    tags=["tenders"],
    summary="Anchor the evaluation report and the award (after the reveal window)",
    response_model=TxOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def award(
    reference: Reference,
    body: AwardIn,
    caller: AdminDep,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    return service.award(
        session=session,
        chain=chain,
        data_dir=settings.data_dir,
        reference=reference,
        report_digest=body.report_digest,
        award_digest=body.award_digest,
    )
