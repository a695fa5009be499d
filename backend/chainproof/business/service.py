"""Business types: define (audited), list, and queue typed documents whose salt commits to
their metadata (``receipts/metadata.py``); read a document's committed metadata back."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chainproof.audit import log
from chainproof.business.models import BusinessType, EvidenceMetadata
from chainproof.business.schemas import MetadataError, check_metadata, check_schema
from chainproof.digests import Algorithm, to_hex
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence import intake
from chainproof.merkle import evidence_leaf_hasher
from chainproof.receipts.metadata import (
    NONCE_SIZE,
    TypedMetadata,
    metadata_salt,
    metadata_text,
    read_metadata_text,
)
from chainproof.store.models import Evidence, EvidenceStatus
from chainproof.store.unique import insert_new
from chainproof.vocabulary import Hash32

# A code appears in receipts and URLs: ASCII letters, digits, '-' and '_', a letter first.
_CODE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
CODE_PATTERN: Final = _CODE.pattern
_EVIDENCE: Final[Table] = Evidence.__table__  # type: ignore[attr-defined]
_METADATA: Final[Table] = EvidenceMetadata.__table__  # type: ignore[attr-defined]
_CHUNK: Final = 1000


def create(session: Session, who: log.Who, *, code: str, name: str, schema: Any) -> BusinessType:
    """A new business type; its schema is checked as hostile input first. Audited."""
    if not _CODE.fullmatch(code):
        raise MetadataError(f"must match {CODE_PATTERN}", field="code")
    row = BusinessType(code=code, name=name.strip(), metadata_schema=check_schema(schema))
    insert_new(session, row, ConflictError(f"a business type with code {code!r} exists"))
    log.append(
        session,
        who,
        action="business_type.create",
        target=f"business_type:{code}",
        detail={"name": row.name},
    )
    return row


def all_types(session: Session) -> list[BusinessType]:
    return list(session.exec(select(BusinessType).order_by(col(BusinessType.code))).all())


def get(session: Session, code: str) -> BusinessType:
    row = session.exec(select(BusinessType).where(BusinessType.code == code)).first()
    if row is None:
        raise MetadataError(f"no business type with code {code[:64]!r}", field="business_type")
    return row


def typed_text(session: Session, code: str | None, metadata: dict[str, Any] | None) -> str | None:
    """The committed text of ``metadata`` under the type ``code``, once it meets the type's
    schema; None for untyped evidence. Raises MetadataError (naming the field) before
    anything is stored."""
    if code is None or not code.strip():
        if metadata is not None:
            raise MetadataError("metadata needs a business_type", field="business_type")
        return None
    kind = get(session, code.strip())
    values = check_metadata(kind.metadata_schema, metadata if metadata is not None else {})
    try:
        return metadata_text(kind.code, values)
    except InvalidInputError as exc:  # too long once canonical, or a number JSON cannot hold
        raise MetadataError(exc.message.removeprefix("metadata: "), field="metadata") from None


def submit_typed(
    *,
    session: Session,
    text: str,
    algorithm: Algorithm,
    digests: Sequence[Hash32],
    member_id: int | None,
    label: str | None = None,
    filenames: Sequence[str | None] | None = None,
    sizes: Sequence[int | None] | None = None,
    channel_id: int | None = None,
) -> list[intake.Accepted]:
    """Queues typed documents: each gets a fresh nonce and the salt that commits to ``text``;
    their metadata rows commit in the same transaction as the evidence rows."""
    kind = get(session, read_metadata_text(text).business_type)
    assert kind.id is not None
    salts: list[bytes] = []
    for _ in digests:
        nonce = os.urandom(NONCE_SIZE)
        salt = metadata_salt(nonce, text)
        salts.append(salt)
        session.add(
            EvidenceMetadata(
                salt=to_hex(salt), business_type_id=kind.id, nonce=to_hex(nonce), text=text
            )
        )
    pending = iter(salts)
    return intake.submit_digests(
        session=session,
        algorithm=algorithm,
        digests=digests,
        member_id=member_id,
        label=label,
        filenames=filenames,
        sizes=sizes,
        salt_source=lambda: next(pending),
        channel_id=channel_id,
    )


def metadata_of(session: Session, salt: str) -> tuple[EvidenceMetadata, TypedMetadata] | None:
    """The committed metadata of the document with ``salt``, or None (untyped)."""
    row = session.get(EvidenceMetadata, salt)
    if row is None:
        return None
    return row, read_metadata_text(row.text)


def require_type(session: Session, code: str) -> BusinessType:
    """The type ``code`` for the API's read route (404 when there is none)."""
    row = session.exec(select(BusinessType).where(BusinessType.code == code)).first()
    if row is None:
        raise NotFoundError(f"no business type with code {code[:64]!r}")
    return row


def type_name(session: Session, code: str | None) -> str | None:
    """The name of the business type ``code`` (None for untyped evidence)."""
    if code is None:
        return None
    row = session.exec(select(BusinessType).where(BusinessType.code == code)).first()
    return None if row is None else row.name


def resalt_keeping_metadata(session: Session, ids: Sequence[int]) -> int:
    """:func:`intake.resalt`, then typed documents get their commitment back: a new nonce
    and the salt that commits to the same text (a random salt would lose the metadata's
    proof). The caller commits; returns the number of rows re-salted."""
    typed: list[tuple[int, str, str, bytes, int]] = []
    for start in range(0, len(ids), _CHUNK):  # SQLite caps bound parameters
        typed += [
            (row_id, algorithm, text, bytes.fromhex(digest[2:]), type_id)
            for row_id, algorithm, digest, text, type_id in session.execute(
                sa_select(
                    _EVIDENCE.c.id,
                    _EVIDENCE.c.algorithm,
                    _EVIDENCE.c.digest,
                    _METADATA.c.text,
                    _METADATA.c.business_type_id,
                )
                .join(_METADATA, _METADATA.c.salt == _EVIDENCE.c.salt)
                .where(
                    _EVIDENCE.c.id.in_(ids[start : start + _CHUNK]),
                    _EVIDENCE.c.status == EvidenceStatus.QUEUED.value,
                )
            ).all()
        ]
    changed = intake.resalt(session, ids)
    for row_id, algorithm, text, digest, type_id in typed:
        nonce = os.urandom(NONCE_SIZE)
        salt = metadata_salt(nonce, text)
        leaf = evidence_leaf_hasher(algorithm)(digest, salt)
        session.execute(
            _EVIDENCE.update()
            .where(_EVIDENCE.c.id == row_id)
            .values(salt=to_hex(salt), leaf_hash=to_hex(leaf))
        )
        session.add(
            EvidenceMetadata(
                salt=to_hex(salt), business_type_id=type_id, nonce=to_hex(nonce), text=text
            )
        )
    return changed
