"""Program rounds (批次) and their deadlines; admins manage them.

The migration seeds round "2023". The guide gives no deadline, so the seed stands in with
the end of 2023 (Beijing time) until an admin sets the real one.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from chainproof.errors import ConflictError, NotFoundError
from chainproof.store.unique import insert_new
from chainproof.subsidy.access import Actor, require_admin
from chainproof.subsidy.models import Round
from chainproof.subsidy.schemas import RoundIn, RoundOut, RoundPatch


def round_out(round_: Round, now: datetime) -> RoundOut:
    return RoundOut(
        code=round_.code,
        name=round_.name,
        deadline=round_.deadline,
        closed=now > round_.deadline,
        created_at=round_.created_at,
    )


def list_rounds(*, session: Session) -> list[Round]:
    return list(session.exec(select(Round).order_by(col(Round.deadline))).all())


def get_round(*, session: Session, code: str) -> Round:
    found = session.exec(select(Round).where(Round.code == code)).first()
    if found is None:
        raise NotFoundError(f"no subsidy round {code!r}", code=code)
    return found


def create_round(*, session: Session, actor: Actor, body: RoundIn) -> Round:
    require_admin(actor)
    round_ = Round(code=body.code, name=body.name.strip(), deadline=body.deadline)
    conflict = ConflictError(f"round {body.code!r} exists already", code=body.code)
    return insert_new(session, round_, conflict)


def update_round(*, session: Session, actor: Actor, code: str, body: RoundPatch) -> Round:
    """Renames a round or moves its deadline; late flags follow (they are computed on read)."""
    require_admin(actor)
    round_ = get_round(session=session, code=code)
    if body.name is not None:
        round_.name = body.name.strip()
    if body.deadline is not None:
        round_.deadline = body.deadline
    session.add(round_)
    session.commit()
    session.refresh(round_)
    return round_
