"""digests.py: known vectors, streaming = one-shot, the hex text form, RFC 8785 canonical JSON."""

from __future__ import annotations

import io
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak as crypto_keccak
from hypothesis import given
from hypothesis import strategies as st

from chainproof.digests import (
    ALGORITHMS,
    DEFAULT_CHUNK_SIZE,
    Algorithm,
    canonical_json,
    check_algorithm,
    hash_bytes,
    hash_file,
    hash_stream,
    keccak256,
    new_hasher,
    parse_digest,
    parse_hex,
    to_hex,
)
from chainproof.errors import InvalidInputError

# (algorithm, message, digest): FIPS 180-2 for SHA-256, GB/T 32905-2016 appendix A for SM3,
# and the Ethereum keccak-256 values everyone checks against.
VECTORS: list[tuple[Algorithm, bytes, str]] = [
    ("sha256", b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("sha256", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
        "sha256",
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ),
    ("sm3", b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    ("sm3", b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ("keccak256", b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    ("keccak256", b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
]


@pytest.mark.parametrize(("algorithm", "message", "expected"), VECTORS)
def test_known_vectors(algorithm: Algorithm, message: bytes, expected: str) -> None:
    assert hash_bytes(message, algorithm).hex() == expected
    assert hash_stream(io.BytesIO(message), algorithm).hex() == expected
    hasher = new_hasher(algorithm)
    for i in range(len(message)):  # byte by byte: update() really is incremental
        hasher.update(message[i : i + 1])
    assert hasher.digest().hex() == expected


def test_every_algorithm_gives_32_bytes() -> None:
    assert set(ALGORITHMS) == {"sha256", "sm3", "keccak256"}
    for algorithm in ALGORITHMS:
        assert len(hash_bytes(b"x", algorithm)) == 32


def test_unknown_algorithm_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="unknown digest algorithm 'md5'"):
        new_hasher("md5")  # type: ignore[arg-type]


@given(st.binary(max_size=2048))
def test_keccak_backends_agree(data: bytes) -> None:
    # keccak256() uses safe-pysha3 when present; pycryptodome is the fallback: same bytes.
    assert keccak256(data) == crypto_keccak.new(data=data, digest_bits=256).digest()


@given(
    data=st.binary(max_size=3000),
    chunk_size=st.integers(min_value=1, max_value=700),
    algorithm=st.sampled_from(ALGORITHMS),
)
def test_streaming_equals_one_shot(data: bytes, chunk_size: int, algorithm: Algorithm) -> None:
    assert hash_stream(io.BytesIO(data), algorithm, chunk_size=chunk_size) == hash_bytes(
        data, algorithm
    )


class _ReadOnly:
    """A stream with read() but no readinto(), like some upload wrappers."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)


@given(data=st.binary(max_size=1000), chunk_size=st.integers(min_value=1, max_value=97))
def test_stream_without_readinto(data: bytes, chunk_size: int) -> None:
    stream: Any = _ReadOnly(data)
    assert hash_stream(stream, "sm3", chunk_size=chunk_size) == hash_bytes(data, "sm3")


def test_stream_continues_from_current_position() -> None:
    stream = io.BytesIO(b"headerabc")
    stream.seek(6)
    assert hash_stream(stream, "sha256").hex() == VECTORS[1][2]


def test_bad_chunk_size() -> None:
    with pytest.raises(InvalidInputError, match="chunk_size"):
        hash_stream(io.BytesIO(b""), "sha256", chunk_size=0)


def test_hash_file_streams_a_large_file(tmp_path: Path) -> None:
    # Past several chunks and not a multiple of the chunk size.
    data = bytes(range(256)) * 20_000 + b"tail"
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    for algorithm in ALGORITHMS:
        assert hash_file(path, algorithm, chunk_size=65_536) == hash_bytes(data, algorithm)
        assert hash_file(str(path), algorithm) == hash_bytes(data, algorithm)


# --- hex text form -------------------------------------------------------------------------

DIGEST = bytes.fromhex(VECTORS[1][2])


def test_to_hex_is_0x_lowercase() -> None:
    assert to_hex(DIGEST) == "0x" + VECTORS[1][2]
    assert to_hex(b"\xab\xcd") == "0xabcd"


@pytest.mark.parametrize(
    "text",
    [
        "0x" + DIGEST.hex(),
        DIGEST.hex(),
        "0x" + DIGEST.hex().upper(),
        "0X" + DIGEST.hex(),
        DIGEST.hex().upper(),
        f"  0x{DIGEST.hex()}\n",  # pasted with a newline
    ],
)
def test_parse_digest_accepts(text: str) -> None:
    assert parse_digest(text, "sha256") == DIGEST


@given(st.binary(min_size=32, max_size=32), st.booleans(), st.booleans())
def test_parse_digest_round_trips(digest: bytes, prefix: bool, upper: bool) -> None:
    body = digest.hex().upper() if upper else digest.hex()
    assert parse_digest(("0x" if prefix else "") + body, "keccak256") == digest
    assert parse_digest(to_hex(digest), "sm3") == digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x" + DIGEST.hex()[:-2], r"sha256 digest must be 32 bytes \(64 hex digits\), got 31"),
        (DIGEST.hex() + "00", "got 33 bytes"),
        ("", "got 0 bytes"),
        ("0x" + "g" * 64, "not hexadecimal"),
        ("0x" + DIGEST.hex()[:30] + " " + DIGEST.hex()[30:], "not hexadecimal"),
        ("0x" + DIGEST.hex()[:-1], "odd number of hex digits"),
        ("0x0x" + DIGEST.hex(), "not hexadecimal"),
    ],
)
def test_parse_digest_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_digest(text, "sha256")


def test_parse_digest_rejects_non_strings_and_unknown_algorithms() -> None:
    with pytest.raises(InvalidInputError, match="must be a hex string"):
        parse_digest(DIGEST, "sha256")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="unknown digest algorithm"):
        parse_digest(DIGEST.hex(), "sha1")  # type: ignore[arg-type]


def test_parse_hex_without_size() -> None:
    assert parse_hex("0x") == b""
    assert parse_hex("0xABcd", what="salt") == b"\xab\xcd"
    with pytest.raises(InvalidInputError, match="salt must be 2 bytes"):
        parse_hex("0xab", size=2, what="salt")


# --- RFC 8785 canonical JSON ----------------------------------------------------------------


def test_rfc8785_section_3_2_2_example() -> None:
    # RFC 8785 §3.2.2: whitespace, number forms and string escapes.
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_key_order() -> None:
    # Keys sort by UTF-16 code units: the emoji's surrogates (D83D) come before U+FB33.
    source = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = [k for k in json.loads(canonical_json(source))]
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


# RFC 8785 appendix B: IEEE 754 bit patterns and their canonical text.
NUMBER_VECTORS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), NUMBER_VECTORS)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(number) == expected.encode()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"a": [1.0, math.nan]}])
def test_nan_and_infinity_are_invalid_input(bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="cannot canonicalize JSON"):
        canonical_json(bad)


@pytest.mark.parametrize("bad", [2**53, -(2**53), {1: "non-string key"}, {"set": {1, 2}}])
def test_unrepresentable_values_are_invalid_input(bad: Any) -> None:
    with pytest.raises(InvalidInputError):
        canonical_json(bad)


def test_integers_and_unicode() -> None:
    assert canonical_json({"b": 2**53 - 1, "a": -0.0, "c": 10.0}) == (
        b'{"a":0,"b":9007199254740991,"c":10}'
    )
    # Non-ASCII stays raw UTF-8; only controls, quote and backslash are escaped.
    assert canonical_json(["存证", "\u2028", "\x1f"]) == '["存证","\u2028","\\u001f"]'.encode()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def _parse_int_as_javascript(text: str) -> int | float:
    # A float >= 2**53 canonicalises to integer digits (as in ECMAScript); JavaScript reads
    # them back as that double, Python as an int outside the safe range. Read as JS does.
    n = int(text)
    return n if abs(n) <= 2**53 - 1 else float(n)


@given(JSON_VALUES)
def test_canonical_json_round_trips_and_is_a_fixed_point(value: Any) -> None:
    text = canonical_json(value)
    parsed = json.loads(text, parse_int=_parse_int_as_javascript)
    assert parsed == value
    assert canonical_json(parsed) == text


@given(st.dictionaries(st.text(max_size=8), st.integers(0, 9), max_size=8))
def test_canonical_json_ignores_key_insertion_order(value: dict[str, int]) -> None:
    assert canonical_json(dict(reversed(list(value.items())))) == canonical_json(value)


# --- the streaming path, observed (issue 27: a whole-file read must not pass) ----------------


class _Zeros(io.RawIOBase):
    """``size`` zero bytes read through ``readinto``, ``at_most`` bytes per call (short reads,
    as pipes and sockets give); records each buffer length it was offered."""

    def __init__(self, size: int, *, at_most: int | None = None) -> None:
        self._left = size
        self._at_most = at_most
        self.offered: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.offered.append(len(buffer))
        n = min(len(buffer), self._left, self._at_most or len(buffer))
        buffer[:n] = bytes(n) if n < 4096 else memoryview(_ZERO_PAGE)[:n]
        self._left -= n
        return n

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("hash_stream must refill one buffer with readinto, not read()")


_ZERO_PAGE = bytes(1 << 20)


def test_hashing_a_large_stream_keeps_memory_flat() -> None:
    """64 MiB through the default 1 MiB chunks: the peak of new allocations stays near one
    chunk, far below the input (a whole-stream read would allocate all 64 MiB)."""
    import tracemalloc

    size = 64 << 20
    expected = hashlib_sha256_of_zeros(size)
    stream = _Zeros(size)
    tracemalloc.start()
    try:
        digest = hash_stream(stream, "sha256")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == expected
    assert peak < 4 << 20, f"peak allocation {peak} bytes for a {size}-byte stream"
    # One buffer of the default chunk size, offered again and again.
    assert set(stream.offered) == {DEFAULT_CHUNK_SIZE}
    assert len(stream.offered) == size // DEFAULT_CHUNK_SIZE + 1  # the last call reads 0


def hashlib_sha256_of_zeros(size: int) -> bytes:
    import hashlib

    h = hashlib.sha256()
    for _ in range(size // len(_ZERO_PAGE)):
        h.update(_ZERO_PAGE)
    h.update(bytes(size % len(_ZERO_PAGE)))
    return h.digest()


def test_stream_offers_buffers_of_chunk_size_and_survives_short_reads() -> None:
    stream = _Zeros(10_000, at_most=1)  # one byte per call: a 1-byte read is not the end
    assert hash_stream(stream, "keccak256", chunk_size=4096) == hash_bytes(
        bytes(10_000), "keccak256"
    )
    assert set(stream.offered) == {4096}
    assert len(stream.offered) == 10_001


class _ReadOnlyRecording(_ReadOnly):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        return super().read(size)


def test_stream_without_readinto_is_read_chunk_by_chunk() -> None:
    stream = _ReadOnlyRecording(b"x" * 1000)
    digest = hash_stream(stream, "sha256", chunk_size=300)  # type: ignore[arg-type]
    assert digest == hash_bytes(b"x" * 1000, "sha256")
    assert stream.asked == [300] * 5  # 300, 300, 300, 100, then b"" ends it


def test_chunk_size_of_one_is_allowed() -> None:
    assert hash_stream(io.BytesIO(b"abc"), "sha256", chunk_size=1).hex() == VECTORS[1][2]
    with pytest.raises(InvalidInputError, match=r"^chunk_size must be positive, got -1$"):
        hash_stream(io.BytesIO(b"abc"), "sha256", chunk_size=-1)


class _NonBlocking(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> None:
        return None


def test_non_blocking_stream_without_data_is_refused_not_truncated() -> None:
    with pytest.raises(InvalidInputError, match=r"^stream is non-blocking and had no data ready$"):
        hash_stream(_NonBlocking(), "sha256")


def test_hash_file_reads_unbuffered_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert hash_file(path, "sha256", chunk_size=1).hex() == VECTORS[1][2]
    with pytest.raises(InvalidInputError, match="chunk_size must be positive, got 0"):
        hash_file(path, "sha256", chunk_size=0)


# --- what users read: the exact wording of each refusal --------------------------------------


def test_unknown_algorithm_message_lists_the_choices() -> None:
    with pytest.raises(InvalidInputError) as info:
        check_algorithm("md5")
    assert info.value.message == (
        "unknown digest algorithm 'md5': expected one of sha256, sm3, keccak256"
    )
    assert info.value.details == {"algorithm": "md5"}
    assert check_algorithm("sm3") == "sm3"


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        (b"\x01", {}, "value must be a hex string, got bytes"),
        (None, {"what": "salt"}, "salt must be a hex string, got NoneType"),
        ("0xzz", {}, "value is not hexadecimal (digits 0-9 and a-f, optional 0x): '0xzz'"),
        ("0xabc", {"what": "root"}, "root has an odd number of hex digits (3): '0xabc'"),
        (
            "0xabcd",
            {"size": 3, "what": "salt"},
            "salt must be 3 bytes (6 hex digits), got 2 bytes (4 hex digits)",
        ),
    ],
)
def test_parse_hex_messages(text: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_hex(text, **kwargs)
    assert info.value.message == message
    if isinstance(text, str):
        assert info.value.details == {"value": text}


def test_parse_hex_prefix_and_case() -> None:
    assert parse_hex("0X0a") == b"\x0a"
    assert parse_hex("0a") == b"\x0a"
    with pytest.raises(InvalidInputError, match="not hexadecimal"):
        parse_hex("x0")
    assert parse_hex("0x00", size=1) == b"\x00"
    assert parse_digest("0x" + "AB" * 32, "sha256") == b"\xab" * 32


def test_parse_digest_names_the_algorithm() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_digest("0x12", "keccak256")
    assert info.value.message == (
        "keccak256 digest must be 32 bytes (64 hex digits), got 1 bytes (2 hex digits)"
    )


def test_canonical_json_error_messages() -> None:
    with pytest.raises(InvalidInputError) as info:
        canonical_json(math.nan)
    assert info.value.message.startswith("cannot canonicalize JSON: ")
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidInputError) as info:
        canonical_json(deep)
    assert info.value.message == "cannot canonicalize JSON: nested too deeply"


def test_a_python_without_sm3_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenSSL builds without SM3 exist (FIPS mode): sm3 must fail with a sentence, not a
    ValueError from hashlib, while the other algorithms keep working."""
    import hashlib

    real_new = hashlib.new

    def no_sm3(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.lower() == "sm3":
            raise ValueError(f"unsupported hash type {name}")
        return real_new(name, *args, **kwargs)

    monkeypatch.setattr(hashlib, "new", no_sm3)
    with pytest.raises(InvalidInputError) as info:
        new_hasher("sm3")
    assert info.value.message == "this Python's OpenSSL has no SM3: sm3 digests are unavailable"
    assert info.value.details == {"algorithm": "sm3"}
    assert hash_bytes(b"abc", "sha256").hex() == VECTORS[1][2]
