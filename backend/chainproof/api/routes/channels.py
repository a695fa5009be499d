"""Channels (通道管理): ``POST/GET /api/v1/channels``, ``POST /api/v1/channels/{name}/members``
(admins; auditors read). docs/channels.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from chainproof.api import audited
from chainproof.api.deps import AdminDep, AuditorDep, SessionDep
from chainproof.api.schemas import error_responses
from chainproof.channels import service
from chainproof.channels.models import Channel

router = APIRouter(prefix="/api/v1", tags=["admin"])
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s/][^/]{0,99}$")]
OrgName = Annotated[str, Field(min_length=1, max_length=200)]


class ChannelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "糖业联盟", "members": ["甲糖厂", "乙物流"]},
                {"name": "检测通道", "members": ["丙检测"], "virtual": True},
            ]
        },
    )
    name: Name
    members: list[OrgName] = Field(min_length=1, max_length=1000)
    virtual: bool = Field(
        False,
        description=(
            "A virtual channel (虚拟通道): its records are anchored in an EvidenceRegistry "
            "deployed for it alone, pinned in the trust anchor (docs/channels.md)."
        ),
    )


class MembersIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"add": ["丙检测"], "remove": [], "reason": "joined the alliance"}]
        },
    )
    add: list[OrgName] = Field(default_factory=list, max_length=1000)
    remove: list[OrgName] = Field(default_factory=list, max_length=1000)
    reason: str = Field(min_length=1, max_length=500)


class ChannelOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "糖业联盟",
                    "members": ["乙物流", "甲糖厂"],
                    "created_at": "2026-12-07T08:00:00Z",
                    "virtual": True,
                    "registry": "0x8464135c8F25Da09e49BC8782676a84730C318bC",
                    "registry_operation": "3f1c0d8e6a2b4c5d9e7f1a2b3c4d5e6f",
                }
            ]
        }
    )
    name: str
    members: list[str]
    created_at: datetime
    virtual: bool = Field(False, description="Anchors in a registry of its own.")
    registry: str | None = Field(
        None,
        description=(
            "A virtual channel's EvidenceRegistry (EIP-55); null while its deployment is "
            "with the chain writer, and for any other channel."
        ),
    )
    registry_operation: str | None = Field(
        None, description="The deployment's operation id (`GET /api/v1/operations/{id}`)."
    )


def _out(session: SessionDep, channel: Channel) -> ChannelOut:
    return ChannelOut(
        name=channel.name,
        members=service.member_names(session, channel),
        created_at=channel.created_at,
        virtual=channel.virtual,
        registry=channel.registry_address,
        registry_operation=channel.registry_op,
    )


@router.post(
    "/channels",
    status_code=201,
    summary="Create a channel",
    description=(
        "A named group of member orgs (`chainproof keys create --org` names) whose records "
        "only they (and admins, auditors) see. Audited. `virtual: true` deploys the channel "
        "its own EvidenceRegistry through the chain writer; until it is mined (`registry` "
        "null) the channel takes no records (409). 409 also when the name is taken, or 64 "
        "virtual channels exist."
    ),
    response_model=ChannelOut,
    responses=error_responses(400, 401, 403, 409, 422),
)
def create_channel(body: ChannelIn, admin: AdminDep, session: SessionDep) -> ChannelOut:
    who = audited.who(session, admin)
    channel = service.create(
        session, who, name=body.name, members=body.members, virtual=body.virtual
    )
    return _out(session, channel)


@router.get(
    "/channels",
    summary="List channels",
    description="Every channel with its members (admins and auditors).",
    response_model=list[ChannelOut],
    responses=error_responses(401, 403),
)
def list_channels(_caller: AuditorDep, session: SessionDep) -> list[ChannelOut]:
    rows = session.exec(select(Channel).order_by(col(Channel.id))).all()
    return [_out(session, c) for c in rows]


@router.post(
    "/channels/{name}/members",
    summary="Change a channel's members",
    description="Adds and removes member orgs, with a reason (audited).",
    response_model=ChannelOut,
    responses=error_responses(400, 401, 403, 404, 422),
)
def change_members(
    name: Annotated[str, Path(min_length=1, max_length=100)],
    body: MembersIn,
    admin: AdminDep,
    session: SessionDep,
) -> ChannelOut:
    channel = service.get(session, name)
    who = audited.who(session, admin)
    service.change(session, who, channel, add=body.add, remove=body.remove, reason=body.reason)
    session.refresh(channel)
    return _out(session, channel)
