"""``chainproof chain ...``: run a local development chain in the foreground (``up``), and
see or end the managed chain of a data directory (``status``, ``stop``), whoever started it:
``serve``, ``demo``, ``worker`` or ``up`` (its record is ``<data dir>/chain.json``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from chainproof.cli.signals import stop_on_signals
from chainproof.errors import ChainProofError

app = typer.Typer(help="Run and inspect chains.", no_args_is_help=True)


class ManagedKind(StrEnum):
    anvil = "anvil"
    ganache = "ganache"


def _fail(message: str) -> typer.Exit:
    """One red line; a failed start's node output (already in ``message``) follows uncolored."""
    first, _, rest = message.partition("\n")
    typer.secho(f"error: {first}", fg=typer.colors.RED, err=True)
    if rest:
        typer.echo(rest, err=True)
    return typer.Exit(2)


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The data directory whose chain it is (default: CHAINPROOF_DATA_DIR, ./data).",
        file_okay=False,
    ),
]


def _data_dir(data_dir: Path | None) -> Path:
    try:
        chosen = data_dir if data_dir is not None else _default_data_dir()
    except ValidationError as exc:
        raise _fail("; ".join(str(err["msg"]) for err in exc.errors())) from None
    return chosen.expanduser().resolve()


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Show the data directory's managed chain: process, port, since when, and whose it is.

    Exit 0 when it runs, 1 when no chain runs for the directory.
    """
    from chainproof.chain import ownership, processes
    from chainproof.chain.nodes import rpc_chain_id

    directory = _data_dir(data_dir)
    found = ownership.inspect(directory)
    if found.state == "none" or found.record is None or found.chain is None:
        stale = found.record
        typer.echo(f"no chain runs for {directory}")
        if stale is not None:
            typer.echo(
                f"(its record names pid {stale.pid}, gone since: a crash; next start clears it)"
            )
        raise typer.Exit(1)
    rec = found.record
    try:
        answer = f"chain id {rpc_chain_id(rec.rpc_url, timeout=3.0)}"
    except Exception as exc:  # httpx errors, a non-JSON answer: say so, the rest still holds
        answer = f"NOT ANSWERING ({type(exc).__name__})"
    nodes = [info.pid for info in processes.children(rec.pid)]
    node = f"; {rec.kind} pid {nodes[0]}" if nodes else ""
    typer.echo(f"chain    {rec.kind} at {rec.rpc_url}  {answer}")
    typer.echo(f"process  pid {rec.pid} (watchdog, process group{node}) since {rec.started_at}")
    if found.server is not None:
        typer.echo(f"server   {processes.describe(found.server)}: running")
    else:
        typer.echo(
            f"server   pid {rec.server_pid}: GONE. The chain is an orphan: "
            "`chainproof chain stop` ends it, and so does the next server on this directory"
        )
    typer.echo(f"record   {directory / ownership.RECORD_FILE}")


@app.command()
def stop(
    data_dir: DataDirOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Stop it even though its server runs (that server loses it)."),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds between SIGTERM and SIGKILL.")
    ] = 15.0,
) -> None:
    """Stop the data directory's managed chain (SIGTERM: it saves its state, kept on disk).

    A chain whose server still runs is that server's: stop the server instead (it stops its
    chain), or pass --force. Exit 0 when stopped, 1 when none runs, 2 when refused.
    """
    from chainproof.chain import ownership, processes

    directory = _data_dir(data_dir)
    found = ownership.inspect(directory)
    if found.state == "none" or found.record is None or found.chain is None:
        ownership.reclaim_orphan(directory)  # drops a stale record; starts or stops nothing
        typer.echo(f"no chain runs for {directory}")
        raise typer.Exit(1)
    if found.state == "served" and not force:
        assert found.server is not None
        raise _fail(
            f"{found.describe(directory)}: stop that server instead (it stops its chain), "
            f"e.g. `kill {found.server.pid}`, or pass --force"
        )
    if not ownership.stop_recorded(found, timeout):
        raise _fail(f"{processes.describe(found.chain)} did not stop, even after SIGKILL")
    ownership.remove_record(directory, found.record.pid)
    typer.echo(
        f"stopped the {found.record.kind} chain of {directory} (pid {found.record.pid}); "
        "its state is kept"
    )


@app.command()
def up(
    kind: Annotated[
        ManagedKind, typer.Option("--kind", help="Which node to run.")
    ] = ManagedKind.anvil,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="RPC port (default: a free one).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the chain state lives (default: CHAINPROOF_DATA_DIR, ./data).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Start a dev chain with persisted state; Ctrl-C stops it (the state is kept)."""
    from chainproof.chain.nodes import DEV_MNEMONIC, make_node  # heavy: eth_account

    try:
        data_dir = data_dir if data_dir is not None else _default_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        node = make_node(kind.value, data_dir=data_dir, port=port)
    except ValidationError as exc:  # bad CHAINPROOF_* settings
        raise _fail("; ".join(str(err["msg"]) for err in exc.errors())) from None
    except ChainProofError as exc:
        raise _fail(exc.message) from None
    except OSError as exc:
        raise _fail(f"cannot use the data directory: {exc}") from None

    # SIGTERM (docker stop, systemd, kill) must stop the node as cleanly as Ctrl-C does. The
    # node runs in its own session, so a terminal's Ctrl-C reaches only us: we stop it.
    with stop_on_signals() as stopping:
        try:
            try:
                node.start()
                w3 = node.web3()
                chain_id = w3.eth.chain_id
                balances = [
                    (acct.address, w3.eth.get_balance(acct.address)) for acct in node.dev_accounts()
                ]
            except ChainProofError as exc:
                raise _fail(exc.message) from None
            pid = getattr(node, "pid", None)
            typer.echo(f"{kind.value} running at {node.rpc_url}  chain id {chain_id}  pid {pid}")
            typer.echo(f"state in {data_dir.resolve()}")
            typer.echo(f'dev accounts (dev mnemonic: "{DEV_MNEMONIC}"; public, dev only):')
            for address, balance in balances:
                typer.echo(f"  {address}  {w3.from_wei(balance, 'ether'):,} ETH")
            typer.echo("Press Ctrl-C to stop.")
            while not stopping.wait(0.5):
                if not node.is_running():
                    raise _fail(
                        f"the {kind.value} node exited unexpectedly; see its log in {data_dir}"
                    )
            typer.echo(f"stopping {kind.value}…")
        finally:
            node.stop()
    typer.echo("stopped; state kept.")


def _default_data_dir() -> Path:
    # Imported here: the settings are the server's, and `chainproof verify-receipt` (which
    # imports this group) must run on the light install, without pydantic-settings.
    from chainproof.config import get_settings

    return get_settings().data_dir
