"""Creating channels, changing their members (each change audited with its reason), and the
one question the read routes ask: may this viewer see a record of this channel?"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from chainproof.audit import log
from chainproof.channels import registry_ops
from chainproof.channels.models import Channel, ChannelMember
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence.verify import Viewer
from chainproof.store.models import Member
from chainproof.trust import MAX_CHANNEL_REGISTRIES

_MEMBER = ChannelMember.__table__  # type: ignore[attr-defined]


def _members_named(session: Session, names: Sequence[str]) -> list[Member]:
    wanted = sorted({n.strip() for n in names})
    found = {
        m.name: m for m in session.exec(select(Member).where(col(Member.name).in_(wanted))).all()
    }
    missing = [n for n in wanted if n not in found]
    if missing:
        raise InvalidInputError(f"members: no member called {missing[0]!r}", field="members")
    return [found[n] for n in wanted]


def get(session: Session, name: str) -> Channel:
    channel = session.exec(select(Channel).where(Channel.name == name)).first()
    if channel is None:
        raise NotFoundError(f"no channel called {name!r}")
    return channel


def member_names(session: Session, channel: Channel) -> list[str]:
    return list(
        session.exec(
            select(Member.name)
            .join(ChannelMember, col(ChannelMember.member_id) == col(Member.id))
            .where(ChannelMember.channel_id == channel.id)
            .order_by(col(Member.name))
        ).all()
    )


def create(
    session: Session, who: log.Who, *, name: str, members: Sequence[str], virtual: bool = False
) -> Channel:
    """A new channel of ``members`` (existing member orgs); audited. ``virtual``: the chain
    writer deploys the channel its own EvidenceRegistry (``channels/registry_ops.py``), and
    its records are anchored there once it is mined."""
    chosen = _members_named(session, members)
    if virtual:
        count = session.exec(select(func.count()).where(col(Channel.virtual).is_(True))).one()
        if count >= MAX_CHANNEL_REGISTRIES:  # the trust anchor lists them all, bounded
            raise ConflictError(
                f"{MAX_CHANNEL_REGISTRIES} virtual channels exist already: the trust anchor "
                "pins no more registries"
            )
    channel = Channel(name=name.strip(), virtual=virtual)
    session.add(channel)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"a channel called {name!r} exists") from None
    assert channel.id is not None
    for m in chosen:
        assert m.id is not None
        session.add(ChannelMember(channel_id=channel.id, member_id=m.id))
    if virtual:  # in the same commit: never a virtual channel without its deployment
        session.add(registry_ops.deploy_op(channel))
        session.add(channel)
    session.commit()
    log.append(
        session,
        who,
        action="channel.create",
        target=f"channel:{channel.name}",
        detail={"members": [m.name for m in chosen], **({"virtual": True} if virtual else {})},
    )
    session.refresh(channel)
    return channel


def change(
    session: Session,
    who: log.Who,
    channel: Channel,
    *,
    add: Sequence[str],
    remove: Sequence[str],
    reason: str,
) -> None:
    """Adds and removes members with a reason; audited (nothing changed: nothing audited)."""
    assert channel.id is not None
    current = set(member_names(session, channel))
    adding = [m for m in _members_named(session, add) if m.name not in current]
    removing = [m for m in _members_named(session, remove) if m.name in current]
    if not adding and not removing:
        return
    for m in adding:
        assert m.id is not None
        session.add(ChannelMember(channel_id=channel.id, member_id=m.id))
    if removing:
        session.execute(
            delete(ChannelMember).where(
                col(ChannelMember.channel_id) == channel.id,
                col(ChannelMember.member_id).in_([m.id for m in removing]),
            )
        )
    # A virtual channel's registry follows its members (in the same commit).
    registry_ops.member_roles(session, channel, added=adding, removed=removing)
    session.commit()
    log.append(
        session,
        who,
        action="channel.members",
        target=f"channel:{channel.name}",
        detail={
            "added": [m.name for m in adding],
            "removed": [m.name for m in removing],
            "reason": reason,
        },
    )


def for_submitter(session: Session, name: str, member_id: int | None) -> int:
    """The id of the channel ``name`` a submitter's org may put a record in: one it belongs
    to. Any other name is the 404 of a channel nobody has."""
    channel = session.exec(select(Channel).where(Channel.name == name)).first()
    if channel is None or member_id is None or not is_member(session, channel.id, member_id):
        raise NotFoundError(f"no channel called {name!r}")
    if channel.virtual and channel.registry_address is None:
        # Its own registry is not mined yet (or its deployment failed): accepting the
        # record would leave it queued with nowhere to go.
        raise ConflictError(
            f"channel {name!r} is virtual and its registry is not deployed yet "
            f"(operation {channel.registry_op})"
        )
    assert channel.id is not None
    return channel.id


def is_member(db: Session | Connection, channel_id: int | None, member_id: int) -> bool:
    found = db.execute(
        select(_MEMBER.c.id).where(
            _MEMBER.c.channel_id == channel_id, _MEMBER.c.member_id == member_id
        )
    ).first()
    return found is not None


def may_read(
    db: Session | Connection, viewer: Viewer, *, member_id: int | None, channel_id: int | None
) -> bool:
    """Whether ``viewer`` may read a record of org ``member_id`` in channel ``channel_id``
    (recordings, licences, trace captures): its org, an admin or an auditor, or a current
    member of its channel. Everyone else gets the 404 of a missing id from the caller."""
    if viewer.owns(member_id) or viewer.is_auditor:
        return True
    return (
        channel_id is not None
        and viewer.member_id is not None
        and is_member(db, channel_id, viewer.member_id)
    )


def channel_ids_of(member_id: int | None) -> SelectOfScalar[int]:
    """The ids of the channels org ``member_id`` is in, as a subquery for list filters."""
    return select(ChannelMember.channel_id).where(ChannelMember.member_id == member_id)


def named(session: Session, name: str | None, member_id: int | None) -> int | None:
    """The id of the channel a submitter names for a new record (None: no channel); a
    channel the submitter's org is not in is the 404 of a name nobody has."""
    name = (name or "").strip()
    return for_submitter(session, name[:100], member_id) if name else None
