"""Recording a route's action in the audit log (``audit/log.py``) as the caller who made it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from chainproof.api.deps import Caller
from chainproof.audit import log
from chainproof.store.models import Member


def who(session: Session, caller: Caller) -> log.Who:
    member = session.get(Member, caller.member_id) if caller.member_id is not None else None
    return log.Who.of(
        key_id=caller.key_id, user_id=caller.user_id, org=None if member is None else member.name
    )


def record(
    session: Session,
    caller: Caller,
    *,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Appends the entry (after the action committed); commits."""
    log.append(session, who(session, caller), action=action, target=target, detail=detail)
