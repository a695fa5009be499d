"""The footer's claim, "files are hashed on your device", proved in Chromium (issue 17).

On a NON-secure origin (``http://chainproof.test:PORT``, a host name mapped to 127.0.0.1 with
``--host-resolver-rules``: no HTTPS, not localhost, so no WebCrypto ``subtle``), /anchor and
/verify hash a large file with each algorithm. Every request the browser makes (pages and
the hash worker) is recorded: no body carries file bytes (every body is a small JSON, none
multipart), the digests shown are chainproof.digests' of the same file, and the memory of
the tab's renderer processes (read from /proc, the worker and WebAssembly included) and of
its JS heap stays far below the file's size: the file is read in slices, never whole.

Before issue 17 this fails at the first algorithm: /verify uploaded the file (multipart)
whenever WebCrypto was missing, and always for keccak-256; /anchor uploaded every file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chainproof.digests import hash_file, to_hex

from ..signin import sign_in_browser
from .conftest import CHROMIUM, CHROMIUM_ARGS, SUBMITTER_ORG, LiveServer, shot
from .test_pages import no_script_errors

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request

HOST = "chainproof.test"
MIB = 1 << 20
SIZE = 300 * MIB  # the figure
ALGORITHMS = ("sha256", "sm3", "keccak256")
BODY_LIMIT = 4096  # a digest request is ~150 bytes; a file slice would be megabytes
HASH_TIMEOUT_MS = 600_000  # a loaded 2-core machine; a DoS-style bound, not a speed test
# Hooked in by page.evaluate (CDP, not a page script, so the CSP does not apply): every
# "n%" progress text the page shows while hashing.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  new MutationObserver(() => {
    const m = document.body.innerText.match(/(\\d+)%/);
    if (m) window.__progress.push(Number(m[1]));
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(root: int) -> list[int]:
    tree, out, todo = _children(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pss(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _browsers() -> set[int]:
    """Chromium browser processes started (through Playwright's driver) by this process."""
    # /usr/bin/chromium is Debian's wrapper script: the browser is the binary it runs.
    found = set()
    for pid in _descendants(os.getpid()):
        argv = _cmdline(pid).split(" ")
        if argv[0].endswith("/chromium") and "--type=" not in _cmdline(pid):
            found.add(pid)
    return found


@dataclass
class RendererMemory:
    """Peak resident memory of one browser's renderers (pages, their workers), sampled."""

    browser_pid: int
    peak: int = 0
    baseline: int = 0
    renderers: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def now(self) -> int:
        return sum(
            _pss(pid)
            for pid in _descendants(self.browser_pid)
            if "--type=renderer" in _cmdline(pid)
        )

    def count(self) -> int:
        return sum(
            1 for pid in _descendants(self.browser_pid) if "--type=renderer" in _cmdline(pid)
        )

    def run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.now())

    @classmethod
    @contextmanager
    def watching(cls, browser_pid: int) -> Iterator[RendererMemory]:
        memory = cls(browser_pid)
        memory.baseline = memory.now()
        memory.renderers = memory.count()
        thread = threading.Thread(target=memory.run, name="renderer-rss", daemon=True)
        thread.start()
        try:
            yield memory
        finally:
            memory._stop.set()
            thread.join(timeout=5)


@dataclass
class Insecure:
    browser: Browser
    pid: int


