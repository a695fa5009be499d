"""datasets/manifest.py: what a data set's manifest holds, how two compare, and one file's
proof of membership checked alone."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from chainproof.datasets import manifest
from chainproof.datasets.manifest import (
    FileEntry,
    check_file_proof,
    check_path,
    diff,
    file_proof,
    root_of,
    scan,
)
from chainproof.errors import InvalidInputError


def test_scan_streams_regular_files_in_order_and_skips_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.bin").write_bytes(b"\x00" * 5000)
    (tmp_path / "a.txt").write_text("甲", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "a.txt")
    (tmp_path / "b" / "loop").symlink_to(tmp_path)
    # Small chunks: a file is read piece by piece, never whole.
    monkeypatch.setattr(manifest, "DEFAULT_CHUNK_SIZE", 1024)
    read: list[int] = []
    entries = list(scan(tmp_path, on_bytes=read.append))
    assert [e.path for e in entries] == ["a.txt", "b/2.bin"]
    assert entries[1] == FileEntry("b/2.bin", 5000, "0x" + hashlib.sha256(bytes(5000)).hexdigest())
    assert max(read) == 1024 and sum(read) == 5003


@pytest.mark.parametrize("path", ["", "/etc/passwd", "a/../b", "./a", "a//b", "a\nb", "x" * 1025])
def test_paths_must_stay_inside_the_data_set(path: str) -> None:
    with pytest.raises(InvalidInputError):
        check_path(path)


def test_diff_names_added_removed_and_changed() -> None:
    old = [FileEntry("a", 1, "0x" + "11" * 32), FileEntry("b", 1, "0x" + "22" * 32)]
    new = [FileEntry("b", 1, "0x" + "33" * 32), FileEntry("c", 1, "0x" + "44" * 32)]
    found = diff(old, new)
    assert (found.added, found.removed, found.changed) == (["c"], ["a"], ["b"])
    assert diff(old, list(reversed(old))).same


def test_one_files_proof_verifies_alone_and_nothing_else_does(tmp_path: Path) -> None:
    for i in range(9):
        (tmp_path / f"f{i}").write_text(f"file {i}")
    entries = list(scan(tmp_path))
    proof = file_proof(entries, "f4", resource="r", name="n")
    assert proof["root"] == root_of(entries)
    assert check_file_proof(proof, tmp_path / "f4") == []
    assert check_file_proof(proof, tmp_path / "f5")  # another file's bytes
    bent = {**proof, "proof": [proof["proof"][0][:-1] + "0", *proof["proof"][1:]]}
    assert check_file_proof(bent)
    renamed = {**proof, "leaf": ["f5", *proof["leaf"][1:]]}
    assert check_file_proof(renamed)
    assert check_file_proof({**proof, "format": "other"})
    with pytest.raises(InvalidInputError, match="twice"):
        root_of([entries[0], entries[0]])
