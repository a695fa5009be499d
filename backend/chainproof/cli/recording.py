"""``chainproof record`` and ``chainproof verify-recording``: live recordings (执法记录).

``record FILE --follow`` follows a file a camera is still writing: each time another
``--segment-bytes`` have been written it hashes that segment, adds it to the recording's
hash chain (``recordings/links.py``), writes it to the local state file and sends it, so the
chain holds the recording's head within a batch interval while it is still running. After
``--idle-timeout`` seconds without growth it hashes the last, shorter segment, closes the
recording with the whole file's digest and prints the recording id alone on its last line.

A recorder that cannot reach the server goes on hashing and keeps the chain in its state
file (the chain's time then proves "no later than"; the recorder's times are claims); run
it again (``--resume ID`` once the recording has an id) to send the rest. A recorder killed
at any point resumes the same way and loses nothing: what it hashed is in the state file,
and the server takes a segment it already holds again when it is unchanged.

Exit codes as the other commands: 0 done (or verified), 1 the answer is no (a segment
differs; or the chain is kept locally, not yet sent), 2 the question could not be asked.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Final

import typer
from rich.markup import escape

from chainproof.cli.evidence import ApiKeyOption, ServerOption, _client, _err, _fail, _out
from chainproof.client import DEFAULT_SERVER, ChainProofClient, ClientError, ServerUnreachableError
from chainproof.digests import to_hex
from chainproof.errors import ChainProofError
from chainproof.recordings.links import Segment, chain_break, new_nonce
from chainproof.recordings.state import RecorderState, state_path

__all__ = ["register"]

DEFAULT_SEGMENT_BYTES: Final = 1 << 20
_SEND_CHUNK: Final = 500
_RETRY_OFFLINE_S: Final = 2.0
_READ: Final = 1 << 20
# Errors that mean "not reachable now", not "refused": the chain stays local and is resent.
_OFFLINE_CODES: Final = frozenset({"timeout", "connection_closed", "http_error"})


def _read_exact(f: BinaryIO, offset: int, length: int) -> bytes:
    f.seek(offset)
    data = f.read(length)
    if len(data) != length:
        raise OSError(f"read {len(data)} of {length} bytes at {offset}: the file shrank")
    return data


def _sha256_prefix(f: BinaryIO, size: int) -> str:
    h = hashlib.sha256()
    f.seek(0)
    left = size
    while left:
        chunk = f.read(min(_READ, left))
        if not chunk:
            raise OSError(f"the file is shorter than {size} bytes")
        h.update(chunk)
        left -= len(chunk)
    return to_hex(h.digest())


class _Recorder:
    def __init__(self, state: RecorderState, client: ChainProofClient, label: str) -> None:
        self.state = state
        self.client = client
        self.label = label
        self.retry_at = 0.0
        self.offline_said = False

    def hash_ready(self, f: BinaryIO, size: int, *, final: bool) -> None:
        """Adds every complete segment ``size`` bytes allow (and, if ``final``, the tail)."""
        n = self.state.segment_bytes
        while size - self.state.covered >= n:
            data = _read_exact(f, self.state.covered, n)
            self.state.add_segment(hashlib.sha256(data).digest(), n)
        rest = size - self.state.covered
        if final and rest > 0:
            data = _read_exact(f, self.state.covered, rest)
            self.state.add_segment(hashlib.sha256(data).digest(), rest)

    def send(self, *, now: float, force: bool = False) -> None:
        """Sends what the server does not have yet; offline, keeps it for later."""
        if not force and now < self.retry_at:
            return
        try:
            self._send()
        except ServerUnreachableError as exc:
            self._offline(exc, now)
        except ClientError as exc:
            if exc.status is None and exc.code in _OFFLINE_CODES:
                self._offline(exc, now)
            else:
                raise
        else:
            if self.offline_said:
                _err.print("[green]back online: the recording is sent[/green]", highlight=False)
                self.offline_said = False

    def _offline(self, exc: ChainProofError, now: float) -> None:
        self.retry_at = now + _RETRY_OFFLINE_S
        if not self.offline_said:
            _err.print(
                f"[yellow]offline ({escape(str(exc))}): the chain is kept in "
                f"{escape(str(self.state.path))} and sent later[/yellow]",
                highlight=False,
                soft_wrap=True,
            )
            self.offline_said = True

    def _send(self) -> None:
        state = self.state
        if state.recording_id is None:
            recording_id = self.client.open_recording(
                to_hex(state.nonce), state.segment_bytes, self.label
            )
            state.mark_created(recording_id)
            print(f"recording {recording_id}", flush=True)
        assert state.recording_id is not None
        while state.sent < len(state.segments):
            upto = min(len(state.segments), state.sent + _SEND_CHUNK)
            self.client.append_segments(state.recording_id, state.wire(state.sent, upto))
            state.mark_sent(upto)
        if state.closed is not None and not state.close_sent:
            size, digest = state.closed
            self.client.close_recording(state.recording_id, size, digest)
            state.mark_close_sent()


def _rebuild(client: ChainProofClient, recording_id: str, file: Path, path: Path) -> RecorderState:
    """A state file for ``--resume ID`` when the local one is gone: the server's chain,
    checked against the file's bytes segment by segment."""
    detail = client.recording(recording_id)
    nonce = bytes.fromhex(str(detail["nonce"])[2:])
    state = RecorderState.new(path, nonce, int(detail["segment_bytes"]))
    state.mark_created(str(detail["id"]))
    with file.open("rb") as f:
        for seg in detail["segment_list"]:
            data = _read_exact(f, int(seg["offset"]), int(seg["length"]))
            added = state.add_segment(hashlib.sha256(data).digest(), len(data))
            if to_hex(added.link) != seg["link"]:
                path.unlink()
                _fail(
                    f"{file} is not recording {recording_id}: segment {seg['index']} "
                    f"(bytes {seg['offset']}-{seg['offset'] + seg['length'] - 1}) differs"
                )
    state.mark_sent(len(state.segments))
    if detail["closed"]:
        state.mark_closed(int(detail["size"]), str(detail["file_digest"]))
        state.mark_close_sent()
    return state


