"""Public ids (``public_ids.py``): RFC 9562 UUIDv7, canonical text, strict parsing."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from chainproof.public_ids import PUBLIC_ID_LEN, new_public_id, new_public_ids, parse_public_id


def test_ids_are_rfc_9562_version_7_with_the_time_in_front() -> None:
    now_ms = 1_735_689_600_123
    ids = new_public_ids(1000, now_ms=now_ms)
    assert len(set(ids)) == 1000
    for text in ids:
        value = uuid.UUID(text)
        assert str(value) == text and len(text) == PUBLIC_ID_LEN  # canonical: lowercase
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert value.int >> 80 == now_ms


def test_every_random_bit_varies() -> None:
    """74 random bits per id (rand_a and rand_b): none of them is stuck."""
    values = [uuid.UUID(i).int for i in new_public_ids(2000, now_ms=0)]
    rand = [(v >> 64 & 0xFFF) << 62 | v & (2**62 - 1) for v in values]
    ones = zeros = 0
    for r in rand:
        ones |= r
        zeros |= ~r & (2**74 - 1)
    assert ones == zeros == 2**74 - 1


def test_parse_takes_only_the_canonical_form() -> None:
    good = new_public_id()
    assert parse_public_id(good) == good
    v4 = str(uuid.uuid4())
    for bad in (
        good.upper(),
        "{" + good + "}",
        good.replace("-", ""),
        v4,
        "1",
        "",
        good[:-1] + "g",
        good[:14] + "7" + good[15:19] + "c" + good[20:],  # variant 110: not RFC 9562's
    ):
        assert parse_public_id(bad) is None, bad


@given(st.text(max_size=80))
def test_parse_never_raises(raw: str) -> None:
    assert parse_public_id(raw) in (None, raw)
