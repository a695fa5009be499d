"""The recorder's local state: its hash chain, written before anything is sent.

An append-only JSON-lines file beside the recording (or in ``--state-dir``): a ``start``
line (nonce, segment size), one line per segment as it is hashed, and lines for what the
server acknowledged (``created``, ``sent``, ``close_sent``) and for the local end
(``closed``). Each line is flushed and fsynced before the recorder goes on, so a
``kill -9`` loses at most a line being written (a torn last line is cut off on load), and a
recorder that is offline keeps its whole chain here until it can send it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainproof.digests import to_hex
from chainproof.errors import InvalidInputError
from chainproof.recordings.links import Segment, genesis, link_of

SUFFIX = ".recording.jsonl"


def state_path(file: Path, state_dir: Path | None) -> Path:
    where = state_dir if state_dir is not None else file.parent
    return where / (file.name + SUFFIX)


@dataclass
class RecorderState:
    path: Path
    nonce: bytes
    segment_bytes: int
    recording_id: str | None = None
    segments: list[Segment] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    sent: int = 0
    closed: tuple[int, str] | None = None  # (size, whole-file digest) once the file ended
    close_sent: bool = False

    # ---- reading -----------------------------------------------------------------------

    @classmethod
    def new(cls, path: Path, nonce: bytes, segment_bytes: int) -> RecorderState:
        state = cls(path, nonce, segment_bytes)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8"):
            pass  # refuses to overwrite a chain some other recorder keeps
        state._write({"t": "start", "nonce": to_hex(nonce), "segment_bytes": segment_bytes})
        return state

    @classmethod
    def load(cls, path: Path) -> RecorderState:
        raw = path.read_bytes()
        good = raw[: raw.rfind(b"\n") + 1]  # a torn last line (a kill mid-write) is dropped
        records: list[dict[str, Any]] = []
        for number, line in enumerate(good.decode("utf-8").splitlines(), 1):
            try:
                records.append(json.loads(line))
            except ValueError:
                raise InvalidInputError(f"{path}: line {number} is not JSON") from None
        if len(good) != len(raw):
            with path.open("r+b") as f:
                f.truncate(len(good))
        if not records or records[0].get("t") != "start":
            raise InvalidInputError(f"{path} is not a recorder's state file")
        first = records[0]
        state = cls(path, bytes.fromhex(first["nonce"][2:]), int(first["segment_bytes"]))
        for r in records[1:]:
            state._apply(r)
        return state

    def _apply(self, r: dict[str, Any]) -> None:
        kind = r.get("t")
        if kind == "segment":
            digest = bytes.fromhex(r["digest"][2:])
            prev = self.head
            index, offset, length = len(self.segments), self.covered, int(r["length"])
            link = link_of(prev, index, offset, length, digest)
            if r["index"] != index or r["offset"] != offset or to_hex(link) != r["link"]:
                raise InvalidInputError(f"{self.path}: segment {r['index']} breaks the chain")
            self.segments.append(Segment(index, offset, length, digest, link))
            self.claimed.append(str(r.get("at", "")))
        elif kind == "created":
            self.recording_id = str(r["id"])
        elif kind == "sent":
            self.sent = max(self.sent, int(r["upto"]))
        elif kind == "closed":
            self.closed = (int(r["size"]), str(r["digest"]))
        elif kind == "close_sent":
            self.close_sent = True

    # ---- what it holds -----------------------------------------------------------------

    @property
    def head(self) -> bytes:
        return self.segments[-1].link if self.segments else genesis(self.nonce)

    @property
    def covered(self) -> int:
        last = self.segments[-1] if self.segments else None
        return last.offset + last.length if last else 0

    def wire(self, start: int, end: int) -> list[dict[str, Any]]:
        """Segments ``start``..``end`` as the API takes them."""
        return [
            {
                "index": s.index,
                "offset": s.offset,
                "length": s.length,
                "digest": to_hex(s.digest),
                "link": to_hex(s.link),
                "claimed_at": self.claimed[s.index] or None,
            }
            for s in self.segments[start:end]
        ]

    # ---- writing (each line durable before the recorder goes on) -----------------------

    def add_segment(self, digest: bytes, length: int) -> Segment:
        index, offset = len(self.segments), self.covered
        link = link_of(self.head, index, offset, length, digest)
        at = datetime.now(UTC).isoformat()
        self._write(
            {
                "t": "segment",
                "index": index,
                "offset": offset,
                "length": length,
                "digest": to_hex(digest),
                "link": to_hex(link),
                "at": at,
            }
        )
        segment = Segment(index, offset, length, digest, link)
        self.segments.append(segment)
        self.claimed.append(at)
        return segment

    def mark_created(self, recording_id: str) -> None:
        self._write({"t": "created", "id": recording_id})
        self.recording_id = recording_id

    def mark_sent(self, upto: int) -> None:
        self._write({"t": "sent", "upto": upto})
        self.sent = upto

    def mark_closed(self, size: int, digest: str) -> None:
        self._write({"t": "closed", "size": size, "digest": digest})
        self.closed = (size, digest)

    def mark_close_sent(self) -> None:
        self._write({"t": "close_sent"})
        self.close_sent = True

    def _write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        with self.path.open("ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
