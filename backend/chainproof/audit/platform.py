"""Audit entries for what the operator changes outside the API: contract deployments and
settings (issue 25).

**Deployments.** ``chainproof contracts deploy --new|--upgrade`` (the operator's deployment)
hands the records it published (``store/shared_files.publish``) to
:func:`deployment_recorder`, which appends one ``deployment.record`` entry naming each file
and, for a registry record, its contract, version, address and chain. The registry a
first start deploys by itself on an empty chain (development, a first run) is not an entry:
it would be the first entry of every fresh chain, before any operator exists to answer for it.

**Settings.** Settings come from the environment at start, so a change is seen at the next
start: :func:`record_settings` compares the effective settings with the last ones recorded
(``settings_state``) and appends one ``settings.change`` entry with each changed value
(``from`` and ``to``). The first start records a baseline and no entry. Host-local settings
(where this process listens, its data dir, its database URL, and the public URL when it is
not set but derived from the port) are left out, so replicas that differ only there do not
flap. Secrets never appear: each is kept as an HMAC-SHA256
keyed with the secret key, and an entry names the secrets that changed (when the secret key
itself changes, every secret that is set is named, as they cannot be told apart).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr
from sqlalchemy import JSON, Engine, text, update
from sqlmodel import Field, Session, SQLModel, col

from chainproof.audit import log
from chainproof.audit.models import AuditEntry
from chainproof.config import Settings
from chainproof.store.models import utcnow

# Where this process runs, not what the platform does.
LOCAL: Final = frozenset(
    {"data_dir", "database_url", "host", "port", "chain_port", "solc", "project_root"}
    | {"pki_dir", "worker_metrics"}
)
_STATE_ID: Final = 1
_LOCK_KEY: Final = 0x6370536574746E67  # "cpSettng": the settings recorders' lock


class SettingsState(SQLModel, table=True):
    """The settings last recorded (one row): what the next start compares with."""

    __tablename__ = "settings_state"

    id: int | None = Field(default=None, primary_key=True)
    public: dict[str, Any] = Field(sa_type=JSON)
    secrets: dict[str, str] = Field(sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


def process_who() -> log.Who:
    """The process that starts or deploys: its user and host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return log.Who(actor=f"process:{user}@{socket.gethostname()}"[:200])


def _secret_names() -> list[str]:
    return sorted(
        name for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)
    )


def snapshot(settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """(public values, secret fingerprints) of ``settings``."""
    secrets = _secret_names()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    derived = settings.public_url == f"http://{host}:{settings.port}"  # config.py's default
    local = set(LOCAL) | ({"public_url"} if derived else set())
    values = settings.model_dump(mode="json", exclude=local | set(secrets))
    key = settings.secret_key.get_secret_value().encode("utf-8")
    fingerprints = {}
    for name in secrets:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            message = f"{name}\0{value.get_secret_value()}".encode()
            fingerprints[name] = hmac.new(key, message, hashlib.sha256).hexdigest()
    return values, fingerprints


def record_settings(engine: Engine, settings: Settings, who: log.Who) -> AuditEntry | None:
    """Appends a ``settings.change`` entry when the settings differ from the last recorded
    ones (the first start only records them); returns it, or None."""
    public, secrets = snapshot(settings)
    with Session(engine) as session:
        # Take a write lock before reading, so two processes starting together compare
        # with the same state and only one of them writes the baseline or the change (a
        # row lock would not cover the first start, when there is no row yet).
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            state = session.get(SettingsState, _STATE_ID)
        else:
            session.execute(
                update(SettingsState)
                .where(col(SettingsState.id) == -1)
                .values(updated_at=SettingsState.updated_at)
            )
            state = session.get(SettingsState, _STATE_ID)
        if state is None:
            session.add(SettingsState(id=_STATE_ID, public=public, secrets=secrets))
            session.commit()
            return None
        changed = {
            name: {"from": state.public.get(name), "to": public.get(name)}
            for name in sorted(set(public) | set(state.public))
            if public.get(name) != state.public.get(name)
        }
        secrets_changed = sorted(
            name
            for name in set(secrets) | set(state.secrets)
            if secrets.get(name) != state.secrets.get(name)
        )
        if not changed and not secrets_changed:
            session.rollback()
            return None
        state.public, state.secrets, state.updated_at = public, secrets, utcnow()
        session.add(state)
        entry = log.append(
            session,
            who,
            action="settings.change",
            target="settings",
            detail={"changed": changed, "secrets_changed": secrets_changed},
        )
        session.refresh(entry)
        return entry


def _describe(data_dir: Path, name: str) -> dict[str, Any]:
    """A published deployment file, named, with a registry record's facts."""
    out: dict[str, Any] = {"file": name}
    try:
        data = json.loads((data_dir / "deployments" / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    if isinstance(data, dict):
        for key in ("contract", "version", "address", "chain_id", "tx_hash", "block_number"):
            if isinstance(data.get(key), str | int) and not isinstance(data.get(key), bool):
                out[key] = data[key]
    return out


def deployment_recorder(
    engine: Engine, data_dir: Path, who: log.Who
) -> Callable[[list[str]], None]:
    """The ``on_published`` hook of ``shared_files.shared_deployments``: one
    ``deployment.record`` entry for the records this process published."""

    def record(names: list[str]) -> None:
        if not names:
            return
        with Session(engine) as session:
            log.append(
                session,
                who,
                action="deployment.record",
                target="deployments",
                detail={"records": [_describe(data_dir, n) for n in names]},
            )

    return record
