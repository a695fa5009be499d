"""A throw-away Redis server for tests (the shared rate-limit store), like tests/pg.py.

Started from the apt package's ``redis-server`` on a free port, without persistence; stopped
by its own pid. Skipped with the install command when the binary is missing (failed under
``CHAINPROOF_REQUIRE_ALL=1``, through ``require``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.chain.nodes import free_port

from .conftest import require


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server is missing (apt-get install redis-server)")
    assert binary is not None
    port = free_port()
    where: Path = tmp_path_factory.mktemp("redis")
    with (where / "redis.log").open("wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(where),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
