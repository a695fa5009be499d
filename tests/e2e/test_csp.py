"""Every page loads in Chromium under its Content-Security-Policy and nothing is blocked
(issue 14, F21): no ``securitypolicyviolation`` event, no CSP message on the console, no
script error. What each page does under it is tested by the other browser tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ..signin import sign_in_browser
from .conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""

PAGES = [
    "/",
    "/verify",
    "/anchor",
    "/receipt",
    "/explorer",
    "/admin",
    "/applications",
    "/review",
    "/t/no-such-code",
    "/signin",
    "/account",
]


@pytest.fixture(scope="module")
def anchored_id(live_server: LiveServer) -> Any:
    return live_server.anchor("csp.txt", b"content-security-policy")["id"]


def _visit(page: Page, url: str) -> list[str]:
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    response = page.goto(url)
    assert response is not None
    assert response.url == url, f"{url} sent the browser to {response.url}"
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, (url, csp)
    page.wait_for_load_state("networkidle")
    violations: list[str] = page.evaluate("window.__csp")
    errors: list[str] = page.script_errors  # type: ignore[attr-defined]
    return [*violations, *console, *errors]


def test_every_page_runs_under_its_csp_with_no_violation(
    live_server: LiveServer, anchored_id: Any, page: Page
) -> None:
    page.add_init_script(WATCH)
    # As an admin: every page opens (the gated ones would otherwise be the sign-in page).
    url = live_server.settings.resolved_database_url
    sign_in_browser(page, live_server.url, url, "中国—东盟区块链创新中心", "admin")
    paths = [*PAGES, f"/evidence/{anchored_id}", f"/evidence/{anchored_id}/certificate"]
    problems = {}
    for path in paths:
        found = _visit(page, live_server.url + path)
        if found:
            problems[path] = found
    assert not problems, problems


def test_the_checker_would_see_a_violation(live_server: LiveServer, page: Page) -> None:
    """The watch is live: an inline script added to a page is blocked and reported."""
    page.add_init_script(WATCH)
    page.goto(live_server.url + "/verify")
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"""
    )
    page.wait_for_function("() => window.__csp.length > 0")  # a function: no eval() under CSP
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__csp"))


def test_browser_tests_wait_with_functions_not_expressions() -> None:
    """Playwright polls a bare expression with eval(), which the pages' CSP refuses once the
    first poll is false: such a wait passes on a fast machine and fails on a slow one (CI
    stop 29). Every ``wait_for_function`` in these tests passes an arrow function."""
    import re
    from pathlib import Path

    # A lone quote not opening a triple one: recheck (test_redos) cannot read atomic groups.
    call = re.compile(r'wait_for_function\(\s*f?(?:"""|"(?!""))(?!\s*\(\)\s*=>)')
    offenders = [
        f"{path.name}:{source[: m.start()].count(chr(10)) + 1}"
        for path in sorted(Path(__file__).parent.glob("*.py"))
        for source in [path.read_text(encoding="utf-8")]
        for m in call.finditer(source)
    ]
    assert offenders == [], offenders
