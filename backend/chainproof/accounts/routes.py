"""People's accounts for admins: invite, list, sign out everywhere (``/api/v1/users``).

The CLI's ``chainproof users invite`` does the same on the database. The invitation token is
in the answer once (``invite_url`` is the page that takes it); the server keeps its hash.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from sqlmodel import Session

from chainproof.accounts import service
from chainproof.accounts.models import EMAIL_LEN, UserAccount
from chainproof.api import audited
from chainproof.api.deps import AdminDep, RowId, SessionDep, SettingsDep
from chainproof.api.schemas import RoleName, error_responses
from chainproof.errors import NotFoundError
from chainproof.identity import MEMBER_NAME_MAX
from chainproof.store.models import Member

router = APIRouter(prefix="/api/v1", tags=["admin"])


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "li.wei@example.org", "org": "创新中心", "role": "reviewer"}]
        },
    )

    email: str = Field(min_length=3, max_length=EMAIL_LEN)
    org: str = Field(min_length=1, max_length=MEMBER_NAME_MAX, description="Created if new.")
    role: RoleName


_PERSON: dict[str, JsonValue] = {
    "id": 3,
    "email": "li.wei@example.org",
    "org": "中国—东盟区块链创新中心",
    "role": "reviewer",
    "active": False,
    "totp": False,
    "created_at": "2025-01-01T00:00:00+00:00",
}


class UserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{**_PERSON, "active": True}]})

    id: int
    email: str
    org: str
    role: str
    active: bool = Field(description="The invitation was accepted (a password is set).")
    totp: bool = Field(description="Two-step verification (TOTP) is on.")
    created_at: datetime


class InvitationOut(UserOut):
    """A new invitation: ``invite_token`` and ``invite_url`` are shown this once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_PERSON,
                    "invite_token": "cpi_Xb3k9QwE0f7vJ2m8sLq4TzR1yN6cHdP5gK0aWuVe3iB",
                    "invite_url": "https://chainproof.example.cn/invite?token=cpi_Xb3k9QwE0f7vJ2m8sLq4TzR1yN6cHdP5gK0aWuVe3iB",
                    "invite_expires_at": "2025-01-08T00:00:00+00:00",
                }
            ]
        }
    )

    invite_token: str
    invite_url: str
    invite_expires_at: datetime


class SessionsEndedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ended": 2}]})

    ended: int = Field(description="How many live sessions were signed out.")


def _out(session: Session, user: UserAccount) -> UserOut:
    member = session.get(Member, user.member_id)
    assert user.id is not None and member is not None
    return UserOut(
        id=user.id,
        email=user.email,
        org=member.name,
        role=user.role,
        active=user.password_hash is not None,
        totp=user.totp_secret_encrypted is not None,
        created_at=user.created_at,
    )


def invite_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/invite?{urlencode({'token': token})}"


@router.post(
    "/users",
    status_code=201,
    summary="Invite a person",
    description=(
        "Invites `email` into `org` (created if new) with `role`. The answer holds the "
        "one-time invitation link (valid 7 days) to give the person; they set a password "
        "there and sign in. Inviting someone not yet signed up again replaces the link."
    ),
    response_model=InvitationOut,
    responses=error_responses(401, 403, 409, 422),
)
def invite(
    body: UserIn, admin: AdminDep, session: SessionDep, settings: SettingsDep
) -> InvitationOut:
    made = service.invite_user(session=session, email=body.email, org=body.org, role=body.role)
    audited.record(
        session,
        admin,
        action="role.grant",
        target=f"user:{made.user.id}",
        detail={"email": made.user.email, "org": body.org, "role": made.user.role},
    )
    assert made.user.invite_expires_at is not None
    return InvitationOut(
        **_out(session, made.user).model_dump(),
        invite_token=made.token,
        invite_url=invite_url(settings.public_url, made.token),
        invite_expires_at=made.user.invite_expires_at,
    )


@router.get(
    "/users",
    summary="List people",
    description="Every person's account, oldest first (never a password or token).",
    response_model=list[UserOut],
    responses=error_responses(401, 403),
)
def list_users(_admin: AdminDep, session: SessionDep) -> list[UserOut]:
    return [_out(session, u) for u in service.list_users(session=session)]


@router.delete(
    "/users/{user_id}/sessions",
    summary="Sign a person out everywhere",
    description="Ends every live session of the person (a lost laptop, a person leaving).",
    response_model=SessionsEndedOut,
    responses=error_responses(401, 403, 404, 422),
)
def end_sessions(user_id: RowId, _admin: AdminDep, session: SessionDep) -> SessionsEndedOut:
    if session.get(UserAccount, user_id) is None:
        raise NotFoundError(f"no person with id {user_id}")
    return SessionsEndedOut(ended=service.end_all_sessions(session=session, user_id=user_id))
