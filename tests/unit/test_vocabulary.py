"""The shared vocabulary (chainproof/vocabulary.py): what a chain setting names, and that
every layer uses the one list of algorithms and verdicts."""

from __future__ import annotations

import pytest

from chainproof import digests, receipts
from chainproof.api import schemas
from chainproof.subsidy import anchoring
from chainproof.vocabulary import (
    ALGORITHMS,
    MANAGED_CHAINS,
    VERDICTS,
    Algorithm,
    ChainKind,
    SaltSource,
    Verdict,
    chain_kind,
)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("embedded", ChainKind.EMBEDDED),
        (" Anvil ", ChainKind.ANVIL),
        ("GANACHE", ChainKind.GANACHE),
        ("http://127.0.0.1:8545", ChainKind.URL),
        ("https://user:token@rpc.example.org", ChainKind.URL),
        ("url", ChainKind.URL),
        ("besu", ChainKind.URL),  # not a node kind: make_node refuses it as a URL
    ],
)
def test_chain_kind_names_what_the_setting_is(spec: str, kind: ChainKind) -> None:
    assert chain_kind(spec) is kind
    assert (kind in MANAGED_CHAINS) == (kind in (ChainKind.ANVIL, ChainKind.GANACHE))


def test_the_kinds_compare_as_the_strings_nodes_report() -> None:
    assert ChainKind.EMBEDDED == "embedded" and f"{ChainKind.ANVIL}" == "anvil"


def test_one_list_of_algorithms_and_verdicts_everywhere() -> None:
    assert ALGORITHMS == ("sha256", "sm3", "keccak256")
    assert VERDICTS == ("anchored", "pending", "not_found", "revoked", "chain_mismatch")
    assert digests.Algorithm is Algorithm and digests.ALGORITHMS is ALGORITHMS
    assert schemas.Verdict is Verdict
    assert anchoring.Verdict is Verdict
    assert receipts.SaltSource is SaltSource
