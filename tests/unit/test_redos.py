"""Every regular expression in the repository is free of catastrophic backtracking, as
npm ``recheck`` (pinned in package.json) proves it: ``scripts/redos_check.py``, also run by
``make lint``. Issue 14's F13 was a quadratic string scan on the first byte of every request."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ..conftest import ROOT, require


def _checker() -> ModuleType:
    require(shutil.which("node") is not None, "node is needed to run recheck")
    require((ROOT / "node_modules" / "recheck").is_dir(), "recheck is missing (make install)")
    spec = importlib.util.spec_from_file_location("redos_check", ROOT / "scripts/redos_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["redos_check"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_regex_in_the_repo_is_proven_safe() -> None:
    checker = _checker()
    count, bad = checker.problems(ROOT)
    assert count >= 40, f"only {count} regular expressions found: is the collector blind?"
    assert not bad, "\n".join(bad)


def test_the_checker_flags_the_old_quadratic_json_string_scan() -> None:
    """The pattern of F13 (``api/json_guard.py`` before issue 14): quadratic, and caught."""
    checker = _checker()
    old = checker.Found("json_guard.py", r'"[^"\\]*(?:\\.[^"\\]*)*"', "s")
    exponential = checker.Found("classic", r"^(a+)+$", "")
    safe = checker.Found("new", r'"[^"]*"?', "")
    verdicts = checker.check([old, exponential, safe], ROOT)
    assert verdicts[0]["status"] == "vulnerable", verdicts[0]
    assert verdicts[0]["complexity"]["type"] == "polynomial", verdicts[0]
    assert verdicts[1]["status"] == "vulnerable"
    assert verdicts[2]["status"] == "safe"


def test_the_collectors_find_python_calls_and_js_literals(tmp_path: Path) -> None:
    checker = _checker()
    js = "const a = b / c / d; const r = /x+y/gi; if (/^\\d$/.test(s)) x = '/not/'; // /no/\n"
    assert [(s, f) for _, s, f in checker.js_regex_literals(js)] == [("x+y", "gi"), ("^\\d$", "")]
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "m.py").write_text(
        "import re\nA = re.compile(rb'a.b', re.DOTALL)\n"
        "B = re.match('(?i)q', s)\nC = re.sub(x, '', s)\n"
    )
    found = checker.python_patterns(tmp_path)
    assert [(f.source, f.flags) for f in found] == [("a.b", "s"), ("^(?:q)", "i")]
