"""E-licence credentials (issue 20): issue, present chosen fields, check, with no server."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account

from chainproof.licences.credential import check, did_pkh, issue, present

CHAIN_ID = 31337
ISSUER = Account.from_key("0x" + "11" * 32)  # 广西北部湾电子证照服务有限公司's key (a test key)
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
CLAIMS = {
    "名称": "南宁市青秀区示范餐饮有限公司",
    "统一社会信用代码": "91450103MA5KXXXX1X",
    "法定代表人": "李伟",
    "住所": "南宁市青秀区民族大道 100 号",
    "经营范围": "餐饮服务",
}
TRUSTED = {did_pkh(CHAIN_ID, ISSUER.address)}


def _licence(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "chain_id": CHAIN_ID,
        "licence_id": "urn:uuid:0193b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
        "licence_type": "营业执照",
        "claims": CLAIMS,
        "valid_from": NOW - timedelta(days=30),
        "valid_until": NOW + timedelta(days=365),
    }
    return issue(**{**args, **overrides})


def test_an_issued_licence_verifies_with_every_claim() -> None:
    licence = _licence()
    assert licence["issuer"] == f"did:pkh:eip155:{CHAIN_ID}:{ISSUER.address}"
    assert licence["type"] == ["VerifiableCredential", "ChainProofLicence"]
    verdict = check(licence, trusted_issuers=TRUSTED, now=NOW)
    assert (verdict.valid, verdict.status) == (True, "valid"), verdict.checks
    assert verdict.disclosed == CLAIMS


def test_a_presentation_of_two_of_five_fields_verifies_and_holds_nothing_else() -> None:
    licence = _licence()
    shown = present(licence, {"名称", "经营范围"})
    verdict = check(shown, trusted_issuers=TRUSTED, now=NOW)
    assert verdict.valid, verdict.checks
    assert verdict.disclosed == {"名称": CLAIMS["名称"], "经营范围": CLAIMS["经营范围"]}
    text = json.dumps(shown, ensure_ascii=False)
    hidden = [n for n in CLAIMS if n not in ("名称", "经营范围")]
    for name in hidden:
        assert CLAIMS[name] not in text and name not in text
        assert licence["credentialSubject"]["claims"][name]["salt"] not in text


def test_a_tampered_field_is_refused() -> None:
    shown = present(_licence(), {"名称", "法定代表人"})
    shown["verifiableCredential"][0]["credentialSubject"]["claims"]["法定代表人"]["value"] = "王五"
    verdict = check(shown, trusted_issuers=TRUSTED, now=NOW)
    assert (verdict.valid, verdict.status, verdict.disclosed) == (False, "invalid", {})
    failed = [c.name for c in verdict.checks if not c.ok]
    assert failed == ["claim:法定代表人"]


@pytest.mark.parametrize("what", ["validUntil", "licenceType", "claimsRoot"])
def test_a_change_to_a_signed_field_breaks_the_signature(what: str) -> None:
    licence = copy.deepcopy(_licence())
    if what == "validUntil":
        licence["validUntil"] = "2099-01-01T00:00:00Z"
    elif what == "licenceType":
        licence["credentialSubject"]["licenceType"] = "食品经营许可证"
    else:  # a whole other claims tree, with its own proofs, under the old signature
        other = _licence(claims={**CLAIMS, "经营范围": "一切"})
        licence["credentialSubject"] = other["credentialSubject"]
    verdict = check(licence, trusted_issuers=TRUSTED, now=NOW)
    assert not verdict.valid
    assert [c.name for c in verdict.checks if not c.ok] == ["signature"]


def test_a_forged_issuer_signature_is_refused() -> None:
    forger = Account.from_key("0x" + "22" * 32)
    forged = _licence(issuer=forger)
    forged["issuer"] = did_pkh(CHAIN_ID, ISSUER.address)  # claims to be the real issuer
    verdict = check(forged, trusted_issuers=TRUSTED, now=NOW)
    assert (verdict.valid, verdict.status) == (False, "invalid")
    assert next(c for c in verdict.checks if c.name == "signature").ok is False


def test_a_licence_from_an_issuer_nobody_pinned_is_refused() -> None:
    other = Account.from_key("0x" + "33" * 32)  # signs correctly, but is not a trusted issuer
    verdict = check(_licence(issuer=other), trusted_issuers=TRUSTED, now=NOW)
    assert (verdict.valid, verdict.status) == (False, "invalid")
    assert [c.name for c in verdict.checks if not c.ok] == ["trusted_issuer"]


def test_an_expired_licence_is_refused() -> None:
    licence = _licence(valid_from=NOW - timedelta(days=400), valid_until=NOW - timedelta(days=1))
    verdict = check(licence, trusted_issuers=TRUSTED, now=NOW)
    assert (verdict.valid, verdict.status) == (False, "expired")


def test_status_and_anchoring_come_from_the_callers_chain_reads() -> None:
    licence = _licence()
    revoked = check(licence, trusted_issuers=TRUSTED, now=NOW, status=lambda _: "revoked")
    assert (revoked.valid, revoked.status) == (False, "revoked")
    unanchored = check(licence, trusted_issuers=TRUSTED, now=NOW, anchored=lambda _: False)
    assert (unanchored.valid, unanchored.status) == (False, "not_anchored")
    fine = check(
        licence,
        trusted_issuers=TRUSTED,
        now=NOW,
        status=lambda _: "active",
        anchored=lambda _: True,
    )
    assert fine.valid


@pytest.mark.parametrize(
    "document", [{}, {"type": ["VerifiablePresentation"]}, {"type": "x", "@context": 3}, []]
)
def test_malformed_documents_are_invalid_not_errors(document: Any) -> None:
    verdict = check(document, trusted_issuers=TRUSTED, now=NOW)
    assert (verdict.valid, verdict.status) == (False, "invalid")


def test_more_claims_or_longer_proofs_than_a_licence_has_are_refused_unchecked() -> None:
    licence = _licence()
    claims = licence["credentialSubject"]["claims"]
    first = next(iter(claims.values()))
    many = copy.deepcopy(licence)
    many["credentialSubject"]["claims"] = {f"c{i}": first for i in range(65)}
    long_proof = copy.deepcopy(licence)
    next(iter(long_proof["credentialSubject"]["claims"].values()))["proof"] = [
        "0x" + "00" * 32
    ] * 65
    for document in (many, long_proof):
        verdict = check(document, trusted_issuers=TRUSTED, now=NOW)
        assert (verdict.valid, verdict.status) == (False, "invalid")
        assert (
            verdict.checks[0].name == "format" and "at most 64 claims" in verdict.checks[0].detail
        )
