"""``chainproof dataset anchor|verify|prove|check-proof``: data resources (数据资源).

``anchor`` hashes every file of a directory (streamed, one chunk at a time, with a progress
bar on a terminal) and registers the manifest; the server commits it as one Merkle root and
anchors that. ``verify`` hashes the directory again and names every file added, removed or
changed since. ``prove`` fetches one file's proof; ``check-proof`` checks it alone, with no
server (with ``--rpc``/``--trust``, the root's receipt against the chain too).

Exit codes: 0 yes (registered, identical, proven), 1 no (differences, a proof that fails,
--wait timed out), 2 the question could not be asked (unreadable directory, server, node),
3 (``check-proof --rpc`` without ``--trust``) every check passed but nothing was pinned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from chainproof.cli.progress import progress_bar
from chainproof.cli.verdicts import pinned_anchor
from chainproof.client import DEFAULT_SERVER, ChainProofClient, WaitTimeoutError
from chainproof.datasets.manifest import (
    Diff,
    FileEntry,
    check_file_proof,
    diff,
    entry_of,
    root_of,
    scan,
    walk,
)
from chainproof.errors import ChainProofError

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(help="Data resources (数据资源): data sets as one anchored Merkle root.")
_RPC_TIMEOUT = 10.0
ServerOption = Annotated[
    str, typer.Option("--server", envvar="CHAINPROOF_SERVER", help="The ChainProof server.")
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="CHAINPROOF_API_KEY", help="API key (Bearer).", show_default=False
    ),
]


def _say(console: Console, text: str) -> None:
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def _fail(message: str, code: int = 2) -> NoReturn:
    Console(stderr=True).print(f"error: {message}", soft_wrap=True, highlight=False, markup=False)
    raise typer.Exit(code)


def hash_directory(directory: Path, progress: Progress | None = None) -> list[FileEntry]:
    """The manifest of ``directory``: every file streamed through SHA-256, a byte-counting
    bar over all of them (sizes from one ``stat`` walk first)."""
    if progress is None:
        return list(scan(directory))
    total = sum(full.stat().st_size for _, full in walk(directory))
    task = progress.add_task(f"hashing {directory}", total=total)
    return list(scan(directory, on_bytes=lambda n: progress.advance(task, n)))


def run_anchor(
    client: ChainProofClient,
    directory: Path,
    *,
    name: str,
    licence: str,
    console: Console,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Hashes ``directory``, registers it; prints and returns the server's record."""
    entries = hash_directory(directory, progress)
    record = client.register_dataset(
        name=name, licence=licence, files=[e.to_json() for e in entries]
    )
    if record.get("root") != root_of(entries):  # the server computes it: it must agree
        raise ChainProofError(
            f"the server registered root {record.get('root')}, the directory's is "
            f"{root_of(entries)}"
        )
    _say(console, f"data resource {record['id']}: {name!r}, licence {licence}")
    _say(
        console,
        f"root {record['root']} over {record['file_count']} files, {record['total_bytes']} bytes",
    )
    _say(console, f"anchored as evidence {record['evidence_id']} ({record['status']})")
    return record


def run_verify(
    client: ChainProofClient,
    directory: Path,
    resource_id: str,
    *,
    console: Console,
    progress: Progress | None = None,
) -> tuple[int, Diff]:
    """Compares ``directory`` with the registered manifest; prints every difference.
    (exit code, differences): 0 identical, 1 not."""
    manifest = client.dataset_manifest(resource_id)
    registered = [entry_of(f) for f in manifest["files"]]
    # The manifest must be the one the anchored root commits to, not whatever the server says.
    if root_of(sorted(registered)) != manifest["root"]:
        raise ChainProofError(
            f"the server's manifest does not hash to its root {manifest['root']}: refusing it"
        )
    record = client.dataset(resource_id)
    if record.get("evidence_id"):
        anchored = client.get_evidence(record["evidence_id"])
        if anchored.get("digest") not in (None, manifest["root"]):
            raise ChainProofError(
                f"evidence {record['evidence_id']} anchors {anchored['digest']}, not the "
                f"manifest's root {manifest['root']}"
            )
    found = diff(registered, hash_directory(directory, progress))
    for kind, paths in (
        ("added", found.added),
        ("removed", found.removed),
        ("changed", found.changed),
    ):
        for path in paths:
            _say(console, f"{kind:<8} {path}")
    if found.same:
        _say(console, f"identical: {len(registered)} files, root {manifest['root']}")
        return 0, found
    _say(
        console,
        f"{len(found.added)} added, {len(found.removed)} removed, {len(found.changed)} changed "
        f"since root {manifest['root']}",
    )
    return 1, found


def _client(server: str, api_key: str | None) -> ChainProofClient:
    try:
        return ChainProofClient(server, api_key=api_key)
    except ChainProofError as exc:
        _fail(exc.message)


