"""The pages rendered by the app (TestClient, embedded chain, SQLite): every page in both
languages, the states of an evidence (queued, anchored), the explorer's search, a degraded
chain, and escaping. The browser behaviour is in tests/e2e."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chainproof import identity, web
from chainproof.api.app import create_app
from chainproof.api.deps import UnavailableChain
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.store import db

from ..conftest import require
from ..signin import sign_in

ORG = "广西壮族自治区柳州市融安县金桔种植专业合作社联合社<script>alert(1)</script>"
MISSING = "01943b2e-7c00-7a3f-9d21-000000000000"  # well-formed, never issued


def _app(tmp: Path, chain: ChainContext, *, run_batcher: bool) -> tuple[FastAPI, Settings]:
    settings = Settings(
        env="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'chainproof.db'}",
        chain="embedded",
        batch_size=10,
        batch_interval_ms=50,
    )
    app = create_app(settings, chain=chain, run_batcher=run_batcher)
    web.install(app)
    return app, settings


class Site:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        with db.open_session(settings.resolved_database_url) as session:
            _, key = identity.create_api_key(session=session, org=ORG, role="submitter")
        self.headers = {"Authorization": f"Bearer {key}"}
        # /anchor and /admin are for people signed in (issue 17): an admin opens both.
        sign_in(client, settings.resolved_database_url, "平台运营方", "admin")

    def upload(self, content: bytes) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/evidence", headers=self.headers, files=[("file", ("申报书.pdf", content))]
        )
        assert response.status_code == 202, response.text
        item: dict[str, Any] = response.json()["items"][0]
        return item

    def anchored(self, content: bytes) -> dict[str, Any]:
        evidence_id = self.upload(content)["id"]
        deadline = time.monotonic() + 60
        while True:
            body: dict[str, Any] = self.client.get(
                f"/api/v1/evidence/{evidence_id}", headers=self.headers
            ).json()
            if body["status"] == "anchored":
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.05)


@pytest.fixture(scope="module")
def site(chain: ChainContext, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app with its pages and a batcher (every 50 ms)."""
    app, settings = _app(tmp_path_factory.mktemp("site"), chain, run_batcher=True)
    with TestClient(app) as client:
        yield Site(client, settings)


@pytest.fixture(scope="module")
def still(chain: ChainContext, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app with no batcher: what is uploaded stays queued."""
    app, settings = _app(tmp_path_factory.mktemp("still"), chain, run_batcher=False)
    with TestClient(app) as client:
        yield Site(client, settings)


@pytest.fixture(scope="module")
def evidence(site: Site) -> dict[str, Any]:
    """One anchored document."""
    return site.anchored(b"2023 application form " + str(time.time()).encode())


PAGES = ["/", "/verify", "/anchor", "/explorer", "/admin"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("lang", "html_lang"), [(None, "zh-CN"), ("en", "en")])
def test_every_page_renders_in_both_languages(
    site: Site, path: str, lang: str | None, html_lang: str
) -> None:
    site.client.cookies.delete("chainproof_lang")  # stays signed in
    response = site.client.get(path, params={"lang": lang} if lang else None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{html_lang}">' in response.text
    assert '<meta name="viewport"' in response.text
    assert 'class="skip-link"' in response.text
    assert "/static/css/app.css" in response.text


def test_language_choice_is_remembered_in_a_cookie(site: Site) -> None:
    site.client.cookies.delete("chainproof_lang")  # stays signed in
    first = site.client.get("/verify?lang=en")
    assert first.cookies.get("chainproof_lang") == "en"
    assert "Verify files" in first.text
    assert "lang=zh-CN" in first.text  # the switch back, same URL
    assert '<html lang="en">' in site.client.get("/anchor").text
    assert '<html lang="zh-CN">' in site.client.get("/anchor?lang=zh-CN").text
    assert '<html lang="zh-CN">' in site.client.get("/").text
    site.client.cookies.delete("chainproof_lang")  # stays signed in


def test_pages_are_not_in_the_api_schema(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    api = ("/api/", "/healthz", "/readyz", "/metrics", "/.well-known/", "/tsa")  # RFC 3161
    assert not [p for p in paths if not p.startswith(api)]


def test_static_files_are_served(site: Site) -> None:
    for name in (
        "css/app.css",
        "js/common.js",
        "js/verify.js",
        "js/hash-worker.js",
        "vendor/hash-wasm/sm3.umd.min.js",
        "js/anchor.js",
    ):
        assert site.client.get(f"/static/{name}").status_code == 200


def test_anchored_evidence_page_is_a_frame_without_private_facts(
    site: Site, evidence: dict[str, Any]
) -> None:
    """Id and status for everyone; the digest, member and chain data are filled in by the
    page's script with a key that may see them (tests/e2e/test_pages.py)."""
    page = site.client.get(f"/evidence/{evidence['id']}").text
    assert f'data-evidence-id="{evidence["id"]}"' in page
    assert 'data-status="anchored"' in page
    anchor = evidence["anchor"]
    for value in (evidence["digest"], anchor["tx_hash"], anchor["root"], "alert(1)"):
        assert value not in page
    assert f"/evidence/{evidence['id']}/certificate" in page
    assert "data-signin-note" in page and "data-api-key" not in page  # no key in a page


def test_queued_evidence_page_and_no_certificate_yet(still: Site) -> None:
    item = still.upload(b"waiting for a batch")
    page = still.client.get(f"/evidence/{item['id']}")
    assert page.status_code == 200
    assert 'data-status="queued"' in page.text
    assert "/certificate" not in page.text
    for suffix in ("certificate", "certificate.pdf"):
        response = still.client.get(f"/evidence/{item['id']}/{suffix}", headers=still.headers)
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    ["/evidence/1", "/evidence/999999", "/evidence/abc", "/evidence/0", f"/evidence/{MISSING}"],
)
def test_unknown_evidence_is_a_404_page(site: Site, path: str) -> None:
    for suffix in ("", "/certificate", "/certificate.pdf"):
        response = site.client.get(path + suffix)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


