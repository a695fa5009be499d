"""``make demo``'s seeding against a real Anvil: run twice, the second run adds nothing (same
applications, same evidence, same keys), and every URL the demo prints answers 200."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func
from sqlmodel import select

from chainproof.api.app import create_app
from chainproof.chain.context import open_chain
from chainproof.chain.nodes import free_port
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.demo import CASES, KEYS_FILE, ROUND_CODE, seed_demo
from chainproof.store import db
from chainproof.store.models import Evidence
from chainproof.subsidy.models import Application, Document, Transition

from ..conftest import node_binary_present, require


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The platform as ``chainproof demo`` runs it: a managed Anvil, the API, the pages and
    the batcher under uvicorn on a free port."""
    require(node_binary_present("anvil"), "the anvil binary is missing from node_modules")
    chain = open_chain(
        chain="anvil",
        data_dir=tmp_path / "chain",
        operator_key=DEV_OPERATOR_KEY,
        port=free_port(),
    )
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'chainproof.db'}",
        chain="anvil",
        batch_interval_ms=50,
    )
    settings.data_dir.mkdir(parents=True)
    app = create_app(settings, chain=chain)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, name="demo-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", settings
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        chain.stop()


def _counts(database_url: str) -> dict[str, int]:
    with db.open_session(database_url) as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in (Application, Document, Transition, Evidence)
        }


@pytest.mark.slow
def test_seeding_twice_adds_nothing_and_the_urls_answer(
    demo_server: tuple[str, Settings],
) -> None:
    base_url, settings = demo_server
    said: list[str] = []
    first = seed_demo(
        base_url=base_url,
        data_dir=settings.data_dir,
        database_url=settings.resolved_database_url,
        say=said.append,
    )
    assert first.created > 0
    assert set(first.applications) == {c.org for c in CASES}
    assert {first.statuses[c.org] for c in CASES} == {
        "submitted",
        "under_review",
        "acceptance_submitted",
    }
    assert first.integrity_all_match is True
    counts = _counts(settings.resolved_database_url)
    assert counts["Application"] == len(CASES)
    expected_docs = sum(len(c.documents) + len(c.invoices) for c in CASES)
    assert counts["Document"] == expected_docs

    # The two applications in acceptance: one reaches 3 ×, one does not and reuses an invoice.
    reviewer = {"Authorization": f"Bearer {first.keys.reviewer}"}
    acceptance: dict[str, Any] = {}
    for case in CASES:
        if case.stage == "acceptance_submitted":
            app_id = first.applications[case.org]
            url = f"{base_url}/api/v1/subsidy/applications/{app_id}/acceptance"
            acceptance[case.org] = httpx.get(url, headers=reviewer, timeout=30).json()
    passed = sorted(a["passed"] for a in acceptance.values())
    assert passed == [False, True], acceptance
    failing = next(a for a in acceptance.values() if a["passed"] is False)
    assert any(d["reused"] for d in failing["documents"])
    assert "3倍" in failing["reasons"][0]

    # Again, as after a restart on the persisted chain and data directory.
    second = seed_demo(
        base_url=base_url,
        data_dir=settings.data_dir,
        database_url=settings.resolved_database_url,
        say=said.append,
    )
    assert second.created == 0
    assert second.applications == first.applications
    assert second.keys == first.keys  # printed again from demo-keys.json
    assert _counts(settings.resolved_database_url) == counts
    kept = json.loads((settings.data_dir / KEYS_FILE).read_text(encoding="utf-8"))
    assert kept["reviewer"] == first.keys.reviewer
    rounds = httpx.get(f"{base_url}/api/v1/subsidy/rounds", timeout=30).json()
    assert [r["code"] for r in rounds].count(ROUND_CODE) == 1

    if importlib.util.find_spec("chainproof.trace.demo") is not None:
        assert "scan page 1" in second.urls  # the trace items, seeded beside the case
        _trace_keys_capture_for_their_own_org(base_url, first.keys.trace)
    # The demo's people sign in with the passwords it prints (kept for the next run), and
    # every URL it prints answers the admin among them.
    assert second.people == first.people and len(first.people) == 2 + len(CASES)
    admin = next(p for p in first.people if p.role == "admin")
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        signed = browser.post("/signin", data={"email": admin.email, "password": admin.password})
        assert signed.status_code == 303, signed.text
        for name, url in second.urls.items():
            response = browser.get(url)
            assert response.status_code == 200, (name, url, response.status_code)


def _trace_keys_capture_for_their_own_org(base_url: str, keys: dict[str, str]) -> None:
    """Each printed trace key is its org's: it captures at the org's own location, on the
    items it holds (the market received the box last), and another org's key is refused
    there (403: not a location it owns, nor an item it holds)."""
    from chainproof.trace import demo as trace_demo

    assert set(keys) == set(trace_demo.ORGS)
    producer, other = "南宁水果超市", "融安金桔合作社"
    box = f"{trace_demo.DL}/01/{trace_demo.KUMQUAT_BOX}/21/JJ0001"
    doc = trace_demo._doc(
        trace_demo._ev(
            "ObjectEvent",
            "inspecting",
            "2024-11-21T09:00:00+08:00",
            trace_demo.MARKET,
            epcList=[box],
        )
    )
    url = f"{base_url}/api/v1/trace/capture"
    refused = httpx.post(
        url, json=doc, headers={"Authorization": f"Bearer {keys[other]}"}, timeout=30
    )
    assert refused.status_code == 403, refused.text
    captured = httpx.post(
        url, json=doc, headers={"Authorization": f"Bearer {keys[producer]}"}, timeout=30
    )
    assert captured.status_code == 201, captured.text
