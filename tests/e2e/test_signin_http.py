"""People's sign-in over HTTP against the real uvicorn server of the e2e suite (issue 17).

Each test invites a person with the admin API key (as an admin would), accepts the
invitation through the ``/invite`` form, and then acts as a browser would: cookies, forms,
``Origin`` and ``Sec-Fetch-Site`` headers. What they prove: the cookie's flags (HttpOnly,
SameSite, and Secure with the ``__Host-`` prefix behind an HTTPS proxy), CSRF refusals of a
cross-site form post and of a script call without the token, lock-out after repeated
wrong passwords (per account, with a message and a time), an applicant kept out of the
reviewer's pages and routes, TOTP with a real pyotp code, and sessions ended by sign-out
and by a password change. Every one of these routes is new: on the code before, each test
fails at its first sign-in (``/invite`` and ``/signin`` were 404).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie

import httpx
import pyotp
import pytest

from .conftest import LiveServer

PASSWORD = "correct horse battery staple"
REVIEWER_ORG = "中国—东盟区块链创新中心评审组"
APPLICANT_ORG = "广西桂链示范应用申报单位"

pytestmark = pytest.mark.timeout(120)


@dataclass
class Person:
    email: str
    client: httpx.Client  # holds the session cookie, as a browser would
    csrf: str


def _email(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.org"


def invite(server: LiveServer, email: str, org: str, role: str) -> str:
    """The invitation token the admin API gives (the link's ``token``)."""
    response = server.post(
        "/api/v1/users",
        headers={"Authorization": f"Bearer {server.admin_key}"},
        json={"email": email, "org": org, "role": role},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invite_url"].endswith(body["invite_token"])
    assert body["active"] is False
    return str(body["invite_token"])


def _csrf(html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match, "the page carries no CSRF token for its scripts"
    return match.group(1)


_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def person(server: LiveServer, org: str, role: str, *, tag: str = "p") -> Person:
    """Invited, password set through the form, signed in (the form signs them in)."""
    email = _email(tag)
    token = invite(server, email, org, role)
    client = httpx.Client(base_url=server.url, timeout=30)
    _CLIENTS.append(client)
    form = client.get("/invite", params={"token": token})
    assert form.status_code == 200 and email in form.text
    accepted = client.post(
        "/invite", data={"token": token, "password": PASSWORD, "password2": PASSWORD}
    )
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200 and email in page.text
    return Person(email, client, _csrf(page.text))


def signin(server: LiveServer, email: str, password: str, **extra: str) -> httpx.Response:
    return httpx.post(
        server.url + "/signin",
        data={"email": email, "password": password, **extra},
        timeout=60,
    )


def _between(text: str, start: str, end: str) -> str:
    """The text after ``start`` up to ``end`` (string search: no regex on page text)."""
    at = text.index(start) + len(start)
    return text[at : text.index(end, at)]


def _set_cookie(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def test_an_invited_reviewer_signs_in_and_reads_the_queue_without_a_key(
    live_server: LiveServer,
) -> None:
    reviewer = person(live_server, REVIEWER_ORG, "reviewer", tag="reviewer")
    # The invitation works once.
    reused = reviewer.client.get("/account")
    assert reused.status_code == 200
    # A fresh sign-in (no cookie yet) with the password just set.
    response = signin(live_server, reviewer.email, PASSWORD, next="/review")
    assert response.status_code == 303 and response.headers["location"] == "/review"
    cookie = _set_cookie(response)["chainproof_session"]
    with httpx.Client(base_url=live_server.url, timeout=30) as browser:
        browser.cookies.set("chainproof_session", cookie.value)
        queue = browser.get("/api/v1/subsidy/applications")  # the queue's own API call
        assert queue.status_code == 200, queue.text
        assert isinstance(queue.json(), list)
        page = browser.get("/review")
        assert page.status_code == 200 and reviewer.email in page.text
        # No key anywhere: the request carried a cookie and nothing else.
        assert "authorization" not in {k.lower() for k in queue.request.headers}


def test_the_session_cookie_is_httponly_and_samesite(live_server: LiveServer) -> None:
    email = _email("flags")
    invite(live_server, email, APPLICANT_ORG, "submitter")
    token = invite(live_server, email, APPLICANT_ORG, "submitter")  # re-invite: new link
    response = httpx.post(
        live_server.url + "/invite",
        data={"token": token, "password": PASSWORD, "password2": PASSWORD},
        timeout=60,
    )
    assert response.status_code == 303
    morsel = _set_cookie(response)["chainproof_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() in ("lax", "strict")
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain HTTP here: a Secure cookie would never come back
    assert morsel.value.startswith("cps_") and len(morsel.value) > 40


def test_behind_an_https_proxy_the_cookie_is_secure_with_the_host_prefix(
    live_server: LiveServer,
) -> None:
    """uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (its --forwarded-allow-ips default),
    as from a TLS-terminating proxy on the same host."""
    email = _email("tls")
    invite(live_server, email, APPLICANT_ORG, "submitter")
    token = invite(live_server, email, APPLICANT_ORG, "submitter")
    https = {"X-Forwarded-Proto": "https"}
    response = httpx.post(
        live_server.url + "/invite",
        data={"token": token, "password": PASSWORD, "password2": PASSWORD},
        headers=https,
        timeout=60,
    )
    assert response.status_code == 303, response.text
    jar = _set_cookie(response)
    assert "chainproof_session" not in jar, "a cookie without the prefix over HTTPS"
    morsel = jar["__Host-chainproof_session"]
    assert morsel["secure"] is True and morsel["httponly"] is True
    assert morsel["path"] == "/" and not morsel["domain"]  # what __Host- requires
    assert morsel["samesite"].lower() in ("lax", "strict")
    # Over HTTPS only the __Host- cookie counts: the plain one (which any plain-HTTP
    # neighbour could plant) is ignored.
    value = morsel.value
    cookie = {"Cookie": f"__Host-chainproof_session={value}"}
    assert email in httpx.get(live_server.url + "/account", headers={**https, **cookie}).text
    planted = {"Cookie": f"chainproof_session={value}"}
    page = httpx.get(live_server.url + "/account", headers={**https, **planted})
    assert page.status_code == 303  # not signed in: to the sign-in page


def test_a_cross_site_form_post_is_refused(live_server: LiveServer) -> None:
    """The person is signed in; another site's page posts a form to our API and to the
    sign-out form. The browser may send the cookie (an old browser, a same-site
    subdomain): without this session's CSRF token, and from another origin, it is 403."""
    applicant = person(live_server, APPLICANT_ORG, "submitter", tag="csrf")
    cookie = applicant.client.cookies["chainproof_session"]
    evil = {
        "Origin": "https://evil.example",
        "Sec-Fetch-Site": "cross-site",
        "Cookie": f"chainproof_session={cookie}",
    }
    before = applicant.client.get("/api/v1/subsidy/applications").json()
    # What an HTML form on another site can send: multipart, here a file to anchor as the
    # victim's org.
    planted = f"forged {secrets.token_hex(8)}".encode()
    forged = httpx.post(
        live_server.url + "/api/v1/evidence",
        headers=evil,
        files={"file": ("forged.txt", planted)},
        data={"label": "forged"},
        timeout=30,
    )
    assert forged.status_code == 403, forged.text
    assert forged.json()["error"]["code"] == "forbidden"
    assert "CSRF" in forged.json()["error"]["message"]
    digest = "0x" + hashlib.sha256(planted).hexdigest()
    verdict = httpx.post(
        live_server.url + "/api/v1/verify",
        json={"algorithm": "sha256", "digest": digest},
        timeout=30,
    )
    assert verdict.json()["verdict"] == "not_found"  # nothing was anchored
    # Even with the right token, another origin is refused.
    with_token = httpx.post(
        live_server.url + "/api/v1/evidence/digests",
        headers={**evil, "X-CSRF-Token": applicant.csrf},
        json={"algorithm": "sha256", "digests": ["0x" + "ab" * 32]},
        timeout=30,
    )
    assert with_token.status_code == 403, with_token.text
    # From our own origin but without the token (a script that forgot it): refused too.
    no_token = applicant.client.post(
        "/api/v1/evidence/digests",
        json={"algorithm": "sha256", "digests": ["0x" + "cd" * 32]},
    )
    assert no_token.status_code == 403, no_token.text
    signout = httpx.post(
        live_server.url + "/signout", headers=evil, data={"csrf_token": "guess"}, timeout=30
    )
    assert signout.status_code == 403
    # Nothing changed, and the session is still alive.
    assert applicant.client.get("/api/v1/subsidy/applications").json() == before
    assert applicant.client.get("/account").status_code == 200
    # The page's own script call (same origin, the token): accepted.
    ok = applicant.client.post(
        "/api/v1/evidence/digests",
        headers={"X-CSRF-Token": applicant.csrf, "Origin": live_server.url},
        json={"algorithm": "sha256", "digests": ["0x" + secrets.token_hex(32)]},
    )
    assert ok.status_code == 202, ok.text


def test_repeated_wrong_passwords_lock_the_account_out(live_server: LiveServer) -> None:
    victim = person(live_server, APPLICANT_ORG, "submitter", tag="lock")
    for _ in range(5):
        failed = signin(live_server, victim.email, "wrong password " + secrets.token_hex(4))
        assert failed.status_code == 200 and "set-cookie" not in failed.headers
        assert "not right" in failed.text or "不正确" in failed.text
    locked = signin(live_server, victim.email, PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert "set-cookie" not in locked.headers
    assert int(locked.headers["retry-after"]) > 60
    assert "锁定" in locked.text and re.search(r"\d{2}:\d{2} UTC", locked.text)
    # An email nobody has locks out alike: the answer says nothing about who exists.
    ghost = _email("ghost")
    for _ in range(5):
        assert signin(live_server, ghost, "wrong password 1").status_code == 200
    assert signin(live_server, ghost, PASSWORD).status_code == 429
    # Another account from the same address is not locked (the address budget is larger).
    other = person(live_server, APPLICANT_ORG, "submitter", tag="other")
    assert signin(live_server, other.email, PASSWORD).status_code == 303


def test_an_unknown_email_and_a_wrong_password_read_the_same(live_server: LiveServer) -> None:
    known = person(live_server, APPLICANT_ORG, "submitter", tag="enum")
    wrong = signin(live_server, known.email, "not the password 1")
    unknown = signin(live_server, _email("nobody"), "not the password 1")
    assert wrong.status_code == unknown.status_code == 200

    def message(response: httpx.Response) -> str:
        return _between(response.text, 'id="signin-error">', "<")

    assert message(wrong) == message(unknown)


def test_an_applicant_cannot_reach_the_reviewers_pages_or_routes(live_server: LiveServer) -> None:
    applicant = person(live_server, APPLICANT_ORG, "submitter", tag="applicant")
    for path in ("/review", "/admin", "/applications/1/check", "/applications/1/report"):
        page = applicant.client.get(path)
        assert page.status_code == 403, (path, page.status_code)
        assert "submitter" in page.text
    api = applicant.client.get("/api/v1/users")
    assert api.status_code == 403
    invite_attempt = applicant.client.post(
        "/api/v1/users",
        headers={"X-CSRF-Token": applicant.csrf},
        json={"email": _email("x"), "org": APPLICANT_ORG, "role": "admin"},
    )
    assert invite_attempt.status_code == 403
    # Their own pages open.
    assert applicant.client.get("/applications").status_code == 200
    assert applicant.client.get("/anchor").status_code == 200
    # Nobody signed in is sent to sign in, and comes back after.
    anonymous = httpx.get(live_server.url + "/review", timeout=30)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/signin?next=/review"


def test_totp_enrolment_and_sign_in_with_a_real_code(live_server: LiveServer) -> None:
    user = person(live_server, REVIEWER_ORG, "reviewer", tag="totp")
    started = user.client.post("/account/totp", data={"csrf_token": user.csrf})
    assert started.status_code == 303
    page = user.client.get("/account")
    uri = _between(page.text, 'id="totp-uri">', "<")
    totp = pyotp.parse_uri(uri.replace("&amp;", "&"))
    assert isinstance(totp, pyotp.TOTP)
    wrong = user.client.post(
        "/account/totp/confirm", data={"csrf_token": user.csrf, "code": "000000"}
    )
    assert wrong.status_code == 422
    confirmed = user.client.post(
        "/account/totp/confirm", data={"csrf_token": user.csrf, "code": totp.now()}
    )
    assert confirmed.status_code == 200 and 'id="totp-state"' in confirmed.text
    # Without a code, the right password is not enough.
    assert signin(live_server, user.email, PASSWORD).status_code == 200
    assert signin(live_server, user.email, PASSWORD, code="123456").status_code == 200
    # The next step's code (the enrolment spent this one: a code is accepted once).
    code = totp.at(time.time() + 30)
    ok = signin(live_server, user.email, PASSWORD, code=code)
    assert ok.status_code == 303, ok.text
    assert signin(live_server, user.email, PASSWORD, code=code).status_code == 200  # replay


def test_sign_out_and_a_password_change_end_sessions(live_server: LiveServer) -> None:
    user = person(live_server, APPLICANT_ORG, "submitter", tag="sessions")
    laptop = signin(live_server, user.email, PASSWORD)
    assert laptop.status_code == 303
    laptop_cookie = {
        "Cookie": f"chainproof_session={_set_cookie(laptop)['chainproof_session'].value}"
    }
    assert httpx.get(live_server.url + "/account", headers=laptop_cookie).status_code == 200
    changed = user.client.post(
        "/account/password",
        data={"csrf_token": user.csrf, "current": PASSWORD, "new": PASSWORD + " 2"},
    )
    assert changed.status_code == 303
    # The laptop's session is over; this browser got a new one.
    assert httpx.get(live_server.url + "/account", headers=laptop_cookie).status_code == 303
    assert (
        httpx.get(
            live_server.url + "/api/v1/subsidy/applications", headers=laptop_cookie
        ).status_code
        == 401
    )
    page = user.client.get("/account")
    assert page.status_code == 200
    csrf = _csrf(page.text)
    old = user.client.cookies["chainproof_session"]
    out = user.client.post("/signout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert (
        httpx.get(
            live_server.url + "/account", headers={"Cookie": f"chainproof_session={old}"}
        ).status_code
        == 303
    )
