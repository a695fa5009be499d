"""Rounds (申报批次) on /admin, in headless Chromium (issue 6: "members, keys, rounds").

An admin creates a round through the page, sees it in the table, moves its deadline into the
past and sees it turn closed, renames it from the keyboard; the API then holds exactly what
the page showed. A taken code and a bad code show the server's own message. The browser runs
in Los Angeles time, so a page that read the deadline in the browser's zone instead of
Beijing time (UTC+8) would be caught.

The deadlines are all later than the seeded round 2023's (2023-12-31 UTC+8): the subsidy
pages' form offers the earliest round first, and the browser tests share one server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from chainproof.web.formatting import cst_time

from ..signin import sign_in_browser
from .conftest import PHONE, LiveServer, shot
from .test_pages import horizontal_overflow, no_script_errors, wide

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

ROUNDS = "/api/v1/subsidy/rounds"
NAME = "2026年中国—东盟区块链创新中心专项补贴项目（第二批·广西壮族自治区南宁市申报点）"
RENAMED = "2026年专项补贴项目第二批（延期后）"
FUTURE_CST = "2031-06-30T17:00"  # typed on the page, Beijing time
FUTURE_UTC = datetime(2031, 6, 30, 9, 0, tzinfo=UTC)
PAST_CST = "2025-01-15T08:30:00"
PAST_UTC = datetime(2025, 1, 15, 0, 30, tzinfo=UTC)


@pytest.fixture
def la_page(browser: Browser) -> Iterator[Page]:
    """A desktop page whose clock is in America/Los_Angeles (UTC-8 or -7), not UTC+8."""
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="America/Los_Angeles"
    )
    ctx.set_default_timeout(15_000)
    opened = ctx.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.script_errors = errors  # type: ignore[attr-defined]
    try:
        yield opened
    finally:
        ctx.close()


def api_rounds(live_server: LiveServer, code: str) -> list[dict[str, Any]]:
    response = live_server.get(ROUNDS)
    assert response.status_code == 200, response.text
    return [r for r in response.json() if r["code"] == code]


def shown(row: Locator) -> dict[str, Any]:
    """What a row of the rounds table shows."""
    cells = row.locator("td")
    return {
        "code": cells.nth(0).inner_text().strip(),
        "name": cells.nth(1).inner_text().strip(),
        "deadline": cells.nth(2).inner_text().strip(),
        "status": cells.nth(3).inner_text().strip(),
    }


def as_api_shows(held: dict[str, Any]) -> dict[str, Any]:
    """What the page should show for a round the API holds (times via the server's cst_time)."""
    deadline = datetime.fromisoformat(held["deadline"])
    return {
        "code": held["code"],
        "name": held["name"],
        "deadline": cst_time(int(deadline.timestamp())),
        "status": "已截止" if held["closed"] else "开放中",
    }


def server_message(live_server: LiveServer, body: dict[str, Any], status: int) -> str:
    """The error message the API itself gives for ``body`` (the page must show this)."""
    response = live_server.post(
        ROUNDS, json=body, headers={"Authorization": f"Bearer {live_server.admin_key}"}
    )
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    assert message
    return message


def _sign_in(page: Page, server: LiveServer) -> None:
    """The admin page is for people signed in as admins (issue 17): no key field."""
    url = server.settings.resolved_database_url
    sign_in_browser(page, server.url, url, "中国—东盟区块链创新中心", "admin")


def test_admin_creates_a_round_and_moves_its_deadline(
    live_server: LiveServer, la_page: Page
) -> None:
    page = la_page
    code = f"e2e-{uuid.uuid4().hex[:8]}"
    assert api_rounds(live_server, code) == []
    # The rounds are public (GET /api/v1/subsidy/rounds); the page is an admin's.
    _sign_in(page, live_server)
    page.goto(live_server.url + "/admin")
    page.locator('#rounds tr[data-round="2023"]').wait_for()
    page.locator("#members tbody tr").first.wait_for()

    create = page.locator("#round-form")
    assert "北京时间" in create.inner_text() and "UTC+8" in create.inner_text()
    create.get_by_label("批次代码").fill(code)
    create.get_by_label("批次名称").fill(NAME)
    create.get_by_label("截止时间（北京时间 UTC+8）").fill(FUTURE_CST)
    create.get_by_role("button", name="创建批次").click()
    row = page.locator(f'#rounds tr[data-round="{code}"]')
    row.wait_for()
    assert shown(row) == {
        "code": code,
        "name": NAME,
        "deadline": "2031-06-30 17:00:00 (UTC+8)",
        "status": "开放中",
    }
    assert row.get_attribute("data-closed") == "false"
    [held] = api_rounds(live_server, code)
    assert datetime.fromisoformat(held["deadline"]) == FUTURE_UTC
    assert held["name"] == NAME and held["closed"] is False
    assert shown(row) == as_api_shows(held)
    assert page.locator("#round-code").input_value() == ""  # the form was reset

    # Move the deadline into the past from the row's button: the round closes.
    row.get_by_role("button", name=f"修改批次 {code}").click()
    edit = page.locator("#round-edit-form")
    assert page.evaluate("document.activeElement.id") == "round-edit-name"
    assert edit.get_by_label("要修改的批次").input_value() == code
    assert edit.get_by_label("批次名称").input_value() == NAME
    # Chromium drops ":00" seconds from a datetime-local value.
    prefilled = edit.get_by_label("截止时间（北京时间 UTC+8）").input_value()
    assert prefilled in ("2031-06-30T17:00", "2031-06-30T17:00:00")
    edit.get_by_label("截止时间（北京时间 UTC+8）").fill(PAST_CST)
    with page.expect_request(lambda r: r.method == "PATCH") as moved:
        edit.get_by_role("button", name="保存修改").click()
    assert moved.value.url.endswith(f"{ROUNDS}/{code}")
    assert moved.value.post_data_json == {"deadline": "2025-01-15T08:30:00+08:00"}  # only that
    page.locator(f'#rounds tr[data-round="{code}"][data-closed="true"]').wait_for()
    assert shown(row) == {
        "code": code,
        "name": NAME,
        "deadline": "2025-01-15 08:30:00 (UTC+8)",
        "status": "已截止",
    }
    assert "badge-bad" in (row.locator("td").nth(3).locator(".badge").get_attribute("class") or "")
    [held] = api_rounds(live_server, code)
    assert datetime.fromisoformat(held["deadline"]) == PAST_UTC
    assert held["name"] == NAME and held["closed"] is True
    assert shown(row) == as_api_shows(held)
    assert "已截止" in page.locator("#rounds-message").inner_text()

    # Rename it with the keyboard only: the deadline stays where it is.
    row.get_by_role("button", name=f"修改批次 {code}").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "round-edit-name"
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(RENAMED)
    with page.expect_request(lambda r: r.method == "PATCH") as renamed:
        page.keyboard.press("Enter")
    assert renamed.value.post_data_json == {"name": RENAMED}
    page.locator(f'#rounds tr[data-round="{code}"] td:nth-child(2)', has_text=RENAMED).wait_for()
    [held] = api_rounds(live_server, code)
    assert held["name"] == RENAMED
    assert datetime.fromisoformat(held["deadline"]) == PAST_UTC
    assert shown(row) == as_api_shows(held)

    # The page shows the rounds the API holds, all of them, in the API's order.
    codes = page.locator("#rounds tbody tr").evaluate_all("rows => rows.map(r => r.dataset.round)")
    assert codes == [r["code"] for r in live_server.get(ROUNDS).json()]

    # A taken code: the server's 409 message, and the round is unchanged.
    taken = server_message(
        live_server, {"code": code, "name": "重复", "deadline": "2032-01-01T00:00:00+08:00"}, 409
    )
    create.get_by_label("批次代码").fill(code)
    create.get_by_label("批次名称").fill("重复的批次")
    create.get_by_label("截止时间（北京时间 UTC+8）").fill("2032-01-01T00:00")
    create.get_by_role("button", name="创建批次").click()
    message = page.locator("#rounds-message.notice-bad")
    message.wait_for()
    assert taken in message.inner_text()
    assert page.locator("#round-code").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "round-code"
    [held] = api_rounds(live_server, code)
    assert held["name"] == RENAMED
    shot(page, "admin-rounds-taken")

    # A code the API refuses (a space, a slash): its 422 message, and nothing created.
    bad = "第二 批/x"
    refused = server_message(
        live_server, {"code": bad, "name": "坏代码", "deadline": "2032-01-01T00:00:00+08:00"}, 422
    )
    create.get_by_label("批次代码").fill(bad)
    create.get_by_role("button", name="创建批次").click()
    page.locator("#rounds-message.notice-bad", has_text=refused).wait_for()
    assert api_rounds(live_server, bad) == []

    # Every control of the section has a label.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('#rounds-section input, #rounds-section select')]
              .filter(e => !(e.labels && e.labels.length)).map(e => e.id)"""
    )
    assert unlabelled == []
    shot(page, "admin-rounds")

    # In English the same round reads closed.
    page.goto(live_server.url + "/admin?lang=en")
    english = page.locator(f'#rounds tr[data-round="{code}"]')
    english.wait_for()
    assert english.locator("td").nth(3).inner_text().strip() == "closed"
    assert page.get_by_label("Deadline (Beijing time, UTC+8)").count() == 2
    no_script_errors(page)


def test_rounds_fit_a_phone(live_server: LiveServer, browser: Browser) -> None:
    ctx = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    ctx.set_default_timeout(15_000)
    try:
        phone = ctx.new_page()
        _sign_in(phone, live_server)
        phone.goto(live_server.url + "/admin")
        phone.locator('#rounds tr[data-round="2023"]').wait_for()
        phone.locator("#members tbody tr").first.wait_for()
        phone.locator("#rounds-section").scroll_into_view_if_needed()
        shot(phone, "phone-admin-rounds")
        assert horizontal_overflow(phone) <= 0, f"/admin scrolls sideways: {wide(phone)}"
        # On a phone each round is a card: the column names are shown with the values.
        label = (
            phone.locator('#rounds tr[data-round="2023"] td')
            .nth(2)
            .evaluate("td => getComputedStyle(td, '::before').content")
        )
        assert "截止时间" in label
    finally:
        ctx.close()
