"""``chainproof bundle`` and ``chainproof verify-bundle``: offline proof bundles (issue 19).

``bundle`` fetches one from a server. ``verify-bundle`` checks one with no network request
at all (``bundle/verify.py``), unless ``--rpc`` asks it to confirm the block is canonical
on a node, or ``--trust`` names a URL.

Exit codes, as ``verify-receipt``'s: 0 valid against the pinned anchor; 1 invalid (the
failed check says why); 2 the bundle, the anchor or the node cannot be read; 3 not pinned
(every check passed, but against the bundle's own ``trust.json``: pass ``--trust``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from chainproof.cli.console import err as _err
from chainproof.cli.console import fail as _fail
from chainproof.cli.console import out as _out
from chainproof.cli.evidence import ApiKeyOption, ServerOption
from chainproof.cli.verdicts import conclude, load_anchor, print_checks
from chainproof.client import DEFAULT_SERVER, ChainProofClient, ClientError
from chainproof.errors import ChainProofError

_RPC_TIMEOUT = 10.0


def bundle(
    evidence_id: Annotated[str, typer.Argument(help="The evidence's public id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the zip here.")],
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
) -> None:
    """Fetch the offline proof bundle of an anchored document (a zip).

    Exit 0 when written, 1 while the document is not anchored yet, 2 on errors.
    """
    try:
        with ChainProofClient(server, api_key=api_key) as client:
            data = client.bundle(evidence_id)
    except ClientError as exc:
        _fail(str(exc), code=1 if exc.status == 409 else 2)
    except ChainProofError as exc:
        _fail(str(exc))
    try:
        output.write_bytes(data)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    _err.print(
        f"bundle of evidence {evidence_id} written to {escape(str(output))} ({len(data)} "
        f"bytes); check it with `chainproof verify-bundle {escape(str(output))} --trust "
        "ANCHOR`",
        soft_wrap=True,
        highlight=False,
    )


def _rpc(url: str) -> Any:
    import httpx

    def call(method: str, params: list[Any]) -> Any:
        answer = httpx.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=_RPC_TIMEOUT,
        ).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result")

    return call


def verify_bundle_command(
    file: Annotated[Path, typer.Argument(help="A bundle zip (`chainproof bundle`).")],
    trust: Annotated[
        str | None,
        typer.Option(
            "--trust",
            envvar="CHAINPROOF_TRUST",
            help=(
                "The trust anchor to pin (a chainproof-trust-anchor/1 file, or a server URL, "
                "which is then fetched). Without it the bundle's own trust.json is used and "
                "the answer is 'not pinned' (exit 3)."
            ),
        ),
    ] = None,
    ca: Annotated[
        Path | None,
        typer.Option("--ca", help="The TSA root to pin (PEM); default: the bundle's ca.pem."),
    ] = None,
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help=(
                "Also check on this JSON-RPC node that the block is canonical (a node of the "
                "anchor's main chain checks the block that posted the receipt's checkpoint)."
            ),
        ),
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help=(
                "For a receipt anchored on several chains (other_anchors): 'all' (every "
                "anchor must be proven in the bundle) or 'any' (one is enough), as "
                "verify-receipt's."
            ),
        ),
    ] = "all",
) -> None:
    """Verify an offline proof bundle: no network request unless --rpc (or a --trust URL).

    Exit codes: 0 valid; 1 invalid; 2 unreadable bundle, anchor or node; 3 not pinned.
    """
    from chainproof.bundle.layout import MAX_BUNDLE_BYTES
    from chainproof.bundle.verify import utc, verify_bundle

    try:
        with file.open("rb") as f:
            data = f.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    if policy not in ("any", "all"):
        _fail(f"--policy must be 'any' or 'all', not {policy!r}")
    anchor = load_anchor(trust)
    roots = None
    if ca is not None:
        try:
            roots = ca.read_bytes()
        except OSError as exc:
            _fail(f"cannot read {ca}: {exc.strerror or exc}")
    verdict = verify_bundle(
        data, trust=anchor, roots_pem=roots, rpc=_rpc(rpc) if rpc else None, policy=policy
    )
    out = _out()
    out.print(f"bundle {escape(str(file))}", soft_wrap=True, highlight=False)
    print_checks(out, verdict, 14)
    r = verdict.receipt

    def valid_line() -> str:
        assert r is not None  # a valid verdict carries its receipt
        lower, upper = verdict.interval or (None, r.block_timestamp)
        when = (
            f"between {utc(lower)} and {utc(upper)} ({upper - lower} s)"
            if lower is not None
            else f"by {utc(upper)}"
        )
        return (
            f"[bold green]VALID[/bold green]: {r.algorithm} {r.digest} anchored in block "
            f"{r.block_number} ({r.block_hash}) on chain {r.chain_id}, {when}"
        )

    conclude(
        out,
        verdict,
        valid_line=valid_line,
        node_failure=lambda reason: (
            f"the node at {rpc} could not be asked: {reason}"
            if verdict.checks and verdict.checks[-1][2].startswith("canonical check could not run")
            else None
        ),
    )


def register(app: typer.Typer) -> None:
    app.command("bundle")(bundle)
    app.command("verify-bundle")(verify_bundle_command)
