"""Cross-chain messages (issue 22): a sub-chain's recall or lift, or its evidence revocation,
with its checkpoint proof, taken by the main chain's deployment (``crosschain/recalls.py``,
``crosschain/revocations.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api.deps import ChainDep, SessionDep, SettingsDep
from chainproof.api.schemas import error_responses
from chainproof.config import Settings
from chainproof.crosschain.messages import RecallMessage
from chainproof.crosschain.recalls import MESSAGES_PATH, accept_message
from chainproof.crosschain.revocations import (
    REVOCATIONS_PATH,
    RevocationMessage,
    accept_revocation,
)
from chainproof.errors import ConflictError

router = APIRouter()


class MessageTakenOut(BaseModel):
    """The recall as the main deployment keeps it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "sub_chain_id": 4242,
                    "kind": "recall",
                    "lot_uri": "https://id.gs1.org/01/09506000135003/10/N1",
                    "block_number": 12,
                    "checkpoint_index": 3,
                }
            ]
        }
    )

    id: int
    sub_chain_id: int
    kind: str
    lot_uri: str
    block_number: int
    checkpoint_index: int = Field(description="The checkpoint on this chain holding its block.")


def _chain_registry(settings: Settings) -> str:
    """The ChainRegistry a message's checkpoint must be on: 409 where none is configured."""
    if settings.chain_registry is None:
        raise ConflictError("this deployment takes no cross-chain messages")
    return settings.chain_registry


def _taken(out: type[BaseModel], row: Any, created: bool) -> JSONResponse:
    """The kept row's ``out`` fields: 201 when it is new, 200 when it was known already."""
    body = {name: getattr(row, name) for name in out.model_fields}
    return JSONResponse(body, status_code=201 if created else 200)


def _taken_responses(out: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": "Known already.", "model": out}, **error_responses(409, 413, 422)}


@router.post(
    MESSAGES_PATH,
    tags=["crosschain"],
    summary="Take a sub-chain's recall message",
    description=(
        "A recall (or its lift) raised on a registered sub-chain's TraceRegistry, with the "
        "sub-chain block's header, the receipts-trie proof of its LotRecalled (RecallLifted) "
        "log and the checkpoint on this chain's ChainRegistry that holds the block "
        "(`chainproof-crosschain-recall/1`, docs/crosschain.md). Anyone may carry one: it is "
        "checked against this chain alone, then shown on the scan pages of the lot's items. "
        "201 when new, 200 when known already, 422 when the proof does not hold, 409 when "
        "this deployment takes no cross-chain messages (no CHAINPROOF_CHAIN_REGISTRY)."
    ),
    status_code=201,
    response_model=MessageTakenOut,
    responses=_taken_responses(MessageTakenOut),
)
async def take_message(
    message: RecallMessage, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Any:
    registry = _chain_registry(settings)
    row, created = await run_in_threadpool(
        lambda: accept_message(session, chain.w3, chain_registry=registry, message=message)
    )
    return _taken(MessageTakenOut, row, created)


class RevocationTakenOut(BaseModel):
    """The leaf revocation as the main deployment keeps it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "sub_chain_id": 4242,
                    "root": "0x" + "ab" * 32,
                    "leaf_hash": "0x" + "cd" * 32,
                    "block_number": 12,
                    "checkpoint_index": 3,
                }
            ]
        }
    )

    id: int
    sub_chain_id: int
    root: str
    leaf_hash: str
    block_number: int
    checkpoint_index: int = Field(description="The checkpoint on this chain holding its block.")


@router.post(
    REVOCATIONS_PATH,
    tags=["crosschain"],
    summary="Take a sub-chain's evidence revocation",
    description=(
        "A leaf revoked on a registered sub-chain's EvidenceRegistry, with the sub-chain "
        "block's header, the receipts-trie proof of its LeafRevoked log and the checkpoint on "
        "this chain's ChainRegistry that holds the block (`chainproof-crosschain-revocation/1`, "
        "docs/crosschain.md). Anyone may carry one: it is checked against this chain alone, "
        "then `POST /api/v1/receipts/verify` says a receipt of that leaf revoked. 201 when "
        "new, 200 when known already, 422 when the proof does not hold, 409 when this "
        "deployment takes no cross-chain messages."
    ),
    status_code=201,
    response_model=RevocationTakenOut,
    responses=_taken_responses(RevocationTakenOut),
)
async def take_revocation(
    message: RevocationMessage, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Any:
    registry = _chain_registry(settings)
    row, created = await run_in_threadpool(
        lambda: accept_revocation(session, chain.w3, chain_registry=registry, message=message)
    )
    return _taken(RevocationTakenOut, row, created)