def record(
    file: Annotated[Path, typer.Argument(help="The recording file (it may still be growing).")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Follow the file while it grows.")
    ] = False,
    segment_bytes: Annotated[
        int, typer.Option("--segment-bytes", min=1024, help="Segment size in bytes.")
    ] = DEFAULT_SEGMENT_BYTES,
    idle_timeout: Annotated[
        float,
        typer.Option("--idle-timeout", min=0, help="With --follow: stop after this many s idle."),
    ] = 10.0,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Go on with this recording (after a crash, or offline)."),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="Where the local chain is kept (default: beside FILE)."),
    ] = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="Free label.")] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.01, help="Seconds between looks at the file.")
    ] = 0.1,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Hash a (growing) recording segment by segment and anchor the segments' hash chain."""
    path = state_path(file, state_dir)
    if not file.is_file():
        _fail(f"{file} is not a file")
    with _client(server, api_key) as client:
        if path.exists():
            state = RecorderState.load(path)
            if resume is not None and state.recording_id not in (None, resume):
                _fail(f"{path} keeps recording {state.recording_id}, not {resume}")
        elif resume is not None:
            state = _rebuild(client, resume, file, path)
        else:
            state = RecorderState.new(path, new_nonce(), segment_bytes)
        recorder = _Recorder(state, client, label or file.name)
        with file.open("rb") as f:
            if state.closed is None:
                _follow(recorder, f, follow=follow, idle_timeout=idle_timeout, poll=poll)
                size = os.fstat(f.fileno()).st_size
                recorder.hash_ready(f, size, final=True)
                state.mark_closed(state.covered, _sha256_prefix(f, state.covered))
        recorder.send(now=time.monotonic(), force=True)
    out = _out()
    covered = state.covered
    out.print(f"segments: {len(state.segments)} of {state.segment_bytes} bytes ({covered} bytes)")
    if not state.close_sent or state.recording_id is None:
        _err.print(
            f"[yellow]not all sent: the chain is kept in {escape(str(path))}; run the same "
            "command again (with --resume ID once it has an id) to send the rest[/yellow]",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    out.print(state.recording_id, soft_wrap=True, highlight=False)


def _follow(
    recorder: _Recorder, f: BinaryIO, *, follow: bool, idle_timeout: float, poll: float
) -> None:
    last_size = -1
    last_growth = time.monotonic()
    while True:
        size = os.fstat(f.fileno()).st_size
        now = time.monotonic()
        if size < recorder.state.covered:
            _fail(f"the file shrank below the {recorder.state.covered} bytes already recorded")
        if size != last_size:
            last_size, last_growth = size, now
        recorder.hash_ready(f, size, final=False)
        recorder.send(now=now)
        if not follow or now - last_growth >= idle_timeout:
            return
        time.sleep(poll)


# ---- verify-recording -------------------------------------------------------------------------


def _segments(detail: dict[str, Any]) -> list[Segment]:
    return [
        Segment(
            int(s["index"]),
            int(s["offset"]),
            int(s["length"]),
            bytes.fromhex(s["digest"][2:]),
            bytes.fromhex(s["link"][2:]),
        )
        for s in detail["segment_list"]
    ]


def _detect_start(f: BinaryIO, size: int, segments: list[Segment], n: int) -> int | None:
    """The index of the recorded segment the file starts with (a clip), by its digest."""
    first = hashlib.sha256(_read_exact(f, 0, min(n, size))).digest()
    for s in segments:
        if s.digest == first:
            return s.index
    return None


def verify_recording(
    file: Annotated[Path, typer.Argument(help="The recording, or a clip cut on segments.")],
    recording: Annotated[str, typer.Option("--recording", help="The recording id.")],
    clip_start_segment: Annotated[
        int | None,
        typer.Option(
            "--clip-start-segment", min=0, help="FILE is a clip starting at this segment."
        ),
    ] = None,
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            envvar="CHAINPROOF_RPC_URL",
            help="Also check the last anchored segment's receipt on this JSON-RPC node.",
        ),
    ] = None,
    trust: Annotated[
        str | None,
        typer.Option(
            "--trust",
            envvar="CHAINPROOF_TRUST",
            help="The trust anchor --rpc checks against (a file or a server's base URL).",
        ),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Check a recording (or a clip of it) segment by segment against its anchored chain.

    With --rpc and --trust, the anchor itself is checked too, without trusting the server:
    the receipt of the last anchored link the file covers is verified on the chain against
    the pinned trust anchor, and that link commits to every segment before it.
    """
    if (rpc is None) != (trust is None):
        _fail("--rpc and --trust go together: a chain check needs a pinned trust anchor")
    with _client(server, api_key) as client:
        detail = client.recording(recording)
    segments = _segments(detail)
    nonce = bytes.fromhex(str(detail["nonce"])[2:])
    broken = chain_break(nonce, segments)
    if broken is not None:
        _fail(f"the server's chain of recording {recording} breaks at segment {broken}", 1)
    n = int(detail["segment_bytes"])
    out = _out()
    try:
        size = file.stat().st_size
        with file.open("rb") as f:
            if size == 0:
                _fail(f"{file} is empty", 1)
            start = clip_start_segment
            if start is None:
                start = _detect_start(f, size, segments, n)
                if start is None:
                    _fail(f"the first bytes of {file} are no segment of recording {recording}", 1)
            first_differing = _compare(f, size, segments, start, n)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc}")
    if first_differing is not None:
        index, message = first_differing
        _err.print(f"[red]segment {index} differs: {escape(message)}[/red]", soft_wrap=True)
        raise typer.Exit(1)
    count = (size + n - 1) // n
    covered = segments[start : start + count]
    anchored = [s for s in detail["segment_list"][start : start + count] if s.get("anchor")]
    whole = start == 0 and count == len(segments)
    what = "the whole recording" if whole else f"a clip: segments {start}-{start + count - 1}"
    out.print(f"{file}: {what}, {count} segments match recording {recording}")
    out.print(f"anchored: {len(anchored)} of {len(covered)}", highlight=False)
    if anchored:
        last = anchored[-1]["anchor"]
        out.print(
            f"segment {anchored[-1]['index']} (and every one before it) is on chain since "
            f"{last['anchored_at']} (block {last['block_number']})",
            highlight=False,
        )
    if rpc is not None and trust is not None:
        if not anchored:
            _fail("no segment the file covers is anchored yet: nothing to check on chain", 1)
        with _client(server, api_key) as client:
            raw = client.receipt(str(anchored[-1]["evidence_id"]))
        _check_on_chain(anchored[-1], raw, rpc, trust)


def _check_on_chain(segment: dict[str, Any], raw: dict[str, Any], rpc: str, trust: str) -> None:
    """Verifies the receipt of ``segment``'s link on the chain against the pinned anchor:
    with the link chain checked from the file's bytes, it proves every segment up to this
    one existed no later than its block."""
    from web3 import Web3

    from chainproof.receipts import Receipt, verify_receipt
    from chainproof.trust import TrustAnchor

    index = segment["index"]
    try:
        anchor = TrustAnchor.load(trust)
        receipt = Receipt.from_dict(raw)
    except ChainProofError as exc:
        _fail(f"cannot check on chain: {exc.message}")
    if receipt.digest.lower() != str(segment["link"]).lower():
        _fail(f"the receipt given for segment {index} is not for its link", 1)
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 10.0}))
    verdict = verify_receipt(receipt, w3, trust=anchor)
    if not verdict.valid:
        _fail(f"segment {index}'s anchor does not verify on chain: {verdict.reason}", 1)
    _out().print(
        f"on chain: VALID against the pinned trust anchor: segment {index}'s link, which "
        f"commits to every segment before it, anchored in block {receipt.block_number} by "
        f"{receipt.submitter}",
        highlight=False,
        soft_wrap=True,
    )


def _compare(
    f: BinaryIO, size: int, segments: list[Segment], start: int, n: int
) -> tuple[int, str] | None:
    """The first segment that differs (index, what), else None."""
    at = 0
    index = start
    while at < size:
        length = min(n, size - at)
        if index >= len(segments):
            return index, f"the file goes on past the recording's last segment (byte {at})"
        s = segments[index]
        data = _read_exact(f, at, length)
        span = f"bytes {s.offset}-{s.offset + s.length - 1} of the recording"
        if length != s.length or hashlib.sha256(data).digest() != s.digest:
            where = "" if start == 0 else f" (bytes {at}-{at + length - 1} of this clip)"
            return index, f"{span}{where} are not what was recorded"
        at += length
        index += 1
    if start == 0 and index < len(segments):
        return index, f"the file ends at byte {size}, the recording goes on"
    return None


def register(app: typer.Typer) -> None:
    app.command("record")(record)
    app.command("verify-recording")(verify_recording)
