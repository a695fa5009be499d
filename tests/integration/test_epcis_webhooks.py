"""EPCIS webhook subscriptions (issue 24.4): a real HTTP receiver in this process gets each
new event the subscribed named query matches, once, signed with HMAC-SHA256 of the body;
its first answer is a 500, so the delivery is retried with back-off; a second app process
on the same database after a restart delivers what is left and nothing twice; destinations
on loopback are refused unless the operator allows them; a sender killed with SIGKILL mid-POST
leaves its delivery to the next sender. Fails on main: no /epcis."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.api.routes.epcis import query as query_routes
from chainproof.chain.context import ChainContext, open_chain
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.store import db
from chainproof.store.models import Member
from chainproof.trace import epcis_webhooks
from chainproof.trace.epcis_models import EpcisEvent

CTX = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
PYTHONPATH = str(Path(__file__).resolve().parents[2] / "backend")
TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainContext]:
    """An embedded chain with EvidenceRegistry deployed."""
    context = open_chain(
        chain="embedded", data_dir=tmp_path_factory.mktemp("chain"), operator_key=DEV_OPERATOR_KEY
    )
    try:
        yield context
    finally:
        context.stop()


class Receiver:
    """An HTTP server recording each POST; answers 500 to the first ``fail_first`` posts."""

    def __init__(self, fail_first: int) -> None:
        self.posts: list[tuple[int, bytes, dict[str, str]]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.posts) < receiver.fail_first else 204
                receiver.posts.append((status, body, dict(self.headers)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered_events(
        self, posts: list[tuple[int, bytes, dict[str, str]]] | None = None
    ) -> list[str]:
        out = []
        for status, body, _ in self.posts if posts is None else posts:
            if status == 204:
                doc = json.loads(body)
                events = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                out += [e["eventID"] for e in events]
        return out


def _settings(tmp: Path, *, allow_private: bool) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'cp.db'}",
        chain="embedded",
        epcis_webhook_allow_private=allow_private,
        epcis_webhook_interval_seconds=0.1,
    )


def _event(serial: str, step: str) -> dict[str, Any]:
    return {
        "@context": [CTX],
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T08:30:00Z",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [f"urn:epc:id:sgtin:9521234.054321.{serial}"],
        "action": "OBSERVE",
        "bizStep": step,
        "readPoint": {"id": "urn:epc:id:sgln:9521234.00001.0"},
    }


def _setup(client: TestClient, settings: Settings) -> dict[str, str]:
    url = settings.resolved_database_url
    with db.open_session(url) as s:
        _, key = identity.create_api_key(session=s, org="Hook Co", role="submitter")
        _, admin = identity.create_api_key(session=s, org="运营方", role="admin")
        member = s.exec(select(Member).where(Member.name == "Hook Co")).one()
    r = client.post(
        "/api/v1/trace/orgs",
        headers={"Authorization": f"Bearer {admin}"},
        json={"member_id": member.id, "role": "producer", "glns": [], "prefixes": ["9521234"]},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {key}"}


def _capture(client: TestClient, headers: dict[str, str], *events: dict[str, Any]) -> list[str]:
    ids = []
    for event in events:
        r = client.post(
            "/epcis/events",
            content=json.dumps(event),
            headers={**headers, "Content-Type": "application/ld+json"},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["eventID"])
    return ids


def _wait(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_each_matching_event_arrives_once_signed_after_a_retry_and_a_restart(
    chain: ChainContext, tmp_path: Path
) -> None:
    receiver = Receiver(fail_first=1)
    settings = _settings(tmp_path, allow_private=True)
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        headers = _setup(client, settings)
        early = _capture(client, headers, _event("0", "shipping"))  # before subscribing
        query = {"name": "shipped", "query": {"EQ_bizStep": ["shipping"]}}
        assert client.post("/epcis/queries", json=query, headers=headers).status_code == 201
        r = client.post(
            "/epcis/queries/shipped/subscriptions",
            json={"dest": receiver.url, "signatureToken": TOKEN, "stream": True},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        assert TOKEN not in r.text  # the secret is never shown back
        first = _capture(client, headers, _event("1", "shipping"), _event("2", "receiving"))
        _wait(lambda: first[0] in receiver.delivered_events(), "first delivery")
    # The server stops; events captured while no process runs are delivered after restart.
    second = []
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        second = _capture(client, headers, _event("3", "shipping"), _event("4", "shipping"))
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        _wait(lambda: set(second) <= set(receiver.delivered_events()), "after the restart")
        time.sleep(0.5)  # a few more rounds: nothing more may arrive
    delivered = receiver.delivered_events()
    assert sorted(delivered) == sorted([first[0], *second])  # each matching new event once
    assert early[0] not in delivered and first[1] not in delivered
    assert receiver.posts[0][0] == 500  # the first attempt failed and was retried
    for _, body, sent in receiver.posts:
        want = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
        assert sent["GS1-Signature"] == want


def test_loopback_destinations_are_refused_unless_allowed(
    chain: ChainContext, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, allow_private=False)
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        headers = _setup(client, settings)
        query = {"name": "all", "query": {}}
        assert client.post("/epcis/queries", json=query, headers=headers).status_code == 201
        for dest in ("http://127.0.0.1:8080/hook", "http://10.0.0.5/hook", "http://[::1]/x"):
            r = client.post(
                "/epcis/queries/all/subscriptions",
                json={"dest": dest, "stream": True},
                headers=headers,
            )
            assert r.status_code == 400, (dest, r.text)
            assert "not a public address" in r.json()["detail"]
        r = client.post(
            "/epcis/queries/all/subscriptions",
            json={"dest": "ftp://example.org/x", "stream": True},
            headers=headers,
        )
        assert r.status_code == 400


def test_a_scheduled_subscription_runs_at_its_times_and_reports_if_empty(
    chain: ChainContext, tmp_path: Path
) -> None:
    """GS1's QueryScheduleSubscription: a schedule every second with reportIfEmpty sends an
    empty query document before any event (a stream never does), then the matching new
    event once, signed. Before, every schedule was a 400."""
    receiver = Receiver(fail_first=0)
    settings = _settings(tmp_path, allow_private=True)
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        headers = _setup(client, settings)
        query = {"name": "shipped", "query": {"EQ_bizStep": ["shipping"]}}
        assert client.post("/epcis/queries", json=query, headers=headers).status_code == 201
        for wrong in (
            {"dest": receiver.url},  # neither stream nor schedule
            {"dest": receiver.url, "stream": True, "schedule": {"second": "0"}},
            {"dest": receiver.url, "schedule": {"month": "2", "dayOfMonth": "30"}},
            {"dest": receiver.url, "schedule": {"hour": "24"}},
        ):
            r = client.post("/epcis/queries/shipped/subscriptions", json=wrong, headers=headers)
            assert r.status_code == 400, (wrong, r.text)
        every_second = {"second": "[0-59]"}
        r = client.post(
            "/epcis/queries/shipped/subscriptions",
            json={
                "dest": receiver.url,
                "signatureToken": TOKEN,
                "reportIfEmpty": True,
                "schedule": every_second,
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
        shown = client.get(r.headers["Location"], headers=headers).json()
        assert (shown["stream"], shown["schedule"], shown["reportIfEmpty"]) == (
            False,
            every_second,
            True,
        )
        _wait(lambda: len(receiver.posts) >= 1, "an empty scheduled report")
        assert receiver.delivered_events() == []
        ids = _capture(client, headers, _event("1", "shipping"), _event("2", "receiving"))
        _wait(lambda: ids[0] in receiver.delivered_events(), "the scheduled delivery")
    assert receiver.delivered_events() == [ids[0]]
    for _, body, sent in receiver.posts:
        want = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
        assert sent["GS1-Signature"] == want


_SENDER = """
import sys, httpx
from chainproof.store import db
from chainproof.trace import epcis_webhooks
engine = db.make_engine(sys.argv[1])
with httpx.Client(timeout=60) as client:
    epcis_webhooks.send_due(engine, allow_private=True, client=client, lease=float(sys.argv[2]))