@app.command("anchor")
def anchor_command(
    directory: Annotated[Path, typer.Argument(help="The data set's directory.")],
    name: Annotated[str, typer.Option("--name", help="The data set's name.")],
    licence: Annotated[
        str, typer.Option("--licence", help="Its licence (an SPDX id or a contract number).")
    ] = "proprietary",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the root is anchored.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0)] = 120.0,
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Hash every file of DIRECTORY (streamed) and register it as one data resource."""
    console = Console()
    try:
        with _client(server, api_key) as client, progress_bar() as progress:
            record = run_anchor(
                client, directory, name=name, licence=licence, console=console, progress=progress
            )
            if wait:
                client.wait_anchored([record["evidence_id"]], timeout)
                _say(console, "anchored")
    except WaitTimeoutError as exc:
        _fail(exc.message, 1)
    except (ChainProofError, OSError) as exc:
        _fail(getattr(exc, "message", None) or str(exc))


@app.command("verify")
def verify_command(
    directory: Annotated[Path, typer.Argument(help="The directory to compare.")],
    resource: Annotated[str, typer.Option("--resource", help="The data resource's id.")],
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Name every file added, removed or changed in DIRECTORY since RESOURCE was anchored."""
    try:
        with _client(server, api_key) as client, progress_bar() as progress:
            code, _ = run_verify(client, directory, resource, console=Console(), progress=progress)
    except (ChainProofError, OSError) as exc:
        _fail(getattr(exc, "message", None) or str(exc))
    raise typer.Exit(code)


@app.command("prove")
def prove_command(
    file: Annotated[Path, typer.Argument(help="One file of the data set.")],
    resource: Annotated[str, typer.Option("--resource", help="The data resource's id.")],
    path: Annotated[str, typer.Option("--path", help="The file's path inside the data set.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the proof.")] = Path(
        "dataset-proof.json"
    ),
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Fetch FILE's proof of membership (with the root's receipt) and check it here."""
    try:
        with _client(server, api_key) as client:
            proof = client.dataset_proof(resource, path)
        problems = check_file_proof(proof, file)
    except (ChainProofError, OSError) as exc:
        _fail(getattr(exc, "message", None) or str(exc))
    if problems:
        _fail("; ".join(problems), 1)
    out.write_text(json.dumps(proof, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _say(Console(), f"{path} is in data set {resource}: proof written to {out}")


@app.command("check-proof")
def check_proof_command(
    proof_file: Annotated[Path, typer.Argument(help="A chainproof-dataset-proof/1 file.")],
    file: Annotated[Path | None, typer.Argument(help="The file it proves (optional).")] = None,
    rpc: Annotated[
        str | None, typer.Option("--rpc", help="Verify the root's receipt at this node.")
    ] = None,
    trust: Annotated[
        str | None, typer.Option("--trust", help="The trust anchor (file or server URL).")
    ] = None,
) -> None:
    """Check one file's membership alone, with no ChainProof server: its bytes, its leaf,
    the proof to the root, and with --rpc the root's receipt on chain."""
    console = Console()
    try:
        proof = json.loads(proof_file.read_text(encoding="utf-8"))
        problems = check_file_proof(proof, file)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {proof_file}: {exc}")
    receipt_data = proof.get("receipt")
    if not problems and receipt_data is not None:
        problems = _receipt_problems(receipt_data, proof["root"])
    if problems:
        for problem in problems:
            _say(console, f"✗ {problem}")
        raise typer.Exit(1)
    _say(
        console,
        f"✓ {proof['leaf'][0]} is in data set {proof.get('resource')} (root {proof['root']})",
    )
    if rpc is None:
        _say(console, "the root's anchoring was not checked (no --rpc)")
        raise typer.Exit(0 if receipt_data is not None else 3)
    if receipt_data is None:
        _fail("the proof carries no receipt yet (the root was not anchored when it was made)", 1)
    raise typer.Exit(_verify_on_chain(receipt_data, rpc, trust, console))


def _receipt_problems(data: Any, root: str) -> list[str]:
    from chainproof.receipts import Receipt, check_receipt_offline

    try:
        receipt = Receipt.from_dict(data)
    except ChainProofError as exc:
        return [exc.message]
    if receipt.digest != root.lower():
        return [f"the receipt anchors {receipt.digest}, not the data set's root {root}"]
    return check_receipt_offline(receipt)


def _verify_on_chain(data: Any, rpc: str, trust: str | None, console: Console) -> int:
    from web3 import Web3

    from chainproof.receipts import Receipt, verify_receipt

    anchor = pinned_anchor(trust) if trust else None
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": _RPC_TIMEOUT}))
    verdict = verify_receipt(Receipt.from_dict(data), w3, trust=anchor)
    for name, ok, detail in verdict.checks:
        _say(console, f" {'✓' if ok else '✗'} {name:<16} {detail}")
    _say(console, f"root receipt: {verdict.status}")
    return {"valid": 0, "unpinned": 3}.get(verdict.status, 1)


__all__ = ["app", "hash_directory", "run_anchor", "run_verify"]