@pytest.fixture(scope="module")
def insecure(browser: Browser) -> Iterator[Insecure]:
    """A second Chromium that resolves chainproof.test to 127.0.0.1 (plain HTTP)."""
    before = _browsers()
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
            "--enable-precise-memory-info",  # performance.memory, not bucketed
        ],
    )
    try:
        (pid,) = _browsers() - before
        yield Insecure(launched, pid)
    finally:
        launched.close()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A sparse 300 MiB file, unique (random MiBs at start, middle and end), and its
    digests by chainproof.digests."""
    path = tmp_path_factory.mktemp("big") / "大文件-300MiB.bin"
    with path.open("wb") as f:
        f.truncate(SIZE)
        for offset in (0, SIZE // 2 - 12345, SIZE - MIB):
            f.seek(offset)
            f.write(os.urandom(MIB))
    return path, {a: to_hex(hash_file(path, a)) for a in ALGORITHMS}  # type: ignore[arg-type]


@dataclass
class Recorded:
    method: str
    url: str
    body: int
    content_type: str


@pytest.fixture
def recorded(insecure: Insecure) -> Iterator[tuple[BrowserContext, list[Recorded]]]:
    ctx = insecure.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(30_000)
    requests: list[Recorded] = []

    def record(r: Request) -> None:
        body = r.post_data_buffer
        requests.append(
            Recorded(r.method, r.url, len(body or b""), r.headers.get("content-type", ""))
        )

    ctx.on("request", record)  # the pages' and their workers' requests
    try:
        yield ctx, requests
    finally:
        ctx.close()


def _open(ctx: BrowserContext, server: LiveServer, path: str) -> Page:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.script_errors = errors  # type: ignore[attr-defined]
    port = server.url.rsplit(":", 1)[1]
    page.goto(f"http://{HOST}:{port}{path}")
    # Plain HTTP on a host that is not localhost: no secure context, no WebCrypto subtle.
    assert page.evaluate("() => [window.isSecureContext, !!(window.crypto && crypto.subtle)]") == [
        False,
        False,
    ]
    page.evaluate(WATCH_PROGRESS)
    return page


def _no_file_bytes(requests: list[Recorded]) -> None:
    with_body = [r for r in requests if r.method not in ("GET", "HEAD")]
    assert with_body, "the page sent nothing: the check below would prove nothing"
    for r in with_body:
        assert r.body <= BODY_LIMIT, r
        assert r.content_type.startswith("application/json"), r
        assert "multipart" not in r.content_type, r


def _bounded(page: Page, memory: RendererMemory, figures: dict[str, Any]) -> None:
    heap = int(page.evaluate("() => performance.memory.usedJSHeapSize"))
    figures["js_heap_mib"] = round(heap / MIB, 1)
    figures["renderer_peak_pss_mib"] = round(memory.peak / MIB, 1)
    figures["renderer_before_pss_mib"] = round(memory.baseline / MIB, 1)
    figures["renderers"] = memory.renderers
    print(figures)  # the report's figures (pytest -s)
    assert heap < SIZE // 10, figures
    # Every renderer of this browser (the page, the worker, WebAssembly): what hashing added
    # to their memory at its peak is well under the file's size (a whole-file read, as
    # common.js's SHA-256 did before, adds at least the file), and it has slices to free.
    assert memory.baseline > 0 and memory.peak - memory.baseline < SIZE * 2 // 3, figures


def _progress_seen(page: Page) -> list[int]:
    seen: list[int] = page.evaluate("() => window.__progress")
    # 8 MiB slices of 300 MiB: many distinct percentages, rising, not just "done".
    assert len(set(seen)) >= 5 and seen == sorted(seen), seen
    return seen


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_anchor_then_verify_hash_locally_on_an_insecure_origin(
    live_server: LiveServer,
    insecure: Insecure,
    big_file: tuple[Path, dict[str, str]],
    recorded: tuple[BrowserContext, list[Recorded]],
    algorithm: str,
) -> None:
    path, digests = big_file
    ctx, requests = recorded
    figures: dict[str, Any] = {"algorithm": algorithm, "size_mib": SIZE // MIB}

    # /anchor: hashed here, only the digest sent (POST /api/v1/evidence/digests).
    # Signed in on the same insecure origin (the session cookie, no key in the tab).
    port = live_server.url.rsplit(":", 1)[1]
    signin = ctx.new_page()
    url = live_server.settings.resolved_database_url
    sign_in_browser(signin, f"http://{HOST}:{port}", url, SUBMITTER_ORG, "submitter")
    signin.close()
    requests.clear()  # what follows is the page's own traffic
    page = _open(ctx, live_server, "/anchor")
    page.get_by_label("备注").fill(f"本机计算 {algorithm}")
    page.select_option("#algorithm", algorithm)
    page.set_input_files("#files", str(path))
    with RendererMemory.watching(insecure.pid) as memory:
        started = time.monotonic()
        page.get_by_role("button", name="提交存证").click()
        item = page.locator(".anchor-item").first
        item.wait_for(timeout=HASH_TIMEOUT_MS)
        figures["anchor_s"] = round(time.monotonic() - started, 1)
    assert item.locator(".digest").inner_text() == digests[algorithm]
    _progress_seen(page)
    _bounded(page, memory, figures)
    posts = [r for r in requests if r.method == "POST"]
    assert [r.url.split("/api/v1")[1] for r in posts] == ["/evidence/digests"], posts
    page.locator('.anchor-item[data-status="anchored"]').wait_for(timeout=30_000)
    no_script_errors(page)
    page.close()
    _no_file_bytes(requests)

    # /verify: hashed here, only the digest sent (POST /api/v1/verify); it was anchored.
    requests.clear()
    page = _open(ctx, live_server, "/verify")
    page.select_option("#algorithm", algorithm)
    with RendererMemory.watching(insecure.pid) as memory:
        started = time.monotonic()
        page.set_input_files("#files", str(path))
        page.locator('tr.result[data-verdict="anchored"]').wait_for(timeout=HASH_TIMEOUT_MS)
        figures["verify_s"] = round(time.monotonic() - started, 1)
    assert digests[algorithm] in page.locator("tr.result").first.inner_text()
    _progress_seen(page)
    _bounded(page, memory, figures)
    posts = [r for r in requests if r.method == "POST"]
    assert [r.url.split("/api/v1")[1] for r in posts] == ["/verify"], posts
    shot(page, f"verify-insecure-{algorithm}")
    no_script_errors(page)
    page.close()
    _no_file_bytes(requests)


def test_the_scan_page_checks_on_an_insecure_origin(
    live_server: LiveServer, recorded: tuple[BrowserContext, list[Recorded]]
) -> None:
    """The scan page hashes events, links and the item key with hash-wasm: on plain HTTP it
    checks everything itself (before issue 17 it said "no Web Crypto" and checked nothing)."""
    from eth_utils import keccak

    from chainproof.store import db
    from chainproof.trace.demo import seed_trace_demo

    engine = db.make_engine(live_server.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)
    finally:
        engine.dispose()
    published = live_server.post(
        "/api/v1/trace/publish", headers={"Authorization": f"Bearer {live_server.admin_key}"}
    )
    assert published.status_code == 200, published.text
    path = demo.scan_paths[0]
    view = live_server.get("/api/v1/trace/items/" + path.removeprefix("/t/")).json()
    ctx, _ = recorded
    page = _open(ctx, live_server, path)
    badge = page.locator("#trace-badge[data-checked=browser]")
    badge.wait_for()
    # An in-process chain has no node for the browser: checked, then "server_only".
    assert badge.get_attribute("data-reason") == "server_only"
    assert page.locator(".trace-check.ok").count() == len(view["events"]) > 0
    salt = bytes.fromhex(view["salt"][2:])
    expected_key = "0x" + keccak(salt + view["uri"].encode()).hex()
    assert page.get_by_test_id("trace-computed-key").inner_text() == expected_key
    assert page.get_by_test_id("trace-computed-head").inner_text() == view["onchain"]["head"]
    no_script_errors(page)


def test_a_vendored_file_changed_after_it_was_pinned_is_refused(
    live_server: LiveServer, page: Page
) -> None:
    """The script tags' integrity (web/vendor.py) is enforced: one byte more and Chromium
    refuses hash-wasm, so the page has no hasher rather than an unknown one."""
    page.goto(live_server.url + "/receipt")
    assert page.evaluate("() => typeof window.hashwasm?.createKeccak") == "function"
    served = live_server.get("/static/vendor/hash-wasm/keccak.umd.min.js").content
    page.route(
        "**/vendor/hash-wasm/keccak.umd.min.js",
        lambda route: route.fulfill(
            body=served + b"\n", content_type="application/javascript", status=200
        ),
    )
    page.goto(live_server.url + "/receipt")
    assert page.evaluate("() => typeof window.hashwasm") == "undefined"
