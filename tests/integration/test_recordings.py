"""Live recordings (issue 20) end to end: a real server on Anvil, ``chainproof record
--follow`` in a subprocess following a file this test grows, ``verify-recording`` on the
whole file, a clip and a tampered copy, a ``kill -9`` of the recorder, an offline recorder,
and the API refusing what a recorder or another org must not do.

One server for the module (as tests/integration/test_cli.py's); each test makes its own
recordings.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chainproof.chain.nodes import free_port
from chainproof.recordings.links import genesis, link_of
from tests.integration.test_cli import (
    CLI,
    ServerProcess,
    _env,
    direct_key,
    processes_mentioning,
    run_cli,
    start_server,
)
from tests.signin import sign_in

pytestmark = pytest.mark.chain

MIB = 1 << 20
SEGMENT = 256 * 1024  # 1 MiB/s of growth completes a segment four times a second
MISSING = "01943b2e-7c00-7a3f-9d21-000000000000"
ORGS = {"A": "南宁市公安局交警支队", "B": "Other Org B"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("recordings") / "data"
    running = start_server(data_dir, "--chain", "anvil")
    try:
        yield running
    finally:
        running.stop(signal.SIGTERM)
        for pid, cmdline in processes_mentioning(str(data_dir)):
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"left running after the server stopped: {pid} {cmdline}")


@pytest.fixture(scope="module")
def keys(server: ServerProcess) -> dict[str, str]:
    """Submitter keys of two orgs: the police unit that records, and another member."""
    return {
        "A": direct_key(server.data_dir, org=ORGS["A"]),
        "B": direct_key(server.data_dir, org=ORGS["B"]),
    }


def _get(server: ServerProcess, path: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(server.url + path, headers=headers, timeout=30)


def _post(server: ServerProcess, path: str, key: str | None, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(server.url + path, json=body, headers=headers, timeout=30)


def _recording(server: ServerProcess, key: str, recording_id: str) -> dict[str, Any]:
    response = _get(server, f"/api/v1/recordings/{recording_id}", key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _state_id(state: Path) -> str | None:
    """The recording id the recorder noted in its state file, once it has one."""
    if not state.exists():
        return None
    for line in state.read_text().splitlines():
        record = json.loads(line)
        if record.get("t") == "created":
            return str(record["id"])
    return None


def _wait_anchored(server: ServerProcess, key: str, recording_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        detail = _recording(server, key, recording_id)
        if detail["closed"] and detail["anchored_segments"] == detail["segments"]:
            return detail
        assert time.monotonic() < deadline, f"not all anchored: {detail['anchored_segments']}"
        time.sleep(0.3)


def _record(
    file: Path, server_url: str, key: str, *extra: str, idle: float = 3.0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "record", str(file), "--follow", "--segment-bytes", str(SEGMENT),
         "--idle-timeout", str(idle), "--server", server_url, "--api-key", key, *extra],
        env=_env(),
        cwd=file.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _grow(file: Path, total: int, per_second: int = MIB, step: int = 64 * 1024) -> None:
    """Appends ``total`` random bytes at about ``per_second``."""
    written = 0
    with file.open("ab") as f:
        while written < total:
            chunk = os.urandom(min(step, total - written))
            f.write(chunk)
            f.flush()
            written += len(chunk)
            time.sleep(len(chunk) / per_second)


def _verify(file: Path, server: ServerProcess, key: str, recording_id: str, *extra: str) -> Any:
    return run_cli(
        "verify-recording", file, "--recording", recording_id, "--server", server.url,
        "--api-key", key, *extra, env=_env(), cwd=file.parent,
    )  # fmt: skip


def test_a_growing_recording_reaches_the_chain_while_it_grows_and_verifies(
    server: ServerProcess, keys: dict[str, str], tmp_path: Path
) -> None:
    video = tmp_path / "cam-A07.mp4"
    video.write_bytes(b"")
    recorder = _record(video, server.url, keys["A"])
    state = tmp_path / (video.name + ".recording.jsonl")
    recording_id: str | None = None
    anchored_while_growing = 0
    try:
        # ~15 MiB at ~1 MiB/s; between writes, look at what the chain holds already.
        with video.open("ab") as f:
            for _ in range(15 * 16):
                f.write(os.urandom(64 * 1024))
                f.flush()
                time.sleep(1 / 16)
                recording_id = recording_id or _state_id(state)
                if recording_id and not anchored_while_growing:
                    detail = _recording(server, keys["A"], recording_id)
                    anchored_while_growing = detail["anchored_segments"]
            f.write(os.urandom(1000))  # a last, short segment
        out, err = recorder.communicate(timeout=120)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.communicate()
    assert recorder.returncode == 0, out + err
    assert recording_id is not None
    assert anchored_while_growing >= 1, "no segment reached the chain while the file grew"
    assert out.strip().splitlines()[-1] == recording_id  # the id alone on the last line

    size = video.stat().st_size
    detail = _wait_anchored(server, keys["A"], recording_id)
    assert detail["segments"] == -(-size // SEGMENT) == 61
    assert detail["size"] == size
    assert detail["file_digest"] == "0x" + hashlib.sha256(video.read_bytes()).hexdigest()
    # The whole file's digest is ordinary evidence too: plain `verify` finds it.
    whole = {"algorithm": "sha256", "digest": detail["file_digest"]}
    deadline = time.monotonic() + 60
    while (verdict := _post(server, "/api/v1/verify", keys["A"], whole).json())[
        "verdict"
    ] != "anchored":
        assert time.monotonic() < deadline, verdict
        time.sleep(0.3)
    listed = _get(server, "/api/v1/recordings", keys["A"]).json()["items"]
    mine = next(r for r in listed if r["id"] == recording_id)
    assert (mine["segments"], mine["anchored_segments"], mine["closed"]) == (61, 61, True)
    # Each link is evidence in the regular batches: its record says so.
    first = detail["segment_list"][0]
    evidence = _get(server, f"/api/v1/evidence/{first['evidence_id']}", keys["A"]).json()
    assert (evidence["digest"], evidence["status"]) == (first["link"], "anchored")

    intact = _verify(video, server, keys["A"], recording_id)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "the whole recording, 61 segments match" in intact.stdout

    data = bytearray(video.read_bytes())
    data[5 * SEGMENT + 1234] ^= 0x01
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    caught = _verify(tampered, server, keys["A"], recording_id)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert f"segment 5 differs: bytes {5 * SEGMENT}-{6 * SEGMENT - 1}" in caught.stderr

    clip = tmp_path / "clip-2-4.mp4"
    clip.write_bytes(bytes(video.read_bytes()[2 * SEGMENT : 5 * SEGMENT]))
    for extra in ((), ("--clip-start-segment", "2")):
        alone = _verify(clip, server, keys["A"], recording_id, *extra)
        assert alone.returncode == 0, alone.stdout + alone.stderr
        assert "a clip: segments 2-4, 3 segments match" in alone.stdout
    # Not trusting the server's word for the anchor: the clip's last segment's receipt on
    # the chain, against the pinned trust anchor (and refused against another chain's).
    rpc_url = httpx.get(f"{server.url}/api/v1/chain", timeout=10).json()["rpc_url"]
    on_chain = _verify(
        clip, server, keys["A"], recording_id, "--rpc", rpc_url, "--trust", server.url
    )
    assert on_chain.returncode == 0, on_chain.stdout + on_chain.stderr
    assert "on chain: VALID against the pinned trust anchor: segment 4's link" in on_chain.stdout
    other = json.loads(httpx.get(f"{server.url}/.well-known/chainproof.json", timeout=10).text)
    other["genesis_hash"] = "0x" + "ab" * 32  # a look-alike chain's anchor
    (tmp_path / "other-anchor.json").write_text(json.dumps(other))
    elsewhere = _verify(
        clip, server, keys["A"], recording_id, "--rpc", rpc_url,
        "--trust", str(tmp_path / "other-anchor.json"),
    )  # fmt: skip
    assert elsewhere.returncode == 1, elsewhere.stdout + elsewhere.stderr
    assert "segment 4's anchor does not verify on chain" in elsewhere.stderr
    wrong_place = _verify(clip, server, keys["A"], recording_id, "--clip-start-segment", "3")
    assert wrong_place.returncode == 1
    assert "segment 3 differs" in wrong_place.stderr

    # Org B: the recording is not there for it, reading or writing; nor in its list.
    probe = {"size": size, "digest": detail["file_digest"]}
    for path, body in (
        (f"/api/v1/recordings/{recording_id}", None),
        (f"/api/v1/recordings/{recording_id}/close", probe),
        (f"/api/v1/recordings/{recording_id}/segments", {"segments": detail["segment_list"][:1]}),
    ):
        for rid in (recording_id, MISSING):
            path_ = path.replace(recording_id, rid)
            response = (
                _get(server, path_, keys["B"])
                if body is None
                else _post(server, path_, keys["B"], _wire(body))
            )
            assert response.status_code == 404, (path_, response.text)
            assert response.json()["error"]["code"] == "not_found"
    assert recording_id not in _get(server, "/api/v1/recordings", keys["B"]).text
    assert _get(server, f"/api/v1/recordings/{recording_id}", None).status_code == 401

    # The page: the timeline of segments with their anchor times, for A's people only.
    database_url = f"sqlite:///{(server.data_dir / 'chainproof.db').resolve()}"
    page_path = f"/recordings/{recording_id}"
    with httpx.Client(base_url=server.url, timeout=30) as person:
        assert person.get(page_path).status_code == 303  # nobody signed in: to /signin
        sign_in(person, database_url, ORGS["A"], "submitter")
        page = person.get(page_path)
        certificate = person.get(page_path + "/certificate")
    assert page.status_code == 200, page.text[:500]
    rows = page.text.split('<tr data-index="')[1:]
    assert [int(r.split('"')[0]) for r in rows] == list(range(61))
    blocks = {s["anchor"]["block_number"] for s in detail["segment_list"]}
    assert all(f"/explorer/block/{b}" in page.text for b in blocks)
    assert all("/explorer/block/" in r for r in rows)  # every segment shows its anchor
    # The certificate: the recording's facts, its last anchor, the trust anchor to pin.
    assert certificate.status_code == 200, certificate.text[:500]
    last = detail["segment_list"][-1]["anchor"]
    genesis_hash = httpx.get(f"{server.url}/.well-known/chainproof.json").json()["genesis_hash"]
    for fact in (detail["file_digest"], detail["head"], last["tx_hash"], genesis_hash, "<svg"):
        assert fact in certificate.text, fact
    assert "61 × 262144 B（61 已上链" in certificate.text
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        sign_in(stranger, database_url, ORGS["B"], "submitter")
        hidden = stranger.get(page_path)
        missing = stranger.get(f"/recordings/{MISSING}")
        hidden_cert = stranger.get(page_path + "/certificate")
    assert hidden.status_code == missing.status_code == hidden_cert.status_code == 404
    # Word for word the page of an id nobody has, but for the id asked.
    assert hidden.text.replace(recording_id, "ID") == missing.text.replace(MISSING, "ID")


def _wire(body: Any) -> Any:
    """A segment list as the API takes it (the detail's segments carry read-only fields)."""
    if isinstance(body, dict) and "segments" in body:
        keep = ("index", "offset", "length", "digest", "link")
        return {"segments": [{k: s[k] for k in keep} for s in body["segments"]]}
    return body


def test_kill_9_of_the_recorder_and_resume_lose_nothing(
    server: ServerProcess, keys: dict[str, str], tmp_path: Path
) -> None:
    video = tmp_path / "cam-B12.mp4"
    video.write_bytes(os.urandom(2 * MIB))
    state = tmp_path / (video.name + ".recording.jsonl")
    recorder = _record(video, server.url, keys["A"], idle=60)
    try:
        deadline = time.monotonic() + 60
        while (recording_id := _state_id(state)) is None or _recording(
            server, keys["A"], recording_id
        )["segments"] < 8:
            assert recorder.poll() is None and time.monotonic() < deadline, "recorder stuck"
            time.sleep(0.1)
        _grow(video, 2 * SEGMENT)  # while it follows; then the kill, mid-recording
    finally:
        recorder.send_signal(signal.SIGKILL)
        recorder.communicate()  # reaps it and closes its pipes
    before = _recording(server, keys["A"], recording_id)
    assert not before["closed"]
    assert 8 <= before["segments"] <= 10  # what it had sent when the kill ended it

    _grow(video, MIB + 777, per_second=8 * MIB)  # the camera went on while nothing followed
    resumed = run_cli(
        "record", video, "--follow", "--resume", recording_id, "--idle-timeout", "1",
        "--server", server.url, "--api-key", keys["A"], env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1] == recording_id

    size = video.stat().st_size
    detail = _wait_anchored(server, keys["A"], recording_id)
    assert [s["index"] for s in detail["segment_list"]] == list(range(-(-size // SEGMENT)))
    assert detail["size"] == size
    assert detail["segment_list"][: before["segments"]] == [
        {**s, "anchor": detail["segment_list"][s["index"]]["anchor"], "status": "anchored"}
        for s in before["segment_list"]
    ]  # the segments sent before the kill are those of the resumed chain, unchanged
    verified = _verify(video, server, keys["A"], recording_id)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The state file lost too: --resume rebuilds it from the server, checked against the file.
    state.unlink()
    again = run_cli(
        "record", video, "--resume", recording_id, "--server", server.url,
        "--api-key", keys["A"], env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip().splitlines()[-1] == recording_id
    assert _recording(server, keys["A"], recording_id)["segments"] == detail["segments"]


def test_an_offline_recorder_keeps_its_chain_and_sends_it_later(
    server: ServerProcess, keys: dict[str, str], tmp_path: Path
) -> None:
    video = tmp_path / "cam-offline.mp4"
    video.write_bytes(os.urandom(3 * SEGMENT + 99))
    nowhere = f"http://127.0.0.1:{free_port()}"
    offline = run_cli(
        "record", video, "--server", nowhere, "--api-key", keys["A"],
        "--segment-bytes", str(SEGMENT), env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert "kept" in offline.stderr
    state = tmp_path / (video.name + ".recording.jsonl")
    lines = [json.loads(line) for line in state.read_text().splitlines()]
    assert [r["index"] for r in lines if r["t"] == "segment"] == [0, 1, 2, 3]

    sent = run_cli(
        "record", video, "--server", server.url, "--api-key", keys["A"],
        env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    recording_id = sent.stdout.strip().splitlines()[-1]
    detail = _wait_anchored(server, keys["A"], recording_id)
    # The recorder's times are sent as claims, kept apart from the chain's.
    claimed = [s["claimed_at"] for s in detail["segment_list"]]
    assert claimed == [r["at"] for r in lines if r["t"] == "segment"]
    assert _verify(video, server, keys["A"], recording_id).returncode == 0


def test_the_server_refuses_a_rewritten_past_or_a_link_that_does_not_follow(
    server: ServerProcess, keys: dict[str, str]
) -> None:
    nonce = secrets.token_bytes(32)
    opened = _post(
        server, "/api/v1/recordings", keys["A"],
        {"nonce": "0x" + nonce.hex(), "segment_bytes": 4096},
    )  # fmt: skip
    assert opened.status_code == 201, opened.text
    rid = opened.json()["id"]
    url = f"/api/v1/recordings/{rid}/segments"

    def segment(prev: bytes, index: int, content: bytes) -> tuple[dict[str, Any], bytes]:
        digest = hashlib.sha256(content).digest()
        link = link_of(prev, index, index * 4096, len(content), digest)
        body = {
            "index": index,
            "offset": index * 4096,
            "length": len(content),
            "digest": "0x" + digest.hex(),
            "link": "0x" + link.hex(),
        }
        return body, link

    s0, l0 = segment(genesis(nonce), 0, b"a" * 4096)
    s1, _ = segment(l0, 1, b"b" * 4096)
    assert _post(server, url, keys["A"], {"segments": [s0, s1]}).json()["accepted"] == 2
    # Resending unchanged is fine (a recorder that crashed before noting it sent).
    assert _post(server, url, keys["A"], {"segments": [s0, s1]}).json()["accepted"] == 0
    # Another past: refused, whatever chain the recorder makes up for it.
    forged, forged_link = segment(genesis(nonce), 0, b"c" * 4096)
    rewritten = _post(server, url, keys["A"], {"segments": [forged]})
    assert rewritten.status_code == 409, rewritten.text
    # A link that does not follow from the head, or a gap: refused, nothing stored.
    s2, _ = segment(forged_link, 2, b"d" * 4096)
    unchained = _post(server, url, keys["A"], {"segments": [s2]})
    assert unchained.status_code == 422, unchained.text
    s3, _ = segment(l0, 3, b"e" * 4096)
    gap = _post(server, url, keys["A"], {"segments": [s3]})
    assert gap.status_code == 409, gap.text
    short = _post(server, f"/api/v1/recordings/{rid}/close", keys["A"], {
        "size": 3 * 4096, "digest": "0x" + "00" * 32})  # fmt: skip
    assert short.status_code == 409, short.text
    detail = _recording(server, keys["A"], rid)
    assert [s["digest"] for s in detail["segment_list"]] == [s0["digest"], s1["digest"]]
