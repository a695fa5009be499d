"""Mutation testing of the proof and rules kernels (issue 27): ``make mutation``.

Runs mutmut 3 once per module, over the fast unit tests that cover it, and prints one table:
module | mutants | killed | survived | not run | score (killed / mutants).

Layout: mutmut names a mutant after its file path (``backend/chainproof/x.py`` would give
``backend.chainproof.x``) but records which tests reach a function by its import name
(``chainproof.x``), so with ``source_paths = backend/chainproof`` no mutant would ever have a
test. Instead each module gets a work folder, ``.cache/mutation/<name>/``, holding symlinks
``chainproof -> backend/chainproof``, ``tests`` and ``pyproject.toml`` and a generated
``setup.cfg`` with the ``[mutmut]`` section. mutmut copies the package to
``mutants/chainproof`` there and puts ``mutants/`` first on ``sys.path``; the project root is
still found by walking up (``config.find_project_root``), so the contracts, node_modules and
the embedded chain are the checkout's.

Isolation: each mutant's tests run in a process forked from a fork server that has run no
test, so no ``lru_cache`` holds a result computed by unmutated code (one of the misreports of
mutmut's plain fork mode that the issue names). The fork server imports the libraries and the
package (``preload.txt``) to make each mutant start in ~0.3 s instead of ~2 s; mutmut's
trampolines pick the mutant at call time, so importing early changes nothing, except for code
a module runs at import time: ``trace/cbv_hash.py`` builds ``_ORDER`` and ``receipts/``
its models and JSON Schema then, so for them the package is not preloaded and each mutant
imports it with the mutant already active.
Bytecode caching is on for these runs (the shell's PYTHONDONTWRITEBYTECODE would make every
mutant recompile the libraries it imports).

One worker (``--max-children 1``; ``--jobs 2`` for two) under ``nice -n 15``: the machine
is shared.

    python scripts/mutation.py                 # every module
    python scripts/mutation.py merkle digests  # some of them
    python scripts/mutation.py --survivors merkle   # also list the surviving mutants
    python scripts/mutation.py --jobs 2 receipts    # two mutants at a time
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".cache" / "mutation"
EQUIVALENTS_DOC = ROOT / "docs" / "testing.md"


@dataclass(frozen=True)
class Target:
    name: str
    source: str  # path inside backend/, or a glob of them (``chainproof/receipts/*.py``)
    tests: tuple[str, ...]
    # False for a module that runs its own functions at import time (see the docstring).
    preload_package: bool = True
    # Those functions: mutmut credits a call made while pytest imports the test modules to
    # the first test that runs, so their survivors are run again against every test listed.
    import_time: tuple[str, ...] = ()
    # Extra pytest arguments for this module's runs (e.g. which chains to use).
    pytest_args: tuple[str, ...] = ()


# Each module with the fast tests that cover it. receipts' and trust's on-chain checks run
# against the embedded chain (py-evm in process), which those tests start themselves; the
# integration module's Anvil half is left out (a node process per mutant).
_TRUST_TESTS = (
    "tests/unit/test_receipt_verdicts.py",
    "tests/integration/test_receipt_trust_checks.py",
)
_EMBEDDED_ONLY = ("-k", "not anvil")
TARGETS: tuple[Target, ...] = (
    Target("digests", "chainproof/digests.py", ("tests/unit/test_digests.py",)),
    Target("merkle", "chainproof/merkle.py", ("tests/unit/test_merkle.py",)),
    # receipts (model, offline and online checks) builds its models at import time.
    Target(
        "receipts",
        "chainproof/receipts/*.py",
        ("tests/unit/test_receipts.py", *_TRUST_TESTS),
        preload_package=False,
        import_time=("_view",),
        pytest_args=_EMBEDDED_ONLY,
    ),
    Target(
        "trust",
        "chainproof/trust.py",
        ("tests/unit/test_trust.py", "tests/unit/test_trust_reading.py", *_TRUST_TESTS),
        pytest_args=_EMBEDDED_ONLY,
    ),
    Target("subsidy/rules", "chainproof/subsidy/rules.py", ("tests/unit/test_subsidy_rules.py",)),
    Target(
        "trace/cbv_hash",
        "chainproof/trace/cbv_hash.py",
        ("tests/unit/test_trace_hash.py",),
        preload_package=False,
        import_time=("_standard_order",),
    ),
    Target("trace/chains", "chainproof/trace/chains.py", ("tests/unit/test_trace_hash.py",)),
)

# Imported once by the fork server, so each mutant's process starts warm.
PRELOAD = (
    "pytest",
    "hypothesis",
    "web3",
    "eth_abi",
    "eth_account",
    "eth_utils",
    "eth_tester",
    "eth",
    "fastapi",
    "starlette.testclient",
    "sqlmodel",
    "pydantic",
    "pydantic_settings",
    "structlog",
    "jsonschema",
    "rfc8785",
    "epcis_event_hash_generator",
    "reportlab",
    "segno",
    "sqlalchemy",
    "alembic",
    "cryptography",
)
PRELOAD_PACKAGE = ("chainproof.api.app", "chainproof.cli")

# mutmut's exit-code meanings (mutmut.stats.status_by_exit_code), grouped for the table.
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
NOT_RUN = {"no tests", "not checked", "skipped", "check was interrupted by user"}


def _pytest_args(target: Target) -> list[str]:
    return [
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        # Derandomised (tests/conftest.py): the same examples for every mutant, so a mutant
        # is not killed or spared by the luck of the draw; 25 of them instead of ci's 100.
        "--hypothesis-profile=mutation",
        # pytest would rewrite the asserts of plugins (anyio, hypothesis) that the fork server
        # has already imported, and warns that it cannot (an error under filterwarnings).
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        # The API fuzzer's plugin: no unit test here uses it, and loading it costs 0.5 s a mutant.
        "-p",
        "no:schemathesis",
        *target.pytest_args,
    ]


def _setup_cfg(target: Target) -> str:
    def lines(items: tuple[str, ...] | list[str]) -> str:
        return "".join(f"\n    {item}" for item in items)

    return (
        "# Generated by scripts/mutation.py; edit TARGETS there.\n"
        "[mutmut]\n"
        "source_paths = chainproof\n"
        f"only_mutate = {target.source}\n"
        f"pytest_add_cli_args ={lines(_pytest_args(target))}\n"
        f"pytest_add_cli_args_test_selection ={lines(target.tests)}\n"
        "process_isolation = forkserver\n"
        "forkserver_warmup = import\n"
        "preload_modules_file = preload.txt\n"
        "use_git_change_detection = false\n"
        "use_setproctitle = false\n"
    )


def _prepare(target: Target) -> Path:
    work = WORK / target.name.replace("/", "-")
    shutil.rmtree(work, ignore_errors=True)  # a clean run each time: no stale verdicts
    work.mkdir(parents=True)
    for link, dest in (
        ("chainproof", ROOT / "backend" / "chainproof"),
        ("tests", ROOT / "tests"),
        ("pyproject.toml", ROOT / "pyproject.toml"),
    ):
        (work / link).symlink_to(dest)
    (work / "setup.cfg").write_text(_setup_cfg(target))
    preload = PRELOAD + (PRELOAD_PACKAGE if target.preload_package else ())
    (work / "preload.txt").write_text("\n".join(preload) + "\n")
    return work


def _statuses(work: Path, target: Target) -> dict[str, str]:
    from mutmut.stats import status_by_exit_code

    found: dict[str, str] = {}
    for meta in sorted((work / "mutants").glob(target.source + ".meta")):
        data = json.loads(meta.read_text())
        found.update({k: status_by_exit_code[v] for k, v in data["exit_code_by_key"].items()})
    return found


def _equivalents() -> dict[str, str]:
    """Mutants documented as equivalent in docs/testing.md: ``- `name`: reason`` lines."""
    if not EQUIVALENTS_DOC.exists():
        return {}
    found = re.findall(
        r"^- `(chainproof\.[^`]+__mutmut_\d+)`: (.+)$", EQUIVALENTS_DOC.read_text(), re.M
    )
    return dict(found)


def run(target: Target, *, quiet: bool, jobs: int = 1) -> dict[str, str]:
    started = time.monotonic()
    work = _prepare(target)
    dropped = ("PYTHONPATH", "MUTANT_UNDER_TEST", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    cmd = ["nice", "-n", "15", sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)]
    log = work / "mutmut.log"
    print(
        f"== {target.name}: mutmut over {target.source} with {', '.join(target.tests)}", flush=True
    )
    for _attempt in range(2):  # once more if the clean run itself failed (a loaded machine)
        with log.open("w") as out:
            proc = subprocess.run(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
        if proc.returncode == 0:
            break
    if proc.returncode != 0:
        sys.stdout.write(log.read_text()[-4000:])
        raise SystemExit(f"mutmut failed on {target.name} (exit {proc.returncode}); log: {log}")
    statuses = _statuses(work, target)
    _rerun_import_time(work, target, statuses, env)
    if not quiet:
        minutes = (time.monotonic() - started) / 60
        print(f"   {minutes:.1f} min; log: {log.relative_to(ROOT)}", flush=True)
    return statuses


def _rerun_import_time(
    work: Path, target: Target, statuses: dict[str, str], env: dict[str, str]
) -> None:
    """Runs each surviving mutant of an import-time function against all the module's tests,
    as mutmut would (``MUTANT_UNDER_TEST`` in the ``mutants/`` copy), and records the result."""
    names = "|".join(map(re.escape, target.import_time))
    pattern = re.compile(rf"\.x_({names})__mutmut_\d+$")
    again = [k for k, s in statuses.items() if s == "survived" and pattern.search(k)]
    if not target.import_time or not again:
        return
    print(f"   {len(again)} import-time survivors: each run again against every test", flush=True)
    mutants = work / "mutants"
    cmd = ["nice", "-n", "15", sys.executable, "-m", "pytest", *_pytest_args(target)]

    def fails(mutant: str) -> bool:
        run_env = {**env, "MUTANT_UNDER_TEST": mutant, "PYTHONPATH": str(mutants)}
        try:
            done = subprocess.run(
                [*cmd, *target.tests],
                cwd=mutants,
                env=run_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            return True
        return done.returncode != 0

    if fails(""):  # the unmutated code must pass this way first, or no failure means anything
        print("   the tests fail without a mutant: import-time survivors left as they are")
        return
    for key in again:
        statuses[key] = "killed" if fails(key) else "survived"


def _row(name: str, statuses: dict[str, str]) -> tuple[str, int, int, int, int, str]:
    counts = Counter(statuses.values())
    total = len(statuses)
    killed = sum(counts[s] for s in KILLED)
    not_run = sum(counts[s] for s in NOT_RUN)
    survived = total - killed - not_run
    score = f"{100 * killed / total:.1f} %" if total else "-"
    return name, total, killed, survived, not_run, score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="names from the table (default: all)")
    parser.add_argument("--survivors", action="store_true", help="list each surviving mutant")
    parser.add_argument(
        "--jobs", type=int, choices=(1, 2), default=1, help="mutants run at once (default 1)"
    )
    args = parser.parse_args(argv)
    by_name = {t.name: t for t in TARGETS}
    unknown = [m for m in args.modules if m not in by_name]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {sorted(by_name)}")
    chosen = [by_name[m] for m in args.modules] if args.modules else list(TARGETS)

    results = {t.name: run(t, quiet=False, jobs=args.jobs) for t in chosen}
    equivalents = _equivalents()

    print()
    print("| module | mutants | killed | survived | not run | score |")
    print("|---|---|---|---|---|---|")
    for name, statuses in results.items():
        print("| {} | {} | {} | {} | {} | {} |".format(*_row(name, statuses)))
    for name, statuses in results.items():
        alive = sorted(k for k, s in statuses.items() if s not in KILLED)
        if not alive:
            continue
        documented = [k for k in alive if k in equivalents]
        print(f"\n{name}: {len(alive)} not killed, {len(documented)} documented as equivalent")
        if args.survivors:
            for k in alive:
                note = f"  (equivalent: {equivalents[k]})" if k in equivalents else ""
                print(f"  {statuses[k]:>9}  {k}{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
