"""Members and API keys, for admin keys only (the CLI's ``chainproof keys`` over HTTP)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chainproof import identity
from chainproof.api import audited
from chainproof.api.deps import AdminDep, RowId, SessionDep
from chainproof.api.schemas import (
    KeyCreatedOut,
    KeyIn,
    KeyOut,
    MemberIn,
    MemberOut,
    error_responses,
)
from chainproof.store.models import ApiKey

router = APIRouter(prefix="/api/v1", tags=["admin"])


def _key_out(key: ApiKey, org: str) -> KeyOut:
    # The role column's CHECK constraint keeps it one of KeyOut's three roles.
    return KeyOut.model_validate({**key.model_dump(), "org": org})


@router.post(
    "/members",
    status_code=201,
    summary="Create a member",
    description="A member organisation (成员单位). Idempotent: an existing name is returned.",
    response_model=MemberOut,
    responses=error_responses(401, 403, 422),
)
def create_member(body: MemberIn, admin: AdminDep, session: SessionDep) -> MemberOut:
    known = {m.name for m in identity.list_members(session=session)}
    member = identity.create_member(session=session, name=body.name)
    if member.name not in known:  # idempotent: admitting an existing member changes nothing
        audited.record(session, admin, action="member.admit", target=f"member:{member.name}")
    return MemberOut.model_validate(member, from_attributes=True)


@router.get(
    "/members",
    summary="List members",
    description="Every member, oldest first.",
    response_model=list[MemberOut],
    responses=error_responses(401, 403),
)
def list_members(_admin: AdminDep, session: SessionDep) -> list[MemberOut]:
    return [
        MemberOut.model_validate(m, from_attributes=True)
        for m in identity.list_members(session=session)
    ]


@router.post(
    "/keys",
    status_code=201,
    summary="Create an API key",
    description=(
        "A new key for `org` (created if new) with `role`. The key is in this answer only: "
        "the server keeps its hash."
    ),
    response_model=KeyCreatedOut,
    responses=error_responses(401, 403, 422),
)
def create_key(body: KeyIn, admin: AdminDep, session: SessionDep) -> KeyCreatedOut:
    key, plaintext = identity.create_api_key(session=session, org=body.org, role=body.role)
    member = identity.get_member(session=session, name=body.org)
    audited.record(
        session,
        admin,
        action="key.create",
        target=f"key:{key.id}",
        detail={"org": member.name, "role": key.role, "prefix": key.prefix},
    )
    return KeyCreatedOut(key=plaintext, **_key_out(key, member.name).model_dump())


@router.get(
    "/keys",
    summary="List API keys",
    description="Keys (never their secret part), oldest first; one org's with `?org=`.",
    response_model=list[KeyOut],
    responses=error_responses(401, 403, 404, 422),
)
def list_keys(
    _admin: AdminDep,
    session: SessionDep,
    org: Annotated[str | None, Query(max_length=200, description="Only this org's.")] = None,
) -> list[KeyOut]:
    names = {m.id: m.name for m in identity.list_members(session=session)}
    keys = identity.list_api_keys(session=session, org=org)
    return [_key_out(k, names.get(k.member_id, "?")) for k in keys]


@router.delete(
    "/keys/{key_id}",
    summary="Revoke an API key",
    description="The key stops working at once. Revoking twice keeps the first date.",
    response_model=KeyOut,
    responses=error_responses(401, 403, 404, 422),
)
def revoke_key(key_id: RowId, admin: AdminDep, session: SessionDep) -> KeyOut:
    found = session.get(ApiKey, key_id)
    was_live = found is not None and found.revoked_at is None
    key = identity.revoke_api_key(session=session, key_id=key_id)
    if was_live:  # revoking twice keeps the first date: nothing changed the second time
        audited.record(session, admin, action="key.revoke", target=f"key:{key.id}")
    names = {m.id: m.name for m in identity.list_members(session=session)}
    return _key_out(key, names.get(key.member_id, "?"))
