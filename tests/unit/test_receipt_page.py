"""What static/js/receipt.js uses agrees with the contract and with chainproof.receipts.

The page asks a node with calldata it builds and matches the Anchored log by its topic: each
selector and topic it is served (``RECEIPT_PAGE_CONSTANTS``, from the compiled interfaces)
must be keccak256 of the signature the registry's ABI declares, and the checks must be
verify_receipt's, in its order, each with a name in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

import chainproof
from chainproof import receipts
from chainproof.digests import ALGORITHMS
from chainproof.web import i18n, i18n_receipt
from chainproof.web.routes import RECEIPT_PAGE_CONSTANTS

WEB = Path(chainproof.__file__).parent / "web"
JS = (WEB / "static/js/receipt.js").read_text(encoding="utf-8")


def js_const(name: str) -> str:
    """A constant the receipt page serves to its script (never copied into the script)."""
    value = RECEIPT_PAGE_CONSTANTS[name]
    assert isinstance(value, str) and value.startswith("0x"), name
    assert name in JS, f"receipt.js does not read {name}"
    return value


def test_the_script_copies_no_topic_selector_or_algorithm() -> None:
    for name, value in RECEIPT_PAGE_CONSTANTS.items():
        for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if text.startswith("0x"):
                assert text not in JS, f"receipt.js copies {name}"
    assert "'sha256', 'sm3'" not in JS and "'string,bytes32,bytes32'" not in JS
    page = (WEB / "templates/receipt.html").read_text(encoding="utf-8")
    assert 'id="receipt-constants">{{ receipt_constants|tojson }}' in page
    assert RECEIPT_PAGE_CONSTANTS["ALGORITHMS"] == list(ALGORITHMS)
    assert RECEIPT_PAGE_CONSTANTS["LEAF_TYPES"] == list(receipts.LEAF_TYPES)


def signature(name: str, abi: list[dict[str, Any]] = receipts.VERIFIER_ABI) -> str:
    """``name(type,…)`` of a function or event of the verifier ABI (v2's by default)."""
    [entry] = [e for e in abi if e["name"] == name]
    return f"{name}({','.join(i['type'] for i in entry['inputs'])})"


V1 = receipts.VERIFIER_ABI_V1


@pytest.mark.parametrize(
    ("const", "function", "abi", "expected"),
    [
        ("VERSION", "version", receipts.VERIFIER_ABI, "version()"),
        ("GET_ANCHOR", "getAnchor", receipts.VERIFIER_ABI, "getAnchor(address,bytes32)"),
        (
            "IS_LEAF_REVOKED",
            "isLeafRevoked",
            receipts.VERIFIER_ABI,
            "isLeafRevoked(address,bytes32,bytes32)",
        ),
        ("VERIFY", "verify", receipts.VERIFIER_ABI, "verify(address,bytes32,bytes32,bytes32[])"),
        ("GET_ANCHOR_V1", "getAnchor", V1, "getAnchor(bytes32)"),
        ("IS_LEAF_REVOKED_V1", "isLeafRevoked", V1, "isLeafRevoked(bytes32,bytes32)"),
        ("VERIFY_V1", "verify", V1, "verify(bytes32,bytes32,bytes32[])"),
    ],
)
def test_selectors_are_keccak_of_the_signatures(
    const: str, function: str, abi: list[dict[str, Any]], expected: str
) -> None:
    assert signature(function, abi) == expected
    assert js_const(const) == "0x" + keccak(text=expected)[:4].hex()


def test_anchored_topic_is_keccak_of_the_event_signature() -> None:
    sig = signature("Anchored")
    assert sig == "Anchored(bytes32,address,uint32,bytes32,uint64)"
    assert js_const("ANCHORED_TOPIC") == "0x" + keccak(text=sig).hex()
    assert js_const("ANCHORED_TOPIC") == "0x" + receipts.ANCHORED_TOPIC.hex()


def test_the_documented_selectors_are_the_pages() -> None:
    doc = (Path(chainproof.__file__).parents[2] / "docs/receipt.md").read_text(encoding="utf-8")
    for const in (
        "VERSION",
        "GET_ANCHOR",
        "IS_LEAF_REVOKED",
        "VERIFY",
        "GET_ANCHOR_V1",
        "IS_LEAF_REVOKED_V1",
        "VERIFY_V1",
        "ANCHORED_TOPIC",
    ):
        assert js_const(const) in doc, const


def test_decoded_outputs_are_in_the_order_the_page_reads_them() -> None:
    [get_anchor] = [e for e in receipts.VERIFIER_ABI if e["name"] == "getAnchor"]
    fields = [(c["name"], c["type"]) for c in get_anchor["outputs"][0]["components"]]
    assert fields == [
        ("submitter", "address"),
        ("timestamp", "uint64"),
        ("leafCount", "uint32"),
        ("blockNumber", "uint64"),
        ("revoked", "bool"),
    ]
    assert "[submitterWord, timestamp, leafCount, blockNumber, revoked]" in JS
    [event] = [e for e in receipts.VERIFIER_ABI if e["name"] == "Anchored"]
    data = [i["name"] for i in event["inputs"] if not i["indexed"]]
    assert data == ["leafCount", "metadataHash", "timestamp"]
    assert "[leafCount, , timestamp] = words(log.data, 3)" in JS


def test_the_checks_are_verify_receipts_in_its_order() -> None:
    start = JS.index("const CHECKS = [") + len("const CHECKS = [")  # no regex: redos_check
    listed = JS[start : JS.index("];", start)]
    assert tuple(re.findall(r"'(\w+)'", listed)) == receipts.ONLINE_CHECKS
    assert ("document", *receipts.ONLINE_CHECKS) == i18n_receipt.CHECK_NAMES
    for name in i18n_receipt.CHECK_NAMES:
        assert re.search(rf"\basync {name}\(\)", JS), name
        for lang in i18n.LANGS:
            assert i18n.js_messages(lang)[f"receipt_page.check.{name}"], (lang, name)


def test_english_revocations_start_with_revoked_as_the_python_reason_does() -> None:
    for key in ("anchor.revoked", "leaf.revoked"):
        assert i18n.EN[f"js.receipt_page.{key}"].startswith("revoked: ")
        assert i18n.ZH[f"js.receipt_page.{key}"].startswith("已撤销")


def test_the_page_has_a_rule_and_loads_no_other_script() -> None:
    from chainproof.api.authz import EVERYONE, rule_for

    rule = rule_for("GET", "/receipt")
    assert rule is not None and rule.roles == EVERYONE
    template = (WEB / "templates/receipt.html").read_text(encoding="utf-8")
    scripts = re.findall(r"static\('js/([\w.]+)'\)", template)
    assert scripts == ["receipt.js"]
    # and hash-wasm's keccak, vendored and pinned by its integrity hash (web/vendor.py)
    assert "vendor/hash-wasm/keccak.umd.min.js" in template and "integrity(k)" in template
    # The page's own script never calls our API (common.js's api helpers are not used).
    assert "C.api" not in JS and "apiMaybeKey" not in JS and "/api/" not in JS


def _js_list(name: str) -> list[str]:
    """The string list ``const NAME = [...]`` of receipt.js."""
    start = JS.index(f"const {name} = [") + len(f"const {name} = [")
    return [item.strip().strip("'") for item in JS[start : JS.index("]", start)].split(",")]


def test_the_page_knows_every_field_a_receipt_or_trust_anchor_may_carry() -> None:
    """The page refuses a field it does not know (a receipt or anchor it cannot read whole is
    not checked), so a field the models gain must reach its lists: a dual-anchored receipt and
    its deployment's anchor (``other_anchors``, ``other_chains``) were refused when they did not."""
    from chainproof.trust import TrustAnchor

    assert set(receipts.Receipt.model_fields) == set(_js_list("KEYS"))
    anchor_keys = set(_js_list("ANCHOR_KEYS")) | set(_js_list("OPTIONAL_ANCHOR_KEYS"))
    assert set(TrustAnchor.model_fields) == anchor_keys
