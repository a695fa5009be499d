"""The words every layer shares, said once: hash algorithms, verdicts, 32-byte hashes, where
salts come from and what kind of chain a setting names. Pure (standard library only), so
the verifier, the services, the API schemas and the CLI all import them from here.

``Algorithm`` and ``Verdict`` are ``Literal`` types rather than ``StrEnum`` classes on
purpose: pydantic writes a ``Literal`` inline as ``{"enum": [...]}`` in the OpenAPI document
and in ``docs/receipt.schema.json``, where an enum class would become a ``$ref`` to a new
component (a changed published schema); the JSON values are the same strings either way,
and mypy checks every use of a ``Literal`` as strictly. ``ALGORITHMS`` and ``VERDICTS`` are
their values, in order, for code that lists or checks them.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Final, Literal, TypeAlias, get_args

Algorithm = Literal["sha256", "sm3", "keccak256"]
ALGORITHMS: Final[tuple[Algorithm, ...]] = get_args(Algorithm)

# What the index and the chain say about a digest, a receipt's anchor or a document's.
Verdict = Literal["anchored", "pending", "not_found", "revoked", "chain_mismatch"]
VERDICTS: Final[tuple[Verdict, ...]] = get_args(Verdict)

# A 32-byte hash (a digest, a leaf, a Merkle node or root, a salt) as bytes; text forms are
# 0x + 64 lowercase hex digits (``digests.to_hex``). An alias, not a NewType: it names the
# size where hashes cross modules, without a wrapping call in the hot paths that make them.
Hash32: TypeAlias = bytes


class ChainKind(StrEnum):
    """What the chain setting (``CHAINPROOF_CHAIN``) names: a node kind, or an http(s) URL."""

    EMBEDDED = "embedded"  # eth-tester + py-evm in this process
    ANVIL = "anvil"  # managed by ChainProof
    GANACHE = "ganache"  # managed by ChainProof
    URL = "url"  # any JSON-RPC endpoint (not started, not stopped by us)


MANAGED_CHAINS: Final = frozenset({ChainKind.ANVIL, ChainKind.GANACHE})
_NODE_KINDS: Final = frozenset({ChainKind.EMBEDDED, ChainKind.ANVIL, ChainKind.GANACHE})


def chain_kind(spec: str) -> ChainKind:
    """The kind of the chain setting ``spec`` (case and spaces aside); anything that is not a
    node kind is a URL, which ``chain.nodes.make_node`` then checks."""
    kind = spec.strip().lower()
    return ChainKind(kind) if kind in _NODE_KINDS else ChainKind.URL


# Where salts come from: 32 random bytes a call (``receipts.random_salt`` in production;
# tests inject their own to get known leaves).
SaltSource = Callable[[], Hash32]
