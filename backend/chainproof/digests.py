"""Document digests (SHA-256, SM3, keccak-256), their text form, and canonical JSON.

A digest is what goes into an evidence leaf, so it must be the same bytes whoever computes
it: files are hashed as a stream in flat memory (a 4 GB scan costs one 1 MiB buffer), the
text form is always ``0x`` + lowercase hex, and structured records are hashed in their
RFC 8785 (JCS) canonical form so two programs that agree on the data agree on the hash.

All three algorithms give 32 bytes, which is what the on-chain ``bytes32`` leaf field holds.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any, BinaryIO, Final, Protocol

import rfc8785

from chainproof.errors import InvalidInputError
from chainproof.vocabulary import ALGORITHMS, Algorithm, Hash32

DIGEST_SIZE: Final = 32
DEFAULT_CHUNK_SIZE: Final = 1 << 20
_HEX_DIGITS: Final = re.compile("[0-9a-fA-F]*")


class Hasher(Protocol):
    """The streaming interface shared by hashlib, pysha3 and pycryptodome hash objects."""

    def update(self, data: bytes | bytearray | memoryview, /) -> Any: ...

    def digest(self) -> bytes: ...


# keccak-256 is Ethereum's pre-standard SHA-3 (padding 0x01, not 0x06), so hashlib's
# sha3_256 gives different bytes and OpenSSL 3.0 has no KECCAK-256. safe-pysha3 is a C
# extension (a pinned dependency; eth-tester[py-evm] wants it too) on CPython: about 4x
# faster than pycryptodome's ctypes/cffi wrapper, which matters to Merkle trees (three
# keccaks per leaf). pycryptodome (a dependency of eth-account) is the portable fallback.
try:
    from sha3 import keccak_256 as _pysha3_keccak_256

    def _new_keccak() -> Hasher:
        return _pysha3_keccak_256()

    def keccak256(data: bytes | bytearray | memoryview) -> Hash32:
        """keccak-256 of ``data`` in one call (the Merkle tree's hot path)."""
        return _pysha3_keccak_256(data).digest()

    KECCAK_BACKEND: str = "safe-pysha3"
except ImportError:  # pragma: no cover - exercised only where safe-pysha3 is absent
    from Crypto.Hash import keccak as _crypto_keccak

    def _new_keccak() -> Hasher:
        return _crypto_keccak.new(digest_bits=256)

    def keccak256(data: bytes | bytearray | memoryview) -> Hash32:
        """keccak-256 of ``data`` in one call (the Merkle tree's hot path)."""
        return _crypto_keccak.new(data=data, digest_bits=256).digest()

    KECCAK_BACKEND = "pycryptodome"


def check_algorithm(algorithm: str) -> Algorithm:
    """Returns ``algorithm`` typed as :data:`Algorithm`, or raises InvalidInputError."""
    if algorithm not in ALGORITHMS:
        raise InvalidInputError(
            f"unknown digest algorithm {algorithm!r}: expected one of {', '.join(ALGORITHMS)}",
            algorithm=algorithm,
        )
    return algorithm


def new_hasher(algorithm: Algorithm) -> Hasher:
    """A fresh streaming hash object (``update()``/``digest()``) for ``algorithm``."""
    algorithm = check_algorithm(algorithm)
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "sm3":
        # SM3 (GB/T 32905) comes from OpenSSL; a Python without it cannot serve sm3 evidence.
        try:
            return hashlib.new("sm3")
        except ValueError as exc:  # pragma: no cover - depends on the OpenSSL build
            raise InvalidInputError(
                "this Python's OpenSSL has no SM3: sm3 digests are unavailable", algorithm="sm3"
            ) from exc
    return _new_keccak()


def hash_stream(
    stream: BinaryIO, algorithm: Algorithm, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    """Digest of everything left in ``stream``, read ``chunk_size`` bytes at a time.

    Memory stays flat whatever the size: one buffer is allocated and refilled with
    ``readinto``, so no per-chunk ``bytes`` objects are created. Streams without
    ``readinto`` (some wrappers) fall back to ``read``.
    """
    if chunk_size <= 0:
        raise InvalidInputError(f"chunk_size must be positive, got {chunk_size}")
    hasher = new_hasher(algorithm)
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        while chunk := stream.read(chunk_size):
            hasher.update(chunk)
        return hasher.digest()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    # readinto returns 0 at end of stream (None only for non-blocking streams with no data
    # yet, which a file or upload never is; treating it as the end would truncate, so fail).
    while True:
        n = readinto(view)
        if n is None:
            raise InvalidInputError("stream is non-blocking and had no data ready")
        if n == 0:
            break
        hasher.update(view[:n])
    return hasher.digest()


def hash_bytes(data: bytes | bytearray | memoryview, algorithm: Algorithm) -> Hash32:
    """Digest of ``data`` held in memory."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


def hash_file(
    path: str | os.PathLike[str], algorithm: Algorithm, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    """Digest of the file at ``path``, streamed (see :func:`hash_stream`)."""
    with open(path, "rb", buffering=0) as stream:
        return hash_stream(stream, algorithm, chunk_size=chunk_size)


def to_hex(data: bytes) -> str:
    """``0x`` + lowercase hex: the one text form of digests, salts, roots and proofs."""
    return "0x" + bytes(data).hex()


def parse_hex(text: str, *, size: int | None = None, what: str = "value") -> bytes:
    """Bytes from hex ``text`` (with or without ``0x``, any case); exactly ``size`` bytes if set.

    Raises InvalidInputError naming ``what`` and saying what is wrong with it.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be a hex string, got {type(text).__name__}")
    body = text.strip()
    if body[:2] in ("0x", "0X"):
        body = body[2:]
    if not _HEX_DIGITS.fullmatch(body):
        raise InvalidInputError(
            f"{what} is not hexadecimal (digits 0-9 and a-f, optional 0x): {text!r}", value=text
        )
    if len(body) % 2:
        raise InvalidInputError(
            f"{what} has an odd number of hex digits ({len(body)}): {text!r}", value=text
        )
    data = bytes.fromhex(body)
    if size is not None and len(data) != size:
        raise InvalidInputError(
            f"{what} must be {size} bytes ({2 * size} hex digits), got {len(data)} bytes "
            f"({len(body)} hex digits)",
            value=text,
        )
    return data


def parse_digest(text: str, algorithm: Algorithm) -> Hash32:
    """The 32 digest bytes of ``text`` for ``algorithm`` (``0x`` optional, any case)."""
    algorithm = check_algorithm(algorithm)
    return parse_hex(text, size=DIGEST_SIZE, what=f"{algorithm} digest")


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 (JSON Canonicalization Scheme) UTF-8 bytes of ``obj``.

    Keys sorted by UTF-16 code units, no whitespace, ECMAScript number forms, minimal string
    escapes. NaN and infinities have no JSON form, and integers beyond ±(2**53 - 1) would be
    rounded by other JSON readers (I-JSON, RFC 7493): both raise InvalidInputError, so pass
    big amounts as strings.
    """
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise InvalidInputError(f"cannot canonicalize JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInputError("cannot canonicalize JSON: nested too deeply") from exc
