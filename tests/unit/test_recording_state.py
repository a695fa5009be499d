"""The recorder's hash chain and its local state file (recordings/links.py, state.py)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from chainproof.errors import InvalidInputError
from chainproof.recordings.links import chain_break, new_nonce
from chainproof.recordings.state import RecorderState


def _state(tmp_path: Path, *contents: bytes) -> RecorderState:
    state = RecorderState.new(tmp_path / "cam.mp4.recording.jsonl", new_nonce(), 4)
    for data in contents:
        state.add_segment(hashlib.sha256(data).digest(), len(data))
    return state


def test_a_changed_segment_breaks_the_chain_at_that_segment(tmp_path: Path) -> None:
    state = _state(tmp_path, b"aaaa", b"bbbb", b"cccc", b"dd")
    assert chain_break(state.nonce, state.segments) is None
    for i in range(4):
        changed = list(state.segments)
        changed[i] = replace(changed[i], digest=hashlib.sha256(b"edit").digest())
        assert chain_break(state.nonce, changed) == i
    # Dropping a segment breaks it where the gap is; another nonce at the start.
    assert chain_break(state.nonce, [*state.segments[:1], *state.segments[2:]]) == 1
    assert chain_break(new_nonce(), state.segments) == 0


def test_the_state_file_survives_a_torn_last_line(tmp_path: Path) -> None:
    state = _state(tmp_path, b"aaaa", b"bbbb")
    state.mark_created("01943b2e-7c00-7a3f-9d21-000000000001")
    state.mark_sent(1)
    with state.path.open("ab") as f:
        f.write(b'{"t":"segment","index":2,"off')  # killed mid-write
    loaded = RecorderState.load(state.path)
    assert loaded.segments == state.segments
    assert (loaded.recording_id, loaded.sent, loaded.nonce) == (
        state.recording_id,
        1,
        state.nonce,
    )
    # The torn line is cut off, so the next line starts clean and the file loads again.
    loaded.add_segment(hashlib.sha256(b"cccc").digest(), 4)
    assert len(RecorderState.load(state.path).segments) == 3


def test_a_state_file_whose_chain_was_edited_is_refused(tmp_path: Path) -> None:
    state = _state(tmp_path, b"aaaa", b"bbbb")
    text = state.path.read_text()
    first = hashlib.sha256(b"aaaa").hexdigest()
    state.path.write_text(text.replace(first, hashlib.sha256(b"AAAA").hexdigest()))
    with pytest.raises(InvalidInputError, match="segment 0 breaks the chain"):
        RecorderState.load(state.path)


def test_a_new_state_never_overwrites_another_recorders(tmp_path: Path) -> None:
    state = _state(tmp_path, b"aaaa")
    with pytest.raises(FileExistsError):
        RecorderState.new(state.path, new_nonce(), 4)
