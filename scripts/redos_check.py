"""ReDoS check of every regular expression in the repository (``make lint``, and the suite).

Finds the regular expressions written in the code: Python's ``re.compile``/``re.match``/...
with a literal pattern (and literal flags), and JavaScript regex literals and
``new RegExp("...")`` in ``backend/chainproof/web/static/js``. Each is handed to **recheck**
(npm ``recheck``, pinned in package.json: an automaton-based checker that finds exponential
*and polynomial* backtracking, and answers with an attack string), which runs with
``exec`` semantics, that is searching from every position as ``re.search``/``re.sub`` do:
the quadratic string scan of issue 14 (F13) is exactly what it reports.

Python syntax is translated to JavaScript's where they differ (``(?P<n>`` → ``(?<n>``,
``\\A``/``\\Z`` → ``^``/``$``); a pattern recheck cannot read is a failure too, so no regex
escapes the check by being exotic.

Exit status: 0 when every pattern is safe; 1 otherwise, each offender printed with its place.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DIRS = ("backend", "scripts", "benchmarks", "tests")
JS_DIR = Path("backend/chainproof/web/static/js")
RE_FUNCTIONS = frozenset(
    {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
)
FLAG_LETTERS = {"DOTALL": "s", "S": "s", "IGNORECASE": "i", "I": "i", "MULTILINE": "m", "M": "m"}
IGNORED_FLAGS = frozenset({"ASCII", "A", "UNICODE", "U"})


@dataclass(frozen=True)
class Found:
    """One regular expression in the code: where, its source and flags (JS spelling)."""

    where: str
    source: str
    flags: str


def _flags(node: ast.expr | None) -> str | None:
    """JS flag letters of a literal ``re.X | re.Y`` expression; None when not literal."""
    if node is None:
        return ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _flags(node.left), _flags(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "re" and node.attr in FLAG_LETTERS:
            return FLAG_LETTERS[node.attr]
        if node.value.id == "re" and node.attr in IGNORED_FLAGS:
            return ""
    return None


def _to_js(pattern: str, flags: str, function: str) -> tuple[str, str]:
    """Python's spelling to JavaScript's; ``match``/``fullmatch`` anchor as they do."""
    if pattern.startswith("(?") and ")" in pattern:
        inline, rest = pattern[2:].split(")", 1)
        if inline.isalpha():  # leading inline flags: (?i), (?s), (?m)
            pattern = rest
            flags += "".join(FLAG_LETTERS.get(letter.upper(), "") for letter in inline)
    js = pattern.replace("(?P<", "(?<").replace("\\A", "^").replace("\\Z", "$")
    if function == "match":
        js = f"^(?:{js})"
    elif function == "fullmatch":
        js = f"^(?:{js})$"
    return js, flags


def python_patterns(root: Path = ROOT) -> list[Found]:
    """Every ``re.<function>(<literal>, ...)`` in the Python sources."""
    found = []
    for folder in PYTHON_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.func.attr in RE_FUNCTIONS
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    continue
                raw = node.args[0].value
                pattern = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
                flag_node = next((k.value for k in node.keywords if k.arg == "flags"), None)
                if flag_node is None:
                    position = {
                        "compile": 1,
                        "match": 2,
                        "search": 2,
                        "fullmatch": 2,
                        "split": 3,
                        "findall": 2,
                        "finditer": 2,
                        "sub": 4,
                        "subn": 4,
                    }
                    index = position[node.func.attr]
                    flag_node = node.args[index] if len(node.args) > index else None
                flags = _flags(flag_node)
                where = f"{path.relative_to(root)}:{node.lineno}"
                if flags is None:
                    flags = "?"  # not literal: reported as unreadable below
                found.append(Found(where, *_to_js(pattern, flags, node.func.attr)))
    return found


# Tokens after which a "/" starts a regex literal rather than a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {
    "",
    "return",
    "typeof",
    "case",
    "do",
    "else",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
}


def js_regex_literals(text: str) -> list[tuple[int, str, str]]:
    """(line, source, flags) of every regex literal in a JavaScript source.

    A small tokenizer: strings, template literals and comments are skipped; a ``/`` starts a
    regex when the previous significant token cannot end an expression.
    """
    out = []
    i, n, line = 0, len(text), 1
    previous = ""
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
            continue
        if c in "'\"`":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            line += text.count("\n", i, j)
            i = j + 1
            previous = "string"
            continue
        if c == "/" and previous in _REGEX_AFTER:
            j, in_class = i + 1, False
            while j < n and (text[j] != "/" or in_class):
                if text[j] == "\\":
                    j += 1
                elif text[j] == "[":
                    in_class = True
                elif text[j] == "]":
                    in_class = False
                j += 1
            source = text[i + 1 : j]
            k = j + 1
            while k < n and text[k].isalpha():
                k += 1
            out.append((line, source, text[j + 1 : k]))
            i = k
            previous = "regex"
            continue
        if c.isalnum() or c in "_$":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            previous = text[i:j]
            i = j
            continue
        previous = c
        i += 1
    return out


def js_patterns(root: Path = ROOT) -> list[Found]:
    """Regex literals and ``new RegExp('literal')`` in the pages' scripts."""
    found = []
    for path in sorted((root / JS_DIR).glob("*.js")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root)
        for line, source, flags in js_regex_literals(text):
            found.append(Found(f"{rel}:{line}", source, flags))
        start = text.find("RegExp(")
        while start >= 0:
            quote = text[start + 7 : start + 8]
            if quote in ("'", '"'):
                end = text.find(quote, start + 8)
                body = text[start + 8 : end]
                line = text.count("\n", 0, start) + 1
                found.append(Found(f"{rel}:{line}", json.loads(f'"{body}"'), ""))
            start = text.find("RegExp(", start + 7)
    return found


