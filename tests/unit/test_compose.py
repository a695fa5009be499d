"""docker-compose.yml is validated by a real compose client (no engine is needed for that)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..conftest import ROOT, require

COMPOSE = ROOT / "docker-compose.yml"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_is_valid() -> None:
    cmd = _compose_command()
    require(cmd is not None, "no compose client (apt-get install docker-compose)")
    assert cmd is not None
    ok = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_compose_client_rejects_a_broken_file(tmp_path: Path) -> None:
    """Guards the test above: the client really validates (an unknown key fails)."""
    cmd = _compose_command()
    require(cmd is not None, "no compose client (apt-get install docker-compose)")
    assert cmd is not None
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("healthcheck:", "healthcheckz:", 1))
    bad = subprocess.run([*cmd, "-f", str(broken), "config", "-q"], capture_output=True, text=True)
    assert bad.returncode != 0


def test_every_service_has_a_healthcheck() -> None:
    text = COMPOSE.read_text()
    services = ["anvil", "postgres", "api"]
    for name in services:
        assert f"\n  {name}:\n" in text
    assert text.count("healthcheck:") == len(services)
