"""The draw's pure parts (``draws/selection.py``) against docs/draws.md.

``_from_the_spec`` is a second implementation written from docs/draws.md alone (eth_utils'
keccak, ``json.dumps``), as a third party would: the reference must agree with it.
"""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from chainproof.draws import selection
from chainproof.errors import InvalidInputError

names = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=60, unique=True)
words = st.binary(min_size=32, max_size=32).filter(lambda b: b != bytes(32))


def _from_the_spec(
    candidates: list[str], count: int, block_hash: bytes, secret: bytes
) -> list[str]:
    seed = keccak(block_hash + secret)
    counter = 0

    def below(m: int) -> int:
        nonlocal counter
        while True:
            r = int.from_bytes(keccak(seed + counter.to_bytes(32, "big")), "big")
            counter += 1
            if r < 2**256 - (2**256 % m):
                return r % m

    a = list(candidates)
    for k in range(count):
        j = k + below(len(a) - k)
        a[k], a[j] = a[j], a[k]
    return a[:count]


@given(names, st.data(), words, words)
def test_the_reference_equals_a_reimplementation_from_the_spec(
    candidates: list[str], data: st.DataObject, block_hash: bytes, secret: bytes
) -> None:
    count = data.draw(st.integers(1, len(candidates)))
    seed = selection.seed_of(block_hash, secret)
    chosen = selection.select(candidates, count, seed)
    assert chosen == _from_the_spec(candidates, count, block_hash, secret)
    assert len(chosen) == count and len(set(chosen)) == count and set(chosen) <= set(candidates)


@given(names)
def test_the_candidate_hash_is_keccak_of_json_stringify(candidates: list[str]) -> None:
    # JCS of an array of strings is ECMAScript's JSON.stringify: json.dumps with no spaces,
    # non-ASCII kept (the draw page hashes JSON.stringify(candidates)).
    text = json.dumps(candidates, ensure_ascii=False, separators=(",", ":"))
    assert selection.candidates_hash(candidates) == "0x" + keccak(text.encode()).hex()


def test_the_record_digest_is_keccak_of_the_sorted_record() -> None:
    record = selection.commitment_record(
        draw_id="d",
        title="专家抽取",
        chain_id=31337,
        candidates_hash="0x" + "11" * 32,
        count=2,
        target_block=9,
        secret_commitment="0x" + "22" * 32,
    )
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert selection.record_digest(record) == "0x" + keccak(text.encode()).hex()


def test_the_vector_in_docs_draws_md_stays_fixed() -> None:
    """Pins the algorithm (docs/draws.md, "Test vector"): any change to it would change the
    recomputation of every past draw."""
    candidates = [f"c{i}" for i in range(10)]
    seed = selection.seed_of(bytes(range(32)), bytes(range(32, 64)))
    assert seed.hex() == "002030bde3d4cf89919649775cd71875c4d0ab1708a380e03fefc3a28aa24831"
    assert selection.select(candidates, 4, seed) == ["c2", "c1", "c7", "c8"]
    assert selection.candidates_hash(candidates) == (
        "0xd654285a3d9f10feb34883f5c30f643680f89f395b8ad2abc58eb954d90db1a9"
    )


@given(words, words, words)
def test_another_secret_or_block_gives_another_order(block: bytes, s1: bytes, s2: bytes) -> None:
    candidates = [f"application-{i}" for i in range(50)]
    if s1 != s2:
        a = selection.select(candidates, 10, selection.seed_of(block, s1))
        b = selection.select(candidates, 10, selection.seed_of(block, s2))
        assert a != b  # 50!/40! outcomes: equal by chance ~1e-17


def test_ambiguous_inputs_and_a_zero_block_hash_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="twice"):
        selection.check_candidates(["a", "a"], 1)
    with pytest.raises(InvalidInputError, match="count"):
        selection.check_candidates(["a"], 2)
    with pytest.raises(InvalidInputError, match="count"):
        selection.check_candidates(["a"], 0)
    with pytest.raises(InvalidInputError, match="zero block hash"):
        selection.seed_of(bytes(32), bytes(range(32)))
    with pytest.raises(InvalidInputError):
        selection.secret_commitment(b"short")