_CHECKER = """
const { checkSync } = require(process.argv[1] + "/node_modules/recheck");
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = items.map(([source, flags]) => {
  if (flags.includes("?")) return { status: "unknown", error: "flags are not literal" };
  try {
    const r = checkSync(source, flags.replace(/[^dgimsuy]/g, ""), { timeout: 30000 });
    return { status: r.status, complexity: r.complexity, attack: r.attack && r.attack.pattern,
             error: r.error && (r.error.message || r.error.kind) };
  } catch (e) { return { status: "unknown", error: String(e) }; }
});
process.stdout.write(JSON.stringify(out));
"""


def check(patterns: list[Found], root: Path = ROOT) -> list[dict[str, Any]]:
    """recheck's verdict for each pattern, in order."""
    answer = subprocess.run(
        ["node", "-e", _CHECKER, str(root)],
        input=json.dumps([[p.source, p.flags] for p in patterns]),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    verdicts: list[dict[str, Any]] = json.loads(answer.stdout)
    return verdicts


def problems(root: Path = ROOT) -> tuple[int, list[str]]:
    """(how many patterns were checked, one line per pattern that is not safe)."""
    patterns = python_patterns(root) + js_patterns(root)
    bad = []
    for found, verdict in zip(patterns, check(patterns, root), strict=True):
        if verdict["status"] != "safe":
            complexity = verdict.get("complexity") or {}
            bad.append(
                f"{found.where}: /{found.source}/{found.flags} is {verdict['status']}"
                f" ({complexity.get('type', verdict.get('error'))}"
                f"{', degree ' + str(complexity['degree']) if 'degree' in complexity else ''})"
                f"{'; attack: ' + verdict['attack'] if verdict.get('attack') else ''}"
            )
    return len(patterns), bad


def main() -> int:
    count, bad = problems()
    for line in bad:
        print(line)
    print(f"redos_check: {count} regular expressions, {len(bad)} not proven safe")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
