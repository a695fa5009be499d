"""``chainproof demo``: a persisted Anvil, the API and the batcher, seeded with the 2023 case.

With ``--two-chains`` (what ``make demo`` runs) a second persisted Anvil is the main chain
(桂链) and the demo's own chain the 南宁 city chain: the worker registers it on the main
chain's ChainRegistry, relays its checkpoints and anchors each root on both
(docs/crosschain.md).

Everything a user would do goes through the public API (``chainproof.demo.seed_demo``), so
the demo shows the real path: applicant units upload documents (queued → batched → anchored),
submit, a reviewer moves applications on, acceptance invoices are checked against 3×. Ctrl-C
stops the server, the batcher and the chain; the next run finds the same chain state, the
database and ``demo-keys.json`` under the data directory and adds nothing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chainproof.cli.server import (
    STANDARD_RPC_PORT,
    _choose_chain_port,
    _fail,
    _preflight,
    settings_with,
)
from chainproof.errors import ChainProofError

_out = Console(highlight=False)


def _seed(base_url: str, data_dir: Path, database_url: str, server: Any) -> None:
    from chainproof.demo import CASES, REVIEWER_ORG, seed_demo

    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    _out.print("seeding the 2023 subsidy case through the API …")
    result = seed_demo(
        base_url=base_url, data_dir=data_dir, database_url=database_url, say=_out.print
    )
    if result.created == 0:
        _out.print("demo data already seeded on this chain (state persisted): nothing added")
    table = Table(title="2023专项补贴 demo applications", show_lines=False)
    for col in ("#", "applicant unit", "status", "page"):
        table.add_column(col, overflow="fold")
    for case in CASES:
        app_id = result.applications[case.org]
        table.add_row(
            str(app_id),
            case.org,
            result.statuses.get(case.org, "?"),
            f"{base_url}/applications/{app_id}",
        )
    _out.print(table)
    check = "all files match" if result.integrity_all_match else "[red]MISMATCH[/red]"
    _out.print(f"reviewer integrity check of the application under review: {check}")
    _out.print(f"demo files to drop on the check page: {result.documents_dir}")
    width = max(len(name) for name in result.urls)
    lines = "\n".join(f"  {name:<{width}}  {url}" for name, url in result.urls.items())
    keys = result.keys
    applicants = "\n".join(
        f"  submitter key  {key}   ({org})" for org, key in keys.applicants.items()
    )
    if keys.trace:  # one per trace org: `chainproof trace capture DOC --api-key KEY`
        applicants += "\n" + "\n".join(
            f"  trace key      {key}   ({org})" for org, key in keys.trace.items()
        )
    people = "\n".join(
        f"  {p.role:<9}  {p.email}   password {p.password}   ({p.org})" for p in result.people
    )
    _out.print(
        f"\n[bold]ChainProof demo is running[/bold]\n{lines}\n"
        f"  admin key      {keys.admin}   ({REVIEWER_ORG})\n"
        f"  reviewer key   {keys.reviewer}   ({REVIEWER_ORG})\n"
        f"{applicants}\n"
        f"  (keys kept in {data_dir / 'demo-keys.json'}: for the CLI and scripts)\n"
        f"sign in on the pages at {base_url}/signin as:\n{people}\n"
        f"  (passwords kept in {data_dir / 'demo-people.json'})\n"
        "Ctrl-C stops the server and the chain.",
        soft_wrap=True,
    )


# The demo's main chain (桂链): its own chain id, so its receipts and the city chain's differ.
MAIN_CHAIN_ID = 45_000


def _start_main_chain(data_dir: Path) -> Any:
    """The main chain, a second Anvil with its state in ``<data dir>/main-chain`` (the next
    run finds the same chain: its ChainRegistry, the checkpoints, the second anchors)."""
    from chainproof.chain.managed import AnvilNode
    from chainproof.chain.nodes import free_port

    node = AnvilNode(
        state_file=data_dir.expanduser().resolve() / "main-chain" / "anvil-state.json",
        chain_id=MAIN_CHAIN_ID,
        port=free_port(),
    )
    node.start()
    _out.print(
        f"main chain 桂链 (chain id {MAIN_CHAIN_ID}) at {node.rpc_url}: this deployment's "
        "chain (南宁) is registered there, checkpointed every 8 blocks or 5 s, and each "
        "batch root anchored on both (the explorer lists the checkpoints)",
        soft_wrap=True,
    )
    return node


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        port: Annotated[int, typer.Option(min=1, max=65535, help="API port.")] = 8000,
        data_dir: Annotated[
            Path, typer.Option(help="Where the demo keeps its chain state and database.")
        ] = Path("data/demo"),
        chain: Annotated[str, typer.Option(help="anvil, ganache or a JSON-RPC URL.")] = "anvil",
        chain_port: Annotated[
            int | None,
            typer.Option(
                min=1,
                max=65535,
                show_default=False,
                help="Port of the managed chain's JSON-RPC [default: CHAINPROOF_CHAIN_PORT, "
                f"else {STANDARD_RPC_PORT}, else (held by another process) a free one].",
            ),
        ] = None,
        two_chains: Annotated[
            bool,
            typer.Option(
                "--two-chains",
                help="Also run a main chain (桂链): this deployment's chain (南宁) is "
                "registered there, checkpointed into it, and each root anchored on both "
                "(`make demo` passes it).",
            ),
        ] = False,
    ) -> None:
        """Start a persisted chain + the API + the batcher, and seed the 2023 subsidy case."""
        import uvicorn

        from chainproof.api.app import create_app

        main_node = _start_main_chain(data_dir) if two_chains else None
        main_url = main_node.rpc_url if main_node is not None else None
        settings = settings_with(
            port=port,
            data_dir=data_dir,
            chain=chain,
            chain_port=chain_port,
            batch_interval_ms=200,
            host="127.0.0.1",
            main_chain=main_url,
            second_chain=main_url,
            checkpoint_blocks=8 if main_url else None,
            checkpoint_seconds=5 if main_url else None,
            chain_name="南宁 city chain" if main_url else None,
        )
        settings = _choose_chain_port(settings)  # the same rule as `serve`
        _preflight(settings)
        if settings.chain_port is not None:
            _out.print(
                f"chain {settings.chain} at http://127.0.0.1:{settings.chain_port}, state in "
                f"{settings.data_dir} (`chainproof chain status --data-dir {settings.data_dir}`)",
                soft_wrap=True,
            )
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            application = create_app(settings)
        except ChainProofError as exc:
            _fail(exc.message)
        server = uvicorn.Server(
            uvicorn.Config(application, host=settings.host, port=settings.port, log_level="warning")
        )
        base_url = f"http://{settings.host}:{settings.port}"

        def seed() -> None:
            try:
                _seed(base_url, settings.data_dir, settings.resolved_database_url, server)
            except Exception as exc:  # show it, keep serving: the platform itself is up
                _out.print(f"[red]seeding the demo failed: {exc}[/red]")

        threading.Thread(target=seed, name="demo-seed", daemon=True).start()
        try:
            server.run()
        finally:
            if main_node is not None:
                main_node.stop()
