"""A data set's manifest (数据资源): every file's path, size and SHA-256, committed as one
Merkle root; the differences between two manifests; one file's proof of membership.

Each file is a leaf ``(string path, uint256 size, bytes32 sha256)`` of an OpenZeppelin
``StandardMerkleTree`` (the same kernel and format as evidence batches), so the root commits
to every path, size and content at once, and one file's proof, a few sibling hashes, shows
that file is in the data set without the rest of the manifest. Paths are relative, with
``/`` separators, in the directory walk's sorted order.

Pure: the light verifier checks a file's proof with it (``chainproof dataset check-proof``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from chainproof.digests import DEFAULT_CHUNK_SIZE, parse_hex, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import StandardMerkleTree, verify

LEAF_TYPES: Final = ("string", "uint256", "bytes32")
PROOF_FORMAT: Final = "chainproof-dataset-proof/1"
PATH_MAX: Final = 1024
MAX_FILES: Final = 20_000  # one registration is one JSON body (api/upload.py MAX_JSON_BYTES)


@dataclass(frozen=True, order=True)
class FileEntry:
    """One file of a data set: relative path, size in bytes, ``0x`` SHA-256."""

    path: str
    size: int
    sha256: str

    def leaf(self) -> list[Any]:
        return [self.path, self.size, self.sha256]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def check_path(path: str) -> str:
    """``path`` if it is a relative ``/``-separated path inside the data set."""
    if not path or len(path) > PATH_MAX:
        raise InvalidInputError(f"a path must be 1 to {PATH_MAX} characters: {path[:80]!r}")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidInputError(f"not a relative path inside the data set: {path[:80]!r}")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in path):
        raise InvalidInputError(f"a path has a control character: {path[:80]!r}")
    return path


def entry_of(data: Mapping[str, Any]) -> FileEntry:
    """A manifest entry from its JSON form, checked."""
    path, size, sha = data.get("path"), data.get("size"), data.get("sha256")
    if not isinstance(path, str):
        raise InvalidInputError("each file needs a string path")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**63:
        raise InvalidInputError(f"{path[:80]!r}: size must be an integer of bytes")
    if not isinstance(sha, str):
        raise InvalidInputError(f"{path[:80]!r}: sha256 must be 0x and 64 hex digits")
    return FileEntry(check_path(path), size, to_hex(parse_hex(sha, size=32, what="sha256")))


def _hash(path: Path, on_bytes: Callable[[int], None] | None) -> tuple[int, str]:
    """Size and SHA-256 of one file, read in chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as raw:
        while chunk := raw.read(DEFAULT_CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return size, "0x" + digest.hexdigest()


def walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, file) of every regular file under ``root``, sorted; symbolic links
    (to files or directories) are not part of a data set and are not followed."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a directory")
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        base = Path(folder)
        for name in sorted(files):
            full = base / name
            if stat.S_ISREG(full.lstat().st_mode):
                yield check_path(full.relative_to(root).as_posix()), full


def scan(
    root: Path,
    *,
    on_bytes: Callable[[int], None] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> Iterator[FileEntry]:
    """The manifest entry of every file under ``root``, streamed one file at a time."""
    for relative, full in walk(root):
        size, sha = _hash(full, on_bytes)
        if on_file is not None:
            on_file(relative)
        yield FileEntry(relative, size, sha)


def tree_of(entries: Sequence[FileEntry]) -> StandardMerkleTree:
    """The manifest's tree; refuses an empty manifest and a path given twice."""
    if not entries:
        raise InvalidInputError("a data set needs at least one file")
    seen: set[str] = set()
    for e in entries:
        if e.path in seen:
            raise InvalidInputError(f"{e.path[:80]!r} is in the manifest twice")
        seen.add(e.path)
    return StandardMerkleTree.of([e.leaf() for e in entries], LEAF_TYPES)


def root_of(entries: Sequence[FileEntry]) -> str:
    return to_hex(tree_of(entries).root)


@dataclass(frozen=True)
class Diff:
    """How a directory differs from a manifest, each list sorted by path."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(expected: Iterable[FileEntry], actual: Iterable[FileEntry]) -> Diff:
    """Files added (in ``actual`` only), removed (in ``expected`` only) and changed (size or
    content differ) between a registered manifest and a directory's."""
    want = {e.path: e for e in expected}
    have = {e.path: e for e in actual}
    return Diff(
        added=sorted(have.keys() - want.keys()),
        removed=sorted(want.keys() - have.keys()),
        changed=sorted(p for p in want.keys() & have.keys() if want[p] != have[p]),
    )


def file_proof(
    entries: Sequence[FileEntry], path: str, *, resource: str, name: str
) -> dict[str, Any]:
    """The proof document of one file: its leaf and the sibling hashes up to the root."""
    tree = tree_of(entries)
    index = next((i for i, e in enumerate(entries) if e.path == path), None)
    if index is None:
        raise InvalidInputError(f"{path[:80]!r} is not in the data set")
    return {
        "format": PROOF_FORMAT,
        "resource": resource,
        "name": name,
        "root": to_hex(tree.root),
        "leaf_types": list(LEAF_TYPES),
        "leaf": entries[index].leaf(),
        "proof": [to_hex(p) for p in tree.get_proof(index)],
    }


def check_file_proof(proof: Mapping[str, Any], file: Path | None = None) -> list[str]:
    """Problems with a file's proof (none: the file is in the data set of ``root``). With
    ``file``, its bytes must be the leaf's size and SHA-256. The anchoring of ``root`` is
    its receipt's business (the proof document carries it once anchored)."""
    if proof.get("format") != PROOF_FORMAT or list(proof.get("leaf_types", ())) != list(LEAF_TYPES):
        return [f"not a {PROOF_FORMAT} document"]
    try:
        entry = entry_of(
            dict(zip(("path", "size", "sha256"), proof.get("leaf") or [], strict=False))
        )
        inside = verify(proof["root"], LEAF_TYPES, entry.leaf(), list(proof.get("proof") or []))
    except (InvalidInputError, KeyError, TypeError) as exc:
        return [f"malformed proof: {exc}"]
    problems = [] if inside else [f"{entry.path} is not in the data set of root {proof['root']}"]
    if file is not None:
        size, sha = _hash(file, None)
        if (size, sha) != (entry.size, entry.sha256):
            problems.append(
                f"{file} is {size} bytes with SHA-256 {sha}; the data set's {entry.path} is "
                f"{entry.size} bytes with {entry.sha256}"
            )
    return problems
