"""Who may see and change what (issue #4, 8. Permissions).

- an applicant (a ``submitter`` key of a member org) sees and changes only its own unit's
  application, and only in the states that allow it (the lifecycle table says which);
- reviewers see every application and decide;
- admins manage rounds and members, and may act in either role.

An application the caller may not see is "not found" (404), not "forbidden": its existence
is not the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from chainproof.errors import AuthError, NotFoundError
from chainproof.store.models import Member, Role
from chainproof.subsidy.models import Application, Round
from chainproof.subsidy.schemas import ApplicationRef


@dataclass(frozen=True)
class Actor:
    """The caller, as the subsidy services see it (built from the API key)."""

    member_id: int | None
    role: Role | None
    key_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_reviewer(self) -> bool:
        return self.role in (Role.REVIEWER, Role.ADMIN)

    def owns(self, application: Application) -> bool:
        return self.member_id is not None and application.member_id == self.member_id

    def may_see(self, application: Application) -> bool:
        return self.is_reviewer or self.owns(application)


def visible_application(session: Session, application_id: int, actor: Actor) -> Application:
    """The application, if ``actor`` may see it; NotFoundError otherwise."""
    application = session.get(Application, application_id)
    if application is None or not actor.may_see(application):
        raise NotFoundError(
            f"no subsidy application {application_id}", application_id=application_id
        )
    return application


def owned_application(session: Session, application_id: int, actor: Actor) -> Application:
    """The application, if ``actor`` is its applicant unit (or an admin)."""
    application = visible_application(session, application_id, actor)
    if not (actor.owns(application) or actor.is_admin):
        raise AuthError(
            f"only the applicant unit may change application {application_id}; "
            "reviewers decide through transitions"
        )
    return application


def require_reviewer(actor: Actor) -> None:
    if not actor.is_reviewer:
        raise AuthError("this needs a reviewer (or admin) key")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise AuthError("this needs an admin key")


def member_name(session: Session, member_id: int | None) -> str | None:
    member = session.get(Member, member_id) if member_id is not None else None
    return member.name if member else None


def application_ref(session: Session, actor: Actor, application: Application) -> ApplicationRef:
    """Another application as ``actor`` may know it: named if visible, anonymous otherwise."""
    if not actor.may_see(application):
        return ApplicationRef()
    round_ = session.get(Round, application.round_id)
    return ApplicationRef(
        id=application.id,
        round=round_.code if round_ else None,
        project_name=application.project_name,
        applicant=member_name(session, application.member_id),
    )