"""


def test_a_sender_killed_mid_post_leaves_the_delivery_to_be_sent_again(
    chain: ChainContext, tmp_path: Path
) -> None:
    """kill -9 of the process sending a delivery while its POST waits for an answer: the
    delivery stays claimed (1 s here), and the next sender, once that lapses, sends it
    again; the subscriber has the event (at least once)."""
    receiver = Receiver(fail_first=0)
    arrived, release = threading.Event(), threading.Event()
    answer = receiver.server.RequestHandlerClass.do_POST

    def hang_first(handler: BaseHTTPRequestHandler) -> None:
        if not arrived.is_set():
            arrived.set()
            release.wait(60)  # no answer while the sender is killed
        answer(handler)

    receiver.server.RequestHandlerClass.do_POST = hang_first  # type: ignore[method-assign]
    settings = _settings(tmp_path, allow_private=True)
    settings = settings.model_copy(update={"epcis_webhook_interval_seconds": 3600.0})
    url = settings.resolved_database_url
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        headers = _setup(client, settings)
        query = {"name": "all", "query": {}}
        assert client.post("/epcis/queries", json=query, headers=headers).status_code == 201
        r = client.post(
            "/epcis/queries/all/subscriptions",
            json={"dest": receiver.url, "stream": True},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        ids = _capture(client, headers, _event("1", "shipping"))
        engine = db.make_engine(url)
        assert epcis_webhooks.enqueue(
            engine, query_routes.parse_params, query_routes.query_document
        )
        sender = subprocess.Popen(
            [sys.executable, "-c", _SENDER, url, "1"], env={**os.environ, "PYTHONPATH": PYTHONPATH}
        )
        try:
            assert arrived.wait(60), "the sender never posted"
            sender.kill()  # SIGKILL, mid-POST
            sender.wait(30)
        finally:
            release.set()
        with httpx.Client(timeout=10) as http:
            _wait(  # claimed by the killed sender until its 1 s lapse, then sent again
                lambda: epcis_webhooks.send_due(engine, allow_private=True, client=http, lease=1),
                "the delivery sent again",
            )
        engine.dispose()
    assert [s for s, _, _ in receiver.posts] == [204, 204]
    # The killed sender's POST reached the subscriber (it never read the answer), perhaps cut
    # short by the kill; the one sent again carries the event whole.
    assert receiver.delivered_events(receiver.posts[-1:]) == ids


def test_events_a_body_filter_refuses_are_read_once_not_every_round(
    chain: ChainContext, tmp_path: Path
) -> None:
    """A subscription whose query reads inside events (a sensor parameter): a new event it
    refuses moves the cursor past it, so the next rounds do not read it again."""
    settings = _settings(tmp_path, allow_private=True)
    settings = settings.model_copy(update={"epcis_webhook_interval_seconds": 3600.0})
    url = settings.resolved_database_url
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        headers = _setup(client, settings)
        query = {"name": "sensed", "query": {"EXISTS_sensorElement": ["true"]}}
        assert client.post("/epcis/queries", json=query, headers=headers).status_code == 201
        r = client.post(
            "/epcis/queries/sensed/subscriptions",
            json={"dest": "http://127.0.0.1:9/hook", "stream": True},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        _capture(client, headers, _event("1", "shipping"))  # no sensor data
        engine = db.make_engine(url)
        parse, document = query_routes.parse_params, query_routes.query_document
        assert epcis_webhooks.enqueue(engine, parse, document) == 0
        with db.open_session(url) as s:
            (sub,) = s.exec(select(epcis_webhooks.EpcisSubscription)).all()
            newest = s.exec(select(func.max(EpcisEvent.id))).one()
        engine.dispose()
    assert sub.cursor == newest
