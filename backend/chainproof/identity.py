"""Member organisations, their custodial chain keys and their API keys.

Service functions take keyword arguments and a ``session``, and commit their own
work: each is one unit a route or a CLI command calls once.

API keys are ``cpk_`` + 43 urlsafe-base64 characters (32 random bytes). Only their SHA-256
is stored, so a leaked database grants no access; the plaintext is returned once, at
creation. Custodial chain keys are stored encrypted under ``CHAINPROOF_SECRET_KEY``
(``store/crypto.py``); a member may instead sign with its own key (EIP-712), in which case
no key is stored at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from chainproof.errors import ConfigError, InvalidInputError, NotFoundError
from chainproof.store.crypto import decrypt_secret, encrypt_secret
from chainproof.store.models import ApiKey, Member, Role, utcnow
from chainproof.store.unique import insert_once

if TYPE_CHECKING:  # eth_account takes ~0.6 s to import; only key-handling calls need it
    from eth_account.signers.local import LocalAccount

__all__ = [
    "API_KEY_PREFIX",
    "Role",
    "authenticate",
    "create_api_key",
    "create_member",
    "ensure_member_chain_key",
    "get_member",
    "hash_api_key",
    "list_api_keys",
    "list_members",
    "member_account",
    "parse_role",
    "revoke_api_key",
]

API_KEY_PREFIX = "cpk_"
_KEY_BYTES = 32
_KEY_LEN = len(API_KEY_PREFIX) + 43  # 32 bytes in unpadded base64 are 43 characters
_SHOWN_PREFIX_LEN = 12  # enough to tell keys apart in a listing, far too little to guess
# last_used_at is for humans ("is this key still in use?"): minute resolution is plenty,
# and it spares a database write on every authenticated request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MEMBER_NAME_MAX = 200


# --- members -------------------------------------------------------------------------------


def _normalise_name(name: str) -> str:
    # NFC so that the same Chinese name typed on two systems is one member, not two.
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise InvalidInputError("a member name cannot be empty")
    if len(cleaned) > MEMBER_NAME_MAX:
        raise InvalidInputError(
            f"a member name has at most {MEMBER_NAME_MAX} characters, this one {len(cleaned)}"
        )
    return cleaned


def _member_by_name(session: Session, name: str) -> Member | None:
    return session.exec(select(Member).where(Member.name == name)).first()


def create_member(*, session: Session, name: str) -> Member:
    """The member called ``name``, created if it does not exist yet (idempotent)."""
    cleaned = _normalise_name(name)
    member, _ = insert_once(
        session, lambda: _member_by_name(session, cleaned), lambda: Member(name=cleaned)
    )
    return member


def get_member(*, session: Session, name: str) -> Member:
    """The member called ``name``; :class:`NotFoundError` when there is none."""
    member = _member_by_name(session, _normalise_name(name))
    if member is None:
        raise NotFoundError(f"no member called {name!r}", name=name)
    return member


def list_members(*, session: Session) -> list[Member]:
    """All members, oldest first."""
    return list(session.exec(select(Member).order_by(col(Member.id))).all())


def ensure_member_chain_key(*, session: Session, member: Member, secret: str) -> str:
    """The address of ``member``'s custodial chain key, creating the key on first call.

    The private key is stored encrypted under ``secret`` (the server's secret key). Two
    concurrent first calls cannot give a member two keys: the key is written with a
    conditional UPDATE, and the loser adopts the winner's key.
    """
    if member.chain_address and member.chain_key_encrypted:
        return member.chain_address
    from eth_account import Account

    account = Account.create()
    token = encrypt_secret(account.key.hex(), secret=secret)
    session.exec(
        update(Member)
        .where(col(Member.id) == member.id, col(Member.chain_key_encrypted).is_(None))
        .values(chain_address=account.address, chain_key_encrypted=token)
    )
    session.commit()
    session.refresh(member)
    if member.chain_address is None:  # pragma: no cover - the UPDATE above or a rival set it
        raise ConfigError(f"member {member.name!r} has an encrypted key but no address")
    return member.chain_address


def member_account(*, session: Session, member: Member, secret: str) -> LocalAccount:
    """``member``'s custodial chain account, decrypted with ``secret``, to sign with.

    Raises :class:`NotFoundError` when the member has no custodial key (call
    :func:`ensure_member_chain_key`), :class:`ConfigError` when ``secret`` cannot decrypt it.
    """
    stored = session.get(Member, member.id) if member.id is not None else None
    if stored is None:
        raise NotFoundError(f"no member {member.name!r} in the database", name=member.name)
    if stored.chain_key_encrypted is None or stored.chain_address is None:
        raise NotFoundError(
            f"member {stored.name!r} has no custodial chain key; create one with "
            "ensure_member_chain_key (or let the member sign with its own key)",
            name=stored.name,
        )
    from eth_account import Account

    account: LocalAccount = Account.from_key(
        decrypt_secret(stored.chain_key_encrypted, secret=secret)
    )
    if account.address != stored.chain_address:
        # A row edited by hand or restored half-way: signing would anchor as someone else.
        raise ConfigError(
            f"the stored chain key of member {stored.name!r} does not match its address "
            f"{stored.chain_address}"
        )
    return account


# --- API keys ------------------------------------------------------------------------------


def parse_role(role: str) -> Role:
    """``role`` as a :class:`Role`; :class:`InvalidInputError` naming the valid ones."""
    try:
        return Role(role.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise InvalidInputError(
            f"invalid role {role!r}; valid roles: {valid}", role=role, valid=[r.value for r in Role]
        ) from None


def hash_api_key(key: str) -> str:
    """Hex SHA-256 of an API key: what the database stores and looks keys up by."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(*, session: Session, org: str, role: str) -> tuple[ApiKey, str]:
    """A new API key for ``org`` (created if missing) with ``role``.

    Returns the row and the plaintext key. The plaintext is not stored anywhere: show it to
    the user once.
    """
    parsed_role = parse_role(role)
    member = create_member(session=session, name=org)
    assert member.id is not None  # a committed row has its id
    key = API_KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)
    api_key = ApiKey(
        member_id=member.id,
        role=parsed_role.value,
        prefix=key[:_SHOWN_PREFIX_LEN],
        key_hash=hash_api_key(key),
    )
    session.add(api_key)
    session.commit()
    session.refresh(api_key)
    return api_key, key


