"""Data resources (数据资源): ``/api/v1/datasets``. A submitter registers its org's data
set by manifest; its owner org, orgs granted it, admins and auditors read it (anyone else:
404); the owner or an admin grants and withdraws access, each change audited.
``chainproof dataset anchor|verify|prove|check-proof`` drive these. docs/business-types.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api import audited
from chainproof.api.deps import ReaderDep, SessionDep, SubmitterDep
from chainproof.api.schemas import error_responses
from chainproof.datasets import service
from chainproof.datasets.manifest import LEAF_TYPES, MAX_FILES, PATH_MAX, PROOF_FORMAT, entry_of
from chainproof.datasets.models import LICENCE_LEN, NAME_LEN, DataResource
from chainproof.errors import InvalidInputError

router = APIRouter(prefix="/api/v1", tags=["data resources"])
ResourceId = Annotated[str, Path(min_length=1, max_length=64, description="The data set's id.")]


class DatasetIn(BaseModel):
    """The manifest in columns (path, size and SHA-256 of file ``i`` at index ``i``): a body
    of 20,000 files stays inside the JSON guard's container and key limits."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "2023 甘蔗检测数据",
                    "licence": "CC-BY-4.0",
                    "paths": ["lab/2023-01.csv"],
                    "sizes": [1834],
                    "sha256": ["0x" + "ab" * 32],
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=NAME_LEN)
    licence: str = Field(min_length=1, max_length=LICENCE_LEN)
    paths: list[Annotated[str, Field(min_length=1, max_length=PATH_MAX)]] = Field(
        min_length=1, max_length=MAX_FILES
    )
    sizes: list[Annotated[int, Field(ge=0, lt=2**63)]] = Field(min_length=1, max_length=MAX_FILES)
    sha256: list[Annotated[str, Field(min_length=66, max_length=66)]] = Field(
        min_length=1, max_length=MAX_FILES
    )


class GrantIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"org": "南宁市农业局"}]}
    )
    org: str = Field(min_length=1, max_length=200)


_EXAMPLE_ID = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
_EXAMPLE_ROOT = "0x" + "5c" * 32


class DatasetOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _EXAMPLE_ID,
                    "name": "2023 甘蔗检测数据",
                    "licence": "CC-BY-4.0",
                    "owner": "广西甘蔗研究所",
                    "root": _EXAMPLE_ROOT,
                    "file_count": 1,
                    "total_bytes": 1834,
                    "evidence_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60",
                    "status": "anchored",
                    "grants": ["南宁市农业局"],
                    "created_at": "2026-12-07T08:00:00Z",
                }
            ]
        }
    )
    id: str
    name: str
    licence: str
    owner: str | None
    root: str
    file_count: int
    total_bytes: int
    evidence_id: str | None = Field(None, description="The evidence anchoring the root.")
    status: str | None = Field(None, description="That evidence's status (anchored, ...).")
    grants: list[str]
    created_at: datetime


def _out(session: SessionDep, resource: DataResource) -> DatasetOut:
    ev = service.evidence_of(session, resource)
    owner = service.owner_name(session, resource)
    return DatasetOut(
        id=resource.public_id,
        name=resource.name,
        licence=resource.licence,
        owner=owner,
        root=resource.root,
        file_count=resource.file_count,
        total_bytes=resource.total_bytes,
        evidence_id=ev.public_id if ev else None,
        status=ev.status if ev else None,
        grants=service.grants(session, resource),
        created_at=resource.created_at,
    )


@router.post(
    "/datasets",
    status_code=201,
    summary="Register a data set",
    description=(
        f"A manifest of up to {MAX_FILES:,} files (relative path, size, SHA-256). The server "
        "computes the Merkle root of (path, size, sha256) leaves and queues it as evidence of "
        "the caller's org. Audited."
    ),
    response_model=DatasetOut,
    responses=error_responses(401, 403, 413, 422),
)
def register_dataset(body: DatasetIn, caller: SubmitterDep, session: SessionDep) -> DatasetOut:
    if not len(body.paths) == len(body.sizes) == len(body.sha256):
        raise InvalidInputError("paths, sizes and sha256 must have one entry per file")
    entries = [
        entry_of({"path": p, "size": n, "sha256": h})
        for p, n, h in zip(body.paths, body.sizes, body.sha256, strict=True)
    ]
    resource = service.register(
        session,
        audited.who(session, caller),
        member_id=caller.member_id,
        name=body.name,
        licence=body.licence,
        entries=entries,
    )
    return _out(session, resource)


