"""Measurement 7: the /epcis binding on the real server, events per second.

- capture: ``POST /epcis/capture`` of 1,000-event documents, one after another, until every
  event's hash is anchored on chain; baseline, the same number of digests through
  ``POST /api/v1/evidence/digests`` until anchored (evidence ingest), in the same run;
- paging: ``GET /epcis/events`` with ``perPage=1000`` following ``Link: rel="next"`` over
  everything captured; baseline, the same walk at GS1's default ``perPage`` (30).
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import time
from typing import Any

from benchmarks.results import Result
from benchmarks.stack import Server, request_json

PREFIX = "9526666"
TARGETS = {"capture": 3_000.0, "paging": 2_000.0}  # issue 24


def _document(run: int, n: int) -> dict[str, Any]:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "eventTimeZoneOffset": "+08:00",
            "epcList": [f"urn:epc:id:sgtin:{PREFIX}.054321.{run}x{i}"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "readPoint": {"id": f"urn:epc:id:sgln:{PREFIX}.00001.0"},
        }
        for i in range(n)
    ]
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _admit(server: Server) -> None:
    from chainproof import identity
    from chainproof.store import db

    with db.open_session(server.database_url) as session:
        _, admin = identity.create_api_key(session=session, org="运营方", role="admin")
        member = identity.get_member(session=session, name="bench")
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    body = {"member_id": member.id, "role": "producer", "glns": [], "prefixes": [PREFIX]}
    status, answer = request_json(
        conn,
        "POST",
        "/api/v1/trace/orgs",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    )
    conn.close()
    if status != 200:
        raise RuntimeError(f"could not admit the bench prefix: {status} {answer}")


def _anchored(server: Server, label: str) -> int:
    db = sqlite3.connect(f"file:{server.data_dir / 'chainproof.db'}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT count(*) FROM evidence WHERE status = 'anchored' AND label = ?", (label,)
        ).fetchone()
        return int(row[0])
    finally:
        db.close()


def _wait(server: Server, label: str, total: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while _anchored(server, label) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: not all {total} anchored in {timeout:.0f} s")
        time.sleep(0.02)
    return time.perf_counter()


def _headers(server: Server, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}", **extra}


def capture(server: Server, docs: int, per_doc: int) -> float:
    bodies = [json.dumps(_document(run, per_doc)).encode() for run in range(docs)]
    conn = http.client.HTTPConnection(server.host, server.port, timeout=300)
    t0 = time.perf_counter()
    for body in bodies:
        status, answer = request_json(
            conn,
            "POST",
            "/epcis/capture",
            body,
            _headers(server, **{"Content-Type": "application/ld+json"}),
        )
        if status != 202:
            raise RuntimeError(f"capture answered {status}: {answer}")
    conn.close()
    done = _wait(server, "EPCIS event", docs * per_doc)
    return docs * per_doc / (done - t0)


def ingest(server: Server, total: int) -> float:
    digests = ["0x" + os.urandom(32).hex() for _ in range(total)]
    conn = http.client.HTTPConnection(server.host, server.port, timeout=300)
    t0 = time.perf_counter()
    for i in range(0, total, 10_000):
        body = json.dumps({"digests": digests[i : i + 10_000], "label": "epcis-bench"}).encode()
        status, answer = request_json(
            conn,
            "POST",
            "/api/v1/evidence/digests",
            body,
            _headers(server, **{"Content-Type": "application/json"}),
        )
        if status != 202:
            raise RuntimeError(f"ingest answered {status}: {answer}")
    conn.close()
    done = _wait(server, "epcis-bench", total)
    return total / (done - t0)


def paging(server: Server, per_page: int) -> tuple[float, int]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=300)
    url = f"/epcis/events?perPage={per_page}"
    seen = 0
    t0 = time.perf_counter()
    while url:
        conn.request("GET", url, headers=_headers(server))
        response = conn.getresponse()
        page = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"paging answered {response.status}: {page}")
        seen += len(page["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
        link = response.getheader("Link") or ""
        url = link[1 : link.index(">")] if 'rel="next"' in link else ""
    conn.close()
    return seen / (time.perf_counter() - t0), seen


def measure(server: Server, *, quick: bool) -> list[Result]:
    docs, per_doc = (1, 300) if quick else (5, 1000)
    _admit(server)
    cpu = server.cpu_seconds()
    captured = capture(server, docs, per_doc)
    capture_cpu, cpu = server.cpu_seconds() - cpu, server.cpu_seconds()
    ingested = ingest(server, docs * per_doc)
    ingest_cpu = server.cpu_seconds() - cpu
    fast, seen = paging(server, 1000)
    slow, _ = paging(server, 30)
    if seen != docs * per_doc:
        raise RuntimeError(f"paged {seen} events, captured {docs * per_doc}")
    return [
        Result(
            "epcis-api",
            f"POST /epcis/capture until anchored ({docs} x {per_doc} events)",
            captured,
            "events/s",
            ingested,
            "evidence digests until anchored (same count)",
            "higher",
            target=TARGETS["capture"],
            target_text=f">= {TARGETS['capture']:,.0f} events/s",
            # What the machine's load does not move: the server's own CPU (its batcher and
            # chain writes included), per event and per digest.
            notes=(
                f"server CPU {capture_cpu / (docs * per_doc) * 1e6:,.0f} us/event "
                f"(ingest {ingest_cpu / (docs * per_doc) * 1e6:,.0f} us/digest)"
            ),
        ),
        Result(
            "epcis-api",
            "GET /epcis/events paging, perPage=1000",
            fast,
            "events/s",
            slow,
            "the same walk at perPage=30 (GS1's default)",
            "higher",
            target=TARGETS["paging"],
            target_text=f">= {TARGETS['paging']:,.0f} events/s",
            notes=f"{seen} events",
        ),
    ]
