"""Accounts: invite, accept, sign in, sessions, password change, TOTP.

Service functions take keyword arguments and a ``session`` and commit their own work, like
``identity.py``. Tokens are 32 random bytes shown once (``cpi_`` invitations, ``cps_``
session ids); the tables keep their SHA-256 only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import pyotp
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from chainproof import identity
from chainproof.accounts.models import EMAIL_LEN, UserAccount, UserSession
from chainproof.accounts.passwords import hash_password, verify_password
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.roles import Role
from chainproof.store.crypto import decrypt_secret, encrypt_secret
from chainproof.store.models import Member, utcnow

INVITE_PREFIX: Final = "cpi_"
SESSION_PREFIX: Final = "cps_"
INVITE_LIFETIME: Final = timedelta(days=7)
TOTP_ISSUER: Final = "ChainProof"
TOTP_STEP: Final = 30  # seconds (RFC 6238's default, what authenticator apps use)


def _token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    cleaned = unicodedata.normalize("NFC", email).strip().lower()
    if (
        not 3 <= len(cleaned) <= EMAIL_LEN
        or cleaned.count("@") != 1
        or cleaned[0] == "@"
        or cleaned[-1] == "@"
    ):
        raise InvalidInputError("an email address looks like name@example.org")
    return cleaned


# --- invitations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    user: UserAccount
    token: str  # shown once


def invite_user(*, session: Session, email: str, org: str, role: str) -> Invitation:
    """Invites ``email`` into ``org`` (created if new) with ``role``; a person not yet
    signed up is invited again with a fresh token (the old one stops working)."""
    wanted = identity.parse_role(role)
    address = normalise_email(email)
    member = identity.create_member(session=session, name=org)
    user = session.exec(select(UserAccount).where(UserAccount.email == address)).first()
    if user is not None and user.password_hash is not None:
        raise ConflictError(f"{address} already has an account", email=address)
    if user is None:
        user = UserAccount(email=address, member_id=member.id or 0, role=wanted.value)
    user.member_id = member.id or 0
    user.role = wanted.value
    token = _token(INVITE_PREFIX)
    user.invite_hash = _digest(token)
    user.invite_expires_at = utcnow() + INVITE_LIFETIME
    session.add(user)
    session.commit()
    session.refresh(user)
    return Invitation(user=user, token=token)


def invited_user(*, session: Session, token: str) -> UserAccount:
    """The person an unexpired invitation token names; NotFoundError otherwise."""
    user = session.exec(
        select(UserAccount).where(UserAccount.invite_hash == _digest(token))
    ).first()
    if user is None or user.invite_expires_at is None or user.invite_expires_at < utcnow():
        raise NotFoundError("this invitation link is not valid (used, replaced or expired)")
    return user


def accept_invite(*, session: Session, token: str, password: str) -> UserAccount:
    """Sets the invitee's password; the token works once."""
    user = invited_user(session=session, token=token)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.invite_hash = None
    user.invite_expires_at = None
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def list_users(*, session: Session) -> list[UserAccount]:
    return list(session.exec(select(UserAccount).order_by(col(UserAccount.id))).all())


# --- signing in --------------------------------------------------------------------------


def check_credentials(
    *, session: Session, email: str, password: str, code: str, secret: str
) -> UserAccount | None:
    """The account when email, password and (if enrolled) TOTP code are right, else None.

    Every failure costs one argon2 verification (an unknown email verifies against a dummy
    hash) and says nothing about which part was wrong.
    """
    try:
        address = normalise_email(email)
    except InvalidInputError:
        address = ""
    user = None
    if address:
        user = session.exec(select(UserAccount).where(UserAccount.email == address)).first()
    usable = user is not None and user.disabled_at is None
    stored = user.password_hash if user is not None and usable else None
    if not verify_password(stored, password) or user is None:
        return None
    if user.totp_secret_encrypted is not None and not _accept_code(
        session=session, user=user, code=code, secret=secret, pending=False
    ):
        return None
    return user


