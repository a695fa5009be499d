"""docker-compose.yml is validated by a real compose client (no engine is needed for that)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chainproof.config import DEV_OPERATOR_KEY, Settings

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
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:", "    healthcheckz:", 1))
    bad = subprocess.run([*cmd, "-f", str(broken), "config", "-q"], capture_output=True, text=True)
    assert bad.returncode != 0


def _resolved() -> dict[str, Any]:
    cmd = _compose_command()
    require(cmd is not None, "no compose client (apt-get install docker-compose)")
    assert cmd is not None
    out = subprocess.run(
        [*cmd, "-f", str(COMPOSE), "config"], capture_output=True, text=True, check=True
    )
    return dict(yaml.safe_load(out.stdout))


def test_the_stack_is_two_replicas_a_worker_postgres_and_anvil() -> None:
    services = _resolved()["services"]
    assert set(services) == {"anvil", "postgres", "redis", "worker", "api-a", "api-b"}
    assert services["worker"]["command"] == ["chainproof", "worker"]
    assert services["worker"]["environment"]["CHAINPROOF_WORKER_METRICS"] == "0.0.0.0:9100"
    assert "ports" not in services["worker"]  # its metrics are asked no key: not published
    for name in ("api-a", "api-b"):
        api = services[name]
        assert api["command"][:3] == ["chainproof", "serve", "--no-batcher"]
        assert "/readyz" in " ".join(api["healthcheck"]["test"])
        assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
        # The replicas count rate limits in one store, not each in its memory.
        assert api["environment"]["CHAINPROOF_RATE_LIMIT_STORAGE"] == "redis://redis:6379"
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name
        assert name == "worker" or "healthcheck" in service, name
    # The RPC URL published to third parties is one they can reach: Anvil's port is.
    published = {str(p["published"]) for p in services["anvil"]["ports"]}
    assert "8545" in published
    assert services["api-a"]["environment"]["CHAINPROOF_PUBLIC_RPC_URL"] == "http://localhost:8545"
    assert services["api-a"]["environment"]["CHAINPROOF_PUBLIC_URL"] == "http://localhost:8000"


def test_every_variable_the_stack_reads_is_in_env_example() -> None:
    wanted = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    example = (ROOT / ".env.example").read_text()
    given = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert wanted and wanted <= given, wanted - given


def test_the_image_runs_as_a_user_with_the_cjk_font() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "fonts-wqy-zenhei" in dockerfile


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose's `${CHAINPROOF_OPERATOR_KEY:-}` sets "" when the operator sets nothing."""
    monkeypatch.setenv("CHAINPROOF_OPERATOR_KEY", "")
    monkeypatch.setenv("CHAINPROOF_REGISTRY_ADMIN", "")
    monkeypatch.setenv("CHAINPROOF_PORT", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.operator_key.get_secret_value() == DEV_OPERATOR_KEY
    assert settings.registry_admin is None
    assert settings.port == 8000
