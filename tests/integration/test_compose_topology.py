"""The compose stack, started as processes (no Docker engine runs here; issue 15, point 4).

``docker-compose config`` resolves docker-compose.yml with its defaults, as ``docker-compose
up`` would; each ChainProof service is then started as the process its ``command`` names,
with its ``environment`` (empty variables included: Settings ignores them), each in its own
data dir as on its own host. Only what Docker would translate is translated: service host
names become the test's PostgreSQL database, Anvil and Redis, the container port a free one.

Checked: both replicas answer ``/readyz`` (counting rate limits in one Redis); a document
posted to replica A is anchored by the worker and verifies on replica B; all three found
the same registry through the database (no process deployed its own, whatever order they
started in).
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlmodel import select

from chainproof import identity
from chainproof.chain.managed import AnvilNode, free_port
from chainproof.store import db
from chainproof.store.shared_files import DeploymentFile

from ..conftest import ROOT, node_binary_present, require
from ..redisd import redis_url  # noqa: F401  (the fixture)
from ..security._procs import CLI, Proc, cli_env
from ..unit.test_compose import _compose_command

pytestmark = pytest.mark.chain
REPLICAS = ("api-a", "api-b")
WAIT_SECONDS = 120.0  # liveness on a loaded machine, not speed


def resolved_compose() -> dict[str, Any]:
    cmd = _compose_command()
    require(cmd is not None, "no compose client (apt-get install docker-compose)")
    assert cmd is not None
    # No .env next to the file here: the defaults, as a fresh checkout gets them.
    out = subprocess.run(
        [*cmd, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(yaml.safe_load(out.stdout))


def as_process(
    service: dict[str, Any],
    *,
    data: Path,
    database_url: str,
    rpc_url: str,
    redis_url: str,  # noqa: F811
    log: Path,
) -> Proc:
    """The service as a local process: its command and environment, hosts translated."""
    env = {k: "" if v is None else str(v) for k, v in service["environment"].items()}
    assert env["CHAINPROOF_CHAIN"] == "http://anvil:8545"
    assert "@postgres:5432/" in env["CHAINPROOF_DATABASE_URL"]
    env["CHAINPROOF_CHAIN"] = rpc_url
    env["CHAINPROOF_DATABASE_URL"] = database_url
    env["CHAINPROOF_DATA_DIR"] = str(data)
    assert env["CHAINPROOF_RATE_LIMIT_STORAGE"] == "redis://redis:6379"
    env["CHAINPROOF_RATE_LIMIT_STORAGE"] = redis_url
    if "CHAINPROOF_WORKER_METRICS" in env:
        env["CHAINPROOF_WORKER_METRICS"] = f"127.0.0.1:{free_port()}"
    argv = list(service["command"])
    assert argv[0] == "chainproof"
    url = ""
    if "--port" in argv:
        port = free_port()
        argv[argv.index("--port") + 1] = str(port)
        argv[argv.index("--host") + 1] = "127.0.0.1"
        url = f"http://127.0.0.1:{port}"
    data.mkdir(parents=True)
    return Proc(argv=[*CLI, *argv[1:]], env=cli_env(**env), log=log, cwd=data.parent, url=url)


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(state_file=tmp_path / "anvil-state.json", port=free_port())
    node.start()
    yield node
    node.stop()


@pytest.mark.slow
def test_the_compose_topology_runs_as_processes(
    anvil: AnvilNode,
    postgres_database_url: str,
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    services = resolved_compose()["services"]
    assert anvil.rpc_url
    procs = {
        name: as_process(
            services[name],
            data=tmp_path / name,
            database_url=postgres_database_url,
            rpc_url=anvil.rpc_url,
            redis_url=redis_url,
            log=tmp_path / f"{name}.log",
        )
        for name in ("worker", *REPLICAS)
    }
    # All at once, as `docker-compose up` may: the deployment lock orders them.
    for proc in procs.values():
        proc.start()
    try:
        _check_the_stack(procs, postgres_database_url)
    finally:
        for proc in procs.values():
            proc.stop()


def _check_the_stack(procs: dict[str, Proc], database_url: str) -> None:
    a, b = (procs[name] for name in REPLICAS)
    for replica in (a, b):
        replica.wait_http("/readyz", timeout=WAIT_SECONDS)
    chains = [httpx.get(f"{p.url}/api/v1/chain").json() for p in (a, b)]
    assert chains[0]["contract"] == chains[1]["contract"], chains
    assert chains[0]["rpc_url"] == "http://localhost:8545"  # the published one, not anvil:8545
    with db.open_session(database_url) as session:
        names = [f.name for f in session.exec(select(DeploymentFile)).all()]
        _, key = identity.create_api_key(session=session, org="acme", role="submitter")
    assert any(name.startswith("EvidenceRegistry-") for name in names), names
    digest = "0x" + hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    posted = httpx.post(
        f"{a.url}/api/v1/evidence/digests",
        json={"digests": [digest]},
        headers={"Authorization": f"Bearer {key}", "X-Request-ID": "compose-topology-1"},
    )
    assert posted.status_code in (200, 201, 202), posted.text
    deadline = time.monotonic() + WAIT_SECONDS
    verdict: dict[str, Any] = {}
    while time.monotonic() < deadline:
        verdict = httpx.post(f"{b.url}/api/v1/verify", json={"digest": digest}).json()
        if verdict.get("verdict") == "anchored":
            break
        assert procs["worker"].alive(), procs["worker"].tail()
        time.sleep(0.2)
    assert verdict.get("verdict") == "anchored", (verdict, procs["worker"].tail())
    # The worker, which anchored, reports it on its own metrics port (no API there).
    address = procs["worker"].env["CHAINPROOF_WORKER_METRICS"]
    scraped = httpx.get(f"http://{address}/metrics").text
    assert _sample(scraped, "chainproof_batch_size_count") >= 1, scraped
    assert _sample(scraped, "chainproof_writer_leader{") == 1, scraped
    # uvicorn's access line went through structlog with the request's id.
    assert '"request_id": "compose-topology-1"' in a.text(), a.tail()


def _sample(text: str, prefix: str) -> float:
    """The value of the first sample line starting with ``prefix``."""
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {prefix} in the metrics")
