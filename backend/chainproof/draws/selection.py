"""A verifiable random draw, as a pure function of public data (docs/draws.md is the spec).

Everything a third party needs to recompute a draw lives here, with no server, database or
chain access: the candidate-list hash, the secret's commitment, the commitment record that
is anchored on chain before the target block, the seed and the shuffle. The CLI
(``chainproof draw verify``) and the server run this same code; docs/draws.md states it in
words precise enough to reimplement it elsewhere, and a test holds the two to each other.

- ``candidates_hash = keccak256(JCS(candidates))`` (RFC 8785 canonical JSON of the array);
- ``secret_commitment = keccak256(secret)`` (the secret is 32 bytes);
- the record anchored = JCS of :func:`commitment_record`, its digest ``keccak256`` of it;
- ``seed = keccak256(blockhash(target_block) ‖ secret)``;
- the selection: the first ``count`` positions of a Fisher–Yates shuffle of the candidates
  (in their published order), position ``k`` swapped with ``k + u`` where ``u`` is uniform
  in ``[0, n - k)``, drawn from the stream ``keccak256(seed ‖ uint256(i))``, i = 0, 1, …
  with rejection of the top ``2**256 mod (n - k)`` values (no modulo bias).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from chainproof.digests import canonical_json, keccak256
from chainproof.errors import InvalidInputError

DRAW_FORMAT: Final = "chainproof-draw/1"
SECRET_SIZE: Final = 32
MAX_CANDIDATES: Final = 10_000
MAX_CANDIDATE_LEN: Final = 200
MAX_TITLE_LEN: Final = 200
_SPACE: Final = 1 << 256


def _x(data: bytes) -> str:
    return "0x" + data.hex()


def check_candidates(candidates: Sequence[str], count: int) -> None:
    """Refuses what would make a draw ambiguous: duplicates, empty names, count out of range."""
    if not candidates:
        raise InvalidInputError("a draw needs at least one candidate")
    if len(candidates) > MAX_CANDIDATES:
        raise InvalidInputError(f"at most {MAX_CANDIDATES} candidates, got {len(candidates)}")
    seen: set[str] = set()
    for i, c in enumerate(candidates):
        if not c or len(c) > MAX_CANDIDATE_LEN:
            raise InvalidInputError(f"candidate {i} must have 1 to {MAX_CANDIDATE_LEN} characters")
        if c in seen:
            raise InvalidInputError(f"candidate {i} ({c!r}) appears twice")
        seen.add(c)
    if not 1 <= count <= len(candidates):
        raise InvalidInputError(
            f"count must be 1 to {len(candidates)} (the candidates), got {count}"
        )


def candidates_hash(candidates: Sequence[str]) -> str:
    """``keccak256`` of the RFC 8785 form of the candidate array, ``0x`` hex."""
    return _x(keccak256(canonical_json(list(candidates))))


def secret_commitment(secret: bytes) -> str:
    if len(secret) != SECRET_SIZE:
        raise InvalidInputError(f"a draw secret is {SECRET_SIZE} bytes, got {len(secret)}")
    return _x(keccak256(secret))


def commitment_record(
    *,
    draw_id: str,
    title: str,
    chain_id: int,
    candidates_hash: str,
    count: int,
    target_block: int,
    secret_commitment: str,
) -> dict[str, Any]:
    """What is anchored before the target block: everything that fixes the outcome but the
    two unknowns (the target block's hash, and the secret behind its commitment)."""
    return {
        "format": DRAW_FORMAT,
        "id": draw_id,
        "title": title,
        "chain_id": chain_id,
        "candidates_hash": candidates_hash,
        "count": count,
        "target_block": target_block,
        "secret_commitment": secret_commitment,
    }


def record_digest(record: dict[str, Any]) -> str:
    """The digest anchored as evidence (algorithm keccak256): ``keccak256(JCS(record))``."""
    return _x(keccak256(canonical_json(record)))


def seed_of(block_hash: bytes, secret: bytes) -> bytes:
    if len(block_hash) != 32 or len(secret) != SECRET_SIZE:
        raise InvalidInputError("the seed takes a 32-byte block hash and a 32-byte secret")
    if block_hash == bytes(32):
        # What the EVM's BLOCKHASH answers for a block out of its 256-block window: never a
        # real hash, and anyone could predict a seed built on it.
        raise InvalidInputError("a zero block hash is not a block hash")
    return keccak256(block_hash + secret)


class _Stream:
    """``keccak256(seed ‖ uint256_be(i))`` for i = 0, 1, …, as 256-bit integers."""

    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.counter = 0

    def next(self) -> int:
        word = keccak256(self.seed + self.counter.to_bytes(32, "big"))
        self.counter += 1
        return int.from_bytes(word, "big")

    def below(self, n: int) -> int:
        """Uniform in ``[0, n)``: words at or above the largest multiple of n are skipped."""
        limit = _SPACE - (_SPACE % n)
        while True:
            x = self.next()
            if x < limit:
                return x % n


def select(candidates: Sequence[str], count: int, seed: bytes) -> list[str]:
    """The first ``count`` of a forward Fisher–Yates shuffle of ``candidates``, in draw order."""
    check_candidates(candidates, count)
    order = list(candidates)
    stream = _Stream(seed)
    n = len(order)
    for k in range(count):
        j = k + stream.below(n - k)
        order[k], order[j] = order[j], order[k]
    return order[:count]
