"""The RFC 3161 TSA (issue 19, part 1), driven over HTTP and checked by stock OpenSSL:
``openssl ts -verify`` accepts tokens for SHA-256, SHA-512 and SM3 queries with and without
nonce and certReq; bad queries get a ``rejection`` with the right failure; each token's
imprint is queued as the caller's org's evidence and its receipt carries the token; the
anonymous route is body-bounded and rate-limited."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from sqlmodel import select

from chainproof.store import db
from chainproof.store.models import Evidence
from chainproof.timestamping.authority import TimeStampReply
from chainproof.timestamping.models import TsaStamp

from ..factories import wait_anchored

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

QUERY = {"content-type": "application/timestamp-query"}


def openssl(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def query(tmp: Path, data: bytes, *, digest: str, nonce: bool, cert: bool) -> Path:
    (tmp / "doc").write_bytes(data)
    out = tmp / f"{digest}-{nonce}-{cert}.tsq"
    flags = [f"-{digest}"] + ([] if nonce else ["-no_nonce"]) + (["-cert"] if cert else [])
    openssl("ts", "-query", "-data", tmp / "doc", *flags, "-out", out)
    return out


def stamp(api: Any, q: Path, headers: dict[str, str] | None = None) -> Any:
    return api.client.post("/tsa", content=q.read_bytes(), headers={**QUERY, **(headers or {})})


def pems(api: Any, tmp: Path) -> tuple[Path, Path]:
    ca, tsa = tmp / "ca.pem", tmp / "tsa.pem"
    ca.write_bytes(api.client.get("/tsa/ca.pem").content)
    tsa.write_bytes(api.client.get("/tsa/tsa.pem").content)
    return ca, tsa


@pytest.mark.parametrize("digest", ["sha256", "sha512", "sm3"])
@pytest.mark.parametrize("nonce", [True, False])
@pytest.mark.parametrize("cert", [True, False])
def test_openssl_verifies_every_kind_of_token(
    api: Any, tmp_path: Path, digest: str, nonce: bool, cert: bool
) -> None:
    q = query(tmp_path, b"contract signed 2026-12-07", digest=digest, nonce=nonce, cert=cert)
    response = stamp(api, q)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/timestamp-reply"
    reply = tmp_path / "r.tsr"
    reply.write_bytes(response.content)
    ca, tsa = pems(api, tmp_path)
    # Without certReq the token carries no certificate: the verifier brings the TSA's.
    untrusted = [] if cert else ["-untrusted", tsa]
    done = openssl("ts", "-verify", "-queryfile", q, "-in", reply, "-CAfile", ca, *untrusted)
    assert "Verification: OK" in done.stdout
    text = openssl("ts", "-reply", "-in", reply, "-text").stdout
    assert "Status: Granted." in text and f"Hash Algorithm: {digest}" in text
    assert ("Nonce: 0x" in text) is nonce and "Accuracy: 0x01 seconds" in text
    token = tsp.TimeStampResp.load(response.content)["time_stamp_token"]
    signed = token["content"]
    assert (len(signed["certificates"]) if signed["certificates"].native else 0) == (
        2 if cert else 0
    )
    # RFC 5816: the signer is named by an ESSCertIDv2 (SHA-256), not a SHA-1 ESSCertID.
    attrs = {a["type"].native for a in signed["signer_infos"][0]["signed_attrs"]}
    assert "signing_certificate_v2" in attrs and "signing_certificate" not in attrs
    # Another CA does not verify it: the check is real.
    other = tmp_path / "other"
    other.mkdir()
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        other / "k",
        "-out",
        other / "ca.pem",
        "-subj",
        "/CN=other",
        "-days",
        "1",
    )
    bad = openssl(
        "ts",
        "-verify",
        "-queryfile",
        q,
        "-in",
        reply,
        "-CAfile",
        other / "ca.pem",
        "-untrusted",
        tsa,
        ok=False,
    )
    assert bad.returncode != 0


def _status(content: bytes) -> tuple[str, set[str]]:
    status = TimeStampReply.load(content)["status"]
    return status["status"].native, set(status["fail_info"].native or ())


def test_bad_queries_are_rejected_with_their_failure(api: Any, tmp_path: Path) -> None:
    good = query(tmp_path, b"x", digest="sha256", nonce=True, cert=True).read_bytes()
    req = tsp.TimeStampReq.load(good)
    sha1 = query(tmp_path, b"x", digest="sha1", nonce=True, cert=True).read_bytes()
    short = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x01" * 20,
            },
        }
    ).dump()
    policy = tsp.TimeStampReq(
        {"version": "v1", "message_imprint": req["message_imprint"], "req_policy": "1.2.3.4"}
    ).dump()
    cases = {
        b"not DER at all": "bad_data_format",
        good[:-3]: "bad_data_format",
        sha1: "bad_alg",
        short: "bad_request",
        policy: "unaccepted_policy",
    }
    for body, failure in cases.items():
        response = api.client.post("/tsa", content=body, headers=QUERY)
        assert response.status_code == 200, response.text
        assert _status(response.content) == ("rejection", {failure}), failure
    reply = tmp_path / "bad.tsr"
    reply.write_bytes(api.client.post("/tsa", content=sha1, headers=QUERY).content)
    assert "Status: Rejected." in openssl("ts", "-reply", "-in", reply, "-text").stdout
    with db.open_session(api.url) as s:  # nothing was queued for a rejected query
        assert s.exec(select(TsaStamp)).all() == []


def test_each_token_is_queued_as_the_org_evidence_and_its_receipt_carries_it(
    api: Any, submitter: dict[str, str], tmp_path: Path
) -> None:
    data = b"the org's contract"
    q = query(tmp_path, data, digest="sha256", nonce=True, cert=True)
    response = stamp(api, q, submitter)
    evidence_id = response.headers["ChainProof-Evidence-Id"]
    token = tsp.TimeStampResp.load(response.content)["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    wait_anchored(api.client, evidence_id, submitter)
    receipt = api.client.get(f"/api/v1/evidence/{evidence_id}/receipt", headers=submitter).json()
    assert receipt["digest"] == "0x" + hashlib.sha256(data).hexdigest()
    assert base64.b64decode(receipt["tsa_token"]) == token.dump()
    with db.open_session(api.url) as s:
        row = s.exec(select(TsaStamp)).one()
        ev = s.get(Evidence, row.evidence_id)
        assert ev is not None and ev.public_id == evidence_id
        assert row.serial == str(info["serial_number"].native) and ev.member_id is not None
    # SHA-512: the evidence is the SHA-256 of the signed TSTInfo, which holds the imprint.
    q512 = query(tmp_path, data, digest="sha512", nonce=False, cert=False)
    r512 = stamp(api, q512)
    signed = tsp.TimeStampResp.load(r512.content)["time_stamp_token"]["content"]
    tst = signed["encap_content_info"]["content"].contents
    with db.open_session(api.url) as s:
        ev = s.exec(
            select(Evidence).where(Evidence.public_id == r512.headers["ChainProof-Evidence-Id"])
        ).one()
        assert ev.digest == "0x" + hashlib.sha256(tst).hexdigest() and ev.member_id is None


def test_the_route_is_bounded_and_rate_limited(start_api: Any, tmp_path: Path) -> None:
    closed = start_api(run_batcher=False, tsa_anonymous=False, rate_limit_tsa="3/minute")
    q = query(tmp_path, b"x", digest="sha256", nonce=True, cert=True)
    assert stamp(closed, q).status_code == 401  # anonymous, and not allowed here
    key = closed.key("示范企业甲", "submitter")
    assert (
        closed.client.post("/tsa", content=b"\x30" * 5000, headers={**QUERY, **key}).status_code
        == 413
    )
    reviewer = closed.key("评审中心", "reviewer")
    assert stamp(closed, q, reviewer).status_code == 403
    codes = [stamp(closed, q, key).status_code for _ in range(3)]
    assert codes == [200, 200, 429], codes  # 3 a minute for this key: the 413 counted


def test_the_pki_is_kept_in_the_data_dir(start_api: Any) -> None:
    first = start_api(run_batcher=False)
    ca = first.client.get("/tsa/ca.pem").content
    assert ca.startswith(b"-----BEGIN CERTIFICATE-----")
    pki = Path(first.settings.data_dir) / "pki"
    assert (pki / "tsa.key").stat().st_mode & 0o077 == 0  # the key is the owner's alone
    again = start_api(
        run_batcher=False,
        data_dir=first.settings.data_dir,
        database_url=first.settings.database_url,
    )
    assert again.client.get("/tsa/ca.pem").content == ca  # the same root after a restart
