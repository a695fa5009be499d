"""The pages' messages: both languages complete, every key a template uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from chainproof.web import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
STATIC_JS = Path(i18n.__file__).parent / "static" / "js"


def test_both_catalogs_have_the_same_keys() -> None:
    assert set(i18n.ZH) == set(i18n.EN), set(i18n.ZH) ^ set(i18n.EN)


@pytest.mark.parametrize("key", sorted(i18n.ZH))
def test_both_languages_fill_the_same_fields(key: str) -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert fields(i18n.ZH[key]) == fields(i18n.EN[key])


def test_every_literal_key_in_the_templates_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_.0-9]+)'", template.read_text(encoding="utf-8")))
    literal = {k for k in used if not k.endswith(".")}  # "status." ~ value is built
    assert literal, "no t('...') calls found: the pattern is out of date"
    assert literal <= set(i18n.ZH), literal - set(i18n.ZH)


def test_every_key_the_scripts_use_exists() -> None:
    used: set[str] = set()
    for script in STATIC_JS.glob("*.js"):
        used |= set(re.findall(r"\bt\('([a-z_.0-9]+)'", script.read_text(encoding="utf-8")))
    literal = {k for k in used if not k.endswith(".")}  # 'verdict.' + kind is built
    assert literal <= set(i18n.js_messages("zh-CN")), literal - set(i18n.js_messages("zh-CN"))


def test_built_keys_exist_for_every_value() -> None:
    for prefix, values in {
        "status.": ("queued", "batched", "anchored", "revoked"),
        "status_long.": ("queued", "batched", "anchored", "revoked"),
        "algo.": ("sha256", "sm3", "keccak256"),
        "kind.": ("block", "tx", "root", "digest", "address"),
        "js.verdict.": ("anchored", "not_found", "revoked", "pending", "chain_mismatch", "error"),
        "js.step.": ("queued", "batched", "anchored"),
        "js.algo.": ("sha256", "sm3", "keccak256"),
    }.items():
        for value in values:
            assert prefix + value in i18n.ZH


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        (None, None, "zh-CN"),
        ("en", None, "en"),
        ("EN", "zh-CN", "en"),
        (None, "en", "en"),
        ("zh", "en", "zh-CN"),
        ("fr", None, "zh-CN"),
        ("fr", "en", "en"),
        ("", "", "zh-CN"),
    ],
)
def test_language_is_query_then_cookie_then_chinese(
    query: str | None, cookie: str | None, expected: str
) -> None:
    assert i18n.pick_lang(query, cookie) == expected


def test_messages_are_filled_and_missing_keys_fail() -> None:
    t = i18n.translator("en")
    assert t("evidence.title", id=7) == "Evidence #7"
    assert i18n.translator("zh-CN")("evidence.title", id=7) == "存证 #7"
    with pytest.raises(KeyError):
        t("no.such.key")
    assert i18n.optional_translator("en")("event.Anchored") == "root anchored"
    assert i18n.optional_translator("en")("event.Transfer") == ""


def test_script_messages_drop_the_prefix() -> None:
    messages = i18n.js_messages("en")
    assert messages["verdict.anchored"].startswith("✓")
    assert not any(k.startswith("js.") for k in messages)
