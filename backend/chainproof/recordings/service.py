"""Live recordings: open one, append segment digests as they come, close it, read it back.

The server re-computes every link (``links.py``) from the previous head and the segment the
recorder sends, so a recorder cannot append a link that does not follow; it takes segments
strictly in order, and a segment it already holds is accepted again only unchanged (a
recorder that crashed after sending, before noting it sent, resends: no error, no second
anchor). Each new link is queued as an evidence digest with
:func:`chainproof.evidence.intake.submit_digests` in the same transaction as the segment
rows: the recording's anchors are the regular batches', and nothing is accepted that is
not also queued (invariant 4).

Only the recording's org (or an admin) reads or extends it; to anyone else it is the 404 of
an id nobody has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypedDict

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chainproof.channels import service as channels
from chainproof.digests import DIGEST_SIZE, parse_hex, to_hex
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence import intake
from chainproof.evidence.verify import AnchorFields, Viewer, anchor_fields
from chainproof.recordings.links import NONCE_SIZE, genesis, link_of
from chainproof.recordings.models import Recording, RecordingSegment
from chainproof.store.lookup import by_public_id
from chainproof.store.models import LABEL_LEN, Batch, Evidence, EvidenceStatus, utcnow

ALGORITHM: Final = "sha256"  # segment digests and links
MIN_SEGMENT_BYTES: Final = 1024
MAX_SEGMENT_BYTES: Final = 1 << 30
MAX_SEGMENTS_PER_REQUEST: Final = 1000
# A recording's own bound (hours of video at 1 MiB segments): keeps GET answers bounded.
MAX_SEGMENTS: Final = 100_000
_IN_CHUNK: Final = 500  # SQLite caps bound parameters


@dataclass(frozen=True)
class SegmentIn:
    index: int
    offset: int
    length: int
    digest: str
    link: str
    claimed_at: datetime | None = None


def create(
    *,
    session: Session,
    member_id: int | None,
    nonce: str,
    segment_bytes: int,
    label: str | None = None,
    channel_id: int | None = None,
) -> Recording:
    raw = parse_hex(nonce, size=NONCE_SIZE, what="nonce")
    if not MIN_SEGMENT_BYTES <= segment_bytes <= MAX_SEGMENT_BYTES:
        raise InvalidInputError(
            f"segment_bytes must be {MIN_SEGMENT_BYTES} to {MAX_SEGMENT_BYTES}, got {segment_bytes}"
        )
    if label is not None and len(label) > LABEL_LEN:
        raise InvalidInputError(f"the label is longer than {LABEL_LEN} characters")
    rec = Recording(
        member_id=member_id,
        nonce=to_hex(raw),
        segment_bytes=segment_bytes,
        label=label,
        head=to_hex(genesis(raw)),
        channel_id=channel_id,
    )
    session.add(rec)
    session.commit()
    session.refresh(rec)
    return rec


def owned(*, session: Session, recording_id: str, viewer: Viewer) -> Recording:
    """The recording, if ``viewer``'s org made it (or is an admin); else the 404 of an id
    nobody has, word for word."""
    rec = by_public_id(session, Recording, recording_id)
    if rec is None or not viewer.owns(rec.member_id):
        raise NotFoundError(f"no recording with id {recording_id!r}")
    return rec


def readable(*, session: Session, recording_id: str, viewer: Viewer) -> Recording:
    """The recording, for its org, admins, auditors and the members of its channel (issue
    25); for anyone else the 404 of an id nobody has, as :func:`owned` answers. Only its org
    (:func:`owned`) appends and closes."""
    rec = by_public_id(session, Recording, recording_id)
    if rec is None or not channels.may_read(
        session, viewer, member_id=rec.member_id, channel_id=rec.channel_id
    ):
        raise NotFoundError(f"no recording with id {recording_id!r}")
    return rec


def append(*, session: Session, rec: Recording, segments: Sequence[SegmentIn]) -> int:
    """Appends ``segments`` (in order; those already held must be identical) and queues
    each new link for anchoring; returns how many were new."""
    if len(segments) > MAX_SEGMENTS_PER_REQUEST:
        raise InvalidInputError(f"at most {MAX_SEGMENTS_PER_REQUEST} segments per request")
    if rec.closed_at is not None and any(s.index >= rec.segment_count for s in segments):
        raise ConflictError(f"recording {rec.public_id} is closed")
    held = _held(session, rec, [s.index for s in segments if s.index < rec.segment_count])
    prev = parse_hex(rec.head, size=DIGEST_SIZE)
    count, size = rec.segment_count, rec.size
    new: list[RecordingSegment] = []
    for s in segments:
        digest = parse_hex(s.digest, size=DIGEST_SIZE, what=f"segment {s.index}'s digest")
        link = parse_hex(s.link, size=DIGEST_SIZE, what=f"segment {s.index}'s link")
        if s.index < rec.segment_count:
            old = held[s.index]
            if (old.offset, old.length, old.digest, old.link) != (
                s.offset,
                s.length,
                to_hex(digest),
                to_hex(link),
            ):
                raise ConflictError(
                    f"segment {s.index} of recording {rec.public_id} is recorded already, "
                    "with other content: a recording's past cannot change",
                    index=s.index,
                )
            continue
        _check_next(rec, s, count, size)
        if link_of(prev, s.index, s.offset, s.length, digest) != link:
            raise InvalidInputError(
                f"segment {s.index}'s link does not follow from the previous one", index=s.index
            )
        new.append(
            RecordingSegment(
                recording_id=rec.id or 0,
                idx=s.index,
                offset=s.offset,
                length=s.length,
                digest=to_hex(digest),
                link=to_hex(link),
                claimed_at=s.claimed_at,
            )
        )
        prev, count, size = link, count + 1, size + s.length
    if not new:
        return 0
    if count > MAX_SEGMENTS:
        raise InvalidInputError(f"a recording has at most {MAX_SEGMENTS} segments")
    rec.segment_count, rec.size, rec.head = count, size, to_hex(prev)
    session.add(rec)
    session.add_all(new)
    try:
        # Commits the segments, the recording's new head and the queued links together.
        intake.submit_digests(
            session=session,
            algorithm=ALGORITHM,
            digests=[parse_hex(s.link) for s in new],
            member_id=rec.member_id,
            label=f"recording {rec.public_id}",
            filenames=[f"segment {s.idx}" for s in new],
            sizes=[s.length for s in new],
            channel_id=rec.channel_id,
        )
    except IntegrityError:
        session.rollback()  # a concurrent request appended the same indexes first
        raise ConflictError(
            f"recording {rec.public_id} was extended by another request; send again"
        ) from None
    return len(new)


def _check_next(rec: Recording, s: SegmentIn, count: int, size: int) -> None:
    if s.index != count:
        raise ConflictError(
            f"recording {rec.public_id} expects segment {count} next, not {s.index}",
            expected=count,
        )
    if size % rec.segment_bytes:
        raise ConflictError(
            f"recording {rec.public_id} ended with a short segment; nothing can follow it"
        )
    if s.offset != size:
        raise InvalidInputError(f"segment {s.index} starts at byte {size}, not {s.offset}")
    if not 0 < s.length <= rec.segment_bytes:
        raise InvalidInputError(
            f"segment {s.index} is {s.length} bytes; segments are {rec.segment_bytes} "
            "(the last may be shorter)"
        )


def _held(session: Session, rec: Recording, indexes: list[int]) -> dict[int, RecordingSegment]:
    if not indexes:
        return {}
    rows = session.exec(
        select(RecordingSegment).where(
            RecordingSegment.recording_id == rec.id, col(RecordingSegment.idx).in_(indexes)
        )
    ).all()
    return {r.idx: r for r in rows}


def close(*, session: Session, rec: Recording, size: int, digest: str) -> Recording:
    """Ends the recording: the whole file's SHA-256 and size, which must be what the
    segments cover. The whole-file digest is anchored too, so the file also verifies as
    ordinary evidence. Closing again with the same values is a no-op."""
    file_digest = to_hex(parse_hex(digest, size=DIGEST_SIZE, what="digest"))
    if rec.closed_at is not None:
        if (rec.size, rec.file_digest) != (size, file_digest):
            raise ConflictError(f"recording {rec.public_id} is closed with another digest")
        return rec
    if size != rec.size:
        raise ConflictError(
            f"the segments of recording {rec.public_id} cover {rec.size} bytes, not {size}: "
            "send the missing segments first",
            covered=rec.size,
        )
    accepted = intake.submit_digests(
        session=session,
        algorithm=ALGORITHM,
        digests=[parse_hex(file_digest)],
        member_id=rec.member_id,
        label=f"recording {rec.public_id}",
        filenames=["whole recording"],
        sizes=[size],
        channel_id=rec.channel_id,
    )
    rec.file_digest = file_digest
    rec.file_evidence_id = accepted[0].id
    rec.closed_at = utcnow()
    session.add(rec)
    session.commit()
    session.refresh(rec)
    return rec


def _anchored_counts(session: Session, recs: Sequence[Recording]) -> dict[int, int]:
    """Per recording, how many of its links are anchored evidence of its org."""
    counts: dict[int, int] = defaultdict(int)
    for rec in recs:
        stmt = (
            select(func.count(func.distinct(RecordingSegment.idx)))
            .select_from(RecordingSegment)
            .join(Evidence, col(Evidence.digest) == col(RecordingSegment.link))
            .where(
                RecordingSegment.recording_id == rec.id,
                col(Evidence.member_id).is_not_distinct_from(rec.member_id),
                Evidence.status == EvidenceStatus.ANCHORED.value,
            )
        )
        counts[rec.id or 0] = int(session.exec(stmt).one())
    return counts


class RecordingSummary(TypedDict):
    """A recording in a list (``RecordingOut``)."""

    id: str
    label: str | None
    segment_bytes: int
    segments: int
    anchored_segments: int
    size: int
    closed: bool
    created_at: str


class SegmentView(TypedDict):
    """One segment, its link and where that link is anchored (once it is)."""

    index: int
    offset: int
    length: int
    digest: str
    link: str
    claimed_at: str | None
    received_at: str
    evidence_id: str | None
    status: str | None
    anchor: AnchorFields | None


class RecordingDetail(RecordingSummary):
    """Everything a verifier needs (``RecordingDetailOut``)."""

    algorithm: str
    nonce: str
    head: str
    file_digest: str | None
    file_evidence_id: str | None
    closed_at: str | None
    segment_list: list[SegmentView]


def summary(rec: Recording, anchored: int) -> RecordingSummary:
    return {
        "id": rec.public_id,
        "label": rec.label,
        "segment_bytes": rec.segment_bytes,
        "segments": rec.segment_count,
        "anchored_segments": anchored,
        "size": rec.size,
        "closed": rec.closed_at is not None,
        "created_at": rec.created_at.isoformat(),
    }


def list_for(*, session: Session, viewer: Viewer, limit: int = 100) -> list[RecordingSummary]:
    """The caller's org's recordings, newest first (an admin's own org's too: the list is
    of the caller's, not of everyone's)."""
    recs = session.exec(
        select(Recording)
        .where(
            or_(
                col(Recording.member_id).is_not_distinct_from(viewer.member_id),
                col(Recording.channel_id).in_(channels.channel_ids_of(viewer.member_id)),
            )
        )
        .order_by(col(Recording.id).desc())
        .limit(limit)
    ).all()
    counts = _anchored_counts(session, recs)
    return [summary(r, counts[r.id or 0]) for r in recs]


def detail(*, session: Session, rec: Recording) -> RecordingDetail:
    """Everything a verifier needs: the nonce, each segment's range, digest and link, and
    where each link is anchored (once it is)."""
    segments = session.exec(
        select(RecordingSegment)
        .where(RecordingSegment.recording_id == rec.id)
        .order_by(col(RecordingSegment.idx))
    ).all()
    anchors = _anchors(session, rec, [s.link for s in segments])
    out_segments: list[SegmentView] = []
    for s in segments:
        ev, batch = anchors.get(s.link, (None, None))
        out_segments.append(
            {
                "index": s.idx,
                "offset": s.offset,
                "length": s.length,
                "digest": s.digest,
                "link": s.link,
                "claimed_at": s.claimed_at.isoformat() if s.claimed_at else None,
                "received_at": s.received_at.isoformat(),
                "evidence_id": ev.public_id if ev else None,
                "status": ev.status if ev else None,
                "anchor": anchor_fields(batch) if batch is not None else None,
            }
        )
    file_evidence = session.get(Evidence, rec.file_evidence_id) if rec.file_evidence_id else None
    anchored = sum(1 for s in out_segments if s["status"] == EvidenceStatus.ANCHORED.value)
    return {
        **summary(rec, anchored),
        "algorithm": ALGORITHM,
        "nonce": rec.nonce,
        "head": rec.head,
        "file_digest": rec.file_digest,
        "file_evidence_id": file_evidence.public_id if file_evidence else None,
        "closed_at": rec.closed_at.isoformat() if rec.closed_at else None,
        "segment_list": out_segments,
    }


def _anchors(
    session: Session, rec: Recording, links: list[str]
) -> dict[str, tuple[Evidence, Batch | None]]:
    found: dict[str, tuple[Evidence, Batch | None]] = {}
    for start in range(0, len(links), _IN_CHUNK):
        rows = session.exec(
            select(Evidence, Batch)
            .join(Batch, col(Evidence.batch_id) == col(Batch.id), isouter=True)
            .where(
                col(Evidence.digest).in_(links[start : start + _IN_CHUNK]),
                col(Evidence.member_id).is_not_distinct_from(rec.member_id),
            )
            .order_by(col(Evidence.id))
        ).all()
        for ev, batch in rows:
            if ev.digest in found and found[ev.digest][0].status == EvidenceStatus.ANCHORED.value:
                continue  # the first anchored copy stands
            shown = batch if batch is not None and batch.block_number is not None else None
            if ev.status == EvidenceStatus.BATCHED.value:
                shown = None
            found[ev.digest] = (ev, shown)
    return found
