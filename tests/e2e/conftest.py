"""Browser tests: the pages under real uvicorn, driven by Playwright in Debian's Chromium.

One server serves the whole e2e session: an embedded chain (eth-tester + py-evm, in this
process), SQLite in a temporary folder, a batcher that anchors every 50 ms, and the pages
wired the way ``api/app.py`` wires them (``web.install``). Chromium is Debian's
``/usr/bin/chromium`` (``apt-get install chromium``): Playwright never downloads a browser
here. Without Chromium or Playwright the tests skip loudly, and fail under
``CHAINPROOF_REQUIRE_ALL=1``.

Screenshots go to ``test-artifacts/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from chainproof import identity, tls, web
from chainproof.api.app import create_app
from chainproof.chain.context import open_chain
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.store import db

from ..conftest import ROOT, node_binary_present, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SUBMITTER_ORG = "广西壮族自治区柳州市融安县金桔种植专业合作社联合社区块链溯源示范应用项目组"
ADMIN_ORG = "中国—东盟区块链创新中心"
PHONE = {"width": 390, "height": 844}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def tool_missing(*names: str) -> str | None:
    for name in names:
        if shutil.which(name) is None:
            package = {"pdftoppm": "poppler-utils", "zbarimg": "zbar-tools"}.get(name, name)
            return f"{name} is missing (apt-get install {package})"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """The running server: its URL and the keys the tests use."""

    url: str
    settings: Settings
    submitter_key: str
    admin_key: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, verify=tls.client_context(), **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=30, verify=tls.client_context(), **kwargs)

    def anchor(self, name: str, content: bytes) -> dict[str, Any]:
        """Anchors one file through the API and waits for it (bounded)."""
        response = self.post(
            "/api/v1/evidence",
            headers={"Authorization": f"Bearer {self.submitter_key}"},
            files=[("file", (name, content))],
        )
        assert response.status_code == 202, response.text
        evidence_id = response.json()["items"][0]["id"]
        deadline = time.monotonic() + 30
        while True:
            # As its member sees it: strangers get the status only.
            body: dict[str, Any] = self.get(
                f"/api/v1/evidence/{evidence_id}",
                headers={"Authorization": f"Bearer {self.submitter_key}"},
            ).json()
            if body["status"] == "anchored":
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.05)


@contextmanager
def _serve(tmp: Path, chain_kind: str) -> Iterator[LiveServer]:
    """uvicorn on a free port: API + pages on ``chain_kind``, batches every 50 ms."""
    import uvicorn

    chain = open_chain(chain=chain_kind, data_dir=tmp / "chain", operator_key=DEV_OPERATOR_KEY)
    port = _free_port()
    settings = Settings(
        env="test",
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'chainproof.db'}",
        chain=chain.node.rpc_url or chain_kind,
        # An external node's URL is never published unless configured: this one is meant
        # for the browser (the receipt and scan pages ask it).
        public_rpc_url=chain.node.rpc_url,
        public_url=f"http://127.0.0.1:{port}",  # certificate links: never the Host header
        batch_size=50,
        batch_interval_ms=50,
        # Every browser test signs people in from 127.0.0.1: the per-address sign-in budget
        # (proved in tests/security/test_signin_limits.py) would cut the suite short.
        rate_limit_signin="100000/minute",
    )
    app = create_app(settings, chain=chain)
    web.install(app)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start in 60 s"
            time.sleep(0.05)
        with db.open_session(settings.resolved_database_url) as session:
            _, submitter = identity.create_api_key(
                session=session, org=SUBMITTER_ORG, role="submitter"
            )
            _, admin = identity.create_api_key(session=session, org=ADMIN_ORG, role="admin")
        yield LiveServer(f"http://127.0.0.1:{port}", settings, submitter, admin)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        chain.stop()


# Module scope, not session: a server's batcher, chain writer and publishers poll while it
# idles (about an eighth of a core with the tests' 50 ms batches), and a session-scoped
# pair lived on in every worker for the rest of the run; a start costs about a second.
@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The pages on an embedded chain (in this process): most browser tests use this one."""
    with _serve(tmp_path_factory.mktemp("e2e"), "embedded") as server:
        yield server


@pytest.fixture(scope="module")
def anvil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The pages on a managed Anvil: a JSON-RPC node the browser itself can ask."""
    require(node_binary_present("anvil"), "Anvil is missing from node_modules (npm install)")
    with _serve(tmp_path_factory.mktemp("e2e-anvil"), "anvil") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, kept off the network (RECIPES.md, python.md)."""
    missing = browser_missing()
    require(missing is None, f"browser tests cannot run: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop browser profile (no cookies, no sessionStorage)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page that fails the test on any script error."""
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.script_errors = errors  # type: ignore[attr-defined]
    return opened


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 390×844 phone viewport (touch, mobile user agent scaling)."""
    ctx = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    ctx.set_default_timeout(15_000)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Saves a screenshot under test-artifacts/screenshots/ and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
