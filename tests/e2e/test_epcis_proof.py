"""Every event /epcis returns can be proven (issue 24.3): a real server on Anvil, an event
captured through /epcis/events, its ``Link: <…>; rel="proof"`` followed to the anchor receipt,
and ``chainproof verify-receipt --trust`` run on it as a third party would. The event's CBV 2.0
hash, recomputed from what the query returned, is the receipt's digest; a tampered event's is
not, and a receipt carrying the tampered digest does not verify. Fails on main: no /epcis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chainproof import identity
from chainproof.store import db
from chainproof.trace import epcis
from tests import forked

from .conftest import LiveServer

CTX = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINPROOF_")}
    return forked.run(
        [sys.executable, "-m", "chainproof.cli", "verify-receipt", *map(str, args)],
        env=env,
        cwd=Path.cwd(),
        timeout=120,
    )


def _org(server: LiveServer) -> dict[str, str]:
    """A fresh org with the company prefix 9524444 admitted, and its submitter key."""
    name = "EPCIS proof org"
    with db.open_session(server.settings.resolved_database_url) as session:
        _, key = identity.create_api_key(session=session, org=name, role="submitter")
        member = identity.get_member(session=session, name=name)
    admin = {"Authorization": f"Bearer {server.admin_key}"}
    r = server.post(
        "/api/v1/trace/orgs",
        headers=admin,
        json={"member_id": member.id, "role": "producer", "glns": [], "prefixes": ["9524444"]},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {key}"}


def _receipt(server: LiveServer, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        r = server.get(url, headers=headers)
        if r.status_code == 200:
            body: dict[str, Any] = r.json()
            return body
        assert r.status_code == 409, r.text  # not anchored yet
        assert time.monotonic() < deadline, "the event was not anchored in 60 s"
        time.sleep(0.1)


def test_an_events_proof_link_verifies_with_trust_and_a_tampered_event_does_not(
    anvil_server: LiveServer, tmp_path: Path
) -> None:
    headers = _org(anvil_server)
    event = {
        "@context": [CTX],
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T08:30:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:9524444.054321.1"],
        "action": "ADD",
        "bizStep": "commissioning",
        "readPoint": {"id": "urn:epc:id:sgln:9524444.00001.0"},
    }
    r = anvil_server.post(
        "/epcis/events",
        content=json.dumps(event),
        headers={**headers, "Content-Type": "application/ld+json"},
    )
    assert r.status_code == 201, r.text
    got = anvil_server.get(r.headers["Location"], headers=headers)
    assert got.status_code == 200, got.text
    link = got.headers["Link"]
    assert link.endswith('>; rel="proof"'), link
    receipt = _receipt(anvil_server, link[1 : link.index(">")], headers)

    # The event as the query returned it hashes to what the receipt anchors.
    page = got.json()
    (returned,) = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    (h,) = epcis.hash_events({"@context": page["@context"], **returned})
    assert h.event_hash == returned["eventID"]
    assert receipt["digest"] == "0x" + epcis.hash_hex(h.event_hash)

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    rpc = anvil_server.settings.chain
    done = _cli(path, "--rpc", rpc, "--trust", anvil_server.url)
    assert done.returncode == 0, done.stdout + done.stderr

    # Tampered: another step. Its hash is not the receipt's, and a receipt made to carry it
    # is refused against the same trust anchor.
    tampered = {**returned, "bizStep": "shipping"}
    (t,) = epcis.hash_events({"@context": page["@context"], **tampered})
    assert "0x" + epcis.hash_hex(t.event_hash) != receipt["digest"]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**receipt, "digest": "0x" + epcis.hash_hex(t.event_hash)}))
    refused = _cli(forged, "--rpc", rpc, "--trust", anvil_server.url)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    # Someone else's key does not even see the event (404, as a missing one).
    other = anvil_server.get(
        f"/epcis/events/{quote(returned['eventID'], safe='')}",
        headers={"Authorization": f"Bearer {anvil_server.submitter_key}"},
    )
    assert other.status_code == 404
