"""The subsidy pages as the server renders them (TestClient, embedded chain, SQLite): both
languages, the guide's data in the forms, long names, escaping, and 404 pages for ids
that name no application. What the pages' script does is in tests/e2e."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.store import db

from ..signin import sign_in

LONG_ORG = "广西壮族自治区柳州市融安县金桔种植专业合作社联合社区块链溯源示范应用项目组" * 3
ROUND_NAME = "中国—东盟区块链创新中心2024年专项补贴项目（第一批）<script>alert(1)</script>"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chain: ChainContext) -> Iterator[TestClient]:
    """The app (API + pages, no batcher) with one draft application of a long-named unit and
    a round whose name would be a script if it were not escaped."""
    tmp: Path = tmp_path_factory.mktemp("site")
    settings = Settings(
        env="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'chainproof.db'}",
        chain="embedded",
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        with db.open_session(settings.resolved_database_url) as session:
            _, submitter = identity.create_api_key(session=session, org=LONG_ORG, role="submitter")
            _, admin = identity.create_api_key(session=session, org="平台运营方", role="admin")
        round_body = {"code": "2024-1", "name": ROUND_NAME, "deadline": "2030-12-31T15:59:59Z"}
        made = client.post(
            "/api/v1/subsidy/rounds",
            headers={"Authorization": f"Bearer {admin}"},
            json=round_body,
        )
        assert made.status_code == 201, made.text
        body = {"scope_category": "农业", "scope_field": "农产品溯源", "project_name": "金桔溯源"}
        created = client.post(
            "/api/v1/subsidy/applications",
            headers={"Authorization": f"Bearer {submitter}"},
            json=body,
        )
        assert created.status_code == 201, created.text
        assert created.json()["id"] == 1
        # The pages are for people signed in (issue 17): an admin opens every one.
        sign_in(client, settings.resolved_database_url, "平台运营方", "admin")
        yield client


PAGES = ["/applications", "/review", "/applications/1", "/applications/1/check"]
PAGES += ["/applications/1/report"]
TITLES = {
    "/applications": ("我的申报", "My applications"),
    "/review": ("审核队列", "Review queue"),
    "/applications/1": ("申请 #1", "Application #1"),
    "/applications/1/check": ("完整性核对 · 申请 #1", "Integrity check · application #1"),
    "/applications/1/report": ("审核报告 · 申请 #1", "Review report · application #1"),
}


def _h1(html: str) -> str:
    start = html.find("<h1>")  # string search, not a regex (scripts/redos_check.py)
    assert start >= 0, "no <h1>"
    text = html[start + len("<h1>") : html.index("</h1>", start)]
    return text.split("<span", 1)[0].strip()


class _Controls(HTMLParser):
    """Ids of form controls and the ``for`` of labels (an HTML parser, not a regex)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.labelled: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("input", "select", "textarea") and values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "label" and values.get("for"):
            self.labelled.add(str(values["for"]))


@pytest.mark.parametrize("path", PAGES)
def test_every_subsidy_page_in_both_languages(site: TestClient, path: str) -> None:
    zh = site.get(path, params={"lang": "zh-CN"})
    assert zh.status_code == 200, zh.text
    assert '<html lang="zh-CN">' in zh.text and _h1(zh.text) == TITLES[path][0]
    en = site.get(path, params={"lang": "en"})
    assert en.status_code == 200
    assert '<html lang="en">' in en.text and _h1(en.text) == TITLES[path][1]
    assert en.cookies.get("chainproof_lang") == "en"
    for html in (zh.text, en.text):
        assert "js/subsidy.js" in html and "css/subsidy.css" in html
        assert "data-signin-note" in html and 'id="api-key"' not in html  # no key in a page
        # Every form control has a label pointing at it.
        controls = _Controls(html)
        assert controls.ids <= controls.labelled, controls.ids - controls.labelled


def test_the_frames_carry_no_application_data(site: TestClient) -> None:
    """Keys never reach the pages: the unit's name and project are fetched by the script."""
    for path in PAGES[2:]:
        html = site.get(path).text
        assert LONG_ORG not in html and "金桔溯源" not in html
        assert 'data-application="1"' in html


def test_the_new_application_form_offers_the_guide(site: TestClient) -> None:
    html = site.get("/applications").text
    assert '<option value="农业|农产品溯源">' in html
    assert '<option value="platform-admin-pro">' in html and "40 万元" in html
    assert 'value="crosschain-data"' in html  # listed, though 附件4-1 gives it no price
    assert '<option value="2023">' in html and '<option value="2024-1">' in html


def test_round_names_are_escaped(site: TestClient) -> None:
    html = site.get("/applications").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_navigation_links_the_subsidy_pages(site: TestClient) -> None:
    html = site.get("/review", params={"lang": "zh-CN"}).text
    assert re.search(r'<a href="/applications">我的申报</a>', html)
    assert re.search(r'<a href="/review" aria-current="page">审核</a>', html)


@pytest.mark.parametrize(
    "path",
    [
        "/applications/2",
        "/applications/0",
        "/applications/abc/check",
        "/applications/99999999999999999999999/report",
        "/applications/-1/report",
    ],
)
def test_unknown_or_malformed_ids_are_a_clear_404_page(site: TestClient, path: str) -> None:
    response = site.get(path, params={"lang": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text and "application" in response.text
    assert "subsidy.js" not in response.text


def test_page_routes_do_not_shadow_the_api(site: TestClient) -> None:
    """/applications (pages) and /api/v1/subsidy/applications (JSON) stay apart."""
    signed_in = dict(site.cookies)
    site.cookies.clear()
    response = site.get("/api/v1/subsidy/applications")
    site.cookies.update(signed_in)
    assert response.status_code == 401 and response.json()["error"]["code"]
    assert "/applications" not in site.get("/openapi.json").json()["paths"]
