"""Headers and leaks, against a real ``chainproof serve`` (issue 14, finding 10; F21).

* every page carries a Content-Security-Policy without inline script, ``frame-ancestors
  'none'``, ``X-Frame-Options``, ``nosniff`` and ``Referrer-Policy``; the API ``nosniff``;
* certificate links and their QR code (decoded from the PDF with ``pdftoppm`` + ``zbarimg``)
  name ``CHAINPROOF_PUBLIC_URL`` whatever ``Host`` the request claims;
* the node's private URL (a token in it) is published nowhere, and once the node is gone
  ``/readyz`` and the API answer a code and a fixed text, no exception text.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chainproof import identity
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import free_port
from chainproof.store import db

from ..conftest import node_binary_present, require
from . import _procs

PUBLIC_URL = "https://proof.example.org"
EVIL_HOST = "evil.example.net"
SECRET = "s3cret-rpc-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_procs.Proc]:
    """``chainproof serve --chain embedded`` with a configured public URL."""
    root = tmp_path_factory.mktemp("headers")
    proc = _procs.serve(
        root / "data",
        chain="embedded",
        log=root / "serve.log",
        CHAINPROOF_PUBLIC_URL=PUBLIC_URL,
        CHAINPROOF_BATCH_INTERVAL_MS="100",
    ).start()
    try:
        proc.wait_http("/readyz")
        yield proc
    finally:
        proc.stop()


def _key(proc: _procs.Proc) -> str:
    data_dir = Path(proc.argv[proc.argv.index("--data-dir") + 1])
    with db.open_session(f"sqlite:///{data_dir / 'chainproof.db'}") as session:
        _, key = identity.create_api_key(session=session, org="示范企业甲", role="submitter")
    return key


def _anchored_id(proc: _procs.Proc) -> str:
    headers = {"Authorization": f"Bearer {_key(proc)}"}
    r = httpx.post(
        proc.url + "/api/v1/evidence",
        headers=headers,
        files={"file": ("a.txt", f"headers {time.time_ns()}".encode())},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    evidence_id = r.json()["items"][0]["id"]
    deadline = time.monotonic() + 60
    while (
        httpx.get(f"{proc.url}/api/v1/evidence/{evidence_id}", headers=headers).json()["status"]
        != "anchored"
    ):
        assert time.monotonic() < deadline, "not anchored in 60 s"
        time.sleep(0.1)
    return str(evidence_id)


PAGES = ["/", "/verify", "/anchor", "/receipt", "/explorer", "/admin", "/applications", "/t/x"]
PAGES += ["/signin", "/invite?token=cpi_none"]
OTHERS = ["/api/v1/chain", "/healthz", "/api/v1/evidence/424242", "/static/js/common.js", "/nope"]


def test_every_page_has_a_csp_without_inline_script_and_framing_headers(
    server: _procs.Proc,
) -> None:
    for path in PAGES:
        # Pages for a role send a visitor to sign in (issue 17): the sign-in page is checked.
        r = httpx.get(server.url + path, timeout=30, follow_redirects=True)
        assert r.headers["content-type"].startswith("text/html"), path
        csp = r.headers.get("content-security-policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        # WebAssembly for hash-wasm (files hashed on the device), and no other script source.
        assert directives.get("script-src") == ["'self'", "'wasm-unsafe-eval'"], (path, csp)
        assert directives.get("worker-src") == ["'self'"], (path, csp)
        assert directives.get("frame-ancestors") == ["'none'"], (path, csp)
        assert directives.get("default-src") == ["'none'"], (path, csp)
        assert r.headers.get("x-frame-options") == "DENY", path
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("referrer-policy") == "no-referrer", path


def test_api_answers_and_refusals_are_nosniff(server: _procs.Proc) -> None:
    answers = [httpx.get(server.url + path, timeout=30) for path in OTHERS]
    answers.append(httpx.post(server.url + "/api/v1/verify", json={"x": 1}, timeout=30))
    answers.append(httpx.head(server.url + "/healthz", timeout=30))
    for r in answers:
        assert r.headers.get("x-content-type-options") == "nosniff", r.request.url
        assert r.headers.get("x-frame-options") == "DENY", r.request.url


def test_the_api_docs_allow_their_inline_script_by_hash_only(server: _procs.Proc) -> None:
    r = httpx.get(server.url + "/docs", timeout=30)
    csp = r.headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'sha256-" in script_src and "unsafe-inline" not in script_src, csp
    assert "frame-ancestors 'none'" in csp


def test_certificate_urls_and_qr_ignore_the_host_header(server: _procs.Proc) -> None:
    evidence_id = _anchored_id(server)
    spoofed = {"Host": EVIL_HOST, "X-Forwarded-Host": EVIL_HOST}
    for path in (f"/evidence/{evidence_id}", f"/evidence/{evidence_id}/certificate"):
        page = httpx.get(server.url + path, headers=spoofed, timeout=30)
        assert page.status_code == 200, (path, page.text[:300])
        assert EVIL_HOST not in page.text, path
    # The certificate's link (and QR code) lead to the record's page on the public URL.
    assert f"{PUBLIC_URL}/evidence/{evidence_id}" in page.text
    require(
        shutil.which("pdftoppm") is not None and shutil.which("zbarimg") is not None,
        "poppler-utils and zbar-tools are needed to read the certificate's QR code",
    )
    pdf = httpx.get(  # the PDF states private facts: for the member's key only
        f"{server.url}/evidence/{evidence_id}/certificate.pdf",
        headers={**spoofed, "Authorization": f"Bearer {_key(server)}"},
        timeout=60,
    )
    assert pdf.status_code == 200, pdf.text[:300]
    work = Path(server.log).parent
    (work / "cert.pdf").write_bytes(pdf.content)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            str(work / "cert.pdf"),
            str(work / "cert"),
        ],
        check=True,
        timeout=60,
    )
    [image] = sorted(work.glob("cert*.png"))
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True, timeout=60
    )
    urls = decoded.stdout.split()
    assert urls == [f"{PUBLIC_URL}/evidence/{evidence_id}"], decoded
    assert EVIL_HOST not in decoded.stdout


def test_private_rpc_url_is_never_published_and_readyz_shows_no_exception_text(
    tmp_path: Path,
) -> None:
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(state_file=tmp_path / "anvil" / "state.json", port=free_port())
    node.start()
    assert node.rpc_url
    private = node.rpc_url.replace("http://", f"http://operator:{SECRET}@")
    proc = _procs.serve(tmp_path / "data", chain=private, log=tmp_path / "serve.log").start()
    try:
        proc.wait_http("/readyz")
        chain = httpx.get(proc.url + "/api/v1/chain", timeout=30)
        assert chain.status_code == 200 and chain.json()["rpc_url"] is None, chain.text
        for path in ("/api/v1/chain", "/receipt", "/explorer", "/readyz"):
            assert SECRET not in httpx.get(proc.url + path, timeout=30).text, path

        node.stop()  # the node is gone: every answer says so in fixed words
        deadline = time.monotonic() + 60
        while (ready := httpx.get(proc.url + "/readyz", timeout=30)).status_code != 503:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
        body = ready.json()
        assert body["error"]["code"] == "unreachable", body
        assert body["checks"]["chain"]["detail"] == "chain node unreachable", body
        answers = [
            ready,
            httpx.get(proc.url + "/api/v1/chain", timeout=30),
            httpx.get(proc.url + "/explorer", timeout=30),
        ]
        port = node.rpc_url.rsplit(":", 1)[1]
        for r in answers:
            for leak in (SECRET, f"127.0.0.1:{port}", "Error", "Traceback", "HTTPConnection"):
                assert leak not in r.text, (r.request.url, leak, r.text[:400])
    finally:
        proc.stop()
        node.stop()
