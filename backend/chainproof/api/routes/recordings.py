"""Live recordings (执法记录): ``/api/v1/recordings``.

A recorder (``chainproof record --follow``) opens a recording, sends each segment's digest
and hash-chain link as the segment completes, and closes it with the whole file's digest.
Only the recording's org (or an admin) reads or extends it; anyone else gets the 404 of an
id nobody has. Bodies are JSON, bounded by the app's JSON limit before they are read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chainproof.api.deps import RecordReaderDep, SessionDep, SubmitterDep
from chainproof.api.schemas import (
    EX_DIGEST,
    EX_EVIDENCE_ID,
    DigestHex,
    Label,
    error_responses,
    public_id_path,
)
from chainproof.channels import service as channels
from chainproof.recordings import service
from chainproof.recordings.service import MAX_SEGMENTS_PER_REQUEST, SegmentIn

router = APIRouter(prefix="/api/v1", tags=["recordings"])

EX_RECORDING_ID: Final = "0193b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"
EX_LINK: Final = "0x7d0c4f1e2a3b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
EX_NONCE: Final = "0x3c1f9e0b7a5d4c2e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e"

RecordingId = Annotated[str, public_id_path("recording", EX_RECORDING_ID)]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class RecordingIn(BaseModel):
    model_config = _examples(
        {"nonce": EX_NONCE, "segment_bytes": 1048576, "label": "执法记录仪 A-07 2026-12-07"}
    )

    nonce: DigestHex = Field(description="32 random bytes the recorder chose: the chain's start.")
    segment_bytes: int = Field(
        ge=service.MIN_SEGMENT_BYTES, le=service.MAX_SEGMENT_BYTES, description="Segment size."
    )
    label: Label | None = None
    channel: str | None = Field(
        None,
        max_length=100,
        description="A channel (通道) of the caller's org whose members read it too (issue 25).",
    )


class SegmentItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, le=service.MAX_SEGMENTS, description="From 0.")
    offset: int = Field(ge=0, le=1 << 62)
    length: int = Field(ge=1, le=service.MAX_SEGMENT_BYTES)
    digest: DigestHex = Field(description="SHA-256 of the segment's bytes.")
    link: DigestHex = Field(description="The segment's hash-chain link (docs/recordings.md).")
    claimed_at: datetime | None = Field(
        default=None, description="The recorder's clock when the segment completed: a claim."
    )


class SegmentsIn(BaseModel):
    model_config = _examples(
        {
            "segments": [
                {
                    "index": 0,
                    "offset": 0,
                    "length": 1048576,
                    "digest": EX_DIGEST,
                    "link": EX_LINK,
                    "claimed_at": "2026-12-07T09:00:01+08:00",
                }
            ]
        }
    )

    segments: list[SegmentItem] = Field(min_length=1, max_length=MAX_SEGMENTS_PER_REQUEST)


class CloseIn(BaseModel):
    model_config = _examples({"size": 15728640, "digest": EX_DIGEST})

    size: int = Field(ge=0, le=1 << 62, description="The whole file's size in bytes.")
    digest: DigestHex = Field(description="The whole file's SHA-256.")


_SUMMARY_EXAMPLE: Final[dict[str, Any]] = {
    "id": EX_RECORDING_ID,
    "label": "执法记录仪 A-07 2026-12-07",
    "segment_bytes": 1048576,
    "segments": 15,
    "anchored_segments": 14,
    "size": 15728640,
    "closed": False,
    "created_at": "2026-12-07T01:00:00+00:00",
}


class RecordingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: str
    label: str | None
    segment_bytes: int
    segments: int = Field(description="Segments received.")
    anchored_segments: int = Field(description="Segments whose link is anchored on chain.")
    size: int = Field(description="Bytes the segments cover.")
    closed: bool
    created_at: str


class RecordingListOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUMMARY_EXAMPLE]}]})

    items: list[RecordingOut]


class AppendedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"accepted": 1, "segments": 15, "head": EX_LINK}]}
    )

    accepted: int = Field(description="Segments new to the server (resent ones are not).")
    segments: int
    head: str = Field(description="The last link.")


class RecordingDetailOut(RecordingOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SUMMARY_EXAMPLE,
                    "algorithm": "sha256",
                    "nonce": EX_NONCE,
                    "head": EX_LINK,
                    "file_digest": None,
                    "file_evidence_id": None,
                    "closed_at": None,
                    "segment_list": [
                        {
                            "index": 0,
                            "offset": 0,
                            "length": 1048576,
                            "digest": EX_DIGEST,
                            "link": EX_LINK,
                            "claimed_at": "2026-12-07T01:00:01+00:00",
                            "received_at": "2026-12-07T01:00:01+00:00",
                            "evidence_id": EX_EVIDENCE_ID,
                            "status": "anchored",
                            "anchor": None,
                        }
                    ],
                }
            ]
        }
    )

    algorithm: str
    nonce: str
    head: str
    file_digest: str | None
    file_evidence_id: str | None
    closed_at: str | None
    segment_list: list[dict[str, Any]] = Field(
        description="Each segment: index, offset, length, digest, link, claimed and received "
        "times, and its link's evidence id, status and anchor (block, time) once anchored."
    )


@router.post(
    "/recordings",
    status_code=201,
    summary="Open a live recording",
    response_model=RecordingOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def open_recording(body: RecordingIn, caller: SubmitterDep, session: SessionDep) -> Any:
    rec = service.create(
        session=session,
        member_id=caller.member_id,
        nonce=body.nonce,
        segment_bytes=body.segment_bytes,
        label=body.label,
        channel_id=channels.named(session, body.channel, caller.member_id),
    )
    return service.summary(rec, 0)


@router.get(
    "/recordings",
    summary="The caller's org's recordings",
    response_model=RecordingListOut,
    responses=error_responses(401, 403),
)
def list_recordings(caller: SubmitterDep, session: SessionDep) -> Any:
    items = service.list_for(session=session, viewer=caller.viewer)
    return {"items": items}


@router.get(
    "/recordings/{recording_id}",
    summary="A recording's segments and their anchors",
    response_model=RecordingDetailOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_recording(recording_id: RecordingId, caller: RecordReaderDep, session: SessionDep) -> Any:
    # Its org, admins, auditors and its channel's members (issue 25); else 404.
    rec = service.readable(session=session, recording_id=recording_id, viewer=caller.viewer)
    return service.detail(session=session, rec=rec)


@router.post(
    "/recordings/{recording_id}/segments",
    summary="Append segment digests",
    description=(
        f"Up to {MAX_SEGMENTS_PER_REQUEST} segments, in order from the next index. A segment "
        "the server holds already is accepted again only unchanged (409 otherwise). Each new "
        "link is queued for the next anchoring batch."
    ),
    response_model=AppendedOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def append_segments(
    recording_id: RecordingId, body: SegmentsIn, caller: SubmitterDep, session: SessionDep
) -> Any:
    rec = service.owned(session=session, recording_id=recording_id, viewer=caller.viewer)
    accepted = service.append(
        session=session,
        rec=rec,
        segments=[
            SegmentIn(s.index, s.offset, s.length, s.digest, s.link, s.claimed_at)
            for s in body.segments
        ],
    )
    session.refresh(rec)
    return {"accepted": accepted, "segments": rec.segment_count, "head": rec.head}


@router.post(
    "/recordings/{recording_id}/close",
    summary="Close a recording",
    description="The whole file's SHA-256 and size; the size must be what the segments cover.",
    response_model=RecordingOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def close_recording(
    recording_id: RecordingId, body: CloseIn, caller: SubmitterDep, session: SessionDep
) -> Any:
    rec = service.owned(session=session, recording_id=recording_id, viewer=caller.viewer)
    rec = service.close(session=session, rec=rec, size=body.size, digest=body.digest)
    return service.detail(session=session, rec=rec)
