"""The vendored hash-wasm builds are the pinned package's, byte for byte, and carry the
integrity hashes the pages' script tags name (chainproof/web/vendor.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from chainproof.web import vendor

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "backend/chainproof/web/static"
NODE_MODULES = ROOT / "node_modules"


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def _package(path: str) -> str:
    """The npm package a vendored file comes from (its node_modules path's first part(s))."""
    parts = vendor.VENDORED[path][0].split("/")
    return "/".join(parts[:2] if parts[0].startswith("@") else parts[:1])


@pytest.mark.parametrize("package", sorted(vendor.PACKAGES))
def test_package_json_pins_the_version_recorded(package: str) -> None:
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    assert pinned["devDependencies"][package] == vendor.PACKAGES[package]
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"].get(f"node_modules/{package}")
    if entry is None:
        pytest.skip(f"{package} is not in package-lock.json yet (npm install)")
    assert entry["version"] == vendor.PACKAGES[package] and entry["integrity"].startswith("sha512-")
    folder = {_package(p): p.rsplit("/", 1)[0] for p in vendor.VENDORED}[package]
    assert "MIT" in (STATIC / folder / "LICENSE").read_text(encoding="utf-8").splitlines()[0]


@pytest.mark.parametrize("path", sorted(vendor.VENDORED))
def test_vendored_file_has_its_recorded_integrity(path: str) -> None:
    served = (STATIC / path).read_bytes()
    assert sri(served) == vendor.integrity(path)
    assert b"@license MIT" in served or b"MIT License" in served[:200]


@pytest.mark.parametrize("path", sorted(vendor.VENDORED))
def test_vendored_file_is_the_installed_packages(path: str) -> None:
    installed = NODE_MODULES / vendor.VENDORED[path][0]
    if not installed.exists():
        pytest.skip("node_modules not installed (make install)")
    package = _package(path)
    version = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))
    assert version["version"] == vendor.PACKAGES[package]
    assert installed.read_bytes() == (STATIC / path).read_bytes()


def _script_tags(text: str) -> list[str]:
    """Every ``<script src=…>`` tag, by string search (no regex: scripts/redos_check.py)."""
    tags, start = [], text.find("<script src=")
    while start != -1:
        end = text.find(">", start)
        tags.append(text[start : end + 1] if end != -1 else text[start:])
        start = text.find("<script src=", start + 1)
    return tags


def test_every_script_tag_not_our_own_names_its_integrity() -> None:
    """Our own code is ``static('js/…')``; any other script (vendored) carries ``integrity``."""
    tags = 0
    for template in (STATIC.parent / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in _script_tags(text):
            tags += 1
            if "static('js/" not in tag:
                assert 'integrity="{{ integrity(' in tag, (template.name, tag)
    assert tags > 10