@router.get(
    "/datasets",
    summary="List data sets",
    description="The data sets the caller's org owns or was granted (admins, auditors: all).",
    response_model=list[DatasetOut],
    responses=error_responses(401, 403),
)
def list_datasets(reader: ReaderDep, session: SessionDep) -> list[DatasetOut]:
    return [_out(session, r) for r in service.visible(session, reader.viewer)]


@router.get(
    "/datasets/{resource_id}",
    summary="Read a data set",
    response_model=DatasetOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_dataset(resource_id: ResourceId, reader: ReaderDep, session: SessionDep) -> DatasetOut:
    return _out(session, service.readable(session, resource_id, reader.viewer))


@router.get(
    "/datasets/{resource_id}/manifest",
    summary="A data set's manifest",
    description="Every file's path, size and SHA-256, in leaf order, with the root.",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "id": _EXAMPLE_ID,
                        "root": _EXAMPLE_ROOT,
                        "files": [
                            {"path": "lab/2023-01.csv", "size": 1834, "sha256": "0x" + "ab" * 32}
                        ],
                    }
                }
            }
        },
        **error_responses(401, 403, 404, 422),
    },
)
def read_manifest(resource_id: ResourceId, reader: ReaderDep, session: SessionDep) -> Any:
    resource = service.readable(session, resource_id, reader.viewer)
    return {
        "id": resource.public_id,
        "root": resource.root,
        "files": [e.to_json() for e in service.entries_of(resource)],
    }


@router.get(
    "/datasets/{resource_id}/proof",
    summary="One file's proof of membership",
    description=(
        "The file's leaf and Merkle proof up to the root, with the root's receipt once "
        "anchored: enough to check that file alone (`chainproof dataset check-proof`)."
    ),
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "format": PROOF_FORMAT,
                        "resource": _EXAMPLE_ID,
                        "name": "2023 甘蔗检测数据",
                        "root": _EXAMPLE_ROOT,
                        "leaf_types": list(LEAF_TYPES),
                        "leaf": ["lab/2023-01.csv", 1834, "0x" + "ab" * 32],
                        "proof": ["0x" + "7d" * 32],
                        "receipt": {"version": 2, "root": _EXAMPLE_ROOT, "…": "…"},
                    }
                }
            }
        },
        **error_responses(401, 403, 404, 422),
    },
)
def read_proof(
    resource_id: ResourceId,
    reader: ReaderDep,
    session: SessionDep,
    path: Annotated[str, Query(min_length=1, max_length=PATH_MAX)],
) -> Any:
    resource = service.readable(session, resource_id, reader.viewer)
    return service.proof_of(session, resource, path)


@router.post(
    "/datasets/{resource_id}/grants",
    summary="Grant an org access",
    description="The owner org or an admin; audited (`dataset.grant`).",
    response_model=DatasetOut,
    responses=error_responses(401, 403, 404, 422),
)
def grant_access(
    resource_id: ResourceId, body: GrantIn, caller: SubmitterDep, session: SessionDep
) -> DatasetOut:
    resource = service.readable(session, resource_id, caller.viewer)
    who = audited.who(session, caller)
    service.grant(session, who, resource, org=body.org, viewer=caller.viewer)
    return _out(session, resource)


@router.delete(
    "/datasets/{resource_id}/grants/{org}",
    summary="Withdraw an org's access",
    description="The owner org or an admin; audited (`dataset.revoke_grant`).",
    response_model=DatasetOut,
    responses=error_responses(401, 403, 404, 422),
)
def withdraw_access(
    resource_id: ResourceId,
    org: Annotated[str, Path(min_length=1, max_length=200)],
    caller: SubmitterDep,
    session: SessionDep,
) -> DatasetOut:
    resource = service.readable(session, resource_id, caller.viewer)
    who = audited.who(session, caller)
    service.revoke_grant(session, who, resource, org=org, viewer=caller.viewer)
    return _out(session, resource)