def test_certificate_page_and_pdf(site: Site, evidence: dict[str, Any]) -> None:
    page = site.client.get(f"/evidence/{evidence['id']}/certificate")
    assert page.status_code == 200
    assert "存证证书" in page.text and "<svg" in page.text
    assert f"CP-{evidence['anchor']['chain_id']}-{evidence['id']}" in page.text
    # The QR code and its link lead to the record's page; the facts are the script's.
    # The configured public URL (the bind address here), never the request's Host.
    assert site.settings.public_url == "http://127.0.0.1:8000"
    assert f"http://127.0.0.1:8000/evidence/{evidence['id']}</a>" in page.text
    assert "testserver" not in page.text
    assert evidence["digest"] not in page.text and "alert(1)" not in page.text
    # The PDF states the facts: for those who may see them only (not a stranger, signed out).
    signed_in = dict(site.client.cookies)
    site.client.cookies.clear()
    stranger = site.client.get(f"/evidence/{evidence['id']}/certificate.pdf")
    site.client.cookies.update(signed_in)
    assert stranger.status_code == 404
    pdf = site.client.get(f"/evidence/{evidence['id']}/certificate.pdf", headers=site.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_the_certificate_prints_the_trust_anchor(
    site: Site, evidence: dict[str, Any], tmp_path: Path
) -> None:
    anchor = site.client.get("/.well-known/chainproof.json").json()
    page = site.client.get(f"/evidence/{evidence['id']}/certificate").text
    facts = page[page.index('data-testid="cert-anchor"') :]
    for key in ("genesis_hash", "registry", "registry_code_hash"):
        assert anchor[key] in facts, key
    assert f"<dd>{anchor['chain_id']}</dd>" in facts
    assert f"{site.settings.public_url}/.well-known/chainproof.json" in facts  # never Host
    pdftotext = shutil.which("pdftotext")
    require(pdftotext is not None, "pdftotext is missing (apt-get install poppler-utils)")
    pdf = tmp_path / "certificate.pdf"
    got = site.client.get(f"/evidence/{evidence['id']}/certificate.pdf", headers=site.headers)
    assert got.status_code == 200, got.text
    pdf.write_bytes(got.content)
    assert pdftotext is not None
    text = subprocess.run(
        [pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for key in ("genesis_hash", "registry", "registry_code_hash"):
        assert anchor[key] in text, key
    assert "/.well-known/chainproof.json" in text and "Trust anchor" in text


def test_verify_page_prefills_a_digest(site: Site) -> None:
    digest = "0x" + "ab" * 32
    page = site.client.get(f"/verify?digest={digest}&algorithm=sm3").text
    assert f'value="{digest}"' in page
    assert 'data-autorun="true"' in page
    assert '<option value="sm3" selected>' in page
    assert 'data-autorun="false"' in site.client.get("/verify?algorithm=nonsense").text


def test_explorer_lists_blocks_and_decoded_events(site: Site, evidence: dict[str, Any]) -> None:
    page = site.client.get("/explorer").text
    assert evidence["anchor"]["root"] in page
    assert "Anchored" in page
    assert f"/explorer/block/{evidence['anchor']['block_number']}" in page


def test_explorer_transaction_page_decodes_the_call_and_its_event(
    site: Site, evidence: dict[str, Any]
) -> None:
    page = site.client.get(f"/explorer/tx/{evidence['anchor']['tx_hash']}").text
    assert "anchor" in page  # anchor or anchorWithSignature
    assert "event-anchored" in page
    assert evidence["anchor"]["root"] in page


@pytest.mark.parametrize("kind", ["tx", "root", "digest", "address", "block"])
def test_explorer_search_leads_to_one_page(site: Site, evidence: dict[str, Any], kind: str) -> None:
    anchor = evidence["anchor"]
    query, target = {
        "tx": (anchor["tx_hash"].upper().replace("0X", "0x"), f"/explorer/tx/{anchor['tx_hash']}"),
        "root": (anchor["root"], f"/explorer/root/{anchor['root']}"),
        "digest": (evidence["digest"][2:], f"/explorer/digest/{evidence['digest']}"),
        "address": (anchor["submitter"].lower(), f"/explorer/address/{anchor['submitter']}"),
        "block": (str(anchor["block_number"]), f"/explorer/block/{anchor['block_number']}"),
    }[kind]
    response = site.client.get("/explorer", params={"q": query}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == target
    assert site.client.get(target).status_code == 200


def test_explorer_search_without_a_match(site: Site) -> None:
    site.client.cookies.delete("chainproof_lang")  # stays signed in
    none = site.client.get("/explorer", params={"q": "0x" + "00" * 32})
    assert none.status_code == 200 and "没有找到" in none.text
    bad = site.client.get("/explorer", params={"q": "not a hash"})
    assert bad.status_code == 200 and "无法识别" in bad.text


@pytest.mark.parametrize(
    "path",
    [
        "/explorer/block/99999999",
        "/explorer/block/x",
        "/explorer/tx/0x" + "00" * 32,
        "/explorer/tx/nonsense",
        "/explorer/root/0x" + "00" * 32,
        "/explorer/root/nonsense",
        "/explorer/digest/0x" + "00" * 32,
        "/explorer/address/0x123",
    ],
)
def test_explorer_unknowns_are_404_pages(site: Site, path: str) -> None:
    assert site.client.get(path).status_code == 404


def test_root_page_lists_its_documents(site: Site, evidence: dict[str, Any]) -> None:
    page = site.client.get(f"/explorer/root/{evidence['anchor']['root']}").text
    assert f"/evidence/{evidence['id']}" in page


def test_degraded_chain_is_said_not_hidden(tmp_path: Path) -> None:
    down = UnavailableChain(
        reason="chain 31337 has another genesis (reset?)", code="chain_mismatch", standby=None
    )
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'chainproof.db'}",
        chain="embedded",
    )
    app = create_app(settings, chain=down, run_batcher=False)
    web.install(app)
    with TestClient(app) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "another genesis" in home.text
        explorer = client.get("/explorer")
        assert explorer.status_code == 503
        assert "another genesis" in explorer.text
        assert client.get("/explorer/block/1").status_code == 503
        assert client.get("/verify").status_code == 200
        # No trust anchor from a server that cannot stand behind one.
        anchor = client.get("/.well-known/chainproof.json")
        assert anchor.status_code == 503 and "another genesis" in anchor.text
