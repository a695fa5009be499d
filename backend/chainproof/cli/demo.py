"""``chainproof demo``: a persisted Anvil, the API and the batcher, seeded with demo data.

Everything a user would do goes through the public API (the seeding uses the same HTTP
client as the CLI), so the demo shows the real path: upload → queued → batched → anchored →
receipt. Ctrl-C stops the server, the batcher and the chain; the next run finds the same
chain state and deployment under the data directory and does not anchor the files again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chainproof.cli.server import _fail, _preflight, settings_with
from chainproof.errors import ChainProofError

_out = Console(highlight=False)


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 14 else f"{text[:10]}…{text[-4:]}"


def _seed(base_url: str, data_dir: Path, database_url: str, server: Any) -> None:
    from chainproof.client import ChainProofClient
    from chainproof.demo import DEMO_ORG, REVIEWER_ORG, write_demo_documents
    from chainproof.identity import create_api_key
    from chainproof.store.db import open_session

    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    with open_session(database_url) as session:
        _, admin_key = create_api_key(session=session, org=REVIEWER_ORG, role="admin")
        _, reviewer_key = create_api_key(session=session, org=REVIEWER_ORG, role="reviewer")
        _, submitter_key = create_api_key(session=session, org=DEMO_ORG, role="submitter")
    files = write_demo_documents(data_dir / "demo-documents")
    with ChainProofClient(base_url, api_key=submitter_key, timeout=60) as client:
        chain = client.chain_info()
        todo = [f for f in files if client.verify_file(f.path)["verdict"] != "anchored"]
        if todo:
            _out.print(f"anchoring {len(todo)} demo documents …")
            items = client.anchor_files([f.path for f in todo], label="2023专项补贴申报 demo")
            client.wait_anchored([int(i["id"]) for i in items], timeout=120)
        else:
            _out.print("demo documents already anchored on this chain (state persisted)")
        table = Table(title="anchored demo documents (存证)", show_lines=False)
        for col in ("file", "verdict", "sha256", "root", "tx", "block"):
            table.add_column(col, overflow="fold")
        verdicts = [client.verify_file(f.path) for f in files]
        for f, v in zip(files, verdicts, strict=True):
            table.add_row(
                f.name,
                v["verdict"],
                _short(v["digest"]),
                _short(v.get("root")),
                _short(v.get("tx_hash")),
                str(v.get("block_number", "")),
            )
    _out.print(table)
    for v in {v.get("root"): v for v in verdicts if v.get("root")}.values():
        _out.print(
            f"anchored root {v['root']}\n  tx {v['tx_hash']}  block {v['block_number']}  "
            f"at {v.get('anchored_at')}",
            soft_wrap=True,
        )
    _out.print(
        f"\n[bold]ChainProof demo is running[/bold]\n"
        f"  API + Swagger UI   {base_url}/docs\n"
        f"  chain              {chain.get('rpc_url')} (chain id {chain.get('chain_id')}, "
        f"registry {chain.get('contract')})\n"
        f"  admin key          {admin_key}\n"
        f"  reviewer key       {reviewer_key}\n"
        f"  submitter key      {submitter_key}   ({DEMO_ORG})\n"
        f"  try                CHAINPROOF_API_KEY={submitter_key} .venv/bin/chainproof anchor "
        "README.md --wait\n"
        "Ctrl-C stops the server and the chain.",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        port: Annotated[int, typer.Option(min=1, max=65535, help="API port.")] = 8000,
        data_dir: Annotated[
            Path, typer.Option(help="Where the demo keeps its chain state and database.")
        ] = Path("data/demo"),
        chain: Annotated[str, typer.Option(help="anvil, ganache or a JSON-RPC URL.")] = "anvil",
        chain_port: Annotated[
            int, typer.Option(min=1, max=65535, help="Port of the managed chain's JSON-RPC.")
        ] = 8545,
    ) -> None:
        """Start a persisted chain + the API + the batcher, and anchor demo documents."""
        import uvicorn

        from chainproof.api.app import create_app

        settings = settings_with(
            port=port,
            data_dir=data_dir,
            chain=chain,
            chain_port=chain_port,
            batch_interval_ms=200,
            host="127.0.0.1",
        )
        _preflight(settings)
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
        server.run()