def authenticate(*, session: Session, key: str, now: datetime | None = None) -> ApiKey | None:
    """The live API key ``key`` belongs to, or ``None`` (unknown, malformed or revoked).

    The key is found by its hash, so the lookup's timing depends on the hash, not on how
    much of a guessed key is right. ``last_used_at`` is written at most once per
    :data:`LAST_USED_RESOLUTION`, with a conditional UPDATE so replicas do not race.
    """
    if len(key) != _KEY_LEN or not key.startswith(API_KEY_PREFIX):
        return None
    digest = hash_api_key(key)
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if row.revoked_at is not None:
        return None
    now = now or utcnow()
    stale_before = now - LAST_USED_RESOLUTION
    if row.last_used_at is None or row.last_used_at < stale_before:
        session.exec(
            update(ApiKey)
            .where(
                col(ApiKey.id) == row.id,
                or_(
                    col(ApiKey.last_used_at).is_(None),
                    col(ApiKey.last_used_at) < stale_before,
                ),
            )
            .values(last_used_at=now)
        )
        session.commit()
        # Mirror the UPDATE on the loaded row without marking it dirty (no second write).
        set_committed_value(row, "last_used_at", now)
    return row


def revoke_api_key(*, session: Session, key_id: int, now: datetime | None = None) -> ApiKey:
    """Revoke API key ``key_id`` for good. Revoking a revoked key keeps the first date."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"no API key with id {key_id}", key_id=key_id)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def list_api_keys(
    *, session: Session, org: str | None = None, include_revoked: bool = True
) -> list[ApiKey]:
    """API keys, oldest first; only ``org``'s when given; live ones only on request."""
    statement = select(ApiKey).order_by(col(ApiKey.id))
    if org is not None:
        statement = statement.where(ApiKey.member_id == get_member(session=session, name=org).id)
    if not include_revoked:
        statement = statement.where(col(ApiKey.revoked_at).is_(None))
    return list(session.exec(statement).all())
