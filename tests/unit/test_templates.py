"""No template runs inline script (issue 14, F21): the pages' Content-Security-Policy says
``script-src 'self'``, so an inline ``<script>``, an ``on...=`` handler or a ``javascript:``
URL would be blocked (and would be the first thing an injection reaches for)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from chainproof.web.routes import TEMPLATE_DIR

DATA_TYPES = frozenset({"application/json", "application/ld+json"})  # data, never run


class _InlineScript(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._inline: tuple[int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = self.getpos()
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"line {where[0]}: <{tag} {name}=...> (an inline handler)")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f'line {where[0]}: <{tag} {name}="javascript:...">')
        if tag == "script":
            values = dict(attrs)
            kind = (values.get("type") or "").strip().lower()
            if not values.get("src") and kind not in DATA_TYPES:
                self._inline = where

    def handle_data(self, data: str) -> None:
        if self._inline is not None and data.strip():
            self.problems.append(f"line {self._inline[0]}: an inline <script> that would run")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline = None


def test_no_template_has_inline_script_or_handlers() -> None:
    templates = sorted(Path(TEMPLATE_DIR).glob("*.html"))
    assert len(templates) >= 20
    problems = []
    for path in templates:
        parser = _InlineScript()
        parser.feed(path.read_text(encoding="utf-8"))
        problems += [f"{path.name} {p}" for p in parser.problems]
    assert not problems, "\n".join(problems)


def test_the_checker_sees_inline_script_and_handlers() -> None:
    parser = _InlineScript()
    parser.feed(
        '<script>alert(1)</script><button onclick="x()">b</button><a href="javascript:x()">'
        '<script type="application/json">{"a": 1}</script><script src="/s.js"></script>'
    )
    assert len(parser.problems) == 3, parser.problems
