"""Business types (业务类型): ``POST/GET /api/v1/business-types`` (admins define them; any
key reads them, so submitters know each type's metadata schema). docs/business-types.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api import audited
from chainproof.api.deps import AdminDep, ReaderDep, SessionDep
from chainproof.api.errors import BadRequestError
from chainproof.api.schemas import error_responses
from chainproof.business import service
from chainproof.business.models import NAME_LEN, BusinessType
from chainproof.business.schemas import MetadataError

router = APIRouter(prefix="/api/v1", tags=["business types"])
_EXAMPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "contract_no": {"type": "string", "pattern": "^HT-[0-9]{4}-[0-9]{3,6}$"},
        "amount_wan": {"type": "number", "minimum": 0},
        "parties": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    },
    "required": ["contract_no", "amount_wan"],
    "additionalProperties": False,
}


class BusinessTypeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "contract", "name": "合同", "schema": _EXAMPLE_SCHEMA}]
        },
    )
    code: str = Field(min_length=1, max_length=64, pattern=service.CODE_PATTERN)
    name: str = Field(min_length=1, max_length=NAME_LEN)
    # Any JSON: business/schemas.py decides, with bounds, what a schema may be.
    schema_: dict[str, Any] = Field(alias="schema")


class BusinessTypeOut(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "contract",
                    "name": "合同",
                    "schema": _EXAMPLE_SCHEMA,
                    "created_at": "2026-12-07T08:00:00Z",
                }
            ]
        },
    )
    code: str
    name: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    created_at: datetime


def _out(row: BusinessType) -> BusinessTypeOut:
    return BusinessTypeOut(
        code=row.code, name=row.name, schema=row.metadata_schema, created_at=row.created_at
    )


@router.post(
    "/business-types",
    status_code=201,
    summary="Define a business type",
    description=(
        "A code, a name and a JSON Schema (draft 2020-12) for the metadata its evidence "
        "carries. The schema is refused (400 naming where) when it is over 16 KiB, nested "
        "deeper than 32, uses $ref (or $id, $anchor), a pattern the linear-time regex engine "
        "cannot run, or is not an object schema. Audited."
    ),
    response_model=BusinessTypeOut,
    response_model_by_alias=True,
    responses=error_responses(400, 401, 403, 409, 422),
)
def create_business_type(
    body: BusinessTypeIn, admin: AdminDep, session: SessionDep
) -> BusinessTypeOut:
    who = audited.who(session, admin)
    try:
        row = service.create(session, who, code=body.code, name=body.name, schema=body.schema_)
    except MetadataError as exc:
        raise BadRequestError(exc.message, field=exc.field) from None
    return _out(row)


@router.get(
    "/business-types",
    summary="List business types",
    description="Every business type with its metadata schema (any API key).",
    response_model=list[BusinessTypeOut],
    response_model_by_alias=True,
    responses=error_responses(401, 403),
)
def list_business_types(_caller: ReaderDep, session: SessionDep) -> list[BusinessTypeOut]:
    return [_out(row) for row in service.all_types(session)]


@router.get(
    "/business-types/{code}",
    summary="Read one business type",
    response_model=BusinessTypeOut,
    response_model_by_alias=True,
    responses=error_responses(401, 403, 404, 422),
)
def read_business_type(
    code: Annotated[str, Path(min_length=1, max_length=64)],
    _caller: ReaderDep,
    session: SessionDep,
) -> BusinessTypeOut:
    return _out(service.require_type(session, code))
