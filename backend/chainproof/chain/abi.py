"""The registries' interfaces as a verifier needs them, said once: ABI fragments, the
``Anchored`` topic and the selectors, all derived from the compiled interfaces.

``interfaces.json`` beside this module is the compiler's ABI of ``IEvidenceRegistry`` and
``IEvidenceRegistryV1`` (``python -m chainproof.chain.compiler`` writes it
from ``compile_contracts``; a test keeps it equal to a fresh compile), so verifying a receipt needs
no compiler, no node and nothing of the server: this module imports only ``eth_utils``.
The receipt page gets its topic and selectors from :func:`receipt_page_constants` (served in
the page), the batcher and ``receipts`` their topic and fragments from here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Final

from eth_utils import keccak

INTERFACES_FILE: Final = Path(__file__).with_name("interfaces.json")
INTERFACES: Final = ("IEvidenceRegistry", "IEvidenceRegistryV1")
# What a verifier calls, in this order (the receipt page reads getAnchor's outputs by place).
_VERIFIER_V2: Final = (
    ("function", "version"),
    ("function", "getAnchor"),
    ("function", "isLeafRevoked"),
    ("function", "verify"),
    ("event", "Anchored"),
)
_VERIFIER_V1: Final = _VERIFIER_V2[1:]

ABI = list[dict[str, Any]]


@cache
def interfaces() -> dict[str, ABI]:
    """The compiled ABI of each interface in :data:`INTERFACES` (from ``interfaces.json``)."""
    loaded: dict[str, ABI] = json.loads(INTERFACES_FILE.read_text(encoding="utf-8"))
    return loaded


def fragment(interface: str, kind: str, name: str) -> dict[str, Any]:
    """The ABI entry ``name`` of type ``kind`` (``function``, ``event``) of ``interface``."""
    [entry] = [e for e in interfaces()[interface] if e["type"] == kind and e.get("name") == name]
    return entry


def signature(entry: dict[str, Any]) -> str:
    """``name(type,…)`` of a function or event entry (tuples as ``(…)``)."""

    def canonical(param: dict[str, Any]) -> str:
        kind = str(param["type"])
        if kind.startswith("tuple"):
            inner = ",".join(canonical(c) for c in param["components"])
            return f"({inner}){kind[len('tuple') :]}"
        return kind

    return f"{entry['name']}({','.join(canonical(p) for p in entry['inputs'])})"


def selector(entry: dict[str, Any]) -> bytes:
    """The 4-byte function selector of ``entry``."""
    return keccak(text=signature(entry))[:4]


def topic(entry: dict[str, Any]) -> bytes:
    """The topic 0 of an event entry: keccak256 of its signature."""
    return keccak(text=signature(entry))


VERIFIER_ABI: Final[ABI] = [fragment("IEvidenceRegistry", k, n) for k, n in _VERIFIER_V2]
# Version 1 (contracts/v1/IEvidenceRegistryV1.sol): one anchor per root. Its receipts still
# verify after an upgrade, against the v1 registry.
VERIFIER_ABI_V1: Final[ABI] = [fragment("IEvidenceRegistryV1", k, n) for k, n in _VERIFIER_V1]
ANCHORED_EVENT_ABI: Final = fragment("IEvidenceRegistry", "event", "Anchored")
ANCHORED_TOPIC: Final = topic(ANCHORED_EVENT_ABI)
VERSION_SELECTOR: Final = selector(fragment("IEvidenceRegistry", "function", "version"))


def receipt_page_constants() -> dict[str, str]:
    """The topic and selectors ``static/js/receipt.js`` sends and matches, as 0x hex, by the
    names the script reads (``*_V1`` for the version 1 registry)."""
    out = {"ANCHORED_TOPIC": "0x" + ANCHORED_TOPIC.hex()}
    names = {"version": "VERSION", "getAnchor": "GET_ANCHOR", "isLeafRevoked": "IS_LEAF_REVOKED"}
    names["verify"] = "VERIFY"
    for abi, suffix in ((VERIFIER_ABI, ""), (VERIFIER_ABI_V1, "_V1")):
        for entry in abi:
            if entry["type"] == "function":
                out[names[entry["name"]] + suffix] = "0x" + selector(entry).hex()
    return out