def _matching_step(totp_secret: str, code: str, now: datetime) -> int | None:
    """The time step (±1 for clock drift) whose code is ``code``, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(totp_secret, interval=TOTP_STEP)
    step = int(now.timestamp()) // TOTP_STEP
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.at(candidate * TOTP_STEP), code):
            return candidate
    return None


def _accept_code(
    *, session: Session, user: UserAccount, code: str, secret: str, pending: bool
) -> bool:
    """Checks a TOTP code and records its step, so a code is accepted once (no replay)."""
    encrypted = user.totp_pending_encrypted if pending else user.totp_secret_encrypted
    if encrypted is None:
        return False
    step = _matching_step(decrypt_secret(encrypted, secret=secret), code, utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    # Conditional: two requests with the same code cannot both pass.
    result = session.execute(
        update(UserAccount)
        .where(col(UserAccount.id) == user.id)
        .where(
            (col(UserAccount.totp_last_step).is_(None)) | (col(UserAccount.totp_last_step) < step)
        )
        .values(totp_last_step=step)
    )
    session.commit()
    session.refresh(user)
    return bool(getattr(result, "rowcount", 0))


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A live session: its row, its person, and the cookie value (only when just created)."""

    row: UserSession
    user: UserAccount
    member: Member
    token: str = ""

    @property
    def role(self) -> Role:
        return Role(self.user.role)


def start_session(*, session: Session, user: UserAccount, lifetime: timedelta) -> SignedIn:
    # The person's ended sessions are of no use any more: the table keeps the live ones.
    session.execute(
        delete(UserSession)
        .where(col(UserSession.user_id) == user.id)
        .where(
            (col(UserSession.revoked_at).is_not(None)) | (col(UserSession.expires_at) <= utcnow())
        )
    )
    token = _token(SESSION_PREFIX)
    row = UserSession(
        token_hash=_digest(token),
        user_id=user.id or 0,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    member = session.get(Member, user.member_id)
    assert member is not None
    return SignedIn(row=row, user=user, member=member, token=token)


def find_session(*, session: Session, token: str) -> SignedIn | None:
    """The live session the cookie value names: not revoked, not expired, user enabled."""
    if not token.startswith(SESSION_PREFIX) or len(token) > 100:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == _digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    member = session.get(Member, user.member_id)
    if member is None:
        return None
    return SignedIn(row=row, user=user, member=member)


def end_session(*, session: Session, row_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(col(UserSession.id) == row_id)
        .where(col(UserSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()


def end_all_sessions(*, session: Session, user_id: int) -> int:
    """Revokes every live session of the person; how many."""
    result = session.execute(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id)
        .where(col(UserSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))


def change_password(*, session: Session, user: UserAccount, current: str, new: str) -> bool:
    """Sets a new password when ``current`` is right, ending every session; False if not."""
    if not verify_password(user.password_hash, current):
        return False
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    session.add(user)
    session.commit()
    end_all_sessions(session=session, user_id=user.id or 0)
    session.refresh(user)
    return True


# --- TOTP enrolment ----------------------------------------------------------------------


def begin_totp(*, session: Session, user: UserAccount, secret: str) -> str:
    """A new TOTP secret for the person to scan (``otpauth://`` URI), pending a code."""
    totp_secret = pyotp.random_base32()
    user.totp_pending_encrypted = encrypt_secret(totp_secret, secret=secret)
    session.add(user)
    session.commit()
    return pyotp.TOTP(totp_secret, interval=TOTP_STEP).provisioning_uri(
        name=user.email, issuer_name=TOTP_ISSUER
    )


def pending_totp_uri(*, user: UserAccount, secret: str) -> str | None:
    if user.totp_pending_encrypted is None:
        return None
    totp_secret = decrypt_secret(user.totp_pending_encrypted, secret=secret)
    return pyotp.TOTP(totp_secret, interval=TOTP_STEP).provisioning_uri(
        name=user.email, issuer_name=TOTP_ISSUER
    )


def confirm_totp(*, session: Session, user: UserAccount, code: str, secret: str) -> bool:
    """Turns TOTP on when ``code`` is the pending secret's current code."""
    if not _accept_code(session=session, user=user, code=code, secret=secret, pending=True):
        return False
    user.totp_secret_encrypted = user.totp_pending_encrypted
    user.totp_pending_encrypted = None
    session.add(user)
    session.commit()
    return True
