"""README's tables match the code: the settings table is ``Settings``, the client variables
are the CLI's, the endpoint table is the OpenAPI document.

The endpoint rule: each row names endpoints as ``METHOD /full/path`` (path parameters by any
name); a path ending in ``/…`` stands for every endpoint below it with that method. Every
documented endpoint must exist, every group must cover one at least, and every operation of
the OpenAPI document must be documented by a row or a group.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from chainproof.api.app import create_app
from chainproof.cli import app as cli_app
from chainproof.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
GROUP = "/…"


def _table(header: str) -> list[list[str]]:
    """The rows (cells) of the README table whose header line starts with ``header``."""
    lines = README.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"one README table headed {header!r}, found {len(starts)}"
    rows = []
    for line in lines[starts[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    assert rows, f"the table headed {header!r} is empty"
    return rows


def _names(cell: str, prefix: str) -> list[str]:
    return re.findall(rf"`({prefix}[A-Z0-9_]+)`", cell)


def test_the_settings_table_is_settings() -> None:
    documented = [name for row in _table("| variable |") for name in _names(row[0], "CHAINPROOF_")]
    fields = {f"CHAINPROOF_{name.upper()}" for name in Settings.model_fields}
    assert len(documented) == len(set(documented)), "a setting is documented twice"
    assert not fields - set(documented), "settings missing from README's table"
    assert not set(documented) - fields, "README documents settings that do not exist"


def _client_variables() -> dict[str, set[str]]:
    """CHAINPROOF_* variable → the options that read it, over every CLI command."""
    found: dict[str, set[str]] = {}

    def walk(command: Any) -> None:  # typer's own copy of click: duck-typed
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            for var in envvars:
                if var:
                    found.setdefault(var, set()).update(param.opts)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(cli_app))
    return found


def test_the_client_table_is_the_cli() -> None:
    rows = _table("| client variable |")
    documented = {_names(row[0], "CHAINPROOF_")[0]: row[1].strip("`") for row in rows}
    actual = _client_variables()
    assert len(actual) >= 4, "the walk over the CLI found too few variables"
    assert set(documented) == set(actual), "README's client variables differ from the CLI's"
    for var, option in documented.items():
        assert option in actual[var], f"{var} is read by {sorted(actual[var])}, not {option}"


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """(METHOD, path with parameters as {}) of every operation in the OpenAPI document.
    Building the app starts nothing: the chain and database open in its lifespan."""
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("readme"), chain="embedded")
    schema: dict[str, Any] = create_app(settings, run_batcher=False).openapi()
    found = {
        (method.upper(), _shape(path))
        for path, item in schema["paths"].items()
        for method in item
        if method.upper() in METHODS
    }
    assert len(found) >= 40, "fewer operations than the API has: the walk is out of date"
    return found


def _shape(path: str) -> str:
    """``/evidence/{evidence_id}`` → ``/evidence/{}``: parameter names do not matter."""
    parts = path.split("{")
    return parts[0] + "".join("{" + part[part.index("}") :] for part in parts[1:])


def _documented_endpoints() -> list[tuple[str, str]]:
    found = []
    for row in _table("| endpoint |"):
        pairs = re.findall(rf"`({'|'.join(METHODS)}) (/[^`\s]*)`", row[0])
        assert pairs, f"a row of the endpoint table names no endpoint: {row[0]!r}"
        found += [(method, _shape(path)) for method, path in pairs]
    return found


def _covers(documented: tuple[str, str], operation: tuple[str, str]) -> bool:
    method, path = documented
    if method != operation[0]:
        return False
    if path.endswith(GROUP):
        return operation[1].startswith(path.removesuffix("…"))
    return path == operation[1]


def test_every_documented_endpoint_exists(operations: set[tuple[str, str]]) -> None:
    missing = [
        f"{m} {p}"
        for m, p in _documented_endpoints()
        if not any(_covers((m, p), op) for op in operations)
    ]
    assert not missing, f"README documents endpoints the API does not have: {missing}"


def test_every_endpoint_is_documented(operations: set[tuple[str, str]]) -> None:
    documented = _documented_endpoints()
    missing = sorted(
        f"{m} {p}" for m, p in operations if not any(_covers(d, (m, p)) for d in documented)
    )
    assert not missing, f"endpoints missing from README's endpoint table: {missing}"
