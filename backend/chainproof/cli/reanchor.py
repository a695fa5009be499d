"""``chainproof reanchor``: move the index onto a new chain after a chain reset.

The recovery path of docs/operations.md, "Chain reset": stop the server, ``chainproof
contracts deploy --new``, ``chainproof reanchor``, start the server. This command

1. finds every confirmed batch that is not on the current deployment (another chain id or
   another contract address);
2. writes, *before changing anything*, a claims file ``<data-dir>/reanchor/claims-*.json``:
   for each of their documents the old chain, contract, root, transaction, block, time
   and proof. Those times are **claims, not proofs**: the chain that proved them is gone
   (the receipts issued then still verify against a copy of it, nowhere else);
3. marks those batches ``orphaned`` and puts their anchored documents back in the queue,
   so the batcher anchors them on the new chain with the same digest and salt and new
   receipts whose time is the new block's. Revoked documents stay revoked (listed in the
   claims file too), and are not anchored again.

Run it before the server starts on the new chain: on start the batcher would find the old
blocks missing and re-queue the documents itself, without keeping their old times.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from chainproof.cli.server import _fail, _migrate, _open_chain, settings_with

_out = Console(highlight=False)


def reanchor(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory (default: CHAINPROOF_DATA_DIR)."),
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain", help="anvil, ganache or a JSON-RPC URL (default: CHAINPROOF_CHAIN)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be re-anchored.")
    ] = False,
) -> None:
    """After a chain reset and `contracts deploy --new`: re-queue the documents anchored on
    the old chain, keeping their old times as claims (not proofs) in a claims file."""
    # Imported here: web3 and the ORM are most of a command's start-up time, and every other
    # command would pay for them (cli/__init__.py imports each command's module).
    from chainproof.cli.progress import progress_bar
    from chainproof.evidence.reanchor import reanchor_index
    from chainproof.store import db

    settings = settings_with(data_dir=data_dir, chain=chain)
    url = _migrate(settings)
    context = _open_chain(settings, deploy_if_missing=False)
    try:
        chain_id, contract = context.chain_id, context.contract
        with db.open_session(url) as session, progress_bar() as progress:
            task = progress.add_task("checking batches on chain", total=None, unit="docs")

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            path, requeued, batches = reanchor_index(
                session=session,
                w3=context.w3,
                chain_id=chain_id,
                contract=contract,
                claims_dir=settings.data_dir / "reanchor",
                dry_run=dry_run,
                honoured=[d.address for d in context.honoured],  # v1 after an upgrade
                on_progress=on_progress,
            )
    finally:
        context.stop()
    if batches == 0:
        _out.print(f"nothing to re-anchor: every confirmed batch is on chain {chain_id}")
        return
    if dry_run:
        _out.print(f"would re-queue {requeued} documents from {batches} batches")
        return
    if path is None:  # pragma: no cover - written whenever batches were found
        _fail("no claims file was written")
    _out.print(
        f"re-queued {requeued} documents from {batches} batches for chain {chain_id}, "
        f"contract {contract}",
        soft_wrap=True,
    )
    _out.print(
        f"their old anchoring times are claims, not proofs: {escape(str(path))}", soft_wrap=True
    )


def register(app: typer.Typer) -> None:
    app.command("reanchor")(reanchor)
